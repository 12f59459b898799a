"""render/plan.py: what a node group's nodes get before any cluster value exists: files, units, credentials plan, script steps."""

from __future__ import annotations

import email
from pathlib import Path

import pytest

from soci_component.render.paths import CONTAINERD_DROPIN, KUBELET_PAUSE_DROPIN, SOCI_SERVICE
from soci_component.render.script import Auth
from soci_component.spec import (
    AmiPin,
    NodeGroupSpec,
    StaticCredentials,
    UpstreamRelease,
)
from tests.unit.offline_cli import render_cli
from tests.unit.specs import group, planned


@pytest.mark.parametrize("registry, key", [
    ("docker.io", "https://index.docker.io/v1/"),
    ("index.docker.io", "https://index.docker.io/v1/"),
    ("registry-1.docker.io", "https://index.docker.io/v1/"),
    ("registry.example.com", "registry.example.com"),
    ("quay.io", "quay.io"),
])
def test_static_credentials_key_per_registry(registry: str, key: str) -> None:
    """Mutant docker-hub-registry-1-missed: SOCI's docker keychain asks for Docker Hub as https://index.docker.io/v1/ whichever
    of its host names the image uses (service/keychain/dockerconfig/dockerconfig.go); any other registry is keyed by its host."""
    p = planned(group(credentials=(StaticCredentials(registry),)))
    assert p.script.auths == (Auth(registry, key),)


def _units(p) -> dict[str, dict[str, list[str]]]:  # type: ignore[no-untyped-def]
    """path -> section -> key=value lines (a tiny INI reader for the assertions)."""
    out: dict[str, dict[str, list[str]]] = {}
    for f in p.files:
        if not f.path.startswith("/etc/systemd/"):
            continue
        section = ""
        out[f.path] = {}
        for line in f.content.splitlines():
            if line.startswith("["):
                section = line.strip("[]")
                out[f.path].setdefault(section, [])
            elif "=" in line:
                out[f.path][section].append(line)
    return out


def test_boot_order_soci_before_containerd_before_kubelet() -> None:
    """Semantics, not bytes: the SOCI service starts before containerd, containerd requires it, the pause import runs before the kubelet."""
    spec = NodeGroupSpec(name="o", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",), soci_source=UpstreamRelease())
    units = _units(planned(spec))
    assert "Before=containerd.service" in units[SOCI_SERVICE]["Unit"]
    assert {"Requires=soci-snapshotter.service", "After=soci-snapshotter.service"} <= set(units[CONTAINERD_DROPIN]["Unit"])
    pause = units[KUBELET_PAUSE_DROPIN]["Service"]
    assert len(pause) == 1 and pause[0].startswith("ExecStartPre=") and "--snapshotter soci" in pause[0]


def test_docker_hub_credentials_key(tmp_path: Path) -> None:
    """SOCI's docker keychain looks Docker Hub up as https://index.docker.io/v1/ (service/keychain/dockerconfig/dockerconfig.go)."""
    r = render_cli(tmp_path, "name: s\nami: {release: v20260714}\ninstanceTypes: [m7i.xlarge]\ncredentials: [{type: static, registry: docker.io}]")
    assert r.returncode == 0, r.stderr
    script = email.message_from_bytes((tmp_path / "out/s/user-data").read_bytes()).get_payload()[1].get_payload()
    add = [line for line in script.splitlines() if line.startswith("add_auth ")]
    assert len(add) == 1 and " https://index.docker.io/v1/ " in add[0], add


def test_the_amis_soci_unit_changes_only_for_a_custom_root() -> None:
    """With the AMI's SOCI the image's own units stay; a custom tuning.root needs an ExecStart drop-in passing --root, the default none."""
    from soci_component.render.paths import SOCI_SERVICE_DROPIN
    from soci_component.spec import DEFAULT_SOCI_ROOT, SociTuning

    default = planned(group())
    assert SOCI_SERVICE_DROPIN not in [f.path for f in default.files]
    for root in ("/var/lib/soci-snapshotter", "/var/lib/soci-snapshotter-grpc2", "/data/soci"):
        assert root != DEFAULT_SOCI_ROOT
        dropin = next(f for f in planned(group(tuning=SociTuning(root=root))).files if f.path == SOCI_SERVICE_DROPIN)
        assert f"--root {root}\n" in dropin.content and "ExecStart=\n" in dropin.content


def test_min_layer_size_default_is_the_readmes() -> None:
    """README, configuration reference: tuning.minLayerSize defaults to 10000000 bytes ([snapshotter] min_layer_size)."""
    import tomllib

    from soci_component.render.paths import SOCI_CONFIG

    soci = next(f for f in planned(group()).files if f.path == SOCI_CONFIG)
    assert tomllib.loads(soci.content)["snapshotter"]["min_layer_size"] == 10_000_000
