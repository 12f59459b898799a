"""render/nodeconfig.py: the NodeConfig nodeadm reads (the release's own gate name)."""

from __future__ import annotations

from pathlib import Path

from tests.unit.offline_cli import nodeconfig, render_cli


def test_gate_name_is_the_releases_own(tmp_path: Path) -> None:
    """v20250813's nodeadm knows only AggressiveImagePull (nodeadm/internal/api/types.go at that tag); FastImagePull came in v20250821."""
    r = render_cli(tmp_path, "name: p\nami: {release: v20250813}\ninstanceTypes: [m7i.2xlarge]\npullMode: parallel\ncredentials: [cri-proxy]")
    assert r.returncode == 0, r.stderr
    assert nodeconfig(tmp_path, "p")["spec"]["featureGates"] == {"AggressiveImagePull": True}
    r = render_cli(tmp_path, "name: q\nami: {release: v20250821}\ninstanceTypes: [m7i.2xlarge]\npullMode: parallel\ncredentials: [cri-proxy]")
    assert r.returncode == 0, r.stderr
    assert nodeconfig(tmp_path, "q")["spec"]["featureGates"] == {"FastImagePull": True}



def test_raid0_is_nodeadms_local_storage_strategy() -> None:
    """nodeadm's NodeConfig spec.instance.localStorage.strategy: RAID0 stripes the instance-store NVMe (nodeadm API, v1alpha1)."""
    from soci_component import pipeline
    from soci_component.spec import AmiPin, LocalStorage, NodeGroupSpec

    for storage, want in ((LocalStorage.RAID0, {"localStorage": {"strategy": "RAID0"}}), (LocalStorage.NONE, None)):
        spec = NodeGroupSpec(name="g", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m6id.xlarge",), local_storage=storage)
        assert pipeline.plan_node(spec).node_spec.get("instance") == want  # type: ignore[union-attr]
