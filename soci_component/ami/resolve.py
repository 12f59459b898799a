"""Resolve a node group's AMI pin to a :class:`NodeProfile`: catalogue lookups and the SSM parameter.

Only what can be *looked up* fails here (an uncatalogued release, a Kubernetes version or AMI type
the release does not publish, an unconfirmed containerd version). Whether the node group may run on
what was found (containerd floor, refused releases, gates, SOCI package) is decided by
:mod:`soci_component.rules`, which also adds a suggestion to these errors.
"""

from __future__ import annotations

from ..errors import SpecError
from ..spec import AL2023_RELEASE_RE, BOTTLEROCKET_RELEASE_RE, Arch, NodeSpec, OperatingSystem, Variant, parse_version
from .catalogue import Catalogue, Release, catalogue
from .nodeadm import NodeadmContainerd
from .profile import NodeProfile

__all__ = ["RAW_UNCONFIRMED", "ami_type", "normalise", "resolve", "ssm_parameter"]

RAW_UNCONFIRMED = ("raw AMI: containerd version as stated in ami.containerdVersion; its Kubernetes version, soci-snapshotter "
                   "package and nodeadm gate are not checked (assumed absent)")
ADD_HINT = "see the README section 'Adding a release the sources do not document yet' (python -m tools.catalogue sync / add, in a soci-eks checkout)"


def normalise(os: OperatingSystem, release: str) -> str:
    """Bottlerocket accepts ``v1.57.0`` or ``1.57.0``; the catalogue spells it ``1.57.0``."""
    if os is OperatingSystem.BOTTLEROCKET:
        m = BOTTLEROCKET_RELEASE_RE.fullmatch(release)
        return m.group(1) if m else release
    return release


def ami_type(os: OperatingSystem, arch: Arch, variant: Variant, k8s: str) -> str:
    """AL2023 AMI type (``AL2023_ARM_64_NVIDIA``) or Bottlerocket variant (``aws-k8s-1.33-nvidia``)."""
    if os is OperatingSystem.AL2023:
        return f"AL2023_{'x86_64' if arch is Arch.X86_64 else 'ARM_64'}_{variant.value.upper()}"
    return f"aws-k8s-{k8s}" + ("-nvidia" if variant is Variant.NVIDIA else "")


def ssm_parameter(os: OperatingSystem, k8s: str, arch: Arch, release: str, variant: Variant = Variant.STANDARD) -> str:
    """The release-pinned public SSM parameter holding the AMI ID (never ``recommended``/``latest``).

    AL2023: ``/aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/<arch>/<variant>/amazon-eks-node-al2023-<arch>-<variant>-<k8s>-<vYYYYMMDD>/image_id``.
    Bottlerocket: ``/aws/service/bottlerocket/aws-k8s-<k8s>[-nvidia]/<arch>/<version without v>/image_id``."""
    if os is OperatingSystem.AL2023:
        a = arch.value
        return f"/aws/service/eks/optimized-ami/{k8s}/amazon-linux-2023/{a}/{variant.value}/amazon-eks-node-al2023-{a}-{variant.value}-{k8s}-{release}/image_id"
    return f"/aws/service/bottlerocket/{ami_type(os, arch, variant, k8s)}/{arch.value}/{normalise(os, release)}/image_id"


def _name(os: OperatingSystem) -> str:
    return "AL2023 release" if os is OperatingSystem.AL2023 else "Bottlerocket"


def resolve(spec: NodeSpec, cat: Catalogue | None = None) -> NodeProfile:
    """The profile of the spec's AMI. Raises SpecError (path relative to the node group) when a fact cannot be looked up."""
    cat = cat or catalogue()
    arch = spec.arch
    if spec.ami.ami_id is not None:
        assert spec.ami.containerd_version is not None
        return NodeProfile(os=spec.os, kubernetes_version=spec.kubernetes_version, arch=arch, containerd_version=parse_version(spec.ami.containerd_version),
                           release=None, variant=spec.ami.variant, ami_id=spec.ami.ami_id, containerd_config=_newest_containerd_config(cat, spec.os),
                           nodeadm_known=False, unconfirmed=(RAW_UNCONFIRMED,))
    assert spec.ami.release is not None
    os, k8s = spec.os, spec.kubernetes_version
    given = spec.ami.release
    if os is OperatingSystem.AL2023 and not AL2023_RELEASE_RE.fullmatch(given):
        raise SpecError("ami.release", f"{given!r} looks like a Bottlerocket version, but os is 'al2023'; AL2023 releases look like 'v20260714' (or set os: bottlerocket)")
    if os is OperatingSystem.BOTTLEROCKET and not BOTTLEROCKET_RELEASE_RE.fullmatch(given):
        raise SpecError("ami.release", f"{given!r} looks like an AL2023 release, but os is 'bottlerocket'; Bottlerocket versions look like '1.57.0' (or set os: al2023)")
    version = normalise(os, given)
    release = cat.get(os, version)
    if release is None:
        raise _unknown(cat, os, version)
    if release.builds is None:
        if release.refused:
            raise SpecError("ami.release", f"{_name(os)} {version} {release.refused}")
        raise SpecError("ami.release", f"{_name(os)} {version} is refused: its containerd version is UNCONFIRMED ({'; '.join(release.unconfirmed)}), and the "
                                       "containerd config schema and the >= 1.7.16 rule depend on it; use a confirmed release, or pin the image as "
                                       "ami.amiId with ami.containerdVersion stated")
    build = release.builds.get(k8s)
    if build is None:
        raise SpecError("kubernetesVersion", f"{k8s} is not shipped by {_name(os)} {version}, which ships Kubernetes {release.kubernetes}")
    kind = ami_type(os, arch, spec.ami.variant, k8s)
    if build.ami_types and kind not in build.ami_types:
        have = ", ".join(build.ami_types)
        raise SpecError("ami.variant", f"{_name(os)} {version} publishes no {spec.ami.variant.value} AMI for {arch.value} and Kubernetes {k8s} "
                                       f"(it has {have}); use another variant, release or instance architecture")
    odd = build.ami_names.get(kind)
    if odd is not None:
        raise SpecError("ami.variant", f"{_name(os)} {version}'s {kind} AMI for Kubernetes {k8s} is named {odd!r}, not by the standard pattern the "
                                       "release-pinned SSM parameters follow, so its parameter cannot be derived; use a later release, or pin it as "
                                       "ami.amiId with ami.containerdVersion")
    return NodeProfile(
        os=os, kubernetes_version=k8s, arch=arch, containerd_version=build.containerd_for(kind), release=version, variant=spec.ami.variant,
        ami_type=kind, ssm_parameter=ssm_parameter(os, k8s, arch, version, spec.ami.variant), soci_package=release.soci_package,
        soci_version=release.soci_version, feature_gate=release.feature_gate, size_floor=release.size_floor, pause_import=release.pause_import,
        soci_on_instance_store=release.soci_on_instance_store, containerd_config=release.containerd_config or _newest_containerd_config(cat, os),
        nodeadm_known=release.nodeadm_known, refused=release.refused,
        abandoned=release.abandoned, notes=release.notes, unconfirmed=release.unconfirmed, sources=dict(release.sources),
    )


def _newest_containerd_config(cat: Catalogue, os: OperatingSystem) -> NodeadmContainerd | None:
    """For a raw AMI or a release whose nodeadm was not read: the newest catalogued release's nodeadm containerd facts."""
    if os is not OperatingSystem.AL2023:
        return None
    return next((r.containerd_config for r in reversed(cat.of(os)) if r.containerd_config is not None), None)


def _unknown(cat: Catalogue, os: OperatingSystem, version: str) -> SpecError:
    known: tuple[Release, ...] = cat.of(os)
    first = known[0].version if known else None
    if first is not None and _key(os, version) < known[0].sort_key:
        return SpecError("ami.release", f"{_name(os)} {version} predates the catalogue (its oldest release is {first}); "
                                        "older releases ship containerd below 1.7.16 or no SOCI")
    where = ("the 'AMI Details' tables of https://github.com/awslabs/amazon-eks-ami/blob/main/CHANGELOG.md" if os is OperatingSystem.AL2023
             else "the release's package lists (bottlerocket-os/bottlerocket and bottlerocket-core-kit at the release tag)")
    return SpecError("ami.release", f"{_name(os)} {version} is not in the AMI catalogue, so its containerd version is unknown; pin a catalogued "
                                    f"release, or add this one with its containerd version per Kubernetes version from {where}: {ADD_HINT}")


def _key(os: OperatingSystem, version: str) -> tuple[int, ...]:
    return (int(version[1:]),) if os is OperatingSystem.AL2023 else parse_version(version)
