"""The offline ``render`` command as a user runs it: a stack file with one node group in, the node's files out (helper, not a test module)."""

from __future__ import annotations

import email
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

BASE = """\
config:
  aws:region: us-west-2
  soci-eks:cluster: {name: c, kubernetesVersion: "1.33"}
  soci-eks:nodeGroups:
"""


def render_cli(tmp_path: Path, group: str) -> subprocess.CompletedProcess[str]:
    """``python -m soci_component render --config <stack file with this node group> --out <tmp_path>/out``."""
    cfg = tmp_path / "Pulumi.t.yaml"
    cfg.write_text(BASE + "    - " + group.replace("\n", "\n      ") + "\n")
    return subprocess.run([sys.executable, "-m", "soci_component", "render", "--config", str(cfg), "--out", str(tmp_path / "out")],
                          cwd=ROOT, capture_output=True, text=True, check=False)


def nodeconfig(tmp_path: Path, name: str) -> dict:
    """The NodeConfig part of the user data ``render_cli`` wrote for node group ``name``."""
    msg = email.message_from_bytes((tmp_path / "out" / name / "user-data").read_bytes())
    return yaml.safe_load(msg.get_payload()[0].get_payload())
