"""A structural-schema validator for Kubernetes CRDs (our own, for tests): what the API server checks
of a custom resource against its CRD's ``openAPIV3Schema`` when the client asks for
``fieldValidation=Strict`` (kubectl's default since 1.27): unknown or pruned fields are errors.

In the API server's order: defaults (``default``) are applied to absent fields first, then the
object is checked. Checked: ``type`` (``integer``/``number``/``string``/``boolean``/``object``/
``array``), ``properties`` with every other field refused (Strict) unless the schema has
``x-kubernetes-preserve-unknown-fields`` or an ``additionalProperties`` schema (maps; an object
schema with neither, e.g. ``type: object`` alone, prunes every field, so every field is refused),
``required``, ``enum``, ``pattern``, ``minLength``/``maxLength``, ``minimum``/``maximum`` (and
``exclusiveMinimum``/``exclusiveMaximum``), ``multipleOf``, ``minItems``/``maxItems``,
``minProperties``/``maxProperties``, ``x-kubernetes-int-or-string``, ``nullable`` (a null in a
non-nullable field is reported: the API server would silently prune it), ``items``,
``anyOf``/``allOf``/``oneOf``/``not`` (value validation), ``x-kubernetes-list-type: set`` (no
duplicates) and ``map`` (unique ``x-kubernetes-list-map-keys``). At the root, ``apiVersion`` and
``kind`` must be the CRD's, and ``metadata`` is checked as the API server checks ObjectMeta (known
fields only, a DNS-subdomain name, label keys and values, annotation keys).

Not checked, and counted so a test can say how many it did not evaluate: the CEL rules of
``x-kubernetes-validations`` (:attr:`Validator.skipped_cel`, with their paths and messages in
:attr:`Validator.skipped_cel_rules`) and ``format`` (:attr:`Validator.skipped_formats`).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_OBJECT_META = {
    "name", "generateName", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
    "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers", "managedFields", "selfLink",
}


def _qualified_name_errors(key: str) -> list[str]:
    """k8s.io/apimachinery validation.IsQualifiedName: ``[prefix/]name``, prefix a DNS subdomain <= 253, name <= 63."""
    prefix, _, name = key.rpartition("/")
    out = []
    if "/" in prefix or (not prefix and key.startswith("/")):
        out.append("a qualified name has at most one '/'")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        out.append(f"prefix {prefix!r} is not a DNS subdomain")
    if not name or len(name) > 63 or not _NAME.fullmatch(name):
        out.append(f"name part {name!r} must be 1-63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric")
    return out


class Validator:
    def __init__(self, schema: dict[str, Any], *, api_version: str | None = None, kind: str | None = None) -> None:
        self.schema = schema
        self.api_version = api_version
        self.kind = kind
        self.skipped_cel = 0
        self.skipped_cel_rules: list[tuple[str, str]] = []
        """(path, message or rule) of each CEL rule reached and not evaluated, in the order met."""
        self.skipped_formats = 0

    def errors(self, value: Any) -> list[str]:
        """Every error of ``value`` (a whole custom resource when the validator knows apiVersion/kind), with its path."""
        out: list[str] = []
        value = copy.deepcopy(value)
        if isinstance(value, dict) and (self.api_version or self.kind):
            self._root(value, out)
        self._check(value, self.schema, "", out, structural=True)
        return out

    # ------------------------------------------------------------------ the root: apiVersion, kind, ObjectMeta
    def _root(self, doc: dict[str, Any], out: list[str]) -> None:
        if self.api_version and doc.get("apiVersion") != self.api_version:
            out.append(f"apiVersion: {doc.get('apiVersion')!r} is not {self.api_version!r}")
        if self.kind and doc.get("kind") != self.kind:
            out.append(f"kind: {doc.get('kind')!r} is not {self.kind!r}")
        meta = doc.get("metadata")
        if not isinstance(meta, dict):
            out.append("metadata: missing or not an object")
            return
        for k in meta:
            if k not in _OBJECT_META:
                out.append(f"metadata.{k}: unknown field")
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            out.append("metadata.name: required (these resources are cluster-scoped and named)")
        elif len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
            out.append(f"metadata.name: {name!r} is not a DNS subdomain (lowercase alphanumerics, '-', '.'; <= 253)")
        for field in ("labels", "annotations"):
            m = meta.get(field)
            if m is None:
                continue
            if not isinstance(m, dict):
                out.append(f"metadata.{field}: not a map of strings")
                continue
            for k, v in m.items():
                out += [f"metadata.{field}.{k}: {e}" for e in _qualified_name_errors(str(k))]
                if not isinstance(v, str):
                    out.append(f"metadata.{field}.{k}: {v!r} is not a string")
                elif field == "labels" and v and (len(v) > 63 or not _NAME.fullmatch(v)):
                    out.append(f"metadata.labels.{k}: value {v!r} is not a label value")

    # ------------------------------------------------------------------ the schema walk
    def _check(self, v: Any, s: dict[str, Any], path: str, out: list[str], *, structural: bool) -> None:
        here = path or "<root>"
        for rule in s.get("x-kubernetes-validations", []):
            self.skipped_cel += 1
            self.skipped_cel_rules.append((here, rule.get("message") or rule["rule"]))
        if "format" in s:
            self.skipped_formats += 1
        if v is None:
            if not s.get("nullable"):
                out.append(f"{here}: null is not allowed (the API server would prune it)")
            return
        self._junctors(v, s, here, path, out)
        if s.get("x-kubernetes-int-or-string"):
            if isinstance(v, bool) or not isinstance(v, (int, str)):
                out.append(f"{here}: {v!r} is neither an integer nor a string")
            else:
                self._scalar(v, s, here, out)
            return
        t = s.get("type")
        ok = {
            None: True,
            "object": isinstance(v, dict),
            "array": isinstance(v, list),
            "string": isinstance(v, str),
            "boolean": isinstance(v, bool),
            "integer": isinstance(v, int) and not isinstance(v, bool),
            "number": isinstance(v, (int, float)) and not isinstance(v, bool),
        }[t]
        if not ok:
            out.append(f"{here}: {v!r} is not of type {t}")
            return
        if isinstance(v, dict):
            self._object(v, s, path, here, out, structural=structural)
        elif isinstance(v, list):
            self._array(v, s, path, here, out, structural=structural)
        else:
            self._scalar(v, s, here, out)

    def _object(self, v: dict[str, Any], s: dict[str, Any], path: str, here: str, out: list[str], *, structural: bool) -> None:
        props = s.get("properties") or {}
        if structural:  # defaulting happens before validation
            for name, sub in props.items():
                if name not in v and "default" in sub:
                    v[name] = copy.deepcopy(sub["default"])
        for name in s.get("required", []):
            if name not in v:
                out.append(f"{here}: required field {name!r} is missing")
        if "maxProperties" in s and len(v) > s["maxProperties"]:
            out.append(f"{here}: more than {s['maxProperties']} properties")
        if "minProperties" in s and len(v) < s["minProperties"]:
            out.append(f"{here}: fewer than {s['minProperties']} properties")
        extra = s.get("additionalProperties")
        preserve = s.get("x-kubernetes-preserve-unknown-fields")
        for key, item in v.items():
            sub = f"{path}.{key}" if path else key
            if not path and key == "metadata":
                continue  # ObjectMeta: the API server checks it itself (see _root), not by the CRD's schema
            if key in props:
                self._check(item, props[key], sub, out, structural=structural)
            elif isinstance(extra, dict):
                self._check(item, extra, sub, out, structural=structural)
            elif extra is True or preserve or (not path and key in ("apiVersion", "kind")):
                continue
            elif structural:
                out.append(f"{sub}: unknown field")

    def _array(self, v: list[Any], s: dict[str, Any], path: str, here: str, out: list[str], *, structural: bool) -> None:
        if "maxItems" in s and len(v) > s["maxItems"]:
            out.append(f"{here}: more than {s['maxItems']} items")
        if "minItems" in s and len(v) < s["minItems"]:
            out.append(f"{here}: fewer than {s['minItems']} items")
        for i, item in enumerate(v):
            if "items" in s:
                self._check(item, s["items"], f"{path}[{i}]", out, structural=structural)
        kind = s.get("x-kubernetes-list-type")
        if kind == "set":
            seen = [json.dumps(x, sort_keys=True) for x in v]
            for i, x in enumerate(seen):
                if x in seen[:i]:
                    out.append(f"{path}[{i}]: duplicate value {v[i]!r} in a list-type=set")
        elif kind == "map":
            keys = s.get("x-kubernetes-list-map-keys", [])
            seen = [tuple(json.dumps(x.get(k) if isinstance(x, dict) else None) for k in keys) for x in v]
            for i, x in enumerate(seen):
                if x in seen[:i]:
                    out.append(f"{path}[{i}]: duplicate entry for map keys {keys} in a list-type=map")

    def _junctors(self, v: Any, s: dict[str, Any], here: str, path: str, out: list[str]) -> None:
        """anyOf/allOf/oneOf/not: value validation only (structural schemas keep types and fields out of them)."""

        def fails(branch: dict[str, Any]) -> list[str]:
            found: list[str] = []
            self._check(v, branch, path, found, structural=False)
            return found

        if "allOf" in s:
            for branch in s["allOf"]:
                out += fails(branch)
        if "anyOf" in s and not any(not fails(b) for b in s["anyOf"]):
            out.append(f"{here}: {v!r} matches none of anyOf")
        if "oneOf" in s and sum(1 for b in s["oneOf"] if not fails(b)) != 1:
            out.append(f"{here}: {v!r} does not match exactly one of oneOf")
        if "not" in s and not fails(s["not"]):
            out.append(f"{here}: {v!r} matches the schema under 'not'")

    @staticmethod
    def _scalar(v: Any, s: dict[str, Any], here: str, out: list[str]) -> None:
        if "enum" in s and v not in s["enum"]:
            out.append(f"{here}: {v!r} is not one of {s['enum']}")
        if isinstance(v, str):
            if "pattern" in s and not re.search(s["pattern"], v):
                out.append(f"{here}: {v!r} does not match {s['pattern']}")
            if "maxLength" in s and len(v) > s["maxLength"]:
                out.append(f"{here}: longer than {s['maxLength']}")
            if "minLength" in s and len(v) < s["minLength"]:
                out.append(f"{here}: shorter than {s['minLength']}")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            if "minimum" in s and (v < s["minimum"] or (s.get("exclusiveMinimum") and v == s["minimum"])):
                out.append(f"{here}: {v} is below {s['minimum']}")
            if "maximum" in s and (v > s["maximum"] or (s.get("exclusiveMaximum") and v == s["maximum"])):
                out.append(f"{here}: {v} is above {s['maximum']}")
            if "multipleOf" in s and v % s["multipleOf"]:
                out.append(f"{here}: {v} is not a multiple of {s['multipleOf']}")


def crd_schema(crd: dict[str, Any], version: str) -> dict[str, Any]:
    """The ``openAPIV3Schema`` of ``version`` in a CRD document."""
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            return v["schema"]["openAPIV3Schema"]
    raise KeyError(f"{crd['metadata']['name']} has no version {version}: {[v['name'] for v in crd['spec']['versions']]}")


def crd_validator(crd: dict[str, Any], version: str) -> Validator:
    """A validator for whole resources of ``version`` of the CRD (apiVersion, kind and metadata checked too)."""
    versions = {v["name"]: v for v in crd["spec"]["versions"]}
    if version not in versions or not versions[version].get("served", True):
        raise KeyError(f"{crd['metadata']['name']} does not serve version {version}: {sorted(versions)}")
    return Validator(crd_schema(crd, version), api_version=f"{crd['spec']['group']}/{version}", kind=crd["spec"]["names"]["kind"])
