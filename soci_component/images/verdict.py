"""Verdicts a person reads and CI gates on: per platform, and per node group/pool of a stack. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..spec import StackSpec
from .types import Attachment, ImageReport, IndexKind, NodeTarget, NoZtoc, Platform, PlatformReport

ATTACHED = {
    Attachment.IMAGE_INDEX: "listed in the image index next to the image manifest, as soci convert makes it",
    Attachment.MANIFEST_ANNOTATION: "named by the image manifest's annotation only (not listed in an image index)",
    Attachment.REFERRERS_API: "found through the Referrers API",
    Attachment.REFERRERS_TAG: "found through the referrers tag (the registry has no Referrers API)",
}

WHY_NOT = {
    NoZtoc.NO_INDEX: "no index",
    NoZtoc.BELOW_MIN_LAYER_SIZE: "below the minimum layer size",
    NoZtoc.UNSUPPORTED_COMPRESSION: "compression other than gzip/tar (SOCI builds zTOCs for gzip and tar only)",
    NoZtoc.NOT_IN_INDEX: "above the minimum layer size but not in the index (built with a larger --min-layer-size?)",
}


def size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def platform_verdict(p: PlatformReport, v1_indexes: bool) -> str:
    """One line: lazy or not, which index, how much."""
    share = f"{p.lazy_share(v1_indexes) * 100:.1f} % of {size(p.total_bytes)} loads lazily"
    with_ztoc = sum(1 for layer in p.layers if layer.ztoc)
    idx = p.soci_index
    if p.index is IndexKind.V2 and idx is not None:
        head = "ready" if p.lazy(v1_indexes) else "not lazy (the index has no zTOC for any layer)"
        return f"{head}: SOCI v2 index {idx.digest} ({ATTACHED[idx.attachment]}); {with_ztoc} of {len(p.layers)} layers have a zTOC; {share}"
    if p.index is IndexKind.V1 and idx is not None:
        if v1_indexes:
            return f"ready with v1 indexes on: SOCI v1 index {idx.digest} ({ATTACHED[idx.attachment]}); {with_ztoc} of {len(p.layers)} layers have a zTOC; {share}"
        return (f"not lazy: only a SOCI v1 index ({idx.digest}, {ATTACHED[idx.attachment]}), which SOCI >= 0.10 ignores unless "
                f"tuning.v1Indexes is set ([pull_modes.soci_v1]); pulled whole ({size(p.total_bytes)}). Rebuild it with soci convert (v2)")
    if p.index is IndexKind.BROKEN:
        return f"not lazy: broken SOCI v2 index; pulled whole ({size(p.total_bytes)})"
    return f"not lazy: no SOCI index; pulled whole ({size(p.total_bytes)})"


@dataclass(frozen=True)
class TargetResult:
    """What one node group/pool gets from one image."""

    target: NodeTarget
    image: str
    platform: PlatformReport | None
    """The manifest its nodes pull; None: the image has none for its platform."""

    @property
    def lazy(self) -> bool:
        return self.target.lazy_mode and self.platform is not None and self.platform.lazy(self.target.v1_indexes)

    @property
    def share(self) -> float:
        return self.platform.lazy_share(self.target.v1_indexes) if self.platform is not None and self.target.lazy_mode else 0.0

    def line(self) -> str:
        t = self.target
        head = f"{t.name} ({t.platform}) pulls "
        if self.platform is None:
            return head + f"nothing: the image has no {t.platform} manifest, so its nodes cannot run it"
        head += f"{self.platform.platform} {self.platform.manifest_digest}: "
        if not t.lazy_mode:
            return head + "pulled whole in parallel (pull mode parallel: no index needed)"
        if self.lazy:
            return head + f"lazy, {self.share * 100:.1f} %" + (" (v1 index: tuning.v1Indexes is set)" if self.platform.index is IndexKind.V1 else "")
        if self.platform.index is IndexKind.V1:
            return head + "pulled whole: only a v1 index and tuning.v1Indexes is not set"
        return head + "pulled whole"


def target_results(reports: Sequence[ImageReport], targets: Sequence[NodeTarget]) -> list[TargetResult]:
    by_ref = {r.reference: r for r in reports}
    out = []
    for t in targets:
        for image in t.images:
            r = by_ref.get(image)
            if r is not None:
                out.append(TargetResult(t, image, r.for_platform(t.platform)))
    return out


def unmet(reports: Sequence[ImageReport], results: Sequence[TargetResult], v1_indexes: bool, with_targets: bool) -> list[str]:
    """Why ``--require lazy`` fails (empty: it holds). With a stack: every lazy group/pool loads every image it
    runs lazily; without: every platform checked (or asked for with ``--platform``) is lazy."""
    out = []
    if with_targets:
        for res in results:
            if res.target.lazy_mode and not res.lazy:
                out.append(f"{res.image}: {res.line()}")
        return out
    for r in reports:
        out += [f"{r.reference}: no {p} manifest" for p in r.missing_platforms]
        out += [f"{r.reference} {p.platform}: {platform_verdict(p, v1_indexes)}" for p in r.platforms if not p.lazy(v1_indexes)]
    return out


def node_targets(stack: StackSpec, extra_images: Sequence[str] = ()) -> list[NodeTarget]:
    """Every node group and pool of a :class:`soci_component.spec.StackSpec`, with the images it runs: the demo
    image (when the demo is on: it runs on any SOCI node), the group's own ``images`` list (when the stack
    schema has one) and ``extra_images`` (given on the command line)."""
    demo = (stack.demo.image,) if stack.demo.enabled else ()
    out = []
    for kind, specs in (("nodeGroups", stack.node_groups), ("nodePools", stack.node_pools)):
        for s in specs:
            own = tuple(getattr(s, "images", ()) or ())  # the per-group list, once the stack schema has it
            images = tuple(dict.fromkeys((*demo, *own, *extra_images)))
            out.append(NodeTarget(name=f"{kind}.{s.name}", platform=Platform("linux", s.arch.release_arch), lazy_mode=s.pull_mode.lazy,
                                  v1_indexes=s.tuning.v1_indexes, images=images))
    return out


__all__ = ["TargetResult", "node_targets", "platform_verdict", "size", "target_results", "unmet"]
