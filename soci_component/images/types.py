"""The typed result of ``images check``: per image, per platform, per layer. Pure values."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class IndexKind(StrEnum):
    """What SOCI finds for one platform's image manifest (see :mod:`.soci` for how it looks)."""

    V2 = "v2"
    """A SOCI v2 index named by the image manifest's annotation and fetchable: SOCI >= 0.10 loads lazily."""
    V1 = "v1"
    """Only a v1 index, found through the Referrers API: ignored unless ``tuning.v1Indexes`` is set."""
    NONE = "none"
    """No index: the image is pulled whole."""
    BROKEN = "broken"
    """The manifest names a v2 index SOCI cannot use (missing, not a SOCI index): pulled whole, v1 not tried."""


class Attachment(StrEnum):
    """How a SOCI index is attached to the image."""

    IMAGE_INDEX = "image-index"
    """v2, as ``soci convert`` makes it: the image manifest annotated, the SOCI index listed next to it in the image index."""
    MANIFEST_ANNOTATION = "manifest-annotation"
    """v2, found through the image manifest's annotation only (the SOCI index is in the repository but not listed in an
    image index, e.g. a single-manifest image): SOCI needs nothing more."""
    REFERRERS_API = "referrers-api"
    """v1, returned by the registry's Referrers API."""
    REFERRERS_TAG = "referrers-tag"
    """v1, in the referrers tag schema (``sha256-<hex>``) of a registry without the Referrers API."""


class NoZtoc(StrEnum):
    """Why a layer has no zTOC (so it is fetched whole)."""

    NO_INDEX = "no-index"
    BELOW_MIN_LAYER_SIZE = "below-min-layer-size"
    """Smaller than the minimum layer size the index was built with (``soci convert --min-layer-size``, default 10 MiB)."""
    UNSUPPORTED_COMPRESSION = "unsupported-compression"
    """Not tar or gzip (zstd): SOCI's zTOC builder skips it."""
    NOT_IN_INDEX = "not-in-index"
    """Above the minimum size and gzip/tar, yet the index has no zTOC for it (built with a larger ``--min-layer-size``, or for another image)."""


_ARCH = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64"}


@dataclass(frozen=True, order=True)
class Platform:
    """``os/architecture[/variant]`` as in an OCI image index."""

    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    @classmethod
    def parse(cls, text: str) -> Platform:
        """``linux/amd64``, ``linux/arm64/v8``; ``ValueError`` otherwise."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"{text!r} is not a platform such as 'linux/amd64' or 'linux/arm64/v8'")
        return cls(*parts)

    def normalized(self) -> Platform:
        """As containerd's platform matcher compares them: ``x86_64`` -> ``amd64``, ``arm64/v8`` -> ``arm64``, ``amd64/v1`` -> ``amd64``."""
        arch = _ARCH.get(self.architecture.lower(), self.architecture.lower())
        variant = self.variant.lower()
        if (arch == "arm64" and variant in ("8", "v8", "v8.0")) or (arch == "amd64" and variant == "v1"):
            variant = ""
        return Platform(self.os.lower(), arch, variant)

    def matches(self, want: Platform) -> bool:
        return self.normalized() == want.normalized()


@dataclass(frozen=True)
class LayerReport:
    """One image layer."""

    digest: str
    size: int
    """Bytes in the registry (compressed), as the manifest says."""
    media_type: str
    ztoc: str | None
    """Digest of the layer's zTOC in the SOCI index SOCI would use; None: fetched whole."""
    reason: NoZtoc | None = None
    """Why there is no zTOC (None when there is one)."""


@dataclass(frozen=True)
class SociIndex:
    """A SOCI index manifest found for one platform."""

    kind: IndexKind
    digest: str
    attachment: Attachment
    ztocs: int
    """zTOCs it holds (prefetch entries not counted)."""
    build_tool: str | None = None
    """``com.amazon.soci.build-tool-identifier``."""


@dataclass(frozen=True)
class PlatformReport:
    """One platform's image manifest and what SOCI makes of it."""

    platform: Platform
    manifest_digest: str
    index: IndexKind
    soci_index: SociIndex | None
    """The v2 index, or the v1 index when there is no v2 one, or the v2 digest the manifest names when it is BROKEN (why: ``notes``); None: no index."""
    layers: tuple[LayerReport, ...]
    notes: tuple[str, ...] = ()

    @property
    def total_bytes(self) -> int:
        return sum(layer.size for layer in self.layers)

    @property
    def indexed_bytes(self) -> int:
        """Bytes of the layers that have a zTOC in :attr:`soci_index`."""
        return sum(layer.size for layer in self.layers if layer.ztoc)

    def lazy(self, v1_indexes: bool = False) -> bool:
        """Does SOCI load at least one layer lazily? (v1 only with ``v1_indexes``, as ``[pull_modes.soci_v1]``)."""
        usable = self.index is IndexKind.V2 or (self.index is IndexKind.V1 and v1_indexes)
        return usable and self.indexed_bytes > 0

    def lazy_share(self, v1_indexes: bool = False) -> float:
        """Share of the image's layer bytes that can load lazily on a node (0.0 .. 1.0)."""
        return self.indexed_bytes / self.total_bytes if self.lazy(v1_indexes) and self.total_bytes else 0.0


@dataclass(frozen=True)
class ImageReport:
    """One image reference, every platform checked."""

    reference: str
    """As given."""
    canonical: str
    """``host/repository:tag`` or ``@digest`` as the registry API addresses it."""
    digest: str
    """Digest of what the reference resolves to (image index or manifest)."""
    media_type: str
    platforms: tuple[PlatformReport, ...]
    multi_platform: bool
    """The reference is an image index (a manifest list)."""
    missing_platforms: tuple[Platform, ...] = ()
    """Platforms asked for that the image does not have."""

    def for_platform(self, want: Platform) -> PlatformReport | None:
        """The platform a node of ``want`` pulls (containerd's matcher: first match in index order)."""
        return next((p for p in self.platforms if p.platform.matches(want)), None)


@dataclass(frozen=True)
class NodeTarget:
    """A node group or Karpenter pool of a stack: which platform it pulls and whether v1 indexes count."""

    name: str
    """``nodeGroups.<name>`` or ``nodePools.<name>``."""
    platform: Platform
    lazy_mode: bool
    """Pull mode ``lazy`` or ``lazy-with-parallel-fallback`` (``parallel`` pulls whole images by design)."""
    v1_indexes: bool
    images: tuple[str, ...] = field(default=())
    """Images this group is checked for (the demo image, and its own list when the stack has one)."""
