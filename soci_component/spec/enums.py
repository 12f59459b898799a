"""The closed choices of the specs (operating system, architecture, pull mode, credentials ...). Pure."""

from __future__ import annotations

from enum import StrEnum


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
    """Where the node's soci-snapshotter comes from."""

    AMI = "ami"
    """The ``soci-snapshotter`` package of the node image."""
    RELEASE = "release"
    """A pinned upstream release tarball, downloaded and verified at boot."""


class ContentStore(StrEnum):
    """Where SOCI keeps image content: its own store, or containerd's."""

    SOCI = "soci"
    CONTAINERD = "containerd"


class TaintEffect(StrEnum):
    """What a taint does to pods that do not tolerate it."""

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
    """On-demand or spot EC2 capacity."""

    ON_DEMAND = "ON_DEMAND"
    SPOT = "SPOT"


class NatGateways(StrEnum):
    SINGLE = "single"
    """One NAT gateway (cheap)."""
    ONE_PER_AZ = "one-per-az"
    """One per AZ (survives an AZ outage)."""


class LogType(StrEnum):
    """EKS control-plane log types sent to CloudWatch."""

    API = "api"
    AUDIT = "audit"
    AUTHENTICATOR = "authenticator"
    CONTROLLER_MANAGER = "controllerManager"
    SCHEDULER = "scheduler"


class RequirementOperator(StrEnum):
    """Operators of a Karpenter NodePool requirement (Kubernetes node selector operators)."""

    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"
    GT = "Gt"
    LT = "Lt"


class ConsolidationPolicy(StrEnum):
    """When Karpenter consolidates a pool's nodes: only empty ones, or also underutilized ones."""

    WHEN_EMPTY = "WhenEmpty"
    WHEN_EMPTY_OR_UNDERUTILIZED = "WhenEmptyOrUnderutilized"
