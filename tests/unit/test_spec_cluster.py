"""spec/cluster.py: the stack around the nodes (control plane, VPC, Karpenter, demo)."""

from __future__ import annotations

import pytest

from soci_component.errors import SpecError
from soci_component.spec import ClusterSpec, DemoSpec, KarpenterSpec, StackSpec, VpcSpec


@pytest.mark.parametrize("cidr, ok", [("172.20.0.0/16", True), ("10.100.0.0/12", False), ("10.96.0.0/12", True), ("10.0.0.0/24", True), ("10.0.0.0/25", False),
                                      ("8.8.0.0/16", False), ("fd00::/108", False)])
def test_service_cidr(cidr: str, ok: bool) -> None:
    if ok:
        ClusterSpec(name="c", kubernetes_version="1.33", service_cidr=cidr)
    else:
        with pytest.raises(SpecError) as e:
            ClusterSpec(name="c", kubernetes_version="1.33", service_cidr=cidr)
        assert e.value.path.endswith("serviceCidr")


@pytest.mark.parametrize("cidr, azs, ok", [("10.0.0.0/16", 6, True), ("10.0.0.0/25", 2, True), ("10.0.0.0/26", 2, True), ("10.0.0.0/26", 3, False),
                                           ("10.0.0.0/15", 2, False), ("10.0.0.0/16", 7, False)])
def test_new_vpc_sizes(cidr: str, azs: int, ok: bool) -> None:
    if ok:
        VpcSpec(cidr=cidr, az_count=azs)
    else:
        with pytest.raises(SpecError):
            VpcSpec(cidr=cidr, az_count=azs)


def test_existing_vpc_needs_two_distinct_private_subnets() -> None:
    VpcSpec(vpc_id="vpc-01234567", private_subnet_ids=("subnet-01234567", "subnet-01234568"))
    with pytest.raises(SpecError, match="at least two"):
        VpcSpec(vpc_id="vpc-01234567", private_subnet_ids=("subnet-01234567",))


def test_service_cidr_must_not_overlap_the_vpc() -> None:
    with pytest.raises(SpecError) as e:
        StackSpec(region="us-west-2", cluster=ClusterSpec(name="c", kubernetes_version="1.33"), vpc=VpcSpec(cidr="172.20.0.0/16"))
    assert e.value.path.endswith("cluster.serviceCidr")


def test_demo_and_karpenter() -> None:
    with pytest.raises(SpecError):
        DemoSpec(replicas=21)
    DemoSpec(replicas=20)
    with pytest.raises(SpecError):
        KarpenterSpec(namespace="Kube_System")
    assert KarpenterSpec().install is True


@pytest.mark.parametrize("azs, larger", [(2, "/26"), (3, "/25"), (4, "/25"), (5, "/24"), (6, "/24")])
def test_a_vpc_too_small_for_its_subnets_says_how_large(azs: int, larger: str) -> None:
    """One public and one private subnet per AZ, each at least /28: 2n subnets need ceil(log2(2n)) more prefix bits."""
    with pytest.raises(SpecError) as e:
        VpcSpec(cidr="10.0.0.0/28", az_count=azs)
    assert f"use {larger} or larger" in e.value.message
