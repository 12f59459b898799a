"""soci-eks: EKS node groups and Karpenter pools whose containerd uses the SOCI snapshotter from first boot.

The public API — what a Pulumi program imports, and all it needs::

    from soci_component import AmiPin, ClusterSpec, NodeGroupSpec, SociCluster, SociClusterArgs

- components: :class:`SociCluster`, :class:`SociNodeGroup`, :class:`SociNodePool`, :class:`Karpenter` (with their
  ``...Args``), :class:`ClusterAttachment` for clusters made elsewhere, :func:`read_stack_config` for programs
  driven by a stack file;
- specs (plain, validated values): :class:`NodeGroupSpec`, :class:`NodePoolSpec` and their parts, :class:`ClusterSpec`,
  :class:`KarpenterSpec`, :class:`StackSpec` (what :func:`parse` / :func:`load_stack_file` return);
- :class:`NodeReport`: what a group's nodes run (``SociNodeGroup.report_data``);
- errors: :class:`SpecError` (invalid input, with the key ``path``), :class:`ComponentError` (the same, found
  while an Output resolves). In a Pulumi program both print as one line, without a traceback.

The Pulumi components are imported lazily (importing pulumi and the AWS SDK takes ~2 s), so
``python -m soci_component render`` and the pure modules stay fast.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from .config import load_stack_file, parse
from .errors import SpecError
from .render.report import NodeReport, SociReport
from .spec import (
    DISK_PRESETS,
    SOCI_GROUP_LABEL,
    SOCI_LABEL,
    SOCI_LABEL_VALUE,
    SOCI_MODE_LABEL,
    AmiPackage,
    AmiPin,
    Arch,
    CapacityType,
    ClusterSpec,
    ConsolidationPolicy,
    ContentStore,
    CriProxy,
    Decompressor,
    Disk,
    Disruption,
    EcrCredentialHelper,
    KarpenterSpec,
    KubernetesSecrets,
    LocalStorage,
    LogType,
    NodeGroupSpec,
    NodePoolSpec,
    NodeSpec,
    OperatingSystem,
    ParallelTuning,
    PoolLimits,
    PullMode,
    RegistryMirror,
    Requirement,
    RequirementOperator,
    Scaling,
    SociTuning,
    StackSpec,
    StaticCredentials,
    Taint,
    TaintEffect,
    UpstreamRelease,
    Variant,
)

if TYPE_CHECKING:
    from .components.attachment import ClusterAttachment
    from .components.cluster import SociCluster, SociClusterArgs
    from .components.errors import ComponentError
    from .components.karpenter import Karpenter, KarpenterArgs
    from .components.node_group import SociNodeGroup, SociNodeGroupArgs
    from .components.node_pool import SociNodePool, SociNodePoolArgs
    from .components.stack import StackConfig, read_stack_config

_LAZY = {
    "SociCluster": "components.cluster",
    "SociClusterArgs": "components.cluster",
    "SociNodeGroup": "components.node_group",
    "SociNodeGroupArgs": "components.node_group",
    "SociNodePool": "components.node_pool",
    "SociNodePoolArgs": "components.node_pool",
    "Karpenter": "components.karpenter",
    "KarpenterArgs": "components.karpenter",
    "ClusterAttachment": "components.attachment",
    "ComponentError": "components.errors",
    "StackConfig": "components.stack",
    "read_stack_config": "components.stack",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if "pulumi" in sys.modules:  # a Pulumi program: a SpecError raised by a spec built before any component prints cleanly
    from .components import errors as _errors  # noqa: F401

__all__ = [
    "DISK_PRESETS",
    "SOCI_GROUP_LABEL",
    "SOCI_LABEL",
    "SOCI_LABEL_VALUE",
    "SOCI_MODE_LABEL",
    "AmiPackage",
    "AmiPin",
    "Arch",
    "CapacityType",
    "ClusterAttachment",
    "ClusterSpec",
    "ComponentError",
    "ConsolidationPolicy",
    "ContentStore",
    "CriProxy",
    "Decompressor",
    "Disk",
    "Disruption",
    "EcrCredentialHelper",
    "Karpenter",
    "KarpenterArgs",
    "KarpenterSpec",
    "KubernetesSecrets",
    "LocalStorage",
    "LogType",
    "NodeGroupSpec",
    "NodePoolSpec",
    "NodeReport",
    "NodeSpec",
    "OperatingSystem",
    "ParallelTuning",
    "PoolLimits",
    "PullMode",
    "RegistryMirror",
    "Requirement",
    "RequirementOperator",
    "Scaling",
    "SociCluster",
    "SociClusterArgs",
    "SociNodeGroup",
    "SociNodeGroupArgs",
    "SociNodePool",
    "SociNodePoolArgs",
    "SociReport",
    "SociTuning",
    "SpecError",
    "StackConfig",
    "StackSpec",
    "StaticCredentials",
    "Taint",
    "TaintEffect",
    "UpstreamRelease",
    "Variant",
    "load_stack_file",
    "parse",
    "read_stack_config",
]
