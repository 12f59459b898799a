"""rules.py: every catalogue, node-group, instance and stack rule, with passing and failing cases."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from soci_component import rules
from soci_component.ami import NodeProfile
from soci_component.errors import SpecError
from soci_component.instances import InstanceFacts
from soci_component.spec import (
    AmiPin,
    Arch,
    ContentStore,
    CriProxy,
    EcrCredentialHelper,
    LocalStorage,
    NodeGroupSpec,
    OperatingSystem,
    ParallelTuning,
    PullMode,
    SociTuning,
    UpstreamRelease,
    Variant,
)

BR = OperatingSystem.BOTTLEROCKET
X86, ARM = Arch.X86_64, Arch.ARM64
RAW_ID = "ami-0123456789abcdef0"

# Keyword presets. Defaults: AL2023, lazy, SOCI from the AMI's package, ECR credential helper.
UP: dict[str, Any] = {"soci_source": UpstreamRelease()}
FIP: dict[str, Any] = {"pull_mode": PullMode.PARALLEL, "credentials": (CriProxy(),)}  # AL2023 parallel via nodeadm's gate
PAR_UP: dict[str, Any] = {"pull_mode": PullMode.PARALLEL, "soci_source": UpstreamRelease()}
FALLBACK_UP: dict[str, Any] = {"pull_mode": PullMode.LAZY_WITH_PARALLEL_FALLBACK, "soci_source": UpstreamRelease()}
BOTTLE: dict[str, Any] = {"os": BR, "pull_mode": PullMode.PARALLEL, "credentials": (CriProxy(),)}


def ng(release: str | None = "v20260714", k8s: str = "1.33", types: tuple[str, ...] = ("m7i.xlarge",), variant: Variant = Variant.STANDARD,
       raw: str | None = None, **kw: Any) -> NodeGroupSpec:
    pin = AmiPin(ami_id=RAW_ID, containerd_version=raw, variant=variant) if raw else AmiPin(release=release, variant=variant)
    return NodeGroupSpec(name="ng", kubernetes_version=k8s, ami=pin, instance_types=types, **kw)


def checked(spec: NodeGroupSpec) -> NodeProfile:
    p = rules.profile(spec)
    rules.check_node_group(spec, p)
    return p


def refused(spec: NodeGroupSpec) -> SpecError:
    with pytest.raises(SpecError) as e:
        checked(spec)
    return e.value


# ---------------------------------------------------------------------------------------------
# accepted: (release, containerd, soci_package, feature gate, arch)

ACCEPTED = [
    ("first-good-al2023", ng("v20241016", "1.31", **UP), ("v20241016", (1, 7, 22), False, None, X86)),
    ("first-good-al2023-k8s-1.24", ng("v20241016", "1.24", **UP), ("v20241016", (1, 7, 22), False, None, X86)),
    ("pre-gate-release-parallel-upstream", ng("v20250403", "1.32", **PAR_UP), ("v20250403", (1, 7, 27), False, None, X86)),
    ("first-gate-release-parallel", ng("v20250813", "1.33", types=("m7i.2xlarge",), **FIP), ("v20250813", (1, 7, 27), True, "AggressiveImagePull", X86)),
    ("v20250819-still-aggressive", ng("v20250819", "1.33", **FIP), ("v20250819", (1, 7, 27), True, "AggressiveImagePull", X86)),
    ("v20250821-first-fast", ng("v20250821", "1.33", **FIP), ("v20250821", (1, 7, 27), True, "FastImagePull", X86)),
    ("first-soci-release-lazy-ami-package", ng("v20250813", "1.28"), ("v20250813", (1, 7, 27), True, "AggressiveImagePull", X86)),
    ("v20250915-1.34-first-2x", ng("v20250915", "1.34"), ("v20250915", (2, 1, 4), True, "FastImagePull", X86)),
    ("v20251108-1.28", ng("v20251108", "1.28"), ("v20251108", (1, 7, 27), True, "FastImagePull", X86)),
    ("v20251108-1.31", ng("v20251108", "1.31"), ("v20251108", (2, 1, 4), True, "FastImagePull", X86)),
    ("v20251112-1.29", ng("v20251112", "1.29"), ("v20251112", (1, 7, 27), True, "FastImagePull", X86)),
    ("v20251112-1.34", ng("v20251112", "1.34"), ("v20251112", (2, 1, 4), True, "FastImagePull", X86)),
    ("v20251209-1.29", ng("v20251209", "1.29"), ("v20251209", (1, 7, 29), True, "FastImagePull", X86)),
    ("v20251217", ng("v20251217", "1.34"), ("v20251217", (2, 1, 5), True, "FastImagePull", X86)),
    ("v20260304", ng("v20260304", "1.35"), ("v20260304", (2, 1, 5), True, "FastImagePull", X86)),
    ("v20260318-1.29-last", ng("v20260318", "1.29", **FIP), ("v20260318", (1, 7, 29), True, "FastImagePull", X86)),
    ("v20260610-1.36", ng("v20260610", "1.36", **FIP), ("v20260610", (2, 2, 4), True, "FastImagePull", X86)),
    ("v20260714-lazy-ami", ng("v20260714", "1.33"), ("v20260714", (2, 2, 4), True, "FastImagePull", X86)),
    ("v20260714-fallback-upstream", ng("v20260714", "1.33", **FALLBACK_UP), ("v20260714", (2, 2, 4), True, "FastImagePull", X86)),
    ("v20260714-arm64", ng("v20260714", "1.33", types=("m7g.xlarge", "c7gn.2xlarge")), ("v20260714", (2, 2, 4), True, "FastImagePull", ARM)),
    ("arm64-nvidia-from-v20250403", ng("v20250403", "1.32", types=("g5g.xlarge",), variant=Variant.NVIDIA, **UP), ("v20250403", (1, 7, 27), False, None, ARM)),
    ("neuron-x86", ng("v20260714", "1.33", types=("inf2.xlarge", "trn1.2xlarge"), variant=Variant.NEURON), ("v20260714", (2, 2, 4), True, "FastImagePull", X86)),
    ("bottlerocket-1.57.0-1.32", ng("1.57.0", "1.32", **BOTTLE), ("1.57.0", (1, 7, 30), True, None, X86)),
    ("bottlerocket-v-prefix", ng("v1.57.0", "1.33", **BOTTLE), ("1.57.0", (2, 1, 6), True, None, X86)),
    ("raw-ami-2.2.4", ng(None, raw="2.2.4", **UP), (None, (2, 2, 4), False, None, X86)),
    ("raw-ami-1.7.16", ng(None, raw="1.7.16", **PAR_UP), (None, (1, 7, 16), False, None, X86)),
    ("raw-ami-1.6.32", ng(None, raw="1.6.32", types=("m7g.large",), **UP), (None, (1, 6, 32), False, None, ARM)),
]


@pytest.mark.parametrize("spec, expected", [pytest.param(s, e, id=i) for i, s, e in ACCEPTED])
def test_accepted(spec: NodeGroupSpec, expected: tuple[Any, ...]) -> None:
    p = checked(spec)
    assert (p.release, p.containerd_version, p.soci_package, p.feature_gate, p.arch) == expected
    assert p.os is spec.os and p.kubernetes_version == spec.kubernetes_version and p.variant == spec.ami.variant
    if spec.ami.ami_id:
        assert (p.ami_id, p.ssm_parameter) == (RAW_ID, None)
    else:
        assert p.ami_id is None and p.ssm_parameter is not None  # every release has its parameter
        assert p.release in p.ssm_parameter and "latest" not in p.ssm_parameter and "recommended" not in p.ssm_parameter


# ---------------------------------------------------------------------------------------------
# refused: one row per rule and case (path, substrings of the message)

NO_CHANGELOG = ("v20260512", "v20260520", "v20260523", "v20260527", "v20260529", "v20260707", "v20260709", "v20260724")
REFUSED = [
    ("containerd-1.7.11-v20240729", ng("v20240729", "1.30", **UP), "ami.release",
     ["AL2023 release v20240729 ships containerd 1.7.11 for Kubernetes 1.30", "containerd >= 1.7.16", "containerd#10095", "v20260714"]),
    ("containerd-1.7.11-v20240828", ng("v20240828", "1.30", **UP), "ami.release", ["v20240828 ships containerd 1.7.11", ">= 1.7.16"]),
    ("containerd-1.7.11-v20241011", ng("v20241011", "1.31", **UP), "ami.release", ["v20241011 ships containerd 1.7.11 for Kubernetes 1.31"]),
    ("uncatalogued-before-catalogue", ng("v20240601", "1.30", **UP), "ami.release", ["v20240601 predates the catalogue", "v20240729"]),
    ("rolled-back-v20240807", ng("v20240807", "1.30", **UP), "ami.release", ["AL2023 release v20240807 was rolled back", "1.7.20", "use v20241016 or later"]),
    ("rolled-back-v20240817", ng("v20240817", "1.30", **UP), "ami.release", ["v20240817 was rolled back", "lost process-exit-event bug", "containerd#10589"]),
    ("pause-deadlock-lazy-ami", ng("v20260505", "1.33"), "ami.release", ["v20260505 ships containerd 2.2.3", "deadlocks", "use v20260610 or later"]),
    ("pause-deadlock-lazy-upstream", ng("v20260505", "1.33", **UP), "ami.release", ["v20260505", "deadlocks"]),
    ("pause-deadlock-parallel", ng("v20260505", "1.35", **FIP), "ami.release", ["v20260505", "any pull mode"]),
    ("gate-missing-v20250403", ng("v20250403", "1.30", **FIP), "ami.release",
     ["parallel-pull gate", "AL2023 release v20250403's nodeadm does not have", "AggressiveImagePull from v20250813", "FastImagePull in v20250821", "upstream SOCI release"]),
    ("gate-missing-v20241016", ng("v20241016", "1.31", **FIP), "ami.release", ["v20241016's nodeadm does not have"]),
    ("soci-package-missing-lazy", ng("v20250403", "1.30"), "sociSource", ["soci-snapshotter package", "AL2023 release v20250403 does not ship", "first in v20250813"]),
    ("k8s-not-shipped-too-old", ng("v20260714", "1.29"), "kubernetesVersion",
     ["1.29 is not shipped by AL2023 release v20260714", "ships Kubernetes 1.30-1.36", "v20260318"]),
    ("k8s-not-shipped-too-new", ng("v20250813", "1.34"), "kubernetesVersion", ["1.34 is not shipped by AL2023 release v20250813", "1.28-1.33"]),
    ("k8s-not-shipped-bottlerocket", ng("1.57.0", "1.28", **BOTTLE), "kubernetesVersion", ["1.28 is not shipped by Bottlerocket 1.57.0", "1.29-1.35"]),
    ("k8s-no-usable-release", ng("v20240729", "1.23", **UP), "ami.release", ["ships containerd 1.7.11", "no catalogued al2023 release ships Kubernetes 1.23"]),
    ("unknown-al2023", ng("v20260801", "1.33"), "ami.release", ["v20260801 is not in the AMI catalogue", "CHANGELOG.md", "Adding a release the sources do not document yet", "tools.catalogue sync / add", "v20260714"]),
    ("unknown-bottlerocket", ng("1.58.7", "1.33", **BOTTLE), "ami.release", ["Bottlerocket 1.58.7 is not in the AMI catalogue", "Adding a release the sources do not document yet"]),
    ("abandoned-v20260128", ng("v20260128", "1.33"), "ami.release", ["v20260128 is marked [ABANDONED]", "v20260714"]),
    ("abandoned-v20260311", ng("v20260311", "1.33"), "ami.release", ["v20260311 is marked [ABANDONED]"]),
    *[(f"unconfirmed-{r}", ng(r, "1.33"), "ami.release", [f"AL2023 release {r} is refused", "UNCONFIRMED", "ami.amiId with ami.containerdVersion stated"])
      for r in NO_CHANGELOG],
    ("bottlerocket-before-soci", ng("1.20.4", "1.30", **BOTTLE), "ami.release", ["Bottlerocket 1.20.4", "no SOCI"]),
    ("al2023-given-bottlerocket-version", ng("1.57.0", "1.33"), "ami.release", ["looks like a Bottlerocket version, but os is 'al2023'"]),
    ("bottlerocket-given-al2023-release", ng("v20260714", "1.33", **BOTTLE), "ami.release", ["looks like an AL2023 release, but os is 'bottlerocket'"]),
    ("raw-1.7.15", ng(None, raw="1.7.15", **UP), "ami.containerdVersion", ["containerd 1.7.15 (stated for AMI ami-0123456789abcdef0)", ">= 1.7.16"]),
    ("raw-1.6.31", ng(None, raw="1.6.31", **UP), "ami.containerdVersion", ["containerd 1.6.31", ">= 1.6.32"]),
    ("raw-1.5.18", ng(None, raw="1.5.18", **UP), "ami.containerdVersion", ["containerd 1.5.18", "predates"]),
    ("raw-ami-package-lazy", ng(None, raw="2.2.4"), "sociSource", ["raw ami.amiId (ami-0123456789abcdef0) cannot be confirmed", "upstream SOCI release"]),
    ("raw-ami-package-gate", ng(None, raw="2.2.4", **FIP), "sociSource", ["nodeadm parallel-pull gate", "cannot be confirmed"]),
    ("raw-bottlerocket", ng(None, raw="2.1.6", **BOTTLE), "ami.amiId", ["raw Bottlerocket AMI", "pin a Bottlerocket release"]),
    ("arm64-nvidia-before-v20250403", ng("v20250203", "1.30", types=("g5g.xlarge",), variant=Variant.NVIDIA, **UP), "ami.variant",
     ["v20250203 publishes no nvidia AMI for arm64", "AL2023_ARM_64_STANDARD"]),
    ("neuron-arm64", ng("v20260714", "1.33", types=("m7g.xlarge",), variant=Variant.NEURON), "ami.variant", ["publishes no neuron AMI for arm64"]),
    ("nvidia-560-ami-name", ng("v20241016", "1.31", types=("g5.xlarge",), variant=Variant.NVIDIA, **UP), "ami.variant",
     ["amazon-eks-node-al2023-x86_64-nvidia-560-1.31-v20241016", "cannot be derived"]),
    ("neuron-on-nvidia-type", ng("v20260714", "1.33", types=("g5.xlarge",), variant=Variant.NEURON), "ami.variant", ["'neuron' AMIs have no NVIDIA driver", "g5.xlarge"]),
    ("mixed-arch", ng("v20260714", "1.33", types=("m7i.xlarge", "m7i.2xlarge", "m7g.xlarge")), "instanceTypes[2]",
     ["'m7g.xlarge' is arm64", "'m7i.xlarge' (instanceTypes[0]) is x86_64", "split them into two node groups"]),
    ("mixed-arch-graviton-first", ng("v20260714", "1.33", types=("c7gn.xlarge", "c7i.xlarge")), "instanceTypes[1]", ["'c7i.xlarge' is x86_64"]),
    ("bottlerocket-lazy", ng("1.57.0", "1.33", os=BR, credentials=(CriProxy(),)), "pullMode", ["'lazy' is not available on Bottlerocket"]),
    ("bottlerocket-ecr-helper", ng("1.57.0", "1.33", os=BR, pull_mode=PullMode.PARALLEL, credentials=(EcrCredentialHelper(),)), "credentials[0]",
     ["does not exist on Bottlerocket"]),
    ("bottlerocket-release-source", ng("1.57.0", "1.33", **BOTTLE, soci_source=UpstreamRelease()), "sociSource", ["Bottlerocket uses the SOCI it ships"]),
    ("bottlerocket-root", ng("1.57.0", "1.33", **BOTTLE, tuning=SociTuning(root="/data/soci")), "tuning", ["only the parallel-pull knobs"]),
    ("bottlerocket-neuron", ng("1.57.0", "1.33", **BOTTLE, variant=Variant.NEURON), "ami.variant", ["Neuron runs on 'standard'"]),
    ("fallback-ami-package", ng("v20260714", "1.33", pull_mode=PullMode.LAZY_WITH_PARALLEL_FALLBACK), "sociSource", ["needs SOCI >= 0.14.0"]),
    ("fallback-old-release", ng("v20260714", "1.33", pull_mode=PullMode.LAZY_WITH_PARALLEL_FALLBACK, soci_source=UpstreamRelease("0.13.9")),
     "sociSource.version", ["0.13.9 lacks experimental_parallel_pull_as_fallback"]),
    ("parallel-old-release", ng("v20260714", "1.33", pull_mode=PullMode.PARALLEL, soci_source=UpstreamRelease("0.10.9")), "sociSource.version", ["needs SOCI >= 0.11.0"]),
    ("lazy-old-release", ng("v20260714", "1.33", soci_source=UpstreamRelease("0.9.9")), "sociSource.version", ["use >= 0.10.0"]),
    ("gate-needs-cri-proxy", ng("v20260714", "1.33", pull_mode=PullMode.PARALLEL, credentials=(EcrCredentialHelper(),)), "credentials",
     ["add 'cri-proxy' to credentials", "FastImagePull gate"]),
    ("soci-store-no-discard", ng("v20260714", "1.33", **PAR_UP, tuning=SociTuning(content_store=ContentStore.SOCI, parallel=ParallelTuning(discard_unpacked_layers=False))),
     "tuning.parallel.discardUnpackedLayers", ["SOCI refuses to start otherwise"]),
    ("raid0-custom-root", ng("v20260714", "1.33", local_storage=LocalStorage.RAID0, tuning=SociTuning(root="/data/soci")), "localStorage", ["a custom tuning.root would stay on EBS"]),
]


@pytest.mark.parametrize("spec, path, needles", [pytest.param(s, p, n, id=i) for i, s, p, n in REFUSED])
def test_refused(spec: NodeGroupSpec, path: str, needles: list[str]) -> None:
    e = refused(spec)
    assert e.path == path, str(e)
    for needle in needles:
        assert needle in e.message, f"{needle!r} not in {e.message!r}"


@pytest.mark.parametrize("version, ok", [
    ((1, 7, 15), False), ((1, 7, 16), True), ((1, 7, 11), False), ((1, 7, 27), True),
    ((1, 6, 31), False), ((1, 6, 32), True), ((1, 5, 18), False), ((0, 9, 0), False),
    ((2, 0, 0), True), ((2, 2, 3), True), ((2, 2, 4), True),
])
def test_containerd_threshold(version: tuple[int, int, int], ok: bool) -> None:
    assert (rules.containerd_problem(version) is None) is ok


@pytest.mark.parametrize("version, ok", [("0.9.9", False), ("0.10.0", True)])
def test_lazy_release_floor_boundary(version: str, ok: bool) -> None:
    spec = ng(soci_source=UpstreamRelease(version))
    (checked if ok else refused)(spec)


@pytest.mark.parametrize("version, ok", [("0.10.9", False), ("0.11.0", True)])
def test_parallel_release_floor_boundary(version: str, ok: bool) -> None:
    (checked if ok else refused)(ng(pull_mode=PullMode.PARALLEL, soci_source=UpstreamRelease(version)))


@pytest.mark.parametrize("version, ok", [("0.13.9", False), ("0.14.0", True)])
def test_fallback_release_floor_boundary(version: str, ok: bool) -> None:
    (checked if ok else refused)(ng(pull_mode=PullMode.LAZY_WITH_PARALLEL_FALLBACK, soci_source=UpstreamRelease(version)))


def test_path_prefix() -> None:
    with pytest.raises(SpecError) as e:
        rules.check_node_group(ng("v20260505"), rules.profile(ng("v20260505")), path="nodeGroups[3]")
    assert e.value.path == "nodeGroups[3].ami.release"
    with pytest.raises(SpecError) as e:
        rules.profile(ng("v20990101"), "nodeGroups[2]")
    assert e.value.path == "nodeGroups[2].ami.release"


@pytest.mark.parametrize("path", ["os", "nodeGroups[1].os"])
def test_al2_refused(path: str) -> None:
    with pytest.raises(SpecError) as e:
        rules.refuse_al2(path)
    assert e.value.path == path
    for needle in ("end of life", "November 26, 2025", "Kubernetes 1.32 was the last", "nodeadm", "'al2023'"):
        assert needle in e.value.message


def test_pause_import_under_the_gate_on_2_2_3() -> None:
    """A parallel AMI-SOCI group on containerd >= 2.2.3 needs nodeadm's own pause import (#2717); a profile without it is refused."""
    spec = ng("v20260714", **FIP)
    p = rules.profile(spec)
    assert p.pause_import and p.pause_through_soci
    with pytest.raises(SpecError, match="does not import the pause image"):
        rules.check_node_group(spec, replace(p, pause_import=False))
    rules.check_node_group(spec, replace(p, pause_import=False, containerd_version=(2, 2, 2)))  # below 2.2.3 the pause does not go through SOCI


# ---------------------------------------------------------------------------------------------
# instance facts: nodeadm's size floor of the pinned release, instance store


def facts(vcpus: int, gib: float, store: bool = False) -> InstanceFacts:
    return InstanceFacts(vcpus=vcpus, memory_mib=int(gib * 1024), instance_store=store)


@pytest.mark.parametrize("release, f, ok", [
    ("v20250915", facts(4, 16), False),   # old floor: 8 vCPU
    ("v20250915", facts(8, 8), False),    # 8 GiB EC2 memory is below 8 GiB online + margin
    ("v20250915", facts(8, 8.25), True),
    ("v20250915", facts(8, 16), True),
    ("v20251007", facts(4, 16), False),   # last release of the old floor
    ("v20251016", facts(4, 16), True),    # first of the new floor (amazon-eks-ami#2461)
    ("v20251016", facts(4, 7.2), False),  # 7 GiB + 3 % margin
    ("v20251016", facts(4, 7.25), True),
    ("v20251016", facts(3, 32), False),
    ("v20260714", facts(4, 8), True),     # c7i.xlarge
])
def test_size_floor_per_release(release: str, f: InstanceFacts, ok: bool) -> None:
    k8s = "1.33"
    spec = ng(release, k8s, types=("x1.test",), **FIP)
    p = checked(spec)
    if ok:
        assert rules.check_instance_types(spec, p, {"x1.test": f}) == []
        return
    with pytest.raises(SpecError) as e:
        rules.check_instance_types(spec, p, {"x1.test": f}, "nodeGroups[2]")
    assert e.value.path == "nodeGroups[2].instanceTypes"
    floor = p.size_floor
    assert floor is not None and f">= {floor.vcpus} vCPU and >= {floor.memory_gib} GiB" in e.value.message
    assert f"AL2023 release {release}" in e.value.message and "x1.test (instanceTypes[0]" in e.value.message


def test_size_floor_lists_every_small_type_and_only_those() -> None:
    spec = ng("v20260714", types=("t3.medium", "m7i.xlarge", "m7i.large"), **FIP)
    p = checked(spec)
    with pytest.raises(SpecError) as e:
        rules.check_instance_types(spec, p, {"t3.medium": facts(2, 4), "m7i.xlarge": facts(4, 16), "m7i.large": facts(2, 8)})
    assert "t3.medium (instanceTypes[0]: 2 vCPU, 4 GiB)" in e.value.message and "m7i.large (instanceTypes[2]: 2 vCPU, 8 GiB)" in e.value.message
    assert "m7i.xlarge" not in e.value.message


@pytest.mark.parametrize("spec", [
    pytest.param(ng("v20260714", types=("t3.medium",)), id="lazy"),
    pytest.param(ng("v20260714", types=("t3.medium",), **PAR_UP), id="parallel-release"),
    pytest.param(ng("1.57.0", types=("t3.medium",), **BOTTLE), id="bottlerocket"),
])
def test_no_floor_without_the_gate(spec: NodeGroupSpec) -> None:
    assert rules.check_instance_types(spec, checked(spec), {"t3.medium": facts(2, 4)}) == []


def test_unknown_facts_are_reported_not_guessed() -> None:
    spec = ng("v20260714", types=("m7i.metal-24xl",), **FIP)
    assert rules.check_instance_types(spec, checked(spec), {"m7i.metal-24xl": None}) == ["m7i.metal-24xl"]
    with pytest.raises(ValueError, match="no facts for"):
        rules.check_instance_types(spec, checked(spec), {})


def test_raid0_needs_instance_store() -> None:
    spec = ng("v20260714", types=("m6id.2xlarge", "m7i.2xlarge"), local_storage=LocalStorage.RAID0)
    p = checked(spec)
    rules.check_instance_types(spec, p, {"m6id.2xlarge": facts(8, 32, True), "m7i.2xlarge": facts(8, 32, True)})
    with pytest.raises(SpecError) as e:
        rules.check_instance_types(spec, p, {"m6id.2xlarge": facts(8, 32, True), "m7i.2xlarge": facts(8, 32)}, "nodeGroups[3]")
    assert e.value.path == "nodeGroups[3].localStorage" and "have none: m7i.2xlarge (instanceTypes[1]);" in e.value.message


# ---------------------------------------------------------------------------------------------
# warnings


def test_warnings() -> None:
    assert any("never rotate" in w for w in rules.warnings(ng(credentials=(CriProxy(),)), rules.profile(ng())))
    assert rules.warnings(ng(), rules.profile(ng())) == []
    slow = rules.warnings(ng(**FIP), rules.profile(ng(**FIP)))
    assert any("250 MiB/s" in w and ">= 600 MiB/s" in w for w in slow)
    raid_old = ng("v20251209", "1.33", local_storage=LocalStorage.RAID0)
    assert any("SOCI stays on EBS" in w and "amazon-eks-ami#2548" in w for w in rules.warnings(raid_old, rules.profile(raid_old)))
    raid_new = ng("v20251217", "1.33", local_storage=LocalStorage.RAID0)
    assert not any("SOCI stays on EBS" in w for w in rules.warnings(raid_new, rules.profile(raid_new)))
    gpu = ng(types=("g5.xlarge",))
    assert any("NVIDIA GPU type" in w and "ami.variant: nvidia" in w for w in rules.warnings(gpu, rules.profile(gpu)))
    noted = ng("v20260403", "1.33")
    assert any("amazon-eks-ami" not in w and "path escapes from parent" in w for w in rules.warnings(noted, rules.profile(noted)))


# ---------------------------------------------------------------------------------------------
# the stack: kubelet skew, unique names


@pytest.mark.parametrize("node, ok", [("1.33", True), ("1.30", True), ("1.29", False), ("1.34", False)])
def test_skew_boundaries(node: str, ok: bool) -> None:
    spec = ng("v20260714", node if node != "1.29" else "1.29")
    if ok:
        rules.check_skew("1.33", spec, "nodeGroups[0]")
        return
    with pytest.raises(SpecError) as e:
        rules.check_skew("1.33", spec, "nodeGroups[0]")
    assert e.value.path == "nodeGroups[0].kubernetesVersion"


def test_unique_names() -> None:
    with pytest.raises(SpecError) as e:
        rules.check_nodes("1.33", [("nodeGroups[0]", ng()), ("nodeGroups[1]", ng())], "c")
    assert e.value.path == "nodeGroups[1].name" and "already the name of nodeGroups[0]" in e.value.message
