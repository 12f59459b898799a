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


def _pool_documents(**kw: object) -> tuple[list[dict], dict]:
    from soci_component.config import parse
    from soci_component.offline import render_stack

    cfg = {"aws:region": "us-west-2", "soci-eks:cluster": {"name": "c", "kubernetesVersion": "1.33"}, "soci-eks:nodePools": [{"name": "p", **kw}]}
    import yaml

    (n,) = render_stack(parse(cfg))
    return yaml.safe_load(n.documents["nodepool.yaml"])["spec"]["template"]["spec"]["requirements"], yaml.safe_load(n.documents["ec2nodeclass.yaml"])["spec"]


@pytest.mark.parametrize("raid0", [False, True])
def test_a_raid0_pool_asks_for_local_nvme_and_the_raid0_policy(raid0: bool) -> None:
    """Karpenter's instanceStorePolicy RAID0 (EC2NodeClass) and instance-local-nvme > 0 (NodePool): only types with NVMe, striped."""
    reqs, node_class = _pool_documents(ami={"release": "v20260714"}, **({"localStorage": "raid0"} if raid0 else {}))
    nvme = {"key": "karpenter.k8s.aws/instance-local-nvme", "operator": "Gt", "values": ["0"]}
    assert (nvme in reqs) is raid0
    assert (node_class.get("instanceStorePolicy") == "RAID0") is raid0


@pytest.mark.parametrize("os_keys, root", [({"ami": {"release": "v20260714"}}, "/dev/xvda"),
                                           ({"ami": {"release": "1.57.0"}, "os": "bottlerocket", "pullMode": "parallel", "credentials": ["cri-proxy"]}, None)])
def test_the_root_volume_karpenter_counts_for_ephemeral_storage(os_keys: dict, root: str | None) -> None:
    """AL2023's images and containers live on /dev/xvda, marked rootVolume; Bottlerocket's on its data volume /dev/xvdb, Karpenter's
    default for Bottlerocket (karpenter.sh docs, EC2NodeClass blockDeviceMappings.rootVolume): no mark."""
    _, node_class = _pool_documents(**os_keys)
    marked = [d["deviceName"] for d in node_class["blockDeviceMappings"] if d.get("rootVolume")]
    assert marked == ([root] if root else [])


def test_karpenter_labels_follow_its_nodeclaim_template() -> None:
    """A custom In requirement's first value becomes a node label (sigs.k8s.io/karpenter NodeClaimTemplate); requirements in
    Karpenter's or Kubernetes' domains do not; labels the kubelet may not set (kubernetes.io, k8s.io) are left to Karpenter."""
    from soci_component.render.karpenter import karpenter_labels
    from soci_component.spec import Requirement, RequirementOperator

    spec = NodePoolSpec(name="p", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), labels={"team": "ml"}, requirements=(
        Requirement("example.com/tier", RequirementOperator.IN, ("gold", "silver")), Requirement("karpenter.k8s.aws/instance-family", RequirementOperator.IN, ("m7i",)),
        Requirement("topology.kubernetes.io/zone", RequirementOperator.IN, ("us-west-2a",)), Requirement("example.com/other", RequirementOperator.EXISTS)))
    labels = karpenter_labels(spec, "p")
    assert labels["example.com/tier"] == "gold" and labels["team"] == "ml" and labels["karpenter.sh/nodepool"] == "p"
    assert "karpenter.k8s.aws/instance-family" not in labels and "topology.kubernetes.io/zone" not in labels and "example.com/other" not in labels
    assert labels["karpenter.sh/capacity-type"] == "on-demand"
    assert not any(k.split("/")[0].endswith(("kubernetes.io", "k8s.io")) for k in labels if "/" in k)


@pytest.mark.parametrize("weight", [None, 10])
def test_a_pools_weight_is_written_only_when_set(weight: int | None) -> None:
    from soci_component.render.karpenter import nodepool

    spec = NodePoolSpec(name="p", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), weight=weight)
    doc = nodepool(spec, plan(spec, rules.profile(spec)), name="p", node_class="p")
    assert doc["spec"].get("weight") == weight
