"""What each node group / pool of a stack promises its nodes run: computed through the same pipeline as ``render``
(resolve -> rules -> plan), so verify checks a cluster against exactly what was rendered for it. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .. import pipeline
from ..naming import PULUMI_SUFFIX, member_name, node_names
from ..render.paths import CONTAINERD_SOCKET
from ..spec import (
    SOCI_GROUP_LABEL,
    SOCI_LABEL,
    SOCI_LABEL_VALUE,
    SOCI_MODE_LABEL,
    SOCI_SOCKET,
    CredentialKind,
    NodeGroupSpec,
    OperatingSystem,
    PullMode,
    StackSpec,
)

MIN_CONTAINERD = (1, 7, 16)
"""containerd enforces ephemeral-storage limits and runs image GC with a proxy snapshotter from 1.7.16 (with ``exports.root``)."""
EKS_NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup"
"""Set by the bootstrap EKS generates for its own AMIs (``--node-labels``); a custom-AMI launch template (this
component's) gets no EKS bootstrap, so a node may lack it: then the group's own labels identify its nodes."""
KARPENTER_POOL_LABEL = "karpenter.sh/nodepool"
SOCI_ENDPOINT = f"unix://{SOCI_SOCKET}"
CONTAINERD_ENDPOINT = f"unix://{CONTAINERD_SOCKET}"
_SUFFIX = re.compile(f"[0-9a-f]{{{PULUMI_SUFFIX - 1}}}")


class Kind(StrEnum):
    NODE_GROUP = "nodeGroup"
    NODE_POOL = "nodePool"


@dataclass(frozen=True)
class Expectation:
    """One node group or pool, as its nodes must look."""

    name: str
    kind: Kind
    path: str
    """Key path in the stack (``nodeGroups[0]``)."""
    os: OperatingSystem
    release: str | None
    arch: str
    """Kubernetes' spelling (``amd64``, ``arm64``)."""
    kubernetes_version: str
    containerd_version: str
    pull_mode: PullMode
    labels: Mapping[str, str]
    """Every label the component gives the nodes (user labels + ``soci.snapshotter/*``)."""
    soci_image_service: bool
    """The kubelet's image service must be SOCI's socket (nodeadm's gate, or ``cri-proxy`` credentials); else containerd's."""
    image_service_why: str
    soci_root: str
    min_layer_size: int
    v1_indexes: bool
    metrics_port: int | None
    """SOCI's metrics port when ``tuning.metricsAddress`` is set (reached through the node proxy)."""
    gate: str | None = None
    """nodeadm's parallel-pull gate, when it wires SOCI (then its size floor applies)."""
    size_floor: str = ""
    eks_node_group: str | None = None
    """The EKS node group's name when known (stack output ``nodeGroups.<name>.eksNodeGroup``)."""
    eks_name_prefix: str | None = None
    """The name Pulumi gives the EKS node group of a :class:`~soci_component.SociCluster`, before its random suffix
    (``soci-dev-lazy-node-group-``; Pulumi appends 7 lowercase hex characters)."""
    min_nodes: int = 1
    """Nodes that must exist (a group's ``scaling.minSize``; 0 for Karpenter pools, which launch nodes on demand)."""
    notes: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        return f"{self.kind.value}s.{self.name}"

    @property
    def lazy(self) -> bool:
        return self.pull_mode.lazy

    def summary(self) -> str:
        pin = self.release or "raw AMI"
        return f"{self.os.value} {pin}, containerd {self.containerd_version}, Kubernetes {self.kubernetes_version}, {self.arch}, {self.pull_mode.value}"

    def owns(self, labels: Mapping[str, str]) -> str | None:
        """How a node with ``labels`` belongs to this group/pool through a provisioner's label (None: it does not say)."""
        if self.kind is Kind.NODE_POOL:
            return f"{KARPENTER_POOL_LABEL}={self.name}" if labels.get(KARPENTER_POOL_LABEL) == self.name else None
        if labels.get(SOCI_GROUP_LABEL) == self.name:
            return f"{SOCI_GROUP_LABEL}={self.name}"
        eks = labels.get(EKS_NODEGROUP_LABEL)
        if eks is None:
            return None
        named = self.eks_name_prefix is not None and eks.startswith(self.eks_name_prefix) and re.fullmatch(_SUFFIX, eks[len(self.eks_name_prefix):])
        if eks == self.eks_node_group or (self.eks_node_group is None and named):
            return f"{EKS_NODEGROUP_LABEL}={eks}"
        return None

    @property
    def eks_name(self) -> str | None:
        """The EKS node group's name as far as it is known (``soci-dev-lazy-node-group-xxxxxxx``)."""
        if self.eks_node_group is not None:
            return self.eks_node_group
        return None if self.eks_name_prefix is None else self.eks_name_prefix + "x" * (PULUMI_SUFFIX - 1)


def _image_service(spec: object, os: OperatingSystem, gate: str | None) -> tuple[bool, str]:
    from ..spec import NodeSpec

    assert isinstance(spec, NodeSpec)
    if os is OperatingSystem.BOTTLEROCKET:
        return True, "Bottlerocket's SOCI takes credentials through the CRI proxy, so the kubelet's image service is SOCI's"
    if spec.uses_fast_image_pull:
        return True, f"nodeadm's {gate} gate points the kubelet's image service at SOCI's socket"
    if spec.credential(CredentialKind.CRI_PROXY) is not None:
        return True, "cri-proxy credentials: the rendered NodeConfig sets the kubelet's imageServiceEndpoint to SOCI's socket"
    return False, "no cri-proxy credentials: the kubelet talks to containerd, which uses SOCI as its snapshotter"


def expectations(stack: StackSpec, eks_names: Mapping[str, str] | None = None, cluster_component: str | None = None) -> list[Expectation]:
    """Every node group and pool of ``stack``: the plan ``render`` makes for it, as expectations.

    ``eks_names``: ``{group name: EKS node group name}`` (the stack's ``nodeGroups.<name>.eksNodeGroup`` outputs); without
    it a group's EKS name is matched by the pattern :class:`~soci_component.SociCluster` named ``cluster_component``
    (default: the cluster's name, as the demo program does) gives it. Raises :class:`~soci_component.errors.SpecError`
    for a stack ``render`` would refuse."""
    component = cluster_component or stack.cluster.name
    out = []
    for path, plan in pipeline.plan_stack(stack):
        spec, p = plan.spec, plan.profile
        kind = Kind.NODE_GROUP if isinstance(spec, NodeGroupSpec) else Kind.NODE_POOL
        gate = p.feature_gate if spec.uses_fast_image_pull else None
        soci_service, why = _image_service(spec, spec.os, gate)
        floor = f"{p.size_floor}" if gate and p.size_floor is not None else ""
        prefix = None
        if kind is Kind.NODE_GROUP:
            prefix = node_names(member_name(component, spec.name), pool=False)["node_group"].name + "-"
        address = getattr(spec.tuning, "metrics_address", None)
        out.append(Expectation(
            name=spec.name, kind=kind, path=path, os=spec.os, release=p.release, arch=spec.arch.release_arch,
            kubernetes_version=p.kubernetes_version, containerd_version=p.containerd, pull_mode=spec.pull_mode, labels=dict(spec.node_labels),
            soci_image_service=soci_service, image_service_why=why, soci_root=plan.report.soci.root,
            min_layer_size=spec.tuning.min_layer_size, v1_indexes=spec.tuning.v1_indexes,
            metrics_port=int(address.rsplit(":", 1)[1]) if address else None, gate=gate, size_floor=floor,
            eks_node_group=(eks_names or {}).get(spec.name), eks_name_prefix=prefix,
            min_nodes=spec.scaling.min_size if isinstance(spec, NodeGroupSpec) else 0,
        ))
    return out


def soci_labels(mode: PullMode) -> dict[str, str]:
    return {SOCI_LABEL: SOCI_LABEL_VALUE, SOCI_MODE_LABEL: mode.value}


__all__ = ["CONTAINERD_ENDPOINT", "EKS_NODEGROUP_LABEL", "KARPENTER_POOL_LABEL", "MIN_CONTAINERD", "SOCI_ENDPOINT", "Expectation", "Kind",
           "expectations", "soci_labels"]
