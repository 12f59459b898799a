"""User inputs: typed values, every default, per-value checks.

A spec says what the user asked for; it knows nothing about AMIs, catalogues or Pulumi. Each class
checks its own values in ``__post_init__`` (whole-string patterns, ranges, list-internal uniqueness)
and raises :class:`SpecError` with the key path *relative to itself*; the config reader and the
components prefix it (``errors.at``). Rules that relate several settings, or a setting to the AMI,
live in :mod:`soci_component.rules`.

Every default lives here, once: the config reader passes only what the stack file says, and
``NodeGroupSpec(...)`` in Python gets the same defaults as YAML.

Pure: no pulumi import.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .errors import SpecError, key, short

# --------------------------------------------------------------------------------------------
# value checks (used by the classes below, by config and by rules)

Version = tuple[int, int, int]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
VERSION_RE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
K8S_VERSION_RE = re.compile(r"1\.[0-9]{2}")
NAME_RE = re.compile(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?")
HOST_RE = re.compile(r"(?=.{1,253}(:|$))[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(:[0-9]{1,5})?")
ECR_HOST_RE = re.compile(r"[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z]{2}(-[a-z]+)+-[0-9]\.amazonaws\.com(\.cn)?|\{account\}\.dkr\.ecr\.\{region\}\.amazonaws\.com")
INSTANCE_TYPE_RE = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9-]+")
SIZE_RE = re.compile(r"[0-9]+(b|kb|mb|gb)")
SHA256_RE = re.compile(r"[0-9a-f]{64}")
AMI_ID_RE = re.compile(r"ami-([0-9a-f]{8}|[0-9a-f]{17})")
AL2023_RELEASE_RE = re.compile(r"v[0-9]{8}")
BOTTLEROCKET_RELEASE_RE = re.compile(r"v?([0-9]+\.[0-9]+\.[0-9]+)")
SUBNET_ID_RE = re.compile(r"subnet-([0-9a-f]{8}|[0-9a-f]{17})")
VPC_ID_RE = re.compile(r"vpc-([0-9a-f]{8}|[0-9a-f]{17})")
REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]")
CLUSTER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")

INT64_MAX = 2**63 - 1


def parse_version(value: str) -> Version:
    """``"1.7.27"`` -> ``(1, 7, 27)``; raises ValueError for anything else."""
    if not isinstance(value, str) or not VERSION_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a MAJOR.MINOR.PATCH version")
    a, b, c = value.split(".")
    return int(a), int(b), int(c)


def version_text(version: Version) -> str:
    return ".".join(str(p) for p in version)


def k8s_minor(version: str) -> int:
    """``"1.33"`` -> 33."""
    return int(version.split(".")[1])


def check_text(path: str, value: object, what: str = "a string") -> str:
    """A string without control characters (a newline in a value would reach kubelet flags, shell lines, AWS names)."""
    if not isinstance(value, str):
        raise SpecError(path, f"expected {what}; got {short(value)}")
    if _CONTROL.search(value):
        raise SpecError(path, f"{short(value)} contains a control character (newline, tab ...); expected {what}")
    return value


def check_match(path: str, value: object, pattern: re.Pattern[str], what: str) -> str:
    """``value`` matches ``pattern`` as a whole (never ``re.match`` with ``$``: it accepts a trailing newline)."""
    text = check_text(path, value, what)
    if not pattern.fullmatch(text):
        raise SpecError(path, f"{short(value)} is not {what}")
    return text


def check_int(path: str, value: object, low: int, high: int, what: str = "") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SpecError(path, f"{short(value)}: expected {what or f'an integer from {low} to {high}'}")
    return value


def check_host(path: str, value: object) -> str:
    return check_match(path, value, HOST_RE, "a registry host such as 'registry.example.com' or 'registry.example.com:5000' (no scheme, no path)")


def check_url_base(path: str, value: object) -> str:
    """An ``https://`` (or ``http://``) URL with a host, no credentials, no query or fragment."""
    from urllib.parse import urlsplit

    what = "a URL 'https://host/path' (no spaces or shell characters)"
    text = check_match(path, value, re.compile(r"https?://[^\s'\"$`\\]+"), what)
    try:
        u = urlsplit(text)
        port = u.port
    except ValueError:
        raise SpecError(path, f"{short(value)} is not {what}") from None
    if "@" in u.netloc:
        raise SpecError(path, "contains credentials ('user:password@'): they would be written into the user data, which anyone who can describe the "
                              "instance reads; serve the mirror without credentials on a private network, or pin sha256 and use an authenticated proxy")
    if not u.hostname or not HOST_RE.fullmatch(u.hostname if port is None else f"{u.hostname}:{port}"):
        raise SpecError(path, f"{short(value)} has no valid host; expected {what}")
    if u.query or u.fragment or text.endswith("?") or "#" in text:
        raise SpecError(path, f"{short(value)}: a query or fragment would break '<urlBase>/v<version>/<tarball>'; expected {what}")
    return text


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(w.capitalize() for w in rest)


# --------------------------------------------------------------------------------------------
# enums


class OperatingSystem(StrEnum):
    """Node operating system. AL2 is end of life and refused (``rules.refuse_al2``)."""

    AL2023 = "al2023"
    BOTTLEROCKET = "bottlerocket"


class Arch(StrEnum):
    """CPU architecture, named as in the EKS SSM parameter paths."""

    X86_64 = "x86_64"
    ARM64 = "arm64"

    @property
    def release_arch(self) -> str:
        """The name SOCI release artifacts (and Kubernetes' ``kubernetes.io/arch``) use: ``amd64``/``arm64``."""
        return "amd64" if self is Arch.X86_64 else "arm64"


class Variant(StrEnum):
    """AMI variant: AL2023 has all three, Bottlerocket ``standard`` and ``nvidia``."""

    STANDARD = "standard"
    NVIDIA = "nvidia"
    NEURON = "neuron"


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


class SociSourceKind(StrEnum):
    AMI = "ami"
    """The ``soci-snapshotter`` package of the node image."""
    RELEASE = "release"
    """A pinned upstream release tarball, downloaded and verified at boot."""


class ContentStore(StrEnum):
    SOCI = "soci"
    CONTAINERD = "containerd"


class TaintEffect(StrEnum):
    NO_SCHEDULE = "NoSchedule"
    NO_EXECUTE = "NoExecute"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"

    @property
    def eks_api(self) -> str:
        """The EKS API's spelling (``NO_SCHEDULE``)."""
        return {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}[self.value]


class LocalStorage(StrEnum):
    """Instance-store NVMe handling (nodeadm ``instance.localStorage.strategy``)."""

    NONE = "none"
    RAID0 = "raid0"


class CapacityType(StrEnum):
    ON_DEMAND = "ON_DEMAND"
    SPOT = "SPOT"


class NatGateways(StrEnum):
    SINGLE = "single"
    """One NAT gateway (cheap)."""
    ONE_PER_AZ = "one-per-az"
    """One per AZ (survives an AZ outage)."""


class LogType(StrEnum):
    API = "api"
    AUDIT = "audit"
    AUTHENTICATOR = "authenticator"
    CONTROLLER_MANAGER = "controllerManager"
    SCHEDULER = "scheduler"


# --------------------------------------------------------------------------------------------
# credentials

ECR_DEFAULT_REGISTRY = "{account}.dkr.ecr.{region}.amazonaws.com"
"""Placeholder resolved at deploy time to the account's own ECR registry in the cluster's region."""


@dataclass(frozen=True)
class EcrCredentialHelper:
    """docker config ``credHelpers`` -> ``docker-credential-ecr-login``; tokens rotate (recommended for ECR)."""

    registries: tuple[str, ...] = (ECR_DEFAULT_REGISTRY,)
    """ECR registry hosts the helper answers for. ``{account}``/``{region}`` resolve to the cluster's."""

    kind = CredentialKind.ECR_CREDENTIAL_HELPER

    def __post_init__(self) -> None:
        if not self.registries:
            raise SpecError("registries", "needs at least one ECR registry host, e.g. '123456789012.dkr.ecr.us-west-2.amazonaws.com'")
        for i, host in enumerate(self.registries):
            check_match(
                f"registries[{i}]",
                host,
                ECR_HOST_RE,
                "an ECR registry host: '<12-digit account>.dkr.ecr.<region>.amazonaws.com' (the ECR helper answers only for ECR)",
            )
        if len(set(self.registries)) != len(self.registries):
            raise SpecError("registries", "lists a registry twice")


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

# --------------------------------------------------------------------------------------------
# SOCI source and tuning

DEFAULT_SOCI_VERSION = "0.15.0"
DEFAULT_SOCI_URL_BASE = "https://github.com/awslabs/soci-snapshotter/releases/download"


@dataclass(frozen=True)
class AmiPackage:
    """Use the ``soci-snapshotter`` the node image ships (AL2023 >= v20250813, Bottlerocket >= 1.44.0)."""

    kind = SociSourceKind.AMI


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

    kind = SociSourceKind.RELEASE

    def __post_init__(self) -> None:
        check_match("version", self.version, VERSION_RE, "a release version 'MAJOR.MINOR.PATCH' without a leading 'v', e.g. '0.15.0'")
        check_url_base("urlBase", self.url_base)
        if self.url_base.endswith("/"):
            object.__setattr__(self, "url_base", self.url_base.rstrip("/"))
        for arch, digest in dict(self.sha256).items():
            if arch not in ("amd64", "arm64"):
                raise SpecError(f"sha256.{arch}", "unknown architecture; expected 'amd64' or 'arm64'")
            check_match(f"sha256.{arch}", digest, SHA256_RE, "64 lowercase hex characters (the tarball's SHA-256)")

    @property
    def version_tuple(self) -> Version:
        return parse_version(self.version)

    def tarball(self, arch: Arch) -> str:
        return f"soci-snapshotter-{self.version}-linux-{arch.release_arch}.tar.gz"


SociSource = AmiPackage | UpstreamRelease


@dataclass(frozen=True)
class Decompressor:
    """External gzip decompressor for parallel unpack (``unpigz -d -c``)."""

    path: str = "/usr/bin/unpigz"
    args: tuple[str, ...] = ("-d", "-c")

    def __post_init__(self) -> None:
        check_match("path", self.path, re.compile(r"/[A-Za-z0-9._/+-]*[A-Za-z0-9._+-]"), "an absolute path to an executable, e.g. '/usr/bin/unpigz'")
        for i, a in enumerate(self.args):
            check_text(f"args[{i}]", a, "a string argument")


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
            if not isinstance(v, int) or isinstance(v, bool) or (v < 1 and v != -1) or v > INT64_MAX:
                raise SpecError(_camel(name), f"{short(v)}: expected a positive integer, or -1 for unlimited")
        for name in ("max_concurrent_downloads_per_image", "max_concurrent_unpacks_per_image"):
            check_int(_camel(name), getattr(self, name), 1, 1000)
        chunk = check_text("concurrentDownloadChunkSize", self.concurrent_download_chunk_size)
        if chunk and not SIZE_RE.fullmatch(chunk):
            raise SpecError("concurrentDownloadChunkSize", f"{short(chunk)}: expected a size like '16mb' (units b, kb, mb, gb) or '' for whole layers")
        if not isinstance(self.discard_unpacked_layers, bool):
            raise SpecError("discardUnpackedLayers", f"{short(self.discard_unpacked_layers)}: expected true or false")


DEFAULT_SOCI_ROOT = "/var/lib/soci-snapshotter-grpc"
SOCI_SOCKET = "/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock"


@dataclass(frozen=True)
class RegistryMirror:
    """A ``[resolver.host."<host>".mirrors]`` entry: SOCI does not read containerd's certs.d."""

    host: str
    mirrors: tuple[str, ...]
    insecure: bool = False
    """Reach the mirrors over plain ``http://`` (SOCI reads each mirror as a URL)."""

    def __post_init__(self) -> None:
        check_host("host", self.host)
        if not self.mirrors:
            raise SpecError("mirrors", "needs at least one mirror host")
        for i, m in enumerate(self.mirrors):
            check_host(f"mirrors[{i}]", m)
        if len(set(self.mirrors)) != len(self.mirrors):
            raise SpecError("mirrors", "lists a mirror twice")


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
        check_int("minLayerSize", self.min_layer_size, 0, INT64_MAX, "a non-negative number of bytes")
        root = check_match("root", self.root, re.compile(r"/[A-Za-z0-9._/-]+"), f"an absolute directory path of letters, digits, '.', '_', '-', '/' (e.g. {DEFAULT_SOCI_ROOT})")
        parts = root.strip("/").split("/")
        if not root.strip("/") or "//" in root or any(p in (".", "..") for p in parts):
            raise SpecError("root", f"{short(root)}: expected a normalised absolute directory below '/' (no '//', '.', '..'), e.g. {DEFAULT_SOCI_ROOT}")
        if root.endswith("/"):
            object.__setattr__(self, "root", root.rstrip("/"))
        hosts = [m.host for m in self.mirrors]
        if len(set(hosts)) != len(hosts):
            raise SpecError("mirrors", "each registry host may appear once")
        if not isinstance(self.v1_indexes, bool):
            raise SpecError("v1Indexes", f"{short(self.v1_indexes)}: expected true or false")


# --------------------------------------------------------------------------------------------
# node labels, taints, disks, scaling

SOCI_LABEL = "soci.snapshotter/enabled"
SOCI_LABEL_VALUE = "true"
SOCI_MODE_LABEL = "soci.snapshotter/pull-mode"
SOCI_LABEL_PREFIX = "soci.snapshotter/"

_LABEL_NAME_RE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE_RE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_DNS_SUBDOMAIN_RE = re.compile(r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def check_label_key(path: str, key: object) -> str:
    """A Kubernetes qualified name: ``[prefix/]name``, prefix a DNS subdomain (<= 253), name <= 63."""
    what = "a Kubernetes label key ('name' or 'prefix/name': name <= 63 letters, digits, '-', '_', '.'; prefix a DNS subdomain), e.g. 'team' or 'example.com/tier'"
    text = check_text(path, key, what)
    prefix, _, name = text.rpartition("/")
    if not _LABEL_NAME_RE.fullmatch(name) or ("/" in text and not _DNS_SUBDOMAIN_RE.fullmatch(prefix)):
        raise SpecError(path, f"{short(key)} is not {what}")
    return text


KUBELET_LABELS = frozenset({
    "kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/arch",
    "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type", "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
})
"""Labels in the kubernetes.io / k8s.io namespaces the kubelet may set with --node-labels (k8s.io/kubelet pkg/apis/well_known_labels.go)."""
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")


def check_kubelet_label(path: str, key: str) -> None:
    """The kubelet refuses to start with --node-labels in the kubernetes.io / k8s.io namespaces, except its own set:
    the node would never join (cmd/kubelet/app/options: "unknown 'kubernetes.io' or 'k8s.io' labels")."""
    ns = key.split("/", 1)[0] if "/" in key else ""
    restricted = any(ns == d or ns.endswith("." + d) for d in ("kubernetes.io", "k8s.io"))
    allowed = key in KUBELET_LABELS or any(ns == d or ns.endswith("." + d) for d in KUBELET_LABEL_NAMESPACES)
    if restricted and not allowed:
        raise SpecError(path, f"{short(key)} is in a namespace the kubelet reserves (kubernetes.io, k8s.io): the kubelet would refuse to start and the node "
                              f"never joins; allowed there: {', '.join(sorted(KUBELET_LABELS))} and keys under {' or '.join(KUBELET_LABEL_NAMESPACES)}; "
                              "use your own prefix (example.com/role)")


def check_label_value(path: str, value: object) -> str:
    what = "a Kubernetes label value (<= 63 letters, digits, '-', '_', '.', starting and ending with a letter or digit, or empty)"
    text = check_text(path, value, what)
    if not _LABEL_VALUE_RE.fullmatch(text):
        raise SpecError(path, f"{short(value)} is not {what}")
    return text


EKS_KEY_MAX = 63
"""EKS managed node groups: label and taint keys and values are at most 63 characters (CreateNodegroup API)."""
EKS_MAX_TAINTS = 50


@dataclass(frozen=True)
class Taint:
    key: str
    effect: TaintEffect
    value: str = ""

    def __post_init__(self) -> None:
        check_label_key("key", self.key)
        if len(self.key) > EKS_KEY_MAX:
            raise SpecError("key", f"{len(self.key)} characters; EKS accepts taint keys of at most {EKS_KEY_MAX}")
        check_label_value("value", self.value)
        if not isinstance(self.effect, TaintEffect):
            raise SpecError("effect", f"{short(self.effect)}: expected one of: {', '.join(e.value for e in TaintEffect)}")

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
        check_int("sizeGiB", self.size_gib, 20, 16384, "20..16384 GiB")
        check_int("iops", self.iops, 3000, 80000, "gp3 accepts 3000..80000 IOPS")
        check_int("throughputMiBps", self.throughput_mibps, 125, 2000, "gp3 accepts 125..2000 MiB/s")
        if self.iops > 500 * self.size_gib:
            raise SpecError("iops", f"{self.iops} IOPS on {self.size_gib} GiB: gp3 allows at most 500 IOPS per GiB ({500 * self.size_gib}); raise sizeGiB or lower iops")
        if self.throughput_mibps > self.iops // 4:
            raise SpecError(
                "throughputMiBps", f"{self.throughput_mibps} MiB/s needs at least {self.throughput_mibps * 4} IOPS (gp3 allows 0.25 MiB/s per IOPS); raise iops"
            )


DISK_PRESETS: dict[str, Disk] = {
    "standard": Disk(),
    "parallel": Disk(size_gib=200, iops=6000, throughput_mibps=600),
    "parallel-max": Disk(size_gib=200, iops=16000, throughput_mibps=1000),
}
"""Root-volume presets. ``parallel`` is nodeadm's recommended >= 600 MiB/s; ``parallel-max`` the
karpenter-blueprints setting (1000 MiB/s, 16k IOPS)."""


@dataclass(frozen=True)
class Scaling:
    min_size: int = 1
    max_size: int = 3
    desired_size: int = 2

    def __post_init__(self) -> None:
        for n in ("min_size", "max_size", "desired_size"):
            check_int(_camel(n), getattr(self, n), 0, 2**31 - 1, "a non-negative integer")
        if self.max_size < 1:
            raise SpecError("maxSize", "must be at least 1")
        if self.min_size > self.max_size:
            raise SpecError("minSize", f"{self.min_size} is larger than maxSize ({self.max_size})")
        if not self.min_size <= self.desired_size <= self.max_size:
            raise SpecError("desiredSize", f"{self.desired_size} must lie between minSize ({self.min_size}) and maxSize ({self.max_size})")


# --------------------------------------------------------------------------------------------
# AMI pin and node group


@dataclass(frozen=True)
class AmiPin:
    """Which AMI: a release (resolved through its release-pinned SSM parameter), or a raw AMI ID
    with its containerd version stated (the catalogue's rules apply to it too)."""

    release: str | None = None
    """AL2023 ``vYYYYMMDD`` or Bottlerocket ``1.x.y``."""
    ami_id: str | None = None
    containerd_version: str | None = None
    """Required with ``ami_id``: the containerd the image ships, e.g. ``2.2.4``."""
    variant: Variant = Variant.STANDARD
    """AL2023 ``standard``/``nvidia``/``neuron``; Bottlerocket ``standard``/``nvidia``."""

    def __post_init__(self) -> None:
        if (self.release is None) == (self.ami_id is None):
            raise SpecError("", "set exactly one of 'release' (e.g. 'v20260714') or 'amiId' (with 'containerdVersion')")
        if self.release is not None:
            release = check_text("release", self.release)
            if release in ("latest", "recommended") or not (AL2023_RELEASE_RE.fullmatch(release) or BOTTLEROCKET_RELEASE_RE.fullmatch(release)):
                raise SpecError(
                    "release",
                    f"{short(release)} is not a pinned release; expected an AL2023 release 'vYYYYMMDD' (e.g. 'v20260714') or a Bottlerocket version '1.x.y' — moving targets like 'latest'/'recommended' roll every node when AWS publishes",
                )
            if self.containerd_version is not None:
                raise SpecError("containerdVersion", "only with 'amiId'; a release's containerd comes from the catalogue")
        if self.ami_id is not None:
            check_match("amiId", self.ami_id, AMI_ID_RE, "an AMI ID: 'ami-' and 8 or 17 hex digits")
            if self.containerd_version is None:
                raise SpecError(
                    "containerdVersion",
                    "a raw 'amiId' needs the containerd version it ships, e.g. '2.2.4' (the config schema and the >= 1.7.16 rule depend on it)",
                )
            check_match("containerdVersion", self.containerd_version, VERSION_RE, "a containerd version such as '2.2.4'")
        if not isinstance(self.variant, Variant):
            raise SpecError("variant", f"{short(self.variant)}: expected one of: {', '.join(v.value for v in Variant)}")


_FAMILY_RE = re.compile(r"([a-z]+)([0-9]+)([a-z0-9-]*)")


def arch_of(instance_type: str) -> Arch:
    """CPU architecture of an EC2 instance type, from its family: Graviton (``a1``, and families whose
    generation digit is followed by ``g``: m7g, c7gn, r8g, t4g, x2gd, im4gn, is4gen, g5g, c6gd ...) is arm64;
    everything else is x86_64."""
    family = instance_type.split(".", 1)[0]
    if family == "a1":
        return Arch.ARM64
    m = _FAMILY_RE.fullmatch(family)
    return Arch.ARM64 if m and m.group(3).startswith("g") else Arch.X86_64


def default_credentials(os: OperatingSystem, mode: PullMode) -> tuple[Credential, ...]:
    """The credential sources a node group gets when it names none.

    The rotating ECR helper for the lazy modes (SOCI fetches long after the pull); the CRI proxy for
    ``parallel`` (whole layers are fetched at pull time, and nodeadm's FastImagePull and Bottlerocket
    take credentials only that way)."""
    if os is OperatingSystem.BOTTLEROCKET or mode is PullMode.PARALLEL:
        return (CriProxy(),)
    return (EcrCredentialHelper(),)


@dataclass(frozen=True, kw_only=True)
class NodeSpec:
    """What every node of a SOCI node group or Karpenter node pool runs: every container uses SOCI from first boot."""

    name: str
    """1-40 lowercase letters, digits and '-'; unique in the stack."""
    kubernetes_version: str
    """Kubernetes minor version of the nodes (``1.33``); the stack config defaults it to the cluster's."""
    ami: AmiPin
    instance_types: tuple[str, ...] = ()
    os: OperatingSystem = OperatingSystem.AL2023
    pull_mode: PullMode = PullMode.LAZY
    credentials: tuple[Credential, ...] | None = None
    """Unset: :func:`default_credentials` for the OS and pull mode."""
    soci_source: SociSource = AmiPackage()
    tuning: SociTuning = SociTuning()
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    disk: Disk = Disk()
    local_storage: LocalStorage = LocalStorage.NONE

    def __post_init__(self) -> None:
        check_match("name", self.name, NAME_RE, "a node group name: 1-40 lowercase letters, digits and '-', starting and ending with a letter or digit")
        check_match("kubernetesVersion", self.kubernetes_version, K8S_VERSION_RE, "a Kubernetes minor version such as '1.33'")
        for enum, attr in ((OperatingSystem, "os"), (PullMode, "pull_mode"), (LocalStorage, "local_storage")):
            if not isinstance(getattr(self, attr), enum):
                raise SpecError(_camel(attr), f"{short(getattr(self, attr))}: expected one of: {', '.join(e.value for e in enum)}")
        for i, t in enumerate(self.instance_types):
            check_match(f"instanceTypes[{i}]", t, INSTANCE_TYPE_RE, "an EC2 instance type such as 'm7i.xlarge'")
        if len(set(self.instance_types)) != len(self.instance_types):
            raise SpecError("instanceTypes", "lists a type twice")
        for k, v in dict(self.labels).items():
            where = key("labels", k) if isinstance(k, str) else "labels"
            check_label_key(where, k)
            check_label_value(where, v)
            self._check_label(where, k, v)
            check_kubelet_label(where, k)
            if k.startswith(SOCI_LABEL_PREFIX):
                raise SpecError(where, f"the '{SOCI_LABEL_PREFIX}' labels are set by the component on every SOCI node ({SOCI_LABEL}={SOCI_LABEL_VALUE}, {SOCI_MODE_LABEL}=<pull mode>); remove it")
        if len(self.taints) > EKS_MAX_TAINTS:
            raise SpecError("taints", f"{len(self.taints)} taints; EKS accepts at most {EKS_MAX_TAINTS} per node group")
        seen: set[tuple[str, TaintEffect]] = set()
        for i, t in enumerate(self.taints):
            if (t.key, t.effect) in seen:
                raise SpecError(f"taints[{i}]", f"a taint with key {t.key!r} and effect {t.effect.value} is listed twice; Kubernetes keys taints by key and effect")
            seen.add((t.key, t.effect))
        if self.credentials is None:
            object.__setattr__(self, "credentials", default_credentials(self.os, self.pull_mode))
        elif not self.credentials:
            raise SpecError("credentials", f"needs at least one credential source: {', '.join(k.value for k in CredentialKind)}")
        kinds = [c.kind for c in self.creds]
        for i, k in enumerate(kinds):
            if k in kinds[:i]:
                raise SpecError(f"credentials[{i}]", f"'{k.value}' is listed twice; each source may appear once")
        for i, c in enumerate(self.creds):
            if not isinstance(c, (EcrCredentialHelper, CriProxy, StaticCredentials, KubernetesSecrets)):
                raise SpecError(f"credentials[{i}]", f"{short(c)}: expected a credential source ({', '.join(k.value for k in CredentialKind)})")

    def _check_label(self, where: str, k: str, v: str) -> None:
        """Provisioner-specific label limits (managed node groups: EKS's)."""

    @property
    def creds(self) -> tuple[Credential, ...]:
        """The credential sources, defaults applied (never None after construction)."""
        assert self.credentials is not None
        return self.credentials

    @property
    def arch(self) -> Arch:
        """The architecture of the first instance type (rules refuse a group that mixes them)."""
        return arch_of(self.instance_types[0]) if self.instance_types else Arch.X86_64

    @property
    def content_store(self) -> ContentStore:
        if self.tuning.content_store is not None:
            return self.tuning.content_store
        return ContentStore.CONTAINERD if self.pull_mode is PullMode.PARALLEL else ContentStore.SOCI

    @property
    def uses_fast_image_pull(self) -> bool:
        """AL2023 parallel mode with the AMI's SOCI: nodeadm's parallel-pull feature gate does the wiring."""
        return self.os is OperatingSystem.AL2023 and self.pull_mode is PullMode.PARALLEL and isinstance(self.soci_source, AmiPackage)

    def credential(self, kind: CredentialKind) -> Credential | None:
        return next((c for c in self.creds if c.kind is kind), None)

    @property
    def node_labels(self) -> dict[str, str]:
        """User labels plus the component's SOCI labels, sorted."""
        labels = dict(self.labels)
        labels[SOCI_LABEL] = SOCI_LABEL_VALUE
        labels[SOCI_MODE_LABEL] = self.pull_mode.value
        return dict(sorted(labels.items()))


@dataclass(frozen=True, kw_only=True)
class NodeGroupSpec(NodeSpec):
    """One SOCI EKS managed node group."""

    instance_types: tuple[str, ...]
    capacity_type: CapacityType = CapacityType.ON_DEMAND
    scaling: Scaling = Scaling()
    subnet_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.capacity_type, CapacityType):
            raise SpecError("capacityType", f"{short(self.capacity_type)}: expected one of: {', '.join(e.value for e in CapacityType)}")
        if not self.instance_types:
            raise SpecError("instanceTypes", "needs at least one EC2 instance type, e.g. 'm7i.xlarge'")
        for i, s in enumerate(self.subnet_ids):
            check_match(f"subnetIds[{i}]", s, SUBNET_ID_RE, "a subnet ID such as 'subnet-0123456789abcdef0'")
        if len(set(self.subnet_ids)) != len(self.subnet_ids):
            raise SpecError("subnetIds", "lists a subnet twice")

    def _check_label(self, where: str, k: str, v: str) -> None:
        if len(k) > EKS_KEY_MAX:
            raise SpecError(where, f"the key has {len(k)} characters; EKS accepts node group label keys of at most {EKS_KEY_MAX}")
        if not v:
            raise SpecError(where, "an empty value; EKS node group labels need a value of 1-63 characters")


# --------------------------------------------------------------------------------------------
# Karpenter node pools


class RequirementOperator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"
    GT = "Gt"
    LT = "Lt"


class ConsolidationPolicy(StrEnum):
    WHEN_EMPTY = "WhenEmpty"
    WHEN_EMPTY_OR_UNDERUTILIZED = "WhenEmptyOrUnderutilized"


KARPENTER_OWNED_REQUIREMENTS = {
    "kubernetes.io/arch": "architecture",
    "kubernetes.io/os": "(always linux)",
    "karpenter.sh/capacity-type": "capacityTypes",
    "karpenter.sh/nodepool": "(set by Karpenter)",
}
"""Requirement keys the component writes from typed settings; a user requirement on them is refused, naming the setting."""
KARPENTER_LABEL_DOMAINS = ("karpenter.sh", "karpenter.k8s.aws")
DURATION_RE = re.compile(r"([0-9]+(s|m|h))+|Never")
_BUDGET_RE = re.compile(r"[0-9]+%?")


@dataclass(frozen=True)
class Requirement:
    """A NodePool requirement (``spec.template.spec.requirements[]``): a node selector term Karpenter launches within."""

    key: str
    operator: RequirementOperator
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_label_key("key", self.key)
        if self.key in KARPENTER_OWNED_REQUIREMENTS:
            raise SpecError("key", f"{self.key} is written by the component from {KARPENTER_OWNED_REQUIREMENTS[self.key]}; set that instead")
        if not isinstance(self.operator, RequirementOperator):
            raise SpecError("operator", f"{short(self.operator)}: expected one of: {', '.join(o.value for o in RequirementOperator)}")
        for i, v in enumerate(self.values):
            check_label_value(f"values[{i}]", v)
        op = self.operator
        if op in (RequirementOperator.IN, RequirementOperator.NOT_IN) and not self.values:
            raise SpecError("values", f"'{op.value}' needs at least one value")
        if op in (RequirementOperator.EXISTS, RequirementOperator.DOES_NOT_EXIST) and self.values:
            raise SpecError("values", f"'{op.value}' takes no values")
        if op in (RequirementOperator.GT, RequirementOperator.LT) and (len(self.values) != 1 or not self.values[0].isdigit()):
            raise SpecError("values", f"'{op.value}' takes exactly one non-negative integer, e.g. ['4']")

    def data(self) -> dict[str, object]:
        out: dict[str, object] = {"key": self.key, "operator": self.operator.value}
        if self.values:
            out["values"] = list(self.values)
        return out


@dataclass(frozen=True)
class PoolLimits:
    """``spec.limits``: Karpenter stops launching once the pool's nodes reach these totals."""

    cpu: int | None = 1000
    memory_gib: int | None = 4000

    def __post_init__(self) -> None:
        if self.cpu is not None:
            check_int("cpu", self.cpu, 1, 10**7, "a positive number of vCPUs")
        if self.memory_gib is not None:
            check_int("memoryGiB", self.memory_gib, 1, 10**8, "a positive number of GiB")


@dataclass(frozen=True)
class Disruption:
    """``spec.disruption`` of the NodePool (Karpenter's defaults, stated)."""

    consolidation_policy: ConsolidationPolicy = ConsolidationPolicy.WHEN_EMPTY_OR_UNDERUTILIZED
    consolidate_after: str = "1m"
    budgets: tuple[str, ...] = ("10%",)
    """Node budgets: how many nodes (``'5'``) or what share (``'10%'``) may be disrupted at once."""

    def __post_init__(self) -> None:
        if not isinstance(self.consolidation_policy, ConsolidationPolicy):
            raise SpecError("consolidationPolicy", f"{short(self.consolidation_policy)}: expected one of: {', '.join(p.value for p in ConsolidationPolicy)}")
        check_match("consolidateAfter", self.consolidate_after, DURATION_RE, "a duration such as '30s', '1m', '1h30m' or 'Never'")
        for i, b in enumerate(self.budgets):
            check_match(f"budgets[{i}]", b, _BUDGET_RE, "a node count ('5') or a share ('10%')")
            if b.endswith("%") and not 0 <= int(b[:-1]) <= 100:
                raise SpecError(f"budgets[{i}]", f"{b}: a share is 0% to 100%")


@dataclass(frozen=True, kw_only=True)
class NodePoolSpec(NodeSpec):
    """A SOCI Karpenter node pool: an EC2NodeClass and a NodePool from the same node spec as a managed node group."""

    architecture: Arch | None = None
    """CPU architecture of the pool's nodes; unset: the instance types', or x86_64."""
    capacity_types: tuple[CapacityType, ...] = (CapacityType.ON_DEMAND,)
    requirements: tuple[Requirement, ...] = ()
    """More requirements (instance families, sizes, zones ...); the component adds arch, OS, capacity type and the rules' floors."""
    limits: PoolLimits = PoolLimits()
    disruption: Disruption = Disruption()
    weight: int | None = None
    """Priority among NodePools (higher first), 1-100."""
    expire_after: str = "720h"
    """Nodes are replaced after this long (``Never`` keeps them)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.architecture is not None and not isinstance(self.architecture, Arch):
            raise SpecError("architecture", f"{short(self.architecture)}: expected one of: {', '.join(a.value for a in Arch)}")
        if not self.capacity_types:
            raise SpecError("capacityTypes", "needs at least one of: ON_DEMAND, SPOT")
        for i, c in enumerate(self.capacity_types):
            if not isinstance(c, CapacityType):
                raise SpecError(f"capacityTypes[{i}]", f"{short(c)}: expected one of: {', '.join(e.value for e in CapacityType)}")
        if len(set(self.capacity_types)) != len(self.capacity_types):
            raise SpecError("capacityTypes", "lists a capacity type twice")
        if self.weight is not None:
            check_int("weight", self.weight, 1, 100)
        check_match("expireAfter", self.expire_after, DURATION_RE, "a duration such as '720h' or 'Never'")

    def _check_label(self, where: str, k: str, v: str) -> None:
        ns = k.split("/", 1)[0] if "/" in k else ""
        if any(ns == d or ns.endswith("." + d) for d in KARPENTER_LABEL_DOMAINS):
            raise SpecError(where, f"labels under {' and '.join(KARPENTER_LABEL_DOMAINS)} belong to Karpenter (it refuses NodePools that set them)")

    @property
    def arch(self) -> Arch:
        if self.architecture is not None:
            return self.architecture
        return super().arch


# --------------------------------------------------------------------------------------------
# the stack around the node groups


def check_cidr(path: str, value: object) -> str:
    text = check_text(path, value, "a CIDR block such as '10.0.0.0/16'")
    try:
        ipaddress.ip_network(text)
    except ValueError:
        raise SpecError(path, f"{short(value)} is not a CIDR block (network address + prefix, e.g. '10.0.0.0/16')") from None
    return text


def check_ipv4_cidr(path: str, value: object) -> str:
    text = check_cidr(path, value)
    if ipaddress.ip_network(text).version != 4:
        raise SpecError(path, f"{short(value)} is IPv6; this component builds IPv4 clusters (SOCI node groups need an IPv4 service CIDR)")
    return text


@dataclass(frozen=True, kw_only=True)
class ClusterSpec:
    name: str
    """EKS cluster name."""
    kubernetes_version: str
    """Control-plane Kubernetes version; node groups default to it."""
    endpoint_public_access: bool = True
    public_access_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    service_cidr: str = "172.20.0.0/16"
    enabled_log_types: tuple[LogType, ...] = (LogType.API, LogType.AUDIT, LogType.AUTHENTICATOR)

    def __post_init__(self) -> None:
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
class VpcSpec:
    """A new VPC (``cidr``, ``az_count``, ``nat_gateways``) or an existing one (``vpc_id`` + subnets)."""

    cidr: str | None = "10.0.0.0/16"
    az_count: int = 2
    nat_gateways: NatGateways = NatGateways.SINGLE
    vpc_id: str | None = None
    private_subnet_ids: tuple[str, ...] = ()
    public_subnet_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
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
class DemoSpec:
    enabled: bool = True
    image: str = DEFAULT_DEMO_IMAGE
    """An image published with a SOCI index, pinned to SOCI nodes by their label."""
    replicas: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise SpecError("enabled", f"{short(self.enabled)}: expected true or false")
        check_match("image", self.image, re.compile(r"[^\s]+"), "an image reference")
        check_int("replicas", self.replicas, 0, 20, "0..20")


KARPENTER_CHART_VERSION = "1.15.0"
"""The Karpenter release the component installs and tests against (karpenter-provider-aws v1.15.0)."""


@dataclass(frozen=True, kw_only=True)
class KarpenterSpec:
    """Karpenter on the cluster: installed by the component, or already there."""

    install: bool = True
    """Install Karpenter (Helm chart, controller role via EKS Pod Identity, interruption queue); false: the cluster runs it already."""
    version: str = KARPENTER_CHART_VERSION
    namespace: str = "kube-system"

    def __post_init__(self) -> None:
        if not isinstance(self.install, bool):
            raise SpecError("install", f"{short(self.install)}: expected true or false")
        check_match("version", self.version, VERSION_RE, "a Karpenter chart version such as '1.15.0'")
        check_match("namespace", self.namespace, re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"), "a Kubernetes namespace name")


@dataclass(frozen=True, kw_only=True)
class StackSpec:
    """A whole stack: region, cluster, VPC, node groups, Karpenter pools, demo, tags."""

    region: str
    cluster: ClusterSpec
    vpc: VpcSpec = VpcSpec()
    node_groups: tuple[NodeGroupSpec, ...] = ()
    node_pools: tuple[NodePoolSpec, ...] = ()
    karpenter: KarpenterSpec | None = None
    """Set when the stack has node pools (default: install Karpenter)."""
    demo: DemoSpec = DemoSpec()
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
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


_TAG_RE = re.compile(r"[\w\s.:/=+\-@]*")


def check_tags(path: str, tags: Mapping[str, str], reserved: int = 0) -> None:
    """AWS tag rules: keys 1-128, values 0-256 characters of letters, digits, spaces and ``_ . : / = + - @``, no ``aws:`` prefix,
    at most 50 per resource (``reserved`` of them are the component's own)."""
    if not isinstance(tags, Mapping):
        raise SpecError(path, f"expected a mapping of tag key -> value; got {short(tags)}")
    if len(tags) > 50 - reserved:
        raise SpecError(path, f"{len(tags)} tags; AWS allows 50 per resource and the component adds {reserved} of its own")
    for k, v in tags.items():
        where = key(path, k) if isinstance(k, str) else path
        check_text(where, k, "a tag key")
        check_text(where, v, "a string tag value")
        if not 1 <= len(k) <= 128 or not _TAG_RE.fullmatch(k):
            raise SpecError(where, f"{short(k)} is not an AWS tag key: 1-128 letters, digits, spaces and _ . : / = + - @")
        if k.lower().startswith("aws:"):
            raise SpecError(where, "tag keys starting with 'aws:' are reserved for AWS")
        if len(v) > 256 or not _TAG_RE.fullmatch(v):
            raise SpecError(where, f"{short(v)} is not an AWS tag value: at most 256 letters, digits, spaces and _ . : / = + - @")


# --------------------------------------------------------------------------------------------
# values known only after deploy


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
class Secrets:
    """Where boot-time secrets live: Secrets Manager ARNs (never the values)."""

    static: Mapping[str, str] = field(default_factory=dict)
    """registry host -> secret ARN holding ``{"username": ..., "password": ...}``."""
    kubeconfig_token: str | None = None
    """Secret ARN holding the service-account token for SOCI's kubeconfig keychain."""
