"""Every rule that relates settings to each other, to the pinned AMI, to instance types or to the
stack — one function per rule family, each error a :class:`SpecError` with the key path, split by what
the rule is about:

- :mod:`.catalogue`: which containerd SOCI runs on, refused releases, AMI resolution with a suggestion;
- :mod:`.node`: a node group's or pool's settings against each other and its AMI;
- :mod:`.instances`: the rules that need EC2's instance-type facts;
- :mod:`.warnings`: what works but deserves a word at preview;
- :mod:`.stack`: the stack's own rules (control-plane version, names, skew, derived AWS names).

Called through :mod:`soci_component.pipeline` by the offline ``render`` and by the Pulumi components alike,
so preview and ``render`` refuse the same inputs. Sources for each rule are next to it.

Pure: no pulumi import.
"""

from __future__ import annotations

from .catalogue import AL2_END_OF_LIFE, FIRST_AL2023_SOCI, containerd_problem, profile, refuse_al2, usable_releases
from .instances import MEMORY_MARGIN, check_instance_types
from .node import check_node_group
from .stack import MAX_KUBELET_SKEW, check_kubernetes_version, check_nodes, check_pool_tags, check_skew, check_stack, paths_of, stack_warnings_for
from .warnings import PARALLEL_MIN_THROUGHPUT, warnings

__all__ = [
    "AL2_END_OF_LIFE",
    "FIRST_AL2023_SOCI",
    "MAX_KUBELET_SKEW",
    "MEMORY_MARGIN",
    "PARALLEL_MIN_THROUGHPUT",
    "check_instance_types",
    "check_kubernetes_version",
    "check_node_group",
    "check_nodes",
    "check_pool_tags",
    "check_skew",
    "check_stack",
    "containerd_problem",
    "paths_of",
    "profile",
    "refuse_al2",
    "stack_warnings_for",
    "usable_releases",
    "warnings",
]
