"""render/karpenter.py: the EC2NodeClass and NodePool a pool gets, and what Karpenter merges into the user data."""

from __future__ import annotations

import pytest

from soci_component import rules
from soci_component.errors import SpecError
from soci_component.instances import InstanceFacts
from soci_component.render import plan
from soci_component.render.karpenter import requirements
from soci_component.spec import (
    AmiPin,
    CriProxy,
    NodeGroupSpec,
    NodePoolSpec,
    PullMode,
)


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



@pytest.mark.parametrize("types, arch", [((), "amd64"), (("m7i.xlarge",), "amd64"), (("m7g.xlarge",), "arm64"), (("c7gn.2xlarge",), "arm64")])
def test_a_pool_launches_only_its_amis_architecture(types: tuple[str, ...], arch: str) -> None:
    """kubernetes.io/arch takes Go's GOARCH names (Kubernetes well-known labels: amd64, arm64): an x86_64 AMI's pool must ask
    Karpenter for amd64 nodes, a Graviton one for arm64 — the other would boot an AMI its CPU cannot run."""
    spec = NodePoolSpec(name="p", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=types)
    reqs = requirements(spec, plan(spec, rules.profile(spec)))
    assert {"key": "kubernetes.io/arch", "operator": "In", "values": [arch]} in reqs
