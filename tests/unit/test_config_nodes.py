"""config/nodes.py: the schema of nodeGroups[i] and nodePools[i]."""

from __future__ import annotations

import pytest

from soci_component.config import NODE_GROUP_KEYS, parse
from soci_component.errors import SpecError

NESTED = {
    "ami": {"release": "v20260714"}, "tuning": {}, "tuning.parallel": {}, "tuning.mirrors[0]": {"host": "docker.io", "mirrors": ["m.example.com"]},
    "sociSource": {"type": "release"}, "sociSource.sha256": {}, "credentials[0]": {"type": "cri-proxy"}, "taints[0]": {"key": "a", "effect": "NoSchedule"},
    "disk": {}, "scaling": {}, "tuning.parallel.decompressor": {"path": "/usr/bin/pigz"},
}



@pytest.mark.parametrize("where", sorted(NESTED))
def test_unknown_key_in_every_nested_mapping(where: str) -> None:
    group: dict = {"name": "a", "ami": {"release": "v20260714"}, "instanceTypes": ["m7i.xlarge"], "pullMode": "lazy-with-parallel-fallback", "sociSource": {"type": "release"}}
    # build the nested path and put an unknown key into it
    node = group
    parts = where.replace("]", "").replace("[", ".").split(".")
    for i, part in enumerate(parts):
        if part.isdigit():
            continue
        is_list = i + 1 < len(parts) and parts[i + 1].isdigit()
        if is_list:
            node.setdefault(part, [dict(NESTED[where])])
            node = node[part][0]
        else:
            existing = node.get(part)
            node[part] = dict(existing) if isinstance(existing, dict) else dict(NESTED.get(".".join(parts[: i + 1]), {}))
            node = node[part]
    node["bogusKey"] = 1
    cfg = {"aws:region": "us-west-2", "soci-eks:cluster": {"name": "c", "kubernetesVersion": "1.33"}, "soci-eks:nodeGroups": [group]}
    with pytest.raises(SpecError) as e:
        parse(cfg)
    assert e.value.path == f"nodeGroups[0].{where}.bogusKey" and "unknown key" in e.value.message



def test_every_node_group_key_is_documented_in_the_readme() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [k for k in NODE_GROUP_KEYS if f"`{k}" not in readme]
    assert missing == []

