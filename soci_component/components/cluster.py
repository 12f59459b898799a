"""``SociCluster``: an EKS cluster (pulumi-eks) whose node groups and Karpenter pools are all SOCI nodes.

The control plane is a pulumi-eks ``eks.Cluster`` (API authentication mode, no default node group,
managed CoreDNS add-on, OIDC provider). Node groups are :class:`SociNodeGroup` components next to it,
joined through a :class:`ClusterAttachment` read from the cluster's ``eksCluster`` child (endpoint,
CA, service CIDR, cluster security group) — plain AWS resources, so everything a node receives is
visible to Pulumi mocks and policies (``eks.*`` are remote components: their children are not).
Karpenter pools are :class:`SociNodePool` components, with Karpenter installed by :class:`Karpenter`
unless the cluster runs it already.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_eks as eks

from .. import naming, rules
from ..errors import SpecError
from ..spec import ClusterSpec, CredentialKind, KarpenterSpec, LogType, NodeGroupSpec, NodePoolSpec, check_tags
from .attachment import AwsEnvironment, ClusterAttachment
from .errors import failure
from .karpenter import Karpenter, KarpenterArgs
from .node_group import SociNodeGroup, SociNodeGroupArgs
from .node_pool import SociNodePool, SociNodePoolArgs
from .nodes import Membership, plain_region

__all__ = ["TOKEN", "SociCluster", "SociClusterArgs"]

TOKEN = "soci-eks:index:SociCluster"
VERIFY_ROLE = "soci-eks-verify"
"""Name of the ClusterRole (and its binding) for ``verify`` (``ClusterSpec.verify_groups``)."""


@dataclass
class SociClusterArgs:
    """Arguments of :class:`SociCluster`."""

    cluster: ClusterSpec
    """The control plane: name, Kubernetes version, endpoint access, service CIDR, log types."""
    vpc_id: pulumi.Input[str]
    """VPC of the cluster."""
    private_subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets (at least two AZs): control-plane ENIs and the nodes (unless a spec pins its own ``subnet_ids``)."""
    node_groups: Sequence[NodeGroupSpec] = ()
    """One SOCI managed node group per spec (specs without ``kubernetes_version`` take the cluster's)."""
    node_pools: Sequence[NodePoolSpec] = ()
    """One SOCI Karpenter node pool (EC2NodeClass + NodePool) per spec."""
    karpenter: KarpenterSpec | None = None
    """With node pools: install Karpenter (default) or use the one the cluster runs (``install=False``)."""
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


class SociCluster(pulumi.ComponentResource):
    """An EKS cluster whose node groups and Karpenter pools run SOCI as containerd's snapshotter from first boot."""

    cluster: eks.Cluster
    """The pulumi-eks cluster (control plane, OIDC provider, CoreDNS add-on)."""
    attachment: ClusterAttachment
    """The cluster as plain values; pass it to more :class:`SociNodeGroup` s or :class:`SociNodePool` s."""
    node_groups: dict[str, SociNodeGroup]
    """Node group name (spec) -> component."""
    node_pools: dict[str, SociNodePool]
    """Node pool name (spec) -> component."""
    karpenter: Karpenter | None
    """The Karpenter installation when the component installs it (node pools and ``karpenter.install``)."""
    kubernetes_provider: pulumi.ProviderResource | None
    """The cluster's Kubernetes provider (made when node pools or ``kubernetes-secrets`` credentials need it)."""
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
    """Spec name -> what its nodes run (AMI release, containerd, pull mode, SOCI source, labels, disks ...): every group and pool."""

    def __init__(self, name: str, args: SociClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        c = args.cluster
        groups = [g.completed(kubernetes_version=c.kubernetes_version) for g in args.node_groups]
        pools = [p.completed(kubernetes_version=c.kubernetes_version) for p in args.node_pools]
        self._check(name, args, groups, pools)
        child = pulumi.ResourceOptions(parent=self)
        self.cluster = self._control_plane(name, args)
        self.attachment = ClusterAttachment.from_eks_cluster(self.cluster, c.kubernetes_version, subnet_ids=args.private_subnet_ids)
        self.kubeconfig = pulumi.Output.secret(self.cluster.kubeconfig_json)
        self.cluster_name = pulumi.Output.from_input(self.attachment.name)
        self.oidc_provider_arn = self.cluster.oidc_provider_arn
        self.kubernetes_provider = None
        if pools or c.verify_groups or any(s.credential(CredentialKind.KUBERNETES_SECRETS) is not None for s in groups):
            import pulumi_kubernetes as k8s

            self.kubernetes_provider = k8s.Provider(f"{name}-k8s", kubeconfig=self.cluster.kubeconfig_json, opts=child)
        self._verify_access(name, c)
        environment = AwsEnvironment.lookup(pulumi.InvokeOutputOptions(parent=self))
        region = plain_region(opts)
        self._soci_members = {
            **{g.name: Membership(f"nodeGroups[{i}]", environment, region, naming.member_name(name, g.name)) for i, g in enumerate(groups)},
            **{p.name: Membership(f"nodePools[{i}]", environment, region, naming.member_name(name, p.name)) for i, p in enumerate(pools)},
        }
        self._soci_karpenter = Membership("karpenter", environment, region, f"{name}-karpenter")
        self.node_groups = {
            g.name: SociNodeGroup(naming.member_name(name, g.name), SociNodeGroupArgs(
                cluster=self.attachment, spec=g, registry_credentials=args.registry_credentials, kubernetes_provider=self.kubernetes_provider,
                max_unavailable_percentage=args.max_unavailable_percentage, metadata_hop_limit=args.metadata_hop_limit, create_access_entry=True,
                tags=args.tags), opts=child)
            for g in groups
        }
        self.karpenter = None
        self.node_pools = self._pools(name, args, pools) if pools else {}
        members: dict[str, Any] = {**self.node_groups, **self.node_pools}
        self.node_group_names = _dict_output({k: g.node_group_name for k, g in self.node_groups.items()})
        self.node_group_roles = _dict_output({k: g.role_arn for k, g in self.node_groups.items()})
        self.reports = _dict_output({k: g.report for k, g in members.items()})
        self.register_outputs({
            "kubeconfig": self.kubeconfig,
            "clusterName": self.cluster_name,
            "oidcProviderArn": self.oidc_provider_arn,
            "nodeGroupNames": self.node_group_names,
            "nodeGroupRoles": self.node_group_roles,
            "reports": self.reports,
        })

    def _check(self, name: str, args: SociClusterArgs, groups: list[NodeGroupSpec], pools: list[NodePoolSpec]) -> None:
        c = args.cluster
        try:
            rules.check_kubernetes_version(c.kubernetes_version)
            rules.check_nodes(c.kubernetes_version, [*((f"nodeGroups[{i}]", g) for i, g in enumerate(groups)),
                                                     *((f"nodePools[{i}]", p) for i, p in enumerate(pools))], name)
            check_tags("tags", args.tags, reserved=3)
            if pools:
                rules.check_pool_tags(args.tags)
        except SpecError as e:
            raise failure(e) from None
        for w in rules.stack_warnings_for(len(groups)):
            pulumi.log.warn(w, resource=self)

    def _verify_access(self, name: str, c: ClusterSpec) -> None:
        """The read-only ClusterRole ``verify`` needs, bound to ``cluster.verify_groups`` (none when empty)."""
        if not c.verify_groups:
            return
        import pulumi_kubernetes as k8s

        from ..verify import rbac

        opts = pulumi.ResourceOptions(parent=self, provider=self.kubernetes_provider)
        role = rbac.cluster_role(VERIFY_ROLE)
        binding = rbac.cluster_role_binding(VERIFY_ROLE, VERIFY_ROLE, groups=c.verify_groups)
        made = k8s.rbac.v1.ClusterRole(f"{name}-verify", metadata=role["metadata"], rules=role["rules"], opts=opts)
        k8s.rbac.v1.ClusterRoleBinding(f"{name}-verify", metadata=binding["metadata"], role_ref=binding["roleRef"], subjects=binding["subjects"],
                                       opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[made])))

    def _control_plane(self, name: str, args: SociClusterArgs) -> eks.Cluster:
        c = args.cluster
        return eks.Cluster(
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
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _pools(self, name: str, args: SociClusterArgs, pools: list[NodePoolSpec]) -> dict[str, SociNodePool]:
        settings = args.karpenter or KarpenterSpec()
        depends: list[pulumi.Resource] = []
        if settings.install:
            assert self.kubernetes_provider is not None
            self.karpenter = Karpenter(
                f"{name}-karpenter",
                KarpenterArgs(cluster_name=self.attachment.name, cluster_endpoint=self.attachment.endpoint, kubernetes_provider=self.kubernetes_provider,
                              version=settings.version, namespace=settings.namespace, tags=dict(args.tags)),
                opts=pulumi.ResourceOptions(parent=self),
            )
            depends.append(self.karpenter)
        # Karpenter finds the nodes' subnets and security group by ID (the attachment's): the private subnets, the cluster's group.
        return {
            p.name: SociNodePool(naming.member_name(name, p.name), SociNodePoolArgs(
                cluster=self.attachment, spec=p, registry_credentials=args.registry_credentials, kubernetes_provider=self.kubernetes_provider,
                metadata_hop_limit=args.metadata_hop_limit, tags=args.tags), opts=pulumi.ResourceOptions(parent=self, depends_on=depends))
            for p in pools
        }


def _dict_output(values: Mapping[str, pulumi.Input[Any]]) -> pulumi.Output[dict[str, Any]]:
    keys = list(values)
    return pulumi.Output.all(*values.values()).apply(lambda vs: dict(zip(keys, vs, strict=True)))
