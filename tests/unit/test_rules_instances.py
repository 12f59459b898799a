"""rules/instances.py: the rules that need each instance type's facts (nodeadm's size floor per release)."""

from __future__ import annotations

from pathlib import Path

from tests.unit.offline_cli import render_cli


def test_size_floor_is_the_releases_own(tmp_path: Path) -> None:
    """nodeadm v20250813 ... v20251007 turns SOCI on only with >= 8 vCPU and >= 8 GiB; m7i.xlarge (4 vCPU) on v20250915 gets none."""
    r = render_cli(tmp_path, "name: p\nami: {release: v20250915}\ninstanceTypes: [m7i.xlarge]\npullMode: parallel\ncredentials: [cri-proxy]")
    assert r.returncode == 2, r.stdout
    assert "nodeGroups[0].instanceTypes:" in r.stderr
    assert ">= 8 vCPU and >= 8 GiB" in r.stderr and "AL2023 release v20250915" in r.stderr and "m7i.xlarge (instanceTypes[0]: 4 vCPU" in r.stderr
    ok = render_cli(tmp_path, "name: p\nami: {release: v20251016}\ninstanceTypes: [m7i.xlarge]\npullMode: parallel\ncredentials: [cri-proxy]")
    assert ok.returncode == 0, ok.stderr  # from v20251016 the floor is 4 vCPU / 7 GiB (amazon-eks-ami#2461)

