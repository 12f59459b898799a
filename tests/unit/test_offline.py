"""offline.py: the render command's view — every node group and pool through the rules preview applies, written as a tree."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from soci_component.config import parse
from soci_component.offline import render_stack, write_tree

CFG = {"aws:region": "us-west-2", "soci-eks:cluster": {"name": "c", "kubernetesVersion": "1.33"},
       "soci-eks:nodeGroups": [{"name": "g", "ami": {"release": "v20260714"}, "instanceTypes": ["m7i.metal-24xl"], "credentials": ["cri-proxy"]}],
       "soci-eks:nodePools": [{"name": "p", "ami": {"release": "v20260714"}}]}


def test_groups_then_pools_with_warnings_and_unchecked_types(tmp_path: Path) -> None:
    g, p = render_stack(parse(CFG))
    assert (g.rendered.name, p.rendered.name) == ("g", "p")
    assert g.unchecked_instance_types == ("m7i.metal-24xl",) and any("never rotate" in w for w in g.warnings)
    assert g.documents == {} and set(p.documents) == {"ec2nodeclass.yaml", "nodepool.yaml", "user-data.merged"}
    node_class = yaml.safe_load(p.documents["ec2nodeclass.yaml"])
    assert node_class["kind"] == "EC2NodeClass" and node_class["spec"]["userData"] == p.rendered.user_data.decode()


def test_write_tree_writes_what_the_nodes_get(tmp_path: Path) -> None:
    nodes = render_stack(parse(CFG))
    written = write_tree([n.rendered for n in nodes], tmp_path, {"g": {"warnings": list(nodes[0].warnings)}}, {n.rendered.name: n.documents for n in nodes})
    g = nodes[0].rendered
    assert (tmp_path / "g" / "user-data").read_bytes() == g.user_data
    for f in g.files:
        target = tmp_path / "g" / "files" / f.path.lstrip("/")
        assert target.read_text() == f.content and target.stat().st_mode & 0o777 == f.mode
        assert target in written
    report = json.loads((tmp_path / "g" / "report.json").read_text())
    assert report["nodeGroup"] == "g" and report["userDataBytes"] == len(g.user_data) and report["userDataGzipped"] is False
    assert report["warnings"] == list(nodes[0].warnings)
    assert report["files"] == {f.path: {"mode": f"{f.mode:04o}", "writtenBy": f.writer.value, **({"note": f.note} if f.note else {})} for f in g.files}
    assert (tmp_path / "p" / "nodepool.yaml").read_bytes() == nodes[1].documents["nodepool.yaml"]
