"""render/bottlerocket.py: the Bottlerocket settings document."""

from __future__ import annotations

import tomllib
from dataclasses import replace

from soci_component import pipeline
from soci_component.render import render
from soci_component.spec import (
    AmiPin,
    Decompressor,
    NodeGroupSpec,
    OperatingSystem,
    ParallelTuning,
    PullMode,
    SociTuning,
    Taint,
    TaintEffect,
)
from tests.support.scenarios import CLUSTER, SECRETS


def planned(spec: NodeGroupSpec):  # type: ignore[no-untyped-def]
    return pipeline.plan_node(spec)



def test_bottlerocket_two_taints_one_key() -> None:
    spec = NodeGroupSpec(name="br", kubernetes_version="1.33", ami=AmiPin(release="1.57.0"), instance_types=("m7g.xlarge",), os=OperatingSystem.BOTTLEROCKET,
                         pull_mode=PullMode.PARALLEL, taints=(Taint("gpu", TaintEffect.NO_SCHEDULE, "a"), Taint("gpu", TaintEffect.NO_EXECUTE)))
    settings = tomllib.loads(render(planned(spec), CLUSTER, SECRETS).user_data.decode())["settings"]
    assert settings["kubernetes"]["node-taints"] == {"gpu": ["a:NoSchedule", ":NoExecute"]}



TUNED = ParallelTuning(max_concurrent_downloads=7, max_concurrent_downloads_per_image=9, concurrent_download_chunk_size="8mb",
                       max_concurrent_unpacks=3, max_concurrent_unpacks_per_image=5, discard_unpacked_layers=False,
                       decompressor=Decompressor("/usr/bin/pigz", ("-d",)))



def test_six_parallel_knobs_reach_bottlerocket() -> None:
    spec = NodeGroupSpec(name="br", kubernetes_version="1.33", ami=AmiPin(release="1.57.0"), instance_types=("m7g.xlarge",), os=OperatingSystem.BOTTLEROCKET,
                         pull_mode=PullMode.PARALLEL, tuning=SociTuning(parallel=replace(TUNED, decompressor=Decompressor())))
    ppu = tomllib.loads(render(planned(spec), CLUSTER, SECRETS).user_data.decode())["settings"]["container-runtime-plugins"]["soci-snapshotter"]["parallel-pull-unpack"]
    assert ppu == {"max-concurrent-downloads": 7, "max-concurrent-downloads-per-image": 9, "concurrent-download-chunk-size": "8mb",
                   "max-concurrent-unpacks": 3, "max-concurrent-unpacks-per-image": 5, "discard-unpacked-layers": False}

