"""Faults on a lazily-loading node, and what is (not) lost: wrong password, registry gone after the
pull, soci-snapshotter restarted, an image without a SOCI index. Real daemons, rendered configs
(see test_lazy_e2e.py and node/lazy.py)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from tests.node.images import MiB
from tests.node.lazy import Published, lazy_node, read_with_timeout, sha256_of

ECR_17 = "c17-lazy-ecr-ami"
ECR_22 = "c22-lazy-ecr-release"


def test_wrong_password_is_a_clear_error_and_registers_nothing(published: Published, tmp_path: Path) -> None:
    pub = published
    with lazy_node(tmp_path, pub, ECR_22) as ln:
        rc, out = ln.pull(pub.ref, password="not-the-password")
        assert rc == 1, out
        assert "401 Unauthorized" in out["message"] and pub.ref in out["message"], out
        assert ln.images() == [], "no partial image registered"
        assert ln.snapshots() == [] and ln.fuse_mounts() == []
        # nothing left in the way of the next, correct pull
        rc, out = ln.pull(pub.ref)
        assert rc == 0, out
        assert len(ln.fuse_mounts()) == len(pub.image.layers)


def test_wrong_credentials_for_soci_fall_back_to_a_normal_pull(published: Published, tmp_path: Path) -> None:
    """The kubelet's credentials are right but SOCI's own (docker config helper) are wrong: SOCI
    cannot read the index, containerd pulls normally. Slower, nothing lost."""
    pub, image = published, published.image
    with lazy_node(tmp_path, pub, ECR_17, helper_password="stale-token") as ln:
        before = pub.log_offset()
        rc, out = ln.pull(pub.ref)
        assert rc == 0, out
        assert ln.fuse_mounts() == []
        assert any("unable to fetch SOCI artifacts" in e.get("error", "") for e in ln.soci.log_problems())
        assert pub.bytes_served(before) >= sum(layer.size for layer in image.layers), "every layer fetched in full"
        with ln.rootfs(image) as root:
            assert (root / "app/marker.txt").read_bytes() == image.file("app/marker.txt").content()


def test_registry_gone_after_the_pull(published: Published, tmp_path: Path) -> None:
    """Fetched data stays readable; unfetched data fails with EIO after soci's retries (no hang);
    when the registry is back, the same read succeeds."""
    pub, image = published, published.image
    marker, big = image.file("app/marker.txt"), image.file("data/layer1.bin")
    try:
        with lazy_node(tmp_path, pub, ECR_17) as ln:
            rc, out = ln.pull(pub.ref)
            assert rc == 0, out
            marker_path = ln.layer_dir(marker.path) / marker.path
            big_path = ln.layer_dir(big.path) / big.path
            assert marker_path.read_bytes() == marker.content()
            head, err, _ = read_with_timeout(big_path, 0, MiB)
            assert head == big.range(0, MiB), err

            pub.registry.stop()
            assert marker_path.read_bytes() == marker.content()
            again, err, took = read_with_timeout(big_path, 0, MiB, timeout=10)
            assert again == head and took < 5, (err, took)
            tail_at = big.size - 3 * MiB
            data, err, took = read_with_timeout(big_path, tail_at, MiB, timeout=90)
            assert data is None and err != "timeout", f"an unfetched read must fail, not hang ({err}, {took:.1f} s)"
            assert os.strerror(errno.EIO) in err, err
            problems = ln.soci.log_problems()
            # SOCI 0.15 logs the failed span fetch with the cause (the registry refused the connection)
            assert any("connect: connection refused" in (e.get("error") or "") for e in problems), [(e.get("msg"), e.get("error")) for e in problems][-8:]

            pub.restart_registry()
            data, err, _ = read_with_timeout(big_path, tail_at, MiB, timeout=60)
            assert data == big.range(tail_at, MiB), err
    finally:
        pub.restart_registry()


def test_soci_restart(published: Published, tmp_path: Path) -> None:
    """What survives a soci-snapshotter restart (docker-config credentials):
    - while soci is down its FUSE mounts stay but every read fails (ENOTCONN): running containers
      of lazily-loaded images cannot read unfetched files until soci is back;
    - containerd keeps the image and its snapshots; at start soci re-mounts every remote snapshot
      (fetching the index again with the docker-config credentials) and reads work again, fetched
      and unfetched alike; nothing needs re-pulling, and a re-pull is a no-op.
    With CRI-proxy credentials (in memory only) the re-mount would have no credentials."""
    pub, image = published, published.image
    marker, big = image.file("app/marker.txt"), image.file("data/layer2.bin")
    with lazy_node(tmp_path, pub, ECR_22) as ln:
        rc, out = ln.pull(pub.ref)
        assert rc == 0, out
        marker_path = ln.layer_dir(marker.path) / marker.path
        big_path = ln.layer_dir(big.path) / big.path
        assert marker_path.read_bytes() == marker.content()
        mounts = sorted(m[0] for m in ln.fuse_mounts())

        assert ln.soci.process is not None
        ln.soci.process.stop()  # the process only, as `systemctl restart` does; mounts are left
        data, err, _ = read_with_timeout(marker_path, 0, 100, timeout=20)
        assert data is None and os.strerror(errno.ENOTCONN) in err, err

        ln.soci.start()
        assert sorted(m[0] for m in ln.fuse_mounts()) == mounts, "remote snapshots re-mounted at start"
        assert marker_path.read_bytes() == marker.content()
        data, err, _ = read_with_timeout(big_path, 11 * MiB, MiB, timeout=60)
        assert data == big.range(11 * MiB, MiB), err
        assert pub.ref in ln.images()
        rc, out = ln.pull(pub.ref)
        assert rc == 0, out
        assert sorted(m[0] for m in ln.fuse_mounts()) == mounts


def test_image_without_an_index_pulls_normally(published: Published, tmp_path: Path) -> None:
    pub, plain = published, published.plain
    with lazy_node(tmp_path, pub, ECR_17) as ln:
        before = pub.log_offset()
        rc, out = ln.pull(pub.plain_ref)
        assert rc == 0, out
        assert pub.plain_ref in ln.images()
        assert ln.fuse_mounts() == [], "no index, no lazy loading"
        msgs = " ".join(f"{e.get('msg', '')} {e.get('error', '')}" for e in ln.soci.log_entries())
        assert "deferring to container runtime" in msgs
        assert pub.bytes_served(before) >= plain.layers[0].size
        with ln.rootfs(plain) as root:
            assert (root / "srv/hello.txt").read_bytes() == b"no index here\n"
            assert sha256_of(root / "srv/plain.bin") == sha256_of_bytes(plain.file("srv/plain.bin").content())


def sha256_of_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
