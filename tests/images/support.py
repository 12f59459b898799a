"""Test images for ``images check``: OCI layouts of the suite's built images, converted with the built
``soci convert --standalone`` and pushed with the suite's raw registry client (no containerd needed).

Expected values in the tests come from here (the layers we built, their digests and sizes) and from
raw registry reads (:func:`raw_json`), never from the code under test."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.node import images
from tests.node.images import Image, RegistryClient
from tests.support.daemons import DaemonFailed, daemon

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
SOCI_V1 = "application/vnd.amazon.soci.index.v1+json"
SOCI_V2 = "application/vnd.amazon.soci.index.v2+json"
MiB = images.MiB
MIN_LAYER_SIZE = 10 << 20
"""SOCI's default ``--min-layer-size`` (soci/soci_index.go ``defaultMinLayerSize`` at v0.15.0)."""


def soci_binary(key: str = "soci") -> Path:
    """The built ``soci`` CLI (``soci``: the AMIs' 0.15.0; ``soci-0.16``: 0.16.1 ...)."""
    return daemon(key).bin("soci")


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Variant:
    """One platform's manifest + config made from a built image (same layers)."""

    image: Image
    config: bytes
    manifest: bytes
    platform: dict[str, str]

    @property
    def digest(self) -> str:
        return digest_of(self.manifest)


def variant(image: Image, architecture: str = "amd64", variant_: str = "") -> Variant:
    """``image``'s layers under a config of another architecture (``arm64``/``v8``): a new config and manifest."""
    config = json.loads(image.config)
    config["architecture"] = architecture
    if variant_:
        config["variant"] = variant_
    cfg = json.dumps(config, sort_keys=True).encode()
    manifest = json.loads(image.manifest)
    manifest["config"] = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest_of(cfg), "size": len(cfg)}
    man = json.dumps(manifest, sort_keys=True).encode()
    platform = {"os": "linux", "architecture": architecture, **({"variant": variant_} if variant_ else {})}
    return Variant(image, cfg, man, platform)


def write_layout(out: Path, variants: Sequence[Variant], *, as_index: bool) -> Path:
    """An OCI image layout of one image (``as_index=False``, one variant) or an image index of ``variants``."""
    shutil.rmtree(out, ignore_errors=True)
    blobs = out / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> str:
        d = digest_of(data)
        (blobs / d[7:]).write_bytes(data)
        return d

    for v in variants:
        for layer in v.image.layers:
            if not (blobs / layer.digest[7:]).exists():
                shutil.copyfile(v.image.blob(layer.digest), blobs / layer.digest[7:])
        put(v.config)
        put(v.manifest)
    if as_index:
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                            "manifests": [{"mediaType": OCI_MANIFEST, "digest": v.digest, "size": len(v.manifest), "platform": v.platform} for v in variants]}).encode()
        root = {"mediaType": OCI_INDEX, "digest": put(index), "size": len(index)}
    else:
        (only,) = variants
        root = {"mediaType": OCI_MANIFEST, "digest": only.digest, "size": len(only.manifest)}
    (out / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (out / "index.json").write_text(json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [root]}))
    return out


def convert(src: Path, dst: Path, *flags: str, key: str = "soci") -> str:
    """``soci convert --standalone --format oci-dir [flags] src dst`` with the built SOCI ``key``; returns its output."""
    argv = [str(soci_binary(key)), "convert", "--standalone", "--format", "oci-dir", *flags, str(src), str(dst)]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if r.returncode != 0:
        raise DaemonFailed(f"{' '.join(argv)} failed ({r.returncode}):\n{r.stderr}\n{r.stdout}")
    return r.stdout + r.stderr


def layout_blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()


def layout_root(layout: Path) -> dict[str, Any]:
    return dict(json.loads((layout / "index.json").read_text())["manifests"][0])


def push_layout(client: RegistryClient, layout: Path, repo: str, tag: str, *, only: Sequence[str] | None = None) -> str:
    """Push everything the layout's root references (children first, by digest), then tag the root. ``only``:
    push just these manifests (by digest, with their blobs) and tag the first. Returns the tagged digest."""

    def push(digest: str, media_type: str) -> None:
        doc = json.loads(layout_blob(layout, digest))
        if media_type == OCI_INDEX:
            for child in doc["manifests"]:
                push(child["digest"], child["mediaType"])
        else:
            for blob in [doc["config"], *doc["layers"]]:
                client.push_blob(repo, blob["digest"], layout_blob(layout, blob["digest"]))
        client.push_manifest(repo, digest, layout_blob(layout, digest), media_type)

    if only is not None:
        for d in only:
            push(d, OCI_MANIFEST)
        client.push_manifest(repo, tag, layout_blob(layout, only[0]), OCI_MANIFEST)
        return only[0]
    root = layout_root(layout)
    push(root["digest"], root["mediaType"])
    client.push_manifest(repo, tag, layout_blob(layout, root["digest"]), root["mediaType"])
    return str(root["digest"])


def raw_json(client: RegistryClient, repo: str, reference: str) -> dict[str, Any]:
    """A manifest or index straight from the registry (the suite's own HTTP client)."""
    status, _, body = client.request("GET", f"/v2/{repo}/manifests/{reference}", headers={"Accept": f"{OCI_INDEX}, {OCI_MANIFEST}"})
    assert status == 200, (status, body[:300])
    return dict(json.loads(body))


def raw_digest(client: RegistryClient, repo: str, reference: str) -> str:
    """The registry's ``Docker-Content-Digest`` for a tag."""
    status, headers, _ = client.request("HEAD", f"/v2/{repo}/manifests/{reference}", headers={"Accept": f"{OCI_INDEX}, {OCI_MANIFEST}"})
    assert status == 200, status
    return {k.lower(): v for k, v in headers.items()}["docker-content-digest"]


def ztoc_map(client: RegistryClient, repo: str, soci_index_digest: str) -> dict[str, str]:
    """layer digest -> zTOC digest, read raw from the SOCI index manifest in the registry."""
    doc = raw_json(client, repo, soci_index_digest)
    return {d["annotations"]["com.amazon.soci.image-layer-digest"]: d["digest"] for d in doc["layers"]}


def expected_share(image: Image, min_size: int = MIN_LAYER_SIZE) -> float:
    """Share of the layer bytes in layers SOCI indexes at ``min_size`` (what we built, not what the check says)."""
    sizes = [layer.size for layer in image.layers]
    return sum(s for s in sizes if s >= min_size) / sum(sizes)


def build(layers_mib: tuple[int, ...], *, seed: int, base_mib: int = 12, name: str) -> Image:
    return images.build(images.random_layers(layers_mib, seed=seed, base_mib=base_mib), name=name)


__all__ = ["MIN_LAYER_SIZE", "Variant", "build", "convert", "expected_share", "layout_root", "push_layout", "raw_json", "variant", "write_layout", "ztoc_map"]
