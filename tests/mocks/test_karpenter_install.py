"""The Karpenter component under Pulumi mocks: the controller's Pod Identity role and its least-privilege
policy, the interruption queue and its four EventBridge rules, the pinned Helm release, parents and tags,
and the refusal of bad arguments with their key paths.

Every expectation is a literal (never the module's constants): changing what the component creates must
fail here.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from soci_component.components.errors import ComponentError
from soci_component.components.karpenter import Karpenter, KarpenterArgs
from tests.support.pulumi_mocks import FakeCluster, SociMocks, mocked, run, unwrap

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ENDPOINT = "https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com"
TAGS = {"team": "platform", "cost-center": "42"}
TAGGED = {"team": "platform", "cost-center": "42", "soci-eks:component": "karpenter"}
QUEUE_NAME = "kp-interruption-1234567"
QUEUE_ARN = "arn:aws:sqs:us-west-2:123456789012:kp-interruption-1234567"
QUEUE_URL = "https://sqs.us-west-2.amazonaws.com/123456789012/kp-interruption-1234567"
ROLE_ARN = "arn:aws:iam::123456789012:role/kp-controller"
NODE_ROLES = ["arn:aws:iam::123456789012:role/pool-b-node-role", "arn:aws:iam::123456789012:role/pool-a-node-role"]

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
ADDON = "aws:eks/addon:Addon"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
RELEASE = "kubernetes:helm.sh/v3:Release"
COMPONENT = "soci-eks:index:Karpenter"


@pytest.fixture
def m() -> Any:
    mocks = SociMocks(clusters={"soci-test": FakeCluster()})
    with mocked(mocks):
        yield mocks


def install(name: str = "kp", **kw: Any) -> Karpenter:
    import pulumi_kubernetes as k8s

    kw.setdefault("tags", TAGS)
    provider = k8s.Provider("k8s", kubeconfig="{}")
    return Karpenter(name, KarpenterArgs(cluster_name="soci-test", cluster_endpoint=ENDPOINT, kubernetes_provider=provider, **kw))


def installed(m: SociMocks, **kw: Any) -> SociMocks:
    def program() -> Any:
        k = install(**kw)
        return pulumi.Output.all(k.controller_role_arn, k.interruption_queue_name)

    run(program)
    return m


def statements(m: SociMocks) -> dict[str, dict[str, Any]]:
    doc = json.loads(m.one(ROLE_POLICY).inputs["policy"])
    assert doc["Version"] == "2012-10-17"
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert len(by_sid) == len(doc["Statement"]), "statement IDs are unique"
    return by_sid


def actions(s: dict[str, Any]) -> list[str]:
    return s["Action"] if isinstance(s["Action"], list) else [s["Action"]]


# --- the controller's identity ---------------------------------------------------------------


@pytest.mark.parametrize("partition", ["aws", "aws-us-gov"])
def test_trust_policy_is_pod_identity_for_karpenters_service_account_only(partition: str) -> None:
    mocks = SociMocks(partition=partition, clusters={"soci-test": FakeCluster()})
    with mocked(mocks) as m:
        installed(m, namespace="karpenter", service_account="karpenter-controller")
    role = m.one(ROLE)
    assert role.name == "kp-controller"
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust == {"Version": "2012-10-17", "Statement": [{
        "Sid": "EksPodIdentityForKarpenter",
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {
            "aws:RequestTag/eks-cluster-name": "soci-test",
            "aws:RequestTag/kubernetes-namespace": "karpenter",
            "aws:RequestTag/kubernetes-service-account": "karpenter-controller",
        }},
    }]}
    assert "managedPolicyArns" not in role.inputs and "inlinePolicies" not in role.inputs
    assert m.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []  # the one inline policy is all it gets


def test_pod_identity_association_and_agent(m: SociMocks) -> None:
    installed(m)
    assoc = m.one(ASSOCIATION)
    assert {k: assoc.inputs[k] for k in ("clusterName", "namespace", "serviceAccount", "roleArn")} == {
        "clusterName": "soci-test", "namespace": "kube-system", "serviceAccount": "karpenter", "roleArn": ROLE_ARN}
    addon = m.one(ADDON)
    assert addon.inputs["addonName"] == "eks-pod-identity-agent" and addon.inputs["clusterName"] == "soci-test"
    assert addon.urn in assoc.dependencies


def test_cluster_with_the_agent_already_gets_no_second_add_on(m: SociMocks) -> None:
    installed(m, install_pod_identity_agent=False)
    assert m.of_type(ADDON) == []
    assert m.one(ASSOCIATION).inputs["serviceAccount"] == "karpenter"


# --- the controller policy -------------------------------------------------------------------


def test_controller_policy_grants_exactly_karpenters_calls(m: SociMocks) -> None:
    installed(m)
    policy = m.one(ROLE_POLICY)
    assert policy.inputs["role"] == "kp-controller-id"
    granted = sorted({a for s in statements(m).values() for a in actions(s)})
    # karpenter-provider-aws v1.15.0 pkg/aws/sdk.go, less what only off-by-default gates call (RebootInstances,
    # arc-zonal-shift:GetManagedResource) and what v1.15 never calls (ec2:DescribeAvailabilityZones).
    assert granted == sorted([
        "ec2:CreateFleet", "ec2:CreateLaunchTemplate", "ec2:CreateTags", "ec2:DeleteLaunchTemplate", "ec2:RunInstances", "ec2:TerminateInstances",
        "ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus",
        "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates", "ec2:DescribePlacementGroups",
        "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets",
        "iam:PassRole", "iam:CreateInstanceProfile", "iam:TagInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile",
        "iam:DeleteInstanceProfile", "iam:GetInstanceProfile", "iam:ListInstanceProfiles",
        "ssm:GetParameter", "pricing:GetProducts", "eks:DescribeCluster", "sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage",
    ])
    assert all(s["Effect"] == "Allow" for s in statements(m).values())
    # IAM counts 10,240 characters for all inline policies of a role together.
    assert len(policy.inputs["policy"]) < 10240


def test_unscoped_resources_only_for_reads(m: SociMocks) -> None:
    installed(m)
    star = {sid: s for sid, s in statements(m).items() if s["Resource"] == "*" or "*" in (s["Resource"] if isinstance(s["Resource"], list) else [])}
    assert sorted(a for s in star.values() for a in actions(s)) == sorted([
        "ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus",
        "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates", "ec2:DescribePlacementGroups",
        "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets", "pricing:GetProducts", "iam:ListInstanceProfiles"])
    describe = next(s for s in star.values() if "ec2:DescribeImages" in actions(s))
    assert describe["Condition"] == {"StringEquals": {"aws:RequestedRegion": "us-west-2"}}


def test_pass_role_defaults_to_any_role_but_only_to_ec2(m: SociMocks) -> None:
    installed(m)
    assert statements(m)["PassNodeRole"] == {
        "Sid": "PassNodeRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::123456789012:role/*",
        "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}
    assert [s["Sid"] for s in statements(m).values() if "iam:PassRole" in actions(s)] == ["PassNodeRole"]


def test_pass_role_limited_to_the_node_roles_given(m: SociMocks) -> None:
    def program() -> Any:
        install(node_role_arns=pulumi.Output.from_input(NODE_ROLES))

    run(program)
    passing = [s for s in statements(m).values() if "iam:PassRole" in actions(s)]
    assert passing == [{
        "Sid": "PassNodeRole", "Effect": "Allow", "Action": "iam:PassRole",
        "Resource": ["arn:aws:iam::123456789012:role/pool-a-node-role", "arn:aws:iam::123456789012:role/pool-b-node-role"],
        "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}]


def test_ec2_writes_need_this_clusters_tags(m: SociMocks) -> None:
    installed(m)
    s = statements(m)
    # what a launch creates must be requested with the cluster's and a node pool's tags
    create = s["CreateTaggedResources"]
    assert sorted(actions(create)) == ["ec2:CreateFleet", "ec2:CreateLaunchTemplate", "ec2:RunInstances"]
    assert create["Resource"] == [f"arn:aws:ec2:us-west-2:123456789012:{r}/*" for r in (
        "fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")]
    assert create["Condition"] == {
        "StringEquals": {"aws:RequestTag/kubernetes.io/cluster/soci-test": "owned", "aws:RequestTag/eks:eks-cluster-name": "soci-test"},
        "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}
    assert s["TagOnCreate"]["Condition"]["StringEquals"]["ec2:CreateAction"] == ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]
    # launching from launch templates, terminating, deleting and re-tagging: only what is already this cluster's
    for sid in ("LaunchFromOwnLaunchTemplates", "DeleteOwnResources", "TagOwnInstances"):
        assert s[sid]["Condition"]["StringEquals"]["aws:ResourceTag/kubernetes.io/cluster/soci-test"] == "owned", sid
        assert s[sid]["Condition"]["StringLike"] == {"aws:ResourceTag/karpenter.sh/nodepool": "*"}, sid
    assert sorted(actions(s["DeleteOwnResources"])) == ["ec2:DeleteLaunchTemplate", "ec2:TerminateInstances"]
    assert s["TagOwnInstances"]["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]}
    # the one unconditioned launch statement covers only what launches read, never what they create
    assert s["LaunchFromRegionalResources"]["Resource"] == [
        "arn:aws:ec2:us-west-2::image/*", "arn:aws:ec2:us-west-2::snapshot/*", "arn:aws:ec2:us-west-2:*:security-group/*",
        "arn:aws:ec2:us-west-2:*:subnet/*", "arn:aws:ec2:us-west-2:*:capacity-reservation/*", "arn:aws:ec2:us-west-2:*:placement-group/*"]
    assert "Condition" not in s["LaunchFromRegionalResources"]
    unconditioned_writes = [sid for sid, st in s.items() if "Condition" not in st and any(
        a in ("ec2:CreateTags", "ec2:TerminateInstances", "ec2:DeleteLaunchTemplate", "ec2:CreateLaunchTemplate") for a in actions(st))]
    assert unconditioned_writes == []


def test_instance_profiles_scoped_by_karpenters_request_tags(m: SociMocks) -> None:
    installed(m)
    s = statements(m)
    profiles = "arn:aws:iam::123456789012:instance-profile/*"
    assert s["CreateTaggedInstanceProfiles"] == {
        "Sid": "CreateTaggedInstanceProfiles", "Effect": "Allow", "Action": "iam:CreateInstanceProfile", "Resource": profiles,
        "Condition": {"StringEquals": {"aws:RequestTag/kubernetes.io/cluster/soci-test": "owned", "aws:RequestTag/eks:eks-cluster-name": "soci-test",
                                       "aws:RequestTag/topology.kubernetes.io/region": "us-west-2"},
                      "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}}
    tag = s["TagOwnInstanceProfiles"]
    assert tag["Action"] == "iam:TagInstanceProfile" and tag["Resource"] == profiles
    assert tag["Condition"]["StringEquals"]["aws:ResourceTag/kubernetes.io/cluster/soci-test"] == "owned"
    assert tag["Condition"]["StringEquals"]["aws:RequestTag/kubernetes.io/cluster/soci-test"] == "owned"
    assert tag["Condition"]["StringLike"] == {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*", "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}
    manage = s["ManageOwnInstanceProfiles"]
    assert sorted(actions(manage)) == ["iam:AddRoleToInstanceProfile", "iam:DeleteInstanceProfile", "iam:RemoveRoleFromInstanceProfile"]
    assert manage["Resource"] == profiles
    assert manage["Condition"] == {
        "StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/soci-test": "owned", "aws:ResourceTag/topology.kubernetes.io/region": "us-west-2"},
        "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}}
    assert s["ReadInstanceProfiles"]["Resource"] == profiles


def test_reads_scoped_to_the_cluster_the_queue_and_public_parameters(m: SociMocks) -> None:
    installed(m)
    s = statements(m)
    assert s["ReadAmiParameters"]["Action"] == "ssm:GetParameter"
    assert s["ReadAmiParameters"]["Resource"] == "arn:aws:ssm:us-west-2::parameter/aws/service/*"
    assert s["DiscoverApiServer"]["Action"] == "eks:DescribeCluster"
    assert s["DiscoverApiServer"]["Resource"] == "arn:aws:eks:us-west-2:123456789012:cluster/soci-test"
    assert sorted(actions(s["InterruptionQueue"])) == ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]
    assert s["InterruptionQueue"]["Resource"] == QUEUE_ARN


def test_partition_reaches_every_arn() -> None:
    mocks = SociMocks(partition="aws-us-gov", region="us-gov-west-1", clusters={"soci-test": FakeCluster()})
    with mocked(mocks) as m:
        installed(m)
    document = m.one(ROLE_POLICY).inputs["policy"]
    arns = [a for s in json.loads(document)["Statement"] for a in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]) if a != "*"]
    assert arns and all(a.startswith("arn:aws-us-gov:") for a in arns), arns
    assert "arn:aws-us-gov:ssm:us-gov-west-1::parameter/aws/service/*" in arns
    assert "arn:aws:" not in document and "us-west-2" not in document


# --- interruption handling -------------------------------------------------------------------


def test_interruption_queue(m: SociMocks) -> None:
    installed(m)
    q = m.one(QUEUE).inputs
    assert q["messageRetentionSeconds"] == 300 and q["sqsManagedSseEnabled"] is True
    assert "kmsMasterKeyId" not in q and "fifoQueue" not in q


def test_four_rules_each_targeting_the_queue(m: SociMocks) -> None:
    installed(m)
    rules = {r.name: r for r in m.of_type(RULE)}
    patterns = sorted((json.loads(r.inputs["eventPattern"])["source"], json.loads(r.inputs["eventPattern"])["detail-type"]) for r in rules.values())
    assert patterns == sorted([
        (["aws.ec2"], ["EC2 Spot Instance Interruption Warning"]),
        (["aws.ec2"], ["EC2 Instance Rebalance Recommendation"]),
        (["aws.ec2"], ["EC2 Instance State-change Notification"]),
        (["aws.health"], ["AWS Health Event"]),
    ])
    assert all(set(json.loads(r.inputs["eventPattern"])) == {"source", "detail-type"} for r in rules.values())
    targets = m.of_type(TARGET)
    assert sorted(t.inputs["rule"] for t in targets) == sorted(f"{n}-1234567" for n in rules)  # one target per rule, by its name
    assert {t.inputs["arn"] for t in targets} == {QUEUE_ARN}


def test_queue_policy_lets_only_the_rules_and_sqs_send(m: SociMocks) -> None:
    installed(m)
    qp = m.one(QUEUE_POLICY).inputs
    assert qp["queueUrl"] == QUEUE_URL
    doc = json.loads(qp["policy"])
    allow = [s for s in doc["Statement"] if s["Effect"] == "Allow"]
    assert sorted(s["Principal"]["Service"] for s in allow) == ["events.amazonaws.com", "sqs.amazonaws.com"]
    assert all(s["Action"] == "sqs:SendMessage" and s["Resource"] == QUEUE_ARN for s in allow)
    events = next(s for s in allow if s["Principal"]["Service"] == "events.amazonaws.com")
    assert events["Condition"] == {"ArnEquals": {"aws:SourceArn": sorted(
        f"arn:aws:events:us-west-2:123456789012:rule/kp-{k}-1234567" for k in ("spot-interruption", "rebalance", "state-change", "scheduled-change"))}}
    (deny,) = [s for s in doc["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and deny["Principal"] == "*"


# --- the Helm release ------------------------------------------------------------------------


def test_release_is_the_pinned_chart_with_our_values(m: SociMocks) -> None:
    installed(m)
    release = m.one(RELEASE)
    i = release.inputs
    assert i["chart"] == "oci://public.ecr.aws/karpenter/karpenter"
    assert i["version"] == "1.15.0"
    assert i["name"] == "karpenter" and i["namespace"] == "kube-system"
    assert "repositoryOpts" not in i
    assert unwrap(i["values"]) == {
        "settings": {"clusterName": "soci-test", "clusterEndpoint": ENDPOINT, "interruptionQueue": QUEUE_NAME},
        "serviceAccount": {"create": True, "name": "karpenter"},
        "replicas": 2,
        "controller": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}},
        "dnsPolicy": "Default",
    }
    assert release.provider == "urn:pulumi:test::soci-eks::pulumi:pulumi:Stack$pulumi:providers:kubernetes::k8s::k8s-id"  # the provider passed in


def test_release_waits_for_the_identity_and_the_policy(m: SociMocks) -> None:
    installed(m)
    deps = set(m.one(RELEASE).dependencies)
    assert {m.one(ASSOCIATION).urn, m.one(ROLE_POLICY).urn, m.one(ADDON).urn} <= deps


def test_release_settings_follow_the_args(m: SociMocks) -> None:
    installed(m, version="1.15.2", namespace="karpenter", service_account="kctl", replicas=3)
    i = m.one(RELEASE).inputs
    assert i["version"] == "1.15.2" and i["namespace"] == "karpenter" and i["createNamespace"] is True
    values = unwrap(i["values"])
    assert values["serviceAccount"] == {"create": True, "name": "kctl"} and values["replicas"] == 3
    assoc = m.one(ASSOCIATION).inputs
    assert (assoc["namespace"], assoc["serviceAccount"]) == ("karpenter", "kctl")


# --- the component ---------------------------------------------------------------------------


def test_everything_parented_and_tagged(m: SociMocks) -> None:
    installed(m)
    (component,) = [r for r in m.resources if r.typ == COMPONENT]
    children = [r for r in m.resources if r is not component and not r.typ.startswith("pulumi:providers:")]
    assert sorted(r.typ for r in children) == sorted([ROLE, ROLE_POLICY, QUEUE, QUEUE_POLICY, ADDON, ASSOCIATION, RELEASE, *[RULE] * 4, *[TARGET] * 4])
    assert all(r.parent == component.urn for r in children), [r.name for r in children if r.parent != component.urn]
    assert all(r.name.startswith("kp-") for r in children)
    taggable = [r for r in children if r.typ in (ROLE, QUEUE, RULE, ADDON, ASSOCIATION)]
    assert len(taggable) == 8
    assert all(r.inputs["tags"] == TAGGED for r in taggable), [(r.name, r.inputs.get("tags")) for r in taggable]


def test_outputs(m: SociMocks) -> None:
    installed(m)
    (component,) = [r for r in m.resources if r.typ == COMPONENT]
    out = m.monitor.outputs[component.urn]  # type: ignore[union-attr]
    assert out["controllerRoleArn"] == ROLE_ARN
    assert out["interruptionQueueName"] == QUEUE_NAME
    assert out["interruptionQueueArn"] == QUEUE_ARN


def test_other_minor_version_warns(m: SociMocks, monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda msg, *a, **kw: said.append(msg))
    installed(m)
    assert said == []
    installed(m, version="1.16.0")
    assert said == ["Karpenter('kp').version: Karpenter 1.16.0: the controller policy was written from Karpenter 1.15's source; "
                    "check the AWS calls of 1.16.0 against it"]


# --- refusals --------------------------------------------------------------------------------

BAD = [
    ({"version": "1.15"}, "Karpenter('kp').version", "is not a Karpenter chart version such as '1.15.0'"),
    ({"version": "v1.15.0"}, "Karpenter('kp').version", "is not a Karpenter chart version"),
    ({"version": "1.15.0\n"}, "Karpenter('kp').version", "contains a control character"),
    ({"version": 1.15}, "Karpenter('kp').version", "expected a Karpenter chart version"),
    ({"replicas": 0}, "Karpenter('kp').replicas", "expected an integer from 1 to 10"),
    ({"replicas": 11}, "Karpenter('kp').replicas", "expected an integer from 1 to 10"),
    ({"replicas": True}, "Karpenter('kp').replicas", "expected an integer from 1 to 10"),
    ({"namespace": "Kube-System"}, "Karpenter('kp').namespace", "is not a Kubernetes namespace name"),
    ({"namespace": "kube_system"}, "Karpenter('kp').namespace", "is not a Kubernetes namespace name"),
    ({"namespace": "n" * 64}, "Karpenter('kp').namespace", "is not a Kubernetes namespace name"),
    ({"namespace": ""}, "Karpenter('kp').namespace", "is not a Kubernetes namespace name"),
    ({"service_account": "karpenter.controller"}, "Karpenter('kp').serviceAccount", "is not a service account name"),
    ({"service_account": "-karpenter"}, "Karpenter('kp').serviceAccount", "is not a service account name"),
    ({"install_pod_identity_agent": "yes"}, "Karpenter('kp').installPodIdentityAgent", "expected true or false"),
    ({"tags": {"aws:owner": "me"}}, 'Karpenter(\'kp\').tags["aws:owner"]', "reserved for AWS"),
    ({"node_role_arns": []}, "Karpenter('kp').nodeRoleArns", "an empty list lets Karpenter pass no role"),
    ({"node_role_arns": "arn:aws:iam::123456789012:role/node"}, "Karpenter('kp').nodeRoleArns", "not one string"),
    ({"node_role_arns": ["arn:aws:iam::123456789012:role/ok", "node-role"]}, "Karpenter('kp').nodeRoleArns[1]", "is not an IAM role ARN"),
    ({"node_role_arns": ["arn:aws:iam::123456789012:user/node"]}, "Karpenter('kp').nodeRoleArns[0]", "is not an IAM role ARN"),
]


@pytest.mark.parametrize("kw,path,message", BAD, ids=[f"{p}-{i}" for i, (_, p, _) in enumerate(BAD)])
def test_bad_args_refused_with_their_key_path(m: SociMocks, kw: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(ComponentError) as info:
        installed(m, **kw)
    assert info.value.path == path
    assert message in info.value.message, info.value.message
    assert not [r for r in m.resources if r.typ.startswith("aws:") or r.typ.startswith("kubernetes:")], "nothing created"


def test_component_name_too_long_for_aws_names(m: SociMocks) -> None:
    def program() -> Any:
        install("k" * 39)

    with pytest.raises(ComponentError) as info:
        run(program)
    assert info.value.path == f"Karpenter({'k' * 39!r})"
    assert info.value.message.startswith(f"the EventBridge rule name {'k' * 39}-spot-interruption-xxxxxxx would have 65 characters; AWS allows 64")

    def fits() -> Any:
        install("k" * 38)

    run(fits)
    assert len(m.of_type(RULE)) == 4


def test_too_many_node_roles_for_an_inline_policy(m: SociMocks) -> None:
    roles = [f"arn:aws:iam::123456789012:role/{'r' * 60}-{i}" for i in range(60)]

    def program() -> Any:
        return install(node_role_arns=roles).controller_policy.policy

    with pytest.raises(Exception, match=r"Karpenter\('kp'\)\.nodeRoleArns: the controller policy would have \d+ characters; IAM allows 10240"):
        run(program)
