"""A SOCI node group's inputs: the node spec shared by managed node groups and Karpenter pools
(AMI pin, pull mode, credentials, SOCI source and tuning, labels, taints, disks) and the managed node
group's own settings. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Self

from ..errors import SpecError, key, short
from .enums import Arch, CapacityType, ContentStore, CredentialKind, LocalStorage, OperatingSystem, PullMode, TaintEffect, Variant
from .soci import AmiPackage, Credential, CriProxy, EcrCredentialHelper, KubernetesSecrets, SociSource, SociTuning, StaticCredentials, default_credentials
from .values import (
    AL2023_RELEASE_RE,
    AMI_ID_RE,
    BOTTLEROCKET_RELEASE_RE,
    INSTANCE_TYPE_RE,
    K8S_VERSION_RE,
    NAME_RE,
    SUBNET_ID_RE,
    VERSION_RE,
    Checked,
    _camel,
    check_image,
    check_int,
    check_kubelet_label,
    check_label_key,
    check_label_value,
    check_match,
    check_text,
)

SOCI_LABEL = "soci.snapshotter/enabled"
SOCI_LABEL_VALUE = "true"
SOCI_MODE_LABEL = "soci.snapshotter/pull-mode"
SOCI_GROUP_LABEL = "soci.snapshotter/node-group"
"""A managed node group's name on each of its nodes: EKS labels nodes with ``eks.amazonaws.com/nodegroup`` only through the
bootstrap it generates for its own AMIs, which a custom-AMI launch template (this component's) does not get, so ``verify``
finds a group's nodes by this label (a pool's by Karpenter's ``karpenter.sh/nodepool``)."""
SOCI_LABEL_PREFIX = "soci.snapshotter/"


EKS_KEY_MAX = 63
"""EKS managed node groups: label and taint keys and values are at most 63 characters (CreateNodegroup API)."""
EKS_MAX_TAINTS = 50
MAX_IMAGES = 50


@dataclass(frozen=True)
class Taint(Checked):
    key: str
    """Taint key (a label key, at most 63 characters on EKS)."""
    effect: TaintEffect
    """What the taint does to pods without a toleration."""
    value: str = ""
    """Taint value (may be empty)."""

    def _check(self) -> None:
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
class Disk(Checked):
    """Root EBS volume (gp3, encrypted). SOCI is throughput-bound: size it for the images."""

    size_gib: int = 100
    """Volume size, 20..16384 GiB."""
    iops: int = 3000
    """Provisioned IOPS, 3000..80000 and at most 500 per GiB."""
    throughput_mibps: int = 250
    """Provisioned throughput, 125..2000 MiB/s and at most 0.25 per IOPS (parallel pull wants >= 600)."""

    def _check(self) -> None:
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
class Scaling(Checked):
    min_size: int = 1
    """Fewest nodes."""
    max_size: int = 3
    """Most nodes (>= 1; above EKS's default quota of 450 warns)."""
    desired_size: int = 2
    """Nodes at creation (ignored afterwards: autoscalers own it)."""

    def _check(self) -> None:
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
class AmiPin(Checked):
    """Which AMI: a release (resolved through its release-pinned SSM parameter), or a raw AMI ID
    with its containerd version stated (the catalogue's rules apply to it too)."""

    release: str | None = None
    """AL2023 ``vYYYYMMDD`` or Bottlerocket ``1.x.y``."""
    ami_id: str | None = None
    """A raw AMI ID (``ami-`` + 8 or 17 hex), only with ``containerd_version``; not for pools."""
    containerd_version: str | None = None
    """Required with ``ami_id``: the containerd the image ships, e.g. ``2.2.4``."""
    variant: Variant = Variant.STANDARD
    """AL2023 ``standard``/``nvidia``/``neuron``; Bottlerocket ``standard``/``nvidia``."""

    def _check(self) -> None:
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


@dataclass(frozen=True, kw_only=True)
class NodeSpec(Checked):
    """What every node of a SOCI node group or Karpenter node pool runs: every container uses SOCI from first boot."""

    ami: AmiPin
    """The pinned AMI: a catalogued release, or a raw AMI ID with its containerd version."""
    name: str = ""
    """1-40 lowercase letters, digits and '-'; unique in the stack. Empty: the component's name (Python only; a
    stack file names every group)."""
    kubernetes_version: str = ""
    """Kubernetes minor version of the nodes (``1.33``). Empty: the cluster's (stack files and the components fill it in;
    at most 3 minors behind the control plane, never ahead)."""
    instance_types: tuple[str, ...] = ()
    """EC2 instance types, one architecture; a pool may leave it empty (Karpenter picks within the requirements)."""
    os: OperatingSystem = OperatingSystem.AL2023
    """``al2023`` (nodeadm) or ``bottlerocket``; AL2 is end of life and refused."""
    pull_mode: PullMode = PullMode.LAZY
    """How SOCI gets image data onto the node (README: Pull modes)."""
    credentials: tuple[Credential, ...] | None = None
    """Unset: :func:`default_credentials` for the OS and pull mode."""
    soci_source: SociSource = AmiPackage()
    """The AMI's soci-snapshotter package, or a pinned upstream release installed at boot."""
    tuning: SociTuning = SociTuning()
    """SOCI's own settings (root, content store, parallel-pull knobs, mirrors, v1 indexes)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Node labels; the component adds ``soci.snapshotter/enabled`` and ``soci.snapshotter/pull-mode``."""
    taints: tuple[Taint, ...] = ()
    """Node taints (unique by key and effect, at most 50)."""
    disk: Disk = Disk()
    """The encrypted gp3 volume images and SOCI's data live on."""
    local_storage: LocalStorage = LocalStorage.NONE
    """``raid0``: containerd and SOCI on the instance-store NVMe RAID."""
    images: tuple[str, ...] = ()
    """Images this group's or pool's workloads run (references): ``images check --stack`` checks each for a SOCI index
    the nodes will use. Nothing a node receives depends on it; refused where no index is read (``parallel``)."""

    def _label(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})" if isinstance(self.name, str) and self.name else type(self).__name__

    def _check(self) -> None:
        if self.name != "":
            check_match("name", self.name, NAME_RE, "a node group name: 1-40 lowercase letters, digits and '-', starting and ending with a letter or digit")
        if self.kubernetes_version != "":
            check_match("kubernetesVersion", self.kubernetes_version, K8S_VERSION_RE, "a Kubernetes minor version such as '1.33'")
        if not isinstance(self.ami, AmiPin):
            raise SpecError("ami", f"{short(self.ami)}: expected an AmiPin(release=...) or AmiPin(ami_id=..., containerd_version=...)")
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
        for i, image in enumerate(self.images):
            check_image(f"images[{i}]", image)
        if len(set(self.images)) != len(self.images):
            raise SpecError("images", "lists an image twice")
        if len(self.images) > MAX_IMAGES:
            raise SpecError("images", f"{len(self.images)} images; at most {MAX_IMAGES} (the ones worth checking before a deploy)")
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

    def completed(self, *, name: str = "", kubernetes_version: str = "") -> Self:
        """This spec with an unset name and Kubernetes version filled in (the component's name, the cluster's version)."""
        changes = {k: v for k, v in (("name", name), ("kubernetes_version", kubernetes_version)) if v and not getattr(self, k)}
        return replace(self, **changes) if changes else self

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
    """EC2 instance types of the group (at least one; one architecture)."""
    capacity_type: CapacityType = CapacityType.ON_DEMAND
    """On-demand or spot instances."""
    scaling: Scaling = Scaling()
    """Node counts; EKS's autoscaling owns the desired size after creation."""
    subnet_ids: tuple[str, ...] = ()
    """Subnets for this group's nodes; empty: the attachment's (the cluster's private subnets)."""

    def _check(self) -> None:
        super()._check()
        if not isinstance(self.capacity_type, CapacityType):
            raise SpecError("capacityType", f"{short(self.capacity_type)}: expected one of: {', '.join(e.value for e in CapacityType)}")
        if not self.instance_types:
            raise SpecError("instanceTypes", "needs at least one EC2 instance type, e.g. 'm7i.xlarge'")
        for i, s in enumerate(self.subnet_ids):
            check_match(f"subnetIds[{i}]", s, SUBNET_ID_RE, "a subnet ID such as 'subnet-0123456789abcdef0'")
        if len(set(self.subnet_ids)) != len(self.subnet_ids):
            raise SpecError("subnetIds", "lists a subnet twice")

    @property
    def node_labels(self) -> dict[str, str]:
        """User labels plus the component's SOCI labels and the group's name (:data:`SOCI_GROUP_LABEL`), sorted."""
        return dict(sorted({**super().node_labels, SOCI_GROUP_LABEL: self.name}.items()))

    def _check_label(self, where: str, k: str, v: str) -> None:
        if len(k) > EKS_KEY_MAX:
            raise SpecError(where, f"the key has {len(k)} characters; EKS accepts node group label keys of at most {EKS_KEY_MAX}")
        if not v:
            raise SpecError(where, "an empty value; EKS node group labels need a value of 1-63 characters")
