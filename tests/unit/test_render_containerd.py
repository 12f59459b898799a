"""render/containerd.py base_config: nodeadm's base containerd config per catalogued AL2023 release, from
the release's own facts (the catalogue's ``nodeadm`` keys, read from its template and Go code at the tag).

The expectations read releases.json itself (not the loader), so a loader or renderer that drops or
swaps a release's facts fails here."""

from __future__ import annotations

import json
import tomllib
from importlib import resources

import pytest

from soci_component.ami import catalogue
from soci_component.ami.nodeadm import EKS_REGISTRY
from soci_component.ami.resolve import resolve
from soci_component.render import containerd
from soci_component.spec import AmiPin, NodeGroupSpec, OperatingSystem, UpstreamRelease, Variant

ROWS = {r["release"]: r for r in json.loads(resources.files("soci_component.ami").joinpath("releases.json").read_text())["al2023"]}
CASES = [(release, k8s) for release, row in ROWS.items() for k8s in (row.get("kubernetes") or {})
         if "AL2023_x86_64_STANDARD" in row["kubernetes"][k8s]["amiTypes"] and "AL2023_x86_64_STANDARD" not in row["kubernetes"][k8s].get("amiNames", {})]


def _profile(release: str, k8s: str, variant: Variant = Variant.STANDARD):
    spec = NodeGroupSpec(name="n", kubernetes_version=k8s, ami=AmiPin(release=release, variant=variant), instance_types=("m7i.xlarge",), soci_source=UpstreamRelease())
    return resolve(spec)


def _cri(config: dict) -> tuple[str, dict]:
    """(sandbox image, the CRI table holding enable_cdi) of a parsed schema 2 or 3 config."""
    plugins = config["plugins"]
    if config["version"] == 3:
        return plugins["io.containerd.cri.v1.images"]["pinned_images"]["sandbox"], plugins["io.containerd.cri.v1.runtime"]
    return plugins["io.containerd.grpc.v1.cri"]["sandbox_image"], plugins["io.containerd.grpc.v1.cri"]


def _expected_sandbox(row: dict) -> str:
    s = row["nodeadm"]["sandboxImage"]
    return s if isinstance(s, str) else f"{EKS_REGISTRY}/{s['eksRegistry']}"


def test_every_confirmed_al2023_release_is_covered() -> None:
    assert {r for r, _ in CASES} == {r for r, row in ROWS.items() if row.get("kubernetes")}
    assert all("configTemplates" in row["nodeadm"] for row in ROWS.values()), "every AL2023 row has its nodeadm's containerd facts (run the sync)"


@pytest.mark.parametrize("release, k8s", CASES, ids=[f"{r}-{k}" for r, k in CASES])
def test_offline_config_uses_the_releases_own_sandbox_image_and_cdi(release: str, k8s: str) -> None:
    """The effective config (what the offline view shows: our fragment merged over nodeadm's base) carries
    the sandbox image reference this release's nodeadm writes, byte for byte, and its enable_cdi."""
    row, profile = ROWS[release], _profile(release, k8s)
    effective = tomllib.loads(containerd.merge(containerd.base_config(profile), containerd.soci_fragment(profile, "/var/lib/soci-snapshotter-grpc")))
    sandbox, cri = _cri(effective)
    assert sandbox == _expected_sandbox(row)
    cdi_from = row["nodeadm"]["enableCdiFrom"]
    assert cri.get("enable_cdi") == (None if cdi_from is None else int(k8s.split(".")[1]) >= int(cdi_from.split(".")[1]))
    assert effective["version"] == (3 if profile.containerd_major >= 2 else 2)
    assert containerd.base_config(profile).startswith(f"# nodeadm {release}'s base config for containerd {profile.containerd} ")


def test_sandbox_image_as_the_release_nodeadms_write_it() -> None:
    """Anchors from running nodeadm at these tags: no tag before v20260625, ':latest' from it on."""
    for release, k8s in (("v20250813", "1.33"), ("v20250821", "1.33"), ("v20251108", "1.30"), ("v20251108", "1.31")):
        assert _cri(tomllib.loads(containerd.base_config(_profile(release, k8s))))[0] == "localhost/kubernetes/pause", (release, k8s)
    for release in ("v20260625", "v20260714"):
        assert _cri(tomllib.loads(containerd.base_config(_profile(release, "1.33"))))[0] == "localhost/kubernetes/pause:latest", release


@pytest.mark.parametrize("variant, runtime, binary", [(Variant.NVIDIA, "nvidia", "/usr/bin/nvidia-container-runtime"), (Variant.STANDARD, "runc", "/usr/sbin/runc")])
def test_runtime_from_the_releases_nodeadm(variant: Variant, runtime: str, binary: str) -> None:
    config = tomllib.loads(containerd.base_config(_profile("v20260714", "1.33", variant)))
    rt = config["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]
    assert rt["default_runtime_name"] == runtime and rt["runtimes"][runtime]["options"]["BinaryName"] == binary


def test_raw_ami_gets_the_newest_catalogued_nodeadm_and_says_so() -> None:
    spec = NodeGroupSpec(name="n", kubernetes_version="1.33", ami=AmiPin(ami_id="ami-0123456789abcdef0", containerd_version="2.2.4"), instance_types=("m7i.xlarge",),
                         soci_source=UpstreamRelease())
    profile = resolve(spec)
    newest = [r for r in catalogue().of(OperatingSystem.AL2023) if r.containerd_config is not None][-1]
    assert profile.containerd_config == newest.containerd_config
    assert f"nodeadm {newest.version}'s base config" in containerd.base_config(profile) and "assumed for a raw AMI" in containerd.base_config(profile)
