"""Test images made from scratch: OCI layers of deterministic pseudo-random files, pushed to a registry.

Nothing is downloaded: every byte comes from ``random.Random(seed)``, so a test can say exactly what a
file in any layer must contain. Built blobs are cached under ``<cache>/node-images/<recipe hash>/``
(gzip of a few hundred MB of random data takes seconds; a warm cache makes it free).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import ssl
import tarfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.daemons import cache_dir

MiB = 1 << 20


@dataclass(frozen=True)
class FileSpec:
    """A regular file in a layer: ``size`` bytes from ``random.Random(seed)``, or literal ``data``."""

    path: str
    size: int = 0
    seed: int = 0
    data: bytes | None = None
    mode: int = 0o644
    compressible: bool = False
    """A quarter random bytes, three quarters text-like runs: gzip -6 makes it ~1.7x smaller and inflating it is real
    work, as for a typical image layer (pure random data is stored, and "decompresses" at memcpy speed)."""

    def content(self) -> bytes:
        if self.data is not None:
            return self.data
        rnd = random.Random(self.seed)
        if not self.compressible:
            return rnd.randbytes(self.size)
        pool = _text_pool()
        parts, n = [], 0
        while n < self.size:
            off = rnd.randrange(0, len(pool) - 3072)
            parts.append(rnd.randbytes(1024))
            parts.append(pool[off : off + 3072])
            n += 4096
        return b"".join(parts)[: self.size]

    def range(self, offset: int, length: int) -> bytes:
        return self.content()[offset : offset + length]


_POOL: list[bytes] = []


def _text_pool() -> bytes:
    if not _POOL:
        rnd = random.Random(12345)
        words = [bytes(rnd.choices(b"abcdefghijklmnopqrstuvwxyz_/.", k=rnd.randint(3, 12))) for _ in range(2000)]
        _POOL.append(b" ".join(rnd.choices(words, k=200_000)))
    return _POOL[0]


@dataclass(frozen=True)
class LayerSpec:
    files: tuple[FileSpec, ...]


@dataclass
class Layer:
    digest: str
    size: int
    diff_id: str
    files: tuple[FileSpec, ...]


@dataclass
class Image:
    """A built image: blobs on disk under ``blobs`` (``sha256/<hex>``), OCI manifest and config."""

    blobs: Path
    layers: list[Layer]
    config: bytes
    manifest: bytes
    files: dict[str, tuple[int, FileSpec]] = field(default_factory=dict)
    """path -> (layer index, spec)."""

    @property
    def manifest_digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.manifest).hexdigest()

    @property
    def config_digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.config).hexdigest()

    @property
    def total_size(self) -> int:
        return sum(layer.size for layer in self.layers) + len(self.config) + len(self.manifest)

    def blob(self, digest: str) -> Path:
        return self.blobs / digest.replace(":", "/")

    def file(self, path: str) -> FileSpec:
        return self.files[path][1]


def _tar(files: Sequence[FileSpec]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs: set[str] = set()
        for f in files:
            parts = f.path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1700000000
                    tar.addfile(info)
            data = f.content()
            info = tarfile.TarInfo(f.path)
            info.size, info.mode, info.mtime = len(data), f.mode, 1700000000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _gzip(data: bytes, level: int) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, 31)  # gzip container; level 1 for random data (it does not compress anyway)
    return c.compress(data) + c.flush()


def build(layers: Sequence[LayerSpec], *, name: str = "image", cmd: Sequence[str] = ("/app/run",)) -> Image:
    """Build (or load from the cache) an OCI image of ``layers`` whose config runs ``cmd``."""
    recipe = json.dumps(([] if tuple(cmd) == ("/app/run",) else [list(cmd)]) + [[(f.path, f.size, f.seed, base64.b64encode(f.data).decode() if f.data is not None else None, f.compressible) for f in spec.files] for spec in layers])
    key = hashlib.sha256(recipe.encode()).hexdigest()[:16]
    root = cache_dir().parent / "node-images" / f"{name}-{key}"
    blobs = root / "blobs"
    meta = root / "image.json"
    if meta.exists():
        m = json.loads(meta.read_text())
        built = [Layer(d["digest"], d["size"], d["diff_id"], spec.files) for d, spec in zip(m["layers"], layers, strict=True)]
        image = Image(blobs, built, base64.b64decode(m["config"]), base64.b64decode(m["manifest"]))
        if all(image.blob(layer.digest).exists() for layer in built):
            return _index(image)
    (blobs / "sha256").mkdir(parents=True, exist_ok=True)
    built = []
    for spec in layers:
        raw = _tar(spec.files)
        gz = _gzip(raw, 6 if any(f.compressible for f in spec.files) else 1)
        digest = "sha256:" + hashlib.sha256(gz).hexdigest()
        tmp = blobs / "sha256" / f".{digest[7:]}.tmp"
        tmp.write_bytes(gz)
        tmp.rename(blobs / "sha256" / digest[7:])
        built.append(Layer(digest, len(gz), "sha256:" + hashlib.sha256(raw).hexdigest(), spec.files))
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": list(cmd), "Env": ["PATH=/usr/bin:/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in built]},
            "history": [{"created_by": f"soci-eks test layer {i}"} for i in range(len(built))],
        },
        sort_keys=True,
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + hashlib.sha256(config).hexdigest(), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer.digest, "size": layer.size} for layer in built],
        },
        sort_keys=True,
    ).encode()
    image = Image(blobs, built, config, manifest)
    meta.write_text(
        json.dumps(
            {
                "layers": [{"digest": layer.digest, "size": layer.size, "diff_id": layer.diff_id} for layer in built],
                "config": base64.b64encode(config).decode(),
                "manifest": base64.b64encode(manifest).decode(),
            }
        )
    )
    return _index(image)


def _index(image: Image) -> Image:
    image.files = {f.path: (i, f) for i, layer in enumerate(image.layers) for f in layer.files}
    return image


# -- registry client (distribution v2 API, basic auth) -------------------------------------------------
class RegistryClient:
    def __init__(self, url: str, *, user: str | None = None, password: str | None = None, cafile: Path | None = None) -> None:
        self.url = url.rstrip("/")
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode() if user else None
        self.ctx = ssl.create_default_context(cafile=str(cafile)) if cafile else None

    def request(self, method: str, path_or_url: str, data: bytes | None = None, headers: Mapping[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        url = path_or_url if path_or_url.startswith("http") else self.url + path_or_url
        req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
        if self.auth:
            req.add_header("Authorization", self.auth)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=120) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def has_blob(self, repo: str, digest: str) -> bool:
        return self.request("HEAD", f"/v2/{repo}/blobs/{digest}")[0] == 200

    def push_blob(self, repo: str, digest: str, data: bytes) -> None:
        if self.has_blob(repo, digest):
            return
        status, headers, body = self.request("POST", f"/v2/{repo}/blobs/uploads/", b"")
        assert status == 202, (status, body)
        location = headers["Location"]
        if location.startswith("/"):
            location = self.url + location
        sep = "&" if "?" in location else "?"
        status, _, body = self.request("PUT", f"{location}{sep}digest={digest}", data, {"Content-Type": "application/octet-stream"})
        assert status == 201, (status, body)

    def push_manifest(self, repo: str, ref: str, manifest: bytes, media_type: str = "application/vnd.oci.image.manifest.v1+json") -> None:
        status, _, body = self.request("PUT", f"/v2/{repo}/manifests/{ref}", manifest, {"Content-Type": media_type})
        assert status == 201, (status, body)

    def push_image(self, image: Image, repo: str, tag: str) -> None:
        for layer in image.layers:
            self.push_blob(repo, layer.digest, image.blob(layer.digest).read_bytes())
        self.push_blob(repo, image.config_digest, image.config)
        self.push_manifest(repo, tag, image.manifest)

    def delete_manifest(self, repo: str, digest: str) -> int:
        return self.request("DELETE", f"/v2/{repo}/manifests/{digest}")[0]


def random_layers(
    sizes_mib: Sequence[int], *, seed: int = 7, base_mib: int = 12, marker: bytes = b"hello from the last layer\n", compressible: bool = False,
    base_files: Sequence[FileSpec] = (),
) -> list[LayerSpec]:
    """A base layer (``base_mib`` of random data + small files), then one layer per size (one big random
    file + a small one each); the last layer also has ``app/marker.txt``: the "small file in a late layer".

    Every layer is above SOCI's default ``min_layer_size`` (10 MB) so every layer gets a zTOC: soci 0.4.1
    handles a layer *without* a zTOC under containerd 2.x by HEAD-ing ``/manifests/<layer digest>``
    (404) nine times with back-off (~8 s) before deferring to containerd."""
    layers = [
        LayerSpec(
            (
                FileSpec("etc/os-release", data=b'NAME="soci-eks test image"\nID=soci-eks-test\n'),
                FileSpec("app/run", data=b"#!/bin/sh\necho soci-eks\n"),
                FileSpec("usr/lib/base.bin", size=base_mib * MiB, seed=seed * 1000),
                *base_files,
            )
        )
    ]
    for i, size in enumerate(sizes_mib, start=1):
        files = [FileSpec(f"data/layer{i}.bin", size=size * MiB, seed=seed * 1000 + i, compressible=compressible), FileSpec(f"data/layer{i}.small", size=4096, seed=seed * 1000 + 500 + i)]
        if i == len(sizes_mib):
            files.append(FileSpec("app/marker.txt", data=marker))
        layers.append(LayerSpec(tuple(files)))
    return layers


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MiB), b""):
            h.update(chunk)
    return h.hexdigest()


__all__ = ["FileSpec", "Image", "Layer", "LayerSpec", "MiB", "RegistryClient", "build", "random_layers", "sha256_file"]
