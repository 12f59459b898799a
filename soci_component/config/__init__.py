"""Stack config (``stacks/Pulumi.<env>.yaml``, or the program's config) -> :class:`StackSpec`.

Shape only: types, unknown keys, required keys, key paths. Values are checked by the spec classes
(:mod:`soci_component.spec`), relations by :mod:`soci_component.rules`; the YAML itself is read by :mod:`soci_component.stack`; defaults live in the spec classes (a key the file does not
set is not passed, so YAML and Python get the same defaults). Every error names the key path
(``nodeGroups[1].instanceTypes[0]``) and what is accepted; unknown keys are errors with a
"did you mean" hint, so a typo never silently becomes a default.

Readers are tables: ``{config key: (attribute, reader)}`` (:mod:`.readers`; the node schema: :mod:`.nodes`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SpecError, at, join, key, short
from ..spec import REGION_RE, ClusterSpec, DemoSpec, LogType, NatGateways, NodePoolSpec, StackSpec, VpcSpec, check_match
from ..stack import MAX_CONFIG_BYTES, parse_yaml
from .nodes import NODE_GROUP, NODE_GROUP_KEYS, NODE_POOL, _k8s_version, _karpenter, _node_group, _subnets
from .readers import _mapping, _type_name, boolean, build, enum, fields, integer, list_of, string_map, text

__all__ = ["MAX_CONFIG_BYTES", "NODE_GROUP", "NODE_GROUP_KEYS", "NODE_POOL", "PROJECT", "load_stack_file", "parse", "parse_yaml"]

PROJECT = "soci-eks"

_cluster = build(ClusterSpec, {
    "name": ("name", text),
    "kubernetesVersion": ("kubernetes_version", _k8s_version),
    "endpointPublicAccess": ("endpoint_public_access", boolean),
    "publicAccessCidrs": ("public_access_cidrs", list_of(text)),
    "serviceCidr": ("service_cidr", text),
    "enabledLogTypes": ("enabled_log_types", list_of(enum(LogType))),
    "verifyGroups": ("verify_groups", list_of(text)),
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
        if not isinstance(val, dict):  # _mapping would quote a string value: it may be the password itself
            raise SpecError(where, f"expected a mapping with keys username, password (set as secrets); got {_type_name(val)} (value not shown)")
        entry = _mapping(val, where, ("username", "password"), required=("username", "password"))
        for k, x in entry.items():
            if not (isinstance(x, str) or (isinstance(x, dict) and set(x) == {"secure"})):
                raise SpecError(join(where, k), f"expected a string (set it with pulumi config set --secret); got {_type_name(x)}")
            if stack_file and isinstance(x, str) and k == "password":
                raise SpecError(join(where, k), "is in plain text in the stack file; remove it and set it as a secret: "
                                                f"pulumi config set --secret --path 'registryCredentials[\"{reg}\"].password' ...")


def load_stack_file(path: str | Path) -> StackSpec:
    """Read ``stacks/Pulumi.<env>.yaml`` (encrypted secure values are left as they are)."""
    data = parse_yaml(Path(path).read_bytes()) or {}
    top = _mapping(data, "", ("config", "secretsprovider", "encryptedkey", "encryptionsalt"))
    return parse(_mapping(top.get("config") or {}, "config", ()), stack_file=True)
