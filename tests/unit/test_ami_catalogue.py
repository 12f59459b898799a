"""ami/catalogue.py: the loader's validation, and the facts of the shipped catalogue (data synced from upstream)."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from soci_component.ami import catalogue, load
from soci_component.ami.catalogue import CatalogueError
from soci_component.spec import OperatingSystem

AL, BR = OperatingSystem.AL2023, OperatingSystem.BOTTLEROCKET
ROOT = Path(__file__).resolve().parents[2]
DATA = resources.files("soci_component.ami")
DEFECTS = DATA.joinpath("defects.toml").read_text()


def releases(os: OperatingSystem) -> dict[str, object]:
    return {r.version: r for r in catalogue().of(os)}


def test_every_changelog_release_since_v20241016_is_catalogued() -> None:
    """The CHANGELOG at the synced commit documents these AL2023 releases from v20241016 on (42 of them were missing before the sync)."""
    al = releases(AL)
    documented = [v for v, r in al.items() if r.builds is not None and v >= "v20241016"]  # type: ignore[attr-defined]
    assert len(documented) >= 60
    for v in ("v20241016", "v20250821", "v20251217", "v20260107", "v20260304", "v20260714"):
        assert v in documented


def test_gate_and_floor_per_release() -> None:
    al = releases(AL)
    gates = {v: (r.feature_gate, str(r.size_floor) if r.size_floor else None) for v, r in al.items()}  # type: ignore[attr-defined]
    assert gates["v20250807"] == (None, None)
    assert gates["v20250813"] == gates["v20250819"] == ("AggressiveImagePull", "8 vCPU / 8 GiB")
    assert gates["v20250821"] == gates["v20251007"] == ("FastImagePull", "8 vCPU / 8 GiB")
    assert gates["v20251016"] == gates["v20260714"] == ("FastImagePull", "4 vCPU / 7 GiB")
    for v, r in al.items():
        if r.feature_gate:  # type: ignore[attr-defined]
            assert "featureGate" in r.sources and "sizeFloor" in r.sources, v  # type: ignore[attr-defined]


def test_release_facts() -> None:
    al = releases(AL)
    assert al["v20251112"].containerd_spec == "1.28-1.30=1.7.27 1.31-1.34=2.1.4"  # type: ignore[attr-defined]
    assert al["v20260128"].abandoned and al["v20260311"].abandoned  # type: ignore[attr-defined]
    assert al["v20260128"].builds is not None  # full table, still refused  # type: ignore[attr-defined]
    assert al["v20260505"].refused and "amazon-eks-ami/issues/2710" in json.dumps(dict(al["v20260505"].sources))  # type: ignore[attr-defined]
    assert al["v20250813"].soci_package and not al["v20250807"].soci_package  # type: ignore[attr-defined]
    assert al["v20260512"].pause_import and not al["v20260505"].pause_import  # type: ignore[attr-defined]
    assert al["v20251217"].soci_on_instance_store and not al["v20251209"].soci_on_instance_store  # type: ignore[attr-defined]
    assert al["v20260724"].builds is None  # a tag without a CHANGELOG entry  # type: ignore[attr-defined]
    for r in al.values():
        assert r.sources, r  # type: ignore[attr-defined]
        assert all(u.startswith("https://github.com/awslabs/amazon-eks-ami/") for k, u in r.sources.items() if not k.startswith("defect")), r  # type: ignore[attr-defined]


def test_bottlerocket_facts() -> None:
    br = releases(BR)
    assert br["1.57.0"].kubernetes == "1.29-1.35"  # type: ignore[attr-defined]
    for r in br.values():
        assert r.soci_package and r.soci_version  # type: ignore[attr-defined]


NODEADM = {"featureGate": None, "sizeFloor": None, "configTemplates": [2, 3], "sandboxImage": "localhost/kubernetes/pause", "enableCdiFrom": "1.32",
           "runtimes": {"runc": "/usr/sbin/runc"}}


def _doc(**row: object) -> str:
    base = {"release": "v20990101", "kubernetes": {"1.40": {"containerd": "2.9.0", "amiTypes": ["AL2023_x86_64_STANDARD"]}}, "sources": {"c": "https://x"}}
    return json.dumps({"schema": 1, "al2023": [{**base, **row}], "bottlerocket": []})


@pytest.mark.parametrize("text, defects, message", [
    (_doc(release="20990101"), "", "not an AL2023 release"),
    (_doc(kubernetes={"1.40": {"containerd": "2.9", "amiTypes": ["AL2023_x86_64_STANDARD"]}}), "", "is not a MAJOR.MINOR.PATCH"),
    (_doc(kubernetes={"1.40": {"containerd": "2.9.0", "amiTypes": ["AL2_x86_64"]}}), "", "amiTypes must list AL2023 AMI types"),
    (_doc(nodeadm={"featureGate": "FastImagePull", "sizeFloor": None}), "", "needs its sizeFloor"),
    (_doc(nodeadm={"featureGate": "SpeedyPull", "sizeFloor": {"milliCpu": 1, "memoryGiB": 1}}), "", "unknown nodeadm featureGate"),
    (_doc(sources={}), "", "must keep its upstream sources"),
    (_doc(nodeadm={**NODEADM, "configTemplates": [2]}), "", "ships containerd 2.x, but its nodeadm has no schema 3 config template"),
    (_doc(nodeadm={**NODEADM, "configTemplates": [3]}), "", "nodeadm.configTemplates must list the schemas 2"),
    (_doc(nodeadm={**NODEADM, "sandboxImage": ""}), "", "nodeadm.sandboxImage must be an image reference"),
    (_doc(nodeadm={**NODEADM, "sandboxImage": {"ecr": "eks/pause:3.5"}}), "", "nodeadm.sandboxImage must be"),
    (_doc(nodeadm={**NODEADM, "enableCdiFrom": "v1.32.0"}), "", "nodeadm.enableCdiFrom must be a Kubernetes minor"),
    (_doc(nodeadm={**NODEADM, "runtimes": {"runc": "runc"}}), "", "nodeadm.runtimes must map runtime names to binary paths"),
    (json.dumps({"schema": 2}), "", "schema 2"),
    (_doc(), '[[al2023]]\nreleases = ["v20990102"]\nrefused = "x"\nsources = ["https://x"]\n', "v20990102 is not in releases.json"),
    (_doc(), '[[al2023]]\nreleases = ["v20990101"]\nrefused = "x"\n', "names its upstream source"),
    (_doc(), '[[al2023]]\nreleases = ["v20990101"]\nrefused = "x"\nnote = "y"\nsources = ["https://x"]\n', "exactly one of 'refused' or 'note'"),
])
def test_loader_refuses(text: str, defects: str, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        load(text, defects)


def test_nodeadm_containerd_facts_round_trip() -> None:
    """What the loader reads back out as a row (row_from_release) is what the row said, for the shipped releases too."""
    from soci_component.ami.catalogue import row_from_release

    r = load(_doc(nodeadm={**NODEADM, "sandboxImage": {"eksRegistry": "eks/pause:3.5"}, "runtimes": None}), "").get(AL, "v20990101")
    assert r is not None and r.containerd_config is not None and r.containerd_config.sandbox_reference.endswith(".<services-domain>/eks/pause:3.5")
    assert row_from_release(r)["nodeadm"]["sandboxImage"] == {"eksRegistry": "eks/pause:3.5"}
    shipped = {row["release"]: row for row in json.loads(DATA.joinpath("releases.json").read_text())["al2023"]}
    for rel in releases(AL).values():
        assert row_from_release(rel)["nodeadm"] == shipped[rel.version]["nodeadm"], rel.version  # type: ignore[attr-defined]


def test_loader_applies_defects() -> None:
    cat = load(_doc(), '[[al2023]]\nreleases = ["v20990101"]\nrefused = "breaks"\nsources = ["https://issue"]\n')
    r = cat.get(AL, "v20990101")
    assert r is not None and r.refused == "breaks" and "https://issue" in r.sources.values()


def test_shipped_files_load() -> None:
    assert len(load(DATA.joinpath("releases.json").read_text(), DEFECTS).releases) == len(catalogue().releases) > 90


def test_ami_list_is_a_clean_package_command() -> None:
    r = subprocess.run([sys.executable, "-m", "soci_component", "ami", "list"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert r.returncode == 0 and r.stderr == "", r.stderr  # no RuntimeWarning from runpy
    lines = r.stdout.splitlines()
    assert any(line.split()[:3] == ["al2023", "v20251108", "1.28-1.30=1.7.27"] for line in lines)
    assert any("v20260505" in line and "REFUSED" in line for line in lines)
    assert any("v20260724" in line and "UNCONFIRMED" in line for line in lines)
    assert any("v20250813" in line and "gate AggressiveImagePull (>= 8 vCPU / 8 GiB)" in line for line in lines)


def test_containerd_spec_groups_only_adjacent_kubernetes_versions_with_one_containerd() -> None:
    """`ami list`'s containerd column: '1.28-1.29=1.7.27' only for adjacent minors with the same containerd."""
    from soci_component.ami.catalogue import Build, Release

    def release(builds: dict[str, tuple[int, int, int]]) -> Release:
        return Release(os=OperatingSystem.AL2023, version="v20990101", builds={k: Build(k, v) for k, v in builds.items()})

    assert release({"1.28": (1, 7, 27), "1.29": (1, 7, 27), "1.31": (1, 7, 27)}).containerd_spec == "1.28-1.29=1.7.27 1.31=1.7.27"
    assert release({"1.30": (1, 7, 27), "1.31": (2, 1, 4), "1.32": (2, 1, 4)}).containerd_spec == "1.30=1.7.27 1.31-1.32=2.1.4"
    assert Release(os=OperatingSystem.AL2023, version="v20990101", builds=None).containerd_spec == "?"


def test_the_catalogue_is_loaded_once_and_a_release_without_facts_has_no_soci() -> None:
    """The package data is parsed once per process (every plan resolves through it); a release row that does not say it ships SOCI
    is taken not to (the rules then refuse 'ami' as sociSource rather than assume a package)."""
    from soci_component.ami.catalogue import Release

    assert catalogue() is catalogue()
    r = Release(os=OperatingSystem.AL2023, version="v20990101", builds=None)
    assert (r.soci_package, r.feature_gate, r.pause_import, r.soci_on_instance_store) == (False, None, False, False)
