"""A structural-schema validator for Kubernetes CRDs (our own, for tests): what the API server checks
of a custom resource against its CRD's ``openAPIV3Schema`` with ``fieldValidation=Strict``.

Checked: ``type`` (``integer``/``number``/``string``/``boolean``/``object``/``array``), ``properties`` with
unknown fields refused (Strict) unless ``x-kubernetes-preserve-unknown-fields``, ``additionalProperties``
(maps), ``required``, ``enum``, ``pattern``, ``minLength``/``maxLength``, ``minimum``/``maximum``,
``minItems``/``maxItems``, ``maxProperties``, ``x-kubernetes-int-or-string``, ``nullable``, ``items``.
Not checked: ``format`` and the CEL rules in ``x-kubernetes-validations`` (counted in
:attr:`Validator.skipped_cel` so a test can say how many it did not evaluate).
"""

from __future__ import annotations

import re
from typing import Any


class Validator:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.skipped_cel = 0

    def errors(self, value: Any) -> list[str]:
        out: list[str] = []
        self._check(value, self.schema, "", out)
        return out

    def _check(self, v: Any, s: dict[str, Any], path: str, out: list[str]) -> None:
        here = path or "<root>"
        self.skipped_cel += len(s.get("x-kubernetes-validations", []))
        if v is None:
            if not s.get("nullable"):
                out.append(f"{here}: null is not allowed")
            return
        if s.get("x-kubernetes-int-or-string"):
            if isinstance(v, bool) or not isinstance(v, (int, str)):
                out.append(f"{here}: {v!r} is neither an integer nor a string")
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
            props = s.get("properties")
            for name in s.get("required", []):
                if name not in v:
                    out.append(f"{here}: required field {name!r} is missing")
            if "maxProperties" in s and len(v) > s["maxProperties"]:
                out.append(f"{here}: more than {s['maxProperties']} properties")
            if "minProperties" in s and len(v) < s["minProperties"]:
                out.append(f"{here}: fewer than {s['minProperties']} properties")
            for key, item in v.items():
                sub = f"{path}.{key}" if path else key
                if props is not None and key in props:
                    self._check(item, props[key], sub, out)
                elif isinstance(s.get("additionalProperties"), dict):
                    self._check(item, s["additionalProperties"], sub, out)
                elif props is not None and not s.get("x-kubernetes-preserve-unknown-fields"):
                    out.append(f"{sub}: unknown field")
        elif isinstance(v, list):
            if "maxItems" in s and len(v) > s["maxItems"]:
                out.append(f"{here}: more than {s['maxItems']} items")
            if "minItems" in s and len(v) < s["minItems"]:
                out.append(f"{here}: fewer than {s['minItems']} items")
            for i, item in enumerate(v):
                if "items" in s:
                    self._check(item, s["items"], f"{path}[{i}]", out)
        else:
            self._scalar(v, s, here, out)

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
            if "minimum" in s and v < s["minimum"]:
                out.append(f"{here}: {v} is below {s['minimum']}")
            if "maximum" in s and v > s["maximum"]:
                out.append(f"{here}: {v} is above {s['maximum']}")


def crd_schema(crd: dict[str, Any], version: str) -> dict[str, Any]:
    """The ``openAPIV3Schema`` of ``version`` in a CRD document."""
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            return v["schema"]["openAPIV3Schema"]
    raise KeyError(f"{crd['metadata']['name']} has no version {version}: {[v['name'] for v in crd['spec']['versions']]}")
