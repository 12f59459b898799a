"""Catalogue rules: which containerd SOCI can run on, which releases are refused, resolution with a suggestion. Pure."""

from __future__ import annotations

from typing import NoReturn

from .. import ami
from ..ami import NodeProfile
from ..ami.catalogue import Release
from ..errors import SpecError, at
from ..spec import (
    AmiPackage,
    NodeSpec,
    OperatingSystem,
    Version,
)

AL2_END_OF_LIFE = "2025-11-26"
"""Amazon EKS stopped publishing EKS-optimized AL2 AMIs on this date."""
FIRST_AL2023_SOCI = "v20250813"
"""First AL2023 release with the soci-snapshotter package and a nodeadm parallel-pull gate (amazon-eks-ami#2352)."""

_MIN_17: Version = (1, 7, 16)
_MIN_16: Version = (1, 6, 32)


def containerd_problem(version: Version) -> str | None:
    """Why SOCI cannot run on this containerd (a phrase to follow "containerd X.Y.Z ..."), or None:
    >= 1.7.16, 1.6.x >= 1.6.32, or 2.x. Below that containerd neither enforces ephemeral-storage limits
    nor garbage-collects images with a proxy snapshotter (containerd#10095, fixed in 1.7.16 and 1.6.32)."""
    why = ("does not enforce ephemeral-storage limits or run image garbage collection with a proxy snapshotter "
           "(containerd#10095, fixed in 1.7.16 and 1.6.32)")
    if version[0] >= 2 or (version[0] == 1 and version[1] >= 8):
        return None
    if version[:2] == (1, 7):
        return None if version >= _MIN_17 else f"{why}; SOCI needs containerd >= 1.7.16"
    if version[:2] == (1, 6):
        return None if version >= _MIN_16 else f"{why}; SOCI needs containerd >= 1.6.32 on the 1.6 line, or >= 1.7.16"
    return "predates the proxy-snapshotter fixes SOCI needs (containerd#10095); SOCI needs containerd >= 1.7.16 (or 1.6.32+, or 2.x)"


def refuse_al2(path: str = "os") -> NoReturn:
    """Raise the AL2 refusal (the OS enum has no AL2; the config reader calls this for ``os: al2``)."""
    raise SpecError(path, "'al2' is end of life: Amazon EKS stopped publishing EKS-optimized Amazon Linux 2 AMIs on November 26, 2025 "
                          "(Kubernetes 1.32 was the last version with AL2 AMIs, and they get no updates), and AL2 boots with bootstrap.sh, "
                          "not nodeadm; use 'al2023' (or 'bottlerocket' for parallel pull)")


def _release_problem(r: Release, k8s: str) -> str | None:
    if r.refused or r.abandoned or r.builds is None:
        return "refused"
    c = r.containerd_for(k8s)
    return "not shipped" if c is None else containerd_problem(c)


def usable_releases(spec: NodeSpec) -> tuple[Release, ...]:
    """Catalogued releases of the spec's OS that ship its Kubernetes version and pass every release rule for it, oldest first."""
    out = []
    for r in ami.catalogue().of(spec.os):
        if _release_problem(r, spec.kubernetes_version):
            continue
        if spec.os is OperatingSystem.AL2023 and isinstance(spec.soci_source, AmiPackage) and not r.soci_package:
            continue
        if spec.uses_fast_image_pull and r.feature_gate is None:
            continue
        out.append(r)
    return tuple(out)


def suggestion(spec: NodeSpec) -> str:
    ok = usable_releases(spec)
    if not ok:
        return f"no catalogued {spec.os.value} release ships Kubernetes {spec.kubernetes_version} with what this node group needs"
    return f"the newest catalogued {spec.os.value} release that fits Kubernetes {spec.kubernetes_version} and this node group is {ok[-1].version}"


def profile(spec: NodeSpec, path: str = "") -> NodeProfile:
    """Resolve the spec's AMI (``ami.resolve``), adding a suggestion to a failed lookup. The node-group rules
    against the profile are :func:`check_node_group` (:func:`soci_component.pipeline.plan_node` applies both)."""
    with at(path):
        try:
            return ami.resolve(spec)
        except SpecError as e:
            raise SpecError(e.path, f"{e.message}; {suggestion(spec)}") from None


def release_name(p: NodeProfile) -> str:
    if p.release is None:
        return f"AMI {p.ami_id}"
    return f"AL2023 release {p.release}" if p.os is OperatingSystem.AL2023 else f"Bottlerocket {p.release}"
