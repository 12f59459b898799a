"""The Karpenter installation and a stack that mixes managed node groups and Karpenter pools, under mocks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from soci_component.components.karpenter import controller_policy
from soci_component.config import load_stack_file
from tests.mocks.test_stacks import cli_config, run_program
from tests.support.pulumi_mocks import unwrap

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def prod() -> tuple[Any, dict[str, Any]]:
    config, secret_keys = cli_config(ROOT / "stacks" / "Pulumi.prod.yaml")
    return run_program(config, secret_keys)


def test_prod_mixes_groups_and_pools(prod: tuple[Any, dict[str, Any]]) -> None:
    m, out = prod
    stack = load_stack_file(ROOT / "stacks" / "Pulumi.prod.yaml")
    assert len(m.of_type("aws:eks/nodeGroup:NodeGroup")) == len(stack.node_groups) == 3
    classes = {unwrap(r.inputs["metadata"])["name"]: unwrap(r.inputs["spec"]) for r in m.of_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")}
    pools = {unwrap(r.inputs["metadata"])["name"]: unwrap(r.inputs["spec"]) for r in m.of_type("kubernetes:karpenter.sh/v1:NodePool")}
    assert sorted(classes) == sorted(pools) == ["burst", "graviton"]
    assert classes["burst"]["amiSelectorTerms"] == [{"alias": "al2023@v20260714"}]
    assert classes["graviton"]["amiSelectorTerms"] == [{"alias": "bottlerocket@v1.57.0"}]
    # subnets and the security group by ID: the cluster's private subnets and its security group
    assert classes["burst"]["subnetSelectorTerms"] == [{"id": s} for s in ("subnet-0priv000000000000", "subnet-0priv000000000001", "subnet-0priv000000000002")]
    assert classes["burst"]["securityGroupSelectorTerms"] == [{"id": "sg-0cluster0000000001"}]
    assert {"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]} in pools["graviton"]["template"]["spec"]["requirements"]
    assert pools["burst"]["template"]["spec"]["taints"] == [{"key": "burst", "effect": "NoSchedule"}]
    assert sorted(out["nodePools"]) == ["burst", "graviton"]
    assert out["nodePools"]["burst"]["amiAlias"] == "al2023@v20260714"


def test_karpenter_is_installed_pinned_with_pod_identity(prod: tuple[Any, dict[str, Any]]) -> None:
    m, _ = prod
    (release,) = m.of_type("kubernetes:helm.sh/v3:Release")
    assert release.inputs["chart"] == "oci://public.ecr.aws/karpenter/karpenter" and release.inputs["version"] == "1.15.0"
    values = unwrap(release.inputs["values"])
    assert values["settings"]["clusterName"] == "soci-prod" and values["serviceAccount"]["name"] == "karpenter"
    (assoc,) = m.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert (assoc.inputs["namespace"], assoc.inputs["serviceAccount"]) == ("kube-system", "karpenter")
    role = next(r for r in m.of_type("aws:iam/role:Role") if "karpenter-controller" in r.name)
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"} and sorted(trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    rules = {json.dumps(json.loads(r.inputs["eventPattern"]), sort_keys=True) for r in m.of_type("aws:cloudwatch/eventRule:EventRule")}
    assert rules == {json.dumps({"detail-type": [d], "source": [s]}, sort_keys=True) for s, d in (
        ("aws.ec2", "EC2 Spot Instance Interruption Warning"), ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
        ("aws.ec2", "EC2 Instance State-change Notification"), ("aws.health", "AWS Health Event"))}
    assert len(m.of_type("aws:cloudwatch/eventTarget:EventTarget")) == 4
    # the pools' custom resources wait for the release (its CRDs)
    release_urn = release.urn
    for r in m.of_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"):
        assert any("karpenter" in d for d in r.dependencies), r.dependencies
    assert release_urn


def test_controller_policy_is_scoped() -> None:
    doc = json.loads(controller_policy(partition="aws", region="us-west-2", account="123456789012", dns="amazonaws.com", cluster="c",
                                       queue="arn:aws:sqs:us-west-2:123456789012:q", roles=None))
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["PassNodeRole"]["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    assert by_sid["DeleteOwnResources"]["Condition"]["StringEquals"] == {"aws:ResourceTag/kubernetes.io/cluster/c": "owned"}
    assert by_sid["InterruptionQueue"]["Resource"] == "arn:aws:sqs:us-west-2:123456789012:q"
    assert by_sid["ReadAmiParameters"]["Resource"] == "arn:aws:ssm:us-west-2::parameter/aws/service/*"
    assert not any(s.get("Resource") == "*" and any(a.startswith(("ec2:Run", "ec2:Terminate", "iam:Pass", "ec2:Create")) for a in (
        s["Action"] if isinstance(s["Action"], list) else [s["Action"]])) for s in doc["Statement"])
    scoped = json.loads(controller_policy(partition="aws", region="us-west-2", account="1", dns="amazonaws.com", cluster="c", queue="q", roles=["arn:r2", "arn:r1"]))
    assert next(s for s in scoped["Statement"] if s["Sid"] == "PassNodeRole")["Resource"] == ["arn:r1", "arn:r2"]
