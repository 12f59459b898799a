"""``py.typed`` holds for the public surface: the demo program and the examples — programs written as a user writes
them, against ``from soci_component import ...`` only — type-check with ``mypy --strict``.

The package is read through its ``py.typed`` marker as an installed dependency (``--follow-imports=silent``:
its own internals are not this test's subject). mypy's cache lives in ``.cache/mypy`` (the first run reads
pulumi-aws's stubs, ~2 minutes on 2 cores; later runs ~15 s).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = [ROOT / "__main__.py", *sorted((ROOT / "examples").glob("*/__main__.py"))]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: str(p.relative_to(ROOT)))
def test_program_type_checks_against_the_public_api(program: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--python-version", "3.11", "--cache-dir", str(ROOT / ".cache" / "mypy"),
         "--no-error-summary", str(program.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_check_can_fail(tmp_path: Path) -> None:
    """A program misusing the API (a string where the spec wants instance types as a tuple, an unknown argument) is refused."""
    bad = tmp_path / "bad.py"
    bad.write_text("from soci_component import AmiPin, NodeGroupSpec\n"
                   "NodeGroupSpec(name='x', ami=AmiPin(release='v20260714'), instance_types='m7i.xlarge', pull_mod='lazy')\n")
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--cache-dir", str(ROOT / ".cache" / "mypy"), str(bad)],
                       cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 1 and "instance_types" in r.stdout and "pull_mod" in r.stdout, r.stdout
