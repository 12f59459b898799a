"""Every rule that relates settings to each other, to the pinned AMI, to instance types or to the
stack — one function per rule family, each error a :class:`SpecError` with the key path.

Called by the offline ``render`` and by the Pulumi components alike, so preview and ``render``
refuse the same inputs. Sources for each rule are next to it.

Pure: no pulumi import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NoReturn

from . import ami, naming
from .ami import NodeProfile
from .ami.catalogue import Release
from .errors import SpecError, at, join
from .instances import InstanceFacts, instance_accelerator
from .spec import (
    DEFAULT_SOCI_ROOT,
    DEFAULT_SOCI_VERSION,
    AmiPackage,
    ContentStore,
    CredentialKind,
    CriProxy,
    LocalStorage,
    NodeGroupSpec,
    NodePoolSpec,
    NodeSpec,
    OperatingSystem,
    ParallelTuning,
    PullMode,
    SociTuning,
    StackSpec,
    UpstreamRelease,
    Variant,
    Version,
    arch_of,
    k8s_minor,
    parse_version,
)

__all__ = [
    "AL2_END_OF_LIFE",
    "FIRST_AL2023_SOCI",
    "MAX_KUBELET_SKEW",
    "MEMORY_MARGIN",
    "PARALLEL_MIN_THROUGHPUT",
    "check_instance_types",
    "check_kubernetes_version",
    "check_node_group",
    "check_nodes",
    "check_skew",
    "check_stack",
    "containerd_problem",
    "paths_of",
    "profile",
    "refuse_al2",
    "stack_warnings_for",
    "usable_releases",
    "warnings",
]

AL2_END_OF_LIFE = "2025-11-26"
"""Amazon EKS stopped publishing EKS-optimized AL2 AMIs on this date."""
FIRST_AL2023_SOCI = "v20250813"
"""First AL2023 release with the soci-snapshotter package and a nodeadm parallel-pull gate (amazon-eks-ami#2352)."""
MAX_KUBELET_SKEW = 3
"""kubelet may be up to three minor versions older than the API server, never newer
(https://kubernetes.io/releases/version-skew-policy/#kubelet, Kubernetes >= 1.28)."""
PARALLEL_MIN_THROUGHPUT = 600
"""MiB/s of EBS throughput nodeadm's documentation recommends for parallel pull."""
MEMORY_MARGIN = 0.03
"""nodeadm compares the memory the kernel reports online with its floor; that is below the EC2
figure (a c6a.2xlarge with 16 GiB showed 15.75 GiB: nodeadm/internal/containerd/config.go at
v20251016). An EC2 memory size must exceed the floor by this share to count as enough."""

EKS_NODES_PER_GROUP = 450
"""EKS default quota: nodes per managed node group."""
EKS_NODE_GROUPS_PER_CLUSTER = 30
"""EKS default quota: managed node groups per cluster."""

_MIN_17: Version = (1, 7, 16)
_MIN_16: Version = (1, 6, 32)


# --------------------------------------------------------------------------------------------
# catalogue rules


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


def _suggest(spec: NodeSpec) -> str:
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
            raise SpecError(e.path, f"{e.message}; {_suggest(spec)}") from None


def _name(p: NodeProfile) -> str:
    if p.release is None:
        return f"AMI {p.ami_id}"
    return f"AL2023 release {p.release}" if p.os is OperatingSystem.AL2023 else f"Bottlerocket {p.release}"


# --------------------------------------------------------------------------------------------
# node group vs profile


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
        raise SpecError("ami.release", f"{_name(p)} {p.refused}; {_suggest(spec)}")
    if p.abandoned:
        raise SpecError("ami.release", f"{_name(p)} is marked [ABANDONED] in the amazon-eks-ami CHANGELOG, so it is not a supported release; {_suggest(spec)}")
    problem = containerd_problem(p.containerd_version)
    if problem:
        if p.release is None:
            raise SpecError("ami.containerdVersion", f"containerd {p.containerd} (stated for AMI {p.ami_id}) {problem}; use an AMI with a newer containerd, "
                                                     "or pin an AL2023 release (v20241016 or later)")
        raise SpecError("ami.release", f"{_name(p)} ships containerd {p.containerd} for Kubernetes {p.kubernetes_version}, which {problem}; {_suggest(spec)}")


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
        raise SpecError("ami.release", f"{_name(p)} has no SOCI snapshotter (added in 1.44.0); {_suggest(spec)}")


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
            raise SpecError("pullMode", f"'parallel' with sociSource 'ami' uses nodeadm's parallel-pull gate, and the gate and size floor of {_name(p)}'s nodeadm "
                                        "were not read from its source (python -m tools.catalogue sync --eks-ami-repo ..., in a soci-eks checkout); pin a synced release, or use an "
                                        f"upstream SOCI release as sociSource; {_suggest(spec)}")
        if p.feature_gate is None:
            raise SpecError("pullMode", f"'parallel' with sociSource 'ami' uses nodeadm's parallel-pull gate, which {_name(p)}'s nodeadm does not have "
                                        f"(AggressiveImagePull from {FIRST_AL2023_SOCI}, renamed FastImagePull in v20250821, amazon-eks-ami#2381; an unknown gate "
                                        f"is ignored without a message); use a later release, or an upstream SOCI release as sociSource; {_suggest(spec)}")
        if p.pause_through_soci and not p.pause_import:
            raise SpecError("pullMode", f"{_name(p)} ships containerd {p.containerd}, which unpacks the pause image through SOCI, and its nodeadm does not "
                                        "import the pause image into SOCI under its gate (amazon-eks-ami#2710, fixed by #2717): pods would never start; "
                                        f"use a later release, or an upstream SOCI release as sociSource; {_suggest(spec)}")
        if spec.credential(CredentialKind.CRI_PROXY) is None:
            raise SpecError("credentials", f"'parallel' with the AMI's SOCI uses nodeadm's {p.feature_gate} gate, which always points the kubelet at SOCI's image "
                                           "service: add 'cri-proxy' to credentials (parallel pull fetches whole layers at pull time, so non-rotating "
                                           "credentials are fine here), or use a 'release' sociSource")
    if not p.soci_package:
        raise SpecError("sociSource", f"'ami' uses the image's soci-snapshotter package, which {_name(p)} does not ship (first in {FIRST_AL2023_SOCI}, "
                                      f"templates/al2023/provisioners/install-worker.sh); use {FIRST_AL2023_SOCI} or later, or an upstream SOCI release as "
                                      f"sociSource; {_suggest(spec)}")


def _check_accelerators(spec: NodeSpec) -> None:
    for i, t in enumerate(spec.instance_types):
        if instance_accelerator(t) == "nvidia" and spec.ami.variant is Variant.NEURON:
            raise SpecError("ami.variant", f"'neuron' AMIs have no NVIDIA driver, but {t} (instanceTypes[{i}]) is an NVIDIA GPU type; use variant 'nvidia'")


def _check_inert_settings(spec: NodeSpec, p: NodeProfile) -> None:
    """Settings that would silently do nothing are errors, with the reason."""
    t = spec.tuning
    if spec.pull_mode is PullMode.LAZY and t.parallel != ParallelTuning():
        raise SpecError("tuning.parallel", "has no effect in pull mode 'lazy' (SOCI's parallel-pull-unpack mode is off); remove it, or use "
                                           "'lazy-with-parallel-fallback' / 'parallel'")
    if spec.pull_mode is PullMode.PARALLEL and t.v1_indexes:
        raise SpecError("tuning.v1Indexes", "has no effect in pull mode 'parallel' (no lazy loading, indexes are not read); remove it")
    if spec.uses_fast_image_pull and t.root != DEFAULT_SOCI_ROOT:
        raise SpecError("tuning.root", f"with the AMI's SOCI in 'parallel' mode nodeadm's {p.feature_gate or 'parallel-pull'} gate runs SOCI with its own "
                                       f"root ({DEFAULT_SOCI_ROOT}), so this root would not be used; remove it, or use a 'release' sociSource")
    if spec.os is OperatingSystem.BOTTLEROCKET:
        for name, value, default in (("minLayerSize", t.min_layer_size, SociTuning().min_layer_size), ("v1Indexes", t.v1_indexes, False),
                                     ("parallel.decompressor", t.parallel.decompressor, ParallelTuning().decompressor)):
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
        raise SpecError("localStorage", f"on {_name(p)} Karpenter's instance-storage bind is its legacy list, which misses SOCI's directory "
                                        "(karpenter-provider-aws#8393; Karpenter uses Bottlerocket's default bind from 1.46.0): pin 1.46.0 or later")


# --------------------------------------------------------------------------------------------
# instance types


def check_instance_types(spec: NodeSpec, p: NodeProfile, facts: Mapping[str, InstanceFacts | None], path: str = "") -> list[str]:
    """Rules that need each instance type's facts (``aws.ec2.get_instance_type`` at preview, :func:`instances.estimate` offline).

    Raises for types below nodeadm's size floor of the pinned release (the gate would be silently
    ignored) and for ``raid0`` on types without instance store; returns the types whose facts were
    unknown (``facts[t] is None``), which could not be checked."""
    missing = [t for t in spec.instance_types if t not in facts]
    if missing:
        raise ValueError(f"check_instance_types: no facts for {', '.join(missing)}; look every instance type up first")
    unknown = [t for t in spec.instance_types if facts[t] is None]
    known = {t: f for t, f in facts.items() if f is not None}
    with at(path):
        if spec.uses_fast_image_pull and p.size_floor is not None:
            floor = p.size_floor
            need_mib = floor.memory_gib * 1024 * (1 + MEMORY_MARGIN)
            small = []
            for i, t in enumerate(spec.instance_types):
                f = known.get(t)
                if f is None:
                    continue
                if f.vcpus * 1000 < floor.milli_cpu or f.memory_mib < need_mib:
                    memory = f"{f.memory_mib / 1024:g} GiB" if f.memory_mib % 512 == 0 else f"{f.memory_mib} MiB"
                    small.append(f"{t} (instanceTypes[{i}]: {f.vcpus} vCPU, {memory})")
            if small:
                raise SpecError("instanceTypes", f"pull mode 'parallel' with the AMI's SOCI uses nodeadm's {p.feature_gate} gate, which in {_name(p)} turns SOCI on "
                                                 f"only with >= {floor.vcpus} vCPU and >= {floor.memory_gib} GiB of online memory (the kernel reports less than "
                                                 f"EC2's figure, so EC2 memory must exceed {floor.memory_gib} GiB by {MEMORY_MARGIN:.0%}); below that the node "
                                                 f"comes up without SOCI. Too small: {', '.join(small)}; use larger types, or an upstream SOCI release as "
                                                 "sociSource (configured by this component, no size floor)")
        if spec.local_storage is LocalStorage.RAID0:
            without = [f"{t} (instanceTypes[{i}])" for i, t in enumerate(spec.instance_types) if t in known and not known[t].instance_store]
            if without:
                raise SpecError("localStorage", f"'raid0' puts containerd and SOCI on the instance-store NVMe, but these types have none: {', '.join(without)}; "
                                                "use types with local NVMe (e.g. m6id, c6id, r6id, m7gd) or localStorage: none")
    return unknown


# --------------------------------------------------------------------------------------------
# warnings


def warnings(spec: NodeSpec, p: NodeProfile) -> list[str]:
    """Things that work but that a careful operator wants to know at preview time."""
    out = []
    ng = f"node group {spec.name}"
    if spec.credential(CredentialKind.CRI_PROXY) is not None and spec.pull_mode.lazy:
        out.append(f"{ng}: 'cri-proxy' credentials never rotate and are lost when SOCI restarts; lazily "
                   "loaded images then fail to fetch data after ~12 h on ECR (soci#1084). Prefer 'ecr-credential-helper'.")
    if isinstance(spec, NodeGroupSpec) and spec.scaling.max_size > EKS_NODES_PER_GROUP:
        out.append(f"{ng}: maxSize {spec.scaling.max_size} is above EKS's default quota of {EKS_NODES_PER_GROUP} nodes per managed node group "
                   "(Service Quotas: raise it first)")
    if spec.pull_mode.parallel and spec.local_storage is LocalStorage.NONE and spec.disk.throughput_mibps < PARALLEL_MIN_THROUGHPUT:
        out.append(f"{ng}: parallel pull is bound by disk throughput; the root volume has {spec.disk.throughput_mibps} MiB/s, "
                   f"nodeadm recommends >= {PARALLEL_MIN_THROUGHPUT} MiB/s (disk.preset: parallel) or instance store (localStorage: raid0)")
    if spec.os is OperatingSystem.AL2023 and spec.local_storage is LocalStorage.RAID0 and p.release is not None and not p.soci_on_instance_store:
        out.append(f"{ng}: {p.release} puts containerd on the instance-store RAID but not SOCI's root (from v20251217, amazon-eks-ami#2548); SOCI stays on EBS")
    for note in p.notes:
        out.append(f"{ng}: {_name(p)}: {note}")
    for t in spec.instance_types:
        acc = instance_accelerator(t)
        if acc is not None and spec.ami.variant is Variant.STANDARD:
            kind = "an NVIDIA GPU" if acc == "nvidia" else "an Inferentia/Trainium"
            out.append(f"{ng}: {t} is {kind} type, but ami.variant is 'standard' (no {'GPU' if acc == 'nvidia' else 'Neuron'} driver); set ami.variant: {acc}")
    return out


# --------------------------------------------------------------------------------------------
# the stack


def check_skew(control: str, g: NodeSpec, path: str = "") -> None:
    """A kubelet at most :data:`MAX_KUBELET_SKEW` minors older than the control plane, never newer."""
    n, c = k8s_minor(g.kubernetes_version), k8s_minor(control)
    where = join(path, "kubernetesVersion")
    if n > c:
        raise SpecError(where, f"{g.kubernetes_version} is newer than the control plane ({control}); kubelets may not be newer than the API server")
    if c - n > MAX_KUBELET_SKEW:
        raise SpecError(where, f"{g.kubernetes_version} is more than {MAX_KUBELET_SKEW} minor versions older than the control plane ({control}) "
                               "(Kubernetes version skew policy)")


def paths_of(stack: StackSpec) -> list[tuple[str, NodeSpec]]:
    """Every node group and pool of the stack with its key path: ``nodeGroups[i]`` then ``nodePools[j]``."""
    return [(f"nodeGroups[{i}]", g) for i, g in enumerate(stack.node_groups)] + [(f"nodePools[{j}]", p) for j, p in enumerate(stack.node_pools)]


def check_nodes(control: str, nodes: Sequence[tuple[str, NodeSpec]], cluster: str) -> None:
    """The node groups and pools of one cluster, each with its key path: at least one; names unique across groups and pools;
    kubelets at most :data:`MAX_KUBELET_SKEW` minors older than the control plane, never newer; the AWS names
    :class:`~soci_component.SociCluster` derives from ``cluster`` and each name within AWS's limits."""
    if not nodes:
        raise SpecError("nodeGroups", "needs at least one node group (or nodePools)")
    seen: dict[str, str] = {}
    for where, g in nodes:
        if not g.name:
            raise SpecError(join(where, "name"), "is required: the node group's or pool's name (1-40 lowercase letters, digits and '-')")
        if g.name in seen:
            raise SpecError(join(where, "name"), f"{g.name!r} is already the name of {seen[g.name]}; names must be unique across node groups and pools")
        seen[g.name] = where
        check_skew(control, g, where)
        names = naming.node_names(naming.member_name(cluster, g.name), pool=isinstance(g, NodePoolSpec))
        naming.check_lengths(names, join(where, "name"), "the node group name or cluster.name")


def check_kubernetes_version(version: str, path: str = "cluster.kubernetesVersion") -> None:
    """A control-plane version some catalogued AMI release ships (EKS has had no other)."""
    known = sorted({k for r in ami.catalogue().releases.values() for k in (r.builds or {})}, key=k8s_minor)
    if version not in known:
        raise SpecError(path, f"{version} is not a Kubernetes version any catalogued EKS AMI ships ({known[0]}..{known[-1]})")


def stack_warnings_for(node_groups: int) -> list[str]:
    if node_groups > EKS_NODE_GROUPS_PER_CLUSTER:
        return [f"{node_groups} node groups: EKS's default quota is {EKS_NODE_GROUPS_PER_CLUSTER} managed node groups per cluster (Service Quotas)"]
    return []


def check_stack(stack: StackSpec) -> None:
    """The stack's own rules (control-plane version, the nodes of the cluster: :func:`check_nodes`). The node rules
    come after, per node, in :func:`soci_component.pipeline.plan_node`."""
    check_kubernetes_version(stack.cluster.kubernetes_version)
    check_nodes(stack.cluster.kubernetes_version, paths_of(stack), stack.cluster.name)
