"""What works but a careful operator wants to know at preview time. Pure."""

from __future__ import annotations

from ..ami import NodeProfile
from ..instances import AMD, NEURON, NVIDIA, OTHER, instance_accelerator
from ..spec import (
    CredentialKind,
    LocalStorage,
    NodeGroupSpec,
    NodePoolSpec,
    NodeSpec,
    OperatingSystem,
    Variant,
)
from .catalogue import release_name

PARALLEL_MIN_THROUGHPUT = 600
"""MiB/s of EBS throughput nodeadm's documentation recommends for parallel pull."""
EKS_NODES_PER_GROUP = 450
"""EKS default quota: nodes per managed node group."""


def warnings(spec: NodeSpec, p: NodeProfile) -> list[str]:
    """Things that work but that a careful operator wants to know at preview time."""
    out = []
    ng = f"{'node pool' if isinstance(spec, NodePoolSpec) else 'node group'} {spec.name}"
    if spec.credential(CredentialKind.CRI_PROXY) is not None and spec.pull_mode.lazy:
        out.append(f"{ng}: 'cri-proxy' credentials never rotate and are lost when SOCI restarts; lazily "
                   "loaded images then fail to fetch data after ~12 h on ECR (soci#1084). Prefer 'ecr-credential-helper'.")
    if isinstance(spec, NodeGroupSpec) and spec.scaling.max_size > EKS_NODES_PER_GROUP:
        out.append(f"{ng}: maxSize {spec.scaling.max_size} is above EKS's default quota of {EKS_NODES_PER_GROUP} nodes per managed node group "
                   "(Service Quotas: raise it first)")
    if spec.pull_mode.parallel and spec.local_storage is LocalStorage.NONE and spec.disk.throughput_mibps < PARALLEL_MIN_THROUGHPUT:
        out.append(f"{ng}: parallel pull is bound by disk throughput; the root volume has {spec.disk.throughput_mibps} MiB/s, "
                   f"nodeadm recommends >= {PARALLEL_MIN_THROUGHPUT} MiB/s (disk.preset: parallel) or instance store (localStorage: raid0)")
    if spec.os is OperatingSystem.AL2023 and spec.local_storage is LocalStorage.RAID0 and p.release is not None and not p.soci_on_instance_store:
        out.append(f"{ng}: {p.release} puts containerd on the instance-store RAID but not SOCI's root (from v20251217, amazon-eks-ami#2548); SOCI stays on EBS")
    for note in p.notes:
        out.append(f"{ng}: {release_name(p)}: {note}")
    for t in spec.instance_types:
        acc = instance_accelerator(t)
        if spec.ami.variant is not Variant.STANDARD:
            continue
        if acc == NVIDIA:
            out.append(f"{ng}: {t} is an NVIDIA GPU type, but ami.variant is 'standard' (no GPU driver); set ami.variant: nvidia")
        elif acc == NEURON and spec.os is OperatingSystem.AL2023:  # Bottlerocket's standard variants drive Neuron (1.30.0+)
            out.append(f"{ng}: {t} is an Inferentia/Trainium type, but ami.variant is 'standard' (no Neuron driver); set ami.variant: neuron")
        elif acc in (AMD, OTHER):
            out.append(f"{ng}: {t}'s accelerator has no driver in any EKS AMI variant: the node runs, the accelerator is not usable to pods")
    return out
