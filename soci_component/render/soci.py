"""``/etc/soci-snapshotter-grpc/config.toml`` for a node group. Pure; built with tomlkit."""

from __future__ import annotations

import tomlkit

from ..spec import ContentStore, CredentialKind, NodeGroupSpec, PullMode

SOCI_CONFIG_PATH = "/etc/soci-snapshotter-grpc/config.toml"
SOCI_KUBECONFIG_PATH = "/etc/soci-snapshotter-grpc/kubeconfig"
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"


def soci_config(spec: NodeGroupSpec) -> str:
    """The SOCI daemon config for the node group's pull mode, credentials and tuning.

    The pull-mode keys are written explicitly, also where they equal today's default, so a SOCI
    upgrade that changes a default does not change the node's behaviour silently.
    """
    mode = spec.pull_mode
    tuning = spec.tuning
    par = tuning.parallel
    doc = tomlkit.document()
    doc.add("snapshotter", tomlkit.table().add("min_layer_size", tuning.min_layer_size))

    store = tomlkit.table()
    store.add("type", spec.content_store.value)
    if spec.content_store is ContentStore.CONTAINERD:
        store.add("containerd_address", CONTAINERD_SOCKET)
    doc.add("content_store", store)

    modes = tomlkit.table(is_super_table=True)
    if mode.lazy and tuning.v1_indexes:
        modes.add("soci_v1", tomlkit.table().add("enable", True))
    modes.add("soci_v2", tomlkit.table().add("enable", mode.lazy))
    ppu = tomlkit.table()
    ppu.add("enable", mode is PullMode.PARALLEL)
    if mode is PullMode.LAZY_WITH_PARALLEL_FALLBACK:
        ppu.add(tomlkit.comment("lazy loading for indexed images, parallel pull for the rest (SOCI >= 0.14)"))
        ppu.add("experimental_parallel_pull_as_fallback", True)
    if mode.parallel:
        ppu.add("max_concurrent_downloads", par.max_concurrent_downloads)
        ppu.add("max_concurrent_downloads_per_image", par.max_concurrent_downloads_per_image)
        ppu.add("concurrent_download_chunk_size", par.concurrent_download_chunk_size)
        ppu.add("max_concurrent_unpacks", par.max_concurrent_unpacks)
        ppu.add("max_concurrent_unpacks_per_image", par.max_concurrent_unpacks_per_image)
        ppu.add("discard_unpacked_layers", par.discard_unpacked_layers)
        if par.decompressor is not None:
            streams = tomlkit.table(is_super_table=True)
            streams.add("gzip", tomlkit.table().add("path", par.decompressor.path).add("args", list(par.decompressor.args)))
            ppu.add("decompress_streams", streams)
    modes.add("parallel_pull_unpack", ppu)
    doc.add("pull_modes", modes)

    # Keychains are off by default; docker config (ECR helper, static credentials) is always read.
    if spec.credential(CredentialKind.CRI_PROXY) is not None:
        doc.add("cri_keychain", tomlkit.table().add("enable_keychain", True).add("image_service_path", CONTAINERD_SOCKET))
    if spec.credential(CredentialKind.KUBERNETES_SECRETS) is not None:
        doc.add("kubeconfig_keychain", tomlkit.table().add("enable_keychain", True).add("kubeconfig_path", SOCI_KUBECONFIG_PATH))

    if tuning.mirrors:
        hosts = tomlkit.table(is_super_table=True)
        for m in tuning.mirrors:
            aot = tomlkit.aot()
            for mirror in m.mirrors:
                aot.append(tomlkit.table().add("host", mirror).add("insecure", m.insecure))
            hosts.add(m.host, tomlkit.table().add("mirrors", aot))
        doc.add("resolver", tomlkit.table(is_super_table=True).add("host", hosts))
    return tomlkit.dumps(doc)
