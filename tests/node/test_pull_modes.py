"""Every pull mode with SOCI 0.15.0 and containerd 2.2.4 / 1.7.27 (built from their Go modules), each
configured exactly as the renderer writes it, against the private TLS registry of ``node/lazy.py``:

- ``lazy`` with a v1 index: read only when ``tuning.v1Indexes`` renders ``[pull_modes.soci_v1]``;
- ``parallel``: the image lands in SOCI's snapshotter, unpacked by SOCI, with no FUSE mount;
- ``lazy-with-parallel-fallback``: an indexed image loads lazily and an unindexed one in parallel, on one node;
- registry mirrors: the mirror serves the layer bytes, the upstream registry none of them.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from soci_component import pipeline
from soci_component.render import render
from soci_component.spec import RegistryMirror, SociTuning
from tests.node.lazy import HOST, Published, lazy_node, sha256_of
from tests.support.daemons import Registry, make_tls
from tests.support.scenarios import CLUSTER, SCENARIOS, SECRETS

MIRROR = "niab-mirror.test"


def _render(scenario: str, **tuning: object):
    spec = SCENARIOS[scenario].spec
    spec = dataclasses.replace(spec, tuning=dataclasses.replace(spec.tuning or SociTuning(), **tuning))
    return render(pipeline.plan_node(spec), CLUSTER, SECRETS)


def _layer_gets(pub_log_lines: list[tuple[str, str, int, int]], digests: set[str]) -> list[str]:
    return [path for method, path, status, _ in pub_log_lines if method == "GET" and status in (200, 206) and path.rsplit("/", 1)[-1] in digests]


def _parallel_unpacks(ln) -> list[str]:
    return [e.get("layerDigest", "") for e in ln.soci.log_entries() if e.get("msg") == "preparing snapshot with parallel pull/unpack"]


# -- lazy: v2 index by default, v1 only when asked ------------------------------------------------------
@pytest.mark.parametrize("v1", [True, False], ids=["v1Indexes-true", "v1Indexes-default"])
def test_v1_index_is_read_only_with_v1indexes(v1: bool, published: Published, tmp_path: Path) -> None:
    pub, image = published, published.image
    rendered = _render("c22-lazy-ecr-release", v1_indexes=True) if v1 else SCENARIOS["c22-lazy-ecr-release"].render()
    assert ("[pull_modes.soci_v1]" in rendered.file("/etc/soci-snapshotter-grpc/config.toml").content) is v1
    with lazy_node(tmp_path, pub, "c22-lazy-ecr-release", rendered=rendered) as ln:
        rc, out = ln.pull(pub.v1_ref)
        assert rc == 0, out
        assert pub.v1_ref in ln.images()
        if v1:
            assert len(ln.fuse_mounts()) == len(image.layers), ln.soci.log_problems()
            marker = image.file("app/marker.txt")
            assert (ln.layer_dir(marker.path) / marker.path).read_bytes() == marker.content()
        else:
            # SOCI >= 0.10 does not look for v1 indexes by default: a normal pull, no FUSE mount
            assert ln.fuse_mounts() == []
        with ln.rootfs(image) as root:
            assert (root / "app/marker.txt").read_bytes() == image.file("app/marker.txt").content()


# -- parallel ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["c22-parallel-ecr-release", "c17-parallel-ecr-release"])
def test_parallel_pull_unpacks_into_soci_without_fuse(name: str, published: Published, tmp_path: Path) -> None:
    pub, image = published, published.image
    with lazy_node(tmp_path, pub, name) as ln:
        before = pub.log_offset()
        rc, out = ln.pull(pub.unindexed_ref)
        assert rc == 0, out
        assert pub.unindexed_ref in ln.images()
        assert ln.fuse_mounts() == [] and ln.findmnt_soci() == []
        # every layer went through SOCI's parallel pull/unpack path, once
        assert sorted(_parallel_unpacks(ln)) == sorted(layer.digest for layer in image.layers), ln.soci.log_entries()[-5:]
        assert len(ln.snapshots()) >= len(image.layers)
        # the whole image was downloaded (in chunks: range requests), not lazily
        assert pub.bytes_served(before) >= image.total_size
        with ln.rootfs(image) as root:
            whole = image.file("data/layer3.bin")
            assert sha256_of(root / whole.path) == sha256_of_bytes(whole.content())
            assert (root / "app/marker.txt").read_bytes() == image.file("app/marker.txt").content()


def sha256_of_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


# -- lazy with parallel fallback -------------------------------------------------------------------------
def test_fallback_loads_indexed_lazily_and_unindexed_in_parallel(published: Published, tmp_path: Path) -> None:
    pub, image = published, published.image
    with lazy_node(tmp_path, pub, "c22-fallback-ecr-release") as ln:
        rc, out = ln.pull(pub.ref)
        assert rc == 0, out
        assert len(ln.fuse_mounts()) == len(image.layers), ln.soci.log_problems()
        assert _parallel_unpacks(ln) == []
        rc, out = ln.pull(pub.plain_ref)
        assert rc == 0, out
        assert pub.plain_ref in ln.images()
        assert len(ln.fuse_mounts()) == len(image.layers), "the unindexed image must not be FUSE-mounted"
        assert [d for d in _parallel_unpacks(ln)] == [layer.digest for layer in pub.plain.layers]


# -- registry mirrors ------------------------------------------------------------------------------------
def test_mirror_serves_the_lazy_layers(published: Published, tmp_path: Path) -> None:
    pub, image = published, published.image
    tls = make_tls(tmp_path / "mirror-tls", names=[MIRROR])
    bundle = tmp_path / "ca-bundle.pem"
    bundle.write_text(pub.tls.ca.read_text() + tls.ca.read_text())
    shutil.copytree(pub.registry.workdir / "storage", tmp_path / "mirror" / "storage")
    with Registry(tmp_path / "mirror", hostname=MIRROR, tls=tls) as mirror:  # a pull-through cache, no auth
        rendered = _render("c22-lazy-ecr-release", mirrors=(RegistryMirror(pub.registry.host, (mirror.host,)),))
        soci_toml = rendered.file("/etc/soci-snapshotter-grpc/config.toml").content
        assert f'host = "https://{mirror.host}"' in soci_toml, soci_toml
        with lazy_node(tmp_path / "n", pub, "c22-lazy-ecr-release", rendered=rendered, hosts={MIRROR: "127.0.0.1"}, ca_file=bundle) as ln:
            before = pub.log_offset()
            rc, out = ln.pull(pub.ref)
            assert rc == 0, out
            assert len(ln.fuse_mounts()) == len(image.layers), ln.soci.log_problems()
            big = image.file("data/layer3.bin")
            assert sha256_of(ln.layer_dir(big.path) / big.path) == sha256_of_bytes(big.content())
            digests = {layer.digest for layer in image.layers}
            upstream = _layer_gets(pub.served(before), digests)
            assert upstream == [], f"the upstream registry served layer bytes: {upstream[:5]}"
            served = _mirror_served(mirror)
            assert _layer_gets(served, digests), f"the mirror served no layer bytes: {served[:10]}"


def _mirror_served(reg: Registry) -> list[tuple[str, str, int, int]]:
    assert reg.process is not None
    out = []
    for line in reg.process.log_text().splitlines():
        m = re.search(r'"(GET|HEAD) (\S+) HTTP/[\d.]+" (\d{3}) (\d+|-)', line)
        if m:
            out.append((m.group(1), m.group(2), int(m.group(3)), int(m.group(4)) if m.group(4) != "-" else 0))
    return out


__all__ = ["HOST"]
