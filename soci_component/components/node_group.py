"""``SociNodeGroup``: an EKS managed node group whose nodes run SOCI from first boot.

Resources: a node IAM role, boot secrets in Secrets Manager (values only there; the nodes get ARNs),
an ``aws.ec2.LaunchTemplate`` with the pinned AMI and our complete user data, and an ``aws.eks.NodeGroup``
(the shared parts: :mod:`.nodes`, :mod:`.identity`).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from .. import naming
from ..errors import SpecError, join
from ..render import RenderedNode
from ..spec import CredentialKind, NodeGroupSpec, OperatingSystem, PullMode
from .errors import failure
from .identity import NODE_POLICIES
from .nodes import NodeArgs, SociNodes

__all__ = ["NODE_POLICIES", "TOKEN", "SociNodeGroup", "SociNodeGroupArgs", "check_command"]

TOKEN = "soci-eks:index:SociNodeGroup"


@dataclass(kw_only=True)
class SociNodeGroupArgs(NodeArgs):
    """Arguments of :class:`SociNodeGroup`."""

    spec: NodeGroupSpec
    """What the node group is: AMI pin, pull mode, credentials, SOCI source, sizes; its subnets (``subnet_ids``),
    else the attachment's (``ClusterAttachment.subnet_ids``)."""
    security_group_ids: pulumi.Input[Sequence[str]] | None = None
    """Extra security groups for the nodes. With them the launch template lists the cluster security group plus
    these (EKS adds the cluster security group only when the launch template names none)."""
    max_unavailable_percentage: int = 33
    """Rolling updates (new AMI or user data = new launch template version) replace at most this share of nodes at once."""


class SociNodeGroup(SociNodes):
    """An EKS managed node group whose containerd uses the SOCI snapshotter from first boot."""

    launch_template: aws.ec2.LaunchTemplate
    """Launch template with the pinned AMI and our complete user data."""
    node_group: aws.eks.NodeGroup
    """The EKS managed node group."""
    node_group_name: pulumi.Output[str]
    """EKS name of the node group."""
    image_id: pulumi.Output[str]
    """The pinned AMI ID (resolved from the release-pinned SSM parameter, or the raw ``amiId``)."""
    check_soci: pulumi.Output[str]
    """A shell command that shows SOCI at work on one running node of the group, over SSM (:func:`check_command`)."""
    spec: NodeGroupSpec
    """The spec as built: name and Kubernetes version filled in."""

    def __init__(self, name: str, args: SociNodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        self.spec = self._start(name, args.spec, args, opts)
        if not isinstance(args.max_unavailable_percentage, int) or not 1 <= args.max_unavailable_percentage <= 100:
            raise failure(SpecError(join(self._path, "maxUnavailablePercentage"), f"{args.max_unavailable_percentage!r}: expected 1..100"))
        invoke = pulumi.InvokeOutputOptions(parent=self)
        tags = {**dict(args.tags), "soci-eks:node-group": self.spec.name}
        env = self._environment()
        provider = self._kubernetes_provider(name, args, env) if self.spec.credential(CredentialKind.KUBERNETES_SECRETS) is not None else None
        identity = self._identity(name, args, env, tags, provider)
        self.image_id = self._image_id(env, invoke)
        rendered = self._user_data(args.cluster, env, identity, self._instance_check(env, invoke))
        self.user_data_size = rendered.apply(lambda r: len(r.user_data))
        names = naming.node_names(name, pool=False)
        self.launch_template = self._launch_template(names["launch_template"].name, args, rendered, tags)
        self.node_group = self._node_group(names["node_group"].name, args, tags, identity.depends)
        self.node_group_name = self.node_group.node_group_name
        report = self.plan.report.to_json()
        self.check_soci = pulumi.Output.all(self.node_group_name, env.region).apply(lambda v: check_command(report, v[0], v[1]))
        self.register_outputs({
            "roleArn": self.role_arn,
            "launchTemplateId": self.launch_template.id,
            "nodeGroupName": self.node_group_name,
            "imageId": self.image_id,
            "report": self.report,
            "userDataSize": self.user_data_size,
            "secretArns": self.secret_arns,
            "checkSoci": self.check_soci,
        })

    def _launch_template(self, resource: str, args: SociNodeGroupArgs, rendered: pulumi.Output[RenderedNode], tags: Mapping[str, str]) -> aws.ec2.LaunchTemplate:
        p = self.plan.profile
        security_groups = None
        if args.security_group_ids is not None:
            if args.cluster.cluster_security_group_id is None:
                raise failure(SpecError(join(self._path, "securityGroupIds"),
                                        "extra security groups need the cluster security group (ClusterAttachment.cluster_security_group_id)"))
            security_groups = pulumi.Output.all(args.cluster.cluster_security_group_id, args.security_group_ids).apply(lambda v: [v[0], *v[1]])
        return aws.ec2.LaunchTemplate(
            resource,
            description=f"SOCI node group {self.spec.name}: {p.os.value} {p.release or p.ami_id}, SOCI {self.spec.pull_mode.value}",
            image_id=self.image_id,
            user_data=rendered.apply(lambda r: base64.b64encode(r.user_data).decode("ascii")),
            update_default_version=True,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(http_endpoint="enabled", http_tokens="required",
                                                                       http_put_response_hop_limit=args.metadata_hop_limit),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=d.device,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(volume_size=d.size_gib, volume_type="gp3", iops=d.iops, throughput=d.throughput_mibps,
                                                                        encrypted="true", delete_on_termination="true"),
                )
                for d in self.plan.block_devices
            ],
            vpc_security_group_ids=security_groups,
            tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags={**tags, "Name": f"{self.spec.name}-soci"})
                                for kind in ("instance", "volume")],
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _node_group(self, resource: str, args: SociNodeGroupArgs, tags: Mapping[str, str], depends: list[pulumi.Resource]) -> aws.eks.NodeGroup:
        spec = self.spec
        subnets = list(spec.subnet_ids) if spec.subnet_ids else args.cluster.subnet_ids
        if subnets is None:
            raise failure(SpecError(join(self._path, "subnetIds"), "no subnets: set the spec's subnet_ids, or the attachment's "
                                                                  "(ClusterAttachment.from_existing(name, subnet_ids=[...]))"))
        return aws.eks.NodeGroup(
            resource,
            cluster_name=args.cluster.name,
            node_role_arn=self.role.arn,
            subnet_ids=subnets,
            instance_types=list(spec.instance_types),
            capacity_type=spec.capacity_type.value,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=spec.scaling.min_size, max_size=spec.scaling.max_size,
                                                              desired_size=spec.scaling.desired_size),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable_percentage=args.max_unavailable_percentage),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=self.launch_template.id, version=self.launch_template.latest_version.apply(str)),
            labels=spec.node_labels,
            taints=[aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value or None, effect=t.effect.eks_api) for t in spec.taints],
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends, ignore_changes=["scalingConfig.desiredSize"]),
        )


def check_command(report: Mapping[str, Any], node_group_name: str, region: str) -> str:
    """The shell command that shows SOCI at work on one running node of the group, over SSM."""
    if report["os"] == OperatingSystem.BOTTLEROCKET.value:
        remote = "apiclient get settings.container-runtime.snapshotter settings.container-runtime-plugins.soci-snapshotter"
    elif report["pullMode"] == PullMode.PARALLEL.value:
        remote = "sudo ctr -n k8s.io snapshots --snapshotter soci ls"
    else:
        remote = "findmnt --source soci"
    find = (f"aws ec2 describe-instances --region {region} --filters Name=tag:eks:nodegroup-name,Values={node_group_name} "
            "Name=instance-state-name,Values=running --query 'Reservations[0].Instances[0].InstanceId' --output text")
    return f'aws ssm start-session --region {region} --target "$({find})" --document-name AWS-StartInteractiveCommand --parameters command=\'{remote}\''
