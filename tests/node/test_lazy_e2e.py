"""Lazy loading end to end: the node's daemons with the rendered configs, a private registry, the CRI.

Real soci-snapshotter (the scenario's: 0.16.1 for a release source, 0.15.0 for the AMI's package) and
containerd (1.7.27 for the containerd-1.7 profile, 2.2.4 for the 2.2 profile), built from their Go
modules, run with the renderer's ``/etc/soci-snapshotter-grpc/config.toml`` and ``/etc/containerd/config.toml`` (paths moved
under the test's node by ``tests/support/daemons.py``). The image (4 layers, ~230 MB of random data) and its
SOCI index (v2 from ``soci convert``; a v1 index beside it) are in a TLS registry with htpasswd auth;
the pull goes through the CRI as the kubelet sends it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from soci_component.render.paths import SOCI_CONFIG as SOCI_CONFIG_PATH
from tests.node.images import MiB
from tests.node.lazy import Published, lazy_node, sha256_of, soci_config_keys, soci_key_for
from tests.support.daemons import daemon
from tests.support.scenarios import SCENARIOS


# -- which rendered keys SOCI reads ----------------------------------------------------------------------
@pytest.mark.parametrize("version", ["0.15.0", "0.16.1"])
@pytest.mark.parametrize("name", ["c17-lazy-cri-ami", "c22-lazy-kube-release", "c22-fallback-ecr-release", "c22-parallel-static-release", "c22-lazy-custom-root-mirrors"])
def test_every_rendered_soci_key_is_one_soci_knows(name: str, version: str) -> None:
    """SOCI ignores TOML keys it does not know (no error, no warning): every key we render must be a
    field of the config structs (the ``toml:"..."`` tags in the binary) of every SOCI we build — 0.15.0
    (the AMIs' package) and 0.16.1 (the default release) — whatever version the scenario names: the
    rendered keys do not depend on the version, and a user may pin either."""
    soci = daemon(soci_key_for(version))
    known = soci_config_keys(soci.bin("soci-snapshotter-grpc"))
    assert "parallel_pull_unpack" in known and "max_concurrent_unpacks_per_image" in known, "not SOCI >= 0.10's binary"
    rendered = tomllib.loads(SCENARIOS[name].render().file(SOCI_CONFIG_PATH).content)
    unknown = sorted(set(_unknown_fields(rendered, known)))
    assert unknown == [], f"rendered keys SOCI {soci.version} would ignore: {unknown}"


MAP_KEYS = ("decompress_streams", "host")
"""Tables whose keys are data (a compression name, a registry host), not field names."""


def _unknown_fields(doc: object, known: set[str], path: str = "") -> list[str]:
    """Paths of the keys in ``doc`` that are not field names SOCI knows (map tables' own keys skipped)."""
    if isinstance(doc, list):
        return [u for item in doc for u in _unknown_fields(item, known, path)]
    if not isinstance(doc, dict):
        return []
    out = []
    for key, value in doc.items():
        here = f"{path}.{key}" if path else key
        if key not in known:
            out.append(here)
        if key in MAP_KEYS and isinstance(value, dict):
            for sub, inner in value.items():
                out += _unknown_fields(inner, known, f"{here}.{sub}")
        else:
            out += _unknown_fields(value, known, here)
    return out


# -- lazy pull, credentials from the rendered docker config ---------------------------------------------
@pytest.mark.parametrize("name", ["c17-lazy-ecr-ami", "c22-lazy-ecr-release"])
def test_lazy_pull_with_docker_config_credential_helper(name: str, published: Published, tmp_path: Path) -> None:
    pub, image = published, published.image
    with lazy_node(tmp_path, pub, name) as ln:
        assert ("io.containerd.snapshotter.v1", "soci", "ok") in ln.ctd.plugin_rows()
        before = pub.log_offset()
        rc, out = ln.pull(pub.ref)  # kubelet -> containerd CRI, with the credential provider's auth
        assert rc == 0, out
        fetched_by_pull = pub.bytes_served(before)

        # registered, and every layer is a remote snapshot FUSE-mounted by soci
        assert pub.ref in ln.images()
        mounts = ln.fuse_mounts()
        assert len(mounts) == len(image.layers), mounts
        assert {(fstype, source) for _, fstype, source in mounts} == {("fuse.rawBridge", "soci")}
        assert len(ln.findmnt_soci()) == len(image.layers)
        assert len(ln.snapshots()) >= len(image.layers)
        assert not [e for e in ln.soci.log_entries() if "deferring to container runtime" in e.get("msg", "")]
        # soci used the rendered docker config: credHelpers -> docker-credential-ecr-login
        assert f"get {pub.registry.host}" in ln.helper_calls()
        assert fetched_by_pull < 0.05 * image.total_size, f"pull fetched {fetched_by_pull} of {image.total_size} bytes"

        # files read from the mounted snapshots have the image's exact bytes
        marker = image.file("app/marker.txt")
        assert (ln.layer_dir(marker.path) / marker.path).read_bytes() == marker.content()
        big = image.file("data/layer2.bin")
        with open(ln.layer_dir(big.path) / big.path, "rb") as f:
            f.seek(37 * MiB + 123)
            assert f.read(MiB) == big.range(37 * MiB + 123, MiB)
        assert (ln.layer_dir("etc/os-release") / "etc/os-release").read_bytes() == image.file("etc/os-release").content()
        after_reads = pub.bytes_served(before)
        whole = image.file("data/layer3.bin")
        assert sha256_of(ln.layer_dir(whole.path) / whole.path) == _sha(whole.content()), "a whole lazily-fetched file"
        assert pub.bytes_served(before) > after_reads, "reading the whole file fetched its spans"

        # ...and through the container's view (overlay of the FUSE layers)
        with ln.rootfs(image) as root:
            for path in ("app/marker.txt", "etc/os-release", "data/layer1.small", "data/layer3.small"):
                assert (root / path).read_bytes() == image.file(path).content(), path
            assert (root / "app/run").read_bytes() == image.file("app/run").content()
        assert not [e for e in ln.soci.log_problems() if e.get("level") in ("error", "fatal")], ln.soci.log_problems()


# -- CRI proxy: soci's image-service socket, credentials in the request ---------------------------------
@pytest.mark.parametrize("name", ["c17-lazy-cri-ami", "c22-lazy-cri-release"])
def test_cri_proxy_pull_through_soci_socket(name: str, published: Published, tmp_path: Path) -> None:
    """The pull goes to SOCI's socket (the kubelet's ``imageServiceEndpoint``) as a CRI v1 ``PullImage``
    carrying the credentials, as the kubelet sends it; SOCI caches them, forwards to containerd and uses
    them for the SOCI index and the lazy layer reads (there is no docker config on this node)."""
    pub, image = published, published.image
    with lazy_node(tmp_path, pub, name) as ln:
        assert not ln.node.path("/root/.docker/config.json").exists()
        rc, out = ln.pull(pub.ref, via_soci=True, api="v1")
        assert rc == 0, out
        assert pub.ref in ln.images()
        rc, listed = ln.cri("list", via_soci=True, api="v1")
        assert rc == 0 and any(pub.ref in i["repo_tags"] for i in listed["images"])
        assert len(ln.fuse_mounts()) == len(image.layers), ln.soci.log_problems()
        with ln.rootfs(image) as root:
            assert (root / "app/marker.txt").read_bytes() == image.file("app/marker.txt").content()
            assert sha256_of(root / "data/layer3.bin") == _sha(image.file("data/layer3.bin").content())
        # the pull without credentials is refused by the registry, not silently served
        rc, out = ln.cri("pull", pub.plain_ref, via_soci=True, api="v1")
        assert rc == 1, out


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()

