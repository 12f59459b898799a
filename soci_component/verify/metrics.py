"""SOCI's Prometheus metrics, read for one fact: which layers SOCI has mounted lazily right now, and how much of each
it has fetched. Pure.

soci-snapshotter (v0.15.0 and v0.16.1 alike, ``fs/metrics/layer``): for every layer it serves through FUSE, a collector
reports ``soci_fs_layer_size_bytes`` and ``soci_fs_layer_fetched_size_bytes`` labelled ``digest`` (the layer's compressed
digest) and ``mountpoint``; a layer is in it from its FUSE mount until its snapshot is removed. A layer SOCI does not
mount (no zTOC, below ``min_layer_size``, parallel pull, or never handed to SOCI because containerd's snapshotter is
not SOCI) never appears. The metrics endpoint exists only with ``metrics_address`` (``tuning.metricsAddress``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LAYER_SIZE = "soci_fs_layer_size_bytes"
LAYER_FETCHED = "soci_fs_layer_fetched_size_bytes"
_LINE = re.compile(r"(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>.*)\})?\s+(?P<value>\S+)(\s+\S+)?")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class MountedLayer:
    digest: str
    size: int
    fetched: int
    mounts: int
    """Snapshots this layer is mounted in (an image pulled into two snapshots counts twice)."""


class MetricsError(ValueError):
    pass


def parse(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample of the exposition text: ``{metric name: [(labels, value)]}`` (comments skipped)."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE.fullmatch(line)
        if m is None:
            raise MetricsError(f"not Prometheus text exposition: {line[:80]!r}")
        try:
            value = float(m["value"])
        except ValueError:
            raise MetricsError(f"not a number: {line[:80]!r}") from None
        labels = {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in _LABEL.findall(m["labels"] or "")}
        out.setdefault(m["name"], []).append((labels, value))
    return out


def mounted_layers(text: str) -> dict[str, MountedLayer]:
    """The layers SOCI serves lazily now, by digest (``MetricsError`` if ``text`` is not metrics text)."""
    samples = parse(text)
    sizes: dict[str, float] = {}
    fetched: dict[str, float] = {}
    mounts: dict[str, int] = {}
    for labels, value in samples.get(LAYER_SIZE, []):
        d = labels.get("digest", "")
        if d:
            sizes[d] = max(sizes.get(d, 0.0), value)
            mounts[d] = mounts.get(d, 0) + 1
    for labels, value in samples.get(LAYER_FETCHED, []):
        d = labels.get("digest", "")
        if d:
            fetched[d] = max(fetched.get(d, 0.0), value)
    return {d: MountedLayer(d, int(sizes[d]), int(fetched.get(d, 0.0)), mounts[d]) for d in sizes}


def is_soci(text: str) -> bool:
    """Does the text look like SOCI's endpoint (its ``soci_`` metrics, or at least Go's runtime metrics)?"""
    return "soci_" in text or "go_goroutines" in text


__all__ = ["LAYER_FETCHED", "LAYER_SIZE", "MetricsError", "MountedLayer", "is_soci", "mounted_layers", "parse"]
