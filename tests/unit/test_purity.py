"""The pure modules import no Pulumi (or AWS SDK), directly or through anything they import.

Every module of the package is pure except ``soci_component.components`` (the Pulumi wiring); the
list is built from the files, so a new module is covered without editing this test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "soci_component"
PURE = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py")
    if "components" not in p.relative_to(PACKAGE).parts
)
FORBIDDEN = ("pulumi", "pulumi_aws", "pulumi_eks", "pulumi_kubernetes", "boto3", "botocore")


def test_the_list_is_not_empty() -> None:
    assert {"soci_component.spec", "soci_component.rules", "soci_component.render.mime", "soci_component.ami.resolve"} <= set(PURE)


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_no_pulumi(module: str) -> None:
    """A fresh interpreter imports the module; no forbidden package may be in sys.modules afterwards."""
    code = f"import sys, importlib; importlib.import_module({module!r}); print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]", f"{module} pulls in {r.stdout.strip()}"
