"""The stack around the nodes: control plane, VPC, Karpenter installation, demo, tags. Pure."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import SpecError, short
from .enums import LogType, NatGateways
from .node import NodeGroupSpec, NodeSpec
from .pool import NodePoolSpec
from .soci import StaticCredentials
from .values import (
    CLUSTER_NAME_RE,
    K8S_GROUP_RE,
    K8S_VERSION_RE,
    REGION_RE,
    SUBNET_ID_RE,
    VERSION_RE,
    VPC_ID_RE,
    Checked,
    _camel,
    check_image,
    check_int,
    check_ipv4_cidr,
    check_match,
    check_tags,
)


@dataclass(frozen=True, kw_only=True)
class ClusterSpec(Checked):
    name: str
    """EKS cluster name."""
    kubernetes_version: str
    """Control-plane Kubernetes version; node groups default to it."""
    endpoint_public_access: bool = True
    """Whether the API server has a public endpoint (private access is always on)."""
    public_access_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    """Who may reach the public endpoint (IPv4 CIDRs, at least one)."""
    service_cidr: str = "172.20.0.0/16"
    """Kubernetes service range: private, /12 to /24, not overlapping the VPC (nodes derive the DNS IP from it)."""
    enabled_log_types: tuple[LogType, ...] = (LogType.API, LogType.AUDIT, LogType.AUTHENTICATOR)
    """Control-plane logs sent to CloudWatch."""
    verify_groups: tuple[str, ...] = ()
    """Kubernetes groups that may run ``python -m soci_component verify`` (a read-only ClusterRole bound to them: nodes,
    ``nodes/proxy``, pods, events — ``nodes/proxy`` reaches every kubelet endpoint, so name trusted groups only). Empty:
    none is created; cluster admins can verify anyway."""

    def _check(self) -> None:
        for i, g in enumerate(self.verify_groups):
            check_match(f"verifyGroups[{i}]", g, K8S_GROUP_RE, "a Kubernetes group name: 1-253 letters, digits and . _ : @ / -")
            if g.startswith("system:"):
                raise SpecError(f"verifyGroups[{i}]", f"{short(g)}: 'system:' groups are Kubernetes' own; bind verify's role to a group of your users")
        if len(set(self.verify_groups)) != len(self.verify_groups):
            raise SpecError("verifyGroups", "lists a group twice")
        check_match("name", self.name, CLUSTER_NAME_RE, "a cluster name of letters, digits, '-' and '_' (at most 100, starting with a letter or digit)")
        check_match("kubernetesVersion", self.kubernetes_version, K8S_VERSION_RE, "a Kubernetes minor version as a quoted string, e.g. '1.33'")
        if not self.public_access_cidrs:
            raise SpecError("publicAccessCidrs", "needs at least one CIDR block (0.0.0.0/0 for everyone)")
        for i, c in enumerate(self.public_access_cidrs):
            check_ipv4_cidr(f"publicAccessCidrs[{i}]", c)
        svc = ipaddress.ip_network(check_ipv4_cidr("serviceCidr", self.service_cidr))
        if not any(svc.subnet_of(ipaddress.ip_network(r)) for r in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")):
            raise SpecError("serviceCidr", f"{svc} is not in a private range; EKS needs the service CIDR inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
        if not 12 <= svc.prefixlen <= 24:
            raise SpecError("serviceCidr", f"/{svc.prefixlen}: EKS accepts a service CIDR from /12 to /24")
        if not isinstance(self.endpoint_public_access, bool):
            raise SpecError("endpointPublicAccess", f"{short(self.endpoint_public_access)}: expected true or false")


@dataclass(frozen=True, kw_only=True)
class VpcSpec(Checked):
    """A new VPC (``cidr``, ``az_count``, ``nat_gateways``) or an existing one (``vpc_id`` + subnets)."""

    cidr: str | None = "10.0.0.0/16"
    """A new VPC's IPv4 range (/16 to /28)."""
    az_count: int = 2
    """AZs of a new VPC, 2..6 (a public and a private subnet in each)."""
    nat_gateways: NatGateways = NatGateways.SINGLE
    """One NAT gateway, or one per AZ."""
    vpc_id: str | None = None
    """An existing VPC instead of a new one."""
    private_subnet_ids: tuple[str, ...] = ()
    """With ``vpc_id``: private subnets in at least two AZs (the nodes go here)."""
    public_subnet_ids: tuple[str, ...] = ()
    """With ``vpc_id``: public subnets for load balancers."""

    def _check(self) -> None:
        if self.vpc_id is not None:
            check_match("vpcId", self.vpc_id, VPC_ID_RE, "a VPC ID such as 'vpc-0123456789abcdef0'")
            for key in ("private_subnet_ids", "public_subnet_ids"):
                for i, s in enumerate(getattr(self, key)):
                    check_match(f"{_camel(key)}[{i}]", s, SUBNET_ID_RE, "a subnet ID such as 'subnet-0123456789abcdef0'")
            if len(self.private_subnet_ids) < 2:
                raise SpecError("privateSubnetIds", "an existing VPC needs at least two private subnets in different AZs (EKS requirement)")
            ids = [*self.private_subnet_ids, *self.public_subnet_ids]
            for i, sid in enumerate(ids):
                if sid in ids[:i]:
                    where = f"privateSubnetIds[{i}]" if i < len(self.private_subnet_ids) else f"publicSubnetIds[{i - len(self.private_subnet_ids)}]"
                    raise SpecError(where, f"{sid} is listed twice (a subnet is private or public, once)")
            return
        check_int("azCount", self.az_count, 2, 6, "2..6 (EKS needs subnets in at least two AZs)")
        if self.cidr is not None:
            net = ipaddress.ip_network(check_ipv4_cidr("cidr", self.cidr))
            if not 16 <= net.prefixlen <= 28:
                raise SpecError("cidr", f"/{net.prefixlen}: a VPC's IPv4 CIDR is /16 to /28")
            need = (2 * self.az_count - 1).bit_length()  # one public and one private subnet per AZ
            if net.prefixlen + need > 28:
                raise SpecError("cidr", f"{net} cannot hold {2 * self.az_count} subnets (a public and a private one in each of {self.az_count} AZs, "
                                        f"each at least /28); use /{28 - need} or larger")

    @property
    def existing(self) -> bool:
        return self.vpc_id is not None


DEFAULT_DEMO_IMAGE = "public.ecr.aws/soci-workshop-examples/tensorflow_gpu:latest"


@dataclass(frozen=True, kw_only=True)
class DemoSpec(Checked):
    enabled: bool = True
    """Deploy the demo Deployment."""
    image: str = DEFAULT_DEMO_IMAGE
    """An image published with a SOCI index, pinned to SOCI nodes by their label."""
    replicas: int = 1
    """Demo replicas, 0..20."""

    def _check(self) -> None:
        if not isinstance(self.enabled, bool):
            raise SpecError("enabled", f"{short(self.enabled)}: expected true or false")
        check_image("image", self.image)
        check_int("replicas", self.replicas, 0, 20, "0..20")


KARPENTER_CHART_VERSION = "1.15.0"
"""The Karpenter release the component installs and tests against (karpenter-provider-aws v1.15.0)."""


@dataclass(frozen=True, kw_only=True)
class KarpenterSpec(Checked):
    """Karpenter on the cluster: installed by the component, or already there."""

    install: bool = True
    """Install Karpenter (Helm chart, controller role via EKS Pod Identity, interruption queue); false: the cluster runs it already."""
    version: str = KARPENTER_CHART_VERSION
    """Karpenter chart version to install (the one the tests run Karpenter's merge code at)."""
    namespace: str = "kube-system"
    """Namespace of the Karpenter release."""

    def _check(self) -> None:
        if not isinstance(self.install, bool):
            raise SpecError("install", f"{short(self.install)}: expected true or false")
        check_match("version", self.version, VERSION_RE, "a Karpenter chart version such as '1.15.0'")
        check_match("namespace", self.namespace, re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"), "a Kubernetes namespace name")


@dataclass(frozen=True, kw_only=True)
class StackSpec(Checked):
    """A whole stack: region, cluster, VPC, node groups, Karpenter pools, demo, tags."""

    region: str
    """AWS region (``aws:region``)."""
    cluster: ClusterSpec
    """The control plane."""
    vpc: VpcSpec = VpcSpec()
    """A new VPC, or an existing one."""
    node_groups: tuple[NodeGroupSpec, ...] = ()
    """The SOCI managed node groups."""
    node_pools: tuple[NodePoolSpec, ...] = ()
    """The SOCI Karpenter node pools."""
    karpenter: KarpenterSpec | None = None
    """Set when the stack has node pools (default: install Karpenter)."""
    demo: DemoSpec = DemoSpec()
    """The demo workload."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every AWS resource."""

    def _check(self) -> None:
        check_match("region", self.region, REGION_RE, "an AWS region such as 'us-west-2'")
        check_tags("tags", self.tags, reserved=3)
        if self.vpc.cidr is not None and self.vpc.vpc_id is None:
            vpc, svc = ipaddress.ip_network(self.vpc.cidr), ipaddress.ip_network(self.cluster.service_cidr)
            if vpc.overlaps(svc):
                raise SpecError("cluster.serviceCidr", f"{svc} overlaps the VPC's {vpc} (vpc.cidr): pods could not reach services or nodes; "
                                                       "choose ranges that do not overlap (the default service CIDR is 172.20.0.0/16)")

    @property
    def nodes(self) -> tuple[NodeSpec, ...]:
        """Node groups then node pools."""
        return (*self.node_groups, *self.node_pools)

    @property
    def static_registries(self) -> tuple[str, ...]:
        """Registries whose credentials must be set as secret config ``registryCredentials``."""
        return tuple(sorted({c.registry for s in self.nodes for c in s.creds if isinstance(c, StaticCredentials)}))
