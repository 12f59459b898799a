"""SociNodePool under Pulumi mocks: an EC2NodeClass and a NodePool carrying the renderer's bytes and the rules'
requirements, the pinned alias (never @latest), IAM exactly as for managed node groups, no secret in any input."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from soci_component import pipeline
from soci_component.components.errors import ComponentError
from soci_component.components.node_pool import SociNodePool, SociNodePoolArgs
from soci_component.render import karpenter
from soci_component.render.types import Secrets
from soci_component.spec import AmiPin, Arch, CriProxy, LocalStorage, NodePoolSpec, OperatingSystem, PullMode, StaticCredentials
from tests.mocks.test_node_group import attach
from tests.support.pulumi_mocks import FakeCluster, SociMocks, mocked, run, unwrap

NODECLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"
ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def pool(name: str = "p", **kw: Any) -> NodePoolSpec:
    return NodePoolSpec(name=name, kubernetes_version="1.33", ami=AmiPin(release="v20260714"), **kw)


def bottlerocket_pool(name: str = "p", **kw: Any) -> NodePoolSpec:
    return NodePoolSpec(name=name, kubernetes_version="1.33", ami=AmiPin(release="1.57.0"), os=OperatingSystem.BOTTLEROCKET, pull_mode=PullMode.PARALLEL,
                        architecture=Arch.ARM64, **kw)


@pytest.fixture
def m() -> Any:
    mocks = SociMocks(clusters={"soci-test": FakeCluster()})
    with mocked(mocks):
        yield mocks


def make(name: str, spec: NodePoolSpec, m: SociMocks, **kw: Any) -> SociNodePool:
    import pulumi_kubernetes as k8s

    provider = k8s.Provider(f"{name}-provider", kubeconfig="{}")
    return SociNodePool(name, SociNodePoolArgs(cluster=attach(m.clusters["soci-test"], subnet_ids=None), spec=spec, kubernetes_provider=provider, **kw))


@pytest.mark.parametrize("spec", [
    pytest.param(pool(pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),)), id="al2023-gate"),
    pytest.param(pool(), id="al2023-lazy"),
    pytest.param(bottlerocket_pool(), id="bottlerocket"),
])
def test_node_class_carries_the_renderers_bytes_and_the_alias(m: SociMocks, spec: NodePoolSpec) -> None:
    def program() -> Any:
        return make("p", spec, m).user_data_size

    run(program)
    (nc,) = m.of_type(NODECLASS)
    (np_,) = m.of_type(NODEPOOL)
    got = unwrap(nc.inputs["spec"])
    expected = pipeline.render_node(pipeline.plan_node(spec), m.cluster_info("soci-test"), Secrets(), karpenter=True).user_data.decode()
    assert got["userData"] == expected
    assert got["amiSelectorTerms"] == [{"alias": "al2023@v20260714" if spec.os is OperatingSystem.AL2023 else "bottlerocket@v1.57.0"}]
    assert "latest" not in json.dumps(got["amiSelectorTerms"])
    assert got["metadataOptions"]["httpTokens"] == "required"
    assert got["role"] == "p-node-role"
    assert got["subnetSelectorTerms"] == got["securityGroupSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "soci-test"}}]
    assert "cluster" not in expected and "--node-labels" not in expected, "Karpenter owns the cluster section, labels and taints"
    pool_spec = unwrap(np_.inputs["spec"])
    assert pool_spec["template"]["spec"]["nodeClassRef"] == {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": spec.name}
    assert pool_spec["template"]["metadata"]["labels"]["soci.snapshotter/enabled"] == "true"
    assert np_.dependencies and nc.urn in np_.dependencies


def test_gate_floor_becomes_requirements(m: SociMocks) -> None:
    spec = pool(pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),))

    def program() -> None:
        make("p", spec, m)

    run(program)
    reqs = unwrap(m.one(NODEPOOL).inputs["spec"])["template"]["spec"]["requirements"]
    assert {"key": "karpenter.k8s.aws/instance-cpu", "operator": "Gt", "values": ["3"]} in reqs  # >= 4 vCPU (v20260714's nodeadm)
    mem = next(r for r in reqs if r["key"] == "karpenter.k8s.aws/instance-memory")
    assert mem["operator"] == "Gt" and int(mem["values"][0]) >= 7 * 1024  # >= 7 GiB online, with the EC2-figure margin
    assert {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]} in reqs


def test_old_release_floor(m: SociMocks) -> None:
    spec = NodePoolSpec(name="p", kubernetes_version="1.33", ami=AmiPin(release="v20250915"), pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),))

    def program() -> None:
        make("p", spec, m)

    run(program)
    reqs = unwrap(m.one(NODEPOOL).inputs["spec"])["template"]["spec"]["requirements"]
    assert {"key": "karpenter.k8s.aws/instance-cpu", "operator": "Gt", "values": ["7"]} in reqs  # 8 vCPU until v20251007


def test_iam_is_the_node_groups(m: SociMocks) -> None:
    def program() -> None:
        make("p", pool(), m)

    run(program)
    arns = sorted(r.inputs["policyArn"] for r in m.of_type(ATTACH))
    assert arns == sorted(f"arn:aws:iam::aws:policy/{p}" for p in (
        "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly", "AmazonSSMManagedInstanceCore"))
    (entry,) = m.of_type("aws:eks/accessEntry:AccessEntry")
    assert entry.inputs["type"] == "EC2_LINUX"


def test_static_credentials_only_in_secrets_manager(m: SociMocks) -> None:
    spec = pool(credentials=(StaticCredentials("registry.example.com"),))
    creds = pulumi.Output.secret({"registry.example.com": {"username": "u", "password": "pool-password-0815"}})

    def program() -> None:
        make("p", spec, m, registry_credentials=creds)

    run(program)
    (version,) = m.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    leaks = [r.name for r in m.resources if r is not version and "pool-password-0815" in json.dumps(unwrap(r.inputs), default=str)]
    assert leaks == []
    (policy,) = m.of_type("aws:iam/rolePolicy:RolePolicy")
    assert json.loads(policy.inputs["policy"])["Statement"][0]["Resource"] == [m.arn("secretsmanager", "secret:p-registry-0-AbCdEf")]


def test_raid0_and_instance_store_policy(m: SociMocks) -> None:
    def program() -> None:
        make("p", pool(local_storage=LocalStorage.RAID0), m)

    run(program)
    assert unwrap(m.one(NODECLASS).inputs["spec"])["instanceStorePolicy"] == "RAID0"
    reqs = unwrap(m.one(NODEPOOL).inputs["spec"])["template"]["spec"]["requirements"]
    assert {"key": "karpenter.k8s.aws/instance-local-nvme", "operator": "Gt", "values": ["0"]} in reqs


@pytest.mark.parametrize("spec, path, text", [
    (NodePoolSpec(name="p", kubernetes_version="1.33", ami=AmiPin(release="v20260505")), "ami.release", "deadlocks"),
    (NodePoolSpec(name="p", kubernetes_version="1.33", ami=AmiPin(ami_id="ami-0123456789abcdef0", containerd_version="2.2.4")), "ami.amiId", "pins a catalogued release"),
    (NodePoolSpec(name="p", kubernetes_version="1.33", ami=AmiPin(release="1.44.0"), os=OperatingSystem.BOTTLEROCKET, pull_mode=PullMode.PARALLEL,
                  local_storage=LocalStorage.RAID0), "localStorage", "karpenter-provider-aws#8393"),
])
def test_refused_before_any_resource(m: SociMocks, spec: Any, path: str, text: str) -> None:
    def program() -> None:
        make("p", spec, m)

    with pytest.raises(ComponentError) as e:
        run(program)
    assert e.value.path == f"SociNodePool('p').{path}" and text in e.value.message
    assert m.of_type(NODECLASS) == []


def test_documents_helper_matches_the_component(m: SociMocks) -> None:
    spec = pool()

    def program() -> None:
        make("p", spec, m)

    run(program)
    p = pipeline.plan_node(spec)
    assert unwrap(m.one(NODEPOOL).inputs["spec"]) == karpenter.nodepool(spec, p, name="p", node_class="p")["spec"]


@pytest.mark.parametrize("tag", ["karpenter.sh/nodepool", "kubernetes.io/cluster/soci-test", "eks:eks-cluster-name"])
def test_tags_karpenter_refuses_are_refused_for_a_pool_used_directly(m: SociMocks, tag: str) -> None:
    """The EC2NodeClass carries the pool's tags; the API server refuses the keys Karpenter sets itself (the stack path checks
    them too: tests/unit/test_pipeline_properties.py)."""

    def program() -> None:
        make("p", pool(), m, tags={tag: "x"})

    with pytest.raises(ComponentError) as e:
        run(program)
    assert e.value.path.startswith("SociNodePool('p').tags") and "Karpenter refuses an EC2NodeClass" in e.value.message
    assert m.of_type(NODECLASS) == []
