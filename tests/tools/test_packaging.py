"""The catalogue tooling stays out of the wheel, and the package's catalogue code does not shell out or fetch."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]


def _packaged() -> set[str]:
    """The packages pyproject.toml puts into the wheel (an explicit list, or setuptools' find with its include/exclude)."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = setuptools.get("packages", {"find": {}})
    if isinstance(packages, list):
        return set(packages)
    find = packages.get("find", {})
    return set(find_packages(where=str(ROOT / find.get("where", ["."])[0]), include=find.get("include", ["*"]), exclude=find.get("exclude", ())))


def test_wheel_holds_every_package_of_soci_component_and_no_tools() -> None:
    packaged = _packaged()
    assert not {p for p in packaged if p == "tools" or p.startswith("tools.")}, packaged
    assert not {p for p in packaged if p == "tests" or p.startswith("tests.")}, packaged
    ours = {".".join(d.relative_to(ROOT).parts) for d in (ROOT / "soci_component").rglob("*") if (d / "__init__.py").is_file()} | {"soci_component"}
    assert ours <= packaged, f"not packaged: {sorted(ours - packaged)}"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_package_catalogue_code_neither_shells_out_nor_fetches_nor_imports_the_tools() -> None:
    for path in sorted((ROOT / "soci_component").rglob("*.py")):
        imported = _imports(path)
        assert not {m for m in imported if m == "tools" or m.startswith("tools.")}, f"{path.relative_to(ROOT)} imports the maintainers' tools"
    for path in sorted((ROOT / "soci_component" / "ami").glob("*.py")):
        bad = {m for m in _imports(path) if m.split(".")[0] in ("subprocess", "urllib", "http", "socket")}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}: the catalogue tooling lives in tools/catalogue"
