"""rules/node.py: every rule relating a node group's or pool's settings to each other and to its pinned AMI (Bottlerocket, the gate, storage)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from soci_component import rules
from soci_component.errors import SpecError
from soci_component.spec import (
    AmiPin,
    ContentStore,
    CriProxy,
    EcrCredentialHelper,
    LocalStorage,
    NodeGroupSpec,
    NodePoolSpec,
    OperatingSystem,
    PullMode,
    RegistryMirror,
    SociTuning,
    UpstreamRelease,
)
from tests.unit.specs import planned

BR = OperatingSystem.BOTTLEROCKET


def bottlerocket(**kw: Any) -> NodeGroupSpec:
    args: dict[str, Any] = {"os": BR, "pull_mode": PullMode.PARALLEL, "credentials": (CriProxy(),)} | kw
    return NodeGroupSpec(name="br", kubernetes_version="1.33", ami=AmiPin(release="1.57.0"), instance_types=("m7g.xlarge",), **args)


def refusal(spec: NodeGroupSpec | NodePoolSpec) -> SpecError:
    with pytest.raises(SpecError) as e:
        rules.check_node_group(spec, rules.profile(spec), "nodeGroups[0]")
    return e.value


def test_bottlerocket_accepts_parallel() -> None:
    spec = bottlerocket()
    rules.check_node_group(spec, rules.profile(spec))


@pytest.mark.parametrize("mode", [PullMode.LAZY, PullMode.LAZY_WITH_PARALLEL_FALLBACK])
def test_bottlerocket_refuses_the_lazy_modes_as_a_pull_mode_error(mode: PullMode) -> None:
    """Mutant bottlerocket-fallback-allowed: Bottlerocket's SOCI runs parallel-pull-unpack only (bottlerocket#4785);
    'lazy-with-parallel-fallback' would silently run as parallel. The refusal names pullMode, not a later rule."""
    e = refusal(bottlerocket(pull_mode=mode))
    assert e.path == "nodeGroups[0].pullMode"
    assert f"'{mode.value}' is not available on Bottlerocket" in e.message


@pytest.mark.parametrize("tuning", [
    pytest.param(SociTuning(mirrors=(RegistryMirror("docker.io", ("mirror.example.com",)),)), id="mirrors"),
    pytest.param(SociTuning(root="/data/soci"), id="root"),
    pytest.param(SociTuning(content_store=ContentStore.CONTAINERD), id="contentStore"),
])
def test_bottlerocket_refuses_each_setting_it_has_no_knob_for(tuning: SociTuning) -> None:
    """Mutant bottlerocket-mirrors-allowed: mirrors (and root, contentStore) would be silently dropped on Bottlerocket."""
    e = refusal(bottlerocket(tuning=tuning))
    assert e.path == "nodeGroups[0].tuning"
    assert "'root', 'mirrors' and 'contentStore' cannot be set there" in e.message


@pytest.mark.parametrize("release, ok", [("1.44.0", False), ("1.45.0", False), ("1.46.0", True), ("1.57.0", True)])
def test_karpenter_bottlerocket_raid0_needs_1_46_0(release: str, ok: bool) -> None:
    """Mutant pool-raid0-bottlerocket-1.45: Karpenter's instance-storage bind before Bottlerocket 1.46.0 is its legacy
    list, which misses SOCI's directory (karpenter-provider-aws#8393)."""
    spec = NodePoolSpec(name="p", kubernetes_version="1.33", ami=AmiPin(release=release), os=BR, pull_mode=PullMode.PARALLEL,
                        credentials=(CriProxy(),), local_storage=LocalStorage.RAID0)
    if ok:
        rules.check_node_group(spec, rules.profile(spec))
        return
    e = refusal(spec)
    assert e.path == "nodeGroups[0].localStorage" and "pin 1.46.0 or later" in e.message and "karpenter-provider-aws#8393" in e.message


def test_bottlerocket_raid0_on_a_managed_group_has_no_release_floor() -> None:
    """The 1.46.0 floor is Karpenter's legacy bind list; a managed node group uses our own bootstrap command."""
    spec = NodeGroupSpec(name="br", kubernetes_version="1.33", ami=AmiPin(release="1.45.0"), instance_types=("m6gd.xlarge",), os=BR,
                         pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),), local_storage=LocalStorage.RAID0)
    rules.check_node_group(spec, rules.profile(spec))


def test_gate_releases_need_cri_proxy_but_release_sources_do_not() -> None:
    gate = NodeGroupSpec(name="g", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",), pull_mode=PullMode.PARALLEL,
                         credentials=(EcrCredentialHelper(),))
    with pytest.raises(SpecError, match="add 'cri-proxy'"):
        planned(gate)
    planned(replace(gate, soci_source=UpstreamRelease()))
    planned(replace(gate, credentials=(CriProxy(),)))


@pytest.mark.parametrize("types, arch", [(("m7i.xlarge",), "amd64"), (("m7g.xlarge",), "arm64")])
def test_a_plain_http_mirror_needs_the_pin_of_the_groups_own_architecture(types: tuple[str, ...], arch: str) -> None:
    """The tarball is soci-snapshotter-<v>-linux-<amd64|arm64>.tar.gz (SOCI's release assets): the pin that verifies it is that arch's."""
    from soci_component.spec import NodeGroupSpec, UpstreamRelease

    other = "arm64" if arch == "amd64" else "amd64"
    base = {"name": "g", "kubernetes_version": "1.33", "ami": AmiPin(release="v20260714"), "instance_types": types}
    with pytest.raises(SpecError) as e:
        planned(NodeGroupSpec(**base, soci_source=UpstreamRelease(url_base="http://m.example.com/soci", sha256={other: "a" * 64})))
    assert e.value.path == "sociSource.sha256" and f"pin sha256.{arch}" in e.value.message
    planned(NodeGroupSpec(**base, soci_source=UpstreamRelease(url_base="http://m.example.com/soci", sha256={arch: "a" * 64})))
    assert UpstreamRelease(version="0.15.0").tarball(rules.profile(NodeGroupSpec(**base)).arch) == f"soci-snapshotter-0.15.0-linux-{arch}.tar.gz"
