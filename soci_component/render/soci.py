"""``/etc/soci-snapshotter-grpc/config.toml`` for a node group. Pure; built with tomlkit."""

from __future__ import annotations

from typing import Any

import tomlkit

from ..spec import ContentStore, CredentialKind, NodeSpec, ParallelTuning, PullMode, RegistryMirror
from .paths import CONTAINERD_SOCKET, SOCI_KUBECONFIG

__all__ = ["mirror_url", "parallel_settings", "soci_config"]


def parallel_settings(par: ParallelTuning) -> list[tuple[str, Any]]:
    """The parallel-pull-unpack knobs in SOCI's key names and order (``[pull_modes.parallel_pull_unpack]``).

    Bottlerocket's ``settings.container-runtime-plugins.soci-snapshotter.parallel-pull-unpack`` uses the same
    knobs with ``-`` for ``_`` (bottlerocket-core-kit ``soci-snapshotter`` settings)."""
    return [
        ("max_concurrent_downloads", par.max_concurrent_downloads),
        ("max_concurrent_downloads_per_image", par.max_concurrent_downloads_per_image),
        ("concurrent_download_chunk_size", par.concurrent_download_chunk_size),
        ("max_concurrent_unpacks", par.max_concurrent_unpacks),
        ("max_concurrent_unpacks_per_image", par.max_concurrent_unpacks_per_image),
        ("discard_unpacked_layers", par.discard_unpacked_layers),
    ]


def mirror_url(mirror: str, m: RegistryMirror) -> str:
    """SOCI (>= 0.5) parses a mirror's ``host`` as a URL and uses its host part (service/resolver/registry.go:
    ``url.Parse(mirror.Host)`` then ``docker.DefaultHost(url.Host)``): a bare ``mirror.example.com`` has an
    empty host, the fetch fails and SOCI falls back to the upstream registry without a word. So the scheme
    is always written: ``https://``, or ``http://`` for an ``insecure`` mirror (SOCI then uses plain HTTP)."""
    return ("http://" if m.insecure else "https://") + mirror


def soci_config(spec: NodeSpec) -> str:
    """The SOCI daemon config for the node group's pull mode, credentials and tuning.

    The pull-mode keys are written explicitly, also where they equal today's default, so a SOCI
    upgrade that changes a default does not change the node's behaviour silently. Every key written is
    a field of SOCI 0.15.0 and 0.16.1 alike (their ``toml`` tags; tests/node/test_lazy_e2e.py). 0.16.1
    adds one key, ``[resolver] custom_headers`` (config/resolver.go at v0.16.1), left unset: its default
    forwards no custom request header, and no other default changed between the two (config/ at both tags).
    """
    mode = spec.pull_mode
    tuning = spec.tuning
    par = tuning.parallel
    doc = tomlkit.document()
    if tuning.metrics_address is not None:
        # SOCI's Prometheus endpoint (top-level key, before every table), reached through the API server's node proxy
        doc.add("metrics_address", tuning.metrics_address)
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
        for key, value in parallel_settings(par):
            ppu.add(key, value)
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
        doc.add("kubeconfig_keychain", tomlkit.table().add("enable_keychain", True).add("kubeconfig_path", SOCI_KUBECONFIG))

    if tuning.mirrors:
        hosts = tomlkit.table(is_super_table=True)
        for m in tuning.mirrors:
            aot = tomlkit.aot()
            for mirror in m.mirrors:
                aot.append(tomlkit.table().add("host", mirror_url(mirror, m)).add("insecure", m.insecure))
            hosts.add(m.host, tomlkit.table().add("mirrors", aot))
        doc.add("resolver", tomlkit.table(is_super_table=True).add("host", hosts))
    return tomlkit.dumps(doc)
