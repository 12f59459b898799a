"""pipeline.py: the one owner of the order resolve -> rules -> plan -> render, and the key paths it puts on every error."""

from __future__ import annotations

import pytest

from soci_component import pipeline
from soci_component.errors import SpecError
from soci_component.instances import InstanceFacts
from soci_component.spec import AmiPin, ClusterSpec, CriProxy, NodeGroupSpec, NodePoolSpec, PullMode, RegistryMirror, SociTuning, StackSpec
from tests.support.scenarios import CLUSTER, SECRETS


def group(**kw: object) -> NodeGroupSpec:
    kw.setdefault("name", "g")
    kw.setdefault("kubernetes_version", "1.33")
    return NodeGroupSpec(ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",), **kw)  # type: ignore[arg-type]


def test_name_and_version_are_required_at_plan_time() -> None:
    with pytest.raises(SpecError) as e:
        pipeline.plan_node(group(name=""), "nodeGroups[3]")
    assert e.value.path == "nodeGroups[3].name"
    with pytest.raises(SpecError) as e:
        pipeline.plan_node(group(kubernetes_version=""), "SociNodeGroup('x')")
    assert e.value.path == "SociNodeGroup('x').kubernetesVersion" and "ClusterAttachment" in e.value.message


def test_resolution_and_rules_errors_carry_the_path() -> None:
    with pytest.raises(SpecError) as e:
        pipeline.plan_node(NodeGroupSpec(name="g", kubernetes_version="1.33", ami=AmiPin(release="v20990101"), instance_types=("m7i.xlarge",)), "nodePools[1]")
    assert e.value.path == "nodePools[1].ami.release" and "newest catalogued" in e.value.message
    with pytest.raises(SpecError) as e:
        pipeline.plan_node(group(pull_mode=PullMode.LAZY_WITH_PARALLEL_FALLBACK), "nodeGroups[0]")
    assert e.value.path == "nodeGroups[0].sociSource"


@pytest.mark.parametrize("control, ok", [("1.33", True), ("1.36", True), ("1.37", False), ("1.32", False)])
def test_skew_against_the_control_plane_when_known(control: str, ok: bool) -> None:
    if ok:
        pipeline.plan_node(group(), control_plane=control)
        return
    with pytest.raises(SpecError) as e:
        pipeline.plan_node(group(), "nodeGroups[0]", control_plane=control)
    assert e.value.path == "nodeGroups[0].kubernetesVersion"


def test_plans_carry_the_rules_warnings() -> None:
    p = pipeline.plan_node(group(credentials=(CriProxy(),)))
    assert any("never rotate" in w for w in p.warnings)


def test_check_instances_returns_what_it_could_not_check() -> None:
    p = pipeline.plan_node(group(pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),)))
    assert pipeline.check_instances(p, {"m7i.xlarge": None}, "nodeGroups[0]") == ["m7i.xlarge"]
    with pytest.raises(SpecError) as e:
        pipeline.check_instances(p, {"m7i.xlarge": InstanceFacts(vcpus=2, memory_mib=4096, instance_store=False)}, "nodeGroups[5]")
    assert e.value.path == "nodeGroups[5].instanceTypes"


def test_render_errors_carry_the_path() -> None:
    import random

    rnd = random.Random(3)
    mirrors = tuple(RegistryMirror(f"{rnd.getrandbits(64):x}.example.com", tuple(f"{rnd.getrandbits(128):x}.example.com" for _ in range(10))) for _ in range(120))
    p = pipeline.plan_node(group(tuning=SociTuning(mirrors=mirrors)))
    with pytest.raises(SpecError) as e:
        pipeline.render_node(p, CLUSTER, SECRETS, path="nodeGroups[4]")
    assert e.value.path == "nodeGroups[4]" and "EC2 accepts at most 16384" in e.value.message


def test_plan_stack_applies_the_stack_rules_first_then_plans_groups_then_pools() -> None:
    cluster = ClusterSpec(name="c", kubernetes_version="1.33")
    pool = NodePoolSpec(name="p", kubernetes_version="1.33", ami=AmiPin(release="v20260714"))
    stack = StackSpec(region="us-west-2", cluster=cluster, node_groups=(group(name="a"), group(name="b")), node_pools=(pool,))
    assert [(w, p.name) for w, p in pipeline.plan_stack(stack)] == [("nodeGroups[0]", "a"), ("nodeGroups[1]", "b"), ("nodePools[0]", "p")]
    dup = StackSpec(region="us-west-2", cluster=cluster, node_groups=(group(name="a"),), node_pools=(NodePoolSpec(name="a", kubernetes_version="1.33",
                                                                                                             ami=AmiPin(release="v20990101")),))
    with pytest.raises(SpecError) as e:
        pipeline.plan_stack(dup)
    assert e.value.path == "nodePools[0].name", "the stack's rules run before any node is planned"
