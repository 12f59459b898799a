"""Stack config (plain dicts, as in ``stacks/Pulumi.<env>.yaml``) -> spec objects.

Every error names the key path (``nodeGroups[1].instanceTypes[0]``) and what is accepted.
Unknown keys are errors: a typo must not be silently ignored.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from . import ami
from .spec import (
    DISK_PRESETS,
    AmiPackage,
    AmiPin,
    CapacityType,
    ContentStore,
    Credential,
    CriProxy,
    Decompressor,
    Disk,
    EcrCredentialHelper,
    KubernetesSecrets,
    LocalStorage,
    NodeGroupSpec,
    OperatingSystem,
    ParallelTuning,
    PullMode,
    RegistryMirror,
    Scaling,
    SociSource,
    SociTuning,
    SpecError,
    StaticCredentials,
    Taint,
    TaintEffect,
    UpstreamRelease,
)

PROJECT = "soci-eks"
TOP_LEVEL_KEYS = ("cluster", "vpc", "nodeGroups", "demo", "tags", "registryCredentials")


@dataclass(frozen=True)
class ClusterSettings:
    name: str
    """EKS cluster name."""
    kubernetes_version: str
    """Control-plane Kubernetes version; node groups default to it."""
    endpoint_public_access: bool = True
    public_access_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    service_cidr: str = "172.20.0.0/16"
    enabled_log_types: tuple[str, ...] = ("api", "audit", "authenticator")


@dataclass(frozen=True)
class VpcSettings:
    """A new VPC (``cidr``, ``azCount``, ``natGateways``) or an existing one (``vpcId`` + subnets)."""

    cidr: str | None = "10.0.0.0/16"
    az_count: int = 2
    nat_gateways: str = "single"
    """``single`` (one NAT gateway, cheap) or ``one-per-az`` (survives an AZ outage)."""
    vpc_id: str | None = None
    private_subnet_ids: tuple[str, ...] = ()
    public_subnet_ids: tuple[str, ...] = ()

    @property
    def existing(self) -> bool:
        return self.vpc_id is not None


@dataclass(frozen=True)
class DemoSettings:
    enabled: bool = True
    image: str = "public.ecr.aws/soci-workshop-examples/tensorflow_gpu:latest"
    """An image published with a SOCI index, pinned to SOCI nodes by their label."""
    replicas: int = 1


@dataclass(frozen=True)
class StackConfig:
    region: str
    cluster: ClusterSettings
    vpc: VpcSettings
    node_groups: tuple[NodeGroupSpec, ...]
    demo: DemoSettings = DemoSettings()
    tags: Mapping[str, str] = field(default_factory=dict)
    static_registries: tuple[str, ...] = ()
    """Registries whose credentials must be set as secret config ``registryCredentials``."""


# ---------------------------------------------------------------------------------------------
# small typed readers; each raises ConfigError(full key path, ...)


class ConfigError(SpecError):
    """A SpecError whose path is already the full config key path."""


def _type_name(v: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer", float: "a number"}.get(type(v), type(v).__name__)


def _obj(v: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ConfigError(path, f"expected a mapping with keys {', '.join(allowed)}; got {_type_name(v)}")
    for k in v:
        if k not in allowed:
            close = difflib.get_close_matches(str(k), allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(_join(path, k), f"unknown key{hint}; accepted: {', '.join(allowed)}")
    for k in required:
        if k not in v:
            raise ConfigError(_join(path, k), "is required")
    return v


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else str(key)


def _str(v: Any, path: str, pattern: str | None = None, what: str = "a string") -> str:
    if not isinstance(v, str) or (pattern is not None and not re.fullmatch(pattern, v)):
        raise ConfigError(path, f"expected {what}; got {v!r}")
    return v


def _int(v: Any, path: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise ConfigError(path, f"expected an integer; got {_type_name(v)} {v!r}")
    return v


def _bool(v: Any, path: str) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(path, f"expected true or false; got {_type_name(v)} {v!r}")
    return v


def _list(v: Any, path: str) -> list[Any]:
    if not isinstance(v, list):
        raise ConfigError(path, f"expected a list; got {_type_name(v)} {v!r}")
    return v


def _enum(v: Any, path: str, enum: type) -> Any:
    values = [e.value for e in enum]
    if v not in values:
        raise ConfigError(path, f"{v!r} is not accepted; expected one of: {', '.join(map(str, values))}")
    return enum(v)


@contextmanager
def _at(path: str) -> Iterator[None]:
    """Prefix SpecErrors raised by spec constructors with the config path they came from."""
    try:
        yield
    except ConfigError:
        raise
    except SpecError as e:
        raise ConfigError(_join(path, e.path) if e.path else path, e.message) from None


# ---------------------------------------------------------------------------------------------


def parse(config: Mapping[str, Any], region: str | None = None) -> StackConfig:
    """Parse a project config mapping (keys with or without the ``soci-eks:`` prefix)."""
    cfg: dict[str, Any] = {}
    for key, value in config.items():
        if ":" in key:
            ns, _, name = key.partition(":")
            if ns == "aws" and name == "region":
                region = region or value
                continue
            if ns != PROJECT:
                continue
            key = name
        cfg[key] = value
    _obj(cfg, "", TOP_LEVEL_KEYS, required=("cluster", "nodeGroups"))
    if not region:
        raise ConfigError("aws:region", "is required (pulumi config set aws:region us-west-2)")
    cluster = _cluster(cfg["cluster"], "cluster")
    vpc = _vpc(cfg.get("vpc", {}), "vpc")
    groups = _list(cfg["nodeGroups"], "nodeGroups")
    if not groups:
        raise ConfigError("nodeGroups", "needs at least one node group")
    specs = tuple(_node_group(g, f"nodeGroups[{i}]", cluster) for i, g in enumerate(groups))
    names = [s.name for s in specs]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise ConfigError(f"nodeGroups[{i}].name", f"{n!r} is used by an earlier node group; names must be unique")
    statics = tuple(sorted({c.registry for s in specs for c in s.credentials if isinstance(c, StaticCredentials)}))
    if "registryCredentials" in cfg:
        _registry_credentials(cfg["registryCredentials"], statics)
    tags = _obj(cfg.get("tags", {}), "tags", tuple(cfg.get("tags", {}) or ()))
    for k, v in tags.items():
        _str(v, f"tags.{k}")
    return StackConfig(
        region=_str(region, "aws:region", r"[a-z]{2}(-[a-z]+)+-[0-9]", "an AWS region such as 'us-west-2'"),
        cluster=cluster,
        vpc=vpc,
        node_groups=specs,
        demo=_demo(cfg.get("demo", {}), "demo"),
        tags=dict(tags),
        static_registries=statics,
    )


def _registry_credentials(v: Any, statics: tuple[str, ...]) -> None:
    """Only the shape is checked here (values are secrets and may still be encrypted)."""
    if isinstance(v, str):  # an encrypted secure value in a stack file
        return
    creds = _obj(v, "registryCredentials", statics or ("<no static credential sources>",))
    for reg, val in creds.items():
        if isinstance(val, dict):
            _obj(val, f"registryCredentials.{reg}", ("username", "password"), required=("username", "password"))


def _cluster(v: Any, path: str) -> ClusterSettings:
    keys = ("name", "kubernetesVersion", "endpointPublicAccess", "publicAccessCidrs", "serviceCidr", "enabledLogTypes")
    c = _obj(v, path, keys, required=("name", "kubernetesVersion"))
    name = _str(c["name"], f"{path}.name", r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}", "a cluster name of letters, digits, '-' and '_'")
    k8s = _str(c["kubernetesVersion"], f"{path}.kubernetesVersion", r"1\.[0-9]{2}", "a Kubernetes minor version as a quoted string, e.g. '1.33'")
    cidrs = tuple(
        _cidr(x, f"{path}.publicAccessCidrs[{i}]") for i, x in enumerate(_list(c.get("publicAccessCidrs", ["0.0.0.0/0"]), f"{path}.publicAccessCidrs"))
    )
    logs = tuple(
        _enum(x, f"{path}.enabledLogTypes[{i}]", _LogType).value
        for i, x in enumerate(_list(c.get("enabledLogTypes", ["api", "audit", "authenticator"]), f"{path}.enabledLogTypes"))
    )
    return ClusterSettings(
        name=name,
        kubernetes_version=k8s,
        endpoint_public_access=_bool(c.get("endpointPublicAccess", True), f"{path}.endpointPublicAccess"),
        public_access_cidrs=cidrs,
        service_cidr=_cidr(c.get("serviceCidr", "172.20.0.0/16"), f"{path}.serviceCidr"),
        enabled_log_types=logs,
    )


class _LogType(StrEnum):
    API = "api"
    AUDIT = "audit"
    AUTHENTICATOR = "authenticator"
    CONTROLLER_MANAGER = "controllerManager"
    SCHEDULER = "scheduler"


def _cidr(v: Any, path: str) -> str:
    s = _str(v, path, what="a CIDR block such as '10.0.0.0/16'")
    try:
        ipaddress.ip_network(s)
    except ValueError:
        raise ConfigError(path, f"{s!r} is not a CIDR block (network address + prefix, e.g. '10.0.0.0/16')") from None
    return s


def _vpc(v: Any, path: str) -> VpcSettings:
    c = _obj(v, path, ("cidr", "azCount", "natGateways", "vpcId", "privateSubnetIds", "publicSubnetIds"))
    if "vpcId" in c:
        for k in ("cidr", "azCount", "natGateways"):
            if k in c:
                raise ConfigError(f"{path}.{k}", "applies to a new VPC; with 'vpcId' the existing VPC is used as it is")
        vpc_id = _str(c["vpcId"], f"{path}.vpcId", r"vpc-[0-9a-f]{8,17}", "a VPC ID such as 'vpc-0123456789abcdef0'")
        priv = tuple(_subnet(x, f"{path}.privateSubnetIds[{i}]") for i, x in enumerate(_list(c.get("privateSubnetIds", []), f"{path}.privateSubnetIds")))
        pub = tuple(_subnet(x, f"{path}.publicSubnetIds[{i}]") for i, x in enumerate(_list(c.get("publicSubnetIds", []), f"{path}.publicSubnetIds")))
        if len(priv) < 2:
            raise ConfigError(f"{path}.privateSubnetIds", "an existing VPC needs at least two private subnets in different AZs (EKS requirement)")
        return VpcSettings(cidr=None, vpc_id=vpc_id, private_subnet_ids=priv, public_subnet_ids=pub)
    for k in ("privateSubnetIds", "publicSubnetIds"):
        if k in c:
            raise ConfigError(f"{path}.{k}", "needs 'vpcId' (subnets of an existing VPC)")
    az = _int(c.get("azCount", 2), f"{path}.azCount")
    if not 2 <= az <= 6:
        raise ConfigError(f"{path}.azCount", f"{az}: expected 2..6 (EKS needs subnets in at least two AZs)")
    nat = c.get("natGateways", "single")
    if nat not in ("single", "one-per-az"):
        raise ConfigError(f"{path}.natGateways", f"{nat!r}: expected 'single' or 'one-per-az'")
    return VpcSettings(cidr=_cidr(c.get("cidr", "10.0.0.0/16"), f"{path}.cidr"), az_count=az, nat_gateways=nat)


def _subnet(v: Any, path: str) -> str:
    return _str(v, path, r"subnet-[0-9a-f]{8,17}", "a subnet ID such as 'subnet-0123456789abcdef0'")


def _demo(v: Any, path: str) -> DemoSettings:
    c = _obj(v, path, ("enabled", "image", "replicas"))
    d = DemoSettings()
    replicas = _int(c.get("replicas", d.replicas), f"{path}.replicas")
    if not 0 <= replicas <= 20:
        raise ConfigError(f"{path}.replicas", f"{replicas}: expected 0..20")
    return DemoSettings(
        enabled=_bool(c.get("enabled", d.enabled), f"{path}.enabled"),
        image=_str(c.get("image", d.image), f"{path}.image", r"[^\s]+", "an image reference"),
        replicas=replicas,
    )


NODE_GROUP_KEYS = (
    "name", "os", "kubernetesVersion", "ami", "instanceTypes", "pullMode", "credentials", "sociSource",
    "tuning", "labels", "taints", "disk", "localStorage", "capacityType", "scaling", "subnetIds",
)  # fmt: skip


def _node_group(v: Any, path: str, cluster: ClusterSettings) -> NodeGroupSpec:
    c = _obj(v, path, NODE_GROUP_KEYS, required=("name", "ami", "instanceTypes"))
    os_raw = c.get("os", "al2023")
    if os_raw in ("al2", "AL2", "amazon-linux-2"):
        with _at(f"{path}.os"):
            ami.refuse_al2("")
    os_ = _enum(os_raw, f"{path}.os", OperatingSystem)
    mode = _enum(c.get("pullMode", "lazy"), f"{path}.pullMode", PullMode)
    default_creds: tuple[Credential, ...] = (CriProxy(),) if (mode is PullMode.PARALLEL or os_ is OperatingSystem.BOTTLEROCKET) else (EcrCredentialHelper(),)
    creds = (
        tuple(_credential(x, f"{path}.credentials[{i}]") for i, x in enumerate(_list(c["credentials"], f"{path}.credentials")))
        if "credentials" in c
        else default_creds
    )
    k8s = _str(
        c.get("kubernetesVersion", cluster.kubernetes_version),
        f"{path}.kubernetesVersion",
        r"1\.[0-9]{2}",
        "a Kubernetes minor version as a quoted string, e.g. '1.33'",
    )
    labels = _obj(c.get("labels", {}), f"{path}.labels", tuple(c.get("labels", {}) or ()))
    for k, val in labels.items():
        _str(val, f"{path}.labels.{k}", what="a string label value (quote numbers and booleans)")
    with _at(path):
        return NodeGroupSpec(
            name=_str(c["name"], f"{path}.name"),
            kubernetes_version=k8s,
            ami=_ami(c["ami"], f"{path}.ami"),
            instance_types=tuple(_str(t, f"{path}.instanceTypes[{i}]") for i, t in enumerate(_list(c["instanceTypes"], f"{path}.instanceTypes"))),
            os=os_,
            pull_mode=mode,
            credentials=creds,
            soci_source=_soci_source(c.get("sociSource", {"type": "ami"}), f"{path}.sociSource"),
            tuning=_tuning(c.get("tuning", {}), f"{path}.tuning"),
            labels=dict(labels),
            taints=tuple(_taint(t, f"{path}.taints[{i}]") for i, t in enumerate(_list(c.get("taints", []), f"{path}.taints"))),
            disk=_disk(c.get("disk", {}), f"{path}.disk"),
            local_storage=_enum(c.get("localStorage", "none"), f"{path}.localStorage", LocalStorage),
            capacity_type=_enum(c.get("capacityType", "ON_DEMAND"), f"{path}.capacityType", CapacityType),
            scaling=_scaling(c.get("scaling", {}), f"{path}.scaling"),
            subnet_ids=tuple(_subnet(s, f"{path}.subnetIds[{i}]") for i, s in enumerate(_list(c.get("subnetIds", []), f"{path}.subnetIds"))),
        )


def _ami(v: Any, path: str) -> AmiPin:
    c = _obj(v, path, ("release", "amiId", "containerdVersion", "variant"))
    with _at(path):
        return AmiPin(
            release=None if c.get("release") is None else _str(c["release"], f"{path}.release"),
            ami_id=None if c.get("amiId") is None else _str(c["amiId"], f"{path}.amiId"),
            containerd_version=None
            if c.get("containerdVersion") is None
            else _str(c["containerdVersion"], f"{path}.containerdVersion", what="a version string such as '2.2.4'"),
            variant=_str(c.get("variant", "standard"), f"{path}.variant"),
        )


def _credential(v: Any, path: str) -> Credential:
    kinds = ("ecr-credential-helper", "cri-proxy", "static", "kubernetes-secrets")
    if isinstance(v, str):
        v = {"type": v}
    c = _obj(v, path, ("type", "registries", "registry"), required=("type",))
    kind = c["type"]
    if kind not in kinds:
        raise ConfigError(f"{path}.type", f"{kind!r} is not accepted; expected one of: {', '.join(kinds)}")
    extra = {"ecr-credential-helper": ("registries",), "static": ("registry",)}.get(kind, ())
    for k in c:
        if k != "type" and k not in extra:
            raise ConfigError(f"{path}.{k}", f"does not apply to '{kind}' credentials" + (f"; accepted: {', '.join(extra)}" if extra else ""))
    with _at(path):
        if kind == "ecr-credential-helper":
            regs = c.get("registries")
            return EcrCredentialHelper() if regs is None else EcrCredentialHelper(tuple(_list(regs, f"{path}.registries")))
        if kind == "static":
            if "registry" not in c:
                raise ConfigError(f"{path}.registry", "is required for static credentials (the registry host they are for)")
            return StaticCredentials(registry=c["registry"])
        return CriProxy() if kind == "cri-proxy" else KubernetesSecrets()


def _soci_source(v: Any, path: str) -> SociSource:
    if isinstance(v, str):
        v = {"type": v}
    c = _obj(v, path, ("type", "version", "urlBase", "sha256"), required=("type",))
    if c["type"] == "ami":
        for k in ("version", "urlBase", "sha256"):
            if k in c:
                raise ConfigError(f"{path}.{k}", "applies to type 'release'; the AMI's package has its own version")
        return AmiPackage()
    if c["type"] != "release":
        raise ConfigError(f"{path}.type", f"{c['type']!r} is not accepted; expected 'ami' (the node image's package) or 'release' (a pinned upstream tarball)")
    sha = _obj(c.get("sha256", {}), f"{path}.sha256", ("amd64", "arm64"))
    with _at(path):
        return UpstreamRelease(
            version=str(c.get("version", UpstreamRelease.version)),
            url_base=_str(c.get("urlBase", UpstreamRelease.url_base), f"{path}.urlBase"),
            sha256=dict(sha),
        )


def _tuning(v: Any, path: str) -> SociTuning:
    c = _obj(v, path, ("minLayerSize", "root", "contentStore", "parallel", "mirrors", "v1Indexes"))
    d = SociTuning()
    mirrors = []
    for i, m in enumerate(_list(c.get("mirrors", []), f"{path}.mirrors")):
        mc = _obj(m, f"{path}.mirrors[{i}]", ("host", "mirrors", "insecure"), required=("host", "mirrors"))
        with _at(f"{path}.mirrors[{i}]"):
            mirrors.append(
                RegistryMirror(
                    host=_str(mc["host"], f"{path}.mirrors[{i}].host"),
                    mirrors=tuple(_list(mc["mirrors"], f"{path}.mirrors[{i}].mirrors")),
                    insecure=_bool(mc.get("insecure", False), f"{path}.mirrors[{i}].insecure"),
                )
            )
    with _at(path):
        return SociTuning(
            min_layer_size=_int(c.get("minLayerSize", d.min_layer_size), f"{path}.minLayerSize"),
            root=_str(c.get("root", d.root), f"{path}.root"),
            parallel=_parallel(c.get("parallel", {}), f"{path}.parallel"),
            content_store=None if "contentStore" not in c else _enum(c["contentStore"], f"{path}.contentStore", ContentStore),
            mirrors=tuple(mirrors),
            v1_indexes=_bool(c.get("v1Indexes", False), f"{path}.v1Indexes"),
        )


_PARALLEL_KEYS = {
    "maxConcurrentDownloads": "max_concurrent_downloads",
    "maxConcurrentDownloadsPerImage": "max_concurrent_downloads_per_image",
    "concurrentDownloadChunkSize": "concurrent_download_chunk_size",
    "maxConcurrentUnpacks": "max_concurrent_unpacks",
    "maxConcurrentUnpacksPerImage": "max_concurrent_unpacks_per_image",
    "discardUnpackedLayers": "discard_unpacked_layers",
    "decompressor": "decompressor",
}


def _parallel(v: Any, path: str) -> ParallelTuning:
    c = _obj(v, path, tuple(_PARALLEL_KEYS))
    kwargs: dict[str, Any] = {}
    for key, attr in _PARALLEL_KEYS.items():
        if key not in c:
            continue
        val = c[key]
        if key == "discardUnpackedLayers":
            val = _bool(val, f"{path}.{key}")
        elif key == "concurrentDownloadChunkSize":
            val = _str(val, f"{path}.{key}", what="a size string such as '16mb'")
        elif key == "decompressor":
            if val is None or val == "none":
                val = None
            else:
                dc = _obj(val, f"{path}.decompressor", ("path", "args"), required=("path",))
                with _at(f"{path}.decompressor"):
                    val = Decompressor(
                        path=_str(dc["path"], f"{path}.decompressor.path"),
                        args=tuple(_str(a, f"{path}.decompressor.args") for a in _list(dc.get("args", []), f"{path}.decompressor.args")),
                    )
        else:
            val = _int(val, f"{path}.{key}")
        kwargs[attr] = val
    with _at(path):
        return ParallelTuning(**kwargs)


def _taint(v: Any, path: str) -> Taint:
    c = _obj(v, path, ("key", "value", "effect"), required=("key", "effect"))
    with _at(path):
        return Taint(
            key=_str(c["key"], f"{path}.key"), value=_str(c.get("value", ""), f"{path}.value"), effect=_enum(c["effect"], f"{path}.effect", TaintEffect)
        )


def _disk(v: Any, path: str) -> Disk:
    c = _obj(v, path, ("preset", "sizeGiB", "iops", "throughputMiBps"))
    base = Disk()
    if "preset" in c:
        p = c["preset"]
        if p not in DISK_PRESETS:
            raise ConfigError(f"{path}.preset", f"{p!r} is not accepted; expected one of: {', '.join(DISK_PRESETS)}")
        base = DISK_PRESETS[p]
    with _at(path):
        return Disk(
            size_gib=_int(c.get("sizeGiB", base.size_gib), f"{path}.sizeGiB"),
            iops=_int(c.get("iops", base.iops), f"{path}.iops"),
            throughput_mibps=_int(c.get("throughputMiBps", base.throughput_mibps), f"{path}.throughputMiBps"),
        )


def _scaling(v: Any, path: str) -> Scaling:
    c = _obj(v, path, ("minSize", "maxSize", "desiredSize"))
    d = Scaling()
    with _at(path):
        return Scaling(
            min_size=_int(c.get("minSize", d.min_size), f"{path}.minSize"),
            max_size=_int(c.get("maxSize", d.max_size), f"{path}.maxSize"),
            desired_size=_int(c.get("desiredSize", d.desired_size), f"{path}.desiredSize"),
        )


def load_stack_file(path: str | Path) -> StackConfig:
    """Read ``stacks/Pulumi.<env>.yaml`` (encrypted secure values are left as they are)."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    _obj(data, "", ("config", "secretsprovider", "encryptedkey", "encryptionsalt"))
    return parse(data.get("config") or {})
