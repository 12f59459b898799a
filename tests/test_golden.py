"""Every rendered scenario against its committed golden tree (user-data, files/, profile.json).

Regenerate with `pytest tests/test_golden.py --update-goldens` and review `git diff tests/golden`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from scenarios import SCENARIOS

from soci_component.offline import write_tree

GOLDEN = Path(__file__).parent / "golden"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden(name: str, tmp_path: Path, update_goldens: bool) -> None:
    bootstrap = SCENARIOS[name].render()
    # The golden directory is named after the scenario; write_tree names it after the node group.
    write_tree([bootstrap], tmp_path)
    rendered = _tree(tmp_path / bootstrap.name)
    target = GOLDEN / name
    if update_goldens:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(tmp_path / bootstrap.name, target)
    assert target.is_dir(), f"no golden for {name}: run pytest --update-goldens and review the diff"
    golden = _tree(target)
    assert sorted(rendered) == sorted(golden), f"{name}: file set changed"
    for path, data in rendered.items():
        assert data == golden[path], f"{name}: {path} differs from golden (pytest --update-goldens, then review git diff)"


def test_no_stale_goldens() -> None:
    stale = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir() and p.name not in SCENARIOS) if GOLDEN.exists() else []
    assert not stale, f"golden directories without a scenario: {stale}"
