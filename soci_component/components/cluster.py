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

from .. import rules
from ..errors import SpecError
from ..spec import ClusterSpec, CredentialKind, KarpenterSpec, LogType, NodeGroupSpec, NodePoolSpec, check_tags
from .attachment import AwsEnvironment, ClusterAttachment
from .errors import failure
from .node_group import SociNodeGroup, SociNodeGroupArgs

TOKEN = "soci-eks:index:SociCluster"


@dataclass
class SociClusterArgs:
    """Arguments of :class:`SociCluster`."""

    cluster: ClusterSpec
    """The control plane: name, Kubernetes version, endpoint access, service CIDR, log types."""
    node_groups: Sequence[NodeGroupSpec]
    """One SOCI managed node group per spec."""
    vpc_id: pulumi.Input[str]
    """VPC of the cluster."""
    private_subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets (at least two AZs): control-plane ENIs and, by default, the nodes."""
    public_subnet_ids: pulumi.Input[Sequence[str]] | None = None
    """Public subnets for internet-facing load balancers (optional)."""
    endpoint_private_access: bool = True
    """Whether the API server endpoint is reachable from inside the VPC (nodes use it)."""
    registry_credentials: pulumi.Input[Mapping[str, Mapping[str, str]]] | None = None
    """Registry host -> ``{"username", "password"}`` for ``static`` credential sources (a Pulumi secret)."""
    max_unavailable_percentage: int = 33
    """Share of a node group's nodes replaced at once during a rolling update."""
    metadata_hop_limit: int = 2
    """IMDSv2 hop limit of the nodes; 1 keeps pods (without host networking) away from the node role."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every AWS resource."""
    region: str | None = None
    """The region as a plain value when known (sharpens the preview user-data size check)."""
    node_pools: Sequence[NodePoolSpec] = ()
    """One SOCI Karpenter node pool (EC2NodeClass + NodePool) per spec."""
    karpenter: KarpenterSpec | None = None
    """With node pools: install Karpenter (default) or use the one the cluster runs (``install=False``)."""


class SociCluster(pulumi.ComponentResource):
    """An EKS cluster whose node groups run SOCI as containerd's snapshotter from first boot."""

    cluster: eks.Cluster
    """The pulumi-eks cluster (control plane, OIDC provider, CoreDNS add-on)."""
    attachment: ClusterAttachment
    """The cluster as plain values; pass it to more :class:`SociNodeGroup` s."""
    node_groups: dict[str, SociNodeGroup]
    """Node group name (spec) -> component."""
    node_pools: dict[str, Any]
    """Node pool name (spec) -> :class:`~soci_component.components.node_pool.SociNodePool`."""
    karpenter: Any
    """The Karpenter installation (:class:`~soci_component.components.karpenter.Karpenter`) when the component installs it."""
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
    reports: pulumi.Output[dict[str, dict[str, Any]]]
    """Spec name -> what its nodes run (AMI release, containerd, pull mode, SOCI source, labels, disks ...)."""

    def __init__(self, name: str, args: SociClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        c = args.cluster
        try:
            rules.check_kubernetes_version(c.kubernetes_version)
            rules.check_nodes(c.kubernetes_version, [*((f"nodeGroups[{i}]", g) for i, g in enumerate(args.node_groups)),
                                                     *((f"nodePools[{i}]", p) for i, p in enumerate(args.node_pools))], name)
            check_tags("tags", args.tags, reserved=3)
        except SpecError as e:
            raise failure(e) from None
        for w in rules.stack_warnings_for(len(args.node_groups)):
            pulumi.log.warn(w, resource=self)
        child = pulumi.ResourceOptions(parent=self)
        self.cluster = eks.Cluster(
            f"{name}-eks",
            name=c.name,
            version=c.kubernetes_version,
            authentication_mode=eks.AuthenticationMode.API,
            skip_default_node_group=True,
            # With no node group inside the eks.Cluster, pulumi-eks only manages CoreDNS when asked explicitly.
            coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=True),
            create_oidc_provider=True,
            vpc_id=args.vpc_id,
            private_subnet_ids=args.private_subnet_ids,
            public_subnet_ids=args.public_subnet_ids,
            endpoint_private_access=args.endpoint_private_access,
            endpoint_public_access=c.endpoint_public_access,
            public_access_cidrs=list(c.public_access_cidrs),
            kubernetes_service_ip_address_range=c.service_cidr,
            enabled_cluster_log_types=[t.value if isinstance(t, LogType) else t for t in c.enabled_log_types],
            tags=dict(args.tags),
            opts=child,
        )
        self.attachment = ClusterAttachment.from_eks_cluster(self.cluster, c.kubernetes_version)
        self.kubeconfig = pulumi.Output.secret(self.cluster.kubeconfig_json)
        self.cluster_name = pulumi.Output.from_input(self.attachment.name)
        self.oidc_provider_arn = self.cluster.oidc_provider_arn

        k8s_provider = None
        if args.node_pools or any(s.credential(CredentialKind.KUBERNETES_SECRETS) is not None for s in args.node_groups):
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
                    region_hint=args.region,
                ),
                opts=child,
            )
        self.node_pools = {}
        self.karpenter = None
        if args.node_pools:
            self._pools(name, args, k8s_provider, environment, child)
        groups = self.node_groups
        self.node_group_names = _dict_output({k: g.node_group_name for k, g in groups.items()})
        self.node_group_roles = _dict_output({k: g.role_arn for k, g in groups.items()})
        self.reports = _dict_output({k: g.report for k, g in {**groups, **self.node_pools}.items()})
        self.register_outputs(
            {
                "kubeconfig": self.kubeconfig,
                "clusterName": self.cluster_name,
                "oidcProviderArn": self.oidc_provider_arn,
                "nodeGroupNames": self.node_group_names,
                "nodeGroupRoles": self.node_group_roles,
                "reports": self.reports,
            }
        )


    def _pools(self, name: str, args: SociClusterArgs, provider: Any, environment: AwsEnvironment, child: pulumi.ResourceOptions) -> None:
        from .node_pool import SociNodePool, SociNodePoolArgs

        settings = args.karpenter or KarpenterSpec()
        depends: list[pulumi.Resource] = []
        if settings.install:
            from .karpenter import Karpenter, KarpenterArgs

            self.karpenter = Karpenter(
                f"{name}-karpenter",
                KarpenterArgs(cluster_name=self.attachment.name, cluster_endpoint=self.attachment.endpoint, kubernetes_provider=provider,
                              version=settings.version, namespace=settings.namespace, tags=dict(args.tags), aws_environment=environment),
                opts=child,
            )
            depends.append(self.karpenter)
        # Karpenter finds the nodes' subnets and security group by ID: the cluster's private subnets, its security group.
        subnets = pulumi.Output.from_input(args.private_subnet_ids).apply(lambda ids: [{"id": i} for i in ids])
        groups = pulumi.Output.from_input(self.attachment.cluster_security_group_id).apply(lambda sg: [{"id": sg}])
        for i, spec in enumerate(args.node_pools):
            self.node_pools[spec.name] = SociNodePool(
                f"{name}-{spec.name}",
                SociNodePoolArgs(
                    cluster=self.attachment,
                    spec=spec,
                    registry_credentials=args.registry_credentials,
                    kubernetes_provider=provider,
                    metadata_hop_limit=args.metadata_hop_limit,
                    tags=args.tags,
                    config_path=f"nodePools[{i}]",
                    aws_environment=environment,
                    region_hint=args.region,
                    subnet_selector_terms=subnets,  # type: ignore[arg-type]
                    security_group_selector_terms=groups,  # type: ignore[arg-type]
                    depends_on=depends,
                ),
                opts=child,
            )


def _dict_output(values: Mapping[str, pulumi.Input[Any]]) -> pulumi.Output[dict[str, Any]]:
    keys = list(values)
    return pulumi.Output.all(*values.values()).apply(lambda vs: dict(zip(keys, vs, strict=True)))


__all__ = ["TOKEN", "SociCluster", "SociClusterArgs"]
