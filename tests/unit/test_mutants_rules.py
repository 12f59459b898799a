"""Rules the mutation run (scripts/mutation) showed no behavioural test for: each test here fails on the
mutant named in its docstring. Expectations are literals, never the module's constants; boundaries are
tested on both sides."""

from __future__ import annotations

from typing import Any

import pytest

from soci_component import pipeline, rules
from soci_component.errors import SpecError
from soci_component.instances import InstanceFacts
from soci_component.render import plan
from soci_component.render.karpenter import requirements
from soci_component.spec import (
    AmiPin,
    ContentStore,
    CriProxy,
    LocalStorage,
    NodeGroupSpec,
    NodePoolSpec,
    OperatingSystem,
    PullMode,
    RegistryMirror,
    SociTuning,
    UpstreamRelease,
)

BR = OperatingSystem.BOTTLEROCKET


def bottlerocket(**kw: Any) -> NodeGroupSpec:
    args: dict[str, Any] = {"os": BR, "pull_mode": PullMode.PARALLEL, "credentials": (CriProxy(),)} | kw
    return NodeGroupSpec(name="br", kubernetes_version="1.33", ami=AmiPin(release="1.57.0"), instance_types=("m7g.xlarge",), **args)


def refusal(spec: NodeGroupSpec | NodePoolSpec) -> SpecError:
    with pytest.raises(SpecError) as e:
        rules.check_node_group(spec, rules.profile(spec), "nodeGroups[0]")
    return e.value


# --------------------------------------------------------------------------------------------
# Bottlerocket


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


# --------------------------------------------------------------------------------------------
# Karpenter's requirements agree with nodeadm's size floor


def test_pool_floor_requirements_are_exactly_the_floor() -> None:
    """Mutants karpenter-cpu/memory-floor-off-by-one: v20260714's nodeadm turns SOCI on from 4 vCPU and 7 GiB online;
    EC2 memory must exceed 7 GiB by 3 %: ceil(7 * 1024 * 1.03) = 7384 MiB. Karpenter's Gt is exclusive."""
    spec = NodePoolSpec(name="p", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),))
    p = rules.profile(spec)
    reqs = requirements(spec, plan(spec, p))
    assert {"key": "karpenter.k8s.aws/instance-cpu", "operator": "Gt", "values": ["3"]} in reqs
    assert {"key": "karpenter.k8s.aws/instance-memory", "operator": "Gt", "values": ["7383"]} in reqs
    # the managed-node-group rule draws the same line: 7384 MiB is enough, 7383 MiB is not
    group = NodeGroupSpec(name="g", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("x1.test",),
                          pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),))
    gp = rules.profile(group)
    assert rules.check_instance_types(group, gp, {"x1.test": InstanceFacts(vcpus=4, memory_mib=7384, instance_store=False)}) == []
    with pytest.raises(SpecError, match="Too small: x1.test"):
        rules.check_instance_types(group, gp, {"x1.test": InstanceFacts(vcpus=4, memory_mib=7383, instance_store=False)})


# --------------------------------------------------------------------------------------------
# spec values


def group(**kw: Any) -> NodeGroupSpec:
    return NodeGroupSpec(name="g", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",), **kw)


def test_eks_label_key_63_accepted_64_refused() -> None:
    """Mutant eks-label-key-64: EKS's CreateNodegroup refuses label keys over 63 characters (the deploy would fail at `up`)."""
    k63 = "example.com/" + "a" * 51
    k64 = "example.com/" + "a" * 52
    assert (len(k63), len(k64)) == (63, 64)
    assert group(labels={k63: "x"}).labels == {k63: "x"}
    with pytest.raises(SpecError) as e:
        group(labels={k64: "x"})
    assert "64 characters" in e.value.message and "at most 63" in e.value.message
    # Karpenter pools have no such EKS limit
    NodePoolSpec(name="p", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), labels={k64: "x"})


@pytest.mark.parametrize("url", ["https://example.com/$(reboot)", "https://example.com/${HOME}", "https://example.com/a`id`", "https://example.com/a b",
                                 "https://example.com/a\\b", "https://example.com/'x'"])
def test_url_base_refuses_shell_characters_after_a_valid_start(url: str) -> None:
    """Mutant url-base-dollar-allowed: a valid start followed by a shell expansion."""
    with pytest.raises(SpecError) as e:
        UpstreamRelease(url_base=url)
    assert e.value.path == "UpstreamRelease.urlBase"


@pytest.mark.parametrize("digest, ok", [("a" * 64, True), ("a" * 63, False), ("a" * 32, False), ("a" * 65, False), ("A" * 64, False)])
def test_pinned_sha256_is_exactly_64_lowercase_hex(digest: str, ok: bool) -> None:
    """Mutant sha256-short-accepted: the boot script checks ^[0-9a-f]{64}$, so a shorter pin is a node that never boots."""
    if ok:
        assert UpstreamRelease(sha256={"amd64": digest}).sha256 == {"amd64": digest}
        return
    with pytest.raises(SpecError) as e:
        UpstreamRelease(sha256={"amd64": digest})
    assert e.value.path == "UpstreamRelease.sha256.amd64"


@pytest.mark.parametrize("mode, store", [(PullMode.LAZY, "soci"), (PullMode.LAZY_WITH_PARALLEL_FALLBACK, "soci"), (PullMode.PARALLEL, "containerd")])
def test_default_content_store_per_pull_mode(mode: PullMode, store: str) -> None:
    """Mutant content-store-default-fallback-containerd: lazy loading (also in fallback mode) needs SOCI's own content store;
    only 'parallel' defaults to containerd's, as nodeadm does."""
    spec = group(pull_mode=mode, soci_source=UpstreamRelease(), credentials=(CriProxy(),))
    assert spec.content_store.value == store
    import tomllib

    soci = next(f for f in pipeline.plan_node(spec).files if f.path == "/etc/soci-snapshotter-grpc/config.toml")
    assert tomllib.loads(soci.content)["content_store"]["type"] == store
