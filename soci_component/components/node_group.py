"""``SociNodeGroup``: an EKS managed node group whose nodes run SOCI from first boot.

Resources: a node IAM role, boot secrets in Secrets Manager (values only there; the nodes get ARNs),
an ``aws.ec2.LaunchTemplate`` with the pinned AMI and our complete user data, and an ``aws.eks.NodeGroup``
(the shared parts: :mod:`.nodes`).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ..errors import SpecError, join
from ..render import RenderedNode
from ..spec import NodeGroupSpec, OperatingSystem, PullMode
from .attachment import AwsEnvironment
from .errors import failure
from .nodes import NODE_POLICIES, NodeArgs, SociNodes, exec_kubeconfig, registry_secret_string

TOKEN = "soci-eks:index:SociNodeGroup"


@dataclass(kw_only=True)
class SociNodeGroupArgs(NodeArgs):
    """Arguments of :class:`SociNodeGroup`."""

    spec: NodeGroupSpec
    """What the node group is: AMI pin, pull mode, credentials, SOCI source, sizes."""
    subnet_ids: pulumi.Input[Sequence[str]] | None = None
    """Subnets for the nodes when ``spec.subnet_ids`` is empty (normally the cluster's private subnets)."""
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
    spec: NodeGroupSpec

    def __init__(self, name: str, args: SociNodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        path = args.config_path
        if not isinstance(args.max_unavailable_percentage, int) or not 1 <= args.max_unavailable_percentage <= 100:
            raise failure(SpecError(join(path, "maxUnavailablePercentage"), f"{args.max_unavailable_percentage!r}: expected 1..100"))
        self._prepare(name, args.spec, args, karpenter=False)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        tags = {**dict(args.tags), "soci-eks:node-group": self.spec.name}
        env = args.aws_environment or AwsEnvironment.lookup(invoke)
        static_arns, token_arn, depends = self._identity(name, args, env, tags, child)
        self.image_id = self._image_id(env, invoke)
        checked = self._instance_check(env, path, invoke)
        rendered = self._user_data(args.cluster, env, static_arns, token_arn, checked, path)
        self.user_data_size = rendered.apply(lambda r: len(r.user_data))
        self.launch_template = self._launch_template(name, args, rendered, tags, child, path)
        self.node_group = self._node_group(name, args, tags, depends, path)
        self.node_group_name = self.node_group.node_group_name
        self.register_outputs(
            {
                "roleArn": self.role_arn,
                "launchTemplateId": self.launch_template.id,
                "nodeGroupName": self.node_group_name,
                "imageId": self.image_id,
                "report": self.report,
                "userDataSize": self.user_data_size,
                "secretArns": self.secret_arns,
            }
        )

    def _launch_template(self, name: str, args: SociNodeGroupArgs, rendered: pulumi.Output[RenderedNode], tags: Mapping[str, str],
                         child: pulumi.ResourceOptions, path: str) -> aws.ec2.LaunchTemplate:
        p = self.plan.profile
        security_groups = None
        if args.security_group_ids is not None:
            if args.cluster.cluster_security_group_id is None:
                raise failure(SpecError(join(path, "securityGroupIds"), "extra security groups need the cluster security group (ClusterAttachment.cluster_security_group_id)"))
            security_groups = pulumi.Output.all(args.cluster.cluster_security_group_id, args.security_group_ids).apply(lambda v: [v[0], *v[1]])
        return aws.ec2.LaunchTemplate(
            f"{name}-launch-template",
            description=f"SOCI node group {self.spec.name}: {p.os.value} {p.release or p.ami_id}, SOCI {self.spec.pull_mode.value}",
            image_id=self.image_id,
            user_data=rendered.apply(lambda r: base64.b64encode(r.user_data).decode("ascii")),
            update_default_version=True,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=args.metadata_hop_limit),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=d.device,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(volume_size=d.size_gib, volume_type="gp3", iops=d.iops, throughput=d.throughput_mibps,
                                                                        encrypted="true", delete_on_termination="true"),
                )
                for d in self.plan.block_devices
            ],
            vpc_security_group_ids=security_groups,
            tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags={**tags, "Name": f"{self.spec.name}-soci"}) for kind in ("instance", "volume")],
            tags=dict(tags),
            opts=child,
        )

    def _node_group(self, name: str, args: SociNodeGroupArgs, tags: Mapping[str, str], depends: list[pulumi.Resource], path: str) -> aws.eks.NodeGroup:
        spec = self.spec
        subnets = list(spec.subnet_ids) if spec.subnet_ids else args.subnet_ids
        if subnets is None:
            raise failure(SpecError(join(path, "subnetIds"), "no subnets: set the node group's subnetIds or SociNodeGroupArgs.subnet_ids"))
        return aws.eks.NodeGroup(
            f"{name}-node-group",
            cluster_name=args.cluster.name,
            node_role_arn=self.role.arn,
            subnet_ids=subnets,
            instance_types=list(spec.instance_types),
            capacity_type=spec.capacity_type.value,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=spec.scaling.min_size, max_size=spec.scaling.max_size, desired_size=spec.scaling.desired_size),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable_percentage=args.max_unavailable_percentage),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=self.launch_template.id, version=self.launch_template.latest_version.apply(str)),
            labels=spec.node_labels,
            taints=[aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value or None, effect=t.effect.eks_api) for t in spec.taints],
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends, ignore_changes=["scalingConfig.desiredSize"]),
        )

def check_command(profile: Mapping[str, Any], node_group_name: str, region: str) -> str:
    """The shell command that shows SOCI at work on one running node of the group, over SSM."""
    if profile["os"] == OperatingSystem.BOTTLEROCKET.value:
        remote = "apiclient get settings.container-runtime.snapshotter settings.container-runtime-plugins.soci-snapshotter"
    elif profile["pullMode"] == PullMode.PARALLEL.value:
        remote = "sudo ctr -n k8s.io snapshots --snapshotter soci ls"
    else:
        remote = "findmnt --source soci"
    find = (f"aws ec2 describe-instances --region {region} --filters Name=tag:eks:nodegroup-name,Values={node_group_name} "
            "Name=instance-state-name,Values=running --query 'Reservations[0].Instances[0].InstanceId' --output text")
    return f'aws ssm start-session --region {region} --target "$({find})" --document-name AWS-StartInteractiveCommand --parameters command=\'{remote}\''


__all__ = ["NODE_POLICIES", "TOKEN", "SociNodeGroup", "SociNodeGroupArgs", "check_command", "exec_kubeconfig", "registry_secret_string"]
