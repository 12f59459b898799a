"""tools/catalogue/sync.py and its commands (python -m tools.catalogue sync | add): rows from a CHANGELOG and a clone, kept rows, manual rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from soci_component.ami import load
from soci_component.spec import OperatingSystem
from tests.tools.test_eks_ami_source import make_repo
from tools.catalogue.__main__ import main
from tools.catalogue.changelog import parse_changelog
from tools.catalogue.sync import NO_CHANGELOG, NODEADM_UNREAD, al2023_rows, dump, sync

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "changelog"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("eks-ami"), broken=False)
SMALL = (FIXTURES / "small.md").read_text()


def test_rows_from_changelog_and_clone(repo: Path) -> None:
    rows = {r["release"]: r for r in al2023_rows(parse_changelog(SMALL), "https://example/CHANGELOG.md", repo=repo, since="v20990101")}
    assert list(rows) == ["v20990101", "v20990201", "v20990215", "v20990301", "v20990315"]
    new = rows["v20990301"]
    assert new["kubernetes"]["1.41"] == {"containerd": "3.1.0", "amiTypes": ["AL2023_ARM_64_STANDARD", "AL2023_x86_64_STANDARD"]}
    assert new["kubernetes"]["1.40"]["containerd"] == "2.9.0" and new["kubernetes"]["1.40"]["containerdByType"] == {"AL2023_x86_64_NVIDIA": "2.9.1"}
    assert new["kubernetes"]["1.40"]["amiNames"] == {"AL2023_x86_64_NVIDIA": "amazon-eks-node-al2023-x86_64-nvidia-999-1.40-v20990301"}
    assert new["nodeadm"] == {"featureGate": "FastImagePull", "sizeFloor": {"milliCpu": 4000, "memoryGiB": 7}, "pauseImport": True, "sociOnInstanceStore": True,
                              "configTemplates": [2, 3], "sandboxImage": "localhost/kubernetes/pause:latest", "enableCdiFrom": "1.32",
                              "runtimes": {"runc": "/usr/sbin/runc", "nvidia": "/usr/bin/nvidia-container-runtime"}}
    assert rows["v20990201"]["nodeadm"]["sandboxImage"] == {"eksRegistry": "eks/pause:3.5"}
    assert new["sources"]["containerd"] == "https://example/CHANGELOG.md#ami-release-v20990301"
    assert rows["v20990215"]["abandoned"] is True and rows["v20990215"]["sources"]["containerd"].endswith("#abandoned-ami-release-v20990215")
    assert rows["v20990101"]["kubernetes"] is None and rows["v20990101"]["unconfirmed"] == [NO_CHANGELOG]  # a tag without an entry
    assert "v20990201" in rows and rows["v20990201"]["nodeadm"]["featureGate"] == "AggressiveImagePull"


def test_sync_keeps_nodeadm_facts_without_a_clone(repo: Path) -> None:
    first = al2023_rows(parse_changelog(SMALL), "u", repo=repo, since="v20990101")
    again = {r["release"]: r for r in al2023_rows(parse_changelog(SMALL), "u", first, since="v20990101")}
    assert again["v20990301"]["nodeadm"]["featureGate"] == "FastImagePull"
    fresh = {r["release"]: r for r in al2023_rows(parse_changelog(SMALL), "u", since="v20990101")}
    assert "nodeadm" not in fresh["v20990301"] and NODEADM_UNREAD in fresh["v20990301"]["unconfirmed"]


def test_dump_is_deterministic_and_loads(repo: Path) -> None:
    rows = al2023_rows(parse_changelog(SMALL), "u", repo=repo, since="v20990101")
    text = dump(rows, [])
    assert text == dump(list(reversed(rows)), [])
    cat = load(text, "")
    r = cat.get(OperatingSystem.AL2023, "v20990301")
    assert r is not None and r.feature_gate == "FastImagePull" and r.pause_import


def test_manual_row_replaced_once_a_source_covers_it(repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "releases.json"
    target.write_text(dump([], []))
    assert main(["add", "--os", "al2023", "--release", "v20990301", "--containerd", "1.41=3.1.0", "--source", "https://example/notes",
                 "--write", "--file", str(target)]) == 0
    doc = json.loads(target.read_text())
    assert doc["al2023"][0]["manual"] is True
    text = sync(doc, changelog=(SMALL, "u"), eks_ami_repo=repo, since="v20990101")
    row = next(r for r in json.loads(text)["al2023"] if r["release"] == "v20990301")
    assert "manual" not in row and row["nodeadm"]["featureGate"] == "FastImagePull"


@pytest.mark.parametrize("args, message", [
    (["--os", "al2023", "--release", "v20991399", "--containerd", "1.41=3.1.0"], "not a date"),
    (["--os", "al2023", "--release", "1.58.0", "--containerd", "1.41=3.1.0"], "AL2023 releases look like"),
    (["--os", "bottlerocket", "--release", "v20990801", "--containerd", "1.41=3.1.0"], "Bottlerocket versions look like"),
    (["--os", "al2023", "--release", "v20990801", "--containerd", "1.41-1.40=3.1.0"], "runs backwards"),
    (["--os", "al2023", "--release", "v20990801", "--containerd", "1.40-1.41=3.1.0 1.41=3.1.0"], "given twice"),
    (["--os", "al2023", "--release", "v20990801", "--containerd", "1.41=3.1.0", "--soci-version", "0.15.0"], "Bottlerocket only"),
    (["--os", "al2023", "--release", "v20260714", "--containerd", "1.41=3.1.0"], "already in the catalogue"),
])
def test_add_refused(args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "releases.json"
    target.write_text((ROOT / "soci_component/ami/releases.json").read_text())
    before = target.read_text()
    assert main(["add", *args, "--source", "https://example/notes", "--write", "--file", str(target)]) == 2
    assert message in capsys.readouterr().err
    assert target.read_text() == before


def test_added_release_resolves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal says 'add it'; after `ami add --write` the same node group resolves (lazy, release source: nodeadm facts unknown)."""
    from soci_component import rules
    from soci_component.ami import catalogue as _  # noqa: F401
    from soci_component.ami import catalogue as catalogue_mod
    from soci_component.errors import SpecError
    from soci_component.spec import AmiPin, NodeGroupSpec, UpstreamRelease

    spec = NodeGroupSpec(name="n", kubernetes_version="1.36", ami=AmiPin(release="v20990801"), instance_types=("m7i.xlarge",), soci_source=UpstreamRelease())
    with pytest.raises(SpecError, match="not in the AMI catalogue"):
        rules.profile(spec)
    target = tmp_path / "releases.json"
    target.write_text((ROOT / "soci_component/ami/releases.json").read_text())
    assert main(["add", "--os", "al2023", "--release", "v20990801", "--containerd", "1.30-1.36=2.2.4", "--source", "https://example/notes",
                 "--write", "--file", str(target)]) == 0
    from importlib import resources

    from soci_component.ami.catalogue import load as load_
    cat = load_(target.read_text(), resources.files("soci_component.ami").joinpath("defects.toml").read_text())
    from soci_component.ami.resolve import resolve

    p = resolve(spec, cat)
    assert (p.release, p.containerd, p.nodeadm_known) == ("v20990801", "2.2.4", False)
    assert catalogue_mod  # the package catalogue itself is unchanged


def test_sync_check_on_the_checkouts_data() -> None:
    """The maintainers' command as the README gives it: from the checkout, on its releases.json (the default
    target); re-running the sync without sources changes nothing."""
    r = subprocess.run([sys.executable, "-m", "tools.catalogue", "sync", "--check"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert (r.returncode, r.stdout.strip(), r.stderr) == (0, "up to date", "")


def test_default_target_is_the_checkouts_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --file the tools write soci_component/ami/releases.json next to them; outside a checkout they refuse."""
    from tools.catalogue import __main__ as cli

    assert cli.RELEASES == ROOT / "soci_component" / "ami" / "releases.json"
    monkeypatch.setattr(cli, "CHECKOUT", tmp_path)
    monkeypatch.setattr(cli, "RELEASES", tmp_path / "soci_component" / "ami" / "releases.json")
    assert main(["add", "--os", "al2023", "--release", "v20990801", "--containerd", "?", "--source", "https://example/notes", "--write"]) == 2
    assert "is not a soci-eks checkout" in capsys.readouterr().err
    assert not (tmp_path / "soci_component").exists()
