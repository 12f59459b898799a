"""Our EC2NodeClass and NodePool, for every pool of :data:`tests.karpenter.POOLS`, validate against the CRDs
of the pinned Karpenter (karpenter-provider-aws v1.15.0's ``pkg/apis/crds``, copied by
scripts/build-go-daemons) as the API server validates them under ``fieldValidation=Strict``: defaults
applied, then the structural ``openAPIV3Schema`` with every unknown field an error, plus apiVersion, kind
and ObjectMeta (:mod:`tests.support.crd_schema`).

Not evaluated here: the CRDs' CEL rules (``x-kubernetes-validations``) and ``format``; each test counts the
ones its documents reach (the CEL rules are printed with ``-s``).
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest
import yaml

from tests.karpenter import POOLS, crd_file, pool
from tests.support.crd_schema import Validator, crd_validator

KINDS = {"EC2NodeClass": "karpenter.k8s.aws/v1", "NodePool": "karpenter.sh/v1"}


@functools.cache
def _crd(kind: str) -> dict[str, Any]:
    crd = yaml.safe_load(crd_file(kind).read_text())
    assert crd["kind"] == "CustomResourceDefinition" and crd["spec"]["names"]["kind"] == kind
    assert crd["spec"]["scope"] == "Cluster"
    return crd


def validator(kind: str) -> Validator:
    group, version = KINDS[kind].split("/")
    crd = _crd(kind)
    assert crd["spec"]["group"] == group
    return crd_validator(crd, version)


def document(name: str, kind: str) -> dict[str, Any]:
    p = pool(name)
    return copy.deepcopy(p.node_class if kind == "EC2NodeClass" else p.node_pool)


def total_cel(node: Any) -> int:
    if isinstance(node, dict):
        return len(node.get("x-kubernetes-validations", [])) + sum(total_cel(v) for v in node.values())
    if isinstance(node, list):
        return sum(total_cel(v) for v in node)
    return 0


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("name", list(POOLS))
def test_our_documents_validate_against_karpenters_crds(name: str, kind: str) -> None:
    doc = document(name, kind)
    assert doc["apiVersion"] == KINDS[kind] and doc["kind"] == kind
    v = validator(kind)
    assert v.errors(doc) == [], f"{name} {kind}"
    schema_cel = total_cel(_crd(kind)["spec"]["versions"])
    distinct = {rule for _, rule in v.skipped_cel_rules}
    assert v.skipped_cel == len(v.skipped_cel_rules) and 0 < len(distinct) <= schema_cel
    print(f"\n{name} {kind}: valid; {v.skipped_cel} CEL rule evaluations skipped ({len(distinct)} distinct rules of the CRD's {schema_cel}), "
          f"{v.skipped_formats} formats not checked")
    for path, rule in v.skipped_cel_rules:
        print(f"    CEL not evaluated at {path}: {rule}")


# A misspelt field, a wrong enum value, an out-of-range number: each fails with the path of the field.
MUTANTS = [
    ("EC2NodeClass", "misspelt-amiSelectorTerm", lambda d: d["spec"].__setitem__("amiSelectorTerm", d["spec"].pop("amiSelectorTerms")),
     ["spec.amiSelectorTerm: unknown field", "spec: required field 'amiSelectorTerms' is missing"]),
    ("EC2NodeClass", "misspelt-alias", lambda d: d["spec"]["amiSelectorTerms"][0].__setitem__("aliass", d["spec"]["amiSelectorTerms"][0].pop("alias")),
     ["spec.amiSelectorTerms[0].aliass: unknown field"]),
    ("EC2NodeClass", "unknown-ebs-field", lambda d: d["spec"]["blockDeviceMappings"][0]["ebs"].__setitem__("throughputMiBps", 600),
     ["spec.blockDeviceMappings[0].ebs.throughputMiBps: unknown field"]),
    ("EC2NodeClass", "bad-instanceStorePolicy", lambda d: d["spec"].__setitem__("instanceStorePolicy", "RAID1"), ["spec.instanceStorePolicy: 'RAID1' is not one of"]),
    ("EC2NodeClass", "bad-httpTokens", lambda d: d["spec"]["metadataOptions"].__setitem__("httpTokens", "sometimes"), ["spec.metadataOptions.httpTokens: 'sometimes' is not one of"]),
    ("EC2NodeClass", "bad-volumeType", lambda d: d["spec"]["blockDeviceMappings"][0]["ebs"].__setitem__("volumeType", "gp4"), ["spec.blockDeviceMappings[0].ebs.volumeType: 'gp4' is not one of"]),
    ("EC2NodeClass", "hop-limit-65", lambda d: d["spec"]["metadataOptions"].__setitem__("httpPutResponseHopLimit", 65), ["spec.metadataOptions.httpPutResponseHopLimit: 65 is above 64"]),
    ("EC2NodeClass", "unknown-metadata-field", lambda d: d["metadata"].__setitem__("label", {"a": "b"}), ["metadata.label: unknown field"]),
    ("EC2NodeClass", "wrong-apiVersion", lambda d: d.__setitem__("apiVersion", "karpenter.k8s.aws/v1beta1"), ["apiVersion: 'karpenter.k8s.aws/v1beta1' is not"]),
    ("NodePool", "misspelt-requirement", lambda d: d["spec"]["template"]["spec"].__setitem__("requirement", d["spec"]["template"]["spec"].pop("requirements")),
     ["spec.template.spec.requirement: unknown field", "spec.template.spec: required field 'requirements' is missing"]),
    ("NodePool", "misspelt-nodeClassRef", lambda d: d["spec"]["template"]["spec"].__setitem__("nodeClass", d["spec"]["template"]["spec"].pop("nodeClassRef")),
     ["spec.template.spec.nodeClass: unknown field", "spec.template.spec: required field 'nodeClassRef' is missing"]),
    ("NodePool", "bad-operator", lambda d: d["spec"]["template"]["spec"]["requirements"][0].__setitem__("operator", "Above"),
     ["spec.template.spec.requirements[0].operator: 'Above' is not one of"]),
    ("NodePool", "bad-consolidationPolicy", lambda d: d["spec"]["disruption"].__setitem__("consolidationPolicy", "WhenIdle"), ["spec.disruption.consolidationPolicy: 'WhenIdle' is not one of"]),
    ("NodePool", "bad-taint-effect", lambda d: d["spec"]["template"]["spec"].__setitem__("taints", [{"key": "k", "effect": "NoPods"}]), ["spec.template.spec.taints[0].effect: 'NoPods' is not one of"]),
    ("NodePool", "weight-101", lambda d: d["spec"].__setitem__("weight", 101), ["spec.weight: 101 is above 100"]),
    ("NodePool", "bad-expireAfter", lambda d: d["spec"]["template"]["spec"].__setitem__("expireAfter", "7d"), ["spec.template.spec.expireAfter: '7d' does not match"]),
    ("NodePool", "bad-label-name", lambda d: d["metadata"].__setitem__("name", "Burst_Pool"), ["metadata.name: 'Burst_Pool' is not a DNS subdomain"]),
]


@pytest.mark.parametrize(("kind", "mutate", "expect"), [(k, m, e) for k, _, m, e in MUTANTS], ids=[i for _, i, _, _ in MUTANTS])
def test_a_misspelt_or_wrong_field_fails_with_its_path(kind: str, mutate: Any, expect: list[str]) -> None:
    doc = document("burst", kind)
    mutate(doc)
    errors = validator(kind).errors(doc)
    for e in expect:
        assert any(x.startswith(e) for x in errors), (e, errors)
    assert all(any(x.startswith(e) for e in expect) for x in errors), f"only the expected errors: {errors}"


def test_defaults_are_applied_before_required_fields_are_checked() -> None:
    """As the API server does: a NodePool without ``disruption`` gets the CRD's default, which satisfies the
    required ``consolidateAfter``; our documents do not lean on it, but the validator must not refuse it."""
    doc = document("graviton", "NodePool")
    del doc["spec"]["disruption"]
    assert validator("NodePool").errors(doc) == []


def test_an_unknown_field_under_a_bare_object_schema_is_refused() -> None:
    """``type: object`` without properties prunes every field: with Strict, any field there is an error."""
    v = Validator({"type": "object", "properties": {"a": {"type": "object"}}})
    assert v.errors({"a": {"b": 1}}) == ["a.b: unknown field"]
    assert Validator({"type": "object", "properties": {"a": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}).errors({"a": {"b": 1}}) == []


def test_list_types_and_null() -> None:
    v = Validator({"type": "object", "properties": {
        "s": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
        "m": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["k"],
              "items": {"type": "object", "properties": {"k": {"type": "string"}, "v": {"type": "string"}}}},
        "n": {"type": "string"},
        "i": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+%$"}]},
    }})
    assert v.errors({"s": ["a", "a"], "m": [{"k": "x", "v": "1"}, {"k": "x", "v": "2"}], "n": None, "i": "ten"}) == [
        "s[1]: duplicate value 'a' in a list-type=set", "m[1]: duplicate entry for map keys ['k'] in a list-type=map",
        "n: null is not allowed (the API server would prune it)", "i: 'ten' matches none of anyOf"]
    assert v.errors({"i": "10%"}) == [] and v.errors({"i": 3}) == []
