"""Bottlerocket user data: TOML settings with SOCI parallel pull. Pure; built with tomlkit.

Bottlerocket (>= 1.44.0) ships SOCI and configures containerd, the kubelet's image service and
the CRI keychain itself from ``settings.container-runtime.snapshotter = "soci"``; only the
parallel-pull-unpack mode exists there.
"""

from __future__ import annotations

import ipaddress

import tomlkit

from ..spec import ClusterInfo, LocalStorage, NodeGroupSpec, NodeProfile

BOTTLEROCKET_SOCI_ROOT = "/var/lib/soci-snapshotter"


def cluster_dns_ip(service_cidr: str) -> str:
    """The cluster DNS service IP EKS uses: the service CIDR's base address + 10."""
    net = ipaddress.ip_network(service_cidr, strict=False)
    return str(net.network_address + 10)


def user_data(spec: NodeGroupSpec, profile: NodeProfile, cluster: ClusterInfo) -> str:
    par = spec.tuning.parallel
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"soci-eks: node group {spec.name}; Bottlerocket {profile.release or profile.ami_id}; SOCI parallel pull"))
    settings = tomlkit.table(is_super_table=True)

    k8s = tomlkit.table()
    k8s.add("cluster-name", cluster.name)
    k8s.add("api-server", cluster.endpoint)
    k8s.add("cluster-certificate", cluster.certificate_authority)
    k8s.add("cluster-dns-ip", cluster_dns_ip(cluster.service_cidr))
    labels = tomlkit.table()
    for k, v in spec.node_labels.items():
        labels.add(k, v)
    k8s.add("node-labels", labels)
    if spec.taints:
        taints = tomlkit.table()
        grouped: dict[str, list[str]] = {}
        for t in spec.taints:
            grouped.setdefault(t.key, []).append(f"{t.value}:{t.effect.value}")
        for key, values in grouped.items():
            taints.add(key, values)
        k8s.add("node-taints", taints)
    settings.add("kubernetes", k8s)

    settings.add("container-runtime", tomlkit.table().add("snapshotter", "soci"))
    soci = tomlkit.table()
    soci.add("pull-mode", "parallel-pull-unpack")
    ppu = tomlkit.table()
    ppu.add("max-concurrent-downloads", par.max_concurrent_downloads)
    ppu.add("max-concurrent-downloads-per-image", par.max_concurrent_downloads_per_image)
    if par.concurrent_download_chunk_size:
        ppu.add("concurrent-download-chunk-size", par.concurrent_download_chunk_size)
    ppu.add("max-concurrent-unpacks", par.max_concurrent_unpacks)
    ppu.add("max-concurrent-unpacks-per-image", par.max_concurrent_unpacks_per_image)
    ppu.add("discard-unpacked-layers", par.discard_unpacked_layers)
    soci.add("parallel-pull-unpack", ppu)
    settings.add("container-runtime-plugins", tomlkit.table(is_super_table=True).add("soci-snapshotter", soci))

    if spec.local_storage is LocalStorage.RAID0:
        cmd = tomlkit.table()
        cmd.add(
            "commands",
            [
                ["apiclient", "ephemeral-storage", "init"],
                ["apiclient", "ephemeral-storage", "bind", "--dirs", "/var/lib/containerd", "/var/lib/kubelet", "/var/log/pods", BOTTLEROCKET_SOCI_ROOT],
            ],
        )
        cmd.add("essential", True)
        cmd.add("mode", "always")
        settings.add("bootstrap-commands", tomlkit.table(is_super_table=True).add("000-mount-instance-storage", cmd))
    doc.add("settings", settings)
    return tomlkit.dumps(doc)
