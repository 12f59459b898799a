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

