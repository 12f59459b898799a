"""The one owner of the order: resolve -> rules -> plan -> render.

Every caller — the Pulumi components at preview, the offline ``render`` command, the tests — goes
through these functions, so the same spec meets the same rules in the same order everywhere:

1. :func:`plan_node`: the node's Kubernetes version against the control plane (when known), the AMI
   resolved from the catalogue (:func:`soci_component.rules.profile`), every node rule
   (:func:`soci_component.rules.check_node_group`), then the plan with the rules' warnings;
2. :func:`check_instances`: the rules that need each instance type's facts (EC2 at preview,
   estimated from the name offline);
3. :func:`render_node`: the bytes, once the cluster values and secret ARNs exist.

:func:`plan_stack` adds the stack's own rules (control-plane version, unique names, derived AWS name
lengths) in front. Errors are :class:`~soci_component.errors.SpecError` with the full key path.

Pure: no pulumi import.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import rules
from .errors import SpecError, at
from .instances import InstanceFacts
from .render import NodePlan, RenderedNode, plan, render
from .render.types import ClusterInfo, Secrets
from .spec import NodeSpec, StackSpec

__all__ = ["check_instances", "plan_node", "plan_stack", "render_node"]


def plan_node(spec: NodeSpec, path: str = "", *, control_plane: str | None = None) -> NodePlan:
    """Resolve the spec's AMI, apply every node rule, and plan what its nodes receive.

    ``path`` is the spec's key path (``nodeGroups[1]``), put in front of every error; ``control_plane``
    the cluster's Kubernetes minor version when known (kubelet skew is checked against it)."""
    with at(path):
        if not spec.name:
            raise SpecError("name", "is required: the node group's or pool's name (1-40 lowercase letters, digits and '-')")
        if not spec.kubernetes_version:
            raise SpecError("kubernetesVersion", "is required here: the cluster's Kubernetes version is not known as a plain value; set the spec's "
                                                 "kubernetes_version, or attach the cluster with its version (ClusterAttachment(..., kubernetes_version='1.33'))")
        if control_plane is not None:
            rules.check_skew(control_plane, spec)
        profile = rules.profile(spec)
        rules.check_node_group(spec, profile)
        return plan(spec, profile, tuple(rules.warnings(spec, profile)))


def check_instances(node_plan: NodePlan, facts: Mapping[str, InstanceFacts | None], path: str = "") -> list[str]:
    """The instance-type rules of a planned node (size floor of nodeadm's gate, instance store for RAID0);
    returns the types whose facts were unknown (checked only at preview)."""
    return rules.check_instance_types(node_plan.spec, node_plan.profile, facts, path)


def render_node(node_plan: NodePlan, cluster: ClusterInfo, secrets: Secrets, *, karpenter: bool = False, path: str = "") -> RenderedNode:
    """The user data and files of a planned node (Karpenter pools: our part of the user data, never gzipped)."""
    with at(path):
        return render(node_plan, cluster, secrets, karpenter=karpenter)


def plan_stack(stack: StackSpec) -> list[tuple[str, NodePlan]]:
    """The stack's rules, then :func:`plan_node` for every node group and pool: ``(key path, plan)`` in stack order
    (node groups, then pools)."""
    rules.check_stack(stack)
    return [(where, plan_node(spec, where)) for where, spec in rules.paths_of(stack)]
