"""Pulumi mocks for the component tests: a recording ``Mocks`` with canned AWS invokes.

Use :func:`mocked` from a fixture (never at module level: the last ``set_mocks`` wins, notes/pulumi.md
§2.4 #3). ``preview=False`` so every ``apply`` runs (§2.4 #2). Config and the root stack are
reset afterwards. (The inline ``ImmediateExecutor`` of §2.4 #8 is not used: MockMonitor.Invoke runs
``_sync_await`` itself, which on the loop's own thread nests the event loop and overflows the stack at a
few hundred resources; the tests were not flaky with the default thread pool.)

What the mocks return is what AWS/EKS would report (IDs, ARNs, the cluster's endpoint and CA); tests
assert on the *inputs* our code computes from them, never on these canned values themselves.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pmocks
from pulumi.runtime import rpc, settings

from soci_component.render.types import ClusterInfo

SECRET_SIG = rpc._special_secret_sig
SIG_KEY = rpc._special_sig_key
RESOURCE_SIG = rpc._special_resource_sig

# Instance facts (default vCPUs, memory MiB) as aws.ec2.get_instance_type reports them.
INSTANCE_FACTS: dict[str, tuple[int, int]] = {
    "t3.medium": (2, 4096),
    "t3.large": (2, 8192),
    "m7i.large": (2, 8192),
    "m7i.xlarge": (4, 16384),
    "m7i.2xlarge": (8, 32768),
    "m6i.2xlarge": (8, 32768),
    "m7a.2xlarge": (8, 32768),
    "r7i.2xlarge": (8, 65536),
    "c7i.xlarge": (4, 8192),
    "c6i.large": (2, 4096),
    "m7g.xlarge": (4, 16384),
    "m7g.2xlarge": (8, 32768),
    "c7g.2xlarge": (8, 16384),
    "m6id.2xlarge": (8, 32768),
    "c6id.2xlarge": (8, 16384),
    "m7gd.xlarge": (4, 16384),
}
INSTANCE_STORE = {"m6id.2xlarge", "c6id.2xlarge", "m7gd.xlarge"}
"""Types with NVMe instance store (``instanceStorageSupported``)."""


@dataclass
class FakeCluster:
    """An EKS cluster as AWS describes it (the mocks' view of the world)."""

    name: str = "soci-test"
    endpoint: str = "https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com"
    certificate_authority: str = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMOCKCA\n-----END CERTIFICATE-----\n").decode()
    service_cidr: str = "172.20.0.0/16"
    security_group_id: str = "sg-0cluster0000000001"
    kubernetes_version: str = "1.33"


@dataclass
class Registered:
    typ: str
    name: str
    inputs: dict[str, Any]
    custom: bool
    provider: str = ""
    id: str | None = None
    urn: str = ""
    parent: str = ""
    ignore_changes: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    aliases: list[Any] = field(default_factory=list)
    """The ``Alias`` protos the program sent (alias specs or URNs)."""


class RecordingMonitor(pmocks.MockMonitor):
    """A MockMonitor that also records resource options the Mocks never see, and registered outputs."""

    def __init__(self, mocks: SociMocks) -> None:
        super().__init__(mocks)
        self.outputs: dict[str, dict[str, Any]] = {}
        self.current = threading.local()

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC name
        self.current.request = request  # read by SociMocks.new_resource, on this thread
        try:
            return super().RegisterResource(request)
        finally:
            self.current.request = None

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC name
        self.outputs[request.urn] = rpc.deserialize_properties(request.outputs, keep_unknowns=True)
        return super().RegisterResourceOutputs(request)


@dataclass
class SociMocks(pulumi.runtime.Mocks):
    """Records every registration and invoke; answers like AWS would."""

    partition: str = "aws"
    region: str = "us-west-2"
    account: str = "123456789012"
    clusters: dict[str, FakeCluster] = field(default_factory=dict)
    """Existing clusters ``aws:eks/getCluster`` knows (by name)."""
    resources: list[Registered] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    monitor: RecordingMonitor | None = None
    sa_token: str = "eyJhbGciOiJSUzI1NiJ9.mock-service-account-token"
    cluster_not_created_yet: bool = False
    """Like a preview of a new cluster: eks.Cluster returns no outputs (they are unknown)."""

    # -- helpers for tests ------------------------------------------------------------------
    @property
    def dns_suffix(self) -> str:
        return "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"

    def cluster_info(self, name: str) -> ClusterInfo:
        """The ClusterInfo the component should hand to the renderer for cluster ``name``."""
        c = self.clusters[name]
        return ClusterInfo(
            name=c.name,
            endpoint=c.endpoint,
            certificate_authority=c.certificate_authority,
            service_cidr=c.service_cidr,
            region=self.region,
            account_id=self.account,
            partition=self.partition,
        )

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, name_contains: str = "") -> Registered:
        found = [r for r in self.of_type(typ) if name_contains in r.name]
        assert len(found) == 1, f"expected one {typ} matching {name_contains!r}, got {[r.name for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Registered:
        return next(r for r in self.resources if r.urn == urn)

    def calls_to(self, token: str) -> list[dict[str, Any]]:
        return [a for t, a in self.calls if t == token]

    @staticmethod
    def ami_for(parameter: str) -> str:
        return "ami-" + hashlib.sha256(parameter.encode()).hexdigest()[:17]

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account}:{resource}"

    # -- Mocks ----------------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        rec = Registered(args.typ, args.name, dict(args.inputs), args.custom, args.provider or "")
        request = getattr(self.monitor.current, "request", None) if self.monitor is not None else None
        if request is not None:
            rec.urn = self.monitor.make_urn(request.parent, request.type, request.name)  # type: ignore[union-attr]
            rec.parent = request.parent
            rec.ignore_changes = list(request.ignoreChanges)
            rec.dependencies = list(request.dependencies)
            rec.aliases = list(request.aliases)
        self.resources.append(rec)
        state = dict(args.inputs)
        rid = f"{args.name}-id"
        t = args.typ
        if t == "aws:iam/role:Role":
            state.update(arn=self.arn("iam", f"role/{args.name}", region=False), name=args.name)
        elif t == "aws:ec2/launchTemplate:LaunchTemplate":
            rid = "lt-" + hashlib.sha256(args.name.encode()).hexdigest()[:17]
            state.update(latestVersion=1, arn=self.arn("ec2", f"launch-template/{rid}"))
        elif t == "aws:secretsmanager/secret:Secret":
            state.update(arn=self.arn("secretsmanager", f"secret:{args.name}-AbCdEf"))
            rid = state["arn"]
        elif t == "aws:eks/nodeGroup:NodeGroup":
            state.update(nodeGroupName=args.inputs.get("nodeGroupName") or f"{args.name}-1234567", status="ACTIVE")
        elif t == "aws:sqs/queue:Queue":  # auto-named like the provider does; the ID is the queue URL
            queue = args.inputs.get("name") or f"{args.name}-1234567"
            state.update(name=queue, arn=self.arn("sqs", queue), url=f"https://sqs.{self.region}.{self.dns_suffix}/{self.account}/{queue}")
            rid = state["url"]
        elif t == "aws:cloudwatch/eventRule:EventRule":
            rule = args.inputs.get("name") or f"{args.name}-1234567"
            state.update(name=rule, arn=self.arn("events", f"rule/{rule}"))
            rid = rule
        elif t == "aws:eks/addon:Addon":
            state.update(arn=self.arn("eks", f"addon/{args.inputs.get('clusterName')}/{args.inputs.get('addonName')}/mock"), addonVersion="v1.3.0-eksbuild.1")
        elif t == "aws:eks/podIdentityAssociation:PodIdentityAssociation":
            state.update(associationId="a-0mock0000000000001",
                         associationArn=self.arn("eks", f"podidentityassociation/{args.inputs.get('clusterName')}/a-0mock0000000000001"))
        elif t == "kubernetes:helm.sh/v3:Release":
            state["status"] = {"name": args.inputs.get("name") or f"{args.name}-1234567", "namespace": args.inputs.get("namespace"),
                               "chart": str(args.inputs.get("chart", "")).rsplit("/", 1)[-1], "version": args.inputs.get("version"), "status": "deployed"}
        if t.startswith("kubernetes:") and isinstance(state.get("metadata"), dict) and not state["metadata"].get("name"):
            state["metadata"] = {**state["metadata"], "name": f"{args.name}-k8sname"}  # the provider auto-names
        if t == "kubernetes:core/v1:Secret" and args.inputs.get("type") == "kubernetes.io/service-account-token":
            state["data"] = {"token": base64.b64encode(self.sa_token.encode()).decode()}  # filled by the token controller
        elif t == "eks:index:Cluster":
            state = {} if self.cluster_not_created_yet else {**state, **self._eks_cluster(args)}
        elif t == "awsx:ec2:Vpc":
            n = int(args.inputs.get("numberOfAvailabilityZones", 2))
            state = dict(  # a remote component's outputs, not an echo of its inputs
                vpcId="vpc-0123456789abcdef0",
                privateSubnetIds=[f"subnet-0priv{i:012d}" for i in range(n)],
                publicSubnetIds=[f"subnet-0pub0{i:012d}" for i in range(n)],
            )
        rec.id = rid
        return rid, state

    def _eks_cluster(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        """pulumi-eks is a remote component: under mocks it registers no children. Fabricate its ``eksCluster``
        child as a resource reference the SDK can rehydrate (notes/pulumi.md §2.4 #5)."""
        assert self.monitor is not None, "SociMocks.monitor must be set for eks.Cluster"
        name = args.inputs.get("name") or f"{args.name}-eksCluster-1234567"
        fake = self.clusters.setdefault(name, FakeCluster(name=name, service_cidr=args.inputs.get("kubernetesServiceIpAddressRange", "172.20.0.0/16")))
        urn = f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::eks:index:Cluster$aws:eks/cluster:Cluster::{args.name}-eksCluster"
        state = {
            "name": fake.name,
            "arn": self.arn("eks", f"cluster/{fake.name}"),
            "endpoint": fake.endpoint,
            "certificateAuthority": {"data": fake.certificate_authority},
            "kubernetesNetworkConfig": {"serviceIpv4Cidr": fake.service_cidr, "ipFamily": "ipv4"},
            "vpcConfig": {"clusterSecurityGroupId": fake.security_group_id, "vpcId": args.inputs.get("vpcId")},
            "version": args.inputs.get("version"),
        }
        self.monitor.resources[urn] = pmocks.MockMonitor.ResourceRegistration(urn, fake.name, state)
        kubeconfig = json.dumps(
            {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": fake.name, "cluster": {"server": fake.endpoint, "certificate-authority-data": fake.certificate_authority}}]}
        )
        return {
            "eksCluster": {SIG_KEY: RESOURCE_SIG, "urn": urn, "id": fake.name, "packageVersion": ""},
            "kubeconfigJson": kubeconfig,
            "kubeconfig": {"apiVersion": "v1"},
            "oidcProviderArn": self.arn("iam", "oidc-provider/oidc.eks.mock", region=False),
            "clusterSecurityGroupId": "sg-0pulumieks00000001",
        }

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        self.calls.append((args.token, dict(args.args)))
        t, a = args.token, args.args
        if t == "aws:index/getPartition:getPartition":
            return {"partition": self.partition, "dnsSuffix": self.dns_suffix, "id": self.partition, "reverseDnsPrefix": "com.amazonaws"}
        if t == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region, "endpoint": f"ec2.{self.region}.{self.dns_suffix}"}
        if t == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": self.account, "arn": self.arn("iam", "user/tester", region=False), "userId": "AIDAMOCK", "id": self.account}
        if t == "aws:ssm/getParameter:getParameter":
            value = self.ami_for(a["name"])
            return {"name": a["name"], "value": value, "insecureValue": value, "type": "String", "arn": "arn", "id": a["name"], "version": 1}
        if t == "aws:ec2/getInstanceType:getInstanceType":
            vcpus, mib = INSTANCE_FACTS[a["instanceType"]]
            return {
                "instanceType": a["instanceType"],
                "defaultVcpus": vcpus,
                "memorySize": mib,
                "instanceStorageSupported": a["instanceType"] in INSTANCE_STORE,
                "id": a["instanceType"],
            }
        if t == "aws:eks/getCluster:getCluster":
            c = self.clusters.get(a["name"])
            if c is None:
                return {}, [("name", f"cluster {a['name']} not found")]
            return {
                "name": c.name,
                "id": c.name,
                "arn": self.arn("eks", f"cluster/{c.name}"),
                "endpoint": c.endpoint,
                "certificateAuthorities": [{"data": c.certificate_authority}],
                "kubernetesNetworkConfigs": [{"serviceIpv4Cidr": c.service_cidr, "serviceIpv6Cidr": "", "ipFamily": "ipv4", "elasticLoadBalancings": []}],
                "vpcConfig": {"clusterSecurityGroupId": c.security_group_id, "vpcId": "vpc-0existing00000001", "subnetIds": [], "securityGroupIds": []},
                "version": c.kubernetes_version,
                "status": "ACTIVE",
            }
        raise NotImplementedError(f"no mock for invoke {t}")


def _quiet_failed_programs(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A program that is expected to fail leaves Outputs nobody awaited; don't print them at exit."""
    if "never retrieved" in str(context.get("message", "")):
        return
    loop.default_exception_handler(context)


@contextlib.contextmanager
def mocked(mocks: SociMocks, config: Mapping[str, str] | None = None, secret_keys: list[str] | None = None,
           project: str = "soci-eks", stack: str = "test", preview: bool = False) -> Iterator[SociMocks]:
    """Install ``mocks`` with ``config``; a fresh root stack; config cleared afterwards. ``preview=True`` only
    for tests about what a preview shows (unreturned outputs are unknown there and applies on them never run)."""
    loop = asyncio.get_event_loop_policy().get_event_loop()
    loop.set_exception_handler(_quiet_failed_programs)
    pulumi.runtime.set_all_config(dict(config or {}), secret_keys or [])
    settings.ROOT.set(None)
    monitor = RecordingMonitor(mocks)
    mocks.monitor = monitor
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    try:
        yield mocks
    finally:
        pulumi.runtime.set_all_config({}, [])
        settings.ROOT.set(None)


def run(fn: Any) -> None:
    """Run ``fn`` as a Pulumi program under the installed mocks; re-raise the first failure."""
    pulumi.runtime.test(fn)()


def unwrap(value: Any) -> Any:
    """Strip secret wrappers (notes/pulumi.md §2.4 #1) recursively."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return unwrap(value.get("value"))
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def exports() -> dict[str, Any]:
    """What the running program passed to ``pulumi.export`` (call inside the program function)."""
    return dict(settings.get_root_resource().outputs)  # type: ignore[union-attr]


async def _secret_and_value(output: pulumi.Output[Any]) -> tuple[bool, Any]:
    return await output.is_secret(), await output.future()


def secret_and_value(output: Any) -> pulumi.Output[tuple[bool, Any]]:
    """``(is_secret, value)`` of an Output, as an Output (for assertions on secretness)."""
    out = output if isinstance(output, pulumi.Output) else pulumi.Output.from_input(output)
    return pulumi.Output.from_input(asyncio.ensure_future(_secret_and_value(out)))
