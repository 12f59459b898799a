"""The real nodeadm reads our NodeConfig parts (``nodeadm config check``).

The Go module proxy serves nodeadm only at ``v0.0.0-20240229193347-cfab22a10647`` (every AL2023
release-tag commit is refused with 403; see scripts/build-go-daemons), which predates every release
the catalogue pins: it has no ``featureGates``, its ``file://`` source does not split MIME (only
``imds://`` does), and it decodes with Kubernetes' non-strict universal decoder. So this proves what it
can — every NodeConfig part we render is a NodeConfig this nodeadm decodes and validates — and shows,
with the real program, why the component cannot lean on nodeadm to refuse a wrong field: a misspelt
field or gate passes ``config check`` without a word (the per-release gate name must be right in our
catalogue: tests/unit/test_rules_node.py and the properties in test_pipeline_properties.py).
"""

from __future__ import annotations

import email
import gzip
import subprocess
from pathlib import Path

import pytest

from soci_component.spec import OperatingSystem
from tests.karpenter import POOLS, karpenter_merged
from tests.support.daemons import daemon
from tests.support.scenarios import SCENARIOS, al2023_scenarios

NODECONFIG = "application/node.eks.aws"


def nodeadm() -> Path:
    return daemon("nodeadm-20240229").bin("nodeadm")


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([nodeadm(), "config", "check", "--config-source", f"file://{path}"], capture_output=True, text=True, timeout=60, check=False)


def nodeconfig_parts(user_data: bytes) -> list[bytes]:
    if user_data[:2] == b"\x1f\x8b":
        user_data = gzip.decompress(user_data)
    msg = email.message_from_bytes(user_data)
    return [p.get_payload(decode=True) for p in msg.walk() if p.get_content_type() == NODECONFIG]


@pytest.mark.parametrize("scenario", [s.name for s in al2023_scenarios()])
def test_every_rendered_nodeconfig_part_is_valid_for_nodeadm(scenario: str, tmp_path: Path) -> None:
    parts = nodeconfig_parts(SCENARIOS[scenario].render().raw_user_data)
    assert parts, "no NodeConfig part in the user data"
    for i, part in enumerate(parts):
        f = tmp_path / f"part{i}.yaml"
        f.write_bytes(part)
        r = check(f)
        assert r.returncode == 0 and "Configuration is valid" in r.stderr + r.stdout, r.stderr[-2000:]


def test_nodeadm_refuses_what_is_not_a_nodeconfig(tmp_path: Path) -> None:
    """The check can fail: a wrong apiVersion and a wrong type are refused."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: node.eks.aws/v9\nkind: NodeConfig\nspec: {}\n")
    assert check(bad).returncode != 0
    bad.write_text("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    flags: 7\n")
    assert check(bad).returncode != 0


def test_nodeadm_accepts_misspelt_fields_and_gates_silently(tmp_path: Path) -> None:
    """Non-strict decoding: what nodeadm does not know it drops. A gate it does not know is a node
    without SOCI that nodeadm called valid; the component must get the name right per release."""
    f = tmp_path / "typo.yaml"
    f.write_text(
        "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n"
        "  cluster: {name: c, apiServerEndpoint: 'https://example.com', certificateAuthority: Y2E=, cidr: 172.20.0.0/16}\n"
        "  featureGates: {FastImagePul: true}\n  kubelet:\n    flagz: [--v=2]\n"
    )
    r = check(f)
    assert r.returncode == 0 and "Configuration is valid" in r.stderr + r.stdout, r.stderr[-1000:]


AL2023_POOLS = sorted(name for name, spec in POOLS.items() if spec.os is OperatingSystem.AL2023)


@pytest.mark.parametrize("pool_name", AL2023_POOLS)
def test_nodeadm_validates_every_nodeconfig_karpenter_delivers(pool_name: str, tmp_path: Path) -> None:
    """Each NodeConfig part of a pool's MIME after Karpenter's real merge (ours, then Karpenter's) passes
    the real nodeadm's ``config check``."""
    found = nodeconfig_parts(karpenter_merged(pool_name))
    assert len(found) >= 2, "our part(s) and Karpenter's"
    for i, part in enumerate(found):
        f = tmp_path / f"part{i}.yaml"
        f.write_bytes(part)
        r = check(f)
        assert r.returncode == 0 and "Configuration is valid" in r.stderr + r.stdout, r.stderr[-1500:]
