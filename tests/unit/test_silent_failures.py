"""The four silent no-SOCI failures of issue "Four silent no-SOCI failures", each through the offline
``render`` command exactly as a user runs it (stack file in, node files out).

Each test failed on the code before the fix (commit 4d280fd): the node would have come up
"configured" while SOCI was silently off.
"""

from __future__ import annotations

import email
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

BASE = """\
config:
  aws:region: us-west-2
  soci-eks:cluster: {name: c, kubernetesVersion: "1.33"}
  soci-eks:nodeGroups:
"""


def render(tmp_path: Path, group: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "Pulumi.t.yaml"
    cfg.write_text(BASE + "    - " + group.replace("\n", "\n      ") + "\n")
    return subprocess.run([sys.executable, "-m", "soci_component", "render", "--config", str(cfg), "--out", str(tmp_path / "out")],
                          cwd=ROOT, capture_output=True, text=True, check=False)


def nodeconfig(tmp_path: Path, name: str) -> dict:
    msg = email.message_from_bytes((tmp_path / "out" / name / "user-data").read_bytes())
    return yaml.safe_load(msg.get_payload()[0].get_payload())


def test_gate_name_is_the_releases_own(tmp_path: Path) -> None:
    """v20250813's nodeadm knows only AggressiveImagePull (nodeadm/internal/api/types.go at that tag); FastImagePull came in v20250821."""
    r = render(tmp_path, "name: p\nami: {release: v20250813}\ninstanceTypes: [m7i.2xlarge]\npullMode: parallel\ncredentials: [cri-proxy]")
    assert r.returncode == 0, r.stderr
    assert nodeconfig(tmp_path, "p")["spec"]["featureGates"] == {"AggressiveImagePull": True}
    r = render(tmp_path, "name: q\nami: {release: v20250821}\ninstanceTypes: [m7i.2xlarge]\npullMode: parallel\ncredentials: [cri-proxy]")
    assert r.returncode == 0, r.stderr
    assert nodeconfig(tmp_path, "q")["spec"]["featureGates"] == {"FastImagePull": True}


def test_size_floor_is_the_releases_own(tmp_path: Path) -> None:
    """nodeadm v20250813 ... v20251007 turns SOCI on only with >= 8 vCPU and >= 8 GiB; m7i.xlarge (4 vCPU) on v20250915 gets none."""
    r = render(tmp_path, "name: p\nami: {release: v20250915}\ninstanceTypes: [m7i.xlarge]\npullMode: parallel\ncredentials: [cri-proxy]")
    assert r.returncode == 2, r.stdout
    assert "nodeGroups[0].instanceTypes:" in r.stderr
    assert ">= 8 vCPU and >= 8 GiB" in r.stderr and "AL2023 release v20250915" in r.stderr and "m7i.xlarge (instanceTypes[0]: 4 vCPU" in r.stderr
    ok = render(tmp_path, "name: p\nami: {release: v20251016}\ninstanceTypes: [m7i.xlarge]\npullMode: parallel\ncredentials: [cri-proxy]")
    assert ok.returncode == 0, ok.stderr  # from v20251016 the floor is 4 vCPU / 7 GiB (amazon-eks-ami#2461)


def test_mirrors_are_urls(tmp_path: Path) -> None:
    """SOCI parses a mirror's host with url.Parse and uses its host part: a bare host name is an empty host (service/resolver/registry.go)."""
    r = render(tmp_path, "name: m\nami: {release: v20260714}\ninstanceTypes: [m7i.xlarge]\n"
                         "tuning: {mirrors: [{host: docker.io, mirrors: [mirror.example.com, 'mirror2.example.com:5000']}, {host: quay.io, mirrors: [m.local], insecure: true}]}")
    assert r.returncode == 0, r.stderr
    cfg = tomllib.loads((tmp_path / "out/m/files/etc/soci-snapshotter-grpc/config.toml").read_text())
    hosts = cfg["resolver"]["host"]
    assert [m["host"] for m in hosts["docker.io"]["mirrors"]] == ["https://mirror.example.com", "https://mirror2.example.com:5000"]
    assert hosts["quay.io"]["mirrors"] == [{"host": "http://m.local", "insecure": True}]


def test_docker_hub_credentials_key(tmp_path: Path) -> None:
    """SOCI's docker keychain looks Docker Hub up as https://index.docker.io/v1/ (service/keychain/dockerconfig/dockerconfig.go)."""
    r = render(tmp_path, "name: s\nami: {release: v20260714}\ninstanceTypes: [m7i.xlarge]\ncredentials: [{type: static, registry: docker.io}]")
    assert r.returncode == 0, r.stderr
    script = email.message_from_bytes((tmp_path / "out/s/user-data").read_bytes()).get_payload()[1].get_payload()
    add = [line for line in script.splitlines() if line.startswith("add_auth ")]
    assert len(add) == 1 and " https://index.docker.io/v1/ " in add[0], add
