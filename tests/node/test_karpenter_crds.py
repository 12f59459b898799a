"""Our EC2NodeClass and NodePool validate against Karpenter's own CRD schemas at the pinned version
(the CRD YAML of karpenter-provider-aws v1.15.0's module, copied by scripts/build-go-daemons), with
unknown fields refused as the API server refuses them under ``fieldValidation=Strict``."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from daemons import DaemonsMissing, go_index_path

from node.test_karpenter_merge import PROD, VARIANTS
from soci_component.offline import render_stack
from tests.support.crd_schema import Validator, crd_schema


def crd_file(kind: str) -> Path:
    entry = json.loads(go_index_path().read_text())["daemons"].get("karpenter-merge")
    if not entry or kind not in entry.get("files", {}):
        raise DaemonsMissing(f"no Karpenter CRD for {kind} in {go_index_path()}: run scripts/fetch-daemons")
    return Path(entry["files"][kind])


def validator(kind: str, doc: dict[str, Any]) -> Validator:
    crd = yaml.safe_load(crd_file(kind).read_text())
    group, version = doc["apiVersion"].split("/")
    assert crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == kind == doc["kind"]
    return Validator(crd_schema(crd, version))


def documents() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    out = []
    stacks = [PROD] + [dataclasses.replace(PROD, node_pools=(spec,)) for _, spec in VARIANTS]
    for stack in stacks:
        for node in render_stack(stack):
            if node.documents:
                out.append((node.rendered.name, yaml.safe_load(node.documents["ec2nodeclass.yaml"]), yaml.safe_load(node.documents["nodepool.yaml"])))
    return out


DOCS = documents()


@pytest.mark.parametrize(("name", "node_class", "pool"), DOCS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(DOCS)])
def test_our_documents_validate_against_karpenters_crds(name: str, node_class: dict, pool: dict) -> None:
    for kind, doc in (("EC2NodeClass", node_class), ("NodePool", pool)):
        v = validator(kind, doc)
        assert v.errors(doc) == [], f"{name} {kind}"
        assert v.skipped_cel > 0  # CEL rules exist and are not evaluated here (said in tests/support/crd_schema.py)


@pytest.mark.parametrize(
    ("kind", "mutate", "expect"),
    [
        ("EC2NodeClass", lambda d: d["spec"].__setitem__("amiSelectorTerm", d["spec"].pop("amiSelectorTerms")), "spec.amiSelectorTerm: unknown field"),
        ("EC2NodeClass", lambda d: d["spec"].__setitem__("instanceStorePolicy", "RAID1"), "spec.instanceStorePolicy: 'RAID1' is not one of"),
        ("EC2NodeClass", lambda d: d["spec"]["metadataOptions"].__setitem__("httpTokens", "sometimes"), "spec.metadataOptions.httpTokens"),
        ("NodePool", lambda d: d["spec"]["template"]["spec"].__setitem__("requirement", d["spec"]["template"]["spec"].pop("requirements")), "spec.template.spec.requirement: unknown field"),
        ("NodePool", lambda d: d["spec"]["template"]["spec"]["requirements"][0].__setitem__("operator", "Above"), "operator: 'Above' is not one of"),
        ("NodePool", lambda d: d["spec"].__setitem__("weight", 101), "spec.weight: 101 is above 100"),
    ],
    ids=["misspelt-amiSelectorTerm", "bad-instanceStorePolicy", "bad-httpTokens", "misspelt-requirement", "bad-operator", "weight-101"],
)
def test_a_misspelt_or_wrong_field_fails_with_its_path(kind: str, mutate: Any, expect: str) -> None:
    _, node_class, pool = DOCS[0]
    doc = copy.deepcopy(node_class if kind == "EC2NodeClass" else pool)
    if kind == "EC2NodeClass":
        doc["spec"].setdefault("metadataOptions", {"httpTokens": "required"})
    mutate(doc)
    errors = validator(kind, doc).errors(doc)
    assert any(expect in e for e in errors), errors
