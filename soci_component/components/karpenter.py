"""``Karpenter``: Karpenter itself on a cluster that has none yet (the demo's ``soci-eks:karpenter``).

Resources: the controller's IAM role through EKS Pod Identity (the pod-identity agent add-on, a role
``pods.eks.<dns suffix>`` may assume, the association with Karpenter's service account), its policy
(least privilege, scoped by the tags Karpenter puts on what it creates), the interruption queue with
its EventBridge rules (spot interruption, rebalance recommendation, instance state change, scheduled
health events), and the pinned Helm release. The permissions follow what Karpenter v1.x calls
(karpenter-provider-aws ``pkg/providers/*``: CreateFleet, RunInstances, launch templates, instance
profiles, SSM AMI parameters, pricing, the interruption queue, DescribeCluster).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ..errors import SpecError
from ..spec import KARPENTER_CHART_VERSION, VERSION_RE
from .attachment import AwsEnvironment
from .errors import failure

TOKEN = "soci-eks:index:Karpenter"
CHART = "oci://public.ecr.aws/karpenter/karpenter"
"""Karpenter's published chart location (its documentation's install command)."""
EVENTS = {
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
    "scheduled-change": ("aws.health", "AWS Health Event"),
}
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


@dataclass(kw_only=True)
class KarpenterArgs:
    """Arguments of :class:`Karpenter`."""

    cluster_name: pulumi.Input[str]
    cluster_endpoint: pulumi.Input[str]
    kubernetes_provider: pulumi.ProviderResource
    """Where the Helm release goes."""
    version: str = KARPENTER_CHART_VERSION
    """Karpenter chart/app version, pinned (the one the tests run Karpenter's merge code at)."""
    namespace: str = "kube-system"
    service_account: str = "karpenter"
    replicas: int = 2
    install_pod_identity_agent: bool = True
    """Install the ``eks-pod-identity-agent`` add-on; False on clusters that have it already."""
    node_role_arns: pulumi.Input[Sequence[str]] | None = None
    """Roles Karpenter may pass to EC2 (the node pools' roles). Unset: any role of the account, only to ``ec2.<dns suffix>``."""
    tags: Mapping[str, str] = field(default_factory=dict)
    aws_environment: AwsEnvironment | None = None


class Karpenter(pulumi.ComponentResource):
    """Karpenter on an EKS cluster: controller role (Pod Identity), interruption queue, pinned Helm release."""

    controller_role: aws.iam.Role
    interruption_queue: aws.sqs.Queue
    release: Any
    """The ``pulumi_kubernetes.helm.v3.Release``."""
    controller_role_arn: pulumi.Output[str]
    interruption_queue_name: pulumi.Output[str]

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        import pulumi_kubernetes as k8s

        try:
            if not isinstance(args.version, str) or not VERSION_RE.fullmatch(args.version):
                raise SpecError("karpenter.version", f"{args.version!r}: expected a chart version such as '1.15.0'")
            if not isinstance(args.replicas, int) or isinstance(args.replicas, bool) or not 1 <= args.replicas <= 10:
                raise SpecError("karpenter.replicas", f"{args.replicas!r}: expected 1..10")
            for key, value in (("namespace", args.namespace), ("serviceAccount", args.service_account)):
                if not isinstance(value, str) or not _DNS_LABEL.fullmatch(value):
                    raise SpecError(f"karpenter.{key}", f"{value!r} is not a Kubernetes name (lowercase letters, digits, '-', at most 63)")
        except SpecError as e:
            raise failure(e) from None
        child = pulumi.ResourceOptions(parent=self)
        env = args.aws_environment or AwsEnvironment.lookup(pulumi.InvokeOutputOptions(parent=self))
        tags = {**dict(args.tags), "soci-eks:component": "karpenter"}

        # --- interruption queue and the events Karpenter drains nodes on -------------------------
        self.interruption_queue = aws.sqs.Queue(f"{name}-interruption", message_retention_seconds=300, sqs_managed_sse_enabled=True, tags=tags, opts=child)
        aws.sqs.QueuePolicy(
            f"{name}-interruption",
            queue_url=self.interruption_queue.url,
            policy=pulumi.Output.all(self.interruption_queue.arn, env.dns_suffix).apply(lambda v: _queue_policy(*v)),
            opts=child,
        )
        for key, (source, detail_type) in EVENTS.items():
            rule = aws.cloudwatch.EventRule(f"{name}-{key}", event_pattern=json.dumps({"source": [source], "detail-type": [detail_type]}), tags=tags, opts=child)
            aws.cloudwatch.EventTarget(f"{name}-{key}", rule=rule.name, arn=self.interruption_queue.arn, opts=child)

        # --- the controller's role through EKS Pod Identity --------------------------------------
        self.controller_role = aws.iam.Role(
            f"{name}-controller",
            description="Karpenter controller (EKS Pod Identity)",
            assume_role_policy=pulumi.Output.from_input(env.dns_suffix).apply(_trust_policy),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-controller",
            role=self.controller_role.id,
            policy=pulumi.Output.all(
                partition=env.partition, region=env.region, account=env.account_id, dns=env.dns_suffix, cluster=args.cluster_name,
                queue=self.interruption_queue.arn, roles=args.node_role_arns,
            ).apply(lambda v: controller_policy(**v)),
            opts=child,
        )
        depends: list[pulumi.Resource] = []
        if args.install_pod_identity_agent:
            depends.append(aws.eks.Addon(f"{name}-pod-identity-agent", cluster_name=args.cluster_name, addon_name="eks-pod-identity-agent", tags=tags, opts=child))
        depends.append(aws.eks.PodIdentityAssociation(
            f"{name}-controller",
            cluster_name=args.cluster_name,
            namespace=args.namespace,
            service_account=args.service_account,
            role_arn=self.controller_role.arn,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends)),
        ))

        # --- the chart -------------------------------------------------------------------------
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            chart=CHART,
            version=args.version,
            namespace=args.namespace,
            values={
                "settings": {"clusterName": args.cluster_name, "clusterEndpoint": args.cluster_endpoint, "interruptionQueue": self.interruption_queue.name},
                "serviceAccount": {"name": args.service_account},
                "replicas": args.replicas,
                "controller": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}},
            },
            opts=pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider, depends_on=depends),
        )
        self.controller_role_arn = self.controller_role.arn
        self.interruption_queue_name = self.interruption_queue.name
        self.register_outputs({"controllerRoleArn": self.controller_role_arn, "interruptionQueueName": self.interruption_queue_name})


def _trust_policy(dns: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": f"pods.eks.{dns}"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]})


def _queue_policy(queue_arn: str, dns: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": [f"events.{dns}", f"sqs.{dns}"]}, "Action": "sqs:SendMessage", "Resource": queue_arn}]})


def controller_policy(*, partition: str, region: str, account: str, dns: str, cluster: str, queue: str, roles: Sequence[str] | None) -> str:
    """Karpenter's controller permissions, scoped by the tags it puts on what it creates (pure; tested)."""
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"}
    requested = {f"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned", "aws:RequestTag/eks:eks-cluster-name": cluster}
    region_arn = f"arn:{partition}:ec2:{region}"
    statements: list[dict[str, Any]] = [
        # launch from AMIs, snapshots, security groups and subnets of the region
        {"Sid": "LaunchFromRegionalResources", "Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
         "Resource": [f"{region_arn}::image/*", f"{region_arn}::snapshot/*", f"{region_arn}:*:security-group/*", f"{region_arn}:*:subnet/*",
                      f"{region_arn}:*:capacity-reservation/*"]},
        # launch templates Karpenter made for this cluster
        {"Sid": "LaunchFromOwnLaunchTemplates", "Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
         "Resource": f"{region_arn}:*:launch-template/*", "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}},
        # what it creates carries the cluster and node pool tags
        {"Sid": "CreateTaggedResources", "Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
         "Resource": [f"{region_arn}:*:{r}/*" for r in ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")],
         "Condition": {"StringEquals": requested, "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "TagOnCreate", "Effect": "Allow", "Action": "ec2:CreateTags",
         "Resource": [f"{region_arn}:*:{r}/*" for r in ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")],
         "Condition": {"StringEquals": {**requested, "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]},
                       "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
        # its own instances: the node claim tag, and termination
        {"Sid": "TagOwnInstances", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": f"{region_arn}:*:instance/*",
         "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                       "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]}}},
        {"Sid": "DeleteOwnResources", "Effect": "Allow", "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
         "Resource": [f"{region_arn}:*:instance/*", f"{region_arn}:*:launch-template/*"],
         "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}},
        # reading the region's capacity and prices
        {"Sid": "DescribeRegion", "Effect": "Allow", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
         "Action": ["ec2:DescribeAvailabilityZones", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceTypeOfferings",
                    "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates", "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory",
                    "ec2:DescribeSubnets", "ec2:DescribeCapacityReservations"]},
        {"Sid": "ReadAmiParameters", "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*"},
        {"Sid": "ReadPrices", "Effect": "Allow", "Action": "pricing:GetProducts", "Resource": "*"},
        {"Sid": "InterruptionQueue", "Effect": "Allow", "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"], "Resource": queue},
        # node roles go only to EC2 (instance profiles Karpenter makes for them)
        {"Sid": "PassNodeRole", "Effect": "Allow", "Action": "iam:PassRole",
         "Resource": sorted(roles) if roles else f"arn:{partition}:iam::{account}:role/*",
         "Condition": {"StringEquals": {"iam:PassedToService": f"ec2.{dns}"}}},
        {"Sid": "ManageOwnInstanceProfiles", "Effect": "Allow",
         "Action": ["iam:CreateInstanceProfile", "iam:TagInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile",
                    "iam:DeleteInstanceProfile"],
         "Resource": f"arn:{partition}:iam::{account}:instance-profile/*",
         "Condition": {"StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned", "aws:ResourceTag/topology.kubernetes.io/region": region},
                       "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        {"Sid": "CreateTaggedInstanceProfiles", "Effect": "Allow", "Action": ["iam:CreateInstanceProfile", "iam:TagInstanceProfile"],
         "Resource": f"arn:{partition}:iam::{account}:instance-profile/*",
         "Condition": {"StringEquals": {f"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned", "aws:RequestTag/topology.kubernetes.io/region": region},
                       "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        {"Sid": "ReadInstanceProfiles", "Effect": "Allow", "Action": ["iam:GetInstanceProfile", "iam:ListInstanceProfiles"], "Resource": "*"},
        {"Sid": "DiscoverApiServer", "Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": f"arn:{partition}:eks:{region}:{account}:cluster/{cluster}"},
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


__all__ = ["CHART", "EVENTS", "TOKEN", "Karpenter", "KarpenterArgs", "controller_policy"]
