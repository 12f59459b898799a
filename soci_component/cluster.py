"""``SociCluster``: an EKS cluster (pulumi-eks) whose node groups are all SOCI node groups.

The control plane is a pulumi-eks ``eks.Cluster`` (API authentication mode, no default node group,
managed CoreDNS add-on, OIDC provider). Node groups are :class:`SociNodeGroup` components next to it,
joined through a :class:`ClusterAttachment` read from the cluster's ``eksCluster`` child (endpoint,
CA, service CIDR, cluster security group) — plain AWS resources, so everything a node receives is
visible to Pulumi mocks and policies (``eks.*`` are remote components: their children are not).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_eks as eks

from .config import StackConfig
from .node_group import AwsEnvironment, ClusterAttachment, NodeGroupError, SociNodeGroup, SociNodeGroupArgs
from .spec import CredentialKind, NodeGroupSpec

TOKEN = "soci-eks:index:SociCluster"
MAX_KUBELET_SKEW = 3
"""kubelet may be up to three minor versions older than the API server (Kubernetes >= 1.28 skew policy)."""


@dataclass
class SociClusterArgs:
    """Arguments of :class:`SociCluster`."""

    cluster_name: str
    """EKS cluster name (physical name, unique per account and region)."""
    kubernetes_version: str
    """Control-plane Kubernetes minor version, e.g. ``"1.33"``. Node groups may be older (up to 3 minors), never newer."""
    node_groups: Sequence[NodeGroupSpec]
    """One SOCI node group per spec (at least one)."""
    vpc_id: pulumi.Input[str]
    """VPC of the cluster."""
    private_subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets (at least two AZs): control-plane ENIs and, by default, the nodes."""
    public_subnet_ids: pulumi.Input[Sequence[str]] | None = None
    """Public subnets for internet-facing load balancers (optional)."""
    endpoint_public_access: bool = True
    """Whether the API server endpoint is reachable from the internet (restricted by ``public_access_cidrs``)."""
    endpoint_private_access: bool = True
    """Whether the API server endpoint is reachable from inside the VPC (nodes use it)."""
    public_access_cidrs: Sequence[str] = ("0.0.0.0/0",)
    """CIDR blocks allowed to reach the public endpoint."""
    service_cidr: str = "172.20.0.0/16"
    """Kubernetes service IPv4 CIDR (the cluster DNS IP is its base address + 10)."""
    enabled_log_types: Sequence[str] = ("api", "audit", "authenticator")
    """Control-plane log types sent to CloudWatch Logs."""
    registry_credentials: pulumi.Input[Mapping[str, Mapping[str, str]]] | None = None
    """Registry host -> ``{"username", "password"}`` for ``static`` credential sources (a Pulumi secret)."""
    max_unavailable_percentage: int = 33
    """Share of a node group's nodes replaced at once during a rolling update."""
    metadata_hop_limit: int = 2
    """IMDSv2 hop limit of the nodes; 1 keeps pods (without host networking) away from the node role."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every AWS resource."""

    @classmethod
    def from_stack_config(
        cls,
        stack: StackConfig,
        *,
        vpc_id: pulumi.Input[str],
        private_subnet_ids: pulumi.Input[Sequence[str]],
        public_subnet_ids: pulumi.Input[Sequence[str]] | None = None,
        registry_credentials: pulumi.Input[Mapping[str, Mapping[str, str]]] | None = None,
    ) -> SociClusterArgs:
        """Arguments from a parsed stack config (:func:`soci_component.config.parse`) and the VPC to use."""
        c = stack.cluster
        return cls(
            cluster_name=c.name,
            kubernetes_version=c.kubernetes_version,
            node_groups=stack.node_groups,
            vpc_id=vpc_id,
            private_subnet_ids=private_subnet_ids,
            public_subnet_ids=public_subnet_ids,
            endpoint_public_access=c.endpoint_public_access,
            public_access_cidrs=c.public_access_cidrs,
            service_cidr=c.service_cidr,
            enabled_log_types=c.enabled_log_types,
            registry_credentials=registry_credentials,
            tags=dict(stack.tags),
        )


class SociCluster(pulumi.ComponentResource):
    """An EKS cluster whose node groups run SOCI as containerd's snapshotter from first boot."""

    cluster: eks.Cluster
    """The pulumi-eks cluster (control plane, OIDC provider, CoreDNS add-on)."""
    attachment: ClusterAttachment
    """The cluster as plain values; pass it to more :class:`SociNodeGroup` s."""
    node_groups: dict[str, SociNodeGroup]
    """Node group name (spec) -> component."""
    kubeconfig: pulumi.Output[str]
    """kubeconfig JSON for the cluster (secret; authenticates with ``aws eks get-token``)."""
    cluster_name: pulumi.Output[str]
    """EKS cluster name."""
    oidc_provider_arn: pulumi.Output[str]
    """IAM OIDC provider for IAM roles for service accounts."""
    node_group_names: pulumi.Output[dict[str, str]]
    """Spec name -> EKS node group name."""
    node_group_roles: pulumi.Output[dict[str, str]]
    """Spec name -> node IAM role ARN."""
    profiles: pulumi.Output[dict[str, dict[str, Any]]]
    """Spec name -> resolved profile (AMI release, containerd, pull mode, SOCI source, labels ...)."""

    def __init__(self, name: str, args: SociClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        _check_node_groups(args)
        child = pulumi.ResourceOptions(parent=self)
        self.cluster = eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=args.kubernetes_version,
            authentication_mode=eks.AuthenticationMode.API,
            skip_default_node_group=True,
            # With no node group inside the eks.Cluster, pulumi-eks only manages CoreDNS when asked explicitly.
            coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=True),
            create_oidc_provider=True,
            vpc_id=args.vpc_id,
            private_subnet_ids=args.private_subnet_ids,
            public_subnet_ids=args.public_subnet_ids,
            endpoint_private_access=args.endpoint_private_access,
            endpoint_public_access=args.endpoint_public_access,
            public_access_cidrs=list(args.public_access_cidrs),
            kubernetes_service_ip_address_range=args.service_cidr,
            enabled_cluster_log_types=list(args.enabled_log_types),
            tags=dict(args.tags),
            opts=child,
        )
        self.attachment = ClusterAttachment.from_eks_cluster(self.cluster)
        self.kubeconfig = pulumi.Output.secret(self.cluster.kubeconfig_json)
        self.cluster_name = pulumi.Output.from_input(self.attachment.name)
        self.oidc_provider_arn = self.cluster.oidc_provider_arn

        k8s_provider = None
        if any(s.credential(CredentialKind.KUBERNETES_SECRETS) is not None for s in args.node_groups):
            import pulumi_kubernetes as k8s

            k8s_provider = k8s.Provider(f"{name}-k8s", kubeconfig=self.cluster.kubeconfig_json, opts=child)

        environment = AwsEnvironment.lookup(pulumi.InvokeOutputOptions(parent=self))
        self.node_groups = {}
        for i, spec in enumerate(args.node_groups):
            self.node_groups[spec.name] = SociNodeGroup(
                f"{name}-{spec.name}",
                SociNodeGroupArgs(
                    cluster=self.attachment,
                    spec=spec,
                    subnet_ids=args.private_subnet_ids,
                    registry_credentials=args.registry_credentials,
                    kubernetes_provider=k8s_provider,
                    max_unavailable_percentage=args.max_unavailable_percentage,
                    metadata_hop_limit=args.metadata_hop_limit,
                    create_access_entry=True,
                    tags=args.tags,
                    config_path=f"nodeGroups[{i}]",
                    aws_environment=environment,
                ),
                opts=child,
            )
        groups = self.node_groups
        self.node_group_names = _dict_output({k: g.node_group_name for k, g in groups.items()})
        self.node_group_roles = _dict_output({k: g.role_arn for k, g in groups.items()})
        self.profiles = _dict_output({k: g.profile for k, g in groups.items()})
        self.register_outputs(
            {
                "kubeconfig": self.kubeconfig,
                "clusterName": self.cluster_name,
                "oidcProviderArn": self.oidc_provider_arn,
                "nodeGroupNames": self.node_group_names,
                "nodeGroupRoles": self.node_group_roles,
                "profiles": self.profiles,
            }
        )


def _dict_output(values: Mapping[str, pulumi.Input[Any]]) -> pulumi.Output[dict[str, Any]]:
    keys = list(values)
    return pulumi.Output.all(*values.values()).apply(lambda vs: dict(zip(keys, vs, strict=True)))


def _minor(version: str) -> int:
    return int(version.split(".")[1])


def _check_node_groups(args: SociClusterArgs) -> None:
    if not args.node_groups:
        raise NodeGroupError("nodeGroups", "needs at least one node group")
    names = [s.name for s in args.node_groups]
    control = _minor(args.kubernetes_version)
    for i, spec in enumerate(args.node_groups):
        if spec.name in names[:i]:
            raise NodeGroupError(f"nodeGroups[{i}].name", f"{spec.name!r} is used by an earlier node group; names must be unique")
        node = _minor(spec.kubernetes_version)
        if node > control:
            raise NodeGroupError(
                f"nodeGroups[{i}].kubernetesVersion",
                f"{spec.kubernetes_version} is newer than the control plane ({args.kubernetes_version}); kubelets may not be newer than the API server",
            )
        if control - node > MAX_KUBELET_SKEW:
            raise NodeGroupError(
                f"nodeGroups[{i}].kubernetesVersion",
                f"{spec.kubernetes_version} is more than {MAX_KUBELET_SKEW} minor versions older than the control plane ({args.kubernetes_version})",
            )


__all__ = ["SociCluster", "SociClusterArgs", "TOKEN"]
