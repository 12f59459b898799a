"""rules/warnings.py: the warnings a mode must print at preview and in ``render`` — each one the README promises (Credentials
table: cri-proxy "preview warns"; Configuration reference: scaling above 450, more than 30 node groups, GPU/Inferentia types on
'standard'; Pull modes: >= 600 MiB/s for parallel pull; RAID0 before v20251217 leaves SOCI on EBS), on groups and pools alike,
each naming the group or pool it is about — and no warning where none applies."""

from __future__ import annotations

from typing import Any

import pytest

from soci_component import pipeline
from soci_component.config import parse
from soci_component.offline import render_stack
from soci_component.rules import stack_warnings_for
from soci_component.spec import (
    AmiPin,
    CriProxy,
    Disk,
    EcrCredentialHelper,
    LocalStorage,
    NodeGroupSpec,
    NodePoolSpec,
    PullMode,
    Scaling,
    UpstreamRelease,
    Variant,
)


def make(pool: bool, **kw: Any) -> NodeGroupSpec | NodePoolSpec:
    kw.setdefault("ami", AmiPin(release="v20260714"))
    kw.setdefault("instance_types", ("m7i.xlarge",))
    return (NodePoolSpec if pool else NodeGroupSpec)(name="w", kubernetes_version="1.33", **kw)  # type: ignore[arg-type]


def warned(spec: NodeGroupSpec | NodePoolSpec) -> list[str]:
    return list(pipeline.plan_node(spec).warnings)


POOLS = [pytest.param(False, id="group"), pytest.param(True, id="pool")]


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("mode, warns", [(PullMode.LAZY, True), (PullMode.LAZY_WITH_PARALLEL_FALLBACK, True), (PullMode.PARALLEL, False)])
def test_cri_proxy_warns_in_the_lazy_modes_only(pool: bool, mode: PullMode, warns: bool) -> None:
    """soci#1084: CRI-proxy credentials never rotate and are lost when SOCI restarts; lazy loading fetches long after the pull."""
    spec = make(pool, pull_mode=mode, credentials=(CriProxy(),), soci_source=UpstreamRelease(), disk=Disk(200, 6000, 600))
    got = [w for w in warned(spec) if "never rotate" in w]
    assert bool(got) is warns
    if warns:
        assert "soci#1084" in got[0] and "'ecr-credential-helper'" in got[0]


@pytest.mark.parametrize("pool", POOLS)
def test_the_rotating_helper_warns_nowhere(pool: bool) -> None:
    assert warned(make(pool, credentials=(EcrCredentialHelper(),))) == []


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("throughput, storage, warns", [(599, LocalStorage.NONE, True), (600, LocalStorage.NONE, False), (250, LocalStorage.RAID0, False)])
def test_parallel_pull_warns_below_600_mibps_of_ebs(pool: bool, throughput: int, storage: LocalStorage, warns: bool) -> None:
    iops = max(3000, throughput * 4)
    spec = make(pool, pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),), disk=Disk(200, iops, throughput), local_storage=storage,
                instance_types=("m6id.xlarge",))
    got = [w for w in warned(spec) if ">= 600 MiB/s" in w]
    assert bool(got) is warns
    if warns:
        assert f"{throughput} MiB/s" in got[0]


@pytest.mark.parametrize("release, warns", [("v20251209", True), ("v20251217", False)])
def test_raid0_before_v20251217_leaves_soci_on_ebs(release: str, warns: bool) -> None:
    """amazon-eks-ami#2548 (v20251217) put SOCI's root on the instance-store RAID; before it only containerd moves there."""
    spec = make(False, ami=AmiPin(release=release), local_storage=LocalStorage.RAID0, instance_types=("m6id.xlarge",))
    assert any("SOCI stays on EBS" in w and "amazon-eks-ami#2548" in w for w in warned(spec)) is warns


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("itype, variant, needle", [("g5.xlarge", Variant.STANDARD, "set ami.variant: nvidia"), ("inf2.xlarge", Variant.STANDARD, "set ami.variant: neuron"),
                                                    ("dl1.24xlarge", Variant.STANDARD, "no driver in any EKS AMI variant"), ("g5.xlarge", Variant.NVIDIA, None),
                                                    ("m7i.xlarge", Variant.STANDARD, None)])
def test_accelerator_types_on_the_standard_variant_warn(pool: bool, itype: str, variant: Variant, needle: str | None) -> None:
    got = [w for w in warned(make(pool, instance_types=(itype,), ami=AmiPin(release="v20260714", variant=variant))) if itype in w]
    assert (needle is None and got == []) or (needle is not None and any(needle in w for w in got))


def test_max_size_above_eks_quota_warns() -> None:
    assert any("maxSize 451" in w for w in warned(make(False, scaling=Scaling(1, 451, 1))))
    assert not any("maxSize" in w for w in warned(make(False, scaling=Scaling(1, 450, 1))))


def test_more_than_30_node_groups_warn() -> None:
    assert stack_warnings_for(30) == [] and "31 node groups" in stack_warnings_for(31)[0]


@pytest.mark.parametrize("pool", POOLS)
def test_a_warning_names_its_group_or_pool(pool: bool) -> None:
    (w,) = warned(make(pool, credentials=(CriProxy(),)))
    assert w.startswith(f"{'node pool' if pool else 'node group'} w: "), w


def test_render_prints_the_same_warnings_as_the_plan() -> None:
    cfg = {"aws:region": "us-west-2", "soci-eks:cluster": {"name": "c", "kubernetesVersion": "1.33"},
           "soci-eks:nodeGroups": [{"name": "g", "ami": {"release": "v20260714"}, "instanceTypes": ["g5.xlarge"], "credentials": ["cri-proxy"]}]}
    (n,) = render_stack(parse(cfg))
    assert n.warnings == pipeline.plan_node(parse(cfg).node_groups[0]).warnings and len(n.warnings) == 2
