"""Typed, validated inputs: the plain values every other module works from.

Nothing here knows about Pulumi. Each class validates itself in ``__post_init__`` and raises
:class:`SpecError` naming the offending setting (as a config key path) and what is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class SpecError(ValueError):
    """An invalid setting. ``path`` is the config key path (``nodeGroups[1].pullMode``)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


def _fail(path: str, message: str) -> SpecError:
    return SpecError(path, message)


class OperatingSystem(StrEnum):
    """Node operating system. AL2 is end of life and refused by the parser."""

    AL2023 = "al2023"
    BOTTLEROCKET = "bottlerocket"


class Arch(StrEnum):
    """CPU architecture, named as in the EKS SSM parameter paths."""

    X86_64 = "x86_64"
    ARM64 = "arm64"

    @property
    def release_arch(self) -> str:
        """The name SOCI release artifacts use (``amd64``/``arm64``)."""
        return "amd64" if self is Arch.X86_64 else "arm64"


class PullMode(StrEnum):
    """How SOCI gets image data onto the node."""

    LAZY = "lazy"
    """SOCI indexes + FUSE: files are fetched when read. Images without an index pull normally."""
    PARALLEL = "parallel"
    """SOCI parallel pull and unpack of whole layers; no index needed."""
    LAZY_WITH_PARALLEL_FALLBACK = "lazy-with-parallel-fallback"
    """Lazy for indexed images, parallel pull for the rest (SOCI >= 0.14)."""

    @property
    def lazy(self) -> bool:
        return self is not PullMode.PARALLEL

    @property
    def parallel(self) -> bool:
        return self is not PullMode.LAZY


class CredentialKind(StrEnum):
    """Where SOCI gets registry credentials (it fetches lazily, outside containerd)."""

    ECR_CREDENTIAL_HELPER = "ecr-credential-helper"
    CRI_PROXY = "cri-proxy"
    STATIC = "static"
    KUBERNETES_SECRETS = "kubernetes-secrets"


_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$")
_ECR_HOST_RE = re.compile(r"^([0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?|\{account\}\.dkr\.ecr\.\{region\}\.amazonaws\.com)$")
_LABEL_KEY_RE = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
_SIZE_RE = re.compile(r"^[0-9]+(b|kb|mb|gb)$")
_VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_K8S_RE = re.compile(r"^1\.[0-9]{2}$")

ECR_DEFAULT_REGISTRY = "{account}.dkr.ecr.{region}.amazonaws.com"
"""Placeholder resolved at deploy time to the account's own ECR registry in the cluster's region."""


def check_host(path: str, value: str) -> str:
    if not isinstance(value, str) or not _HOST_RE.match(value):
        raise _fail(
            path, f"{value!r} is not a registry host; expected a host name such as 'registry.example.com' or 'registry.example.com:5000' (no scheme, no path)"
        )
    return value


@dataclass(frozen=True)
class EcrCredentialHelper:
    """docker config ``credHelpers`` -> ``docker-credential-ecr-login``; tokens rotate (recommended for ECR)."""

    registries: tuple[str, ...] = (ECR_DEFAULT_REGISTRY,)
    """ECR registry hosts the helper answers for. ``{account}``/``{region}`` resolve to the cluster's."""

    kind = CredentialKind.ECR_CREDENTIAL_HELPER

    def __post_init__(self) -> None:
        if not self.registries:
            raise _fail("registries", "needs at least one ECR registry host, e.g. '123456789012.dkr.ecr.us-west-2.amazonaws.com'")
        for i, host in enumerate(self.registries):
            if not isinstance(host, str) or not _ECR_HOST_RE.match(host):
                raise _fail(
                    f"registries[{i}]",
                    f"{host!r} is not an ECR registry host; expected '<12-digit account>.dkr.ecr.<region>.amazonaws.com' (the ECR helper answers only for ECR)",
                )


@dataclass(frozen=True)
class CriProxy:
    """SOCI as the kubelet's image service: caches the credentials of each pull. Never rotates."""

    kind = CredentialKind.CRI_PROXY


@dataclass(frozen=True)
class StaticCredentials:
    """Username/password for one registry, kept in AWS Secrets Manager and fetched at boot."""

    registry: str
    """Registry host the credentials are for."""

    kind = CredentialKind.STATIC

    def __post_init__(self) -> None:
        check_host("registry", self.registry)


@dataclass(frozen=True)
class KubernetesSecrets:
    """SOCI's kubeconfig keychain: watches ``kubernetes.io/dockerconfigjson`` secrets cluster-wide."""

    kind = CredentialKind.KUBERNETES_SECRETS


Credential = EcrCredentialHelper | CriProxy | StaticCredentials | KubernetesSecrets


@dataclass(frozen=True)
class AmiPackage:
    """Use the ``soci-snapshotter`` the node image ships (AL2023 >= v20250813, Bottlerocket >= 1.44.0)."""

    kind = "ami"


DEFAULT_SOCI_VERSION = "0.15.0"
DEFAULT_SOCI_URL_BASE = "https://github.com/awslabs/soci-snapshotter/releases/download"


@dataclass(frozen=True)
class UpstreamRelease:
    """A pinned upstream release tarball, downloaded and verified at boot."""

    version: str = DEFAULT_SOCI_VERSION
    """Release version without the leading ``v`` (``0.15.0``)."""
    url_base: str = DEFAULT_SOCI_URL_BASE
    """Base URL; the tarball is ``<url_base>/v<version>/soci-snapshotter-<version>-linux-<arch>.tar.gz``.
    A private mirror keeps that layout (and the ``.sha256sum`` files when no hash is pinned)."""
    sha256: Mapping[str, str] = field(default_factory=dict)
    """Pinned SHA-256 per release arch (``amd64``/``arm64``). Without one, the published
    ``.sha256sum`` file is downloaded and checked with ``sha256sum --check``."""

    kind = "release"

    def __post_init__(self) -> None:
        if not isinstance(self.version, str) or not _VERSION_RE.match(self.version):
            raise _fail("version", f"{self.version!r} is not a release version; expected 'MAJOR.MINOR.PATCH' without a leading 'v', e.g. '0.15.0'")
        if not isinstance(self.url_base, str) or not re.match(r"^https?://[^\s'\"$`\\]+$", self.url_base):
            raise _fail("urlBase", f"{self.url_base!r} is not a URL; expected 'https://host/path' (no spaces or shell characters)")
        if self.url_base.endswith("/"):
            object.__setattr__(self, "url_base", self.url_base.rstrip("/"))
        for arch, digest in dict(self.sha256).items():
            if arch not in ("amd64", "arm64"):
                raise _fail(f"sha256.{arch}", "unknown architecture; expected 'amd64' or 'arm64'")
            if not isinstance(digest, str) or not _SHA256_RE.match(digest):
                raise _fail(f"sha256.{arch}", "expected 64 lowercase hex characters (the tarball's SHA-256)")

    @property
    def version_tuple(self) -> tuple[int, int, int]:
        a, b, c = self.version.split(".")
        return int(a), int(b), int(c)

    def tarball(self, arch: Arch) -> str:
        return f"soci-snapshotter-{self.version}-linux-{arch.release_arch}.tar.gz"


SociSource = AmiPackage | UpstreamRelease


@dataclass(frozen=True)
class Decompressor:
    """External gzip decompressor for parallel unpack (``unpigz -d -c``)."""

    path: str = "/usr/bin/unpigz"
    args: tuple[str, ...] = ("-d", "-c")

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise _fail("path", f"{self.path!r} must be an absolute path to an executable")


@dataclass(frozen=True)
class ParallelTuning:
    """Knobs of SOCI's ``[pull_modes.parallel_pull_unpack]`` (defaults: what nodeadm writes)."""

    max_concurrent_downloads: int = -1
    max_concurrent_downloads_per_image: int = 20
    concurrent_download_chunk_size: str = "16mb"
    max_concurrent_unpacks: int = -1
    max_concurrent_unpacks_per_image: int = 12
    discard_unpacked_layers: bool = True
    decompressor: Decompressor | None = Decompressor()

    def __post_init__(self) -> None:
        for name in ("max_concurrent_downloads", "max_concurrent_unpacks"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or (v < 1 and v != -1):
                raise _fail(_camel(name), f"{v!r}: expected a positive integer, or -1 for unlimited")
        for name in ("max_concurrent_downloads_per_image", "max_concurrent_unpacks_per_image"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 1000:
                raise _fail(_camel(name), f"{v!r}: expected an integer from 1 to 1000")
        if not isinstance(self.concurrent_download_chunk_size, str) or not (
            self.concurrent_download_chunk_size == "" or _SIZE_RE.match(self.concurrent_download_chunk_size)
        ):
            raise _fail(
                "concurrentDownloadChunkSize",
                f"{self.concurrent_download_chunk_size!r}: expected a size like '16mb' (units b, kb, mb, gb) or '' for whole layers",
            )


class ContentStore(StrEnum):
    SOCI = "soci"
    CONTAINERD = "containerd"


DEFAULT_SOCI_ROOT = "/var/lib/soci-snapshotter-grpc"
SOCI_SOCKET = "/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock"


@dataclass(frozen=True)
class RegistryMirror:
    """A ``[resolver.host."<host>".mirrors]`` entry: SOCI does not read containerd's certs.d."""

    host: str
    mirrors: tuple[str, ...]
    insecure: bool = False

    def __post_init__(self) -> None:
        check_host("host", self.host)
        if not self.mirrors:
            raise _fail("mirrors", "needs at least one mirror host")
        for i, m in enumerate(self.mirrors):
            check_host(f"mirrors[{i}]", m)


@dataclass(frozen=True)
class SociTuning:
    """SOCI daemon settings that are not tied to the pull mode's defaults."""

    min_layer_size: int = 10_000_000
    """Layers smaller than this (bytes) are pulled eagerly (``[snapshotter] min_layer_size``)."""
    root: str = DEFAULT_SOCI_ROOT
    """Snapshotter root; exported to containerd as ``[proxy_plugins.soci.exports] root``."""
    parallel: ParallelTuning = ParallelTuning()
    content_store: ContentStore | None = None
    """``soci`` or ``containerd``; unset picks by pull mode (parallel: containerd, as nodeadm)."""
    mirrors: tuple[RegistryMirror, ...] = ()
    v1_indexes: bool = False
    """Also lazy-load images indexed with SOCI v1 (``soci create`` + ``soci push``, found through the
    Referrers API); SOCI >= 0.10 ignores them unless ``[pull_modes.soci_v1] enable = true``."""

    def __post_init__(self) -> None:
        if not isinstance(self.min_layer_size, int) or isinstance(self.min_layer_size, bool) or self.min_layer_size < 0:
            raise _fail("minLayerSize", f"{self.min_layer_size!r}: expected a non-negative number of bytes")
        if not isinstance(self.root, str) or not re.match(r"^/[A-Za-z0-9._/-]+$", self.root) or ".." in self.root or self.root == "/":
            raise _fail("root", f"{self.root!r}: expected an absolute directory path of letters, digits, '.', '_', '-', '/' (e.g. {DEFAULT_SOCI_ROOT})")
        if self.root.endswith("/"):
            object.__setattr__(self, "root", self.root.rstrip("/"))
        hosts = [m.host for m in self.mirrors]
        if len(set(hosts)) != len(hosts):
            raise _fail("mirrors", "each registry host may appear once")


class TaintEffect(StrEnum):
    NO_SCHEDULE = "NoSchedule"
    NO_EXECUTE = "NoExecute"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"

    @property
    def eks_api(self) -> str:
        return {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}[self.value]


@dataclass(frozen=True)
class Taint:
    key: str
    effect: TaintEffect
    value: str = ""

    def __post_init__(self) -> None:
        if not _LABEL_KEY_RE.match(self.key or ""):
            raise _fail("key", f"{self.key!r} is not a valid taint key (Kubernetes qualified name)")
        if not _LABEL_VALUE_RE.match(self.value or ""):
            raise _fail("value", f"{self.value!r} is not a valid taint value (<= 63 chars of letters, digits, '-', '_', '.')")

    @property
    def flag(self) -> str:
        return f"{self.key}={self.value}:{self.effect.value}" if self.value else f"{self.key}:{self.effect.value}"


@dataclass(frozen=True)
class Disk:
    """Root EBS volume (gp3, encrypted). SOCI is throughput-bound: size it for the images."""

    size_gib: int = 100
    iops: int = 3000
    throughput_mibps: int = 250

    def __post_init__(self) -> None:
        if not isinstance(self.size_gib, int) or not 20 <= self.size_gib <= 16384:
            raise _fail("sizeGiB", f"{self.size_gib!r}: expected 20..16384 GiB")
        if not isinstance(self.iops, int) or not 3000 <= self.iops <= 80000:
            raise _fail("iops", f"{self.iops!r}: gp3 accepts 3000..80000 IOPS")
        if not isinstance(self.throughput_mibps, int) or not 125 <= self.throughput_mibps <= 2000:
            raise _fail("throughputMiBps", f"{self.throughput_mibps!r}: gp3 accepts 125..2000 MiB/s")
        if self.throughput_mibps > self.iops // 4:
            raise _fail(
                "throughputMiBps", f"{self.throughput_mibps} MiB/s needs at least {self.throughput_mibps * 4} IOPS (gp3 allows 0.25 MiB/s per IOPS); raise iops"
            )


DISK_PRESETS: dict[str, Disk] = {
    "standard": Disk(),
    "parallel": Disk(size_gib=200, iops=6000, throughput_mibps=600),
    "parallel-max": Disk(size_gib=200, iops=16000, throughput_mibps=1000),
}
"""Root-volume presets. ``parallel`` is nodeadm's recommended >= 600 MiB/s; ``parallel-max`` the
karpenter-blueprints setting (1000 MiB/s, 16k IOPS)."""


class LocalStorage(StrEnum):
    """Instance-store NVMe handling (nodeadm ``instance.localStorage.strategy``)."""

    NONE = "none"
    RAID0 = "raid0"


class CapacityType(StrEnum):
    ON_DEMAND = "ON_DEMAND"
    SPOT = "SPOT"


@dataclass(frozen=True)
class Scaling:
    min_size: int = 1
    max_size: int = 3
    desired_size: int = 2

    def __post_init__(self) -> None:
        for n in ("min_size", "max_size", "desired_size"):
            v = getattr(self, n)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise _fail(_camel(n), f"{v!r}: expected a non-negative integer")
        if self.max_size < 1:
            raise _fail("maxSize", "must be at least 1")
        if not self.min_size <= self.desired_size <= self.max_size:
            raise _fail("desiredSize", f"{self.desired_size} must lie between minSize ({self.min_size}) and maxSize ({self.max_size})")


@dataclass(frozen=True)
class AmiPin:
    """Which AMI: a release (resolved through its release-pinned SSM parameter), or a raw AMI ID
    with its containerd version stated (the catalogue's rules apply to it too)."""

    release: str | None = None
    """AL2023 ``vYYYYMMDD`` or Bottlerocket ``1.x.y``."""
    ami_id: str | None = None
    containerd_version: str | None = None
    """Required with ``ami_id``: the containerd the image ships, e.g. ``2.2.4``."""
    variant: str = "standard"
    """AL2023 ``standard``/``nvidia``/``neuron``; Bottlerocket ``standard``/``nvidia``."""

    def __post_init__(self) -> None:
        if (self.release is None) == (self.ami_id is None):
            raise _fail("", "set exactly one of 'release' (e.g. 'v20260714') or 'amiId' (with 'containerdVersion')")
        if self.release is not None:
            if self.release in ("latest", "recommended") or not re.match(r"^(v[0-9]{8}|v?[0-9]+\.[0-9]+\.[0-9]+)$", self.release):
                raise _fail(
                    "release",
                    f"{self.release!r} is not a pinned release; expected an AL2023 release 'vYYYYMMDD' (e.g. 'v20260714') or a Bottlerocket version '1.x.y' — moving targets like 'latest'/'recommended' roll every node when AWS publishes",
                )
            if self.containerd_version is not None:
                raise _fail("containerdVersion", "only with 'amiId'; a release's containerd comes from the catalogue")
        if self.ami_id is not None:
            if not re.match(r"^ami-[0-9a-f]{8}([0-9a-f]{9})?$", self.ami_id):
                raise _fail("amiId", f"{self.ami_id!r} is not an AMI ID; expected 'ami-' and 8 or 17 hex digits")
            if not self.containerd_version or not re.match(r"^[0-9]+\.[0-9]+\.[0-9]+$", self.containerd_version):
                raise _fail(
                    "containerdVersion",
                    "a raw 'amiId' needs the containerd version it ships, e.g. '2.2.4' (the config schema and the >= 1.7.16 rule depend on it)",
                )
        if self.variant not in ("standard", "nvidia", "neuron"):
            raise _fail("variant", f"{self.variant!r}: expected 'standard', 'nvidia' or 'neuron'")


@dataclass(frozen=True)
class NodeGroupSpec:
    """One SOCI node group: every container on its nodes uses SOCI from first boot."""

    name: str
    kubernetes_version: str
    ami: AmiPin
    instance_types: tuple[str, ...]
    os: OperatingSystem = OperatingSystem.AL2023
    pull_mode: PullMode = PullMode.LAZY
    credentials: tuple[Credential, ...] = (EcrCredentialHelper(),)
    soci_source: SociSource = AmiPackage()
    tuning: SociTuning = SociTuning()
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    disk: Disk = Disk()
    local_storage: LocalStorage = LocalStorage.NONE
    capacity_type: CapacityType = CapacityType.ON_DEMAND
    scaling: Scaling = Scaling()
    subnet_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise _fail("name", f"{self.name!r}: expected 1-40 lowercase letters, digits and '-', starting and ending with a letter or digit")
        if not isinstance(self.kubernetes_version, str) or not _K8S_RE.match(self.kubernetes_version):
            raise _fail("kubernetesVersion", f"{self.kubernetes_version!r}: expected a Kubernetes minor version such as '1.33'")
        if not self.instance_types:
            raise _fail("instanceTypes", "needs at least one EC2 instance type, e.g. 'm7i.xlarge'")
        for i, t in enumerate(self.instance_types):
            if not isinstance(t, str) or not re.match(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$", t):
                raise _fail(f"instanceTypes[{i}]", f"{t!r} is not an EC2 instance type such as 'm7i.xlarge'")
        if len(set(self.instance_types)) != len(self.instance_types):
            raise _fail("instanceTypes", "lists a type twice")
        for k, v in dict(self.labels).items():
            if not isinstance(k, str) or not _LABEL_KEY_RE.match(k):
                raise _fail(f"labels.{k}", "not a valid label key (Kubernetes qualified name, e.g. 'team' or 'example.com/tier')")
            if not isinstance(v, str) or not _LABEL_VALUE_RE.match(v):
                raise _fail(f"labels.{k}", f"{v!r} is not a valid label value (<= 63 chars of letters, digits, '-', '_', '.')")
            if k == SOCI_LABEL:
                raise _fail(f"labels.{k}", f"is set by the component on every SOCI node ({SOCI_LABEL}={SOCI_LABEL_VALUE}); remove it")
        self._check_credentials()
        self._check_mode()

    def _check_credentials(self) -> None:
        if not self.credentials:
            raise _fail("credentials", f"needs at least one credential source: {', '.join(k.value for k in CredentialKind)}")
        kinds = [c.kind for c in self.credentials]
        for i, k in enumerate(kinds):
            if k in kinds[:i]:
                raise _fail(f"credentials[{i}]", f"'{k.value}' is listed twice; each source may appear once")
        statics = [c.registry for c in self.credentials if isinstance(c, StaticCredentials)]
        if len(set(statics)) != len(statics):
            raise _fail("credentials", "two static credential entries for the same registry")
        if self.os is OperatingSystem.BOTTLEROCKET:
            for i, c in enumerate(self.credentials):
                if not isinstance(c, CriProxy):
                    raise _fail(
                        f"credentials[{i}]",
                        f"'{c.kind.value}' does not exist on Bottlerocket, whose SOCI takes credentials only through the CRI proxy (the kubelet's ECR credential provider and imagePullSecrets); use 'cri-proxy'",
                    )

    def _check_mode(self) -> None:
        p = self.tuning.parallel
        store = self.content_store
        if self.pull_mode.parallel and store is ContentStore.SOCI and not p.discard_unpacked_layers:
            raise _fail(
                "tuning.parallel.discardUnpackedLayers",
                f"pull mode '{self.pull_mode.value}' with the 'soci' content store needs discardUnpackedLayers: true (SOCI refuses to start otherwise); or set tuning.contentStore: containerd",
            )
        if self.os is OperatingSystem.BOTTLEROCKET:
            if self.pull_mode is not PullMode.PARALLEL:
                raise _fail(
                    "pullMode",
                    f"'{self.pull_mode.value}' is not available on Bottlerocket: its SOCI runs parallel-pull-unpack only (bottlerocket#4785); use 'parallel', or AL2023 for lazy loading",
                )
            if not isinstance(self.soci_source, AmiPackage):
                raise _fail("sociSource", "Bottlerocket uses the SOCI it ships; a release tarball cannot be installed on it; use 'ami'")
            if self.tuning.root != DEFAULT_SOCI_ROOT or self.tuning.mirrors or self.tuning.content_store is not None:
                raise _fail("tuning", "Bottlerocket exposes only the parallel-pull knobs; 'root', 'mirrors' and 'contentStore' cannot be set there")
            if self.ami.variant == "neuron":
                raise _fail("ami.variant", "Bottlerocket has 'standard' and 'nvidia' variants; Neuron runs on 'standard'")
        if self.pull_mode is PullMode.LAZY_WITH_PARALLEL_FALLBACK and isinstance(self.soci_source, AmiPackage):
            raise _fail("sociSource", "'lazy-with-parallel-fallback' needs SOCI >= 0.14.0 (experimental_parallel_pull_as_fallback), and the version of the AMI's soci-snapshotter package is not published (an older SOCI would silently ignore the key); use a 'release' sociSource (default version " + DEFAULT_SOCI_VERSION + ")")
        if self.pull_mode is PullMode.LAZY_WITH_PARALLEL_FALLBACK and isinstance(self.soci_source, UpstreamRelease):
            if self.soci_source.version_tuple < (0, 14, 0):
                raise _fail(
                    "sociSource.version",
                    f"{self.soci_source.version} lacks experimental_parallel_pull_as_fallback; 'lazy-with-parallel-fallback' needs SOCI >= 0.14.0",
                )
        if self.pull_mode.parallel and isinstance(self.soci_source, UpstreamRelease) and self.soci_source.version_tuple < (0, 11, 0):
            raise _fail("sociSource.version", f"{self.soci_source.version} has no parallel pull mode; '{self.pull_mode.value}' needs SOCI >= 0.11.0")
        if self.pull_mode.lazy and isinstance(self.soci_source, UpstreamRelease) and self.soci_source.version_tuple < (0, 10, 0):
            raise _fail(
                "sociSource.version",
                f"{self.soci_source.version} predates SOCI index manifest v2 and the fixes this component relies on; use >= 0.10.0 (default {DEFAULT_SOCI_VERSION})",
            )
        if self.uses_fast_image_pull and self.credential(CredentialKind.CRI_PROXY) is None:
            raise _fail(
                "credentials",
                "'parallel' with the AMI's SOCI uses nodeadm's FastImagePull, which always points the kubelet at SOCI's image service: add 'cri-proxy' to credentials (parallel pull fetches whole layers at pull time, so non-rotating credentials are fine here), or use a 'release' sociSource",
            )
        if self.local_storage is LocalStorage.RAID0 and self.tuning.root != DEFAULT_SOCI_ROOT:
            raise _fail("localStorage", f"RAID0 bind-mounts only {DEFAULT_SOCI_ROOT} onto instance store; a custom tuning.root would stay on EBS")

    @property
    def content_store(self) -> ContentStore:
        if self.tuning.content_store is not None:
            return self.tuning.content_store
        return ContentStore.CONTAINERD if self.pull_mode is PullMode.PARALLEL else ContentStore.SOCI

    @property
    def uses_fast_image_pull(self) -> bool:
        """AL2023 parallel mode with the AMI's SOCI: nodeadm's ``FastImagePull`` gate does the wiring."""
        return self.os is OperatingSystem.AL2023 and self.pull_mode is PullMode.PARALLEL and isinstance(self.soci_source, AmiPackage)

    def credential(self, kind: CredentialKind) -> Credential | None:
        return next((c for c in self.credentials if c.kind is kind), None)

    @property
    def node_labels(self) -> dict[str, str]:
        """User labels plus the component's SOCI labels, sorted."""
        labels = dict(self.labels)
        labels[SOCI_LABEL] = SOCI_LABEL_VALUE
        labels[SOCI_MODE_LABEL] = self.pull_mode.value
        return dict(sorted(labels.items()))


SOCI_LABEL = "soci.snapshotter/enabled"
SOCI_LABEL_VALUE = "true"
SOCI_MODE_LABEL = "soci.snapshotter/pull-mode"


@dataclass(frozen=True)
class ClusterInfo:
    """The cluster a node joins, as plain values (custom AMI: EKS injects nothing)."""

    name: str
    endpoint: str
    certificate_authority: str
    """Base64 PEM, as EKS reports it."""
    service_cidr: str
    region: str
    account_id: str
    partition: str = "aws"


@dataclass(frozen=True)
class NodeProfile:
    """What the pinned AMI is: resolved by ``ami.py`` from the catalogue and the spec."""

    os: OperatingSystem
    kubernetes_version: str
    arch: Arch
    containerd_version: tuple[int, int, int]
    release: str | None
    """Catalogue release, or None for a raw AMI ID."""
    variant: str = "standard"
    ssm_parameter: str | None = None
    """Release-pinned SSM parameter the AMI ID is read from (None for a raw AMI ID)."""
    ami_id: str | None = None
    soci_package: bool = False
    """The image ships ``soci-snapshotter`` (AL2023 >= v20250813, Bottlerocket >= 1.44.0)."""
    fast_image_pull: bool = False
    """nodeadm knows the ``FastImagePull`` gate."""
    unconfirmed: tuple[str, ...] = ()
    """Catalogue facts for this release that the sources could not confirm."""

    @property
    def containerd_major(self) -> int:
        return self.containerd_version[0]

    @property
    def containerd(self) -> str:
        return ".".join(str(p) for p in self.containerd_version)

    @property
    def needs_pause_import(self) -> bool:
        """containerd >= 2.2.3 routes the pause unpack through SOCI: import it from the tarball."""
        return self.os is OperatingSystem.AL2023 and self.containerd_version >= (2, 2, 3)


@dataclass(frozen=True)
class Secrets:
    """Where boot-time secrets live: Secrets Manager ARNs (never the values)."""

    static: Mapping[str, str] = field(default_factory=dict)
    """registry host -> secret ARN holding ``{"username": ..., "password": ...}``."""
    kubeconfig_token: str | None = None
    """Secret ARN holding the service-account token for SOCI's kubeconfig keychain."""


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(w.capitalize() for w in rest)
