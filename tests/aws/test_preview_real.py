"""`pulumi preview` of every stack against real AWS, through the Automation API.

Needs the Pulumi CLI and AWS credentials; without them it skips and says why. It creates no
resources (preview only) and uses a throwaway local backend; it does read from AWS (SSM AMI
parameters, instance types, the caller identity).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.aws import NEEDS_CREDENTIALS, NEEDS_PULUMI

ROOT = Path(__file__).resolve().parents[2]
STACKS = sorted(p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))


pytestmark = [
    NEEDS_PULUMI,
    NEEDS_CREDENTIALS,
]


@pytest.mark.parametrize("stack", STACKS)
def test_preview_against_aws(stack: str, tmp_path: Path) -> None:
    from pulumi import automation as auto

    work = tmp_path / "project"
    shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(".venv", ".cache", ".git", "out", "__pycache__", "tests"))
    env = {"PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}", "PULUMI_CONFIG_PASSPHRASE": "soci-eks-test"}
    (tmp_path / "state").mkdir()
    # The stack config lives in stacks/ (stackConfigDir); the CLI reads it from there.
    s = auto.create_or_select_stack(stack_name=stack, work_dir=str(work), opts=auto.LocalWorkspaceOptions(env_vars=env))
    try:
        result = s.preview(on_output=print)
        assert result.change_summary.get("create", 0) > 0
    finally:
        s.workspace.remove_stack(stack)
