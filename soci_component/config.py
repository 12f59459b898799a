"""Stack config (``stacks/Pulumi.<env>.yaml``, or the program's config) -> :class:`StackSpec`.

Shape only: types, unknown keys, required keys, key paths. Values are checked by the spec classes
(``spec.py``), relations by ``rules.py``; defaults live in the spec classes (a key the file does not
set is not passed, so YAML and Python get the same defaults). Every error names the key path
(``nodeGroups[1].instanceTypes[0]``) and what is accepted; unknown keys are errors with a
"did you mean" hint, so a typo never silently becomes a default.

Readers are tables: ``{config key: (attribute, reader)}``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from . import rules
from .errors import SpecError, at, join, key, short
from .spec import (
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
    DemoSpec,
    Disk,
    Disruption,
    EcrCredentialHelper,
    KarpenterSpec,
    KubernetesSecrets,
    LocalStorage,
    LogType,
    NatGateways,
    NodeGroupSpec,
    NodePoolSpec,
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
    StackSpec,
    StaticCredentials,
    Taint,
    TaintEffect,
    UpstreamRelease,
    Variant,
    VpcSpec,
    check_text,
)

__all__ = ["MAX_CONFIG_BYTES", "PROJECT", "load_stack_file", "parse", "parse_yaml"]

PROJECT = "soci-eks"
MAX_CONFIG_BYTES = 1 << 20
"""A stack file larger than 1 MiB is refused before it is parsed."""
_MAX_ALIASES = 32
"""YAML aliases expanded per document at most (an alias bomb expands exponentially)."""

Reader = Callable[[Any, str], Any]


# --------------------------------------------------------------------------------------------
# generic readers


def _type_name(v: Any) -> str:
    if v is None:
        return "null (an empty value)"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer", float: "a number"}.get(type(v), type(v).__name__)


def _mapping(v: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(v, dict):
        what = f"a mapping with keys {', '.join(allowed)}" if allowed else "a mapping"
        raise SpecError(path, f"expected {what}; got {_type_name(v)}" + (f" {short(v)}" if isinstance(v, (str, int, float)) and not isinstance(v, bool) else ""))
    for k in v:
        if not isinstance(k, str):
            raise SpecError(path, f"keys must be strings; got {_type_name(k)} {short(k)}")
        if allowed and k not in allowed:
            close = difflib.get_close_matches(k, allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise SpecError(key(path, k), f"unknown key{hint}; accepted: {', '.join(allowed)}")
    for k in required:
        if k not in v:
            raise SpecError(join(path, k), "is required")
    return v


def text(v: Any, path: str) -> str:
    return check_text(path, v)


def integer(v: Any, path: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise SpecError(path, f"expected an integer; got {_type_name(v)}" + ("" if v is None else f" {short(v)}"))
    return v


def boolean(v: Any, path: str) -> bool:
    if not isinstance(v, bool):
        raise SpecError(path, f"expected true or false; got {_type_name(v)}" + ("" if v is None else f" {short(v)}"))
    return v


def enum(e: type[StrEnum]) -> Reader:
    def read(v: Any, path: str) -> Any:
        values = [x.value for x in e]
        if v not in values:
            raise SpecError(path, f"{short(v)} is not accepted; expected one of: {', '.join(values)}")
        return e(v)

    return read


def list_of(item: Reader) -> Reader:
    def read(v: Any, path: str) -> tuple[Any, ...]:
        if not isinstance(v, list):
            raise SpecError(path, f"expected a list; got {_type_name(v)}" + (f" {short(v)}" if isinstance(v, (str, int, float)) else ""))
        return tuple(item(x, f"{path}[{i}]") for i, x in enumerate(v))

    return read


def string_map(value_what: str) -> Reader:
    def read(v: Any, path: str) -> dict[str, str]:
        m = _mapping(v, path, ())
        out = {}
        for k, x in m.items():
            if not isinstance(x, str):
                raise SpecError(key(path, k), f"expected {value_what}; got {_type_name(x)}" + ("" if x is None else f" {short(x)}"))
            out[k] = x
        return out

    return read


def fields(table: Mapping[str, tuple[str, Reader]], required: tuple[str, ...] = ()) -> Callable[[Any, str], dict[str, Any]]:
    """A reader of a mapping whose keys are ``table``'s; returns constructor keyword arguments for the keys present."""

    def read(v: Any, path: str) -> dict[str, Any]:
        m = _mapping(v, path, tuple(table), required)
        return {table[k][0]: table[k][1](x, join(path, k)) for k, x in m.items()}

    return read


def build(cls: type, table: Mapping[str, tuple[str, Reader]], required: tuple[str, ...] = ()) -> Reader:
    reader = fields(table, required)

    def read(v: Any, path: str) -> Any:
        kwargs = reader(v, path)
        with at(path):
            return cls(**kwargs)

    return read


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


_cluster = build(ClusterSpec, {
    "name": ("name", text),
    "kubernetesVersion": ("kubernetes_version", _k8s_version),
    "endpointPublicAccess": ("endpoint_public_access", boolean),
    "publicAccessCidrs": ("public_access_cidrs", list_of(text)),
    "serviceCidr": ("service_cidr", text),
    "enabledLogTypes": ("enabled_log_types", list_of(enum(LogType))),
}, required=("name", "kubernetesVersion"))  # fmt: skip
_VPC = {
    "cidr": ("cidr", text),
    "azCount": ("az_count", integer),
    "natGateways": ("nat_gateways", enum(NatGateways)),
    "vpcId": ("vpc_id", text),
    "privateSubnetIds": ("private_subnet_ids", _subnets),
    "publicSubnetIds": ("public_subnet_ids", _subnets),
}


def _vpc(v: Any, path: str) -> VpcSpec:
    c = _mapping(v, path, tuple(_VPC))
    if "vpcId" in c:
        for k in ("cidr", "azCount", "natGateways"):
            if k in c:
                raise SpecError(join(path, k), "applies to a new VPC; with 'vpcId' the existing VPC is used as it is")
    else:
        for k in ("privateSubnetIds", "publicSubnetIds"):
            if k in c:
                raise SpecError(join(path, k), "needs 'vpcId' (subnets of an existing VPC)")
    kwargs = fields(_VPC)(c, path)
    if "vpc_id" in kwargs:
        kwargs["cidr"] = None
    with at(path):
        return VpcSpec(**kwargs)


_demo = build(DemoSpec, {"enabled": ("enabled", boolean), "image": ("image", text), "replicas": ("replicas", integer)})
TOP_LEVEL_KEYS = ("cluster", "vpc", "nodeGroups", "nodePools", "karpenter", "demo", "tags", "registryCredentials")


@dataclass(frozen=True)
class _Namespaced:
    values: dict[str, Any]
    region: str | None


def _namespaces(config: Mapping[str, Any], region: str | None) -> _Namespaced:
    out: dict[str, Any] = {}
    for name_, value in config.items():
        if not isinstance(name_, str):
            raise SpecError("", f"config keys must be strings; got {_type_name(name_)} {short(name_)}")
        ns, sep, name = name_.partition(":")
        if not sep:
            out[name_] = value  # a bare key (tests, other callers): ours
            continue
        if ns == "aws":
            if name == "region":
                region = region or value
            continue
        if ns != PROJECT:
            if difflib.get_close_matches(ns, [PROJECT], n=1, cutoff=0.75):
                raise SpecError(name_, f"unknown config namespace {ns!r} (did you mean '{PROJECT}:{name}'?); this project's keys are '{PROJECT}:<key>'")
            continue
        out[name] = value
    return _Namespaced(out, region)


def parse(config: Mapping[str, Any], region: str | None = None, *, stack_file: bool = False) -> StackSpec:
    """Parse a project config mapping (keys with or without the ``soci-eks:`` prefix) into a stack spec.

    Shape and values only; the stack's rules (``rules.check_stack``) are applied by whoever uses the
    stack: the offline render and the components."""
    if not isinstance(config, Mapping):
        raise SpecError("config", f"expected a mapping of config keys; got {_type_name(config)}")
    ns = _namespaces(config, region)
    cfg = _mapping(ns.values, "", TOP_LEVEL_KEYS, required=("cluster",))
    if "nodeGroups" not in cfg and "nodePools" not in cfg:
        raise SpecError("nodeGroups", "is required (or nodePools): at least one SOCI node group or Karpenter node pool")
    if not ns.region:
        raise SpecError("aws:region", "is required (pulumi config set aws:region us-west-2)")
    from .spec import REGION_RE, check_match

    region_value = check_match("aws:region", ns.region, REGION_RE, "an AWS region such as 'us-west-2'")
    cluster = _cluster(cfg["cluster"], "cluster")
    stack_kwargs: dict[str, Any] = {"region": region_value, "cluster": cluster}
    if "vpc" in cfg:
        stack_kwargs["vpc"] = _vpc(cfg["vpc"], "vpc")
    if "nodeGroups" in cfg:
        stack_kwargs["node_groups"] = list_of(_node_group(cluster))(cfg["nodeGroups"], "nodeGroups")
    if "nodePools" in cfg:
        stack_kwargs["node_pools"] = list_of(_node_group(cluster, NodePoolSpec, NODE_POOL))(cfg["nodePools"], "nodePools")
        stack_kwargs["karpenter"] = _karpenter(cfg.get("karpenter", {}), "karpenter")
    elif "karpenter" in cfg:
        raise SpecError("karpenter", "applies to stacks with nodePools")
    if "demo" in cfg:
        stack_kwargs["demo"] = _demo(cfg["demo"], "demo")
    if "tags" in cfg:
        stack_kwargs["tags"] = string_map("a string tag value")(cfg["tags"], "tags")
    with at(""):
        stack = StackSpec(**stack_kwargs)
    if "registryCredentials" in cfg:
        _registry_credentials(cfg["registryCredentials"], stack.static_registries, stack_file)
    return stack


def _registry_credentials(v: Any, statics: tuple[str, ...], stack_file: bool) -> None:
    """Only the shape is checked (values are secrets, possibly still encrypted); values are never echoed."""
    if isinstance(v, dict) and set(v) == {"secure"} and isinstance(v["secure"], str):
        return  # the whole value encrypted in a stack file (`pulumi config set --secret registryCredentials ...`)
    if not isinstance(v, dict):
        raise SpecError("registryCredentials", f"expected a mapping of registry host -> {{username, password}} set as secrets; got {_type_name(v)}")
    creds = _mapping(v, "registryCredentials", statics or ("<no static credential sources>",))
    for reg, val in creds.items():
        where = key("registryCredentials", reg)
        if isinstance(val, dict) and set(val) == {"secure"}:
            continue
        entry = _mapping(val, where, ("username", "password"), required=("username", "password"))
        for k, x in entry.items():
            if not (isinstance(x, str) or (isinstance(x, dict) and set(x) == {"secure"})):
                raise SpecError(join(where, k), f"expected a string (set it with pulumi config set --secret); got {_type_name(x)}")
            if stack_file and isinstance(x, str) and k == "password":
                raise SpecError(join(where, k), "is in plain text in the stack file; remove it and set it as a secret: "
                                                f"pulumi config set --secret --path 'registryCredentials[\"{reg}\"].password' ...")


# --------------------------------------------------------------------------------------------
# YAML


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and bounds alias expansion."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > _MAX_ALIASES:
                raise yaml.YAMLError(f"more than {_MAX_ALIASES} aliases: refusing to expand them")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                mark = key_node.start_mark
                raise yaml.YAMLError(f"duplicate key {short(key)} at line {mark.line + 1} (the first is at line {seen[key].line + 1}); a later value would silently win")
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)


def parse_yaml(data: bytes | str, where: str = "") -> Any:
    """YAML text -> Python data, bounded and strict. Raises SpecError (never a traceback)."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_CONFIG_BYTES:
        raise SpecError(where, f"{len(raw)} bytes: a stack file is at most {MAX_CONFIG_BYTES} bytes")
    try:
        text_ = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(where, f"not UTF-8 text (byte {e.start}); save the file as UTF-8") from None
    try:
        return yaml.load(text_, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as e:
        message = str(e).splitlines()
        raise SpecError(where, "not valid YAML: " + " ".join(line.strip() for line in message if line.strip())[:300]) from None


def load_stack_file(path: str | Path) -> StackSpec:
    """Read ``stacks/Pulumi.<env>.yaml`` (encrypted secure values are left as they are)."""
    data = parse_yaml(Path(path).read_bytes()) or {}
    top = _mapping(data, "", ("config", "secretsprovider", "encryptedkey", "encryptionsalt"))
    return parse(_mapping(top.get("config") or {}, "config", ()), stack_file=True)
