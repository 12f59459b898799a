"""EKS node AMI releases as data, the pinning rules SOCI needs, and release-pinned SSM parameter paths.

PURE: no Pulumi, no AWS calls. The Pulumi layer reads ``NodeProfile.ssm_parameter`` with
``aws.ssm.get_parameter`` and passes ``aws.ec2.get_instance_type`` results to :func:`check_instance_sizes`.

The catalogue records, per release and per Kubernetes minor version, the containerd the image ships,
whether the image has the ``soci-snapshotter`` package and nodeadm's ``FastImagePull`` gate, known
defects, and which facts the sources could not confirm. Facts and sources:
``notes/eks-nodes.md`` §2.2-§2.5 and §4.3 (amazon-eks-ami CHANGELOG "AMI Details" tables, issues
#1933 #1937 #2470 #2710; Bottlerocket package lists and CHANGELOG). The containerd version is the
same for every AL2023 variant (standard/nvidia/neuron) of a release and Kubernetes version.

A release whose containerd version is UNCONFIRMED is refused, never guessed. To add a release, see
``main()`` (``scripts/add-ami-release``) and the README section "Adding an AMI release".
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NoReturn, TextIO

from soci_component.spec import (
    AmiPackage,
    Arch,
    LocalStorage,
    NodeGroupSpec,
    NodeProfile,
    OperatingSystem,
    PullMode,
    SpecError,
)

__all__ = [
    "AL2_END_OF_LIFE",
    "CATALOGUE",
    "FAST_IMAGE_PULL_MIN_MEMORY_MIB",
    "FAST_IMAGE_PULL_MIN_VCPUS",
    "FIRST_AL2023_ARM64_NVIDIA",
    "FIRST_AL2023_FAST_IMAGE_PULL",
    "FIRST_AL2023_PAUSE_FIX",
    "FIRST_AL2023_RELEASE",
    "FIRST_BOTTLEROCKET_SOCI",
    "ContainerdRange",
    "Release",
    "add_release",
    "arch_of",
    "arch_of_instance_types",
    "check_instance_sizes",
    "check_local_storage",
    "containerd_problem",
    "lookup_release",
    "main",
    "parse_ranges",
    "parse_version",
    "refuse_al2",
    "releases",
    "resolve_profile",
    "ssm_parameter",
    "usable_releases",
]

Version = tuple[int, int, int]

FIRST_AL2023_RELEASE = "v20241016"
"""First stable AL2023 release with containerd >= 1.7.16 (1.7.22)."""
FIRST_AL2023_FAST_IMAGE_PULL = "v20250813"
"""First AL2023 release with the ``soci-snapshotter`` package and nodeadm's ``FastImagePull`` gate."""
FIRST_AL2023_ARM64_NVIDIA = "v20250403"
"""arm64 NVIDIA AL2023 AMIs first appear in the CHANGELOG here."""
FIRST_AL2023_PAUSE_FIX = "v20260610"
"""First CHANGELOG release after the containerd 2.2.3 pause deadlock (containerd 2.2.4 + nodeadm pause import)."""
FIRST_BOTTLEROCKET_SOCI = "1.44.0"
"""First Bottlerocket release whose k8s variants ship SOCI."""
AL2_END_OF_LIFE = "2025-11-26"
"""Amazon EKS stopped publishing EKS-optimized AL2 AMIs on this date."""
FAST_IMAGE_PULL_MIN_VCPUS = 4
FAST_IMAGE_PULL_MIN_MEMORY_MIB = 7168
"""nodeadm enables SOCI for ``FastImagePull`` only with >= 4 vCPUs and >= 7 GiB; below that the gate is silently ignored."""

_MIN_17: Version = (1, 7, 16)
_MIN_16: Version = (1, 6, 32)
_AL2023_RE = re.compile(r"^v[0-9]{8}$")
_BOTTLEROCKET_RE = re.compile(r"^v?([0-9]+\.[0-9]+\.[0-9]+)$")
_RANGE_RE = re.compile(r"^1\.([0-9]{2})(?:-1\.([0-9]{2}))?=([0-9]+\.[0-9]+\.[0-9]+)$")
_VARIANTS = {
    OperatingSystem.AL2023: ("standard", "nvidia", "neuron"),
    OperatingSystem.BOTTLEROCKET: ("standard", "nvidia"),
}
_ADD_HINT = "see the README section 'Adding an AMI release' (scripts/add-ami-release)"


def parse_version(value: str) -> Version:
    """``"1.7.27"`` -> ``(1, 7, 27)``; raises ValueError for anything else."""
    parts = value.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"{value!r} is not a MAJOR.MINOR.PATCH version")
    return int(parts[0]), int(parts[1]), int(parts[2])


def _v(version: Version) -> str:
    return ".".join(str(p) for p in version)


def _minor(k8s: str) -> int:
    return int(k8s.split(".")[1])


def containerd_problem(version: Version) -> str | None:
    """Why SOCI cannot run on this containerd (a phrase to follow "containerd X.Y.Z ..."), or None when it can:
    >= 1.7.16, 1.6.x >= 1.6.32, or 2.x."""
    why = ("does not enforce ephemeral-storage limits or run image garbage collection with a proxy snapshotter "
           "(containerd#10095, fixed in 1.7.16 and 1.6.32)")
    if version[0] >= 2 or (version[0] == 1 and version[1] >= 8):
        return None
    if version[:2] == (1, 7):
        return None if version >= _MIN_17 else f"{why}; SOCI needs containerd >= 1.7.16"
    if version[:2] == (1, 6):
        return None if version >= _MIN_16 else f"{why}; SOCI needs containerd >= 1.6.32 on the 1.6 line, or >= 1.7.16"
    return "predates the proxy-snapshotter fixes SOCI needs (containerd#10095); SOCI needs containerd >= 1.7.16 (or 1.6.32+, or 2.x)"


# --------------------------------------------------------------------------------------------
# Catalogue types


@dataclass(frozen=True)
class ContainerdRange:
    """Kubernetes minor versions ``1.<first>`` .. ``1.<last>`` of a release, and the containerd they ship."""

    first: int
    last: int
    containerd: Version

    def covers(self, k8s: str) -> bool:
        return self.first <= _minor(k8s) <= self.last

    @property
    def kubernetes(self) -> str:
        """``"1.28-1.30"`` or ``"1.34"``."""
        return f"1.{self.first}" if self.first == self.last else f"1.{self.first}-1.{self.last}"

    def __str__(self) -> str:
        return f"{self.kubernetes}={_v(self.containerd)}"


def parse_ranges(spec: str) -> tuple[ContainerdRange, ...] | None:
    """``"1.28-1.30=1.7.27 1.31-1.34=2.1.4"`` -> ranges; ``"?"`` -> None (containerd UNCONFIRMED).

    Raises ValueError for malformed, reversed or overlapping ranges."""
    if spec.strip() == "?":
        return None
    out: list[ContainerdRange] = []
    for item in spec.split():
        m = _RANGE_RE.match(item)
        if not m:
            raise ValueError(f"{item!r}: expected '1.<first>-1.<last>=<containerd>' or '1.<minor>=<containerd>', e.g. '1.30-1.36=2.2.4'")
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else first
        if last < first:
            raise ValueError(f"{item!r}: the range runs backwards")
        out.append(ContainerdRange(first, last, parse_version(m.group(3))))
    if not out:
        raise ValueError("no Kubernetes ranges given; use '?' when the containerd version is unconfirmed")
    out.sort(key=lambda r: r.first)
    for a, b in itertools.pairwise(out):
        if b.first <= a.last:
            raise ValueError(f"ranges {a.kubernetes} and {b.kubernetes} overlap")
    return tuple(out)


@dataclass(frozen=True)
class Release:
    """One catalogued AMI release."""

    os: OperatingSystem
    version: str
    """AL2023 ``vYYYYMMDD``; Bottlerocket ``1.x.y`` (no ``v``)."""
    ranges: tuple[ContainerdRange, ...] | None
    """Kubernetes versions shipped and their containerd; None when the containerd version is UNCONFIRMED."""
    soci_package: bool
    """The image ships ``soci-snapshotter`` (AL2023 >= v20250813, Bottlerocket >= 1.44.0)."""
    fast_image_pull: bool
    """nodeadm knows the ``FastImagePull`` gate (AL2023 >= v20250813)."""
    soci_version: str | None = None
    """Version of the image's soci-snapshotter, where the sources record it (Bottlerocket only)."""
    refused: str | None = None
    """Why this release must never be pinned, with what to use instead (rolled back, abandoned, defect)."""
    unconfirmed: tuple[str, ...] = ()
    """Facts about this release the sources could not confirm."""
    notes: tuple[str, ...] = ()
    """Known defects that do not refuse the release."""
    complete: bool = True
    """False when only some of the release's Kubernetes versions are recorded."""

    @property
    def sort_key(self) -> tuple[int, ...]:
        return (int(self.version[1:]),) if self.os is OperatingSystem.AL2023 else parse_version(self.version)

    @property
    def containerd_spec(self) -> str:
        """The ranges in catalogue-row syntax (``"1.28-1.30=1.7.27 1.31-1.34=2.1.4"`` or ``"?"``)."""
        return "?" if self.ranges is None else " ".join(str(r) for r in self.ranges)

    @property
    def kubernetes(self) -> str:
        """Human-readable Kubernetes versions, e.g. ``"1.28-1.34"``."""
        if self.ranges is None:
            return "unknown"
        return ", ".join(r.kubernetes for r in _merge_adjacent(self.ranges))

    def containerd_for(self, k8s: str) -> Version | None:
        """The containerd shipped for Kubernetes ``k8s``; None if not recorded/shipped."""
        for r in self.ranges or ():
            if r.covers(k8s):
                return r.containerd
        return None

    def ships(self, k8s: str) -> bool:
        return self.containerd_for(k8s) is not None


def _merge_adjacent(ranges: Iterable[ContainerdRange]) -> list[ContainerdRange]:
    out: list[ContainerdRange] = []
    for r in ranges:
        if out and out[-1].last + 1 == r.first:
            out[-1] = ContainerdRange(out[-1].first, r.last, r.containerd)
        else:
            out.append(r)
    return out


def _al2023(version: str, containerd: str, *, refused: str | None = None, unconfirmed: Sequence[str] = (),
            notes: Sequence[str] = (), complete: bool = True) -> Release:
    has_soci = version >= FIRST_AL2023_FAST_IMAGE_PULL
    return Release(OperatingSystem.AL2023, version, parse_ranges(containerd), has_soci, has_soci, None, refused,
                   tuple(unconfirmed), tuple(notes), complete)


_BR_INFERRED = ("containerd for aws-k8s <= 1.32 is inferred: those variants list no containerd package, so they use the default containerd-1.7",
                "Kubernetes range inferred: lowest 1.28 (aws-k8s-1.27 variants were removed in 1.44.0), highest from the package lists")


def _bottlerocket(version: str, containerd: str, *, soci: str | None, refused: str | None = None,
                  unconfirmed: Sequence[str] = _BR_INFERRED, notes: Sequence[str] = ()) -> Release:
    return Release(OperatingSystem.BOTTLEROCKET, version, parse_ranges(containerd), True, False, soci, refused,
                   tuple(unconfirmed), tuple(notes))


_ROLLED_BACK = ("was rolled back: it shipped containerd 1.7.20, whose lost process-exit-event bug (containerd#10589, amazon-eks-ami#1933) "
                "makes containerd lose track of containers, and EKS returned to 1.7.11 in v20240828 (amazon-eks-ami#1937); "
                f"use {FIRST_AL2023_RELEASE} or later, the first stable AL2023 release with containerd >= 1.7.16")
_ABANDONED = "is marked [ABANDONED] in the amazon-eks-ami CHANGELOG, so it is not a supported release"
_PAUSE_DEADLOCK = ("ships containerd 2.2.3, which deadlocks pod sandbox creation under SOCI (any pull mode): the pause image is unpacked "
                   "through SOCI, which needs registry credentials that only running pods provide, so nodes never become Ready "
                   f"(amazon-eks-ami#2710); use {FIRST_AL2023_PAUSE_FIX} or later (containerd 2.2.4 and nodeadm's pause-image import)")
_NO_CHANGELOG = "tag without a CHANGELOG entry: containerd and Kubernetes versions UNCONFIRMED"

_AL2023_ROWS: tuple[Release, ...] = (
    # release      Kubernetes range=containerd (eks-nodes.md §2.2-§2.4)
    _al2023("v20240729", "1.23-1.30=1.7.11"),
    _al2023("v20240807", "?", refused=_ROLLED_BACK, unconfirmed=("no CHANGELOG entry: containerd 1.7.20 per amazon-eks-ami#1933; Kubernetes versions unknown",)),
    _al2023("v20240817", "1.23-1.30=1.7.20", refused=_ROLLED_BACK),
    _al2023("v20240828", "1.23-1.30=1.7.11"),
    _al2023("v20240928", "1.23-1.31=1.7.11"),
    _al2023("v20241011", "1.24-1.31=1.7.11"),
    _al2023("v20241016", "1.24-1.31=1.7.22"),
    _al2023("v20241115", "1.24-1.31=1.7.23"),
    _al2023("v20250203", "1.25-1.32=1.7.25"),
    _al2023("v20250403", "1.25-1.32=1.7.27"),
    _al2023("v20250813", "1.28-1.33=1.7.27"),
    _al2023("v20250915", "1.28-1.33=1.7.27 1.34=2.1.4"),
    _al2023("v20251016", "1.28-1.32=1.7.27 1.33-1.34=2.1.4"),
    _al2023("v20251023", "1.28-1.31=1.7.27 1.32-1.34=2.1.4"),
    _al2023("v20251108", "1.28-1.30=1.7.27 1.31-1.34=2.1.4"),
    _al2023("v20251112", "1.28=1.7.27", complete=False,
            unconfirmed=("only Kubernetes 1.28 is recorded (its last release, eks-nodes.md §2.3); other Kubernetes versions of this release are not in the notes",)),
    _al2023("v20251120", "1.29-1.30=1.7.29 1.31-1.34=2.1.4"),
    _al2023("v20251209", "1.29=1.7.29 1.30-1.34=2.1.5"),
    _al2023("v20260114", "1.29=1.7.29 1.30-1.35=2.1.5"),
    _al2023("v20260128", "?", refused=_ABANDONED),
    _al2023("v20260311", "?", refused=_ABANDONED),
    _al2023("v20260318", "1.29=1.7.29 1.30-1.35=2.2.1",
            notes=("containerd 2.2.1: 'path escapes from parent' for images whose /etc/passwd is an absolute symlink (amazon-eks-ami#2682, not SOCI-specific)",)),
    _al2023("v20260403", "1.30-1.35=2.2.1", notes=("containerd 2.2.1: amazon-eks-ami#2682",)),
    _al2023("v20260409", "1.30-1.35=2.2.1", notes=("containerd 2.2.1: amazon-eks-ami#2682",)),
    _al2023("v20260415", "1.30-1.35=2.2.1", notes=("containerd 2.2.1: amazon-eks-ami#2682",)),
    _al2023("v20260423", "1.30-1.35=2.2.1", notes=("containerd 2.2.1: amazon-eks-ami#2682",)),
    _al2023("v20260505", "1.30-1.35=2.2.3", refused=_PAUSE_DEADLOCK),
    _al2023("v20260512", "?", unconfirmed=(_NO_CHANGELOG + " (it does contain the nodeadm pause-image fix, #2717)",)),
    _al2023("v20260520", "?", unconfirmed=(_NO_CHANGELOG + " (amazon-eks-ami#2729 reports containerd 2.3, possibly a user build)",)),
    _al2023("v20260523", "?", unconfirmed=(_NO_CHANGELOG,)),
    _al2023("v20260527", "?", unconfirmed=(_NO_CHANGELOG,)),
    _al2023("v20260529", "?", unconfirmed=(_NO_CHANGELOG,)),
    _al2023("v20260610", "1.30-1.36=2.2.4"),
    _al2023("v20260618", "1.30-1.36=2.2.4"),
    _al2023("v20260625", "1.30-1.36=2.2.4"),
    _al2023("v20260707", "?", unconfirmed=(_NO_CHANGELOG,)),
    _al2023("v20260709", "?", unconfirmed=(_NO_CHANGELOG,)),
    _al2023("v20260714", "1.30-1.36=2.2.4"),
    _al2023("v20260724", "?", unconfirmed=(_NO_CHANGELOG,)),
    # add-release: al2023 (new rows go above this line)
)

_BOTTLEROCKET_ROWS: tuple[Release, ...] = (
    # version   Kubernetes range=containerd (eks-nodes.md §4.3)
    _bottlerocket("1.44.0", "1.28-1.32=1.7.27 1.33=2.0.5", soci="0.11.1"),
    _bottlerocket("1.50.0", "1.28-1.32=1.7.28 1.33=2.0.6 1.34=2.1.4", soci="0.11.1"),
    _bottlerocket("1.57.0", "1.28-1.32=1.7.30 1.33-1.35=2.1.6", soci="0.12.1",
                  unconfirmed=_BR_INFERRED + ("1.35 variant inferred from the table's '1.34+' column",)),
    # add-release: bottlerocket (new rows go above this line)
)


def _build(rows: Iterable[Release]) -> dict[tuple[OperatingSystem, str], Release]:
    out: dict[tuple[OperatingSystem, str], Release] = {}
    for r in sorted(rows, key=lambda r: (r.os.value, r.sort_key)):
        pattern = _AL2023_RE if r.os is OperatingSystem.AL2023 else re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
        if not pattern.match(r.version):
            raise ValueError(f"catalogue: {r.os.value} release {r.version!r} is malformed")
        if (r.os, r.version) in out:
            raise ValueError(f"catalogue: {r.os.value} release {r.version} is listed twice")
        out[(r.os, r.version)] = r
    return out


CATALOGUE: Mapping[tuple[OperatingSystem, str], Release] = _build(_AL2023_ROWS + _BOTTLEROCKET_ROWS)
"""``(os, release)`` -> :class:`Release`, sorted oldest first per OS."""


def releases(os: OperatingSystem) -> tuple[Release, ...]:
    """Every catalogued release of ``os``, oldest first."""
    return tuple(r for (o, _), r in CATALOGUE.items() if o is os)


def _normalise(os: OperatingSystem, release: str) -> str:
    if os is OperatingSystem.BOTTLEROCKET:
        m = _BOTTLEROCKET_RE.match(release)
        return m.group(1) if m else release
    return release


def lookup_release(os: OperatingSystem, release: str) -> Release | None:
    """The catalogued release (Bottlerocket accepts ``v1.44.0`` or ``1.44.0``), or None."""
    return CATALOGUE.get((os, _normalise(os, release)))


def usable_releases(os: OperatingSystem, k8s: str, *, soci_package: bool = False, fast_image_pull: bool = False) -> tuple[Release, ...]:
    """Catalogued releases that ship Kubernetes ``k8s`` and pass every release rule, oldest first."""
    out = []
    for r in releases(os):
        c = r.containerd_for(k8s)
        if r.refused or c is None or containerd_problem(c):
            continue
        if (soci_package and not r.soci_package) or (fast_image_pull and not r.fast_image_pull):
            continue
        out.append(r)
    return tuple(out)


def _suggest(spec: NodeGroupSpec) -> str:
    ok = usable_releases(spec.os, spec.kubernetes_version, soci_package=_needs_soci_package(spec),
                         fast_image_pull=spec.uses_fast_image_pull)
    if not ok:
        return f"no catalogued {spec.os.value} release ships Kubernetes {spec.kubernetes_version} with what this node group needs"
    return f"the newest catalogued {spec.os.value} release that fits Kubernetes {spec.kubernetes_version} and this node group is {ok[-1].version}"


def _needs_soci_package(spec: NodeGroupSpec) -> bool:
    return isinstance(spec.soci_source, AmiPackage)


# --------------------------------------------------------------------------------------------
# Architecture

_FAMILY_RE = re.compile(r"^([a-z]+)([0-9]+)([a-z0-9-]*)$")


def arch_of(instance_type: str) -> Arch:
    """CPU architecture of an EC2 instance type, from its family: Graviton (``a1``, and families whose
    generation digit is followed by ``g``: m7g, c7gn, r8g, t4g, x2gd, im4gn, is4gen, g5g, c6gd ...) is arm64;
    everything else is x86_64."""
    family = instance_type.split(".", 1)[0]
    if family == "a1":
        return Arch.ARM64
    m = _FAMILY_RE.match(family)
    return Arch.ARM64 if m and m.group(3).startswith("g") else Arch.X86_64


def arch_of_instance_types(instance_types: Sequence[str], path: str = "instanceTypes") -> Arch:
    """The one architecture of a node group's instance types; mixed architectures are a SpecError naming both types."""
    first = instance_types[0]
    arch = arch_of(first)
    for i, t in enumerate(instance_types[1:], start=1):
        other = arch_of(t)
        if other is not arch:
            raise SpecError(f"{path}[{i}]", f"'{t}' is {other.value} but '{first}' ({path}[0]) is {arch.value}; a node group runs one AMI, "
                                            "so all its instance types must share an architecture: split them into two node groups")
    return arch


def check_instance_sizes(spec: NodeGroupSpec, facts: Mapping[str, tuple[int, int]], path: str = "") -> None:
    """When the node group uses nodeadm's ``FastImagePull``, fail listing EVERY instance type below 4 vCPUs / 7 GiB.

    ``facts``: instance type -> (default vCPUs, memory MiB), as ``aws.ec2.get_instance_type`` returns them
    (``default_vcpus``, ``memory_size``). nodeadm silently ignores the gate on smaller instances, so the
    node would come up without SOCI. Other node groups are not checked. ``path`` prefixes the error path."""
    if not spec.uses_fast_image_pull:
        return
    missing = [t for t in spec.instance_types if t not in facts]
    if missing:
        raise ValueError(f"check_instance_sizes: no (vCPUs, memory MiB) for {', '.join(missing)}; look every instance type up first")
    small = []
    for i, t in enumerate(spec.instance_types):
        vcpus, mib = facts[t]
        if vcpus < FAST_IMAGE_PULL_MIN_VCPUS or mib < FAST_IMAGE_PULL_MIN_MEMORY_MIB:
            memory = f"{mib / 1024:g} GiB" if mib % 512 == 0 else f"{mib} MiB"
            small.append(f"{t} (instanceTypes[{i}]: {vcpus} vCPU, {memory})")
    if small:
        raise SpecError(f"{path}.instanceTypes" if path else "instanceTypes", f"pull mode 'parallel' with the AMI's SOCI uses nodeadm's FastImagePull, which silently does nothing on "
                                         f"instances with fewer than {FAST_IMAGE_PULL_MIN_VCPUS} vCPUs or less than 7 GiB of memory; too small: "
                                         f"{', '.join(small)}; use larger types (nodeadm recommends 2xlarge or larger), or an upstream SOCI "
                                         "release as sociSource (configured by this component, no size floor)")


def check_local_storage(spec: NodeGroupSpec, instance_store: Mapping[str, bool], path: str = "") -> None:
    """With ``localStorage: raid0``, fail listing EVERY instance type that has no instance store.

    ``instance_store``: instance type -> ``instance_storage_supported`` from ``aws.ec2.get_instance_type``.
    Without NVMe instance store nodeadm (or Bottlerocket's ``ephemeral-storage init``) has nothing to
    build the RAID from, and containerd and SOCI would silently stay on EBS."""
    if spec.local_storage is not LocalStorage.RAID0:
        return
    missing = [t for t in spec.instance_types if t not in instance_store]
    if missing:
        raise ValueError(f"check_local_storage: no instance-store fact for {', '.join(missing)}; look every instance type up first")
    without = [f"{t} (instanceTypes[{i}])" for i, t in enumerate(spec.instance_types) if not instance_store[t]]
    if without:
        raise SpecError(f"{path}.localStorage" if path else "localStorage", f"'raid0' puts containerd and SOCI on the instance-store NVMe, but these types have none: "
                                        f"{', '.join(without)}; use types with local NVMe (e.g. m6id, c6id, r6id, m7gd) or localStorage: none")


# --------------------------------------------------------------------------------------------
# SSM parameters


def ssm_parameter(os: OperatingSystem, kubernetes_version: str, arch: Arch, release: str, variant: str = "standard") -> str:
    """The release-pinned public SSM parameter holding the AMI ID (never ``recommended``/``latest``).

    AL2023: ``/aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/<arch>/<variant>/amazon-eks-node-al2023-<arch>-<variant>-<k8s>-<vYYYYMMDD>/image_id``
    (variants standard/nvidia/neuron on x86_64, standard/nvidia on arm64).
    Bottlerocket: ``/aws/service/bottlerocket/aws-k8s-<k8s>[-nvidia]/<arch>/<version without v>/image_id``."""
    if not re.match(r"^1\.[0-9]{2}$", kubernetes_version or ""):
        raise SpecError("kubernetesVersion", f"{kubernetes_version!r}: expected a Kubernetes minor version such as '1.33'")
    if variant not in _VARIANTS[os]:
        raise SpecError("ami.variant", f"{variant!r} is not a {os.value} variant; expected {' or '.join(repr(v) for v in _VARIANTS[os])}")
    if os is OperatingSystem.AL2023:
        if not _AL2023_RE.match(release):
            raise SpecError("ami.release", f"{release!r} is not an AL2023 release; expected 'vYYYYMMDD', e.g. 'v20260714' (never 'latest'/'recommended')")
        if variant == "neuron" and arch is not Arch.X86_64:
            raise SpecError("ami.variant", "the AL2023 'neuron' variant exists only for x86_64 (Inferentia/Trainium instances); "
                                           "these instance types are arm64: use 'standard' or 'nvidia', or x86_64 instance types")
        a = arch.value
        return (f"/aws/service/eks/optimized-ami/{kubernetes_version}/amazon-linux-2023/{a}/{variant}/"
                f"amazon-eks-node-al2023-{a}-{variant}-{kubernetes_version}-{release}/image_id")
    m = _BOTTLEROCKET_RE.match(release)
    if not m:
        raise SpecError("ami.release", f"{release!r} is not a Bottlerocket version; expected '1.x.y', e.g. '1.50.0' (never 'latest')")
    suffix = "-nvidia" if variant == "nvidia" else ""
    return f"/aws/service/bottlerocket/aws-k8s-{kubernetes_version}{suffix}/{arch.value}/{m.group(1)}/image_id"


# --------------------------------------------------------------------------------------------
# Rules


def refuse_al2(path: str = "os") -> NoReturn:
    """Raise the AL2 refusal; the config parser calls this when it sees ``os: al2`` (the OS enum has no AL2)."""
    raise SpecError(path, "'al2' is end of life: Amazon EKS stopped publishing EKS-optimized Amazon Linux 2 AMIs on November 26, 2025 "
                          "(Kubernetes 1.32 was the last version with AL2 AMIs, and they get no updates), and AL2 boots with bootstrap.sh, "
                          "not nodeadm; use 'al2023' (or 'bottlerocket' for parallel pull)")


def _prefixed(path: str, e: SpecError) -> SpecError:
    return SpecError(f"{path}.{e.path}" if path and e.path else path or e.path, e.message)


def resolve_profile(spec: NodeGroupSpec, path: str = "") -> NodeProfile:
    """Validate the node group's AMI choice against the catalogue and return what its nodes run.

    Raises SpecError(path, message) with the path relative to the node group (``ami.release``,
    ``kubernetesVersion``, ``pullMode``, ``sociSource``, ``instanceTypes[2]`` ...), prefixed with
    ``path`` (e.g. ``nodeGroups[0]``) when given."""
    try:
        return _resolve(spec)
    except SpecError as e:
        if not path:
            raise
        raise _prefixed(path, e) from None


def _resolve(spec: NodeGroupSpec) -> NodeProfile:
    arch = arch_of_instance_types(spec.instance_types)
    if spec.ami.ami_id is not None:
        return _resolve_raw(spec, arch)
    assert spec.ami.release is not None
    os, k8s, given = spec.os, spec.kubernetes_version, spec.ami.release
    name = "AL2023 release" if os is OperatingSystem.AL2023 else "Bottlerocket"
    _check_release_format(os, given)
    version = _normalise(os, given)
    release = CATALOGUE.get((os, version))

    if os is OperatingSystem.BOTTLEROCKET and parse_version(version) < parse_version(FIRST_BOTTLEROCKET_SOCI):
        raise SpecError("ami.release", f"Bottlerocket {version} has no SOCI snapshotter (added in {FIRST_BOTTLEROCKET_SOCI}); "
                                       f"use {FIRST_BOTTLEROCKET_SOCI} or later; {_suggest(spec)}")
    if release is None:
        _refuse_unknown(spec, version)
    assert release is not None
    if release.refused:
        raise SpecError("ami.release", f"{name} {version} {release.refused}; {_suggest(spec)}")
    if release.ranges is None:
        raise SpecError("ami.release", f"{name} {version} is refused: its containerd version is UNCONFIRMED ({'; '.join(release.unconfirmed)}), and the "
                                       "containerd config schema and the >= 1.7.16 rule depend on it; use a confirmed release "
                                       f"({_suggest(spec)}), or pin the image as ami.amiId with ami.containerdVersion stated")
    containerd = release.containerd_for(k8s)
    if containerd is None:
        recorded = "" if release.complete else " (only these are recorded; if it ships more, add them: " + _ADD_HINT + ")"
        raise SpecError("kubernetesVersion", f"{k8s} is not shipped by {name} {version}, which ships Kubernetes {release.kubernetes}{recorded}; "
                                             f"pick one of those, or another release: {_suggest(spec)}")
    problem = containerd_problem(containerd)
    if problem:
        raise SpecError("ami.release", f"{name} {version} ships containerd {_v(containerd)} for Kubernetes {k8s}, which {problem}"
                                       f"{'; use ' + FIRST_AL2023_RELEASE + ' or later' if os is OperatingSystem.AL2023 else ''}; {_suggest(spec)}")
    _check_features(spec, version, release.fast_image_pull, release.soci_package)
    if os is OperatingSystem.AL2023 and spec.ami.variant == "nvidia" and arch is Arch.ARM64 and version < FIRST_AL2023_ARM64_NVIDIA:
        raise SpecError("ami.variant", f"AL2023 release {version} has no arm64 'nvidia' AMI (first in {FIRST_AL2023_ARM64_NVIDIA}); "
                                       f"use {FIRST_AL2023_ARM64_NVIDIA} or later, or x86_64 instance types")
    parameter = ssm_parameter(os, k8s, arch, version, spec.ami.variant)
    unconfirmed = list(release.unconfirmed)
    if os is OperatingSystem.AL2023 and _needs_soci_package(spec):
        unconfirmed.append("version of the AMI's soci-snapshotter package is not recorded (eks-nodes.md §4.2)")
    return NodeProfile(os=os, kubernetes_version=k8s, arch=arch, containerd_version=containerd, release=version, variant=spec.ami.variant,
                       ssm_parameter=parameter, ami_id=None, soci_package=release.soci_package, fast_image_pull=release.fast_image_pull,
                       unconfirmed=tuple(unconfirmed))


def _check_release_format(os: OperatingSystem, release: str) -> None:
    if os is OperatingSystem.AL2023 and not _AL2023_RE.match(release):
        raise SpecError("ami.release", f"{release!r} looks like a Bottlerocket version, but os is 'al2023'; AL2023 releases look like 'v20260714' "
                                       "(or set os: bottlerocket)")
    if os is OperatingSystem.BOTTLEROCKET and not _BOTTLEROCKET_RE.match(release):
        raise SpecError("ami.release", f"{release!r} looks like an AL2023 release, but os is 'bottlerocket'; Bottlerocket versions look like '1.50.0' "
                                       "(or set os: al2023)")


def _check_features(spec: NodeGroupSpec, version: str, fast_image_pull: bool, soci_package: bool) -> None:
    if spec.uses_fast_image_pull and not fast_image_pull:
        raise SpecError("pullMode", f"'parallel' with sociSource 'ami' uses nodeadm's FastImagePull, which AL2023 release {version} does not have "
                                    f"(first in {FIRST_AL2023_FAST_IMAGE_PULL}; older nodeadm ignores the gate without a message); use "
                                    f"{FIRST_AL2023_FAST_IMAGE_PULL} or later, or an upstream SOCI release as sociSource; {_suggest(spec)}")
    if spec.os is OperatingSystem.AL2023 and _needs_soci_package(spec) and not soci_package:
        raise SpecError("sociSource", f"'ami' uses the image's soci-snapshotter package, which AL2023 release {version} does not ship (first in "
                                      f"{FIRST_AL2023_FAST_IMAGE_PULL}); use {FIRST_AL2023_FAST_IMAGE_PULL} or later, or an upstream SOCI release "
                                      f"as sociSource; {_suggest(spec)}")


def _refuse_unknown(spec: NodeGroupSpec, version: str) -> NoReturn:
    """An uncatalogued release: refuse by the floors it is below, else say how to add it."""
    if spec.os is OperatingSystem.AL2023:
        if version < FIRST_AL2023_RELEASE:
            raise SpecError("ami.release", f"AL2023 release {version} predates {FIRST_AL2023_RELEASE}, the first stable AL2023 release with containerd "
                                           ">= 1.7.16 (older containerd does not enforce ephemeral-storage limits or run image garbage collection "
                                           f"with a proxy snapshotter, containerd#10095); use {FIRST_AL2023_RELEASE} or later; {_suggest(spec)}")
        _check_features(spec, version, version >= FIRST_AL2023_FAST_IMAGE_PULL, version >= FIRST_AL2023_FAST_IMAGE_PULL)
        where = "the 'AMI Details' tables of https://github.com/awslabs/amazon-eks-ami/blob/main/CHANGELOG.md"
    else:
        where = "the release's package lists on bottlerocket.dev and the Bottlerocket CHANGELOG"
    name = "AL2023 release" if spec.os is OperatingSystem.AL2023 else "Bottlerocket"
    raise SpecError("ami.release", f"{name} {version} is not in the AMI catalogue (soci_component/ami.py), so its containerd version is unknown; "
                                   f"pin a catalogued release ({_suggest(spec)}), or add this one with its containerd version per Kubernetes "
                                   f"version from {where}: {_ADD_HINT}")


_RAW_UNCONFIRMED = ("raw AMI: containerd version as stated in ami.containerdVersion; its Kubernetes version, soci-snapshotter "
                    "package and FastImagePull support are not checked (assumed absent)")


def _resolve_raw(spec: NodeGroupSpec, arch: Arch) -> NodeProfile:
    """A raw AMI ID: no catalogue; the stated containerd gets the same rules; image features are assumed absent."""
    assert spec.ami.ami_id is not None and spec.ami.containerd_version is not None
    containerd = parse_version(spec.ami.containerd_version)
    problem = containerd_problem(containerd)
    if problem:
        raise SpecError("ami.containerdVersion", f"containerd {_v(containerd)} (stated for AMI {spec.ami.ami_id}) {problem}; use an AMI with a newer containerd, "
                                                 f"or pin an AL2023 release ({FIRST_AL2023_RELEASE} or later)")
    if spec.os is OperatingSystem.BOTTLEROCKET:
        raise SpecError("ami.amiId", f"a raw Bottlerocket AMI ({spec.ami.ami_id}) cannot be checked for SOCI (Bottlerocket >= {FIRST_BOTTLEROCKET_SOCI}), "
                                     "and Bottlerocket can only use the SOCI it ships; pin a Bottlerocket release such as "
                                     f"'{releases(OperatingSystem.BOTTLEROCKET)[-1].version}' as ami.release instead")
    if _needs_soci_package(spec):
        raise SpecError("sociSource", f"'ami' needs the image's soci-snapshotter package{' and nodeadm FastImagePull' if spec.pull_mode is PullMode.PARALLEL else ''}, "
                                      f"which a raw ami.amiId ({spec.ami.ami_id}) cannot be confirmed to have; use an upstream SOCI release as sociSource "
                                      f"(installed and configured by this component), or pin a catalogued AL2023 release "
                                      f"({FIRST_AL2023_FAST_IMAGE_PULL} or later) as ami.release")
    return NodeProfile(os=spec.os, kubernetes_version=spec.kubernetes_version, arch=arch, containerd_version=containerd, release=None,
                       variant=spec.ami.variant, ssm_parameter=None, ami_id=spec.ami.ami_id, soci_package=False, fast_image_pull=False,
                       unconfirmed=(_RAW_UNCONFIRMED,))


# --------------------------------------------------------------------------------------------
# Command line: list the catalogue, add a release


def _row(os: OperatingSystem, release: str, containerd: str, soci: str | None, unconfirmed: Sequence[str]) -> str:
    args = [f'"{release}"', f'"{containerd}"']
    if os is OperatingSystem.BOTTLEROCKET:
        args.append(f'soci="{soci}"' if soci else "soci=None")
        args.append(f"unconfirmed={tuple(unconfirmed)!r}")
    elif unconfirmed:
        args.append(f"unconfirmed={tuple(unconfirmed)!r}")
    helper = "_al2023" if os is OperatingSystem.AL2023 else "_bottlerocket"
    return f"    {helper}({', '.join(args)}),"


def _marker(os: OperatingSystem) -> str:
    return f"    # add-release: {os.value} (new rows go above this line)"


def add_release(os: OperatingSystem, release: str, containerd: str, *, soci: str | None = None,
                unconfirmed: Sequence[str] = (), file: Path | None = None) -> str:
    """Validate a new catalogue row and return its source line; with ``file``, insert it there (above the OS's marker).

    Raises ValueError with what is wrong."""
    release = _normalise(os, release)
    if os is OperatingSystem.AL2023:
        if not _AL2023_RE.match(release):
            raise ValueError(f"{release!r}: AL2023 releases look like 'v20260714'")
        try:
            datetime.strptime(release[1:], "%Y%m%d")
        except ValueError:
            raise ValueError(f"{release!r}: not a date (vYYYYMMDD)") from None
        if soci is not None:
            raise ValueError("--soci-version is recorded for Bottlerocket only (the AL2023 package version is not published)")
    else:
        if not re.match(r"^[0-9]+\.[0-9]+\.[0-9]+$", release):
            raise ValueError(f"{release!r}: Bottlerocket versions look like '1.58.0'")
        if soci is not None:
            parse_version(soci)
    ranges = parse_ranges(containerd)
    containerd = "?" if ranges is None else " ".join(str(r) for r in ranges)
    if ranges is None and not unconfirmed:
        unconfirmed = (_NO_CHANGELOG,)
    text = file.read_text() if file is not None else None
    helper = "_al2023" if os is OperatingSystem.AL2023 else "_bottlerocket"
    if text is not None:
        present = re.search(rf'{helper}\("{re.escape(release)}"', text) is not None
    else:
        present = lookup_release(os, release) is not None
    if present:
        raise ValueError(f"{os.value} release {release} is already in the catalogue")
    line = _row(os, release, containerd, soci, unconfirmed)
    if file is not None and text is not None:
        marker = _marker(os)
        if text.count(marker + "\n") != 1:
            raise ValueError(f"{file}: the marker line {marker.strip()!r} must appear exactly once")
        file.write_text(text.replace(marker + "\n", line + "\n" + marker + "\n"))
    return line


def _print_catalogue(out: TextIO | None = None) -> None:
    out = out or sys.stdout
    for r in CATALOGUE.values():
        flags = [f for f, on in (("soci-package", r.soci_package), ("fast-image-pull", r.fast_image_pull)) if on]
        if r.soci_version:
            flags.append(f"soci {r.soci_version}")
        line = f"{r.os.value:12} {r.version:10} {r.containerd_spec:42} {' '.join(flags)}"
        if r.refused:
            line += "  REFUSED"
        if r.ranges is None:
            line += "  UNCONFIRMED"
        print(line.rstrip(), file=out)


def main(argv: Sequence[str] | None = None) -> int:
    """``list`` the catalogue, or ``add-release`` (print the new row; ``--write`` inserts it into ami.py)."""
    p = argparse.ArgumentParser(prog="python -m soci_component.ami", description="EKS AMI release catalogue")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print every catalogued release")
    a = sub.add_parser("add-release", help="validate a new release row; print it, or insert it with --write")
    a.add_argument("--os", required=True, choices=[o.value for o in OperatingSystem])
    a.add_argument("--release", required=True, help="AL2023 vYYYYMMDD or Bottlerocket 1.x.y")
    a.add_argument("--containerd", required=True,
                   help="Kubernetes range=containerd per group, space-separated, e.g. '1.29=1.7.29 1.30-1.36=2.2.4'; '?' if unconfirmed")
    a.add_argument("--soci-version", help="Bottlerocket only: the soci-snapshotter package version")
    a.add_argument("--unconfirmed", action="append", default=[], help="a fact the sources could not confirm (repeatable)")
    a.add_argument("--write", action="store_true", help="insert the row into the catalogue file")
    a.add_argument("--file", type=Path, default=Path(__file__), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.command == "list":
        _print_catalogue()
        return 0
    try:
        line = add_release(OperatingSystem(args.os), args.release, args.containerd, soci=args.soci_version,
                           unconfirmed=args.unconfirmed, file=args.file if args.write else None)
    except ValueError as e:
        print(f"add-release: {e}", file=sys.stderr)
        return 2
    print(line)
    print(("inserted into " + str(args.file)) if args.write else "(dry run: add --write to insert it)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
