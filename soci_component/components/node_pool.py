"""``SociNodePool``: a Karpenter ``EC2NodeClass`` + ``NodePool`` whose nodes run SOCI from first boot.

Built from the same plan as a managed node group (every rule and byte shared, :mod:`.nodes`); the
documents come from the pure :mod:`soci_component.render.karpenter`. The AMI is pinned with
Karpenter's release alias (``al2023@v20260714``, ``bottlerocket@v1.57.0``; never ``@latest``), the
instance requirements carry the pinned release's nodeadm size floor, and the user data is ours without
what Karpenter adds itself. Needs Karpenter's CRDs on the cluster: pass the Karpenter installation in
``opts.depends_on`` (or use :class:`~soci_component.SociCluster`, which does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .. import rules
from ..errors import SpecError, join
from ..render import karpenter as documents
from ..spec import NodePoolSpec
from .errors import failure
from .nodes import NodeArgs, SociNodes

__all__ = ["DISCOVERY_TAG", "TOKEN", "SociNodePool", "SociNodePoolArgs"]

TOKEN = "soci-eks:index:SociNodePool"
DISCOVERY_TAG = "karpenter.sh/discovery"


@dataclass(kw_only=True)
class SociNodePoolArgs(NodeArgs):
    """Arguments of :class:`SociNodePool`."""

    spec: NodePoolSpec
    """What the pool's nodes run, plus Karpenter's knobs (requirements, limits, disruption, weight, expireAfter)."""
    subnet_selector_terms: pulumi.Input[Sequence[Mapping[str, Any]]] | None = None
    """EC2NodeClass subnet selector terms; unset: the attachment's ``subnet_ids`` by ID, else subnets tagged
    ``karpenter.sh/discovery: <cluster name>``."""
    security_group_selector_terms: pulumi.Input[Sequence[Mapping[str, Any]]] | None = None
    """EC2NodeClass security-group selector terms; unset: the attachment's cluster security group by ID, else security
    groups tagged ``karpenter.sh/discovery: <cluster name>``."""


class SociNodePool(SociNodes):
    """A Karpenter node pool whose nodes use the SOCI snapshotter from first boot."""

    node_class: k8s.apiextensions.CustomResource
    """The ``EC2NodeClass``."""
    node_pool: k8s.apiextensions.CustomResource
    """The ``NodePool``."""
    node_class_spec: pulumi.Output[dict[str, Any]]
    """The EC2NodeClass document as applied."""
    node_pool_spec: dict[str, Any]
    """The NodePool document (known before deployment)."""
    ami_alias: str
    """The EC2NodeClass's pinned AMI alias (``al2023@v20260714``, ``bottlerocket@v1.57.0``; never ``@latest``)."""
    spec: NodePoolSpec
    """The spec as built: name and Kubernetes version filled in."""

    KIND = "node pool"
    _pool = True

    def __init__(self, name: str, args: SociNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        import pulumi_kubernetes as k8s

        self.spec = spec = self._start(name, args.spec, args, opts)
        try:
            rules.check_pool_tags(args.tags, join(self._path, "tags"))
        except SpecError as e:
            raise failure(e) from None
        alias = self.plan.profile.karpenter_alias
        assert alias is not None, "the rules refuse raw AMI IDs for pools"
        self.ami_alias = alias
        invoke = pulumi.InvokeOutputOptions(parent=self)
        tags = {**dict(args.tags), "soci-eks:node-pool": spec.name}
        env = self._environment()
        provider = self._kubernetes_provider(name, args, env)
        identity = self._identity(name, args, env, tags, provider)
        rendered = self._user_data(args.cluster, env, identity, self._instance_check(env, invoke))
        self.user_data_size = rendered.apply(lambda r: len(r.user_data))
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[*identity.depends, *_depends_on(opts)])
        subnets, groups = self._selectors(args)
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
        self.register_outputs({
            "roleArn": self.role_arn,
            "roleName": self.role.name,
            "report": self.report,
            "userDataSize": self.user_data_size,
            "secretArns": self.secret_arns,
            "nodePool": self.node_pool_spec,
        })

    def _selectors(self, args: SociNodePoolArgs) -> tuple[pulumi.Output[Any], pulumi.Output[Any]]:
        """Subnet and security-group selector terms: given, else the attachment's IDs, else Karpenter's discovery tag."""
        c = args.cluster
        discovery = pulumi.Output.from_input(c.name).apply(lambda n: [{"tags": {DISCOVERY_TAG: n}}])
        if args.subnet_selector_terms is not None:
            subnets = pulumi.Output.from_input(args.subnet_selector_terms)
        elif c.subnet_ids is not None:
            subnets = pulumi.Output.from_input(c.subnet_ids).apply(lambda ids: [{"id": i} for i in ids])
        else:
            subnets = discovery
        if args.security_group_selector_terms is not None:
            groups = pulumi.Output.from_input(args.security_group_selector_terms)
        elif c.cluster_security_group_id is not None and c.subnet_ids is not None:
            groups = pulumi.Output.from_input(c.cluster_security_group_id).apply(lambda sg: [{"id": sg}])
        else:
            groups = discovery
        return subnets, groups


def _depends_on(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """The component's own ``depends_on`` (the Karpenter installation), which its Kubernetes objects must wait for too."""
    deps = opts.depends_on if opts is not None else None
    if deps is None:
        return []
    if isinstance(deps, pulumi.Resource):
        return [deps]
    return [d for d in deps if isinstance(d, pulumi.Resource)] if isinstance(deps, list) else []
