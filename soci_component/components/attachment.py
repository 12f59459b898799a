"""The cluster a SOCI node group joins and the AWS environment it lives in, as Pulumi inputs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

if TYPE_CHECKING:
    import pulumi_eks as eks


@dataclass
class ClusterAttachment:
    """The cluster SOCI nodes join: what the nodes' bootstrap needs (a custom AMI gets nothing injected by EKS) and where
    they go. ``SociCluster.attachment`` is one; for clusters made elsewhere use :meth:`from_existing` or :meth:`from_eks_cluster`."""

    name: pulumi.Input[str]
    """EKS cluster name."""
    endpoint: pulumi.Input[str]
    """API server endpoint (``https://...eks.amazonaws.com``)."""
    certificate_authority: pulumi.Input[str]
    """Cluster CA, base64 PEM as EKS reports it (``certificateAuthority.data``)."""
    service_cidr: pulumi.Input[str]
    """Kubernetes service IPv4 CIDR (nodeadm ``cluster.cidr``; Bottlerocket derives the DNS IP from it)."""
    kubernetes_version: str | None = None
    """Control-plane minor version (``1.33``) as a plain value when known: specs without a version take it, and every
    node's kubelet is checked against it (at most 3 minors older, never newer)."""
    subnet_ids: pulumi.Input[Sequence[str]] | None = None
    """Where nodes go unless a spec pins its own ``subnet_ids``: normally the cluster's private subnets."""
    cluster_security_group_id: pulumi.Input[str] | None = None
    """The EKS-created cluster security group. Managed nodes get it automatically when the launch template
    names no security groups; it is listed explicitly only next to ``SociNodeGroupArgs.security_group_ids``."""
    kubeconfig: pulumi.Input[Any] | None = None
    """kubeconfig (JSON string or dict) for Kubernetes resources (the ``kubernetes-secrets`` credential
    source). Unset: an exec kubeconfig using ``aws eks get-token`` is built from the values above."""

    @classmethod
    def from_eks_cluster(cls, cluster: eks.Cluster, kubernetes_version: str | None = None,
                         subnet_ids: pulumi.Input[Sequence[str]] | None = None) -> ClusterAttachment:
        """From a pulumi-eks ``eks.Cluster`` you own (its ``eksCluster`` child carries endpoint, CA, CIDR, SG). Its version
        is an Output there: pass the version you created it with as ``kubernetes_version`` so the nodes are checked
        against it; ``subnet_ids``: the private subnets nodes go into."""
        ec = cluster.eks_cluster
        return cls(
            name=ec.name,
            endpoint=ec.endpoint,
            certificate_authority=ec.certificate_authority.data,
            service_cidr=ec.kubernetes_network_config.service_ipv4_cidr,
            kubernetes_version=kubernetes_version,
            subnet_ids=subnet_ids,
            cluster_security_group_id=ec.vpc_config.cluster_security_group_id,
            kubeconfig=cluster.kubeconfig_json,
        )

    @classmethod
    def from_existing(cls, name: str, subnet_ids: pulumi.Input[Sequence[str]] | None = None, opts: pulumi.InvokeOptions | None = None) -> ClusterAttachment:
        """An existing EKS cluster looked up by name now (``aws.eks.get_cluster``; no resource of it is managed here). Its
        Kubernetes version is read, so node specs may leave theirs unset and kubelet skew is checked; ``subnet_ids``:
        the private subnets nodes go into (unset: every spec must name its own)."""
        c = aws.eks.get_cluster(name=name, opts=opts)
        networks = c.kubernetes_network_configs or []
        cas = c.certificate_authorities or []
        return cls(
            name=c.name,
            endpoint=c.endpoint,
            certificate_authority=cas[0].data if cas else "",
            service_cidr=networks[0].service_ipv4_cidr if networks else "",
            kubernetes_version=c.version,
            subnet_ids=subnet_ids,
            cluster_security_group_id=c.vpc_config.cluster_security_group_id,
        )


@dataclass
class AwsEnvironment:
    """Partition, region and account of the node group's resources (the renderer's ``ClusterInfo`` needs them)."""

    partition: pulumi.Input[str]
    """``aws``, ``aws-cn``, ``aws-us-gov`` ...: IAM policy ARNs are built with it."""
    dns_suffix: pulumi.Input[str]
    """``amazonaws.com`` (``amazonaws.com.cn`` in China): the EC2 service principal is ``ec2.<dns_suffix>``."""
    region: pulumi.Input[str]
    """Region of the cluster (ECR registry hosts, Secrets Manager calls at boot)."""
    account_id: pulumi.Input[str]
    """Account of the cluster (its ECR registry)."""
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    """Outputs and lookups shared by the node groups of one environment (one provider): the same SSM parameter,
    instance type or policy ARN is looked up or built once, not once per node group."""

    def shared(self, key: Any, make: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def assume_role_policy(self) -> pulumi.Output[str]:
        """The EC2 trust policy of node roles (``ec2.<dns suffix>``)."""
        return self.shared("assume-role", lambda: pulumi.Output.from_input(self.dns_suffix).apply(
            lambda dns: json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": f"ec2.{dns}"}, "Action": "sts:AssumeRole"}]})))

    def managed_policy_arn(self, policy: str) -> pulumi.Output[str]:
        return self.shared(("policy", policy), lambda: pulumi.Output.concat("arn:", pulumi.Output.from_input(self.partition), f":iam::aws:policy/{policy}"))

    def ssm_parameter(self, name: str, opts: pulumi.InvokeOutputOptions) -> pulumi.Output[str]:
        # A public AMI parameter is no secret; pulumi-aws marks every parameter value secret.
        return self.shared(("ssm", name), lambda: pulumi.Output.unsecret(aws.ssm.get_parameter_output(name=name, opts=opts).value))

    def instance_type(self, instance_type: str, opts: pulumi.InvokeOutputOptions) -> pulumi.Output[Any]:
        return self.shared(("instance-type", instance_type), lambda: aws.ec2.get_instance_type_output(instance_type=instance_type, opts=opts))

    @classmethod
    def lookup(cls, opts: pulumi.InvokeOutputOptions | None = None) -> AwsEnvironment:
        """From ``aws.get_partition`` / ``get_region`` / ``get_caller_identity`` (of the provider in ``opts``)."""
        partition = aws.get_partition_output(opts=opts)
        return cls(
            partition=partition.partition,
            dns_suffix=partition.dns_suffix,
            region=aws.get_region_output(opts=opts).region,
            account_id=aws.get_caller_identity_output(opts=opts).account_id,
        )
