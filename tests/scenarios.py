"""The renderer's scenario matrix: containerd line x pull mode x credential source x SOCI source,
plus special cases. Used by golden tests, structural tests and the real-daemon tests.

Profiles are explicit here (the AMI catalogue is tested on its own), so a scenario pins exactly
which containerd the rendered config is for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from soci_component.render.bootstrap import NodeBootstrap, plan
from soci_component.spec import (
    AmiPackage,
    AmiPin,
    Arch,
    ClusterInfo,
    CriProxy,
    EcrCredentialHelper,
    KubernetesSecrets,
    LocalStorage,
    NodeGroupSpec,
    NodeProfile,
    OperatingSystem,
    PullMode,
    RegistryMirror,
    Secrets,
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

# containerd lines as the catalogue reports them for real releases
PROFILES = {
    "c17": NodeProfile(OperatingSystem.AL2023, "1.30", Arch.X86_64, (1, 7, 27), "v20251108", soci_package=True, fast_image_pull=True),
    "c21": NodeProfile(OperatingSystem.AL2023, "1.31", Arch.X86_64, (2, 1, 4), "v20251108", soci_package=True, fast_image_pull=True),
    "c22": NodeProfile(OperatingSystem.AL2023, "1.33", Arch.X86_64, (2, 2, 4), "v20260714", soci_package=True, fast_image_pull=True),
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
    profile: NodeProfile

    def render(self) -> NodeBootstrap:
        if self.name not in _RENDERED:
            _RENDERED[self.name] = plan(self.spec, self.profile, CLUSTER, SECRETS)
        return _RENDERED[self.name]


_RENDERED: dict[str, NodeBootstrap] = {}


def _spec(name: str, profile: NodeProfile, **kw: object) -> NodeGroupSpec:
    return NodeGroupSpec(name=name, kubernetes_version=profile.kubernetes_version, ami=AmiPin(release=profile.release), instance_types=("m7i.xlarge",), **kw)  # type: ignore[arg-type]


def _matrix() -> list[Scenario]:
    out = []
    for pk in ("c17", "c22"):
        profile = PROFILES[pk]
        for mk, mode in MODES.items():
            for ck, cred in CREDENTIALS.items():
                for sk, source in SOURCES.items():
                    if mode is PullMode.LAZY_WITH_PARALLEL_FALLBACK and isinstance(source, AmiPackage):
                        continue  # refused: the AMI package's SOCI version is unknown (needs >= 0.14)
                    creds = (cred,)
                    fast = mode is PullMode.PARALLEL and isinstance(source, AmiPackage)
                    if fast and not isinstance(cred, CriProxy):
                        creds = (cred, CriProxy())  # FastImagePull always routes the kubelet through SOCI
                    name = f"{pk}-{mk}-{ck}-{sk}"
                    out.append(Scenario(name, _spec(name, profile, pull_mode=mode, credentials=creds, soci_source=source), profile))
    return out


def _special() -> list[Scenario]:
    c22, c21 = PROFILES["c22"], PROFILES["c21"]
    br = NodeProfile(OperatingSystem.BOTTLEROCKET, "1.33", Arch.X86_64, (2, 1, 6), "1.57.0", soci_package=True)
    br17 = NodeProfile(OperatingSystem.BOTTLEROCKET, "1.32", Arch.ARM64, (1, 7, 30), "1.57.0", soci_package=True)
    taints = (Taint("dedicated", TaintEffect.NO_SCHEDULE, "soci"), Taint("gpu", TaintEffect.NO_EXECUTE))
    return [
        Scenario("c21-lazy-ecr-ami", _spec("c21-lazy-ecr-ami", c21), c21),
        Scenario(
            "c22-lazy-custom-root-mirrors",
            _spec(
                "custom",
                c22,
                tuning=SociTuning(root="/var/lib/soci-snapshotter", min_layer_size=0, mirrors=(RegistryMirror("docker.io", ("mirror.example.com",)),), v1_indexes=True),
                labels={"team": "ml"},
                taints=taints,
            ),
            c22,
        ),
        Scenario(
            "c22-lazy-ecr+static-release-pinned",
            _spec(
                "pinned",
                c22,
                credentials=(
                    EcrCredentialHelper(("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "{account}.dkr.ecr.{region}.amazonaws.com")),
                    StaticCredentials("registry.example.com"),
                ),
                soci_source=UpstreamRelease(version="0.15.0", url_base="https://mirror.example.com/soci", sha256={"amd64": "a" * 64, "arm64": "b" * 64}),
            ),
            c22,
        ),
        Scenario(
            "c22-parallel-cri-ami-raid0", _spec("raid0", c22, pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),), local_storage=LocalStorage.RAID0), c22
        ),
        Scenario(
            "bottlerocket-parallel", _spec("br", br, os=OperatingSystem.BOTTLEROCKET, pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),), taints=taints), br
        ),
        Scenario(
            "bottlerocket-parallel-arm64-raid0",
            replace(
                _spec(
                    "br-arm", br17, os=OperatingSystem.BOTTLEROCKET, pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),), local_storage=LocalStorage.RAID0
                ),
                instance_types=("m7g.xlarge",),
            ),
            br17,
        ),
    ]


SCENARIOS: dict[str, Scenario] = {s.name: s for s in _matrix() + _special()}


def al2023_scenarios() -> list[Scenario]:
    return [s for s in SCENARIOS.values() if s.spec.os is OperatingSystem.AL2023]
