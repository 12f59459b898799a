"""SociNodeGroup under Pulumi mocks: the launch template carries the renderer's exact bytes, IAM is
exactly what nodes need, secrets stay in Secrets Manager, existing clusters are looked up by name."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import replace
from typing import Any

import pulumi
import pytest

from soci_component import pipeline, rules
from soci_component.components.attachment import ClusterAttachment
from soci_component.components.errors import ComponentError as NodeGroupError
from soci_component.components.keychain import keychain_identity
from soci_component.components.node_group import SociNodeGroup, SociNodeGroupArgs
from soci_component.render.types import Secrets
from soci_component.spec import (
    AmiPin,
    CapacityType,
    CriProxy,
    Disk,
    EcrCredentialHelper,
    KubernetesSecrets,
    LocalStorage,
    NodeGroupSpec,
    PullMode,
    Scaling,
    StaticCredentials,
    Taint,
    TaintEffect,
    UpstreamRelease,
)
from tests.support.pulumi_mocks import FakeCluster, SociMocks, is_secret, mocked, run, unwrap
from tests.support.scenarios import al2023_group, bottlerocket_group

LT = "aws:ec2/launchTemplate:LaunchTemplate"
NG = "aws:eks/nodeGroup:NodeGroup"
ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SUBNETS = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]


al2023 = al2023_group
bottlerocket = bottlerocket_group


@pytest.fixture
def m() -> Any:
    mocks = SociMocks(clusters={"soci-test": FakeCluster()})
    with mocked(mocks):
        yield mocks


def attach(fake: FakeCluster, subnet_ids: list[str] | None = SUBNETS, kubernetes_version: str | None = None) -> ClusterAttachment:
    return ClusterAttachment(
        name=fake.name,
        endpoint=fake.endpoint,
        certificate_authority=fake.certificate_authority,
        service_cidr=fake.service_cidr,
        cluster_security_group_id=fake.security_group_id,
        subnet_ids=subnet_ids,
        kubernetes_version=kubernetes_version,
    )


def node_group(name: str, spec: NodeGroupSpec, m: SociMocks, cluster: str = "soci-test", **kw: Any) -> SociNodeGroup:
    """A node group component named after its spec (the test's ``name`` wins)."""
    return SociNodeGroup(name, SociNodeGroupArgs(cluster=attach(m.clusters[cluster]), spec=replace(spec, name=name), **kw))


def expected_user_data(m: SociMocks, spec: NodeGroupSpec, component: str, cluster: str = "soci-test", rename: bool = True) -> bytes:
    """What the renderer produces for this spec (named after the component unless ``rename`` is off: SociCluster's members)
    with the cluster AWS reports and the ARNs AWS assigned."""
    spec = replace(spec, name=component) if rename else spec
    statics = [c for c in spec.creds if isinstance(c, StaticCredentials)]
    secrets = Secrets(
        static={c.registry: m.arn("secretsmanager", f"secret:{component}-registry-{i}-AbCdEf") for i, c in enumerate(statics)},
        kubeconfig_token=m.arn("secretsmanager", f"secret:{component}-kube-token-AbCdEf") if spec.credential(KubernetesSecrets.kind) else None,
    )
    return pipeline.render_node(pipeline.plan_node(spec), m.cluster_info(cluster), secrets).user_data


def user_data_of(rec: Any) -> bytes:
    return base64.b64decode(unwrap(rec.inputs["userData"]))


SPECS = {
    "al2023-lazy-ecr": al2023(),
    "al2023-fallback-static-release": al2023(
        "static",
        pull_mode=PullMode.LAZY_WITH_PARALLEL_FALLBACK,
        credentials=(EcrCredentialHelper(), StaticCredentials("registry.example.com")),
        soci_source=UpstreamRelease(version="0.15.0"),
    ),
    "al2023-parallel-fast-image-pull": al2023("fast", pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),), instance_types=("m7i.2xlarge", "m6i.2xlarge")),
    "al2023-kube-secrets": al2023("kube", credentials=(KubernetesSecrets(),)),
    "bottlerocket-parallel": bottlerocket(taints=(Taint("dedicated", TaintEffect.NO_SCHEDULE, "soci"),)),
}


@pytest.mark.parametrize("key", list(SPECS))
def test_launch_template_user_data_is_the_renderers_output(m: SociMocks, key: str) -> None:
    spec = SPECS[key]
    creds = {"registry.example.com": {"username": "u", "password": "p"}}

    def program() -> Any:
        ng = node_group("ng", spec, m, registry_credentials=pulumi.Output.secret(creds))
        return ng.user_data_size

    run(program)
    lt = m.one(LT)
    got = user_data_of(lt)
    assert got == expected_user_data(m, spec, "ng")
    assert len(got) <= 16384
    profile = rules.profile(spec)
    # the AMI comes from the release-pinned SSM parameter (never 'recommended'/'latest')
    assert m.calls_to("aws:ssm/getParameter:getParameter") == [{"name": profile.ssm_parameter}]
    assert spec.ami.release in profile.ssm_parameter and "recommended" not in profile.ssm_parameter
    assert lt.inputs["imageId"] == m.ami_for(profile.ssm_parameter)


def test_launch_template_shape(m: SociMocks) -> None:
    spec = al2023(disk=Disk(size_gib=200, iops=6000, throughput_mibps=600))

    def program() -> Any:
        node_group("ng", spec, m)

    run(program)
    lt = m.one(LT).inputs
    assert lt["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 2}
    assert lt["blockDeviceMappings"] == [
        {
            "deviceName": "/dev/xvda",
            "ebs": {"volumeSize": 200, "volumeType": "gp3", "iops": 6000, "throughput": 600, "encrypted": "true", "deleteOnTermination": "true"},
        }
    ]
    assert {t["resourceType"] for t in lt["tagSpecifications"]} == {"instance", "volume"}
    assert "vpcSecurityGroupIds" not in lt  # EKS then attaches the cluster security group itself


def test_bottlerocket_has_os_and_data_volumes(m: SociMocks) -> None:
    spec = bottlerocket(disk=Disk(size_gib=120, iops=4000, throughput_mibps=500))

    def program() -> Any:
        node_group("ng", spec, m)

    run(program)
    devices = {d["deviceName"]: d["ebs"] for d in m.one(LT).inputs["blockDeviceMappings"]}
    assert devices["/dev/xvdb"] == {"volumeSize": 120, "volumeType": "gp3", "iops": 4000, "throughput": 500, "encrypted": "true", "deleteOnTermination": "true"}
    assert devices["/dev/xvda"]["volumeSize"] < 10 and devices["/dev/xvda"]["encrypted"] == "true"


def test_metadata_hop_limit_can_keep_pods_away_from_the_node_role(m: SociMocks) -> None:
    def program() -> Any:
        node_group("ng", al2023(), m, metadata_hop_limit=1)

    run(program)
    assert m.one(LT).inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1


def test_extra_security_groups_keep_the_cluster_security_group(m: SociMocks) -> None:
    def program() -> Any:
        node_group("ng", al2023(), m, security_group_ids=["sg-0extra000000000001"])

    run(program)
    assert m.one(LT).inputs["vpcSecurityGroupIds"] == [m.clusters["soci-test"].security_group_id, "sg-0extra000000000001"]


def test_node_group_inputs(m: SociMocks) -> None:
    spec = al2023(
        labels={"team": "ml"},
        taints=(Taint("dedicated", TaintEffect.NO_SCHEDULE, "soci"), Taint("gpu", TaintEffect.NO_EXECUTE)),
        capacity_type=CapacityType.SPOT,
        scaling=Scaling(min_size=0, max_size=5, desired_size=1),
        instance_types=("m7i.xlarge", "m7i.2xlarge"),
    )

    def program() -> Any:
        node_group("ng", spec, m, max_unavailable_percentage=20)

    run(program)
    ng = m.one(NG)
    i = ng.inputs
    lt = m.one(LT)
    assert i["clusterName"] == "soci-test"
    assert i["labels"] == {"team": "ml", "soci.snapshotter/enabled": "true", "soci.snapshotter/node-group": "ng", "soci.snapshotter/pull-mode": "lazy"}
    assert i["taints"] == [{"key": "dedicated", "value": "soci", "effect": "NO_SCHEDULE"}, {"key": "gpu", "effect": "NO_EXECUTE"}]
    assert i["capacityType"] == "SPOT" and i["instanceTypes"] == ["m7i.xlarge", "m7i.2xlarge"]
    assert i["scalingConfig"] == {"minSize": 0, "maxSize": 5, "desiredSize": 1}
    assert i["updateConfig"] == {"maxUnavailablePercentage": 20}
    assert i["subnetIds"] == SUBNETS
    assert i["launchTemplate"] == {"id": lt.id, "version": "1"}  # the template's latest version: changes roll the nodes
    for key in ("amiType", "version", "releaseVersion", "diskSize"):  # custom AMI: the launch template decides
        assert key not in i
    assert ng.ignore_changes == ["scalingConfig.desiredSize"]
    # the same labels and taints reach the kubelet through the user data
    text = user_data_of(lt).decode()
    assert "--node-labels=soci.snapshotter/enabled=true,soci.snapshotter/node-group=ng,soci.snapshotter/pull-mode=lazy,team=ml" in text
    assert "--register-with-taints=dedicated=soci:NoSchedule,gpu:NoExecute" in text
    # the node group waits for its role's policies (nodes could not join without them)
    attachment_urns = {r.urn for r in m.of_type(ATTACH)}
    assert attachment_urns <= set(ng.dependencies)


@pytest.mark.parametrize("partition,dns", [("aws", "amazonaws.com"), ("aws-cn", "amazonaws.com.cn"), ("aws-us-gov", "amazonaws.com")])
def test_node_role_has_exactly_the_four_managed_policies(partition: str, dns: str) -> None:
    mocks = SociMocks(partition=partition, clusters={"soci-test": FakeCluster()})
    with mocked(mocks) as m:

        def program() -> Any:
            node_group("ng", al2023(), m)

        run(program)
    role = m.one("aws:iam/role:Role")
    policy = json.loads(role.inputs["assumeRolePolicy"])
    assert policy["Statement"] == [{"Effect": "Allow", "Principal": {"Service": f"ec2.{dns}"}, "Action": "sts:AssumeRole"}]
    arns = sorted(r.inputs["policyArn"] for r in m.of_type(ATTACH))
    # Literals, not the module's constant: adding a policy to the component must fail here.
    assert arns == sorted(f"arn:{partition}:iam::aws:policy/{p}" for p in (
        "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly", "AmazonSSMManagedInstanceCore"))
    assert {r.inputs["role"] for r in m.of_type(ATTACH)} == {"ng-node-role"}
    assert m.of_type(ROLE_POLICY) == []  # no secrets, no inline policy
    assert "managedPolicyArns" not in role.inputs and "inlinePolicies" not in role.inputs


def test_secret_read_permission_is_limited_to_the_groups_own_secrets(m: SociMocks) -> None:
    creds = pulumi.Output.secret({"registry.example.com": {"username": "u", "password": "p"}, "other.example.com": {"username": "u", "password": "p"}})

    def program() -> Any:
        node_group("a", al2023("a", credentials=(StaticCredentials("registry.example.com"),)), m, registry_credentials=creds)
        node_group("b", al2023("b", credentials=(StaticCredentials("other.example.com"), KubernetesSecrets())), m, registry_credentials=creds)

    run(program)
    policies = {r.name: json.loads(r.inputs["policy"]) for r in m.of_type(ROLE_POLICY)}
    assert set(policies) == {"a-read-boot-secrets", "b-read-boot-secrets"}
    assert policies["a-read-boot-secrets"]["Statement"] == [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": [m.arn("secretsmanager", "secret:a-registry-0-AbCdEf")]}
    ]
    assert policies["b-read-boot-secrets"]["Statement"][0]["Resource"] == sorted(
        [m.arn("secretsmanager", "secret:b-registry-0-AbCdEf"), m.arn("secretsmanager", "secret:b-kube-token-AbCdEf")]
    )
    roles = {r.inputs["role"] for r in m.of_type(ROLE_POLICY)}
    assert roles == {"a-node-role-id", "b-node-role-id"}


def test_static_credentials_reach_only_the_secret_version(m: SociMocks) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    username = f"user-{uuid.uuid4().hex}"
    spec = al2023("static", credentials=(EcrCredentialHelper(), StaticCredentials("registry.example.com")))

    def program() -> Any:
        ng = node_group("ng", spec, m, registry_credentials=pulumi.Output.secret({"registry.example.com": {"username": username, "password": password}}))
        return pulumi.Output.all(ng.report, ng.secret_arns, ng.user_data_size, ng.image_id, ng.node_group_name)

    run(program)
    versions = m.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert len(versions) == 1
    assert is_secret(versions[0].inputs["secretString"])
    assert json.loads(unwrap(versions[0].inputs["secretString"])) == {"username": username, "password": password}
    assert versions[0].inputs["secretId"] == m.arn("secretsmanager", "secret:ng-registry-0-AbCdEf")
    for rec in m.resources:
        if rec is versions[0]:
            continue
        text = json.dumps(unwrap(rec.inputs), default=str)
        assert password not in text and username not in text, f"credential leaked into {rec.typ} {rec.name}"
    assert m.monitor is not None
    outputs = json.dumps(unwrap(m.monitor.outputs), default=str)
    assert password not in outputs and username not in outputs
    # the node fetches it at boot: the user data names the secret, not the value
    assert m.arn("secretsmanager", "secret:ng-registry-0-AbCdEf").encode() in user_data_of(m.one(LT))


def test_missing_static_credentials_fail_with_the_key_path(m: SociMocks) -> None:
    spec = al2023("static", credentials=(StaticCredentials("registry.example.com"),))

    def program() -> Any:
        node_group("ng", spec, m, registry_credentials=pulumi.Output.secret({"other.example.com": {"username": "u", "password": "p"}}))

    with pytest.raises(Exception, match=r"registryCredentials\.registry\.example\.com: no credentials for registry\.example\.com"):
        run(program)

    def program_without() -> Any:
        node_group("ng2", spec, m)

    with pytest.raises(NodeGroupError, match="credentials: static credentials for registry.example.com need their values"):
        run(program_without)


def test_kubernetes_secrets_identity(m: SociMocks) -> None:
    spec = al2023("kube", credentials=(KubernetesSecrets(),))

    def program() -> Any:
        node_group("ng", spec, m)

    run(program)
    provider = m.one("pulumi:providers:kubernetes")
    assert json.loads(unwrap(provider.inputs["kubeconfig"]))["clusters"][0]["cluster"]["server"] == m.clusters["soci-test"].endpoint
    sa = m.one("kubernetes:core/v1:ServiceAccount")
    assert sa.inputs["metadata"]["namespace"] == "kube-system"
    role = m.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
    assert role.inputs["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list", "watch"]}]
    binding = m.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
    sa_name, role_name = "ng-soci-k8sname", "ng-soci-secret-reader-k8sname"  # names the provider gave them
    assert binding.inputs["subjects"] == [{"kind": "ServiceAccount", "name": sa_name, "namespace": "kube-system"}]
    assert binding.inputs["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name}
    token = m.one("kubernetes:core/v1:Secret")
    assert token.inputs["type"] == "kubernetes.io/service-account-token"
    assert token.inputs["metadata"]["annotations"] == {"kubernetes.io/service-account.name": sa_name}
    assert sa.urn in token.dependencies
    for rec in (sa, role, binding, token):
        assert rec.provider.startswith(provider.urn), rec.name
    # the same objects as keychain_identity's (which tests/node/test_kube_keychain.py creates in a real API server)
    want = keychain_identity("node group", "ng").objects(service_account=sa_name, role=role_name, binding="ng-soci-secret-reader-k8sname", token="ng-soci-token-k8sname")
    for rec, obj in zip((sa, role, binding, token), want, strict=True):
        got = {k: v for k, v in rec.inputs.items() if k not in ("apiVersion", "kind")}
        assert got == {k: ({m: n for m, n in v.items() if m != "name"} if k == "metadata" else v) for k, v in obj.items() if k not in ("apiVersion", "kind")}, rec.name
    version = m.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert is_secret(version.inputs["secretString"]) and unwrap(version.inputs["secretString"]) == m.sa_token
    text = user_data_of(m.one(LT))
    assert m.sa_token.encode() not in text
    assert m.arn("secretsmanager", "secret:ng-kube-token-AbCdEf").encode() in text


def test_existing_cluster_by_name(m: SociMocks) -> None:
    m.clusters["team-cluster"] = FakeCluster(
        name="team-cluster", endpoint="https://FEDCBA9876543210.yl4.us-west-2.eks.amazonaws.com", service_cidr="10.100.0.0/16"
    )
    spec = al2023()

    def program() -> Any:
        attachment = ClusterAttachment.from_existing("team-cluster", subnet_ids=SUBNETS)
        return SociNodeGroup("ng", SociNodeGroupArgs(cluster=attachment, spec=replace(spec, name="ng"))).node_group_name

    run(program)
    assert m.calls_to("aws:eks/getCluster:getCluster") == [{"name": "team-cluster"}]
    assert m.one(NG).inputs["clusterName"] == "team-cluster"
    assert m.of_type("aws:eks/accessEntry:AccessEntry") == []  # EKS maps managed node group roles itself
    assert user_data_of(m.one(LT)) == expected_user_data(m, spec, "ng", cluster="team-cluster")
    assert b"cidr: 10.100.0.0/16" in user_data_of(m.one(LT))


def test_existing_cluster_that_does_not_exist_fails(m: SociMocks) -> None:
    def program() -> Any:
        SociNodeGroup("ng", SociNodeGroupArgs(cluster=ClusterAttachment.from_existing("nope"), spec=al2023("ng")))

    with pytest.raises(Exception, match="cluster nope not found"):
        run(program)


def test_fast_image_pull_checks_every_instance_type(m: SociMocks) -> None:
    spec = al2023("fast", pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),), instance_types=("t3.large", "m7i.xlarge", "c6i.large"))

    def program() -> Any:
        SociNodeGroup("ng", SociNodeGroupArgs(cluster=attach(m.clusters["soci-test"]), spec=replace(spec, name="ng")))

    with pytest.raises(Exception) as info:
        run(program)
    message = str(info.value)
    assert "SociNodeGroup('ng').instanceTypes: pull mode 'parallel'" in message
    assert "t3.large (instanceTypes[0]: 2 vCPU, 8 GiB)" in message and "c6i.large (instanceTypes[2]: 2 vCPU, 4 GiB)" in message
    assert "m7i.xlarge" not in message.split("Too small:")[1]
    assert sorted(a["instanceType"] for a in m.calls_to("aws:ec2/getInstanceType:getInstanceType")) == ["c6i.large", "m7i.xlarge", "t3.large"]
    assert m.of_type(LT) == []  # nothing that would boot nodes without SOCI


def test_large_instances_pass_and_lazy_groups_are_not_looked_up(m: SociMocks) -> None:
    def program() -> Any:
        node_group("fast", SPECS["al2023-parallel-fast-image-pull"], m)
        node_group("lazy", al2023("lazy", instance_types=("t3.medium",)), m)

    run(program)
    assert sorted(a["instanceType"] for a in m.calls_to("aws:ec2/getInstanceType:getInstanceType")) == ["m6i.2xlarge", "m7i.2xlarge"]
    assert len(m.of_type(LT)) == 2


def test_raid0_needs_instance_store_on_every_type(m: SociMocks) -> None:
    spec = al2023("nvme", local_storage=LocalStorage.RAID0, instance_types=("m6id.2xlarge", "m7i.2xlarge", "c6id.2xlarge", "m6i.2xlarge"))

    def program() -> Any:
        SociNodeGroup("ng", SociNodeGroupArgs(cluster=attach(m.clusters["soci-test"]), spec=replace(spec, name="ng")))

    with pytest.raises(Exception) as info:
        run(program)
    message = str(info.value)
    assert "SociNodeGroup('ng').localStorage: 'raid0' puts containerd and SOCI on the instance-store NVMe" in message
    assert "m7i.2xlarge (instanceTypes[1]), m6i.2xlarge (instanceTypes[3])" in message
    listed = message.split("have none:")[1].split(";")[0]
    assert "m6id.2xlarge" not in listed and "c6id.2xlarge" not in listed
    assert m.of_type(LT) == []


def test_raid0_on_nvme_types_deploys(m: SociMocks) -> None:
    spec = al2023("nvme", local_storage=LocalStorage.RAID0, instance_types=("m6id.2xlarge", "c6id.2xlarge"))

    def program() -> Any:
        node_group("ng", spec, m)

    run(program)
    assert sorted(a["instanceType"] for a in m.calls_to("aws:ec2/getInstanceType:getInstanceType")) == ["c6id.2xlarge", "m6id.2xlarge"]
    assert user_data_of(m.one(LT)) == expected_user_data(m, spec, "ng")


def test_raw_ami_id_is_used_as_is(m: SociMocks) -> None:
    spec = NodeGroupSpec(
        name="raw",
        kubernetes_version="1.33",
        ami=AmiPin(ami_id="ami-0123456789abcdef0", containerd_version="2.2.4"),
        instance_types=("m7i.xlarge",),
        soci_source=UpstreamRelease(),
    )

    def program() -> Any:
        node_group("ng", spec, m)

    run(program)
    assert m.one(LT).inputs["imageId"] == "ami-0123456789abcdef0"
    assert m.calls_to("aws:ssm/getParameter:getParameter") == []
    assert user_data_of(m.one(LT)) == expected_user_data(m, spec, "ng")


def test_refused_release_fails_before_any_resource(m: SociMocks) -> None:
    spec = NodeGroupSpec(name="bad", kubernetes_version="1.33", ami=AmiPin(release="v20260505"), instance_types=("m7i.xlarge",))

    def program() -> Any:
        SociNodeGroup("ng", SociNodeGroupArgs(cluster=attach(m.clusters["soci-test"]), spec=replace(spec, name="ng")))

    with pytest.raises(NodeGroupError, match=r"SociNodeGroup\('ng'\)\.ami\.release: AL2023 release v20260505 ships containerd 2\.2\.3") as info:
        run(program)
    assert isinstance(info.value, pulumi.RunError)  # reported without a stack trace
    assert m.of_type(LT) == [] and m.of_type(NG) == []


def test_children_are_parented_and_named_from_the_component(m: SociMocks) -> None:
    def program() -> Any:
        node_group("team-a", al2023(credentials=(StaticCredentials("registry.example.com"),)), m,
                   registry_credentials=pulumi.Output.secret({"registry.example.com": {"username": "u", "password": "p"}}))

    run(program)
    component = m.one("soci-eks:index:SociNodeGroup")
    assert component.custom is False
    children = [r for r in m.resources if r is not component]
    assert children and all(r.parent == component.urn for r in children)
    assert all(r.name.startswith("team-a-") for r in children)
