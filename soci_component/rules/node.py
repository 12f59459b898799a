"""Every rule relating a node group's or pool's settings to each other and to its pinned AMI. Pure."""

from __future__ import annotations

from ..ami import NodeProfile
from ..errors import SpecError, at
from ..instances import AMD, NEURON, NVIDIA, OTHER, instance_accelerator
from ..spec import (
    DEFAULT_SOCI_ROOT,
    DEFAULT_SOCI_VERSION,
    AmiPackage,
    ContentStore,
    CredentialKind,
    CriProxy,
    LocalStorage,
    NodePoolSpec,
    NodeSpec,
    OperatingSystem,
    ParallelTuning,
    PullMode,
    SociTuning,
    UpstreamRelease,
    Variant,
    arch_of,
    parse_version,
)
from .catalogue import FIRST_AL2023_SOCI, containerd_problem, release_name, suggestion


def check_node_group(spec: NodeSpec, p: NodeProfile, path: str = "") -> None:
    """Every rule relating the node group's settings to each other and to its AMI. Paths relative to the group, prefixed with ``path``."""
    with at(path):
        _check_arch(spec)
        _check_release(spec, p)
        _check_os(spec, p)
        _check_soci_source(spec, p)
        _check_storage(spec, p)
        _check_accelerators(spec)
        _check_inert_settings(spec, p)


def _check_arch(spec: NodeSpec) -> None:
    arch = spec.arch
    declared = isinstance(spec, NodePoolSpec) and spec.architecture is not None
    for i, t in enumerate(spec.instance_types):
        other = arch_of(t)
        if other is not arch:
            against = f"the pool's architecture is {arch.value}" if declared else f"'{spec.instance_types[0]}' (instanceTypes[0]) is {arch.value}"
            raise SpecError(f"instanceTypes[{i}]", f"'{t}' is {other.value} but {against}; a node group runs one AMI, "
                                                   "so all its instance types must share an architecture: split them into two node groups")


def _check_release(spec: NodeSpec, p: NodeProfile) -> None:
    if isinstance(spec, NodePoolSpec) and spec.ami.ami_id is not None:
        raise SpecError("ami.amiId", "a Karpenter pool pins a catalogued release (EC2NodeClass amiSelectorTerms alias, e.g. al2023@v20260714), "
                                     "so the release rules apply; set ami.release")
    if p.os is not spec.os:
        raise SpecError("os", f"the node group says {spec.os.value} but its AMI is {p.os.value}")
    if p.refused:
        raise SpecError("ami.release", f"{release_name(p)} {p.refused}; {suggestion(spec)}")
    if p.abandoned:
        raise SpecError("ami.release", f"{release_name(p)} is marked [ABANDONED] in the amazon-eks-ami CHANGELOG, so it is not a supported release; {suggestion(spec)}")
    problem = containerd_problem(p.containerd_version)
    if problem:
        if p.release is None:
            raise SpecError("ami.containerdVersion", f"containerd {p.containerd} (stated for AMI {p.ami_id}) {problem}; use an AMI with a newer containerd, "
                                                     "or pin an AL2023 release (v20241016 or later)")
        raise SpecError("ami.release", f"{release_name(p)} ships containerd {p.containerd} for Kubernetes {p.kubernetes_version}, which {problem}; {suggestion(spec)}")


def _check_os(spec: NodeSpec, p: NodeProfile) -> None:
    if spec.os is OperatingSystem.AL2023:
        return
    for i, c in enumerate(spec.creds):
        if not isinstance(c, CriProxy):
            raise SpecError(f"credentials[{i}]", f"'{c.kind.value}' does not exist on Bottlerocket, whose SOCI takes credentials only through the CRI proxy "
                                                 "(the kubelet's ECR credential provider and imagePullSecrets); use 'cri-proxy'")
    if spec.pull_mode is not PullMode.PARALLEL:
        raise SpecError("pullMode", f"'{spec.pull_mode.value}' is not available on Bottlerocket: its SOCI runs parallel-pull-unpack only (bottlerocket#4785); "
                                    "use 'parallel', or AL2023 for lazy loading")
    if not isinstance(spec.soci_source, AmiPackage):
        raise SpecError("sociSource", "Bottlerocket uses the SOCI it ships; a release tarball cannot be installed on it; use 'ami'")
    if spec.tuning.root != DEFAULT_SOCI_ROOT or spec.tuning.mirrors or spec.tuning.content_store is not None:
        raise SpecError("tuning", "Bottlerocket exposes only the parallel-pull knobs; 'root', 'mirrors' and 'contentStore' cannot be set there")
    if spec.ami.variant is Variant.NEURON:
        raise SpecError("ami.variant", "Bottlerocket has 'standard' and 'nvidia' variants; Neuron runs on 'standard'")
    if p.release is None:
        raise SpecError("ami.amiId", f"a raw Bottlerocket AMI ({spec.ami.ami_id}) cannot be checked for SOCI (Bottlerocket >= 1.44.0), and Bottlerocket "
                                     "can only use the SOCI it ships; pin a Bottlerocket release as ami.release instead")
    if not p.soci_package:
        raise SpecError("ami.release", f"{release_name(p)} has no SOCI snapshotter (added in 1.44.0); {suggestion(spec)}")


def _check_soci_source(spec: NodeSpec, p: NodeProfile) -> None:
    mode, source = spec.pull_mode, spec.soci_source
    if mode is PullMode.LAZY_WITH_PARALLEL_FALLBACK and isinstance(source, AmiPackage):
        raise SpecError("sociSource", "'lazy-with-parallel-fallback' needs SOCI >= 0.14.0 (experimental_parallel_pull_as_fallback), and the version of the "
                                      "AMI's soci-snapshotter package is not published (an older SOCI would silently ignore the key); use a 'release' "
                                      f"sociSource (default version {DEFAULT_SOCI_VERSION})")
    if isinstance(source, UpstreamRelease):
        v = source.version_tuple
        if mode is PullMode.LAZY_WITH_PARALLEL_FALLBACK and v < (0, 14, 0):
            raise SpecError("sociSource.version", f"{source.version} lacks experimental_parallel_pull_as_fallback; 'lazy-with-parallel-fallback' needs SOCI >= 0.14.0")
        if mode.parallel and v < (0, 11, 0):
            raise SpecError("sociSource.version", f"{source.version} has no parallel pull mode; '{mode.value}' needs SOCI >= 0.11.0")
        if mode.lazy and v < (0, 10, 0):
            raise SpecError("sociSource.version", f"{source.version} predates SOCI index manifest v2 and the fixes this component relies on; use >= 0.10.0 "
                                                  f"(default {DEFAULT_SOCI_VERSION})")
    if mode.parallel and spec.content_store is ContentStore.SOCI and not spec.tuning.parallel.discard_unpacked_layers:
        raise SpecError("tuning.parallel.discardUnpackedLayers",
                        f"pull mode '{mode.value}' with the 'soci' content store needs discardUnpackedLayers: true (SOCI refuses to start otherwise); "
                        "or set tuning.contentStore: containerd")
    if spec.os is not OperatingSystem.AL2023 or not isinstance(source, AmiPackage):
        return
    if p.release is None:
        raise SpecError("sociSource", f"'ami' needs the image's soci-snapshotter package{' and nodeadm parallel-pull gate' if mode is PullMode.PARALLEL else ''}, "
                                      f"which a raw ami.amiId ({p.ami_id}) cannot be confirmed to have; use an upstream SOCI release as sociSource "
                                      f"(installed and configured by this component), or pin a catalogued AL2023 release ({FIRST_AL2023_SOCI} or later) as ami.release")
    if spec.uses_fast_image_pull:
        if not p.nodeadm_known:
            raise SpecError("ami.release", f"'parallel' with sociSource 'ami' uses nodeadm's parallel-pull gate, and the gate and size floor of {release_name(p)}'s nodeadm "
                                        "were not read from its source (python -m tools.catalogue sync --eks-ami-repo ..., in a soci-eks checkout); pin a synced release, or use an "
                                        f"upstream SOCI release as sociSource; {suggestion(spec)}")
        if p.feature_gate is None:
            raise SpecError("ami.release", f"'parallel' with sociSource 'ami' uses nodeadm's parallel-pull gate, which {release_name(p)}'s nodeadm does not have "
                                        f"(AggressiveImagePull from {FIRST_AL2023_SOCI}, renamed FastImagePull in v20250821, amazon-eks-ami#2381; an unknown gate "
                                        f"is ignored without a message); use a later release, or an upstream SOCI release as sociSource; {suggestion(spec)}")
        if p.pause_through_soci and not p.pause_import:
            raise SpecError("ami.release", f"{release_name(p)} ships containerd {p.containerd}, which unpacks the pause image through SOCI, and its nodeadm does not "
                                        "import the pause image into SOCI under its gate (amazon-eks-ami#2710, fixed by #2717): pods would never start; "
                                        f"use a later release, or an upstream SOCI release as sociSource; {suggestion(spec)}")
        if spec.credential(CredentialKind.CRI_PROXY) is None:
            raise SpecError("credentials", f"'parallel' with the AMI's SOCI uses nodeadm's {p.feature_gate} gate, which always points the kubelet at SOCI's image "
                                           "service: add 'cri-proxy' to credentials (parallel pull fetches whole layers at pull time, so non-rotating "
                                           "credentials are fine here), or use a 'release' sociSource")
    if not p.soci_package:
        raise SpecError("sociSource", f"'ami' uses the image's soci-snapshotter package, which {release_name(p)} does not ship (first in {FIRST_AL2023_SOCI}, "
                                      f"templates/al2023/provisioners/install-worker.sh); use {FIRST_AL2023_SOCI} or later, or an upstream SOCI release as "
                                      f"sociSource; {suggestion(spec)}")


def _check_accelerators(spec: NodeSpec) -> None:
    """A variant whose driver is for another accelerator than the instance's: the node joins, its accelerator never works.
    AL2023's nvidia AMIs carry no Neuron driver, its neuron AMIs no NVIDIA driver; Bottlerocket drives Neuron from its
    standard variants (bottlerocket#4400, 1.30.0+), so a Neuron type with its nvidia variant is the wrong one there too."""
    variant = spec.ami.variant
    for i, t in enumerate(spec.instance_types):
        acc = instance_accelerator(t)
        if acc == NVIDIA and variant is Variant.NEURON:
            raise SpecError("ami.variant", f"'neuron' AMIs have no NVIDIA driver, but {t} (instanceTypes[{i}]) is an NVIDIA GPU type; use variant 'nvidia'")
        if acc == NEURON and variant is Variant.NVIDIA:
            fix = "'standard' (Bottlerocket drives Neuron from its standard variant)" if spec.os is OperatingSystem.BOTTLEROCKET else "'neuron'"
            raise SpecError("ami.variant", f"'nvidia' AMIs have no Neuron driver, but {t} (instanceTypes[{i}]) is an Inferentia/Trainium type; use variant {fix}")
        if acc in (AMD, OTHER) and variant is not Variant.STANDARD:
            raise SpecError("ami.variant", f"{t} (instanceTypes[{i}]) has no NVIDIA GPU or Neuron device, so the '{variant.value}' AMI's driver has nothing to "
                                           "drive; use variant 'standard'")


def _check_inert_settings(spec: NodeSpec, p: NodeProfile) -> None:
    """Settings that would silently do nothing are errors, with the reason."""
    t = spec.tuning
    if spec.pull_mode is PullMode.LAZY and t.parallel != ParallelTuning():
        raise SpecError("tuning.parallel", "has no effect in pull mode 'lazy' (SOCI's parallel-pull-unpack mode is off); remove it, or use "
                                           "'lazy-with-parallel-fallback' / 'parallel'")
    if spec.pull_mode is PullMode.PARALLEL and spec.images:
        raise SpecError("images", "has no effect in pull mode 'parallel': no SOCI index is read, so there is nothing for 'images check' to check; remove it")
    if spec.pull_mode is PullMode.PARALLEL and t.v1_indexes:
        raise SpecError("tuning.v1Indexes", "has no effect in pull mode 'parallel' (no lazy loading, indexes are not read); remove it")
    if spec.uses_fast_image_pull and t.root != DEFAULT_SOCI_ROOT:
        raise SpecError("tuning.root", f"with the AMI's SOCI in 'parallel' mode nodeadm's {p.feature_gate or 'parallel-pull'} gate runs SOCI with its own "
                                       f"root ({DEFAULT_SOCI_ROOT}), so this root would not be used; remove it, or use a 'release' sociSource")
    if spec.os is OperatingSystem.BOTTLEROCKET:
        for name, value, default in (("minLayerSize", t.min_layer_size, SociTuning().min_layer_size), ("v1Indexes", t.v1_indexes, False),
                                     ("parallel.decompressor", t.parallel.decompressor, ParallelTuning().decompressor), ("metricsAddress", t.metrics_address, None)):
            if value != default:
                raise SpecError(f"tuning.{name}", "Bottlerocket has no setting for it (settings.container-runtime-plugins.soci-snapshotter has only the "
                                                  "parallel-pull-unpack knobs); remove it")
    source = spec.soci_source
    if isinstance(source, UpstreamRelease) and source.url_base.startswith("http://") and not source.sha256.get(spec.arch.release_arch):
        raise SpecError("sociSource.sha256", f"urlBase is plain http://, so a checksum fetched next to the tarball would come over the same "
                                             f"unauthenticated channel; pin sha256.{spec.arch.release_arch} (or use https://)")


def _check_storage(spec: NodeSpec, p: NodeProfile) -> None:
    if spec.local_storage is LocalStorage.RAID0 and spec.tuning.root != DEFAULT_SOCI_ROOT:
        raise SpecError("localStorage", f"RAID0 bind-mounts only {DEFAULT_SOCI_ROOT} onto instance store; a custom tuning.root would stay on EBS")
    if (isinstance(spec, NodePoolSpec) and spec.os is OperatingSystem.BOTTLEROCKET and spec.local_storage is LocalStorage.RAID0
            and p.release is not None and parse_version(p.release) < (1, 46, 0)):
        raise SpecError("localStorage", f"on {release_name(p)} Karpenter's instance-storage bind is its legacy list, which misses SOCI's directory "
                                        "(karpenter-provider-aws#8393; Karpenter uses Bottlerocket's default bind from 1.46.0): pin 1.46.0 or later")
