"""``check_image``: what SOCI would find for an image, per platform, read from its registry like SOCI reads it.

Requests per platform: the image manifest; with a v2 annotation the SOCI index; without one the
Referrers API (or the referrers tag) and, if a v1 index is there, that index. A single-manifest image
also needs its config (for its platform). Nothing is written anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import soci
from .auth import Credentials, docker_config_path, find_credentials, load_docker_config
from .reference import Reference, ReferenceError, parse
from .registry import ErrorKind, Fetched, Registry, RegistryError, Transport
from .types import Attachment, ImageReport, IndexKind, Platform, PlatformReport, SociIndex

MAX_NESTED = 2
"""Image indexes inside image indexes followed this deep (containerd follows any depth; nobody nests deeper)."""


@dataclass
class Auth:
    """How to authenticate and connect: a node's docker config (and ECR through the AWS SDK), TLS trust."""

    docker_config: Path | None = None
    """Default: ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``."""
    ca_file: Path | None = None
    """Trusted besides the system CAs."""
    plain_http: bool = False
    env: Mapping[str, str] | None = None
    """Environment for credential helpers (default: this process's)."""
    min_layer_size: int = soci.DEFAULT_MIN_LAYER_SIZE
    """The ``--min-layer-size`` the indexes were built with, for the reason a layer has no zTOC."""

    def credentials_for(self, ref: Reference) -> Credentials | None:
        path = self.docker_config or docker_config_path(self.env)
        return find_credentials(ref, load_docker_config(path), path, self.env)


@dataclass
class Checker:
    """Checks many references, keeping one client (connections, tokens) per registry host."""

    auth: Auth = field(default_factory=Auth)
    _registries: dict[str, Registry] = field(default_factory=dict)

    def registry(self, ref: Reference) -> Registry:
        if ref.api_host not in self._registries:
            transport = Transport(ca_file=self.auth.ca_file, plain_http=self.auth.plain_http)
            self._registries[ref.api_host] = Registry(ref, transport, self.auth.credentials_for)
        return self._registries[ref.api_host]

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self._registries.values())

    def check(self, reference: str, platforms: Sequence[Platform] | None = None) -> ImageReport:
        """Every platform of ``reference`` (or only ``platforms``). RegistryError / ReferenceError on failure."""
        ref = parse(reference)
        reg = self.registry(ref)
        top = reg.manifest(ref.repository, ref.reference, f"manifest {ref.repository}:{ref.reference}")
        doc = top.json()
        min_size = self.auth.min_layer_size
        if top.media_type in soci.INDEX_TYPES:
            found = _walk_index(reg, ref, doc, top.digest, platforms, min_size, depth=0)
        else:
            one = _platform_report(reg, ref, top, doc, None, {}, platforms, min_size)
            found = [one] if one is not None else []
        missing = tuple(p for p in platforms or () if not any(r.platform.matches(p) for r in found))
        return ImageReport(
            reference=reference, canonical=str(ref), digest=top.digest, media_type=top.media_type,
            platforms=tuple(found), multi_platform=top.media_type in soci.INDEX_TYPES, missing_platforms=missing,
        )


def _walk_index(reg: Registry, ref: Reference, doc: Mapping[str, Any], digest: str, want: Sequence[Platform] | None, min_size: int, depth: int) -> list[PlatformReport]:
    try:
        entries = soci.image_entries(doc)
        listed = soci.listed_soci_indexes(doc)
    except soci.DocumentError as e:
        raise RegistryError(ErrorKind.NOT_AN_IMAGE, f"{reg.host}: image index {ref.repository}@{digest}: {e}") from None
    # Entries without a platform, and nested indexes, are settled once fetched; the rest as containerd's matcher picks.
    unsettled = [(d, p) for d, p in entries if p is None or d.get("mediaType") in soci.INDEX_TYPES]
    if want is None:
        chosen = list(entries)
    else:
        picked = [soci.pick([e for e in entries if e not in unsettled], p) for p in want]
        chosen = [(d, p) for d, p in entries if any(d is c for c in picked)] + unsettled
    out: list[PlatformReport] = []
    for d, platform in chosen:
        what = f"manifest {d['digest']} ({platform or 'no platform'}) of {ref.repository}@{digest}"
        fetched = reg.manifest(ref.repository, str(d["digest"]), what)
        child = fetched.json()
        if fetched.media_type in soci.INDEX_TYPES:
            if depth + 1 > MAX_NESTED:
                raise RegistryError(ErrorKind.NOT_AN_IMAGE, f"{reg.host}: {what}: image indexes nested deeper than {MAX_NESTED}")
            out += _walk_index(reg, ref, child, fetched.digest, want, min_size, depth + 1)
            continue
        report = _platform_report(reg, ref, fetched, child, platform, listed, want, min_size)
        if report is not None:
            out.append(report)
    return out


def _platform_report(reg: Registry, ref: Reference, fetched: Fetched, manifest: Mapping[str, Any], platform: Platform | None,
                     listed: Mapping[str, tuple[str, bool]], want: Sequence[Platform] | None, min_size: int) -> PlatformReport | None:
    where = f"{reg.host}: {ref.repository}@{fetched.digest}"
    try:
        layers = soci.layers_of(manifest)
        config = soci.config_of(manifest)
    except soci.DocumentError as e:
        raise RegistryError(ErrorKind.NOT_AN_IMAGE, f"{where}: {e}") from None
    if config.get("mediaType") in (soci.SOCI_V1, soci.SOCI_V2):
        raise RegistryError(ErrorKind.NOT_AN_IMAGE, f"{where}: this is a SOCI index, not an image; check the image it indexes")
    if platform is None:
        cfg = reg.json_blob(ref.repository, str(config["digest"]), f"image config {config['digest']}")
        platform = soci.platform_of(cfg) or Platform("unknown", "unknown")
    if want is not None and not any(platform.matches(p) for p in want):
        return None
    notes: list[str] = []
    kind, index, ztocs = IndexKind.NONE, None, None
    named = soci.v2_annotation(manifest)
    listed_for_me, typed = listed.get(fetched.digest, (None, True))
    if listed_for_me and not typed:
        notes.append(f"the image index lists SOCI index {listed_for_me} without its artifactType (a registry tool dropped it, e.g. skopeo 1.9): "
                     "SOCI still finds it through the manifest's annotation")
    if named:
        attachment = Attachment.IMAGE_INDEX if listed_for_me == named else Attachment.MANIFEST_ANNOTATION
        if listed_for_me and listed_for_me != named:
            notes.append(f"the image index lists SOCI index {listed_for_me} for this manifest, but the manifest's annotation names {named}: SOCI follows the annotation")
        doc = reg.manifest_or_none(ref.repository, named, f"SOCI index {named}")
        problem = None
        if doc is None:
            problem = f"its annotation {soci.ANN_INDEX_DIGEST} names {named}, which is not in {ref.repository}: SOCI fails to fetch it and pulls the image whole"
        else:
            try:
                version = soci.index_version(doc.json())
                ztocs = soci.ztocs_of(doc.json())
            except soci.DocumentError as e:
                problem = f"{named} is not a usable SOCI index ({e}): SOCI pulls the image whole"
            else:
                if version == soci.SOCI_V1:
                    notes.append(f"{named} is a v1 index named by a v2 annotation; SOCI reads it as v2 does")
        if problem is None and doc is not None:
            kind, index = IndexKind.V2, soci.soci_index(IndexKind.V2, named, attachment, doc.json())
        else:
            kind, index, ztocs = IndexKind.BROKEN, SociIndex(IndexKind.BROKEN, named, attachment, 0), None
            notes.append(str(problem))
    else:
        if listed_for_me:
            notes.append(f"the image index lists SOCI v2 index {listed_for_me} for this manifest, but the manifest has no {soci.ANN_INDEX_DIGEST} "
                         "annotation: SOCI reads only the annotation, so it does not find it")
        found = reg.referrers(ref.repository, fetched.digest, soci.SOCI_V1)
        if found is not None:
            descs, via_api = found
            first = str(descs[0].get("digest"))
            doc = reg.manifest_or_none(ref.repository, first, f"SOCI v1 index {first}")
            if doc is None:
                notes.append(f"the referrers list v1 index {first}, which is not in {ref.repository}")
            else:
                try:
                    ztocs = soci.ztocs_of(doc.json())
                except soci.DocumentError as e:
                    notes.append(f"v1 index {first} is not usable: {e}")
                else:
                    att = Attachment.REFERRERS_API if via_api else Attachment.REFERRERS_TAG
                    kind, index = IndexKind.V1, soci.soci_index(IndexKind.V1, first, att, doc.json())
                    if len(descs) > 1:
                        notes.append(f"{len(descs)} v1 indexes refer to this manifest; SOCI takes the first ({first})")
    return PlatformReport(platform=platform, manifest_digest=fetched.digest, index=kind, soci_index=index,
                          layers=soci.layer_reports(layers, ztocs, min_size), notes=tuple(notes))


def check_image(ref: str, platform: Platform | str | None = None, auth: Auth | None = None) -> ImageReport:
    """Check one image reference: every platform, or only ``platform`` (what a node of that platform pulls).

    Raises :class:`RegistryError` (``.kind``, ``.message``) when the registry cannot answer or the image is
    not an OCI/Docker image, and :class:`ReferenceError` for a malformed reference. Reuse a
    :class:`Checker` to check many images with one connection and token per registry."""
    want = [Platform.parse(platform) if isinstance(platform, str) else platform] if platform is not None else None
    return Checker(auth or Auth()).check(ref, want)


__all__ = ["Auth", "Checker", "ReferenceError", "RegistryError", "check_image"]
