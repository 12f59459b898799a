"""The repository's contract: CI runs exactly the README's test command; the render command works offline."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    quick = readme[readme.index("## Quickstart") :].split("\n## ", 1)[0]
    assert "\nscripts/test\n" in quick, "the quickstart shows scripts/test as the test command"
    assert "pulumi up -s dev" in quick
    ci = [line for line in (ROOT / ".ci/run").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert ci[-1] == "scripts/test", ci


@pytest.mark.parametrize("stack", sorted(p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml")))
def test_render_command_offline(stack: str, tmp_path: Path) -> None:
    """`python -m soci_component render --stack <env>` in a fresh interpreter, without AWS or Pulumi."""
    r = subprocess.run(
        [sys.executable, "-m", "soci_component", "render", "--stack", stack, "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert r.returncode == 0, r.stderr
    groups = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert groups
    for g in groups:
        profile = json.loads((g / "report.json").read_text())
        assert re.fullmatch(r"\d+\.\d+\.\d+", profile["containerdVersion"])
        assert (g / "user-data").stat().st_size == profile["userDataBytes"] <= 16384
        if profile["os"] == "al2023":
            assert (g / "files/etc/containerd/config.toml").is_file()
            assert (g / "files/etc/soci-snapshotter-grpc/config.toml").is_file()


def test_dev_user_data_is_a_small_share_of_the_limit(tmp_path: Path) -> None:
    """The dev stack's user data stays under 4.5 KB uncompressed (EC2 allows 16 KB), with a real-size CA placeholder."""
    from soci_component.config import load_stack_file
    from soci_component.offline import render_stack

    for n in render_stack(load_stack_file(ROOT / "stacks/Pulumi.dev.yaml")):
        b = n.rendered
        assert len(b.raw_user_data) < 4608, f"{b.name}: {len(b.raw_user_data)} bytes uncompressed"
