"""``SociNodePool``: a Karpenter ``EC2NodeClass`` + ``NodePool`` whose nodes run SOCI from first boot.

Built from the same plan as a managed node group (every rule and byte shared, :mod:`.nodes`); the
documents come from the pure :mod:`soci_component.render.karpenter`. The AMI is pinned with
Karpenter's release alias (``al2023@v20260714``, ``bottlerocket@v1.57.0``; never ``@latest``), the
instance requirements carry the pinned release's nodeadm size floor, and the user data is ours without
what Karpenter adds itself. Needs Karpenter's CRDs on the cluster (a Karpenter installation; pass it in
``depends_on``, or use :class:`~soci_component.components.karpenter.Karpenter`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from ..render import karpenter as documents
from ..spec import NodePoolSpec
from .attachment import AwsEnvironment
from .nodes import NodeArgs, SociNodes, exec_kubeconfig

TOKEN = "soci-eks:index:SociNodePool"
DISCOVERY_TAG = "karpenter.sh/discovery"


@dataclass(kw_only=True)
class SociNodePoolArgs(NodeArgs):
    """Arguments of :class:`SociNodePool`."""

    spec: NodePoolSpec
    """What the pool's nodes run, plus Karpenter's knobs (requirements, limits, disruption, weight, expireAfter)."""
    create_access_entry: bool = True
    """An ``EC2_LINUX`` access entry for the node role (Karpenter nodes are not managed node groups: EKS maps nothing itself)."""
    subnet_selector_terms: Sequence[Mapping[str, Any]] | None = None
    """EC2NodeClass subnet selector terms; unset: subnets tagged ``karpenter.sh/discovery: <cluster name>``."""
    security_group_selector_terms: Sequence[Mapping[str, Any]] | None = None
    """EC2NodeClass security-group selector terms; unset: security groups tagged ``karpenter.sh/discovery: <cluster name>``."""
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)
    """What must exist first: the Karpenter installation (its CRDs)."""


class SociNodePool(SociNodes):
    """A Karpenter node pool whose nodes use the SOCI snapshotter from first boot."""

    node_class: Any
    """The ``EC2NodeClass`` (pulumi-kubernetes CustomResource)."""
    node_pool: Any
    """The ``NodePool`` (pulumi-kubernetes CustomResource)."""
    node_class_spec: pulumi.Output[dict[str, Any]]
    """The EC2NodeClass document as applied."""
    node_pool_spec: dict[str, Any]
    """The NodePool document (known before deployment)."""
    spec: NodePoolSpec

    KIND = "node pool"

    def __init__(self, name: str, args: SociNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        import pulumi_kubernetes as k8s

        path = args.config_path
        self._prepare(name, args.spec, args, karpenter=True)
        spec = self.spec
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        tags = {**dict(args.tags), "soci-eks:node-pool": spec.name}
        env = args.aws_environment or AwsEnvironment.lookup(invoke)
        static_arns, token_arn, depends = self._identity(name, args, env, tags, child)
        checked = self._instance_check(env, path, invoke)
        rendered = self._user_data(args.cluster, env, static_arns, token_arn, checked, path, karpenter=True)
        self.user_data_size = rendered.apply(lambda r: len(r.user_data))

        provider = args.kubernetes_provider
        if provider is None:
            c = args.cluster
            kubeconfig = c.kubeconfig if c.kubeconfig is not None else pulumi.Output.all(c.name, c.endpoint, c.certificate_authority, env.region).apply(
                lambda v: exec_kubeconfig(*v))
            provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig, opts=child)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[*depends, *args.depends_on])

        discovery = pulumi.Output.from_input(args.cluster.name).apply(lambda n: [{"tags": {DISCOVERY_TAG: n}}])
        subnets = pulumi.Output.from_input(args.subnet_selector_terms) if args.subnet_selector_terms is not None else discovery
        groups = pulumi.Output.from_input(args.security_group_selector_terms) if args.security_group_selector_terms is not None else discovery
        plan_, hop = self.plan, args.metadata_hop_limit
        self.node_class_spec = pulumi.Output.all(role=self.role.name, rendered=rendered, subnets=subnets, groups=groups).apply(
            lambda v: documents.ec2nodeclass(spec, plan_, name=spec.name, role=v["role"], user_data=v["rendered"].user_data.decode(),
                                             subnet_selector_terms=v["subnets"], security_group_selector_terms=v["groups"], tags=tags, metadata_hop_limit=hop)
        )
        self.node_class = k8s.apiextensions.CustomResource(
            f"{name}-node-class",
            api_version=documents.EC2NODECLASS_API,
            kind="EC2NodeClass",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=spec.name, labels={"app.kubernetes.io/managed-by": "soci-eks", "soci-eks/node-pool": spec.name}),
            spec=self.node_class_spec.apply(lambda d: d["spec"]),
            opts=k8s_opts,
        )
        self.node_pool_spec = documents.nodepool(spec, plan_, name=spec.name, node_class=spec.name)
        self.node_pool = k8s.apiextensions.CustomResource(
            f"{name}-node-pool",
            api_version=documents.NODEPOOL_API,
            kind="NodePool",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=spec.name, labels=self.node_pool_spec["metadata"]["labels"]),
            spec=self.node_pool_spec["spec"],
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[self.node_class])),
        )
        self.register_outputs(
            {
                "roleArn": self.role_arn,
                "roleName": self.role.name,
                "report": self.report,
                "userDataSize": self.user_data_size,
                "secretArns": self.secret_arns,
                "nodePool": self.node_pool_spec,
            }
        )


__all__ = ["DISCOVERY_TAG", "TOKEN", "SociNodePool", "SociNodePoolArgs"]
