"""tools/catalogue/bottlerocket_source.py (rows from a bottlerocket-project-website clone), the merge with the git-tag rows
(sync.bottlerocket_rows), `sync --bottlerocket-website`, and the Bottlerocket rows the package ships.

The website clones are throwaway git repositories written here; tests/tools/fixtures/bottlerocket/ holds trimmed
upstream files in their byte format (CR LF package lines, patches lists, real variant Cargo.toml copies).
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest

from soci_component.ami import load
from soci_component.spec import OperatingSystem, parse_version
from tests.tools.test_bottlerocket_git import Repo, core_kit_v1, k8s, twoliter
from tools.catalogue.__main__ import main
from tools.catalogue.bottlerocket_source import CORE_KIT_URL, WEBSITE_URL, parse_package_list, website_releases
from tools.catalogue.sync import add_row, bottlerocket_rows, dump

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bottlerocket"


# --------------------------------------------------------------------------------------------
# fixture website


def package_list(release: str, kit: str, packages: dict[str, str], *, title: str | None = None, description: str | None = None) -> str:
    """A core-kit-packages.markdown as the website's generator prints it (``- package:`` lines end in CR LF)."""
    lines = ["---", f'title: "{title or f"Core Kit packages {kit}"}"', 'type: "docs"',
             f'description: "{description or f"Core Kit Package Versions in Bottlerocket Release {release}"}"', "packages:"]
    for name, version in packages.items():
        lines += [f"  - package: {name}\r", f"    version: {version}", "    patches:", '      - "0001-fixture.patch"']
    return "\n".join([*lines, "---", "", "{{< packages-table >}}", ""])


def variant_toml(name: str, *packages: str) -> str:
    listed = "".join(f'    "{p}",\n' for p in ("release", "kernel-6.12", *packages))
    return (f"# Extracted from https://github.com/bottlerocket-os/bottlerocket/variants/{name}/Cargo.toml\n[package]\n"
            f'name = "{name.replace(".", "_")}"\nversion = "0.1.0"\n\n[package.metadata.build-variant]\nincluded-packages = [\n{listed}]\n')


KIT = {"containerd-1.7": "1.7.99", "containerd-2.1": "2.1.99", "kubernetes-1.32": "1.32.9", "kubernetes-1.33": "1.33.9",
       "soci-snapshotter": "0.13.0", "release": "0.0.1"}


def line_files(line: str, releases: dict[str, str], variants: dict[str, tuple[str, ...]], kit: dict[str, str] = KIT) -> dict[str, str]:
    """Package lists for ``releases`` (release -> kit version) and one variant directory for the line."""
    files = {f"content/en/os/{line}/version-information/packages/{r}/core-kit-packages.markdown": package_list(r, v, kit)
             for r, v in releases.items()}
    files |= {f"content/en/os/{line}/version-information/packages/{r}/kernel-kit-packages.markdown": "---\n---\n" for r in releases}
    files |= {f"content/en/os/{line}/_index.markdown": "---\ntitle: x\n---\n"}
    files |= {f"data/variants/{line}/{name}.toml": variant_toml(name, *pkgs) for name, pkgs in variants.items()}
    return files


STANDARD = {
    "aws-k8s-1.32": ("kubelet-1.32", "soci-snapshotter"),
    "aws-k8s-1.32-nvidia": ("kubelet-1.32", "soci-snapshotter", "nvidia-k8s-device-plugin"),
    "aws-k8s-1.33": ("containerd-2.1", "kubelet-1.33", "soci-snapshotter"),
    "aws-k8s-1.33-nvidia": ("containerd-2.1", "kubelet-1.33", "soci-snapshotter", "nvidia-k8s-device-plugin"),
    "aws-k8s-1.33-fips": ("containerd-1.7", "kubelet-1.33"),  # not read: FIPS
    "vmware-k8s-1.33": ("containerd-1.7", "kubelet-1.33"),  # not read: not aws-k8s
    "aws-ecs-2": ("containerd-1.7",),  # not read: ECS
}


@pytest.fixture
def site(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "website")


def one(site: Repo, files: dict[str, str | None], since: str = "1.44.0") -> dict:
    site.write(files)
    site.commit("content")
    (row,) = website_releases(site.path, since=since)
    return row


# --------------------------------------------------------------------------------------------
# the package list format


def test_upstream_package_list_format() -> None:
    keys, packages = parse_package_list((FIXTURES / "core-kit-packages-1.57.0.markdown").read_text(), "fixture")
    assert keys == {"title": "Core Kit packages 13.3.0", "type": "docs", "description": "Core Kit Package Versions in Bottlerocket Release 1.57.0"}
    assert packages == {"amazon-ssm-agent": "3.3.3598.0", "bash": "5.3", "containerd-1.7": "1.7.30", "containerd-2.1": "2.1.6",
                        "kubernetes-1.32": "1.32.12", "kubernetes-1.33": "1.33.8", "soci-snapshotter": "0.12.1"}


GOOD = package_list("1.60.0", "20.1.0", {"containerd-1.7": "1.7.99"})


@pytest.mark.parametrize("text, message", [
    ("title: x\n---\n", "does not start with a '---' front matter block"),
    ("---\ntitle: x\npackages:\n  - package: a\n    version: 1\n", "is not closed with '---'"),
    (GOOD.replace("    version: 1.7.99\n", ""), "no version for containerd-1.7"),
    (GOOD.replace("    version: 1.7.99\n", "    version: 1.7.99\n    version: 1.7.98\n"), "package containerd-1.7 has two versions"),
    (GOOD.replace("packages:\n", "packages:\n    version: 1.0.0\n"), "'version:' before any '- package:'"),
    (GOOD.replace("packages:\n", "packages:\n  - package: containerd-1.7\n    version: 1.7.1\n"), "package containerd-1.7 is listed twice"),
    (GOOD.replace("packages:\n", "packages: [a]\n"), "'packages:' must be followed by a list"),
    (GOOD.replace('type: "docs"\n', 'type: "docs"\n  stray: 1\n'), "indented line outside the packages list"),
    (GOOD.replace('type: "docs"\n', "just words\n"), "not a 'key: value' line"),
    ("---\ntitle: x\n---\n", "has no packages list"),
])
def test_malformed_package_list_names_the_file(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as e:
        parse_package_list(text, "content/en/os/1.60.x/version-information/packages/1.60.0/core-kit-packages.markdown")
    assert str(e.value).startswith("content/en/os/1.60.x/version-information/packages/1.60.0/core-kit-packages.markdown")


# --------------------------------------------------------------------------------------------
# rows


def test_full_row(site: Repo) -> None:
    site.write(line_files("1.43.x", {"1.43.0": "20.0.0"}, STANDARD))  # below since: not read
    site.write(line_files("1.60.x", {"1.60.0": "20.1.0"}, STANDARD))
    commit = site.commit("1.60.0")

    (row,) = website_releases(site.path)

    d = "content/en/os/1.60.x/version-information/packages/1.60.0/core-kit-packages.markdown"
    assert row == {
        "release": "1.60.0",
        "kubernetes": {"1.32": {"containerd": "1.7.99", "amiTypes": ["aws-k8s-1.32", "aws-k8s-1.32-nvidia"]},
                       "1.33": {"containerd": "2.1.99", "amiTypes": ["aws-k8s-1.33", "aws-k8s-1.33-nvidia"]}},
        "sociPackage": True,
        "sociVersion": "0.13.0",
        "unconfirmed": [
            "the website lists core kit 20.1.0 for 1.60.0, the kit version given to its generator; that it is the kit the "
            "release's Twoliter.lock pins is not in the website's data",
            "the aws-k8s variants of Kubernetes 1.32 (2 variants) name no containerd package; they are taken to get containerd-1.7 "
            "(1.7.99), the core kit's default provider of containerd (highest package_priority_epoch); the website does not "
            "record which package the image build resolved",
        ],
        "sources": {
            "packages": f"{WEBSITE_URL}/blob/{commit}/{d}",
            "variants": f"{WEBSITE_URL}/tree/{commit}/data/variants/1.60.x",
            "coreKit": f"{CORE_KIT_URL}/tree/v20.1.0",
            "containerdDefault": f"{CORE_KIT_URL}/blob/v20.1.0/packages/containerd-1.7/containerd-1.7.spec",
        },
    }
    assert [r["release"] for r in website_releases(site.path, since="1.43.0")] == ["1.43.0", "1.60.0"]
    assert website_releases(site.path, since="v1.60.1") == []


def test_upstream_variant_files(site: Repo) -> None:
    kit = (FIXTURES / "core-kit-packages-1.57.0.markdown").read_text()
    row = one(site, {"content/en/os/1.57.x/version-information/packages/1.57.0/core-kit-packages.markdown": kit,
                     "data/variants/1.57.x/aws-k8s-1.33.toml": (FIXTURES / "aws-k8s-1.33.toml").read_text(),
                     "data/variants/1.57.x/aws-k8s-1.32-nvidia.toml": (FIXTURES / "aws-k8s-1.32-nvidia.toml").read_text()})
    assert row["kubernetes"] == {"1.32": {"containerd": "1.7.30", "amiTypes": ["aws-k8s-1.32-nvidia"]},
                                 "1.33": {"containerd": "2.1.6", "amiTypes": ["aws-k8s-1.33"]}}
    assert (row["sociPackage"], row["sociVersion"]) == (True, "0.12.1")
    assert "Kubernetes 1.32 (1 variant) name no containerd package" in row["unconfirmed"][1]


def test_row_is_read_at_the_commit_not_the_work_tree(site: Repo) -> None:
    site.write(line_files("1.60.x", {"1.60.0": "20.1.0"}, STANDARD))
    site.commit("1.60.0")
    (site.path / "data/variants/1.60.x/aws-k8s-1.33.toml").write_text(variant_toml("aws-k8s-1.33", "containerd-1.7", "kubelet-1.33"))
    (row,) = website_releases(site.path)
    assert row["kubernetes"]["1.33"]["containerd"] == "2.1.99" and row["sociPackage"]


def test_nvidia_variant_on_another_containerd(site: Repo) -> None:
    variants = {**STANDARD, "aws-k8s-1.33-nvidia": ("containerd-1.7", "kubelet-1.33", "soci-snapshotter")}
    row = one(site, line_files("1.60.x", {"1.60.0": "20.1.0"}, variants))
    assert row["kubernetes"]["1.33"] == {"containerd": "2.1.99", "amiTypes": ["aws-k8s-1.33", "aws-k8s-1.33-nvidia"],
                                         "containerdByType": {"aws-k8s-1.33-nvidia": "1.7.99"}}
    assert load(dump([], [row]), "").get(OperatingSystem.BOTTLEROCKET, "1.60.0").builds["1.33"].containerd_for("aws-k8s-1.33-nvidia") == (1, 7, 99)  # type: ignore[union-attr]


def test_old_single_containerd_package_needs_no_default(site: Repo) -> None:
    kit = {"containerd": "1.7.22", "kubernetes-1.32": "1.32.1"}
    row = one(site, line_files("1.60.x", {"1.60.0": "20.1.0"}, {"aws-k8s-1.32": ("kubelet-1.32",)}, kit))
    assert row["kubernetes"] == {"1.32": {"containerd": "1.7.22", "amiTypes": ["aws-k8s-1.32"]}}
    assert len(row["unconfirmed"]) == 1 and "containerdDefault" not in row["sources"]
    assert (row["sociPackage"], "sociVersion" in row) == (False, False)


def test_soci_in_some_variants_only_is_not_a_release_fact(site: Repo) -> None:
    variants = {**STANDARD, "aws-k8s-1.32-nvidia": ("kubelet-1.32",)}
    row = one(site, line_files("1.60.x", {"1.60.0": "20.1.0"}, variants))
    assert row["sociPackage"] is False and row["sociVersion"] == "0.13.0"
    assert "soci-snapshotter is not in aws-k8s-1.32-nvidia; sociPackage is false for the release" in row["unconfirmed"]


def test_several_releases_of_one_line_share_its_variants(site: Repo) -> None:
    site.write(line_files("1.60.x", {"1.60.0": "20.1.0", "1.60.1": "20.1.1"}, STANDARD))
    site.commit("1.60.0 and 1.60.1")
    rows = website_releases(site.path)
    assert [r["release"] for r in rows] == ["1.60.0", "1.60.1"]
    assert all("the website keeps one variant list for the 1.60.x line (1.60.0, 1.60.1)" in r["unconfirmed"][1] for r in rows)
    assert rows[1]["sources"]["coreKit"].endswith("/tree/v20.1.1")


D = "content/en/os/1.60.x/version-information/packages/1.60.0"
V = "data/variants/1.60.x"


@pytest.mark.parametrize("change, message", [
    ({f"{V}/aws-k8s-1.33.toml": '[package]\nname = "x"\n[package.metadata.build-variant]\nkernel-parameters = []\n'},
     f"Bottlerocket 1.60.0: {V}/aws-k8s-1.33.toml: no [package.metadata.build-variant] included-packages list of strings"),
    ({f"{V}/aws-k8s-1.33.toml": "[package\n"}, f"Bottlerocket 1.60.0: {V}/aws-k8s-1.33.toml: not valid TOML"),
    ({f"{V}/{n}.toml": None for n in STANDARD if n.startswith("aws-k8s-")},
     f"Bottlerocket 1.60.0: {V}/ has no aws-k8s-1.NN variant files"),
    ({f"{D}/core-kit-packages.markdown": package_list("1.60.0", "20.1.0", KIT, title="Kernel Kit packages 20.1.0")},
     f"{D}/core-kit-packages.markdown title 'Kernel Kit packages 20.1.0' does not name a core kit version"),
    ({f"{D}/core-kit-packages.markdown": package_list("1.60.0", "20.1.0", KIT, title="Core Kit Version 20.1.0")},
     "does not name a core kit version ('Core Kit packages X.Y.Z')"),
    ({f"{D}/core-kit-packages.markdown": package_list("1.61.0", "20.1.0", KIT)},
     f"{D}/core-kit-packages.markdown says it lists release 1.61.0, not 1.60.0"),
    ({f"{D}/core-kit-packages.markdown": package_list("1.60.0", "20.1.0", KIT, description="Core Kit packages")},
     "does not name the release it lists"),
    ({f"{D}/core-kit-packages.markdown": package_list("1.60.0", "20.1.0", {k: v for k, v in KIT.items() if k != "containerd-2.1"})},
     f"{V}/aws-k8s-1.33.toml includes containerd-2.1, which {D}/core-kit-packages.markdown does not list"),
    ({f"{D}/core-kit-packages.markdown": package_list("1.60.0", "20.1.0", {k: v for k, v in KIT.items() if k != "containerd-1.7"})},
     f"{V}/aws-k8s-1.32.toml names no containerd package, and {D}/core-kit-packages.markdown has neither 'containerd' nor containerd-1.7"),
    ({f"{D}/core-kit-packages.markdown": package_list("1.60.0", "20.1.0", {k: v for k, v in KIT.items() if k != "soci-snapshotter"})},
     "includes soci-snapshotter, which"),
    ({f"{D}/core-kit-packages.markdown": package_list("1.60.0", "20.1.0", {**KIT, "containerd-2.1": "2.1"})},
     f"{D}/core-kit-packages.markdown gives containerd-2.1 the version '2.1', not MAJOR.MINOR.PATCH"),
    ({f"{D}/core-kit-packages.markdown": package_list("1.60.0", "20.1.0", {**KIT, "containerd-2.1": ""})}, "no version for containerd-2.1"),
    ({f"{V}/aws-k8s-1.33.toml": variant_toml("aws-k8s-1.33", "containerd-2.1", "containerd-1.7", "kubelet-1.33")},
     f"{V}/aws-k8s-1.33.toml includes 2 containerd packages (containerd-2.1, containerd-1.7)"),
    ({f"{V}/aws-k8s-1.33.toml": variant_toml("aws-k8s-1.33", "containerd-2.1", "kubelet-1.32")},
     f"{V}/aws-k8s-1.33.toml includes kubelet ['1.32'], not the variant's own Kubernetes version"),
    ({f"{V}/aws-k8s-1.33.toml": variant_toml("aws-k8s-1.33", "containerd-2.1")}, "includes kubelet none"),
    ({f"{D}/core-kit-packages.markdown": None}, f"Bottlerocket 1.60.0: {D}/ has no core-kit-packages.markdown (it has kernel-kit-packages.markdown)"),
    ({"content/en/os/1.59.x/version-information/packages/1.60.0/core-kit-packages.markdown": GOOD},
     "Bottlerocket 1.60.0: its package list is filed under the 1.59.x line"),
])
def test_malformed_sources_name_the_release_and_file(site: Repo, change: dict[str, str | None], message: str) -> None:
    site.write(line_files("1.60.x", {"1.60.0": "20.1.0"}, STANDARD))
    site.commit("good")
    assert website_releases(site.path)  # the base is valid: the change below is what breaks it
    site.write(change)
    site.commit("broken")
    with pytest.raises(ValueError, match=re.escape(message)):
        website_releases(site.path)


def test_not_a_clone(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a git clone of the Bottlerocket website"):
        website_releases(tmp_path)
    with pytest.raises(ValueError, match="is not a MAJOR.MINOR.PATCH"):
        website_releases(tmp_path, since="1.44")


# --------------------------------------------------------------------------------------------
# merging the two readers


def _br_row(release: str, containerd: str, soci: str = "0.12.1", sources: dict[str, str] | None = None) -> dict:
    return {"release": release, "kubernetes": {"1.33": {"containerd": containerd, "amiTypes": ["aws-k8s-1.33", "aws-k8s-1.33-nvidia"]}},
            "sociPackage": True, "sociVersion": soci, "sources": sources or {"packages": f"https://w/{release}"}}


def test_git_rows_win_and_the_website_fills_later_releases() -> None:
    git = [_br_row("1.50.0", "2.0.9", sources={"release": "https://g/1.50.0"}), _br_row("1.49.0", "2.0.8", sources={"release": "https://g/1.49.0"})]
    website = [_br_row("1.51.0", "2.1.5"), _br_row("1.50.0", "2.0.6"), _br_row("1.49.0", "2.0.8")]

    rows = {r["release"]: r for r in bottlerocket_rows(git, website)}

    assert list(rows) == ["1.49.0", "1.50.0", "1.51.0"]
    assert rows["1.51.0"] == _br_row("1.51.0", "2.1.5")
    assert rows["1.49.0"]["sources"] == {"release": "https://g/1.49.0", "website": "https://w/1.49.0"} and "unconfirmed" not in rows["1.49.0"]
    assert rows["1.50.0"]["kubernetes"]["1.33"]["containerd"] == "2.0.9"
    assert rows["1.50.0"]["unconfirmed"] == ["the bottlerocket-project-website lists 1.33=2.0.6 (2 variants); soci-snapshotter 0.12.1 for 1.50.0; "
                                             "the facts read at the release tag are kept"]
    assert bottlerocket_rows(None, website) == sorted((dict(r) for r in website), key=lambda r: parse_version(r["release"]))
    assert [r["release"] for r in bottlerocket_rows(git, None)] == ["1.49.0", "1.50.0"]


# --------------------------------------------------------------------------------------------
# the command


def _catalogue_file(tmp_path: Path, bottlerocket: list[dict]) -> Path:
    shipped = json.loads(resources.files("soci_component.ami").joinpath("releases.json").read_text())
    f = tmp_path / "releases.json"
    f.write_text(dump(shipped["al2023"][:2], bottlerocket))
    return f


def test_sync_from_the_website_replaces_manual_rows_and_keeps_others(site: Repo, tmp_path: Path) -> None:
    site.write(line_files("1.60.x", {"1.60.0": "20.1.0"}, STANDARD))
    site.commit("1.60.0")
    manual = add_row(OperatingSystem.BOTTLEROCKET, "1.60.0", "1.33=2.1.1", soci_version="0.11.0", source="https://example.invalid/notes")
    kept = {**_br_row("1.59.0", "2.1.4"), "unconfirmed": ["synced earlier"]}
    f = _catalogue_file(tmp_path, [manual, kept])
    before = json.loads(f.read_text())

    assert main(["sync", "--file", str(f), "--bottlerocket-website", str(site.path)]) == 0

    after = json.loads(f.read_text())
    assert after["al2023"] == before["al2023"]
    rows = {r["release"]: r for r in after["bottlerocket"]}
    assert list(rows) == ["1.59.0", "1.60.0"]
    assert rows["1.59.0"] == kept
    assert "manual" not in rows["1.60.0"] and rows["1.60.0"]["kubernetes"]["1.33"]["containerd"] == "2.1.99"
    assert rows["1.60.0"]["sources"]["packages"].startswith(f"{WEBSITE_URL}/blob/")
    assert main(["sync", "--check", "--file", str(f), "--bottlerocket-website", str(site.path)]) == 0


def test_sync_merges_git_tags_and_website(site: Repo, tmp_path: Path) -> None:
    br, ck = Repo(tmp_path / "bottlerocket"), Repo(tmp_path / "core-kit")
    ck.write(core_kit_v1())
    ck_commit = ck.commit("kit 10.0.0", tag="v10.0.0")
    br.write({**twoliter("10.0.0"), **k8s(33, "containerd-2.0", "soci-snapshotter")})
    br.commit("1.50.0", tag="v1.50.0")
    site.write(line_files("1.50.x", {"1.50.0": "10.0.0"}, STANDARD))
    site.write(line_files("1.51.x", {"1.51.0": "10.1.0"}, STANDARD))
    site.commit("1.50.0, 1.51.0")
    f = _catalogue_file(tmp_path, [])

    assert main(["sync", "--file", str(f), "--bottlerocket-website", str(site.path),
                 "--bottlerocket-repo", str(br.path), "--core-kit-repo", str(ck.path)]) == 0

    rows = {r["release"]: r for r in json.loads(f.read_text())["bottlerocket"]}
    assert list(rows) == ["1.50.0", "1.51.0"]
    git_row = rows["1.50.0"]
    assert git_row["kubernetes"] == {"1.33": {"containerd": "2.0.9", "amiTypes": ["aws-k8s-1.33", "aws-k8s-1.33-nvidia"]}}
    assert git_row["sociVersion"] == "0.20.1" and git_row["sources"]["coreKit"] == f"{CORE_KIT_URL}/tree/{ck_commit}"
    assert git_row["sources"]["website"].startswith(f"{WEBSITE_URL}/blob/")
    assert any(u.startswith("the bottlerocket-project-website lists 1.32=1.7.99") for u in git_row["unconfirmed"])
    assert rows["1.51.0"]["sources"]["coreKit"] == f"{CORE_KIT_URL}/tree/v10.1.0"


def test_sync_refusals(site: Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _catalogue_file(tmp_path, [])
    text = f.read_text()
    assert main(["sync", "--file", str(f), "--bottlerocket-repo", str(tmp_path)]) == 2
    assert "--bottlerocket-repo and --core-kit-repo go together" in capsys.readouterr().err
    site.write({**line_files("1.60.x", {"1.60.0": "20.1.0"}, STANDARD), f"{V}/aws-k8s-1.33.toml": "[package]\n"})
    site.commit("broken")
    assert main(["sync", "--file", str(f), "--bottlerocket-website", str(site.path)]) == 2
    assert f"sync: Bottlerocket 1.60.0: {V}/aws-k8s-1.33.toml: no [package.metadata.build-variant] included-packages" in capsys.readouterr().err
    assert f.read_text() == text


# --------------------------------------------------------------------------------------------
# the shipped rows

SOURCE_URL = re.compile(r"^https://github\.com/bottlerocket-os/bottlerocket(-core-kit|-project-website)?/(blob|tree)/([0-9a-f]{40}|v[0-9]+\.[0-9]+\.[0-9]+)(/\S*)?$")


def _shipped() -> list[dict]:
    return json.loads(resources.files("soci_component.ami").joinpath("releases.json").read_text())["bottlerocket"]


def test_shipped_bottlerocket_rows_are_synced_with_pinned_sources() -> None:
    rows = _shipped()
    assert rows[0]["release"] == "1.44.0" and "1.57.0" in [r["release"] for r in rows]
    minors = [parse_version(r["release"])[1] for r in rows]
    assert minors == list(range(44, 44 + len(rows))), "one row per documented release line, none skipped"
    for r in rows:
        assert "manual" not in r, r["release"]
        assert r["sources"], r["release"]
        for key, value in r["sources"].items():
            for url in value.split():
                assert SOURCE_URL.match(url), f"{r['release']} {key}: {url} is not at a commit or release tag"
        assert r["sociPackage"] and r["sociVersion"], r["release"]
        for k8s_version, b in r["kubernetes"].items():
            assert b["amiTypes"] == [f"aws-k8s-{k8s_version}", f"aws-k8s-{k8s_version}-nvidia"], (r["release"], k8s_version)
            major = parse_version(b["containerd"])[0]
            assert major == (2 if int(k8s_version[2:]) >= 33 else 1), (r["release"], k8s_version, b["containerd"])


def test_shipped_bottlerocket_known_facts() -> None:
    rows = {r["release"]: r for r in _shipped()}
    assert min(rows["1.51.0"]["kubernetes"], key=lambda k: int(k[2:])) == "1.28"
    assert min(rows["1.52.0"]["kubernetes"], key=lambda k: int(k[2:])) == "1.29"  # 1.28 dropped in 1.52.0
    assert "1.28" not in rows["1.57.0"]["kubernetes"] and rows["1.57.0"]["kubernetes"]["1.35"]["containerd"] == "2.1.6"
    assert rows["1.57.0"]["kubernetes"]["1.32"]["containerd"] == "1.7.30" and rows["1.57.0"]["sociVersion"] == "0.12.1"
    assert rows["1.44.0"]["kubernetes"]["1.33"]["containerd"] == "2.0.5" and rows["1.44.0"]["sociVersion"] == "0.11.1"
    assert rows["1.50.0"]["kubernetes"]["1.34"]["containerd"] == "2.1.4"


# That the shipped rows are what a fresh sync gives is `python -m tools.catalogue sync --check
# --bottlerocket-website <clone>` (needs an upstream clone, which the suite does not fetch).

