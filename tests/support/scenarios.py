"""The renderer's scenario matrix: containerd line x pull mode x credential source x SOCI source,
plus special cases. Used by golden tests, structural tests and the real-daemon tests.

Every scenario goes through the pipeline (spec -> catalogue -> rules -> plan -> render: ``soci_component.pipeline``),
so a scenario is pinned by its release and Kubernetes version, exactly as a stack file pins it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from soci_component import pipeline
from soci_component.ami import NodeProfile
from soci_component.render import NodePlan, RenderedNode
from soci_component.render.types import ClusterInfo, Secrets
from soci_component.spec import (
    AmiPackage,
    AmiPin,
    CriProxy,
    EcrCredentialHelper,
    KubernetesSecrets,
    LocalStorage,
    NodeGroupSpec,
    OperatingSystem,
    PullMode,
    RegistryMirror,
    SociTuning,
    StaticCredentials,
    Taint,
    TaintEffect,
    UpstreamRelease,
)

CLUSTER = ClusterInfo(
    name="golden",
    endpoint="https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com",
    certificate_authority="TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Q2s=",
    service_cidr="172.20.0.0/16",
    region="us-west-2",
    account_id="111122223333",
)
SECRETS = Secrets(
    static={"registry.example.com": "arn:aws:secretsmanager:us-west-2:111122223333:secret:soci-eks/golden/registry-AbCdEf"},
    kubeconfig_token="arn:aws:secretsmanager:us-west-2:111122223333:secret:soci-eks/golden/kube-token-AbCdEf",
)

# containerd lines, pinned as a stack file pins them: (release, Kubernetes version) -> the catalogue's containerd
PINS = {
    "c17": ("v20251108", "1.30"),  # containerd 1.7.27
    "c21": ("v20251108", "1.31"),  # containerd 2.1.4
    "c22": ("v20260714", "1.33"),  # containerd 2.2.4
}
CREDENTIALS = {
    "ecr": EcrCredentialHelper(),
    "cri": CriProxy(),
    "static": StaticCredentials("registry.example.com"),
    "kube": KubernetesSecrets(),
}
SOURCES = {
    "ami": AmiPackage(),
    "release": UpstreamRelease(),
}
MODES = {"lazy": PullMode.LAZY, "parallel": PullMode.PARALLEL, "fallback": PullMode.LAZY_WITH_PARALLEL_FALLBACK}


@dataclass(frozen=True)
class Scenario:
    name: str
    spec: NodeGroupSpec

    @property
    def profile(self) -> NodeProfile:
        return self.plan.profile

    @property
    def plan(self) -> NodePlan:
        if self.name not in _PLANNED:
            _PLANNED[self.name] = pipeline.plan_node(self.spec)
        return _PLANNED[self.name]

    def render(self) -> RenderedNode:
        if self.name not in _RENDERED:
            _RENDERED[self.name] = pipeline.render_node(self.plan, CLUSTER, SECRETS)
        return _RENDERED[self.name]


_PLANNED: dict[str, NodePlan] = {}
_RENDERED: dict[str, RenderedNode] = {}


def node_group(name: str, pin: str, **kw: object) -> NodeGroupSpec:
    release, k8s = PINS[pin] if pin in PINS else pin.split("@")
    kw.setdefault("instance_types", ("m7i.xlarge",))
    return NodeGroupSpec(name=name, kubernetes_version=k8s, ami=AmiPin(release=release), **kw)  # type: ignore[arg-type]


def al2023_group(name: str = "lazy", **kw: object) -> NodeGroupSpec:
    """An AL2023 node group on v20260714 / Kubernetes 1.33 (m7i.xlarge unless given)."""
    kw.setdefault("instance_types", ("m7i.xlarge",))
    return NodeGroupSpec(name=name, kubernetes_version="1.33", ami=AmiPin(release="v20260714"), **kw)  # type: ignore[arg-type]


def bottlerocket_group(name: str = "br", **kw: object) -> NodeGroupSpec:
    """A Bottlerocket 1.57.0 / Kubernetes 1.33 arm64 node group in parallel mode with cri-proxy credentials."""
    kw.setdefault("instance_types", ("m7g.xlarge",))
    return NodeGroupSpec(
        name=name, kubernetes_version="1.33", ami=AmiPin(release="1.57.0"), os=OperatingSystem.BOTTLEROCKET, pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),), **kw,  # type: ignore[arg-type]
    )


def _matrix() -> list[Scenario]:
    out = []
    for pk in ("c17", "c22"):
        for mk, mode in MODES.items():
            for ck, cred in CREDENTIALS.items():
                for sk, source in SOURCES.items():
                    if mode is PullMode.LAZY_WITH_PARALLEL_FALLBACK and isinstance(source, AmiPackage):
                        continue  # refused: the AMI package's SOCI version is unknown (needs >= 0.14)
                    creds = (cred,)
                    fast = mode is PullMode.PARALLEL and isinstance(source, AmiPackage)
                    if fast and not isinstance(cred, CriProxy):
                        creds = (cred, CriProxy())  # the nodeadm gate always routes the kubelet through SOCI
                    name = f"{pk}-{mk}-{ck}-{sk}"
                    out.append(Scenario(name, node_group(name, pk, pull_mode=mode, credentials=creds, soci_source=source)))
    return out


def _special() -> list[Scenario]:
    taints = (Taint("dedicated", TaintEffect.NO_SCHEDULE, "soci"), Taint("gpu", TaintEffect.NO_EXECUTE))
    br = dict(os=OperatingSystem.BOTTLEROCKET, pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),))
    return [
        Scenario("c21-lazy-ecr-ami", node_group("c21-lazy-ecr-ami", "c21")),
        Scenario(
            "c22-lazy-custom-root-mirrors",
            node_group(
                "custom",
                "c22",
                tuning=SociTuning(root="/var/lib/soci-snapshotter", min_layer_size=0, mirrors=(RegistryMirror("docker.io", ("mirror.example.com",)),), v1_indexes=True),
                labels={"team": "ml"},
                taints=taints,
            ),
        ),
        Scenario(
            "c22-lazy-ecr+static-release-pinned",
            node_group(
                "pinned",
                "c22",
                credentials=(
                    EcrCredentialHelper(("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "{account}.dkr.ecr.{region}.amazonaws.com")),
                    StaticCredentials("registry.example.com"),
                ),
                soci_source=UpstreamRelease(version="0.15.0", url_base="https://mirror.example.com/soci", sha256={"amd64": "a" * 64, "arm64": "b" * 64}),
            ),
        ),
        Scenario("c22-parallel-cri-ami-raid0", node_group("raid0", "c22", pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),), local_storage=LocalStorage.RAID0)),
        Scenario("bottlerocket-parallel", node_group("br", "1.57.0@1.33", taints=taints, **br)),
        Scenario("bottlerocket-parallel-arm64-raid0", node_group("br-arm", "1.57.0@1.32", instance_types=("m7g.xlarge",), local_storage=LocalStorage.RAID0, **br)),
    ]


SCENARIOS: dict[str, Scenario] = {s.name: s for s in _matrix() + _special()}


def al2023_scenarios() -> list[Scenario]:
    return [s for s in SCENARIOS.values() if s.spec.os is OperatingSystem.AL2023]


def with_spec(s: Scenario, **changes: object) -> NodeGroupSpec:
    return replace(s.spec, **changes)  # type: ignore[arg-type]
