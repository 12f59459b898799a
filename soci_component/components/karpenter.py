"""``Karpenter``: Karpenter itself on an EKS cluster that has none yet (the demo, :class:`SociCluster` with node pools).

Resources, all children of the component, named after it, tagged:

- the controller's identity through EKS Pod Identity: the ``eks-pod-identity-agent`` add-on (optional), an
  IAM role only ``pods.eks.<dns suffix>`` may assume — and only for this cluster's Karpenter service account
  (Pod Identity's session tags) — and the ``PodIdentityAssociation`` of that service account with the role;
- the controller policy (one inline policy; :func:`controller_policy`), written from what
  karpenter-provider-aws v1.15.0 calls (``pkg/aws/sdk.go`` lists every AWS API it uses; ``pkg/providers/*``
  and ``pkg/controllers/*`` the calls and the tags it puts on what it creates) and scoped by those tags;
- the interruption queue (SQS, 300 s retention, SQS-managed encryption), its policy, and EventBridge rules
  for the four events Karpenter drains nodes on (spot interruption warning, rebalance recommendation,
  instance state change, AWS Health scheduled change), each targeting the queue;
- the Helm release of ``oci://public.ecr.aws/karpenter/karpenter`` at a pinned version.

Not done here: the EC2 Spot service-linked role (``AWSServiceRoleForEC2Spot``) must exist in the account
before Karpenter launches spot capacity (the controller gets no ``iam:CreateServiceLinkedRole``). Helm
installs the chart's CRDs on first install only and never upgrades them: a later chart version with CRD
changes needs Karpenter's ``karpenter-crd`` chart. Karpenter's controller refuses to run on nodes it
manages (the chart's affinity), so the cluster needs at least one managed node group for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ..errors import SpecError, join, short
from ..spec import KARPENTER_CHART_VERSION, VERSION_RE, check_int, check_match, check_tags
from .attachment import AwsEnvironment
from .errors import failure, guarded
from .nodes import Membership

TOKEN = "soci-eks:index:Karpenter"
CHART = "oci://public.ecr.aws/karpenter/karpenter"
"""Karpenter's published chart (its release script pushes the chart there with version = app version)."""
POLICY_WRITTEN_FOR = "1.15"
"""The Karpenter minor version :func:`controller_policy` was written from (another minor: a warning)."""
RELEASE_NAME = "karpenter"
"""Helm release name: the chart then names the Deployment, Service and roles ``karpenter`` as Karpenter's docs do."""
CONTROLLER_RESOURCES = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}
"""The controller container's resources (Karpenter's documented sizing; no CPU limit: no throttling)."""
EVENTS = {
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
    "scheduled-change": ("aws.health", "AWS Health Event"),
}
"""EventBridge rule key -> (source, detail-type) of the events Karpenter's interruption controller parses
(``pkg/controllers/interruption/messages/*/parser.go``; it keeps the health events of service EC2 with category
``scheduledChange`` and the state changes to stopping/stopped/shutting-down/terminated itself)."""

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/*-]{1,512}")
_SUFFIX = 8
"""``-`` and the 7 random hex characters Pulumi appends to an auto-named resource."""
INLINE_POLICY_LIMIT = 10240
"""IAM's limit on a role's inline policies together (characters, whitespace not counted)."""
_NAME_LIMITS = (("IAM role", "controller", 64), ("SQS queue", "interruption", 80), *(("EventBridge rule", k, 64) for k in EVENTS))


@dataclass
class KarpenterArgs:
    """Arguments of :class:`Karpenter`."""

    cluster_name: pulumi.Input[str]
    """EKS cluster name (Karpenter's ``settings.clusterName``; the tags it scopes everything by)."""
    cluster_endpoint: pulumi.Input[str]
    """API server endpoint (``settings.clusterEndpoint``; spares the controller the discovery at start)."""
    kubernetes_provider: pulumi.ProviderResource
    """The cluster's Kubernetes provider: where the Helm release goes."""
    version: str = KARPENTER_CHART_VERSION
    """Karpenter chart/app version, pinned: ``1.15.0``, the karpenter-provider-aws module the tests build
    Karpenter's bootstrap merge from, and the source the controller policy was written from."""
    namespace: str = "kube-system"
    """Namespace of the release and of Karpenter's service account."""
    service_account: str = "karpenter"
    """Karpenter's service account (the chart creates it; the Pod Identity association names it)."""
    replicas: int = 2
    """Controller replicas (leader election; the chart spreads them over nodes and zones). 1..10."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every AWS resource of the component."""
    install_pod_identity_agent: bool = True
    """Install the ``eks-pod-identity-agent`` EKS add-on (Pod Identity needs it on every node). Pass ``False``
    on a cluster that has the add-on already: EKS refuses a second one."""
    node_role_arns: pulumi.Input[Sequence[str]] | None = None
    """The node roles Karpenter may pass to EC2 (the node pools' roles, ``SociNodePool.role_arn``): ``iam:PassRole``
    on exactly these. Unset: ``iam:PassRole`` on every role of the account (``arn:<partition>:iam::<account>:role/*``),
    still only to ``ec2.<dns suffix>`` — anyone who may write an EC2NodeClass can then give nodes any role of
    the account that EC2 may assume; pass the roles where you can."""


class Karpenter(pulumi.ComponentResource):
    """Karpenter on an EKS cluster: controller role through Pod Identity, interruption queue and rules, pinned Helm release."""

    controller_role: aws.iam.Role
    """The controller's IAM role (trusted by ``pods.eks.<dns suffix>`` for this cluster's Karpenter service account only)."""
    controller_policy: aws.iam.RolePolicy
    """The controller's permissions (:func:`controller_policy`), inline on :attr:`controller_role`."""
    pod_identity_agent: aws.eks.Addon | None
    """The ``eks-pod-identity-agent`` add-on (``None`` with ``install_pod_identity_agent=False``)."""
    pod_identity_association: aws.eks.PodIdentityAssociation
    """Karpenter's service account -> :attr:`controller_role`."""
    interruption_queue: aws.sqs.Queue
    """The SQS queue EventBridge sends interruption events to (Karpenter's ``settings.interruptionQueue``)."""
    interruption_rules: dict[str, aws.cloudwatch.EventRule]
    """Rule key (:data:`EVENTS`) -> EventBridge rule targeting :attr:`interruption_queue`."""
    release: k8s.helm.v3.Release
    """The Helm release of Karpenter's chart."""
    controller_role_arn: pulumi.Output[str]
    """ARN of :attr:`controller_role`."""
    interruption_queue_name: pulumi.Output[str]
    """Name of :attr:`interruption_queue` (what Karpenter is configured with)."""
    interruption_queue_arn: pulumi.Output[str]
    """ARN of :attr:`interruption_queue`."""

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        member: Membership | None = getattr(opts.parent if opts is not None else None, "_soci_karpenter", None)
        path = member.path if member else f"Karpenter({name!r})"
        _check(name, args, path)
        if not args.version.startswith(POLICY_WRITTEN_FOR + "."):
            pulumi.log.warn(f"{join(path, 'version')}: Karpenter {args.version}: the controller policy was written from Karpenter "
                            f"{POLICY_WRITTEN_FOR}'s source; check the AWS calls of {args.version} against it", resource=self)
        env = member.environment if member else AwsEnvironment.lookup(pulumi.InvokeOutputOptions(parent=self))
        tags = {**dict(args.tags), "soci-eks:component": "karpenter"}
        self._interruption(name, env, tags)
        agent = self._controller_identity(name, args, env, tags, path)
        self._release(name, args, agent)
        self.controller_role_arn = self.controller_role.arn
        self.interruption_queue_name = self.interruption_queue.name
        self.interruption_queue_arn = self.interruption_queue.arn
        self.register_outputs({
            "controllerRoleArn": self.controller_role_arn,
            "interruptionQueueName": self.interruption_queue_name,
            "interruptionQueueArn": self.interruption_queue_arn,
            "version": args.version,
        })

    def _interruption(self, name: str, env: AwsEnvironment, tags: Mapping[str, str]) -> None:
        """The interruption queue and the EventBridge rules of the events Karpenter drains nodes on."""
        child = pulumi.ResourceOptions(parent=self)
        self.interruption_queue = aws.sqs.Queue(f"{name}-interruption", message_retention_seconds=300, sqs_managed_sse_enabled=True, tags=tags, opts=child)
        self.interruption_rules = {}
        for key, (source, detail_type) in EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{key}",
                description=f"Karpenter ({name}): {detail_type}",
                event_pattern=json.dumps({"source": [source], "detail-type": [detail_type]}),
                tags=tags,
                opts=child,
            )
            aws.cloudwatch.EventTarget(f"{name}-{key}", rule=rule.name, arn=self.interruption_queue.arn, target_id="KarpenterInterruptionQueue", opts=child)
            self.interruption_rules[key] = rule
        aws.sqs.QueuePolicy(
            f"{name}-interruption",
            queue_url=self.interruption_queue.url,
            policy=pulumi.Output.all(self.interruption_queue.arn, env.dns_suffix, [r.arn for r in self.interruption_rules.values()]).apply(
                lambda v: queue_policy(queue=v[0], dns=v[1], rules=v[2])),
            opts=child,
        )

    def _controller_identity(self, name: str, args: KarpenterArgs, env: AwsEnvironment, tags: Mapping[str, str], path: str) -> list[pulumi.Resource]:
        """The controller's role through EKS Pod Identity (and the agent add-on); returns what the release waits for."""
        child = pulumi.ResourceOptions(parent=self)
        namespace, service_account = args.namespace, args.service_account
        self.controller_role = aws.iam.Role(
            f"{name}-controller",
            description="Karpenter controller (EKS Pod Identity)",
            assume_role_policy=pulumi.Output.all(env.dns_suffix, args.cluster_name).apply(
                lambda v: trust_policy(dns=v[0], cluster=v[1], namespace=namespace, service_account=service_account)),
            tags=tags,
            opts=child,
        )
        self.controller_policy = aws.iam.RolePolicy(
            f"{name}-controller",
            role=self.controller_role.id,
            policy=pulumi.Output.all(
                partition=env.partition, region=env.region, account=env.account_id, dns=env.dns_suffix, cluster=args.cluster_name,
                queue=self.interruption_queue.arn, roles=args.node_role_arns,
            ).apply(guarded(path, lambda v: _fits(controller_policy(**v)))),
            opts=child,
        )
        self.pod_identity_agent = None
        agent: list[pulumi.Resource] = []
        if args.install_pod_identity_agent:
            self.pod_identity_agent = aws.eks.Addon(f"{name}-pod-identity-agent", cluster_name=args.cluster_name, addon_name="eks-pod-identity-agent",
                                                    tags=tags, opts=child)
            agent.append(self.pod_identity_agent)
        self.pod_identity_association = aws.eks.PodIdentityAssociation(
            f"{name}-controller",
            cluster_name=args.cluster_name,
            namespace=namespace,
            service_account=service_account,
            role_arn=self.controller_role.arn,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=agent),
        )
        return agent

    def _release(self, name: str, args: KarpenterArgs, agent: list[pulumi.Resource]) -> None:
        """The pinned chart. EKS injects the Pod Identity credentials when a pod is created: the association (and the
        agent that serves them, and the policy) must exist before the controller's pods do."""
        import pulumi_kubernetes as k8s

        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name=RELEASE_NAME,
            chart=CHART,
            version=args.version,
            namespace=args.namespace,
            create_namespace=args.namespace != "kube-system",
            values={
                "settings": {"clusterName": args.cluster_name, "clusterEndpoint": args.cluster_endpoint, "interruptionQueue": self.interruption_queue.name},
                "serviceAccount": {"create": True, "name": args.service_account},
                "replicas": args.replicas,
                "controller": {"resources": CONTROLLER_RESOURCES},
                # The node's resolver (VPC DNS), not CoreDNS: Karpenter must work when no CoreDNS pod runs (CoreDNS may
                # need a node Karpenter has yet to launch). It needs AWS endpoints only; the API server is an IP (env).
                "dnsPolicy": "Default",
            },
            opts=pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider,
                                        depends_on=[self.pod_identity_association, self.controller_policy, *agent]),
        )


def _check(name: str, args: KarpenterArgs, path: str) -> None:
    """The arguments' own rules, at construction (plain values); every failure with its key path."""
    try:
        check_match(join(path, "version"), args.version, VERSION_RE, "a Karpenter chart version such as '1.15.0'")
        check_int(join(path, "replicas"), args.replicas, 1, 10)
        check_match(join(path, "namespace"), args.namespace, _DNS_LABEL, "a Kubernetes namespace name (lowercase letters, digits and '-', at most 63)")
        check_match(join(path, "serviceAccount"), args.service_account, _DNS_LABEL,
                    "a service account name (lowercase letters, digits and '-', at most 63)")
        if not isinstance(args.install_pod_identity_agent, bool):
            raise SpecError(join(path, "installPodIdentityAgent"), f"{short(args.install_pod_identity_agent)}: expected true or false")
        check_tags(join(path, "tags"), args.tags, reserved=1)
        roles = args.node_role_arns
        if isinstance(roles, str):
            raise SpecError(join(path, "nodeRoleArns"), "expected a list of IAM role ARNs, not one string")
        if isinstance(roles, Sequence):
            if not roles:
                raise SpecError(join(path, "nodeRoleArns"), "an empty list lets Karpenter pass no role: nodes could not launch (unset: any role, only to EC2)")
            for i, arn in enumerate(roles):
                if not isinstance(arn, pulumi.Output):
                    check_match(join(join(path, "nodeRoleArns"), i), arn, _ROLE_ARN, "an IAM role ARN (arn:<partition>:iam::<account>:role/<name>, or role/<path>/* for the roles under a path)")
        if args.kubernetes_provider is None:
            raise SpecError(path, "KarpenterArgs.kubernetes_provider is required: the Helm release would go to the ambient kubeconfig's cluster")
        for what, suffix, limit in _NAME_LIMITS:
            if len(name) + 1 + len(suffix) + _SUFFIX > limit:
                raise SpecError(path, f"the {what} name {name}-{suffix}-xxxxxxx would have {len(name) + 1 + len(suffix) + _SUFFIX} characters; AWS allows "
                                      f"{limit}: shorten the component name {name!r} (at most {limit - 1 - len(suffix) - _SUFFIX} characters)")
    except SpecError as e:
        raise failure(e) from None


def _fits(policy: str) -> str:
    if len(policy) > INLINE_POLICY_LIMIT:
        raise SpecError("nodeRoleArns", f"the controller policy would have {len(policy)} characters; IAM allows {INLINE_POLICY_LIMIT} inline: "
                                        "pass fewer node roles (roles under one path can share a wildcard ARN)")
    return policy


def trust_policy(*, dns: str, cluster: str, namespace: str, service_account: str) -> str:
    """Who may assume the controller role: EKS Pod Identity (``sts:AssumeRole``, and ``sts:TagSession`` for the
    session tags it always adds), only with the tags of this cluster's Karpenter service account."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "EksPodIdentityForKarpenter",
        "Effect": "Allow",
        "Principal": {"Service": f"pods.eks.{dns}"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {
            "aws:RequestTag/eks-cluster-name": cluster,
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": service_account,
        }},
    }]})


def queue_policy(*, queue: str, dns: str, rules: Sequence[str]) -> str:
    """Who may send to the interruption queue: EventBridge (for this component's rules only) and SQS; nobody without TLS."""
    return json.dumps({"Version": "2012-10-17", "Id": "KarpenterInterruptionQueue", "Statement": [
        {"Sid": "EventBridgeRules", "Effect": "Allow", "Principal": {"Service": f"events.{dns}"}, "Action": "sqs:SendMessage", "Resource": queue,
         "Condition": {"ArnEquals": {"aws:SourceArn": sorted(rules)}}},
        {"Sid": "Sqs", "Effect": "Allow", "Principal": {"Service": f"sqs.{dns}"}, "Action": "sqs:SendMessage", "Resource": queue},
        {"Sid": "DenyWithoutTls", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": queue,
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]})


def controller_policy(*, partition: str, region: str, account: str, dns: str, cluster: str, queue: str, roles: Sequence[str] | None) -> str:
    """Karpenter v1.15's controller permissions, least privilege (pure; the document of :attr:`Karpenter.controller_policy`).

    What Karpenter creates carries ``kubernetes.io/cluster/<cluster>: owned``, ``eks:eks-cluster-name``,
    ``karpenter.sh/nodepool`` and ``karpenter.k8s.aws/ec2nodeclass`` (``utils.GetTags``; instance profiles also
    ``topology.kubernetes.io/region``, ``EC2NodeClass.InstanceProfileTags``): every write below requires those
    tags on the request or on the resource, so the controller touches only this cluster's nodes.
    """
    ec2 = f"arn:{partition}:ec2:{region}"
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"}
    of_a_pool = {"aws:ResourceTag/karpenter.sh/nodepool": "*"}
    requested = {f"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned", "aws:RequestTag/eks:eks-cluster-name": cluster}
    created = [f"{ec2}:{account}:{r}/*" for r in ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")]
    profiles = f"arn:{partition}:iam::{account}:instance-profile/*"
    profile_owned = {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned", "aws:ResourceTag/topology.kubernetes.io/region": region}
    profile_requested = {f"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned", "aws:RequestTag/eks:eks-cluster-name": cluster,
                         "aws:RequestTag/topology.kubernetes.io/region": region}
    statements: list[dict[str, Any]] = [
        # CreateFleet (launches) and RunInstances (the EC2NodeClass validation's dry run) read what the launch uses but
        # Karpenter does not own: AMIs and their snapshots, security groups and subnets (any owner: shared subnets),
        # capacity reservations and placement groups named by an EC2NodeClass. Reading them grants nothing else.
        {"Sid": "LaunchFromRegionalResources", "Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
         "Resource": [f"{ec2}::image/*", f"{ec2}::snapshot/*", f"{ec2}:*:security-group/*", f"{ec2}:*:subnet/*",
                      f"{ec2}:*:capacity-reservation/*", f"{ec2}:*:placement-group/*"]},
        # ... and launch templates, only those Karpenter made for this cluster's node pools.
        {"Sid": "LaunchFromOwnLaunchTemplates", "Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
         "Resource": f"{ec2}:{account}:launch-template/*", "Condition": {"StringEquals": owned, "StringLike": of_a_pool}},
        # What a launch creates (fleet, instances, volumes, ENIs, spot requests) and the launch templates it makes: only
        # when the request tags them as this cluster's and a node pool's.
        {"Sid": "CreateTaggedResources", "Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
         "Resource": created, "Condition": {"StringEquals": requested, "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
        # Tags in those create calls (tag-on-create is authorised as ec2:CreateTags), in no other call.
        {"Sid": "TagOnCreate", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": created,
         "Condition": {"StringEquals": {**requested, "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]},
                       "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
        # The node-claim tagging controller: Name, karpenter.sh/nodeclaim and eks:eks-cluster-name on its own instances,
        # no other key (the cluster/node pool tags that scope everything here cannot be rewritten).
        {"Sid": "TagOwnInstances", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": f"{ec2}:{account}:instance/*",
         "Condition": {"StringEquals": owned, "StringLike": of_a_pool, "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster},
                       "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]}}},
        # Terminating its nodes and deleting its launch templates: only this cluster's, of a node pool.
        {"Sid": "DeleteOwnResources", "Effect": "Allow", "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
         "Resource": [f"{ec2}:{account}:instance/*", f"{ec2}:{account}:launch-template/*"],
         "Condition": {"StringEquals": owned, "StringLike": of_a_pool}},
        # The Describe calls of v1.15's EC2 API (pkg/aws/sdk.go; EC2 Describe* has no resource-level permissions), in
        # the cluster's region only. No DescribeAvailabilityZones: v1.15 does not call it. No RebootInstances: only the
        # alpha rebootForRepair gate uses it, off here.
        {"Sid": "DescribeRegion", "Effect": "Allow", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
         "Action": ["ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus",
                    "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates",
                    "ec2:DescribePlacementGroups", "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets"]},
        # AMI aliases (al2023@v20260714, bottlerocket@...) resolve through AWS's public SSM parameters; nothing else in SSM.
        {"Sid": "ReadAmiParameters", "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*"},
        # On-demand prices (the Price List API has no resources; it is served from a few regions, hence no region condition).
        {"Sid": "ReadPrices", "Effect": "Allow", "Action": "pricing:GetProducts", "Resource": "*"},
        # The interruption controller drains this component's queue and nothing else.
        {"Sid": "InterruptionQueue", "Effect": "Allow", "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"], "Resource": queue},
        # Node roles go into the instance profiles Karpenter makes (AddRoleToInstanceProfile needs PassRole), to EC2 only.
        {"Sid": "PassNodeRole", "Effect": "Allow", "Action": "iam:PassRole",
         "Resource": sorted(roles) if roles else f"arn:{partition}:iam::{account}:role/*",
         "Condition": {"StringEquals": {"iam:PassedToService": f"ec2.{dns}"}}},
        # Instance profiles per EC2NodeClass: created only tagged as this cluster's, in this region, of an EC2NodeClass
        # (IAM authorises the tags of CreateInstanceProfile as TagInstanceProfile, hence both here) ...
        {"Sid": "CreateTaggedInstanceProfiles", "Effect": "Allow", "Action": "iam:CreateInstanceProfile", "Resource": profiles,
         "Condition": {"StringEquals": profile_requested, "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        {"Sid": "TagOwnInstanceProfiles", "Effect": "Allow", "Action": "iam:TagInstanceProfile", "Resource": profiles,
         "Condition": {"StringEquals": {**profile_owned, **profile_requested},
                       "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*", "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        # ... and only those get their role swapped or are deleted.
        {"Sid": "ManageOwnInstanceProfiles", "Effect": "Allow",
         "Action": ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"], "Resource": profiles,
         "Condition": {"StringEquals": profile_owned, "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        # Reading instance profiles: the account's only.
        {"Sid": "ReadInstanceProfiles", "Effect": "Allow", "Action": "iam:GetInstanceProfile", "Resource": profiles},
        # The garbage collector lists profiles under /karpenter/<region>/<cluster>/; IAM's List calls take no
        # resource scoping (a scoped statement leaves them denied).
        {"Sid": "ListInstanceProfiles", "Effect": "Allow", "Action": "iam:ListInstanceProfiles", "Resource": "*"},
        # The cluster's CIDR (nodes' DNS IP) and endpoint: this cluster only.
        {"Sid": "DiscoverApiServer", "Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": f"arn:{partition}:eks:{region}:{account}:cluster/{cluster}"},
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


__all__ = ["CHART", "EVENTS", "TOKEN", "Karpenter", "KarpenterArgs", "controller_policy", "queue_policy", "trust_policy"]
