"""spec/pool.py: a Karpenter pool's own settings."""

from __future__ import annotations

import pytest

from soci_component.errors import SpecError
from soci_component.spec import AmiPin, Arch, CapacityType, Disruption, NodePoolSpec, PoolLimits, Requirement, RequirementOperator

IN, NOT_IN, EXISTS, GT = RequirementOperator.IN, RequirementOperator.NOT_IN, RequirementOperator.EXISTS, RequirementOperator.GT


def pool(**kw: object) -> NodePoolSpec:
    return NodePoolSpec(name="p", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("op, values, ok", [(IN, ("a",), True), (IN, (), False), (NOT_IN, (), False), (EXISTS, (), True), (EXISTS, ("a",), False),
                                            (GT, ("4",), True), (GT, ("4", "5"), False), (GT, ("x",), False)])
def test_requirement_operators(op: RequirementOperator, values: tuple[str, ...], ok: bool) -> None:
    if ok:
        assert Requirement("example.com/x", op, values).data()["operator"] == op.value
    else:
        with pytest.raises(SpecError):
            Requirement("example.com/x", op, values)


@pytest.mark.parametrize("k, setting", [("kubernetes.io/arch", "architecture"), ("karpenter.sh/capacity-type", "capacityTypes")])
def test_requirements_the_component_writes_name_the_setting(k: str, setting: str) -> None:
    with pytest.raises(SpecError) as e:
        Requirement(k, IN, ("x",))
    assert setting in e.value.message


@pytest.mark.parametrize("budget, ok", [("0%", True), ("100%", True), ("101%", False), ("5", True), ("x", False)])
def test_disruption_budgets(budget: str, ok: bool) -> None:
    if ok:
        Disruption(budgets=(budget,))
    else:
        with pytest.raises(SpecError):
            Disruption(budgets=(budget,))


@pytest.mark.parametrize("weight, ok", [(1, True), (100, True), (0, False), (101, False)])
def test_weight(weight: int, ok: bool) -> None:
    if ok:
        assert pool(weight=weight).weight == weight
    else:
        with pytest.raises(SpecError, match="weight"):
            pool(weight=weight)


def test_limits_capacity_types_and_arch() -> None:
    with pytest.raises(SpecError):
        PoolLimits(cpu=0)
    with pytest.raises(SpecError, match="twice"):
        pool(capacity_types=(CapacityType.SPOT, CapacityType.SPOT))
    with pytest.raises(SpecError, match="needs at least one"):
        pool(capacity_types=())
    assert pool().arch is Arch.X86_64 and pool(instance_types=("m7g.xlarge",)).arch is Arch.ARM64 and pool(architecture=Arch.ARM64).arch is Arch.ARM64
    with pytest.raises(SpecError, match="belong to Karpenter"):
        pool(labels={"karpenter.sh/x": "y"})
    assert pool(labels={"example.com/" + "k" * 60: "v"}).labels  # no EKS 63-character key limit for pools
