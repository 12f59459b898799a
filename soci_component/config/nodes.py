"""The schema of ``nodeGroups[i]`` and ``nodePools[i]``: what each key reads into. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from .. import rules
from ..errors import SpecError, at, join, short
from ..spec import (
    DISK_PRESETS,
    AmiPackage,
    AmiPin,
    Arch,
    CapacityType,
    ClusterSpec,
    ConsolidationPolicy,
    ContentStore,
    Credential,
    CredentialKind,
    CriProxy,
    Decompressor,
    Disk,
    Disruption,
    EcrCredentialHelper,
    KarpenterSpec,
    KubernetesSecrets,
    LocalStorage,
    NodeGroupSpec,
    OperatingSystem,
    ParallelTuning,
    PoolLimits,
    PullMode,
    RegistryMirror,
    Requirement,
    RequirementOperator,
    Scaling,
    SociSource,
    SociSourceKind,
    SociTuning,
    StaticCredentials,
    Taint,
    TaintEffect,
    UpstreamRelease,
    Variant,
)
from .readers import Reader, _mapping, _type_name, boolean, build, enum, fields, integer, list_of, string_map, text

# --------------------------------------------------------------------------------------------
# the schema

_parallel = build(ParallelTuning, {
    "maxConcurrentDownloads": ("max_concurrent_downloads", integer),
    "maxConcurrentDownloadsPerImage": ("max_concurrent_downloads_per_image", integer),
    "concurrentDownloadChunkSize": ("concurrent_download_chunk_size", text),
    "maxConcurrentUnpacks": ("max_concurrent_unpacks", integer),
    "maxConcurrentUnpacksPerImage": ("max_concurrent_unpacks_per_image", integer),
    "discardUnpackedLayers": ("discard_unpacked_layers", boolean),
    "decompressor": ("decompressor", lambda v, p: None if v is None or v == "none" else _decompressor(v, p)),
})  # fmt: skip
_decompressor = build(Decompressor, {"path": ("path", text), "args": ("args", list_of(text))}, required=("path",))
_mirror = build(RegistryMirror, {"host": ("host", text), "mirrors": ("mirrors", list_of(text)), "insecure": ("insecure", boolean)}, required=("host", "mirrors"))
_tuning = build(SociTuning, {
    "minLayerSize": ("min_layer_size", integer),
    "root": ("root", text),
    "contentStore": ("content_store", enum(ContentStore)),
    "parallel": ("parallel", _parallel),
    "mirrors": ("mirrors", list_of(_mirror)),
    "v1Indexes": ("v1_indexes", boolean),
    "metricsAddress": ("metrics_address", text),
})  # fmt: skip
_taint = build(Taint, {"key": ("key", text), "value": ("value", text), "effect": ("effect", enum(TaintEffect))}, required=("key", "effect"))
_scaling = build(Scaling, {"minSize": ("min_size", integer), "maxSize": ("max_size", integer), "desiredSize": ("desired_size", integer)})
_ami = build(AmiPin, {
    "release": ("release", text),
    "amiId": ("ami_id", text),
    "containerdVersion": ("containerd_version", text),
    "variant": ("variant", enum(Variant)),
})  # fmt: skip
_subnets = list_of(text)


def _disk(v: Any, path: str) -> Disk:
    c = fields({"preset": ("preset", enum(_Preset)), "sizeGiB": ("size_gib", integer), "iops": ("iops", integer), "throughputMiBps": ("throughput_mibps", integer)})(v, path)
    preset = DISK_PRESETS[c.pop("preset", _Preset.STANDARD).value]
    with at(path):
        return Disk(**{"size_gib": preset.size_gib, "iops": preset.iops, "throughput_mibps": preset.throughput_mibps, **c})


class _Preset(StrEnum):
    STANDARD = "standard"
    PARALLEL = "parallel"
    PARALLEL_MAX = "parallel-max"


_CREDENTIAL_KEYS = {CredentialKind.ECR_CREDENTIAL_HELPER: ("registries",), CredentialKind.STATIC: ("registry",)}


def _credential(v: Any, path: str) -> Credential:
    if isinstance(v, str):
        v = {"type": v}
    c = _mapping(v, path, ("type", "registries", "registry"), required=("type",))
    kind = enum(CredentialKind)(c["type"], join(path, "type"))
    extra = _CREDENTIAL_KEYS.get(kind, ())
    for k in c:
        if k != "type" and k not in extra:
            raise SpecError(join(path, k), f"does not apply to '{kind.value}' credentials" + (f"; accepted: {', '.join(extra)}" if extra else ""))
    if kind is CredentialKind.ECR_CREDENTIAL_HELPER:
        registries = None if "registries" not in c else list_of(text)(c["registries"], join(path, "registries"))
        with at(path):
            return EcrCredentialHelper() if registries is None else EcrCredentialHelper(registries)
    if kind is CredentialKind.STATIC:
        if "registry" not in c:
            raise SpecError(join(path, "registry"), "is required for static credentials (the registry host they are for)")
        registry = text(c["registry"], join(path, "registry"))
        with at(path):
            return StaticCredentials(registry=registry)
    return CriProxy() if kind is CredentialKind.CRI_PROXY else KubernetesSecrets()


def _soci_source(v: Any, path: str) -> SociSource:
    if isinstance(v, str):
        v = {"type": v}
    c = _mapping(v, path, ("type", "version", "urlBase", "sha256"), required=("type",))
    kind = _source_kind(c["type"], join(path, "type"))
    if kind is SociSourceKind.AMI:
        for k in ("version", "urlBase", "sha256"):
            if k in c:
                raise SpecError(join(path, k), "applies to type 'release'; the AMI's package has its own version")
        return AmiPackage()
    kwargs = fields({"version": ("version", text), "urlBase": ("url_base", text), "sha256": ("sha256", _sha256)})(
        {k: x for k, x in c.items() if k != "type"}, path
    )
    with at(path):
        return UpstreamRelease(**kwargs)


def _sha256(v: Any, path: str) -> dict[str, str]:
    return {k: text(x, join(path, k)) for k, x in _mapping(v, path, ("amd64", "arm64")).items()}


def _source_kind(v: Any, path: str) -> SociSourceKind:
    if v not in [k.value for k in SociSourceKind]:
        raise SpecError(path, f"{short(v)} is not accepted; expected 'ami' (the node image's package) or 'release' (a pinned upstream tarball)")
    return SociSourceKind(v)


def _os(v: Any, path: str) -> OperatingSystem:
    if v in ("al2", "AL2", "amazon-linux-2"):
        rules.refuse_al2(path)
    return enum(OperatingSystem)(v, path)


def _k8s_version(v: Any, path: str) -> str:
    if not isinstance(v, str):
        raise SpecError(path, f"expected a Kubernetes minor version as a quoted string, e.g. '1.33'; got {_type_name(v)} {short(v)}")
    return text(v, path)


NODE_GROUP = {
    "name": ("name", text),
    "os": ("os", _os),
    "kubernetesVersion": ("kubernetes_version", _k8s_version),
    "ami": ("ami", _ami),
    "instanceTypes": ("instance_types", list_of(text)),
    "pullMode": ("pull_mode", enum(PullMode)),
    "credentials": ("credentials", list_of(_credential)),
    "sociSource": ("soci_source", _soci_source),
    "tuning": ("tuning", _tuning),
    "labels": ("labels", string_map("a string label value (quote numbers and booleans)")),
    "taints": ("taints", list_of(_taint)),
    "disk": ("disk", _disk),
    "localStorage": ("local_storage", enum(LocalStorage)),
    "capacityType": ("capacity_type", enum(CapacityType)),
    "scaling": ("scaling", _scaling),
    "subnetIds": ("subnet_ids", _subnets),
    "images": ("images", list_of(text)),
}
NODE_GROUP_KEYS = tuple(NODE_GROUP)
_requirement = build(Requirement, {"key": ("key", text), "operator": ("operator", enum(RequirementOperator)), "values": ("values", list_of(text))},
                     required=("key", "operator"))
_limits = build(PoolLimits, {"cpu": ("cpu", integer), "memoryGiB": ("memory_gib", integer)})
_disruption = build(Disruption, {
    "consolidationPolicy": ("consolidation_policy", enum(ConsolidationPolicy)),
    "consolidateAfter": ("consolidate_after", text),
    "budgets": ("budgets", list_of(text)),
})  # fmt: skip
NODE_POOL = {
    **{k: v for k, v in NODE_GROUP.items() if k not in ("capacityType", "scaling", "subnetIds")},
    "architecture": ("architecture", enum(Arch)),
    "capacityTypes": ("capacity_types", list_of(enum(CapacityType))),
    "requirements": ("requirements", list_of(_requirement)),
    "limits": ("limits", _limits),
    "disruption": ("disruption", _disruption),
    "weight": ("weight", integer),
    "expireAfter": ("expire_after", text),
}
_karpenter = build(KarpenterSpec, {"install": ("install", boolean), "version": ("version", text), "namespace": ("namespace", text)})


def _node_group(cluster: ClusterSpec, cls: type = NodeGroupSpec, table: Mapping[str, tuple[str, Reader]] | None = None) -> Reader:
    reader = fields(table or NODE_GROUP, required=("name", "ami", "instanceTypes") if cls is NodeGroupSpec else ("name", "ami"))

    def read(v: Any, path: str) -> Any:
        kwargs = reader(v, path)
        kwargs.setdefault("kubernetes_version", cluster.kubernetes_version)
        with at(path):
            return cls(**kwargs)

    return read
