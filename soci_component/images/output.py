"""``images check`` output: lines a person reads, and the ``--json`` document for CI. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .soci import DEFAULT_MIN_LAYER_SIZE
from .types import ImageReport, LayerReport, NoZtoc, PlatformReport
from .verdict import WHY_NOT, TargetResult, platform_verdict, size

JSON_VERSION = 1


def _layer_line(layer: LayerReport, min_layer_size: int) -> str:
    if layer.ztoc:
        return f"    {layer.digest} {size(layer.size):>10}  zTOC {layer.ztoc}"
    why = WHY_NOT[layer.reason] if layer.reason else "no zTOC"
    if layer.reason is NoZtoc.BELOW_MIN_LAYER_SIZE:
        why += f" ({size(min_layer_size)}{', SOCI default' if min_layer_size == DEFAULT_MIN_LAYER_SIZE else ''})"
    return f"    {layer.digest} {size(layer.size):>10}  no zTOC: {why}"


def text(reports: Sequence[ImageReport], results: Sequence[TargetResult], *, v1_indexes: bool, min_layer_size: int, layers: bool = True) -> list[str]:
    out: list[str] = []
    for r in reports:
        kind = f"image index, {len(r.platforms)} platform{'s' if len(r.platforms) != 1 else ''} checked" if r.multi_platform else "single-platform manifest"
        out.append(f"{r.reference}: {r.canonical} -> {r.digest} ({kind})")
        for p in r.platforms:
            out.append(f"  {p.platform} {p.manifest_digest}: {platform_verdict(p, v1_indexes)}")
            out += [f"    note: {n}" for n in p.notes]
            if layers:
                out += [_layer_line(layer, min_layer_size) for layer in p.layers]
        out += [f"  {m}: not in this image" for m in r.missing_platforms]
        for res in results:
            if res.image == r.reference:
                out.append(f"  {res.line()}")
    return out


def _platform_json(p: PlatformReport, v1_indexes: bool) -> dict[str, Any]:
    idx = p.soci_index
    return {
        "platform": str(p.platform),
        "manifestDigest": p.manifest_digest,
        "index": p.index.value,
        "sociIndex": None if idx is None else {"digest": idx.digest, "kind": idx.kind.value, "attachment": idx.attachment.value, "ztocs": idx.ztocs, "buildTool": idx.build_tool},
        "lazy": p.lazy(v1_indexes),
        "lazyShare": round(p.lazy_share(v1_indexes), 6),
        "totalBytes": p.total_bytes,
        "indexedBytes": p.indexed_bytes,
        "verdict": platform_verdict(p, v1_indexes),
        "layers": [{"digest": x.digest, "size": x.size, "mediaType": x.media_type, "ztoc": x.ztoc, "reason": x.reason.value if x.reason else None} for x in p.layers],
        "notes": list(p.notes),
    }


def document(reports: Sequence[ImageReport], results: Sequence[TargetResult], *, v1_indexes: bool, unmet: Sequence[str]) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "v1Indexes": v1_indexes,
        "images": [
            {
                "reference": r.reference, "canonical": r.canonical, "digest": r.digest, "mediaType": r.media_type, "multiPlatform": r.multi_platform,
                "missingPlatforms": [str(m) for m in r.missing_platforms], "platforms": [_platform_json(p, v1_indexes) for p in r.platforms],
            }
            for r in reports
        ],
        "targets": [
            {
                "name": res.target.name, "platform": str(res.target.platform), "lazyMode": res.target.lazy_mode, "v1Indexes": res.target.v1_indexes,
                "image": res.image, "manifestDigest": res.platform.manifest_digest if res.platform else None, "lazy": res.lazy,
                "lazyShare": round(res.share, 6), "verdict": res.line(),
            }
            for res in results
        ],
        "lazyRequirementUnmet": list(unmet),
    }


__all__ = ["JSON_VERSION", "document", "text"]
