"""How each container's image reached its SOCI node, from what the API shows: the kubelet's ``Pulled`` event, the
image's SOCI index in its registry (``images check``'s library) and the layers SOCI's metrics say it mounted lazily.
Pure (observations and lookups in, evidence out).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..spec import PullMode
from .checks import size
from .expect import Expectation
from .indexes import IndexFacts, IndexLookup
from .metrics import MountedLayer
from .types import ContainerEvidence, Loading, Status

_PULLED = re.compile(r'Successfully pulled image "(?P<image>[^"]+)" in (?P<took>\S+) \((?P<waited>\S+) including waiting\)\. Image size: (?P<bytes>\d+) bytes')
_PRESENT = re.compile(r'Container image "(?P<image>[^"]+)" already present on machine')
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|µs|us|ns|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
SYSTEM_NAMESPACES = ("kube-system/",)
"""Pods whose images are the cluster's own (VPC CNI, kube-proxy, CoreDNS...): unindexed by their publishers, reported as info."""
INDEX_FIX = ("publish the image with a SOCI v2 index (`soci convert`); `python -m soci_component images check <image>` shows what SOCI finds")


def go_duration(text: str) -> float | None:
    """Seconds of a Go ``time.Duration`` string (``1.5s``, ``512ms``, ``1m2.5s``); None if it is not one."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNIT[u] for n, u in parts)


def pull_of(events: Sequence[Mapping[str, Any]], image: str) -> tuple[float | None, int | None, str]:
    """(seconds, bytes, evidence) of the last ``Pulled`` event of ``image``."""
    for e in reversed(events):
        msg = str(e.get("message", ""))
        m = _PULLED.search(msg)
        if m and m["image"] == image:
            took = go_duration(m["took"])
            return took, int(m["bytes"]), f"pulled in {m['took']} ({size(int(m['bytes']))})"
        m = _PRESENT.search(msg)
        if m and m["image"] == image:
            return None, None, "already present on the node when the container started"
    return None, None, "no pull event (the API server keeps events about an hour)"


def reference_of(status: Mapping[str, Any], spec_image: str) -> str:
    """What to look up in the registry: the digest the node pulled (``imageID``) when it names a repository, else the image."""
    image_id = str(status.get("imageID") or "")
    if "@sha256:" in image_id and not image_id.startswith("sha256:"):
        return image_id.removeprefix("docker-pullable://")
    return str(status.get("image") or spec_image)


def container_evidence(exp: Expectation, pod: Mapping[str, Any], events: Sequence[Mapping[str, Any]], lookup: IndexLookup,
                       mounted: Mapping[str, MountedLayer] | None, metrics_said: str) -> list[ContainerEvidence]:
    """One :class:`ContainerEvidence` per container (init containers included) of ``pod``, a pod on a node of ``exp``.
    ``mounted``: SOCI's lazily mounted layers (None when its metrics could not be read; ``metrics_said`` says why)."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    name = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
    images = {c.get("name"): str(c.get("image", "")) for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])}
    out = []
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        image = images.get(cs.get("name")) or str(cs.get("image", ""))
        took, nbytes, pulled = pull_of(events, image)
        base = {"pod": name, "container": str(cs.get("name", "")), "image": image, "pull_seconds": took, "image_bytes": nbytes}
        if not exp.lazy:
            out.append(ContainerEvidence(**base, loading=Loading.PARALLEL, status=Status.INFO,
                                         evidence=f"pulled whole by design (pull mode {exp.pull_mode.value}); {pulled}"))
            continue
        facts = lookup(reference_of(cs, image), f"linux/{exp.arch}", exp.v1_indexes)
        out.append(_lazy_evidence(exp, base, facts, mounted, metrics_said, pulled))
    return out


def _lazy_evidence(exp: Expectation, base: dict[str, Any], facts: IndexFacts, mounted: Mapping[str, MountedLayer] | None,
                   metrics_said: str, pulled: str) -> ContainerEvidence:
    if facts.usable is False:
        if exp.pull_mode is PullMode.LAZY_WITH_PARALLEL_FALLBACK:
            pulled = f"SOCI pulls it whole in parallel (lazy-with-parallel-fallback); {pulled}"
        if base["pod"].startswith(SYSTEM_NAMESPACES):
            return ContainerEvidence(**base, loading=Loading.WHOLE, status=Status.INFO, evidence=f"pulled whole (a system pod's image): {facts.verdict}; {pulled}")
        return ContainerEvidence(**base, loading=Loading.WHOLE, status=Status.WARN, evidence=f"pulled whole: {facts.verdict}; {pulled}", fix=INDEX_FIX)
    lazy_layers = [layer for layer in facts.layers if layer.ztoc and layer.size >= exp.min_layer_size]
    if facts.usable and not lazy_layers:
        return ContainerEvidence(**base, loading=Loading.WHOLE, status=Status.WARN,
                                 evidence=f"pulled whole: every layer with a zTOC is below tuning.minLayerSize ({exp.min_layer_size} bytes); {pulled}",
                                 fix="lower tuning.minLayerSize, or index larger layers")
    if mounted is None:
        why = facts.verdict if facts.usable is None else f"indexed ({facts.verdict})"
        return ContainerEvidence(**base, loading=Loading.UNKNOWN, status=Status.INFO, evidence=f"{why}; whether SOCI loads it lazily: {metrics_said}; {pulled}")
    if facts.usable is None:
        return ContainerEvidence(**base, loading=Loading.UNKNOWN, status=Status.INFO,
                                 evidence=f"{facts.verdict}: its layers are unknown, so SOCI's {len(mounted)} mounted layers cannot be matched to it; {pulled}")
    hits = [mounted[layer.digest] for layer in lazy_layers if layer.digest in mounted]
    extra = {"indexed_layers": len(lazy_layers), "lazy_layers": len(hits)}
    if not hits:
        return ContainerEvidence(**base, **extra, loading=Loading.NOT_LAZY, status=Status.FAIL,
                                 evidence=f"indexed ({facts.verdict}), yet SOCI has none of its {len(lazy_layers)} lazy-loadable layers mounted: "
                                          f"pulled whole; {pulled}",
                                 fix="containerd on this node may not use SOCI as its snapshotter (its config is not the rendered one), or SOCI could "
                                     "not fetch the index (credentials: `journalctl -u soci-snapshotter | grep -i index` on the node; SOCI 0.15 keeps a "
                                     "failed index lookup until it restarts)")
    fetched, total = sum(h.fetched for h in hits), sum(h.size for h in hits)
    return ContainerEvidence(**base, **extra, fetched_bytes=fetched, layer_bytes=total, loading=Loading.LAZY, status=Status.PASS,
                             evidence=f"lazy: SOCI serves {len(hits)} of its {len(lazy_layers)} lazy-loadable layers through FUSE, {size(fetched)} of "
                                      f"{size(total)} fetched; {pulled}")


__all__ = ["container_evidence", "go_duration", "pull_of", "reference_of"]
