"""One TLS + htpasswd registry for the ``images check`` tests, holding every kind of image they check."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from soci_component.images import Auth
from tests.images import support
from tests.node.images import Image, RegistryClient
from tests.node.lazy import PLAIN_REPO, REPO, USER, V1_REPO, Published, built_soci_keys, publish

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Box:
    """The registry (as ``127.0.0.1:<port>``, the test CA, a docker config with its account) and what it holds."""

    pub: Published
    client: RegistryClient
    docker_config: Path
    images: dict[str, Image] = field(default_factory=dict)
    """name -> the image we built (``app``: publish's; ``small``, ``multi-amd64``, ...)."""
    digests: dict[str, str] = field(default_factory=dict)
    """name -> a digest we pushed (``small-manifest``, ``small-soci-index`` ...)."""
    small: dict[str, tuple[str, str]] = field(default_factory=dict)
    """built SOCI key (``soci-0.15``, ``soci-0.16``) -> (repository, SOCI index digest) of the small image it converted."""

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.pub.registry.port}"

    @property
    def ca(self) -> Path:
        return self.pub.tls.ca

    def ref(self, repo: str, tag: str = "v1") -> str:
        return f"{self.host}/{repo}:{tag}"

    def auth(self) -> Auth:
        return Auth(docker_config=self.docker_config, ca_file=self.ca, env={"PATH": "/usr/bin:/bin"})

    def cli(self, *args: str, cwd: Path, env: dict[str, str] | None = None, ca: bool = True) -> subprocess.CompletedProcess[str]:
        """``python -m soci_component images check ...`` in a fresh interpreter (docker config from ``DOCKER_CONFIG``)."""
        e = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "DOCKER_CONFIG": str(self.docker_config.parent), "PYTHONPATH": str(ROOT), **(env or {})}
        argv = [sys.executable, "-m", "soci_component", "images", "check", *(["--ca-file", str(self.ca)] if ca else []), *args]
        return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=e, timeout=120, check=False)


def docker_config(path: Path, host: str, user: str, password: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": {host: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}}}))
    os.chmod(path, 0o600)
    return path


@pytest.fixture(scope="package")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    base = tmp_path_factory.mktemp("images-check")
    # v2 (soci convert through containerd), v1 only (soci create + push), unindexed: the suite's publisher
    pub = publish(base / "published", layers_mib=(11,), name="images-check", seed=41)
    try:
        host = f"127.0.0.1:{pub.registry.port}"
        client = RegistryClient(f"https://{host}", user=USER, password=pub.password, cafile=pub.tls.ca)
        b = Box(pub, client, docker_config(base / "docker" / "config.json", host, USER, pub.password))
        b.images.update(app=pub.image, plain=pub.plain)

        # small layers: the 2 MiB one gets no zTOC (below the default --min-layer-size); converted by every built SOCI
        small = support.build((16, 2), seed=51, name="images-small")
        layout = support.write_layout(base / "small-oci", [support.variant(small)], as_index=False)
        for key in built_soci_keys():
            repo = f"check/small-{key}"
            support.convert(layout, base / f"small-{key}", key=key)
            support.push_layout(client, base / f"small-{key}", repo, "v1")
            entries = support.raw_json(client, repo, "v1")["manifests"]
            b.small[key] = (repo, next(e["digest"] for e in entries if e.get("artifactType")))
        out = base / "small-soci"
        support.convert(layout, out)
        b.digests["small-index"] = support.push_layout(client, out, "check/small", "v1")
        entries = support.raw_json(client, "check/small", "v1")["manifests"]
        b.digests["small-manifest"] = next(e["digest"] for e in entries if "artifactType" not in e)
        b.digests["small-soci-index"] = next(e["digest"] for e in entries if e.get("artifactType"))
        b.images["small"] = small
        # the same image manifest and SOCI index pushed by digest, the image manifest tagged: no image index around them
        support.push_layout(client, out, "check/annotated", "v1", only=[b.digests["small-manifest"], b.digests["small-soci-index"]])
        # the annotated manifest without its SOCI index: SOCI follows the annotation and fails
        support.push_layout(client, out, "check/broken", "v1", only=[b.digests["small-manifest"]])

        # multi-arch: linux/amd64 and linux/arm64/v8 (same layers, other config), converted for amd64 only
        amd = support.build((11,), seed=52, name="images-multi")
        variants = [support.variant(amd), support.variant(amd, "arm64", "v8")]
        out = base / "multi-soci"
        support.convert(support.write_layout(base / "multi-oci", variants, as_index=True), out, "--platform", "linux/amd64")
        support.push_layout(client, out, "check/multi", "v1")
        b.images["multi-amd64"] = amd
        yield b
    finally:
        pub.registry.stop()


__all__ = ["PLAIN_REPO", "REPO", "V1_REPO", "Box", "box", "docker_config"]
