"""What managed node groups and Karpenter node pools share: their arguments about the cluster, and the base
component that runs the pipeline at construction, builds the identity (:mod:`.identity`), checks instance types
with EC2's facts and renders the user data once the cluster's values resolve.

The rules and the plan run at construction (plain values, before any Output resolves), so preview fails on a
bad spec, logs the warnings and knows the report; the user data is the renderer's exact bytes once the cluster
values resolve. No resource is created inside ``apply``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pulumi
import pulumi_aws as aws

from .. import naming, pipeline
from ..errors import SpecError, join
from ..instances import InstanceFacts
from ..placeholders import maximal_cluster, maximal_secrets
from ..render import NodePlan, NodeReport, RenderedNode
from ..render.types import ClusterInfo, Secrets
from ..spec import LocalStorage, NodeSpec
from .attachment import AwsEnvironment, ClusterAttachment
from .errors import failure, guarded
from .identity import Identity, Wiring, build_identity
from .keychain import exec_kubeconfig

S = TypeVar("S", bound=NodeSpec)


@dataclass(kw_only=True)
class NodeArgs:
    """Arguments every SOCI node component takes."""

    cluster: ClusterAttachment
    """The cluster the nodes join (``SociCluster.attachment``, ``ClusterAttachment.from_existing(name)`` /
    ``.from_eks_cluster(cluster)``)."""
    registry_credentials: pulumi.Input[Mapping[str, Mapping[str, str]]] | None = None
    """Registry host -> ``{"username", "password"}`` for the spec's ``static`` credential sources; pass a Pulumi
    secret. Only the Secrets Manager secret version receives the values."""
    kubernetes_provider: pulumi.ProviderResource | None = None
    """Kubernetes provider (the ``kubernetes-secrets`` identity; Karpenter's resources); unset: one is built from
    ``cluster.kubeconfig`` (or an ``aws eks get-token`` kubeconfig from the cluster's values)."""
    metadata_hop_limit: int = 2
    """IMDSv2 hop limit. 2 lets pods reach the instance metadata service, and so the node role (which can read
    this group's boot secrets); 1 keeps pods without host networking away from it."""
    create_access_entry: bool | None = None
    """An ``EC2_LINUX`` EKS access entry for the node role, which lets its nodes join a cluster in ``API`` or
    ``API_AND_CONFIG_MAP`` authentication mode (Bottlerocket nodes use the same type). Unset: what the nodes need —
    a pool's Karpenter nodes need one (nothing else maps their role); a managed node group's role gets one from EKS
    when the group is created, and a second one would fail with ``ResourceInUseException`` (:class:`SociCluster`
    creates it before its groups, so EKS keeps that one). ``False`` for clusters that map roles only in ``aws-auth``.
    """
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every AWS resource of the nodes, their instances and volumes."""


@dataclass(frozen=True)
class Membership:
    """What :class:`~soci_component.SociCluster` tells the node groups and pools it creates (never set by users):
    their key path in the stack, the AWS environment looked up once for all of them, and the region as a plain value."""

    path: str
    environment: AwsEnvironment
    region: str | None
    component_name: str


def membership(opts: pulumi.ResourceOptions | None, spec_name: str) -> Membership | None:
    """The membership a parent ``SociCluster`` registered for ``spec_name``, if this component is one of its members."""
    parent = opts.parent if opts is not None else None
    members: Mapping[str, Membership] | None = getattr(parent, "_soci_members", None)
    return members.get(spec_name) if members else None


def plain_region(opts: pulumi.ResourceOptions | None) -> str | None:
    """``aws:region`` as a plain value when the component uses the default AWS provider (None otherwise)."""
    if opts is not None and (opts.provider is not None or opts.providers):
        return None
    return pulumi.Config("aws").get("region")


class SociNodes(pulumi.ComponentResource):
    """Base of :class:`SociNodeGroup` and :class:`SociNodePool`."""

    role: aws.iam.Role
    """The node IAM role (worker node, CNI, ECR pull-only and SSM core policies; read access to its own boot secrets only)."""
    role_arn: pulumi.Output[str]
    """ARN of :attr:`role`."""
    report: pulumi.Output[dict[str, Any]]
    """What the nodes run (:meth:`NodeReport.to_json`): OS, AMI release, SSM parameter, Kubernetes, arch, containerd,
    pull mode, SOCI source, labels, disks."""
    user_data_size: pulumi.Output[int]
    """Bytes of our user data (before base64; a managed node group's is gzipped when the document exceeds 16 KB)."""
    secret_arns: pulumi.Output[list[str]]
    """Secrets Manager secrets the nodes read at boot (static registry credentials, kubeconfig token)."""
    plan: NodePlan
    """What every node gets, minus cluster values (plain value): files, NodeConfig, disks, warnings, report."""

    KIND = "node group"
    _pool = False

    def _start(self, name: str, spec: S, args: NodeArgs, opts: pulumi.ResourceOptions | None) -> S:
        """Name and Kubernetes version settled, the pipeline run, the preview size check: returns the completed spec."""
        member = membership(opts, spec.name) if spec.name else None
        self._path = member.path if member else f"{type(self).__name__}({name!r})"
        self._region = member.region if member else plain_region(opts)
        self._member_env = member.environment if member else None
        try:
            if spec.name and spec.name != name and not (member and member.component_name == name):
                raise SpecError(join(self._path, "name"), f"the spec's name {spec.name!r} differs from the component's name {name!r}; name the component "
                                                          "after the node group (or leave the spec's name empty: it takes the component's)")
            spec = spec.completed(name=name, kubernetes_version=args.cluster.kubernetes_version or "")
            if not isinstance(args.metadata_hop_limit, int) or isinstance(args.metadata_hop_limit, bool) or not 1 <= args.metadata_hop_limit <= 64:
                raise SpecError(join(self._path, "metadataHopLimit"), f"{args.metadata_hop_limit!r}: expected 1..64")
            naming.check_lengths(naming.node_names(name, pool=self._pool), join(self._path, "name"), f"the component's name {name!r}")
            self.plan = pipeline.plan_node(spec, self._path, control_plane=args.cluster.kubernetes_version)
            # The new cluster's endpoint and CA are unknown at preview: check the 16 KB limit with the largest
            # values EKS can return, so preview fails before `up` creates the cluster.
            pipeline.render_node(self.plan, maximal_cluster(None, self._region), maximal_secrets(spec, self._region, name), karpenter=self._pool,
                                 path=self._path)
        except SpecError as e:
            raise failure(e) from None
        for w in self.plan.warnings:
            pulumi.log.warn(w, resource=self)
        # One Output for the whole report (from_input on the dict would wrap every nested value in an Output of its own).
        self.report = pulumi.Output.from_input(json.dumps(self.plan.report.to_json())).apply(json.loads)
        return spec

    @property
    def report_data(self) -> NodeReport:
        """What the nodes run, as a plain typed value (known before deployment)."""
        return self.plan.report

    def _environment(self) -> AwsEnvironment:
        if self._member_env is not None:
            return self._member_env
        return AwsEnvironment.lookup(pulumi.InvokeOutputOptions(parent=self))

    def _kubernetes_provider(self, name: str, args: NodeArgs, env: AwsEnvironment) -> pulumi.ProviderResource:
        """The given provider, or the one this component builds from the attachment (at most once)."""
        if args.kubernetes_provider is not None:
            return args.kubernetes_provider
        if getattr(self, "_own_provider", None) is None:
            import pulumi_kubernetes as k8s

            c = args.cluster
            kubeconfig = c.kubeconfig if c.kubeconfig is not None else pulumi.Output.all(c.name, c.endpoint, c.certificate_authority, env.region).apply(
                lambda v: exec_kubeconfig(*v))
            self._own_provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig, opts=pulumi.ResourceOptions(parent=self))
        return self._own_provider

    def _identity(self, name: str, args: NodeArgs, env: AwsEnvironment, tags: Mapping[str, str], provider: pulumi.ProviderResource | None) -> Identity:
        wiring = Wiring(parent=self, name=name, kind=self.KIND, spec=self.plan.spec, path=self._path, env=env, tags=tags,
                        registry_credentials=args.registry_credentials, create_access_entry=self._pool if args.create_access_entry is None else args.create_access_entry,
                        cluster_name=args.cluster.name,
                        kubernetes_provider=provider)
        identity = build_identity(wiring, naming.node_names(name, pool=self._pool)["role"].name)
        self.role = identity.role
        self.role_arn = identity.role.arn
        arns = identity.secret_arns
        self.secret_arns = pulumi.Output.all(*arns).apply(list) if arns else pulumi.Output.from_input([])
        return identity

    def _image_id(self, env: AwsEnvironment, invoke: pulumi.InvokeOutputOptions) -> pulumi.Output[str]:
        p = self.plan.profile
        if p.ssm_parameter is not None:
            return env.ssm_parameter(p.ssm_parameter, invoke)
        assert p.ami_id is not None
        return pulumi.Output.from_input(p.ami_id)

    def _instance_check(self, env: AwsEnvironment, invoke: pulumi.InvokeOutputOptions) -> pulumi.Output[bool]:
        """The rules that need EC2's facts of each listed instance type (nodeadm's size floor, instance store)."""
        spec = self.plan.spec
        if not spec.instance_types or not ((spec.uses_fast_image_pull and self.plan.profile.size_floor is not None) or spec.local_storage is LocalStorage.RAID0):
            return pulumi.Output.from_input(True)
        lookups = [env.instance_type(t, invoke) for t in spec.instance_types]

        def check(results: list[Any]) -> bool:
            facts: dict[str, InstanceFacts | None] = {
                r.instance_type: InstanceFacts(vcpus=int(r.default_vcpus), memory_mib=int(r.memory_size), instance_store=bool(r.instance_storage_supported))
                for r in results
            }
            pipeline.check_instances(self.plan, facts, self._path)
            return True

        return pulumi.Output.all(*lookups).apply(guarded("", check))

    def _user_data(self, cluster: ClusterAttachment, env: AwsEnvironment, identity: Identity, checked: pulumi.Output[bool]) -> pulumi.Output[RenderedNode]:
        registries = list(identity.static_arns)

        def rendered(v: list[Any]) -> RenderedNode:
            info, token, *statics = v[0], v[1], *v[2:-1]
            secrets = Secrets(static=dict(zip(registries, statics, strict=True)), kubeconfig_token=token)
            return pipeline.render_node(self.plan, info, secrets, karpenter=self._pool)

        return pulumi.Output.all(cluster_info(cluster, env), identity.token_arn, *identity.static_arns.values(), checked).apply(guarded(self._path, rendered))


def cluster_info(cluster: ClusterAttachment, env: AwsEnvironment) -> pulumi.Output[ClusterInfo]:
    """The renderer's ClusterInfo as one Output, shared by every node group and pool of the same cluster and environment."""

    def make(v: dict[str, Any]) -> ClusterInfo:
        if not v["cidr"]:
            raise SpecError("cluster", f"cluster {v['name']} has no IPv4 service CIDR; IPv6 clusters are not supported by SOCI node groups")
        return ClusterInfo(name=v["name"], endpoint=v["endpoint"], certificate_authority=v["ca"], service_cidr=v["cidr"], region=v["region"],
                           account_id=v["account"], partition=v["partition"])

    return env.shared(("cluster", id(cluster)), lambda: pulumi.Output.all(
        name=cluster.name, endpoint=cluster.endpoint, ca=cluster.certificate_authority, cidr=cluster.service_cidr,
        region=env.region, account=env.account_id, partition=env.partition,
    ).apply(guarded("", make)))
