"""The AMI's pause image as the tests make it: an OCI image-layout tar like ``ctr images export`` writes."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

PAUSE_REF = "localhost/kubernetes/pause:latest"


def _blob(blobs: dict[str, bytes], data: bytes) -> dict[str, object]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return {"digest": digest, "size": len(data)}


def pause_archive(pause_binary: bytes | None = None) -> tuple[bytes, str]:
    """An OCI image-layout tar like ``ctr images export`` writes for the AMI's pause image (with a
    real static pause process when given, else a stand-in file)."""
    layer_tar = io.BytesIO()
    with tarfile.open(fileobj=layer_tar, mode="w") as t:
        data = pause_binary if pause_binary is not None else b"#!/bin/sh\n# stand-in for the pause binary\n"
        info = tarfile.TarInfo("pause")
        info.size, info.mode, info.mtime = len(data), 0o755, 1700000000
        t.addfile(info, io.BytesIO(data))
    raw = layer_tar.getvalue()
    blobs: dict[str, bytes] = {}
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **_blob(blobs, gzip.compress(raw, mtime=0))}
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Entrypoint": ["/pause"]},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **_blob(blobs, config)},
            "layers": [layer],
        }
    ).encode()
    desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json", **_blob(blobs, manifest)}
    desc["annotations"] = {"io.containerd.image.name": PAUSE_REF, "org.opencontainers.image.ref.name": "latest"}
    desc["platform"] = {"architecture": "amd64", "os": "linux"}
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [desc]}).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as t:
        for name, data in [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)] + [
            (f"blobs/sha256/{d[7:]}", b) for d, b in blobs.items()
        ]:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1700000000
            t.addfile(info, io.BytesIO(data))
    return out.getvalue(), str(layer["digest"])
