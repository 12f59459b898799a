"""Bottlerocket user data: TOML settings with SOCI parallel pull. Pure; built with tomlkit.

Bottlerocket (>= 1.44.0) ships SOCI and configures containerd, the kubelet's image service and
the CRI keychain itself from ``settings.container-runtime.snapshotter = "soci"``; only the
parallel-pull-unpack mode exists there. :func:`settings` is ours without the cluster values;
:func:`document` adds ``settings.kubernetes``' cluster keys (Karpenter sets those itself).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import tomlkit

from ..ami.profile import NodeProfile
from ..spec import LocalStorage, NodeSpec
from .soci import parallel_settings
from .types import ClusterInfo

BOTTLEROCKET_SOCI_ROOT = "/var/lib/soci-snapshotter"
EPHEMERAL_DIRS = ("/var/lib/containerd", "/var/lib/kubelet", "/var/log/pods", BOTTLEROCKET_SOCI_ROOT)


def cluster_dns_ip(service_cidr: str) -> str:
    """The cluster DNS service IP EKS uses: the service CIDR's base address + 10."""
    net = ipaddress.ip_network(service_cidr, strict=False)
    return str(net.network_address + 10)


@dataclass(frozen=True)
class Settings:
    """Our part of a Bottlerocket node's settings (plain data)."""

    comment: str
    labels: dict[str, str]
    taints: dict[str, list[str]]
    soci: list[tuple[str, Any]]
    """``parallel-pull-unpack`` knobs in order."""
    bootstrap_commands: list[list[str]] | None


def settings(spec: NodeSpec, profile: NodeProfile) -> Settings:
    taints: dict[str, list[str]] = {}
    for t in spec.taints:
        taints.setdefault(t.key, []).append(f"{t.value}:{t.effect.value}")
    soci = [(k.replace("_", "-"), v) for k, v in parallel_settings(spec.tuning.parallel) if not (k == "concurrent_download_chunk_size" and not v)]
    commands = None
    if spec.local_storage is LocalStorage.RAID0:
        commands = [["apiclient", "ephemeral-storage", "init"], ["apiclient", "ephemeral-storage", "bind", "--dirs", *EPHEMERAL_DIRS]]
    return Settings(
        comment=f"soci-eks: node group {spec.name}; Bottlerocket {profile.release or profile.ami_id}; SOCI parallel pull",
        labels=spec.node_labels,
        taints=taints,
        soci=soci,
        bootstrap_commands=commands,
    )


def document(s: Settings, cluster: ClusterInfo | None, *, labels_and_taints: bool = True, bootstrap_commands: bool = True) -> str:
    doc = tomlkit.document()
    doc.add(tomlkit.comment(s.comment))
    root = tomlkit.table(is_super_table=True)
    k8s = tomlkit.table()
    if cluster is not None:
        k8s.add("cluster-name", cluster.name)
        k8s.add("api-server", cluster.endpoint)
        k8s.add("cluster-certificate", cluster.certificate_authority)
        k8s.add("cluster-dns-ip", cluster_dns_ip(cluster.service_cidr))
    if labels_and_taints:
        labels = tomlkit.table()
        for k, v in s.labels.items():
            labels.add(k, v)
        k8s.add("node-labels", labels)
        if s.taints:
            taints = tomlkit.table()
            for key, values in s.taints.items():
                taints.add(key, values)
            k8s.add("node-taints", taints)
    if len(k8s):
        root.add("kubernetes", k8s)
    root.add("container-runtime", tomlkit.table().add("snapshotter", "soci"))
    soci = tomlkit.table()
    soci.add("pull-mode", "parallel-pull-unpack")
    ppu = tomlkit.table()
    for key, value in s.soci:
        ppu.add(key, value)
    soci.add("parallel-pull-unpack", ppu)
    root.add("container-runtime-plugins", tomlkit.table(is_super_table=True).add("soci-snapshotter", soci))
    if s.bootstrap_commands is not None and bootstrap_commands:
        cmd = tomlkit.table()
        cmd.add("commands", s.bootstrap_commands)
        cmd.add("essential", True)
        cmd.add("mode", "always")
        root.add("bootstrap-commands", tomlkit.table(is_super_table=True).add("000-mount-instance-storage", cmd))
    doc.add("settings", root)
    return tomlkit.dumps(doc)
