"""Every rendered scenario against its committed golden tree (user-data, files/, report.json).

Regenerate with `pytest tests/golden --update-goldens` and review `git diff tests/golden`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from soci_component.offline import write_tree
from tests.support.scenarios import SCENARIOS

GOLDEN = Path(__file__).parent


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden(name: str, tmp_path: Path, update_goldens: bool) -> None:
    rendered = SCENARIOS[name].render()
    # The golden directory is named after the scenario; write_tree names it after the node group.
    write_tree([rendered], tmp_path)
    tree = _tree(tmp_path / rendered.name)
    target = GOLDEN / name
    if update_goldens:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(tmp_path / rendered.name, target)
    assert target.is_dir(), f"no golden for {name}: run pytest --update-goldens and review the diff"
    golden = _tree(target)
    assert sorted(tree) == sorted(golden), f"{name}: file set changed"
    for path, data in tree.items():
        assert data == golden[path], f"{name}: {path} differs from golden (pytest --update-goldens, then review git diff)"


def test_no_stale_goldens() -> None:
    stale = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir() and p.name not in SCENARIOS and p.name != "__pycache__")
    assert not stale, f"golden directories without a scenario: {stale}"
