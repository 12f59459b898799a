"""Boundaries and inputs the golden scenarios never reach: each test fails when its rule is moved by one step."""

from __future__ import annotations

import gzip
import os
import tomllib
from dataclasses import replace

import pytest

from soci_component import pipeline
from soci_component.config import NODE_GROUP_KEYS, parse
from soci_component.errors import SpecError
from soci_component.render import mime, render
from soci_component.render.paths import CONTAINERD_DROPIN, DOCKER_CONFIG, KUBELET_PAUSE_DROPIN, SOCI_CONFIG, SOCI_SERVICE
from soci_component.render.types import ClusterInfo
from soci_component.spec import (
    AmiPin,
    CriProxy,
    Decompressor,
    EcrCredentialHelper,
    NodeGroupSpec,
    OperatingSystem,
    ParallelTuning,
    PullMode,
    SociTuning,
    Taint,
    TaintEffect,
    UpstreamRelease,
)
from tests.support.scenarios import CLUSTER, SECRETS


def raw_ami(containerd: str, **kw: object) -> NodeGroupSpec:
    return NodeGroupSpec(name="raw", kubernetes_version="1.33", ami=AmiPin(ami_id="ami-0123456789abcdef0", containerd_version=containerd),
                         instance_types=("m7i.xlarge",), soci_source=UpstreamRelease(), **kw)  # type: ignore[arg-type]


def planned(spec: NodeGroupSpec):  # type: ignore[no-untyped-def]
    return pipeline.plan_node(spec)


@pytest.mark.parametrize("containerd, imported", [("2.2.2", False), ("2.2.3", True), ("2.2.4", True), ("2.3.0", True), ("1.7.29", False)])
def test_pause_import_boundary(containerd: str, imported: bool) -> None:
    """From containerd 2.2.3 the pause unpack goes through SOCI: without the import a raw AMI's node never becomes Ready."""
    paths = [f.path for f in planned(raw_ami(containerd)).files]
    assert (KUBELET_PAUSE_DROPIN in paths) is imported


@pytest.mark.parametrize("containerd, schema", [("1.7.16", 2), ("1.7.99", 2), ("2.0.0", 3), ("2.0.5", 3), ("2.1.0", 3)])
def test_schema_boundary(containerd: str, schema: int) -> None:
    p = planned(raw_ami(containerd))
    assert p.profile.schema_version == schema
    fragment = p.node_spec["containerd"]["config"]  # type: ignore[index]
    assert ("io.containerd.cri.v1.images" in fragment) is (schema == 3)
    assert ("io.containerd.grpc.v1.cri" in fragment) is (schema == 2)


def test_user_data_limit_boundaries() -> None:
    exactly = b"a" * mime.USER_DATA_LIMIT
    assert mime.fit(exactly) == exactly  # 16384 bytes: as is
    over = b"a" * (mime.USER_DATA_LIMIT + 1)
    packed = mime.fit(over)
    assert packed != over and gzip.decompress(packed) == over  # 16385: gzipped
    noise = os.urandom(mime.USER_DATA_LIMIT + 1)  # incompressible: gzip makes it larger
    with pytest.raises(mime.UserDataTooLarge):
        mime.fit(noise)


def test_bottlerocket_two_taints_one_key() -> None:
    spec = NodeGroupSpec(name="br", kubernetes_version="1.33", ami=AmiPin(release="1.57.0"), instance_types=("m7g.xlarge",), os=OperatingSystem.BOTTLEROCKET,
                         pull_mode=PullMode.PARALLEL, taints=(Taint("gpu", TaintEffect.NO_SCHEDULE, "a"), Taint("gpu", TaintEffect.NO_EXECUTE)))
    settings = tomllib.loads(render(planned(spec), CLUSTER, SECRETS).user_data.decode())["settings"]
    assert settings["kubernetes"]["node-taints"] == {"gpu": ["a:NoSchedule", ":NoExecute"]}


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


def test_six_parallel_knobs_reach_bottlerocket() -> None:
    spec = NodeGroupSpec(name="br", kubernetes_version="1.33", ami=AmiPin(release="1.57.0"), instance_types=("m7g.xlarge",), os=OperatingSystem.BOTTLEROCKET,
                         pull_mode=PullMode.PARALLEL, tuning=SociTuning(parallel=replace(TUNED, decompressor=Decompressor())))
    ppu = tomllib.loads(render(planned(spec), CLUSTER, SECRETS).user_data.decode())["settings"]["container-runtime-plugins"]["soci-snapshotter"]["parallel-pull-unpack"]
    assert ppu == {"max-concurrent-downloads": 7, "max-concurrent-downloads-per-image": 9, "concurrent-download-chunk-size": "8mb",
                   "max-concurrent-unpacks": 3, "max-concurrent-unpacks-per-image": 5, "discard-unpacked-layers": False}


def test_china_partition_keeps_explicit_hosts() -> None:
    spec = NodeGroupSpec(name="cn", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",),
                         credentials=(EcrCredentialHelper(("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "{account}.dkr.ecr.{region}.amazonaws.com")),))
    china = replace(CLUSTER, region="cn-north-1", partition="aws-cn", account_id="444455556666")
    import json

    docker = json.loads(render(planned(spec), china, SECRETS).file(DOCKER_CONFIG).content)
    assert docker == {"credHelpers": {"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn": "ecr-login", "444455556666.dkr.ecr.cn-north-1.amazonaws.com.cn": "ecr-login"}}


NESTED = {
    "ami": {"release": "v20260714"}, "tuning": {}, "tuning.parallel": {}, "tuning.mirrors[0]": {"host": "docker.io", "mirrors": ["m.example.com"]},
    "sociSource": {"type": "release"}, "sociSource.sha256": {}, "credentials[0]": {"type": "cri-proxy"}, "taints[0]": {"key": "a", "effect": "NoSchedule"},
    "disk": {}, "scaling": {}, "tuning.parallel.decompressor": {"path": "/usr/bin/pigz"},
}


@pytest.mark.parametrize("where", sorted(NESTED))
def test_unknown_key_in_every_nested_mapping(where: str) -> None:
    group: dict = {"name": "a", "ami": {"release": "v20260714"}, "instanceTypes": ["m7i.xlarge"], "pullMode": "lazy-with-parallel-fallback", "sociSource": {"type": "release"}}
    # build the nested path and put an unknown key into it
    node = group
    parts = where.replace("]", "").replace("[", ".").split(".")
    for i, part in enumerate(parts):
        if part.isdigit():
            continue
        is_list = i + 1 < len(parts) and parts[i + 1].isdigit()
        if is_list:
            node.setdefault(part, [dict(NESTED[where])])
            node = node[part][0]
        else:
            existing = node.get(part)
            node[part] = dict(existing) if isinstance(existing, dict) else dict(NESTED.get(".".join(parts[: i + 1]), {}))
            node = node[part]
    node["bogusKey"] = 1
    cfg = {"aws:region": "us-west-2", "soci-eks:cluster": {"name": "c", "kubernetesVersion": "1.33"}, "soci-eks:nodeGroups": [group]}
    with pytest.raises(SpecError) as e:
        parse(cfg)
    assert e.value.path == f"nodeGroups[0].{where}.bogusKey" and "unknown key" in e.value.message


def test_every_node_group_key_is_documented_in_the_readme() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [k for k in NODE_GROUP_KEYS if f"`{k}" not in readme]
    assert missing == []


def test_log_line_quotes_the_node_group_name() -> None:
    spec = NodeGroupSpec(name="a-b", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",))
    script = render(planned(spec), CLUSTER, SECRETS).script
    assert "log 'node group a-b: SOCI lazy, from AMI package, containerd 2.2.4'" in script


def _units(p) -> dict[str, dict[str, list[str]]]:  # type: ignore[no-untyped-def]
    """path -> section -> key=value lines (a tiny INI reader for the assertions)."""
    out: dict[str, dict[str, list[str]]] = {}
    for f in p.files:
        if not f.path.startswith("/etc/systemd/"):
            continue
        section = ""
        out[f.path] = {}
        for line in f.content.splitlines():
            if line.startswith("["):
                section = line.strip("[]")
                out[f.path].setdefault(section, [])
            elif "=" in line:
                out[f.path][section].append(line)
    return out


def test_boot_order_soci_before_containerd_before_kubelet() -> None:
    """Semantics, not bytes: the SOCI service starts before containerd, containerd requires it, the pause import runs before the kubelet."""
    spec = NodeGroupSpec(name="o", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",), soci_source=UpstreamRelease())
    units = _units(planned(spec))
    assert "Before=containerd.service" in units[SOCI_SERVICE]["Unit"]
    assert {"Requires=soci-snapshotter.service", "After=soci-snapshotter.service"} <= set(units[CONTAINERD_DROPIN]["Unit"])
    pause = units[KUBELET_PAUSE_DROPIN]["Service"]
    assert len(pause) == 1 and pause[0].startswith("ExecStartPre=") and "--snapshotter soci" in pause[0]


def test_gate_releases_need_cri_proxy_but_release_sources_do_not() -> None:
    gate = NodeGroupSpec(name="g", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",), pull_mode=PullMode.PARALLEL,
                         credentials=(EcrCredentialHelper(),))
    with pytest.raises(SpecError, match="add 'cri-proxy'"):
        planned(gate)
    planned(replace(gate, soci_source=UpstreamRelease()))
    planned(replace(gate, credentials=(CriProxy(),)))


def test_cluster_values_are_refused_when_malformed() -> None:
    spec = NodeGroupSpec(name="c", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",))
    for bad in (replace(CLUSTER, endpoint="https://x\n"), replace(CLUSTER, account_id="1234"), replace(CLUSTER, certificate_authority="a'b")):
        with pytest.raises(SpecError, match="refusing to put it into user data"):
            render(planned(spec), bad, SECRETS)
    assert isinstance(CLUSTER, ClusterInfo)
