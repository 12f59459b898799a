"""The stack's rules: control-plane version, unique names across groups and pools, kubelet skew, derived AWS names. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .. import ami, naming
from ..errors import SpecError, join, key
from ..spec import (
    NodePoolSpec,
    NodeSpec,
    StackSpec,
    k8s_minor,
)

MAX_KUBELET_SKEW = 3
"""kubelet may be up to three minor versions older than the API server, never newer
(https://kubernetes.io/releases/version-skew-policy/#kubelet, Kubernetes >= 1.28)."""
EKS_NODE_GROUPS_PER_CLUSTER = 30
"""EKS default quota: managed node groups per cluster."""


def check_skew(control: str, g: NodeSpec, path: str = "") -> None:
    """A kubelet at most :data:`MAX_KUBELET_SKEW` minors older than the control plane, never newer."""
    n, c = k8s_minor(g.kubernetes_version), k8s_minor(control)
    where = join(path, "kubernetesVersion")
    if n > c:
        raise SpecError(where, f"{g.kubernetes_version} is newer than the control plane ({control}); kubelets may not be newer than the API server")
    if c - n > MAX_KUBELET_SKEW:
        raise SpecError(where, f"{g.kubernetes_version} is more than {MAX_KUBELET_SKEW} minor versions older than the control plane ({control}) "
                               "(Kubernetes version skew policy)")


def paths_of(stack: StackSpec) -> list[tuple[str, NodeSpec]]:
    """Every node group and pool of the stack with its key path: ``nodeGroups[i]`` then ``nodePools[j]``."""
    return [(f"nodeGroups[{i}]", g) for i, g in enumerate(stack.node_groups)] + [(f"nodePools[{j}]", p) for j, p in enumerate(stack.node_pools)]


def check_nodes(control: str, nodes: Sequence[tuple[str, NodeSpec]], cluster: str) -> None:
    """The node groups and pools of one cluster, each with its key path: at least one; names unique across groups and pools;
    kubelets at most :data:`MAX_KUBELET_SKEW` minors older than the control plane, never newer; the AWS names
    :class:`~soci_component.SociCluster` derives from ``cluster`` and each name within AWS's limits."""
    if not nodes:
        raise SpecError("nodeGroups", "needs at least one node group (or nodePools)")
    seen: dict[str, str] = {}
    for where, g in nodes:
        if not g.name:
            raise SpecError(join(where, "name"), "is required: the node group's or pool's name (1-40 lowercase letters, digits and '-')")
        if g.name in seen:
            raise SpecError(join(where, "name"), f"{g.name!r} is already the name of {seen[g.name]}; names must be unique across node groups and pools")
        seen[g.name] = where
        check_skew(control, g, where)
        names = naming.node_names(naming.member_name(cluster, g.name), pool=isinstance(g, NodePoolSpec))
        naming.check_lengths(names, join(where, "name"), "the node group name or cluster.name")


def check_kubernetes_version(version: str, path: str = "cluster.kubernetesVersion") -> None:
    """A control-plane version some catalogued AMI release ships (EKS has had no other)."""
    known = sorted({k for r in ami.catalogue().releases.values() for k in (r.builds or {})}, key=k8s_minor)
    if version not in known:
        raise SpecError(path, f"{version} is not a Kubernetes version any catalogued EKS AMI ships ({known[0]}..{known[-1]})")


def stack_warnings_for(node_groups: int) -> list[str]:
    if node_groups > EKS_NODE_GROUPS_PER_CLUSTER:
        return [f"{node_groups} node groups: EKS's default quota is {EKS_NODE_GROUPS_PER_CLUSTER} managed node groups per cluster (Service Quotas)"]
    return []


KARPENTER_RESTRICTED_TAGS = ("eks:eks-cluster-name", "karpenter.sh/nodepool", "karpenter.sh/nodeclaim", "karpenter.k8s.aws/ec2nodeclass")
"""Tag keys the EC2NodeClass CRD refuses in ``spec.tags``, with any key starting ``kubernetes.io/cluster``
(karpenter-provider-aws v1.15.0, pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml: "tag contains a restricted tag matching ...")."""


def check_pool_tags(tags: Mapping[str, str], path: str = "tags") -> None:
    """Tags that go onto an EC2NodeClass: the API server refuses the keys Karpenter sets itself (``up`` would fail there)."""
    for k in tags:
        if k in KARPENTER_RESTRICTED_TAGS or k.startswith("kubernetes.io/cluster"):
            raise SpecError(key(path, k), "is set by Karpenter or EKS on what it launches, and the EC2NodeClass of every node pool carries the stack's tags: "
                                          f"Karpenter refuses an EC2NodeClass with it (restricted: {', '.join(KARPENTER_RESTRICTED_TAGS)}, kubernetes.io/cluster/*); "
                                          "remove it or use another key")


def check_stack(stack: StackSpec) -> None:
    """The stack's own rules (control-plane version, the nodes of the cluster: :func:`check_nodes`, tags on pools). The node rules
    come after, per node, in :func:`soci_component.pipeline.plan_node`."""
    check_kubernetes_version(stack.cluster.kubernetes_version)
    if stack.node_pools:
        check_pool_tags(stack.tags)
    check_nodes(stack.cluster.kubernetes_version, paths_of(stack), stack.cluster.name)
