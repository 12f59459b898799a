"""What SOCI itself runs with: registry credential sources, the SOCI source (AMI package or pinned
release) and the daemon's tuning. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import SpecError, short
from .enums import Arch, ContentStore, CredentialKind, OperatingSystem, PullMode, SociSourceKind
from .values import (
    ECR_HOST_RE,
    INT64_MAX,
    SHA256_RE,
    SIZE_RE,
    VERSION_RE,
    Checked,
    Version,
    _camel,
    check_host,
    check_int,
    check_match,
    check_text,
    check_url_base,
    parse_version,
)

# --------------------------------------------------------------------------------------------
# credentials

ECR_DEFAULT_REGISTRY = "{account}.dkr.ecr.{region}.amazonaws.com"
"""Placeholder resolved at deploy time to the account's own ECR registry in the cluster's region."""


@dataclass(frozen=True)
class EcrCredentialHelper(Checked):
    """docker config ``credHelpers`` -> ``docker-credential-ecr-login``; tokens rotate (recommended for ECR)."""

    registries: tuple[str, ...] = (ECR_DEFAULT_REGISTRY,)
    """ECR registry hosts the helper answers for. ``{account}``/``{region}`` resolve to the cluster's."""

    kind = CredentialKind.ECR_CREDENTIAL_HELPER

    def _check(self) -> None:
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
class StaticCredentials(Checked):
    """Username/password for one registry, kept in AWS Secrets Manager and fetched at boot."""

    registry: str
    """Registry host the credentials are for."""

    kind = CredentialKind.STATIC

    def _check(self) -> None:
        check_host("registry", self.registry)


@dataclass(frozen=True)
class KubernetesSecrets:
    """SOCI's kubeconfig keychain: watches ``kubernetes.io/dockerconfigjson`` secrets cluster-wide."""

    kind = CredentialKind.KUBERNETES_SECRETS


Credential = EcrCredentialHelper | CriProxy | StaticCredentials | KubernetesSecrets

# --------------------------------------------------------------------------------------------
# SOCI source and tuning

DEFAULT_SOCI_VERSION = "0.16.1"
DEFAULT_SOCI_URL_BASE = "https://github.com/awslabs/soci-snapshotter/releases/download"


@dataclass(frozen=True)
class AmiPackage:
    """Use the ``soci-snapshotter`` the node image ships (AL2023 >= v20250813, Bottlerocket >= 1.44.0)."""

    kind = SociSourceKind.AMI


@dataclass(frozen=True)
class UpstreamRelease(Checked):
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

    def _check(self) -> None:
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
class Decompressor(Checked):
    """External gzip decompressor for parallel unpack (``unpigz -d -c``)."""

    path: str = "/usr/bin/unpigz"
    """Absolute path of the decompressor on the node."""
    args: tuple[str, ...] = ("-d", "-c")
    """Its arguments: read gzip on stdin, write the tar stream to stdout."""

    def _check(self) -> None:
        check_match("path", self.path, re.compile(r"/[A-Za-z0-9._/+-]*[A-Za-z0-9._+-]"), "an absolute path to an executable, e.g. '/usr/bin/unpigz'")
        for i, a in enumerate(self.args):
            check_text(f"args[{i}]", a, "a string argument")


@dataclass(frozen=True)
class ParallelTuning(Checked):
    """Knobs of SOCI's ``[pull_modes.parallel_pull_unpack]`` (defaults: what nodeadm writes)."""

    max_concurrent_downloads: int = -1
    """Layer downloads at once, node-wide (-1: unlimited)."""
    max_concurrent_downloads_per_image: int = 20
    """Layer downloads at once per image, 1..1000."""
    concurrent_download_chunk_size: str = "16mb"
    """Range-GET size a layer is fetched in (``''``: whole layers)."""
    max_concurrent_unpacks: int = -1
    """Layer unpacks at once, node-wide (-1: unlimited)."""
    max_concurrent_unpacks_per_image: int = 12
    """Layer unpacks at once per image, 1..1000."""
    discard_unpacked_layers: bool = True
    """Drop a compressed layer once it is unpacked (saves disk; ``true`` is required with the ``soci`` content store)."""
    decompressor: Decompressor | None = Decompressor()
    """External gzip decompressor; None: SOCI's built-in one."""

    def _check(self) -> None:
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
class RegistryMirror(Checked):
    """A ``[resolver.host."<host>".mirrors]`` entry: SOCI does not read containerd's certs.d."""

    host: str
    """The registry being mirrored (``docker.io``, ``registry.example.com:5000``)."""
    mirrors: tuple[str, ...]
    """Mirror hosts, tried in order (written as ``https://<mirror>`` URLs)."""
    insecure: bool = False
    """Reach the mirrors over plain ``http://`` (SOCI reads each mirror as a URL)."""

    def _check(self) -> None:
        check_host("host", self.host)
        if not self.mirrors:
            raise SpecError("mirrors", "needs at least one mirror host")
        for i, m in enumerate(self.mirrors):
            check_host(f"mirrors[{i}]", m)
        if len(set(self.mirrors)) != len(self.mirrors):
            raise SpecError("mirrors", "lists a mirror twice")


@dataclass(frozen=True)
class SociTuning(Checked):
    """SOCI daemon settings that are not tied to the pull mode's defaults."""

    min_layer_size: int = 10_000_000
    """Layers smaller than this (bytes) are pulled eagerly (``[snapshotter] min_layer_size``)."""
    root: str = DEFAULT_SOCI_ROOT
    """Snapshotter root; exported to containerd as ``[proxy_plugins.soci.exports] root``."""
    parallel: ParallelTuning = ParallelTuning()
    """Parallel pull and unpack knobs (``parallel`` and ``lazy-with-parallel-fallback`` modes)."""
    content_store: ContentStore | None = None
    """``soci`` or ``containerd``; unset picks by pull mode (parallel: containerd, as nodeadm)."""
    mirrors: tuple[RegistryMirror, ...] = ()
    """SOCI's own registry mirrors (SOCI does not read containerd's certs.d)."""
    v1_indexes: bool = False
    """Also lazy-load images indexed with SOCI v1 (``soci create`` + ``soci push``, found through the
    Referrers API); SOCI >= 0.10 ignores them unless ``[pull_modes.soci_v1] enable = true``."""
    metrics_address: str | None = None
    """SOCI's Prometheus endpoint (``metrics_address``): ``0.0.0.0:PORT``, ``[::]:PORT`` or ``:PORT``, on every address of
    the node, where the API server's node proxy reaches it (``verify``); None (default): no endpoint."""

    def _check(self) -> None:
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
        if self.metrics_address is not None:
            check_metrics_address("metricsAddress", self.metrics_address)


NODE_PORTS = {10248: "the kubelet's healthz", 10249: "kube-proxy's metrics", 10250: "the kubelet's API", 10255: "the kubelet's read-only API",
              10256: "kube-proxy's healthz"}
"""Ports the node's own daemons listen on (k8s.io/kubernetes pkg/cluster/ports): SOCI could not listen there."""


def check_metrics_address(path: str, value: object) -> str:
    """SOCI's ``metrics_address`` as the API server's node proxy can reach it. SOCI listens with ``net.Listen("tcp", address)``
    and refuses to start when it cannot (cmd/soci-snapshotter-grpc/main.go, v0.15.0), and containerd requires SOCI on
    our nodes: an address that cannot be bound keeps the node from ever running a pod. The node proxy
    (``/api/v1/nodes/<node>:<port>/proxy/``) connects to the node's address (InternalIP), so the endpoint must listen there:
    on every address, since each node has its own IP."""
    what = "'0.0.0.0:PORT', '[::]:PORT' or ':PORT' (every address of the node), PORT 1..65535, e.g. '0.0.0.0:9464'"
    text = check_text(path, value, what)
    host, sep, port = text.rpartition(":")
    if text.startswith(("/", "unix:")) or not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise SpecError(path, f"{short(value)} is not {what}" + ("; a unix socket is not reachable through the node proxy" if "/" in text else ""))
    if int(port) in NODE_PORTS:
        raise SpecError(path, f"port {port} is {NODE_PORTS[int(port)]} on every node: SOCI could not listen there and would not start (containerd, which "
                              "requires it, neither); pick a free port, e.g. 9464")
    bare = host.removeprefix("[").removesuffix("]")
    if host in ("", "0.0.0.0", "[::]"):
        return text
    if ":" in host and not host.startswith("["):
        raise SpecError(path, f"{short(value)}: an IPv6 address goes in brackets ('[::]:{port}'); expected {what}")
    if bare.lower() == "localhost" or bare.startswith("127.") or bare == "::1":
        raise SpecError(path, f"{short(value)} listens on the node's loopback only: the API server's node proxy (verify) and Prometheus connect to the "
                              f"node's IP, so nothing could read it; use '0.0.0.0:{port}' (see README on what that exposes)")
    raise SpecError(path, f"{short(value)} is one address, and each node has its own IP: SOCI fails to start (and with it containerd) on every node "
                          f"that lacks it; use '0.0.0.0:{port}'")


def default_credentials(os: OperatingSystem, mode: PullMode) -> tuple[Credential, ...]:
    """The credential sources a node group gets when it names none.

    The rotating ECR helper for the lazy modes (SOCI fetches long after the pull); the CRI proxy for
    ``parallel`` (whole layers are fetched at pull time, and nodeadm's FastImagePull and Bottlerocket
    take credentials only that way)."""
    if os is OperatingSystem.BOTTLEROCKET or mode is PullMode.PARALLEL:
        return (CriProxy(),)
    return (EcrCredentialHelper(),)
