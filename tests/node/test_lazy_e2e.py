"""Lazy loading end to end: the node's daemons with the rendered configs, a private registry, the CRI.

Real soci-snapshotter 0.4.1 and containerd (1.7.24 for the containerd-1.7 profile, 2.1.9 for the
2.2 profile: the newest Debian has) run with the renderer's ``/etc/soci-snapshotter-grpc/config.toml``
and ``/etc/containerd/config.toml`` (paths moved under the test's node by ``tests/daemons.py``).
The image (4 layers, ~230 MB of random data) and its SOCI index are in a TLS registry with htpasswd
auth; the pull goes through the CRI as the kubelet sends it. See ``node/lazy.py`` for the soci 0.4.1
behaviours the set-up works around.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from daemons import daemon

from node.images import MiB
from node.lazy import Published, lazy_node, leaf_keys, sha256_of, soci_041_config_keys
from soci_component.render.paths import SOCI_CONFIG as SOCI_CONFIG_PATH
from tests.support.scenarios import SCENARIOS

# -- which rendered keys soci 0.4.1 reads ----------------------------------------------------------------
IGNORED_BY_041 = ("pull_modes.", "content_store.containerd_address")
"""[pull_modes] came in 0.10; 0.4.1's containerd content store always dials /run/containerd/containerd.sock."""


@pytest.mark.parametrize("name", ["c17-lazy-cri-ami", "c22-lazy-kube-release", "c22-fallback-ecr-release", "c22-parallel-static-release", "c22-lazy-custom-root-mirrors"])
def test_which_rendered_soci_keys_041_honours(name: str) -> None:
    """A rendered key is honoured when 0.4.1's config structs have a field of that name (``toml:"..."``
    tags in the binary); unknown keys are ignored (it starts with them: test_boot_script)."""
    known = soci_041_config_keys(daemon("soci").bin("soci-snapshotter-grpc"))
    rendered = tomllib.loads(SCENARIOS[name].render().file(SOCI_CONFIG_PATH).content)
    keys = leaf_keys(rendered)
    ignored = sorted(k for k in keys if k.rsplit(".", 1)[-1] not in known)
    honoured = sorted(set(keys) - set(ignored))
    assert all(k.startswith(IGNORED_BY_041) for k in ignored), f"honoured {honoured}, ignored {ignored}"
    assert all(not k.startswith(IGNORED_BY_041) for k in honoured), f"honoured {honoured}, ignored {ignored}"
    assert "snapshotter.min_layer_size" in honoured and "content_store.type" in honoured
    assert any(k.startswith("pull_modes.") for k in ignored)


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
def test_cri_proxy_pull_through_soci_socket(published: Published, tmp_path: Path) -> None:
    """containerd 1.7 profile. The pull goes to SOCI's socket (the kubelet's imageServiceEndpoint)
    with the credentials in the request; soci caches them and forwards to containerd.

    soci 0.4.1: its proxy serves only ``runtime.v1alpha2``, and it fetches the SOCI index with
    docker-config credentials only, so with CRI credentials alone it does not find the index and the
    image is pulled normally by containerd (no FUSE) — correct bytes, not lazy. SOCI >= 0.5.0 uses the
    CRI credentials for the index too (upstream 666ef046)."""
    pub, image = published, published.image
    with lazy_node(tmp_path, pub, "c17-lazy-cri-ami") as ln:
        rc, out = ln.pull(pub.ref, via_soci=True, api="v1")
        assert rc == 1 and out["error"] == "UNIMPLEMENTED" and "runtime.v1.ImageService" in out["message"]
        rc, out = ln.pull(pub.ref, via_soci=True, api="v1alpha2")
        assert rc == 0, out
        assert pub.ref in ln.images()
        rc, listed = ln.cri("list", via_soci=True, api="v1alpha2")
        assert rc == 0 and any(pub.ref in i["repo_tags"] for i in listed["images"])
        problems = " ".join(str(e.get("error", "")) for e in ln.soci.log_problems())
        assert "unable to fetch SOCI artifacts" in problems or "cannot fetch list of referrers" in problems
        assert "basic credential not found" in problems
        assert ln.fuse_mounts() == []
        with ln.rootfs(image) as root:
            assert (root / "app/marker.txt").read_bytes() == image.file("app/marker.txt").content()
            assert sha256_of(root / "data/layer3.bin") == _sha(image.file("data/layer3.bin").content())


def test_cri_proxy_of_soci_041_cannot_front_containerd_2(published: Published, tmp_path: Path) -> None:
    """containerd 2.x removed CRI v1alpha2, the only version soci 0.4.1's proxy speaks: the pull fails
    loudly (nothing half-pulled). Current SOCI speaks v1."""
    with lazy_node(tmp_path, published, "c22-lazy-cri-ami") as ln:
        rc, out = ln.pull(published.ref, via_soci=True, api="v1alpha2")
        assert rc == 1 and "runtime.v1alpha2.ImageService" in out["message"], out
        assert published.ref not in ln.images()
        assert ln.fuse_mounts() == []


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()

