"""SociCluster under Pulumi mocks: the eks.Cluster settings, one SOCI node group per spec joined with
the endpoint/CA/CIDR EKS reports for the cluster, access entries, outputs."""

from __future__ import annotations

import base64
import json
from typing import Any

import pulumi
import pytest

from soci_component import SociCluster, SociClusterArgs
from soci_component.components.errors import ComponentError as NodeGroupError
from soci_component.spec import AmiPin, ClusterSpec, CriProxy, KubernetesSecrets, NodeGroupSpec, PullMode
from tests.mocks.test_node_group import al2023, bottlerocket, expected_user_data
from tests.support.pulumi_mocks import FakeCluster, SociMocks, mocked, run, secret_and_value, unwrap

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PRIVATE = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
PUBLIC = ["subnet-0ccccccccccccccc1", "subnet-0ccccccccccccccc2"]
LT = "aws:ec2/launchTemplate:LaunchTemplate"


@pytest.fixture
def m() -> Any:
    # What EKS will report for the cluster the component creates (endpoint/CA are only known after create).
    fake = FakeCluster(name="soci-unit", endpoint="https://AAAABBBBCCCCDDDD.gr7.us-west-2.eks.amazonaws.com", service_cidr="10.96.0.0/16")
    mocks = SociMocks(clusters={"soci-unit": fake})
    with mocked(mocks):
        yield mocks


def args(*groups: NodeGroupSpec, cluster: dict[str, Any] | None = None, **kw: Any) -> SociClusterArgs:
    spec = ClusterSpec(**{"name": "soci-unit", "kubernetes_version": "1.33", "service_cidr": "10.96.0.0/16", **(cluster or {})})
    return SociClusterArgs(
        cluster=spec,
        node_groups=list(groups),
        vpc_id="vpc-0123456789abcdef0",
        private_subnet_ids=PRIVATE,
        public_subnet_ids=PUBLIC,
        tags={"env": "unit"},
        **kw,
    )


def test_cluster_and_node_groups(m: SociMocks) -> None:
    groups = (al2023("lazy"), bottlerocket("br"))
    result: dict[str, Any] = {}

    def program() -> Any:
        c = SociCluster("soci", args(*groups, cluster={"enabled_log_types": ("api", "audit")}))
        return pulumi.Output.all(
            kubeconfig=secret_and_value(c.kubeconfig),
            name=c.cluster_name,
            names=c.node_group_names,
            roles=c.node_group_roles,
            reports=c.reports,
        ).apply(result.update)

    run(program)
    eks = m.one("eks:index:Cluster")
    i = eks.inputs
    assert eks.custom is False and eks.name == "soci-eks"
    assert i["name"] == "soci-unit" and i["version"] == "1.33"
    assert i["authenticationMode"] == "API"
    assert i["skipDefaultNodeGroup"] is True
    assert i["corednsAddonOptions"]["enabled"] is True
    assert i["createOidcProvider"] is True
    assert i["vpcId"] == "vpc-0123456789abcdef0" and i["privateSubnetIds"] == PRIVATE and i["publicSubnetIds"] == PUBLIC
    assert i["kubernetesServiceIpAddressRange"] == "10.96.0.0/16"
    assert i["enabledClusterLogTypes"] == ["api", "audit"]
    assert i["endpointPrivateAccess"] is True
    assert "accessEntries" not in i and "instanceRoles" not in i

    # every node group joins with what EKS reports for this cluster (fabricated eksCluster child)
    for spec in groups:
        lt = m.one(LT, f"soci-{spec.name}-")
        assert base64.b64decode(unwrap(lt.inputs["userData"])) == expected_user_data(m, spec, f"soci-{spec.name}", cluster="soci-unit", rename=False)
        ng = m.one("aws:eks/nodeGroup:NodeGroup", f"soci-{spec.name}-")
        assert ng.inputs["clusterName"] == "soci-unit" and ng.inputs["subnetIds"] == PRIVATE

    # an EC2_LINUX access entry per node role (Bottlerocket is a Linux node too), before the node group
    entries = {e.name: e for e in m.of_type("aws:eks/accessEntry:AccessEntry")}
    assert set(entries) == {"soci-lazy-access-entry", "soci-br-access-entry"}
    for spec in groups:
        entry = entries[f"soci-{spec.name}-access-entry"]
        assert entry.inputs["type"] == "EC2_LINUX" and entry.inputs["clusterName"] == "soci-unit"
        assert entry.inputs["principalArn"] == m.arn("iam", f"role/soci-{spec.name}-node-role", region=False)
        assert entry.urn in m.one("aws:eks/nodeGroup:NodeGroup", f"soci-{spec.name}-").dependencies

    secret, kubeconfig = result["kubeconfig"]
    assert secret is True and json.loads(kubeconfig)["clusters"][0]["cluster"]["server"] == m.clusters["soci-unit"].endpoint
    assert result["name"] == "soci-unit"
    assert set(result["names"]) == {"lazy", "br"}
    assert result["roles"] == {s.name: m.arn("iam", f"role/soci-{s.name}-node-role", region=False) for s in groups}
    assert result["reports"]["lazy"]["amiRelease"] == "v20260714" and result["reports"]["lazy"]["containerdVersion"] == "2.2.4"
    assert result["reports"]["br"]["os"] == "bottlerocket" and result["reports"]["br"]["pullMode"] == "parallel"

    component = m.one("soci-eks:index:SociCluster")
    for child in [eks, *m.of_type("soci-eks:index:SociNodeGroup")]:
        assert child.parent == component.urn and child.name.startswith("soci-")


def test_one_kubernetes_provider_for_the_kubernetes_secrets_groups(m: SociMocks) -> None:
    def program() -> Any:
        SociCluster("soci", args(al2023("a", credentials=(KubernetesSecrets(),)), al2023("b", credentials=(KubernetesSecrets(),)), al2023("c")))

    run(program)
    provider = m.one("pulumi:providers:kubernetes")
    assert provider.name == "soci-k8s"
    assert json.loads(unwrap(provider.inputs["kubeconfig"]))["clusters"][0]["name"] == "soci-unit"
    accounts = m.of_type("kubernetes:core/v1:ServiceAccount")
    assert len(accounts) == 2 and all(a.provider.startswith(provider.urn) for a in accounts)


@pytest.mark.parametrize(
    "version,message",
    [("1.34", r"nodeGroups\[1\]\.kubernetesVersion: 1\.34 is newer than the control plane"), ("1.29", r"more than 3 minor versions older")],
)
def test_node_versions_must_fit_the_control_plane(m: SociMocks, version: str, message: str) -> None:
    spec = NodeGroupSpec(name="skew", kubernetes_version=version, ami=al2023().ami, instance_types=("m7i.xlarge",))

    def program() -> Any:
        SociCluster("soci", args(al2023("ok"), spec))

    with pytest.raises(NodeGroupError, match=message):
        run(program)
    assert m.of_type("eks:index:Cluster") == []


def test_node_group_errors_name_the_config_path(m: SociMocks) -> None:
    bad = NodeGroupSpec(name="bad", kubernetes_version="1.30", ami=AmiPin(release="v20240817"), instance_types=("m7i.xlarge",))

    def program() -> Any:
        SociCluster("soci", args(al2023("ok"), bad))

    with pytest.raises(NodeGroupError, match=r"^nodeGroups\[1\]\.ami\.release: AL2023 release v20240817 was rolled back"):
        run(program)


def test_existing_cluster_fake_is_not_consulted(m: SociMocks) -> None:
    """The cluster the component creates is read from its own eksCluster child, never looked up by name."""

    def program() -> Any:
        SociCluster("soci", args(al2023("lazy")))

    run(program)
    assert m.calls_to("aws:eks/getCluster:getCluster") == []


def test_preview_of_a_new_cluster_fails_for_too_small_fast_image_pull_instances() -> None:
    """The instance-size check needs only the instance types: it fails the preview while the cluster's
    endpoint and CA are still unknown."""
    spec = al2023("fast", pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),), instance_types=("m7i.2xlarge", "c6i.large"))
    with mocked(SociMocks(cluster_not_created_yet=True), preview=True) as m:

        def program() -> Any:
            SociCluster("soci", args(spec))

        with pytest.raises(Exception, match=r"nodeGroups\[0\]\.instanceTypes: pull mode 'parallel' .* Too small: c6i\.large \(instanceTypes\[1\]: 2 vCPU, 4 GiB\)"):
            run(program)
    assert sorted(a["instanceType"] for a in m.calls_to("aws:ec2/getInstanceType:getInstanceType")) == ["c6i.large", "m7i.2xlarge"]


def test_verify_access_is_a_read_only_role_bound_to_the_named_groups(m: SociMocks) -> None:
    def program() -> Any:
        SociCluster("soci", args(al2023("lazy"), cluster={"verify_groups": ("platform-team", "sre")}))

    run(program)
    (role,) = m.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
    (binding,) = m.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
    rules = unwrap(role.inputs["rules"])
    assert sorted((tuple(r["resources"]), tuple(r["verbs"])) for r in rules) == [
        (("nodes",), ("get", "list")), (("nodes/proxy",), ("get",)), (("pods", "events"), ("list",))], "read-only: nothing but get/list"
    assert unwrap(role.inputs["metadata"])["name"] == unwrap(binding.inputs["roleRef"])["name"] == "soci-eks-verify"
    assert [s["name"] for s in unwrap(binding.inputs["subjects"])] == ["platform-team", "sre"]
    assert all(s["kind"] == "Group" for s in unwrap(binding.inputs["subjects"]))


def test_no_verify_role_unless_groups_are_named(m: SociMocks) -> None:
    def program() -> Any:
        SociCluster("soci", args(al2023("lazy")))

    run(program)
    assert m.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole") == []
    assert m.of_type("pulumi:providers:kubernetes") == [], "no Kubernetes provider is needed"
