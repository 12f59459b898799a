"""render/soci.py: SOCI's config.toml (pull modes, knobs, mirrors as URLs, keychains)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from soci_component import pipeline
from soci_component.render.paths import SOCI_CONFIG
from soci_component.spec import (
    AmiPin,
    Decompressor,
    NodeGroupSpec,
    ParallelTuning,
    PullMode,
    SociTuning,
    UpstreamRelease,
)
from tests.unit.offline_cli import render_cli


def planned(spec: NodeGroupSpec):  # type: ignore[no-untyped-def]
    return pipeline.plan_node(spec)



TUNED = ParallelTuning(max_concurrent_downloads=7, max_concurrent_downloads_per_image=9, concurrent_download_chunk_size="8mb",
                       max_concurrent_unpacks=3, max_concurrent_unpacks_per_image=5, discard_unpacked_layers=False,
                       decompressor=Decompressor("/usr/bin/pigz", ("-d",)))



def test_six_parallel_knobs_reach_soci() -> None:
    spec = NodeGroupSpec(name="p", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",), pull_mode=PullMode.PARALLEL,
                         soci_source=UpstreamRelease(), tuning=SociTuning(parallel=TUNED))
    ppu = tomllib.loads(next(f.content for f in planned(spec).files if f.path == SOCI_CONFIG))["pull_modes"]["parallel_pull_unpack"]
    assert (ppu["max_concurrent_downloads"], ppu["max_concurrent_downloads_per_image"], ppu["concurrent_download_chunk_size"], ppu["max_concurrent_unpacks"],
            ppu["max_concurrent_unpacks_per_image"], ppu["discard_unpacked_layers"]) == (7, 9, "8mb", 3, 5, False)
    assert ppu["decompress_streams"]["gzip"] == {"path": "/usr/bin/pigz", "args": ["-d"]}



def test_mirrors_are_urls(tmp_path: Path) -> None:
    """SOCI parses a mirror's host with url.Parse and uses its host part: a bare host name is an empty host (service/resolver/registry.go)."""
    r = render_cli(tmp_path, "name: m\nami: {release: v20260714}\ninstanceTypes: [m7i.xlarge]\n"
                         "tuning: {mirrors: [{host: docker.io, mirrors: [mirror.example.com, 'mirror2.example.com:5000']}, {host: quay.io, mirrors: [m.local], insecure: true}]}")
    assert r.returncode == 0, r.stderr
    cfg = tomllib.loads((tmp_path / "out/m/files/etc/soci-snapshotter-grpc/config.toml").read_text())
    hosts = cfg["resolver"]["host"]
    assert [m["host"] for m in hosts["docker.io"]["mirrors"]] == ["https://mirror.example.com", "https://mirror2.example.com:5000"]
    assert hosts["quay.io"]["mirrors"] == [{"host": "http://m.local", "insecure": True}]



def test_the_containerd_content_store_gets_containerds_socket() -> None:
    """SOCI's content_store type 'containerd' reads containerd's content store through containerd_address; the 'soci' store needs none."""
    from soci_component.spec import AmiPin, ContentStore, NodeGroupSpec, UpstreamRelease

    for store, address in ((ContentStore.CONTAINERD, "/run/containerd/containerd.sock"), (ContentStore.SOCI, None)):
        spec = NodeGroupSpec(name="g", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",),
                             soci_source=UpstreamRelease(), tuning=SociTuning(content_store=store))
        cfg = tomllib.loads(next(f.content for f in pipeline.plan_node(spec).files if f.path == SOCI_CONFIG))
        assert cfg["content_store"].get("containerd_address") == address and cfg["content_store"]["type"] == store.value
