"""AMI catalogue and pinning rules: table-driven, every rule with passing and failing cases."""

from __future__ import annotations

import ast
import importlib.util
import os as os_mod
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from soci_component import ami
from soci_component.ami import (
    CATALOGUE,
    arch_of,
    arch_of_instance_types,
    check_instance_sizes,
    containerd_problem,
    lookup_release,
    parse_ranges,
    refuse_al2,
    releases,
    resolve_profile,
    ssm_parameter,
)
from soci_component.render.containerd import schema_version
from soci_component.spec import (
    AmiPin,
    Arch,
    CriProxy,
    LocalStorage,
    NodeGroupSpec,
    OperatingSystem,
    PullMode,
    SpecError,
    UpstreamRelease,
)

REPO = Path(__file__).resolve().parent.parent
AL2023 = OperatingSystem.AL2023
BR = OperatingSystem.BOTTLEROCKET
X86, ARM = Arch.X86_64, Arch.ARM64
RAW_ID = "ami-0123456789abcdef0"

# Keyword presets. Defaults: AL2023, lazy, SOCI from the AMI's package, ECR credential helper.
UP: dict[str, Any] = {"soci_source": UpstreamRelease()}
FIP: dict[str, Any] = {"pull_mode": PullMode.PARALLEL, "credentials": (CriProxy(),)}  # AL2023 parallel via nodeadm FastImagePull
PAR_UP: dict[str, Any] = {"pull_mode": PullMode.PARALLEL, "soci_source": UpstreamRelease()}
FALLBACK_UP: dict[str, Any] = {"pull_mode": PullMode.LAZY_WITH_PARALLEL_FALLBACK, "soci_source": UpstreamRelease()}
BOTTLE: dict[str, Any] = {"os": BR, "pull_mode": PullMode.PARALLEL, "credentials": (CriProxy(),)}


def ng(release: str | None = "v20260714", k8s: str = "1.33", types: tuple[str, ...] = ("m7i.xlarge",), variant: str = "standard",
       raw: str | None = None, **kw: Any) -> NodeGroupSpec:
    pin = AmiPin(ami_id=RAW_ID, containerd_version=raw, variant=variant) if raw else AmiPin(release=release, variant=variant)
    return NodeGroupSpec(name="ng", kubernetes_version=k8s, ami=pin, instance_types=types, **kw)


def refused(spec: NodeGroupSpec) -> SpecError:
    with pytest.raises(SpecError) as e:
        resolve_profile(spec)
    return e.value


# ---------------------------------------------------------------------------------------------
# resolve_profile: accepted

ACCEPTED = [
    # id, spec, (release, containerd, soci_package, fast_image_pull, arch)
    ("first-good-al2023", ng("v20241016", "1.31", **UP), ("v20241016", (1, 7, 22), False, False, X86)),
    ("first-good-al2023-k8s-1.24", ng("v20241016", "1.24", **UP), ("v20241016", (1, 7, 22), False, False, X86)),
    ("pre-fip-release-parallel-upstream", ng("v20250403", "1.32", **PAR_UP), ("v20250403", (1, 7, 27), False, False, X86)),
    ("first-fip-release-parallel", ng("v20250813", "1.33", **FIP), ("v20250813", (1, 7, 27), True, True, X86)),
    ("first-fip-release-lazy-ami-package", ng("v20250813", "1.28"), ("v20250813", (1, 7, 27), True, True, X86)),
    ("v20250915-1.34-first-2x", ng("v20250915", "1.34"), ("v20250915", (2, 1, 4), True, True, X86)),
    ("v20251108-1.28", ng("v20251108", "1.28"), ("v20251108", (1, 7, 27), True, True, X86)),
    ("v20251108-1.30", ng("v20251108", "1.30"), ("v20251108", (1, 7, 27), True, True, X86)),
    ("v20251108-1.31", ng("v20251108", "1.31"), ("v20251108", (2, 1, 4), True, True, X86)),
    ("v20251108-1.34", ng("v20251108", "1.34"), ("v20251108", (2, 1, 4), True, True, X86)),
    ("v20251112-1.28-last", ng("v20251112", "1.28"), ("v20251112", (1, 7, 27), True, True, X86)),
    ("v20251209-1.29", ng("v20251209", "1.29"), ("v20251209", (1, 7, 29), True, True, X86)),
    ("v20251209-1.30", ng("v20251209", "1.30"), ("v20251209", (2, 1, 5), True, True, X86)),
    ("v20260318-1.29-last", ng("v20260318", "1.29", **FIP), ("v20260318", (1, 7, 29), True, True, X86)),
    ("v20260318-1.35", ng("v20260318", "1.35"), ("v20260318", (2, 2, 1), True, True, X86)),
    ("v20260610-1.36", ng("v20260610", "1.36", **FIP), ("v20260610", (2, 2, 4), True, True, X86)),
    ("v20260714-lazy-ami", ng("v20260714", "1.33"), ("v20260714", (2, 2, 4), True, True, X86)),
    ("v20260714-fallback-upstream", ng("v20260714", "1.33", **FALLBACK_UP), ("v20260714", (2, 2, 4), True, True, X86)),
    ("v20260714-arm64", ng("v20260714", "1.33", types=("m7g.xlarge", "c7gn.2xlarge")), ("v20260714", (2, 2, 4), True, True, ARM)),
    ("arm64-nvidia-from-v20250403", ng("v20250403", "1.32", types=("g5g.xlarge",), variant="nvidia", **UP), ("v20250403", (1, 7, 27), False, False, ARM)),
    ("neuron-x86", ng("v20260714", "1.33", types=("inf2.xlarge", "trn1.2xlarge"), variant="neuron"), ("v20260714", (2, 2, 4), True, True, X86)),
    ("bottlerocket-1.44.0-1.28", ng("1.44.0", "1.28", **BOTTLE), ("1.44.0", (1, 7, 27), True, False, X86)),
    ("bottlerocket-1.44.0-1.33", ng("1.44.0", "1.33", **BOTTLE), ("1.44.0", (2, 0, 5), True, False, X86)),
    ("bottlerocket-v-prefix-1.50.0-1.34", ng("v1.50.0", "1.34", **BOTTLE), ("1.50.0", (2, 1, 4), True, False, X86)),
    ("bottlerocket-1.57.0-1.32", ng("1.57.0", "1.32", **BOTTLE), ("1.57.0", (1, 7, 30), True, False, X86)),
    ("bottlerocket-1.57.0-1.35-arm64-nvidia", ng("1.57.0", "1.35", types=("g5g.2xlarge",), variant="nvidia", **BOTTLE),
     ("1.57.0", (2, 1, 6), True, False, ARM)),
    ("raw-ami-2.2.4", ng(None, raw="2.2.4", **UP), (None, (2, 2, 4), False, False, X86)),
    ("raw-ami-1.7.16", ng(None, raw="1.7.16", **PAR_UP), (None, (1, 7, 16), False, False, X86)),
    ("raw-ami-1.6.32", ng(None, raw="1.6.32", types=("m7g.large",), **UP), (None, (1, 6, 32), False, False, ARM)),
]


@pytest.mark.parametrize("spec, expected", [pytest.param(s, e, id=i) for i, s, e in ACCEPTED])
def test_accepted(spec: NodeGroupSpec, expected: tuple[Any, ...]) -> None:
    p = resolve_profile(spec)
    assert (p.release, p.containerd_version, p.soci_package, p.fast_image_pull, p.arch) == expected
    assert p.os is spec.os and p.kubernetes_version == spec.kubernetes_version and p.variant == spec.ami.variant
    if spec.ami.ami_id:
        assert (p.ami_id, p.ssm_parameter) == (RAW_ID, None)
        assert any("raw AMI" in u for u in p.unconfirmed)
    else:
        assert p.ami_id is None
        assert p.ssm_parameter == ssm_parameter(spec.os, spec.kubernetes_version, p.arch, p.release or "", spec.ami.variant)


# ---------------------------------------------------------------------------------------------
# resolve_profile: refused, one row per rule and case

REFUSED = [
    # id, spec, error path, substrings of the message
    # containerd < 1.7.16 in a catalogued release
    ("containerd-1.7.11-v20240729", ng("v20240729", "1.30", **UP), "ami.release",
     ["AL2023 release v20240729 ships containerd 1.7.11 for Kubernetes 1.30", "containerd >= 1.7.16", "containerd#10095", "use v20241016 or later"]),
    ("containerd-1.7.11-rollback-release", ng("v20240828", "1.30", **UP), "ami.release", ["v20240828 ships containerd 1.7.11", ">= 1.7.16"]),
    ("containerd-1.7.11-v20241011", ng("v20241011", "1.31", **UP), "ami.release", ["v20241011 ships containerd 1.7.11 for Kubernetes 1.31"]),
    ("uncatalogued-before-first-good", ng("v20240601", "1.30", **UP), "ami.release", ["v20240601 predates v20241016", ">= 1.7.16", "use v20241016 or later"]),
    # rolled back
    ("rolled-back-v20240807", ng("v20240807", "1.30", **UP), "ami.release",
     ["AL2023 release v20240807 was rolled back", "1.7.20", "containerd#10589", "v20240828", "use v20241016 or later"]),
    ("rolled-back-v20240817", ng("v20240817", "1.30", **UP), "ami.release", ["v20240817 was rolled back", "lost process-exit-event bug"]),
    # v20260505: containerd 2.2.3 pause deadlock, any pull mode
    ("pause-deadlock-lazy-ami", ng("v20260505", "1.33"), "ami.release", ["v20260505 ships containerd 2.2.3", "deadlocks", "use v20260610 or later"]),
    ("pause-deadlock-lazy-upstream", ng("v20260505", "1.33", **UP), "ami.release", ["v20260505", "deadlocks", "use v20260610 or later"]),
    ("pause-deadlock-parallel-fip", ng("v20260505", "1.35", **FIP), "ami.release", ["v20260505", "amazon-eks-ami#2710", "v20260610"]),
    ("pause-deadlock-fallback", ng("v20260505", "1.30", **FALLBACK_UP), "ami.release", ["v20260505", "any pull mode"]),
    # parallel via nodeadm FastImagePull on a release without it
    ("fip-missing-v20250403", ng("v20250403", "1.30", **FIP), "pullMode",
     ["FastImagePull", "AL2023 release v20250403 does not have", "first in v20250813", "upstream SOCI release"]),
    ("fip-missing-v20241016", ng("v20241016", "1.31", **FIP), "pullMode", ["v20241016 does not have", "v20250813"]),
    ("fip-missing-uncatalogued", ng("v20250601", "1.32", **FIP), "pullMode", ["v20250601 does not have", "v20250813"]),
    # AMI soci package (lazy modes) on a release without it
    ("soci-package-missing-lazy", ng("v20250403", "1.30"), "sociSource",
     ["soci-snapshotter package", "AL2023 release v20250403 does not ship", "first in v20250813"]),
    # Kubernetes version the release does not ship
    ("k8s-not-shipped-too-old", ng("v20260714", "1.29"), "kubernetesVersion",
     ["1.29 is not shipped by AL2023 release v20260714", "ships Kubernetes 1.30-1.36", "v20260318"]),
    ("k8s-not-shipped-too-new", ng("v20250813", "1.34"), "kubernetesVersion", ["1.34 is not shipped by AL2023 release v20250813", "1.28-1.33"]),
    ("k8s-not-shipped-partial-row", ng("v20251112", "1.29"), "kubernetesVersion", ["ships Kubernetes 1.28", "only these are recorded"]),
    ("k8s-not-shipped-bottlerocket", ng("1.44.0", "1.34", **BOTTLE), "kubernetesVersion",
     ["1.34 is not shipped by Bottlerocket 1.44.0", "1.28-1.33", "1.57.0"]),
    ("k8s-no-usable-release", ng("v20240729", "1.23", **UP), "ami.release", ["ships containerd 1.7.11", "no catalogued al2023 release ships Kubernetes 1.23"]),
    # unknown release: say how to add it
    ("unknown-al2023", ng("v20260801", "1.33"), "ami.release",
     ["v20260801 is not in the AMI catalogue", "CHANGELOG.md", "Adding an AMI release", "scripts/add-ami-release", "v20260714"]),
    ("unknown-bottlerocket", ng("1.52.0", "1.33", **BOTTLE), "ami.release",
     ["Bottlerocket 1.52.0 is not in the AMI catalogue", "Adding an AMI release", "1.57.0"]),
    # abandoned
    ("abandoned-v20260128", ng("v20260128", "1.33"), "ami.release", ["v20260128 is marked [ABANDONED]", "v20260714"]),
    ("abandoned-v20260311", ng("v20260311", "1.33"), "ami.release", ["v20260311 is marked [ABANDONED]"]),
    # UNCONFIRMED containerd (tags without CHANGELOG entries)
    *[(f"unconfirmed-{r}", ng(r, "1.33"), "ami.release",
       [f"AL2023 release {r} is refused", "UNCONFIRMED", "use a confirmed release", "ami.amiId with ami.containerdVersion stated"])
      for r in ("v20260512", "v20260520", "v20260523", "v20260527", "v20260529", "v20260707", "v20260709", "v20260724")],
    # Bottlerocket before SOCI
    ("bottlerocket-1.43.0", ng("1.43.0", "1.33", **BOTTLE), "ami.release", ["Bottlerocket 1.43.0 has no SOCI snapshotter", "added in 1.44.0"]),
    ("bottlerocket-v1.20.4", ng("v1.20.4", "1.30", **BOTTLE), "ami.release", ["Bottlerocket 1.20.4 has no SOCI"]),
    # release format vs OS
    ("al2023-given-bottlerocket-version", ng("1.44.0", "1.33"), "ami.release", ["looks like a Bottlerocket version, but os is 'al2023'"]),
    ("bottlerocket-given-al2023-release", ng("v20260714", "1.33", **BOTTLE), "ami.release", ["looks like an AL2023 release, but os is 'bottlerocket'"]),
    # raw AMI: same containerd rules; image features assumed absent
    ("raw-1.7.15", ng(None, raw="1.7.15", **UP), "ami.containerdVersion", ["containerd 1.7.15 (stated for AMI ami-0123456789abcdef0)", ">= 1.7.16"]),
    ("raw-1.6.31", ng(None, raw="1.6.31", **UP), "ami.containerdVersion", ["containerd 1.6.31", ">= 1.6.32"]),
    ("raw-1.5.18", ng(None, raw="1.5.18", **UP), "ami.containerdVersion", ["containerd 1.5.18", "predates"]),
    ("raw-ami-package-lazy", ng(None, raw="2.2.4"), "sociSource", ["raw ami.amiId (ami-0123456789abcdef0) cannot be confirmed", "upstream SOCI release"]),
    ("raw-ami-package-fip", ng(None, raw="2.2.4", **FIP), "sociSource", ["nodeadm FastImagePull", "cannot be confirmed"]),
    ("raw-bottlerocket", ng(None, raw="2.1.6", **BOTTLE), "ami.amiId", ["raw Bottlerocket AMI", "pin a Bottlerocket release"]),
    # variants
    ("arm64-nvidia-before-v20250403", ng("v20250203", "1.30", types=("g5g.xlarge",), variant="nvidia", **UP), "ami.variant",
     ["v20250203 has no arm64 'nvidia' AMI", "v20250403"]),
    ("neuron-arm64", ng("v20260714", "1.33", types=("m7g.xlarge",), variant="neuron"), "ami.variant", ["'neuron' variant exists only for x86_64"]),
    # architecture follows instance types
    ("mixed-arch", ng("v20260714", "1.33", types=("m7i.xlarge", "m7i.2xlarge", "m7g.xlarge")), "instanceTypes[2]",
     ["'m7g.xlarge' is arm64", "'m7i.xlarge' (instanceTypes[0]) is x86_64", "split them into two node groups"]),
    ("mixed-arch-graviton-first", ng("v20260714", "1.33", types=("c7gn.xlarge", "c7i.xlarge")), "instanceTypes[1]",
     ["'c7i.xlarge' is x86_64", "'c7gn.xlarge' (instanceTypes[0]) is arm64"]),
]


@pytest.mark.parametrize("spec, path, needles", [pytest.param(s, p, n, id=i) for i, s, p, n in REFUSED])
def test_refused(spec: NodeGroupSpec, path: str, needles: list[str]) -> None:
    e = refused(spec)
    assert e.path == path, str(e)
    for needle in needles:
        assert needle in e.message, f"{needle!r} not in {e.message!r}"


def test_every_refusal_can_pass() -> None:
    """Each failing row's fix (the suggested release) resolves: the rules are not refusing everything."""
    for spec in (ng("v20260714", "1.30"), ng("v20260318", "1.29"), ng("1.57.0", "1.33", **BOTTLE), ng("v20251108", "1.30", **FIP)):
        assert resolve_profile(spec).containerd_version >= (1, 7, 16)


def test_path_prefix() -> None:
    with pytest.raises(SpecError) as e:
        resolve_profile(ng("v20260505"), path="nodeGroups[3]")
    assert e.value.path == "nodeGroups[3].ami.release"
    assert str(e.value).startswith("nodeGroups[3].ami.release: AL2023 release v20260505")


@pytest.mark.parametrize("path", ["os", "nodeGroups[1].os"])
def test_al2_refused(path: str) -> None:
    with pytest.raises(SpecError) as e:
        refuse_al2(path)
    assert e.value.path == path
    for needle in ("end of life", "November 26, 2025", "Kubernetes 1.32 was the last", "nodeadm", "'al2023'"):
        assert needle in e.value.message


# ---------------------------------------------------------------------------------------------
# containerd versions: threshold and the config schema they drive


@pytest.mark.parametrize("version, ok", [
    ((1, 7, 15), False), ((1, 7, 16), True), ((1, 7, 11), False), ((1, 7, 27), True),
    ((1, 6, 31), False), ((1, 6, 32), True), ((1, 5, 18), False), ((0, 9, 0), False),
    ((2, 0, 0), True), ((2, 2, 3), True), ((2, 2, 4), True),
])
def test_containerd_threshold(version: tuple[int, int, int], ok: bool) -> None:
    assert (containerd_problem(version) is None) is ok


@pytest.mark.parametrize("k8s, containerd, schema", [("1.28", "1.7.27", 2), ("1.30", "1.7.27", 2), ("1.31", "2.1.4", 3), ("1.34", "2.1.4", 3)])
def test_v20251108_containerd_split(k8s: str, containerd: str, schema: int) -> None:
    """Same release, different Kubernetes versions: containerd 1.7 (v2 config) up to 1.30, 2.1 (v3) from 1.31."""
    p = resolve_profile(ng("v20251108", k8s))
    assert p.containerd == containerd
    assert schema_version(p) == schema


@pytest.mark.parametrize("k8s, first", [
    ("1.34", "v20250915"), ("1.33", "v20251016"), ("1.32", "v20251023"), ("1.31", "v20251108"),
    ("1.30", "v20251209"), ("1.35", "v20260114"), ("1.36", "v20260610"), ("1.29", None), ("1.28", None),
])
def test_first_containerd_2_per_kubernetes(k8s: str, first: str | None) -> None:
    """eks-nodes.md §2.3: the first AL2023 release with containerd 2.x, per Kubernetes version."""
    found = next((r.version for r in releases(AL2023) if (c := r.containerd_for(k8s)) and c[0] >= 2), None)
    assert found == first


# ---------------------------------------------------------------------------------------------
# The catalogue itself


def test_catalogue_facts() -> None:
    al = releases(AL2023)
    assert [r.version for r in al] == sorted(r.version for r in al)
    for r in al:
        assert r.soci_package is r.fast_image_pull is (r.version >= "v20250813"), r.version
        if r.version >= "v20241016" and r.ranges and not r.refused:
            assert all(x.containerd >= (1, 7, 22) for x in r.ranges), r.version  # "every later AL2023 release is >= 1.7.22"
    assert {r.version for r in al if r.ranges is None and not r.refused} == {
        "v20260512", "v20260520", "v20260523", "v20260527", "v20260529", "v20260707", "v20260709", "v20260724"}
    assert {r.version for r in al if r.refused} == {"v20240807", "v20240817", "v20260128", "v20260311", "v20260505"}
    for r in releases(BR):
        assert r.soci_package and not r.fast_image_pull and r.soci_version
        assert ami.parse_version(r.version) >= (1, 44, 0)
        assert r.unconfirmed  # the <= 1.32 containerd and the Kubernetes range are inferred
    assert lookup_release(BR, "v1.50.0") is lookup_release(BR, "1.50.0") is CATALOGUE[(BR, "1.50.0")]
    assert lookup_release(AL2023, "v20990101") is None


@pytest.mark.parametrize("text, message", [
    ("1.30-1.29=2.2.4", "runs backwards"),
    ("1.28-1.31=1.7.27 1.31-1.34=2.1.4", "overlap"),
    ("1.30-1.36=2.2", "expected '1.<first>-1.<last>=<containerd>'"),
    ("1.30:2.2.4", "expected"),
    ("", "no Kubernetes ranges"),
])
def test_parse_ranges_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_ranges(text)


def test_parse_ranges_round_trip() -> None:
    r = parse_ranges("1.31-1.34=2.1.4 1.28-1.30=1.7.27")
    assert r is not None and " ".join(str(x) for x in r) == "1.28-1.30=1.7.27 1.31-1.34=2.1.4"
    assert parse_ranges("?") is None


def test_ami_module_is_pure() -> None:
    tree = ast.parse((REPO / "soci_component" / "ami.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not imported & {"pulumi", "pulumi_aws", "boto3", "botocore"}


# ---------------------------------------------------------------------------------------------
# SSM parameters


@pytest.mark.parametrize("os, k8s, arch, release, variant, expected", [
    (AL2023, "1.33", X86, "v20260714", "standard",
     "/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/standard/amazon-eks-node-al2023-x86_64-standard-1.33-v20260714/image_id"),
    (AL2023, "1.33", X86, "v20260714", "nvidia",
     "/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/nvidia/amazon-eks-node-al2023-x86_64-nvidia-1.33-v20260714/image_id"),
    (AL2023, "1.31", X86, "v20241016", "neuron",
     "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/neuron/amazon-eks-node-al2023-x86_64-neuron-1.31-v20241016/image_id"),
    (AL2023, "1.36", ARM, "v20260610", "standard",
     "/aws/service/eks/optimized-ami/1.36/amazon-linux-2023/arm64/standard/amazon-eks-node-al2023-arm64-standard-1.36-v20260610/image_id"),
    (AL2023, "1.30", ARM, "v20251108", "nvidia",
     "/aws/service/eks/optimized-ami/1.30/amazon-linux-2023/arm64/nvidia/amazon-eks-node-al2023-arm64-nvidia-1.30-v20251108/image_id"),
    (BR, "1.33", X86, "1.50.0", "standard", "/aws/service/bottlerocket/aws-k8s-1.33/x86_64/1.50.0/image_id"),
    (BR, "1.33", X86, "v1.50.0", "nvidia", "/aws/service/bottlerocket/aws-k8s-1.33-nvidia/x86_64/1.50.0/image_id"),
    (BR, "1.35", ARM, "1.57.0", "standard", "/aws/service/bottlerocket/aws-k8s-1.35/arm64/1.57.0/image_id"),
    (BR, "1.32", ARM, "1.44.0", "nvidia", "/aws/service/bottlerocket/aws-k8s-1.32-nvidia/arm64/1.44.0/image_id"),
])
def test_ssm_parameter(os: OperatingSystem, k8s: str, arch: Arch, release: str, variant: str, expected: str) -> None:
    got = ssm_parameter(os, k8s, arch, release, variant)
    assert got == expected
    assert "recommended" not in got and "latest" not in got


@pytest.mark.parametrize("os, arch, release, variant, path, needle", [
    (AL2023, ARM, "v20260714", "neuron", "ami.variant", "only for x86_64"),
    (AL2023, X86, "v20260714", "gpu", "ami.variant", "'standard' or 'nvidia' or 'neuron'"),
    (BR, X86, "1.50.0", "neuron", "ami.variant", "'standard' or 'nvidia'"),
    (AL2023, X86, "recommended", "standard", "ami.release", "never 'latest'/'recommended'"),
    (AL2023, X86, "latest", "standard", "ami.release", "not an AL2023 release"),
    (BR, X86, "latest", "standard", "ami.release", "not a Bottlerocket version"),
])
def test_ssm_parameter_refused(os: OperatingSystem, arch: Arch, release: str, variant: str, path: str, needle: str) -> None:
    with pytest.raises(SpecError) as e:
        ssm_parameter(os, "1.33", arch, release, variant)
    assert e.value.path == path and needle in e.value.message


# ---------------------------------------------------------------------------------------------
# Architecture


@pytest.mark.parametrize("instance_type, arch", [
    *[(t, ARM) for t in ("a1.large", "m7g.xlarge", "c7gn.2xlarge", "r8g.large", "t4g.medium", "x2gd.xlarge", "im4gn.large",
                         "is4gen.xlarge", "g5g.2xlarge", "c6gd.large", "m6gd.4xlarge", "hpc7g.16xlarge", "m6g.metal", "i8g.large")],
    *[(t, X86) for t in ("m7i.xlarge", "m7i-flex.large", "c5.large", "t3.medium", "g5.xlarge", "g4dn.xlarge", "gr6.4xlarge",
                         "p5.48xlarge", "inf2.xlarge", "trn1.2xlarge", "x2iedn.xlarge", "c7a.large", "u-6tb1.metal", "z1d.large")],
])
def test_arch_of(instance_type: str, arch: Arch) -> None:
    assert arch_of(instance_type) is arch


def test_arch_of_instance_types() -> None:
    assert arch_of_instance_types(("m7g.large", "c7g.xlarge", "r7gd.large")) is ARM
    with pytest.raises(SpecError) as e:
        arch_of_instance_types(("t4g.large", "t3.large"), path="nodeGroups[0].instanceTypes")
    assert e.value.path == "nodeGroups[0].instanceTypes[1]"
    assert "'t3.large' is x86_64" in e.value.message and "'t4g.large'" in e.value.message


# ---------------------------------------------------------------------------------------------
# FastImagePull instance-size floor

SIZES = {
    "t3.medium": (2, 4096), "t3.large": (2, 8192), "m7i.large": (2, 8192), "c7i.xlarge": (4, 8192),
    "m7i.xlarge": (4, 16384), "r7i.large": (2, 16384), "x.floor": (4, 7168), "c5.xlarge": (4, 7680), "y.lowmem": (8, 7167),
}


@pytest.mark.parametrize("spec", [
    pytest.param(ng("v20260714", types=("m7i.xlarge", "c7i.xlarge", "c5.xlarge"), **FIP), id="fip-all-large-enough"),
    pytest.param(ng("v20260714", types=("x.floor",), **FIP), id="fip-exactly-at-floor"),
    pytest.param(ng("v20260714", types=("t3.medium", "m7i.large")), id="lazy-no-floor"),
    pytest.param(ng("v20260714", types=("t3.medium",), **PAR_UP), id="parallel-upstream-no-floor"),
    pytest.param(ng("1.57.0", types=("t3.medium",), **BOTTLE), id="bottlerocket-no-floor"),
])
def test_instance_sizes_accepted(spec: NodeGroupSpec) -> None:
    check_instance_sizes(spec, SIZES)


@pytest.mark.parametrize("types, listed, not_listed", [
    (("t3.medium", "m7i.xlarge", "m7i.large", "c7i.xlarge", "r7i.large"),
     ["t3.medium (instanceTypes[0]: 2 vCPU, 4 GiB)", "m7i.large (instanceTypes[2]: 2 vCPU, 8 GiB)", "r7i.large (instanceTypes[4]: 2 vCPU, 16 GiB)"],
     ["m7i.xlarge", "c7i.xlarge"]),
    (("y.lowmem", "t3.large"), ["y.lowmem (instanceTypes[0]: 8 vCPU, 7167 MiB)", "t3.large (instanceTypes[1]: 2 vCPU, 8 GiB)"], []),
])
def test_instance_sizes_refused(types: tuple[str, ...], listed: list[str], not_listed: list[str]) -> None:
    with pytest.raises(SpecError) as e:
        check_instance_sizes(ng("v20260714", types=types, **FIP), SIZES, path="nodeGroups[2]")
    assert e.value.path == "nodeGroups[2].instanceTypes"
    assert "FastImagePull, which silently does nothing" in e.value.message and "fewer than 4 vCPUs or less than 7 GiB" in e.value.message
    for t in listed:
        assert t in e.value.message
    for t in not_listed:
        assert t not in e.value.message


def test_instance_sizes_need_every_fact() -> None:
    with pytest.raises(ValueError, match="no \\(vCPUs, memory MiB\\) for m7i.2xlarge"):
        check_instance_sizes(ng("v20260714", types=("m7i.xlarge", "m7i.2xlarge"), **FIP), {"m7i.xlarge": (4, 16384)})


# ---------------------------------------------------------------------------------------------
# Adding a release: the procedure in the README


def _catalogue_copy(tmp_path: Path) -> Path:
    target = tmp_path / "ami.py"
    target.write_text((REPO / "soci_component" / "ami.py").read_text())
    return target


def _load(path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    spec = importlib.util.spec_from_file_location("ami_copy", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "ami_copy", module)
    spec.loader.exec_module(module)
    return module


def test_add_release_dry_run_prints_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = _catalogue_copy(tmp_path)
    before = target.read_text()
    assert ami.main(["add-release", "--os", "al2023", "--release", "v20260801", "--containerd", "1.36-1.36=2.2.4 1.30-1.35=2.2.4",
                     "--file", str(target)]) == 0
    out = capsys.readouterr()
    assert out.out == '    _al2023("v20260801", "1.30-1.35=2.2.4 1.36=2.2.4"),\n'
    assert "dry run" in out.err
    assert target.read_text() == before


def test_add_release_write_al2023(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The refusal says 'add it'; after add-release --write the same node group resolves, with the recorded containerd."""
    with pytest.raises(SpecError, match="not in the AMI catalogue"):
        resolve_profile(ng("v20260801", "1.36"))
    target = _catalogue_copy(tmp_path)
    assert ami.main(["add-release", "--os", "al2023", "--release", "v20260801", "--containerd", "1.30-1.36=2.2.4",
                     "--write", "--file", str(target)]) == 0
    assert "inserted into" in capsys.readouterr().err
    copy = _load(target, monkeypatch)
    p = copy.resolve_profile(ng("v20260801", "1.36", **FIP))
    assert (p.release, p.containerd, p.fast_image_pull, p.soci_package) == ("v20260801", "2.2.4", True, True)
    assert p.ssm_parameter.endswith("/amazon-eks-node-al2023-x86_64-standard-1.36-v20260801/image_id")
    # rows stay sorted in the catalogue; a second add of the same release is refused
    assert [r.version for r in copy.releases(AL2023)][-2:] == ["v20260724", "v20260801"]
    assert ami.main(["add-release", "--os", "al2023", "--release", "v20260801", "--containerd", "1.30-1.36=2.2.4",
                     "--write", "--file", str(target)]) == 2
    assert "already in the catalogue" in capsys.readouterr().err


def test_add_release_write_bottlerocket_and_unconfirmed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = _catalogue_copy(tmp_path)
    assert ami.main(["add-release", "--os", "bottlerocket", "--release", "v1.58.0", "--containerd", "1.28-1.32=1.7.30 1.33-1.35=2.1.6",
                     "--soci-version", "0.12.1", "--unconfirmed", "1.35 variant inferred", "--write", "--file", str(target)]) == 0
    assert ami.main(["add-release", "--os", "al2023", "--release", "v20260730", "--containerd", "?", "--write", "--file", str(target)]) == 0
    copy = _load(target, monkeypatch)
    p = copy.resolve_profile(ng("1.58.0", "1.35", **BOTTLE))
    assert (p.release, p.containerd, p.unconfirmed) == ("1.58.0", "2.1.6", ("1.35 variant inferred",))
    assert copy.lookup_release(BR, "1.58.0").soci_version == "0.12.1"
    with pytest.raises(SpecError, match="UNCONFIRMED"):
        copy.resolve_profile(ng("v20260730", "1.33"))


@pytest.mark.parametrize("args, message", [
    (["--os", "al2023", "--release", "v20260714", "--containerd", "1.30-1.36=2.2.4"], "already in the catalogue"),
    (["--os", "bottlerocket", "--release", "1.50.0", "--containerd", "1.33=2.0.6"], "already in the catalogue"),
    (["--os", "al2023", "--release", "v20261399", "--containerd", "1.30-1.36=2.2.4"], "not a date"),
    (["--os", "al2023", "--release", "1.58.0", "--containerd", "1.30-1.36=2.2.4"], "AL2023 releases look like"),
    (["--os", "bottlerocket", "--release", "v20260801", "--containerd", "1.33=2.1.6"], "Bottlerocket versions look like"),
    (["--os", "al2023", "--release", "v20260801", "--containerd", "1.30-1.29=2.2.4"], "runs backwards"),
    (["--os", "al2023", "--release", "v20260801", "--containerd", "1.30-1.33=2.2.4 1.33-1.36=2.2.4"], "overlap"),
    (["--os", "al2023", "--release", "v20260801", "--containerd", "1.30-1.36=2.2.4", "--soci-version", "0.15.0"], "Bottlerocket only"),
])
def test_add_release_refused(args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = _catalogue_copy(tmp_path)
    before = target.read_text()
    assert ami.main(["add-release", *args, "--write", "--file", str(target)]) == 2
    assert message in capsys.readouterr().err
    assert target.read_text() == before


def test_add_release_script() -> None:
    """scripts/add-ami-release (what the README tells people to run), dry run: prints the row, writes nothing."""
    before = (REPO / "soci_component" / "ami.py").read_text()
    env = {**os_mod.environ, "PYTHON": sys.executable}
    r = subprocess.run([str(REPO / "scripts" / "add-ami-release"), "--os", "al2023", "--release", "v20260801", "--containerd", "1.30-1.36=2.2.4"],
                       capture_output=True, text=True, env=env, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout == '    _al2023("v20260801", "1.30-1.36=2.2.4"),\n'
    r = subprocess.run([str(REPO / "scripts" / "add-ami-release"), "--os", "al2023", "--release", "v20260714", "--containerd", "1.30-1.36=2.2.4"],
                       capture_output=True, text=True, env=env, check=False)
    assert r.returncode == 2 and "already in the catalogue" in r.stderr
    assert (REPO / "soci_component" / "ami.py").read_text() == before


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert ami.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(CATALOGUE)
    assert any(line.split()[:3] == ["al2023", "v20251108", "1.28-1.30=1.7.27"] for line in lines)
    assert any("v20260505" in line and "REFUSED" in line for line in lines)
    assert any("v20260724" in line and "UNCONFIRMED" in line for line in lines)


def test_local_storage_check_lists_types_without_instance_store() -> None:
    spec = NodeGroupSpec(name="nvme", kubernetes_version="1.33", ami=AmiPin(release="v20260714"),
                         instance_types=("m6id.2xlarge", "m7i.2xlarge"), local_storage=LocalStorage.RAID0)
    ami.check_local_storage(spec, {"m6id.2xlarge": True, "m7i.2xlarge": True})
    with pytest.raises(SpecError) as err:
        ami.check_local_storage(spec, {"m6id.2xlarge": True, "m7i.2xlarge": False}, "nodeGroups[3]")
    assert err.value.path == "nodeGroups[3].localStorage"
    assert "have none: m7i.2xlarge (instanceTypes[1]);" in err.value.message
    ami.check_local_storage(replace(spec, local_storage=LocalStorage.NONE), {})  # not raid0: nothing to check
