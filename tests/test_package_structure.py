"""The package's rooms: no module over 400 lines, no import circle, every module documented, the catalogue
tooling outside the wheel, and the layout the README describes.

An import circle is found over every import statement of the package — function-level (lazy) imports and
``if TYPE_CHECKING:`` imports included (a circle that only type hints close is still two modules that each need
the other) — between modules, counting a package's ``__init__`` as the
package (importing ``a.b.c`` runs ``a.b``'s ``__init__`` first), but not a module's own enclosing packages
(which Python has already begun to import) and not the root package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "soci_component"
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PACKAGE.rglob("*.py")):
        parts = p.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


MODULES = _modules()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_over_400_lines(module: str) -> None:
    lines = MODULES[module].read_text().count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines: split it by what a reader looks for"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_says_what_it_is(module: str) -> None:
    assert ast.get_docstring(ast.parse(MODULES[module].read_text())), f"{module} has no module docstring"


class _Imports(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool) -> None:
        self.package = module if is_package else module.rpartition(".")[0]
        self.found: set[str] = set()

    def visit_Import(self, node: ast.Import) -> None:  # noqa: N802
        self.found |= {a.name for a in node.names}

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:  # noqa: N802
        if node.level:
            base = self.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        self.found.add(target)
        self.found |= {f"{target}.{a.name}" for a in node.names}  # `from . import x`: the submodule x


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        v = _Imports(name, path.name == "__init__.py")
        v.visit(ast.parse(path.read_text()))
        own = {name.rsplit(".", i)[0] for i in range(1, name.count(".") + 1)}
        targets = set()
        for t in v.found:
            parts = t.split(".")
            for i in range(2, len(parts) + 1):  # the target and the packages it runs first, not the root package
                m = ".".join(parts[:i])
                if m in MODULES and m not in own and m != name:
                    targets.add(m)
        edges[name] = targets
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_circle() -> None:
    assert not circles(graph()), f"import circles: {circles(graph())}"


def test_the_circle_finder_finds_circles() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_a_lazy_import_counts() -> None:
    v = _Imports("soci_component.render.plan", False)
    v.visit(ast.parse("def f():\n    from ..report import report\nif TYPE_CHECKING:\n    from .types import X\n"))
    assert {"soci_component.report", "soci_component.render.types"} <= v.found


def test_catalogue_tooling_is_not_in_the_wheel() -> None:
    """The package holds data, loader, resolve and ``ami list``; the sync tooling (git, urllib, CHANGELOG parsing) is the
    maintainers' (``tools/catalogue``) and never writes into an installed package."""
    ami = {p.name for p in (PACKAGE / "ami").glob("*.py")}
    assert not ami & {"changelog.py", "eks_ami_source.py", "bottlerocket_git.py", "bottlerocket_source.py", "sync.py"}, ami
    for path in MODULES.values():
        text = path.read_text()
        assert "import subprocess" not in text or path.parent.name in ("images", "verify"), f"{path} shells out"
