"""What SOCI reads from a registry, and the pure analysis of the documents it reads.

Every fact below is from soci-snapshotter's source at v0.15.0 (the AMIs' and the tests' SOCI); the
same files at v0.16.1 find indexes the same way (``fs/fs.go`` ``findSociIndexDesc``,
``soci/soci_index.go``, ``soci/soci_convert.go`` and ``fs/client.go`` carry no change to discovery,
media types or annotations between the two tags).

How the snapshotter finds a layer's index when it mounts it (``fs/fs.go`` ``findSociIndexDesc``):

1. an explicit digest in the snapshot label ``containerd.io/snapshot/remote/soci.index.digest``
   (``fs/source/source.go``: only ``soci image rpull --soci-index-digest`` sets it; the CRI never does);
2. **v2** (``[pull_modes.soci_v2]``, on by default): fetch the *platform's image manifest* by digest
   and read its annotation ``com.amazon.soci.index-digest`` (``findSociIndexDescAnnotation``). Nothing
   else is consulted: the image index around it is not read. The SOCI index is then fetched by that
   digest from the same repository as a manifest (``fs/artifact_fetcher.go`` ``Fetch``: a descriptor of
   size 0 is resolved as ``<repo>@<digest>``), and its config media type must be
   ``application/vnd.amazon.soci.index.v2+json`` or v1's (``soci/soci_index.go`` ``fromManifest``). If
   that fetch fails the mount fails with ``ErrNoIndex`` and the layer is pulled whole; v1 is *not*
   tried then (the annotation was found, so step 3 never runs);
3. **v1** (``[pull_modes.soci_v1] enable = true``, off by default since 0.10): the Referrers API for
   the manifest digest, artifact type ``application/vnd.amazon.soci.index.v1+json``, first one wins
   (``fs/client.go`` ``SelectFirstPolicy``), through oras-go, which falls back to the referrers tag
   schema (``sha256-<hex>``) when the registry has no Referrers API (distribution 2.8, for one).

``soci convert`` (``soci/soci_convert.go``) attaches v2 indexes by rewriting every image manifest of
the image index as an OCI manifest, annotating the indexed ones with ``com.amazon.soci.index-digest``
(``annotateImages``) and appending one SOCI index manifest per indexed platform to the image index,
with ``artifactType`` v2, the platform, and ``com.amazon.soci.image-manifest-digest`` naming the image
manifest (``addSociIndexes``). A platform it could not index (every layer below ``--min-layer-size``)
is skipped silently (``buildSociIndexesv2ForPlatforms``).

Per layer, the snapshotter looks for the index entry whose annotation
``com.amazon.soci.image-layer-digest`` is the layer's digest (``fs/fs.go`` around line 427); a layer
without one is fetched whole. The builder skips a layer when its size is below ``--min-layer-size``
(default 10 MiB, ``defaultMinLayerSize``; the index does not record the value used) or when its
compression is not tar/gzip (``buildSociLayer``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .types import Attachment, IndexKind, LayerReport, NoZtoc, Platform, SociIndex

# -- media types (OCI image-spec v1.1, Docker distribution)
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json", "application/vnd.docker.distribution.manifest.v1+prettyjws")
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))

# -- SOCI (soci/soci_index.go at v0.15.0 and v0.16.1)
SOCI_V1 = "application/vnd.amazon.soci.index.v1+json"
"""``SociIndexArtifactTypeV1``: config media type / artifactType of a v1 index (Referrers API)."""
SOCI_V2 = "application/vnd.amazon.soci.index.v2+json"
"""``SociIndexArtifactTypeV2``: config media type / artifactType of a v2 index."""
SOCI_PREFETCH = "application/vnd.amazon.soci.prefetch.v1+json"
"""``SociPrefetchMediaType``: prefetch entries in an index, not zTOCs."""
ANN_LAYER_DIGEST = "com.amazon.soci.image-layer-digest"
"""``IndexAnnotationImageLayerDigest``: on each zTOC descriptor, the image layer it indexes."""
ANN_IMAGE_MANIFEST = "com.amazon.soci.image-manifest-digest"
"""``IndexAnnotationImageManifestDigest``: on a v2 SOCI index's descriptor in an image index."""
ANN_INDEX_DIGEST = "com.amazon.soci.index-digest"
"""``ImageAnnotationSociIndexDigest``: on an image manifest, the digest of its v2 SOCI index."""
ANN_BUILD_TOOL = "com.amazon.soci.build-tool-identifier"
DEFAULT_MIN_LAYER_SIZE = 10 << 20
"""``defaultMinLayerSize`` (10 MiB): ``soci convert``/``create`` skip smaller layers unless ``--min-layer-size``."""
ZTOC_LAYER_TYPES = frozenset({
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
})
"""Layer media types whose compression SOCI's zTOC builder takes (tar, gzip); zstd is skipped (``CheckCompressionAlgorithm``)."""
ATTESTATION = "vnd.docker.reference.type"
"""BuildKit's annotation on attestation manifests (platform unknown/unknown): not images to run."""


class DocumentError(ValueError):
    """A registry document that is not what its media type says (the caller names where it came from)."""


def platform_of(value: Any) -> Platform | None:
    """An OCI ``platform`` object (or an image config's os/architecture/variant) -> :class:`Platform`."""
    if not isinstance(value, Mapping):
        return None
    os_, arch = value.get("os"), value.get("architecture")
    if not isinstance(os_, str) or not isinstance(arch, str):
        return None
    variant = value.get("variant")
    return Platform(os_, arch, variant if isinstance(variant, str) else "")


def _descriptor(d: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(d, Mapping) or not isinstance(d.get("digest"), str) or not isinstance(d.get("mediaType", ""), str):
        raise DocumentError(f"{where}: not a descriptor (mediaType, digest, size)")
    size = d.get("size", 0)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise DocumentError(f"{where}: size {size!r} is not a byte count")
    return d


def _annotations(d: Mapping[str, Any]) -> Mapping[str, str]:
    a = d.get("annotations")
    return {k: v for k, v in a.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(a, Mapping) else {}


def manifests_of(index: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The descriptors of an image index, each checked to be a descriptor."""
    entries = index.get("manifests")
    if not isinstance(entries, list):
        raise DocumentError("image index without a 'manifests' list")
    return [_descriptor(d, f"manifests[{i}]") for i, d in enumerate(entries)]


def is_soci_entry(d: Mapping[str, Any]) -> bool:
    """A SOCI index manifest listed in an image index: ``soci convert`` lists it with artifactType v2 and the
    ``com.amazon.soci.image-manifest-digest`` annotation; a registry tool that drops ``artifactType`` (skopeo
    1.9) leaves the annotation."""
    return d.get("artifactType") in (SOCI_V1, SOCI_V2) or ANN_IMAGE_MANIFEST in _annotations(d)


def is_attestation(d: Mapping[str, Any]) -> bool:
    return ATTESTATION in _annotations(d)


def image_entries(index: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], Platform | None]]:
    """The entries of an image index a node may pull (image manifests or nested indexes), with their platform.

    SOCI index manifests and attestations are left out. An entry of any other media type is an error:
    containerd cannot tell what it is either."""
    out = []
    for i, d in enumerate(manifests_of(index)):
        if is_soci_entry(d) or is_attestation(d):
            continue
        mt = d.get("mediaType", "")
        if mt not in MANIFEST_TYPES and mt not in INDEX_TYPES:
            raise DocumentError(f"manifests[{i}] ({d['digest']}) has media type {mt or '(none)'!r}: not an OCI/Docker image manifest or index")
        out.append((d, platform_of(d.get("platform"))))
    return out


def listed_soci_indexes(index: Mapping[str, Any]) -> dict[str, tuple[str, bool]]:
    """Image manifest digest -> (SOCI v2 index digest, listed with its ``artifactType``), as ``soci convert`` lists them."""
    return {
        _annotations(d)[ANN_IMAGE_MANIFEST]: (str(d["digest"]), d.get("artifactType") == SOCI_V2)
        for d in manifests_of(index)
        if ANN_IMAGE_MANIFEST in _annotations(d) and d.get("artifactType") in (SOCI_V2, None)
    }


def layers_of(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise DocumentError("image manifest without a 'layers' list")
    return [_descriptor(d, f"layers[{i}]") for i, d in enumerate(layers)]


def config_of(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    return _descriptor(manifest.get("config"), "config")


def v2_annotation(manifest: Mapping[str, Any]) -> str | None:
    """The digest the snapshotter follows: the image manifest's own ``com.amazon.soci.index-digest``."""
    return _annotations(manifest).get(ANN_INDEX_DIGEST)


def index_version(soci_index: Mapping[str, Any]) -> str:
    """``SOCI_V1`` or ``SOCI_V2`` from the SOCI index manifest's config media type (as ``fromManifest`` decides)."""
    mt = config_of(soci_index).get("mediaType")
    if mt not in (SOCI_V1, SOCI_V2):
        raise DocumentError(f"config media type {mt!r} is neither {SOCI_V2} nor {SOCI_V1}: not a SOCI index")
    return str(mt)


def ztocs_of(soci_index: Mapping[str, Any]) -> dict[str, str]:
    """Image layer digest -> zTOC blob digest, from a SOCI index manifest's layers (prefetch entries left out)."""
    out = {}
    for d in layers_of(soci_index):
        if d.get("mediaType") == SOCI_PREFETCH:
            continue
        layer = _annotations(d).get(ANN_LAYER_DIGEST)
        if layer:
            out.setdefault(layer, d["digest"])
    return out


def soci_index(kind: IndexKind, digest: str, attachment: Attachment, doc: Mapping[str, Any]) -> SociIndex:
    return SociIndex(kind=kind, digest=digest, attachment=attachment, ztocs=len(ztocs_of(doc)), build_tool=_annotations(doc).get(ANN_BUILD_TOOL))


def layer_reports(layers: Sequence[Mapping[str, Any]], ztocs: Mapping[str, str] | None, min_layer_size: int = DEFAULT_MIN_LAYER_SIZE) -> tuple[LayerReport, ...]:
    """Per image layer: its zTOC in the index (``ztocs``; None: there is no index), or why it has none."""
    out = []
    for d in layers:
        digest, size, mt = str(d["digest"]), int(d.get("size", 0)), str(d.get("mediaType", ""))
        ztoc = ztocs.get(digest) if ztocs is not None else None
        reason: NoZtoc | None = None
        if ztoc is None:
            if ztocs is None:
                reason = NoZtoc.NO_INDEX
            elif size < min_layer_size:
                reason = NoZtoc.BELOW_MIN_LAYER_SIZE
            elif mt not in ZTOC_LAYER_TYPES:
                reason = NoZtoc.UNSUPPORTED_COMPRESSION
            else:
                reason = NoZtoc.NOT_IN_INDEX
        out.append(LayerReport(digest=digest, size=size, media_type=mt, ztoc=ztoc, reason=reason))
    return tuple(out)


def pick(entries: Sequence[tuple[Mapping[str, Any], Platform | None]], want: Platform) -> Mapping[str, Any] | None:
    """The entry containerd's platform matcher would choose for ``want`` (first match in index order)."""
    for d, p in entries:
        if p is not None and p.matches(want):
            return d
    return None


__all__ = [
    "ACCEPT", "ANN_IMAGE_MANIFEST", "ANN_INDEX_DIGEST", "ANN_LAYER_DIGEST", "DEFAULT_MIN_LAYER_SIZE", "DOCKER_LIST", "DOCKER_MANIFEST", "DocumentError",
    "INDEX_TYPES", "MANIFEST_TYPES", "OCI_INDEX", "OCI_MANIFEST", "SOCI_V1", "SOCI_V2", "image_entries", "index_version", "layer_reports",
    "listed_soci_indexes", "pick", "platform_of", "soci_index", "v2_annotation", "ztocs_of",
]
