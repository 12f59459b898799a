"""bottlerocket_releases: rows read from throwaway git repositories laid out like bottlerocket and its core kit.

The fixture files are small stand-ins written here (Twoliter pins, variant Cargo.toml, package specs).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tools.catalogue import bottlerocket_git as sync

# --------------------------------------------------------------------------------------------
# fixture repositories


class Repo:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir()
        self.git("init", "--quiet")

    def git(self, *args: str) -> str:
        cmd = ["git", "-c", "user.name=fixture", "-c", "user.email=fixture@example.invalid", "-c", "commit.gpgsign=false",
               "-c", "tag.gpgsign=false", "-c", "init.defaultBranch=main", "-C", str(self.path), *args]
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()

    def write(self, files: dict[str, str | None]) -> None:
        for rel, text in files.items():
            target = self.path / rel
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)

    def commit(self, message: str, tag: str | None = None, annotated: bool = False) -> str:
        self.git("add", "-A")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        if tag:
            self.git("tag", *(["-a", "-m", tag] if annotated else []), tag)
        return self.git("rev-parse", "HEAD")


def twoliter(core_kit: str, lock: str | None = None) -> dict[str, str]:
    def kits(version: str) -> str:
        return f'[[kit]]\nname = "other-kit"\nversion = "9.9.9"\n\n[[kit]]\nname = "bottlerocket-core-kit"\nversion = "{version}"\n'
    return {"Twoliter.toml": f'schema-version = 2\nrelease-version = "x"\n\n{kits(core_kit)}',
            "Twoliter.lock": f"schema-version = 2\n\n{kits(lock or core_kit)}"}


def variant(name: str, *packages: str) -> dict[str, str]:
    listed = "".join(f'    "{p}",\n' for p in ("release", "kernel-9.9", *packages))
    return {f"variants/{name}/Cargo.toml":
            f'[package]\nname = "{name.replace(".", "_")}"\nversion = "0.1.0"\n\n'
            f"[package.metadata.build-variant]\nincluded-packages = [\n{listed}]\n"}


def k8s(minor: int, *packages: str, nvidia: tuple[str, ...] | None = None) -> dict[str, str]:
    """aws-k8s-1.<minor> and its -nvidia twin (same packages unless ``nvidia`` is given)."""
    return {**variant(f"aws-k8s-1.{minor}", *packages),
            **variant(f"aws-k8s-1.{minor}-nvidia", *(packages if nvidia is None else nvidia), "nvidia-driver")}


def package(name: str, version: str, *, priority: int | None = None,
            archive: str | None = None) -> dict[str, str]:
    """packages/<name>/{<name>.spec,Cargo.toml}; ``priority`` adds the 'Provides: containerd = N:' pair."""
    provides = "Provides: %{_cross_os}containerd = %{package_priority_epoch}:\nConflicts: %{_cross_os}containerd\n" if priority is not None else ""
    spec = (f"%global upstream {version}\n%global rpmver %{{upstream}}\n"
            + (f"%global package_priority_epoch {priority}\n" if priority is not None else "")
            + f"\nName: %{{_cross_os}}{name}\nVersion: %{{rpmver}}\nRelease: 1\n{provides}"
            + "Requires: %{_cross_os}something\n\n%package extra\nProvides: %{_cross_os}containerd = 9:\nVersion: 0.0.1\n\n"
              "%description\nfixture\n")
    cargo = (f'[package]\nname = "{name.replace(".", "_")}"\nversion = "0.1.0"\n\n'
             f'[[package.metadata.build-package.external-files]]\nurl = "https://example.invalid/archive/v{archive or version}/{name}-{archive or version}.tar.gz"\n')
    return {f"packages/{name}/{name}.spec": spec, f"packages/{name}/Cargo.toml": cargo}


def core_kit_v1() -> dict[str, str]:
    return {**package("containerd-1.7", "1.7.40", priority=2), **package("containerd-2.0", "2.0.9", priority=1),
            **package("containerd-2.1", "2.1.7", priority=0), **package("soci-snapshotter", "0.20.1"),
            **package("release", "0.0.1")}


@pytest.fixture
def repos(tmp_path: Path) -> tuple[Repo, Repo]:
    return Repo(tmp_path / "bottlerocket"), Repo(tmp_path / "core-kit")


def rows(br: Repo, ck: Repo, since: str = "1.44.0") -> list[dict]:
    return sync.bottlerocket_releases(br.path, ck.path, since=since)


# --------------------------------------------------------------------------------------------
# rows


def test_full_row_and_tag_selection(repos: tuple[Repo, Repo]) -> None:
    br, ck = repos
    ck.write(core_kit_v1())
    ck_commit = ck.commit("kit 10.0.0", tag="v10.0.0", annotated=True)
    br.write({**twoliter("10.0.0"), **k8s(32, "soci-snapshotter"), **k8s(33, "containerd-2.0", "soci-snapshotter"),
              **variant("aws-ecs-2", "containerd-2.1"), **variant("aws-k8s-1.33-fips", "containerd-2.1"),
              **variant("vmware-k8s-1.33", "containerd-2.1")})
    br.commit("below since", tag="v1.43.9")
    br_commit = br.commit("release", tag="v1.44.0", annotated=True)
    br.commit("candidate", tag="v1.45.0-rc1")
    br.git("tag", "not-a-release")
    br.git("tag", "v1.46")

    out = rows(br, ck)

    base = "https://github.com/bottlerocket-os/bottlerocket-core-kit"
    assert out == [{
        "release": "1.44.0",
        "kubernetes": {"1.32": {"containerd": "1.7.40", "variants": ["aws-k8s-1.32", "aws-k8s-1.32-nvidia"]},
                       "1.33": {"containerd": "2.0.9", "variants": ["aws-k8s-1.33", "aws-k8s-1.33-nvidia"]}},
        "sociPackage": True,
        "sociVersion": "0.20.1",
        "sources": {
            "release": f"https://github.com/bottlerocket-os/bottlerocket/tree/{br_commit}",
            "coreKit": f"{base}/tree/{ck_commit}",
            "containerd": f"{base}/blob/{ck_commit}/packages/containerd-1.7/containerd-1.7.spec "
                          f"{base}/blob/{ck_commit}/packages/containerd-2.0/containerd-2.0.spec",
            "soci": f"{base}/blob/{ck_commit}/packages/soci-snapshotter/soci-snapshotter.spec",
        },
        "unconfirmed": [
            "aws-k8s-1.32, aws-k8s-1.32-nvidia name no containerd package; they get containerd-1.7 (1.7.40), the "
            "bottlerocket-core-kit v10.0.0 package whose 'Provides: containerd' carries the highest package_priority_epoch "
            "(containerd-1.7 = 2, containerd-2.0 = 1, containerd-2.1 = 0) - the kit's default; the image build's resolver "
            "choice itself is not recorded in the source",
        ],
    }]
    assert [r["release"] for r in rows(br, ck, since="1.43.9")] == ["1.43.9", "1.44.0"]
    assert [r["release"] for r in rows(br, ck, since="v1.44.1")] == []


def test_mapping_comes_from_each_release_tag_not_a_branch_head(repos: tuple[Repo, Repo]) -> None:
    """Each release must be read at its own tag and at the core-kit tag it pins: the answers below differ per tag."""
    br, ck = repos
    ck.write(core_kit_v1())
    ck.commit("kit 10", tag="v10.0.0")
    ck.write({**package("containerd-1.7", "1.7.41", priority=2), **package("containerd-2.0", "2.0.10", priority=1),
              **package("containerd-2.1", "2.1.8", priority=0), **package("containerd-2.2", "2.2.5", priority=0)})
    ck.commit("kit 11", tag="v11.0.0")
    ck.write(package("containerd-2.1", "2.1.99", priority=0))
    ck.commit("kit develop, untagged")

    br.write({**twoliter("10.0.0"), **k8s(33, "containerd-2.0")})
    br.commit("1.50", tag="v1.50.0")
    br.write({**twoliter("11.0.0"), **k8s(33, "containerd-2.1"), **k8s(34, "containerd-2.2")})
    br.commit("1.51", tag="v1.51.0")
    br.write({**twoliter("10.0.0"), **k8s(33, "containerd-1.7"),
              "variants/aws-k8s-1.34/Cargo.toml": None, "variants/aws-k8s-1.34-nvidia/Cargo.toml": None})
    br.commit("1.52, tagged on an older kit", tag="v1.52.0")
    br.write(k8s(33, "containerd-2.0"))
    br.commit("develop after the last release, untagged")

    got = {r["release"]: {k: v["containerd"] for k, v in r["kubernetes"].items()} for r in rows(br, ck)}

    assert got == {"1.50.0": {"1.33": "2.0.9"},
                   "1.51.0": {"1.33": "2.1.8", "1.34": "2.2.5"},
                   "1.52.0": {"1.33": "1.7.40"}}


def test_nvidia_variant_that_differs_is_listed_per_variant(repos: tuple[Repo, Repo]) -> None:
    br, ck = repos
    ck.write(core_kit_v1())
    ck.commit("kit", tag="v10.0.0")
    br.write({**twoliter("10.0.0"), **k8s(33, "containerd-2.1", nvidia=("containerd-2.0",)), **k8s(34, "containerd-2.1")})
    br.commit("r", tag="v1.50.0")

    (row,) = rows(br, ck)

    assert row["kubernetes"]["1.33"] == {"containerd": "2.1.7", "variants": ["aws-k8s-1.33", "aws-k8s-1.33-nvidia"]}
    assert row["containerdByVariant"] == {"1.33": {"aws-k8s-1.33-nvidia": "2.0.9"}}
    assert row["unconfirmed"] == []
    br.write(k8s(33, "containerd-2.1"))
    br.commit("nvidia back on the same package", tag="v1.51.0")
    assert "containerdByVariant" not in rows(br, ck, since="1.51.0")[0]


def test_single_containerd_package_of_the_old_layout_is_settled(repos: tuple[Repo, Repo]) -> None:
    br, ck = repos
    ck.write(package("containerd", "1.7.22"))
    ck.commit("kit 3", tag="v3.1.0")
    br.write({**twoliter("3.1.0"), **k8s(31)})
    br.commit("r", tag="v1.26.0")

    (row,) = rows(br, ck, since="1.0.0")

    assert row["kubernetes"]["1.31"]["containerd"] == "1.7.22"
    assert row["sociPackage"] is False and row["sociVersion"] is None and row["sources"]["soci"] is None
    assert row["unconfirmed"] == []


def test_default_containerd_without_distinct_priorities_is_unknown(repos: tuple[Repo, Repo]) -> None:
    br, ck = repos
    ck.write({**package("containerd-1.7", "1.7.40", priority=1), **package("containerd-2.0", "2.0.9", priority=1)})
    ck.commit("kit", tag="v10.0.0")
    br.write({**twoliter("10.0.0"), **k8s(32), **k8s(33, "containerd-2.0")})
    br.commit("r", tag="v1.50.0")

    (row,) = rows(br, ck)

    assert row["kubernetes"]["1.32"]["containerd"] is None
    assert row["kubernetes"]["1.33"]["containerd"] == "2.0.9"
    assert any(u.startswith("containerd UNKNOWN for aws-k8s-1.32, aws-k8s-1.32-nvidia") for u in row["unconfirmed"])
    assert "containerd UNKNOWN for Kubernetes 1.32" in row["unconfirmed"]


def test_soci_in_some_variants_only_is_not_a_release_fact(repos: tuple[Repo, Repo]) -> None:
    br, ck = repos
    ck.write(core_kit_v1())
    ck.commit("kit", tag="v10.0.0")
    br.write({**twoliter("10.0.0"), **k8s(33, "containerd-2.0", "soci-snapshotter", nvidia=("containerd-2.0",))})
    br.commit("r", tag="v1.50.0")

    (row,) = rows(br, ck)

    assert row["sociPackage"] is False and row["sociVersion"] == "0.20.1"
    assert row["unconfirmed"] == ["soci-snapshotter is only in some aws-k8s variants (not in aws-k8s-1.33-nvidia); "
                                  "sociPackage is false for the release"]


def test_lock_file_wins_over_toml_and_the_mismatch_is_reported(repos: tuple[Repo, Repo]) -> None:
    br, ck = repos
    ck.write(core_kit_v1())
    ck.commit("kit 10", tag="v10.0.0")
    ck.write(package("containerd-2.0", "2.0.10", priority=1))
    ck.commit("kit 10.0.1", tag="v10.0.1")
    br.write({**twoliter("10.0.0", lock="10.0.1"), **k8s(33, "containerd-2.0")})
    br.commit("r", tag="v1.50.0")

    (row,) = rows(br, ck)

    assert row["kubernetes"]["1.33"]["containerd"] == "2.0.10"
    assert row["unconfirmed"] == ["Twoliter.lock pins bottlerocket-core-kit 10.0.1 but Twoliter.toml asks for 10.0.0; "
                                  "the lock file (what the build used) is taken"]
    br.write({"Twoliter.lock": None})
    br.commit("r2", tag="v1.51.0")
    assert rows(br, ck, since="1.51.0")[0]["kubernetes"]["1.33"]["containerd"] == "2.0.9"


def test_spec_and_cargo_disagreeing_is_reported(repos: tuple[Repo, Repo]) -> None:
    br, ck = repos
    ck.write({**core_kit_v1(), **package("containerd-2.0", "2.0.9", priority=1, archive="2.0.8")})
    ck.commit("kit", tag="v10.0.0")
    br.write({**twoliter("10.0.0"), **k8s(33, "containerd-2.0")})
    br.commit("r", tag="v1.50.0")

    (row,) = rows(br, ck)

    assert row["kubernetes"]["1.33"]["containerd"] == "2.0.9"
    assert row["unconfirmed"] == ["bottlerocket-core-kit v10.0.0:packages/containerd-2.0/containerd-2.0.spec says containerd "
                                  "2.0.9 but packages/containerd-2.0/Cargo.toml fetches 2.0.8"]


# --------------------------------------------------------------------------------------------
# malformed inputs


def _base(repos: tuple[Repo, Repo]) -> tuple[Repo, Repo]:
    br, ck = repos
    ck.write(core_kit_v1())
    ck.commit("kit", tag="v10.0.0")
    br.write({**twoliter("10.0.0"), **k8s(33, "containerd-2.0", "soci-snapshotter")})
    br.commit("good", tag="v1.49.0")
    return br, ck


def test_missing_variant_file_names_tag_and_file(repos: tuple[Repo, Repo]) -> None:
    br, ck = _base(repos)
    br.write({"variants/aws-k8s-1.33-nvidia/Cargo.toml": None, "variants/aws-k8s-1.33-nvidia/README.md": "moved\n"})
    br.commit("broken", tag="v1.50.0")
    with pytest.raises(ValueError, match=r"^v1\.50\.0: variants/aws-k8s-1\.33-nvidia/Cargo\.toml is missing$"):
        rows(br, ck)


def test_unparsable_package_version_names_tag_and_file(repos: tuple[Repo, Repo]) -> None:
    br, ck = _base(repos)
    ck.write(package("containerd-2.0", "2.0", priority=1))
    ck.commit("kit 11", tag="v11.0.0")
    br.write(twoliter("11.0.0"))
    br.commit("r", tag="v1.50.0")
    with pytest.raises(ValueError, match=r"v11\.0\.0:packages/containerd-2\.0/containerd-2\.0\.spec: Version '2\.0'"):
        rows(br, ck)


def test_pinned_core_kit_tag_that_does_not_exist(repos: tuple[Repo, Repo]) -> None:
    br, ck = _base(repos)
    br.write(twoliter("10.0.7"))
    br.commit("r", tag="v1.50.0")
    with pytest.raises(ValueError, match=r"^v1\.50\.0: Twoliter pins bottlerocket-core-kit 10\.0\.7, but .* has no tag v10\.0\.7$"):
        rows(br, ck)


def test_unparsable_core_kit_pin(repos: tuple[Repo, Repo]) -> None:
    br, ck = _base(repos)
    br.write(twoliter("10.0"))
    br.commit("r", tag="v1.50.0")
    with pytest.raises(ValueError, match=r"^v1\.50\.0:Twoliter\.lock bottlerocket-core-kit version: '10\.0' is not"):
        rows(br, ck)


def test_release_without_core_kit_pin(repos: tuple[Repo, Repo]) -> None:
    br, ck = _base(repos)
    br.write({"Twoliter.lock": None, "Twoliter.toml": None})
    br.commit("r", tag="v1.50.0")
    with pytest.raises(ValueError, match=r"^v1\.50\.0: neither Twoliter\.lock nor Twoliter\.toml pins bottlerocket-core-kit"):
        rows(br, ck)


def test_variant_naming_a_package_the_core_kit_lacks(repos: tuple[Repo, Repo]) -> None:
    br, ck = _base(repos)
    br.write(k8s(34, "containerd-2.2"))
    br.commit("r", tag="v1.50.0")
    with pytest.raises(ValueError, match=r"v10\.0\.0: packages/containerd-2\.2/ does not exist \(package named by v1\.50\.0:variants/aws-k8s-1\.34/Cargo\.toml\)"):
        rows(br, ck)


def test_missing_spec_and_invalid_toml(repos: tuple[Repo, Repo]) -> None:
    br, ck = _base(repos)
    ck.write({"packages/soci-snapshotter/soci-snapshotter.spec": None})
    ck.commit("kit 11", tag="v11.0.0")
    br.write(twoliter("11.0.0"))
    br.commit("r", tag="v1.50.0")
    with pytest.raises(ValueError, match=r"v11\.0\.0: packages/soci-snapshotter/soci-snapshotter\.spec is missing"):
        rows(br, ck)
    br.write({"variants/aws-k8s-1.33/Cargo.toml": "[package\n"})
    br.commit("r", tag="v1.51.0")
    with pytest.raises(ValueError, match=r"^v1\.51\.0:variants/aws-k8s-1\.33/Cargo\.toml: not valid TOML"):
        rows(br, ck, since="1.51.0")


def test_bad_arguments(repos: tuple[Repo, Repo], tmp_path: Path) -> None:
    br, ck = _base(repos)
    with pytest.raises(ValueError, match=r"^since: '1\.44' is not a MAJOR\.MINOR\.PATCH version$"):
        rows(br, ck, since="1.44")
    with pytest.raises(ValueError, match=r"is not a git repository"):
        sync.bottlerocket_releases(tmp_path / "nowhere", ck.path)


# --------------------------------------------------------------------------------------------
# catalogue_rows: the shape releases.json loads


def test_catalogue_rows_shape(repos: tuple[Repo, Repo]) -> None:
    br, ck = repos
    ck.write(core_kit_v1())
    ck.commit("kit", tag="v10.0.0")
    br.write({**twoliter("10.0.0"), **k8s(32, "soci-snapshotter"),
              **k8s(33, "containerd-2.1", "soci-snapshotter", nvidia=("containerd-2.0", "soci-snapshotter"))})
    br.commit("r", tag="v1.50.0")

    (row,) = sync.catalogue_rows(rows(br, ck))

    assert list(row) == ["release", "kubernetes", "sociPackage", "sociVersion", "unconfirmed", "sources"]
    assert row["kubernetes"] == {
        "1.32": {"containerd": "1.7.40", "amiTypes": ["aws-k8s-1.32", "aws-k8s-1.32-nvidia"]},
        "1.33": {"containerd": "2.1.7", "amiTypes": ["aws-k8s-1.33", "aws-k8s-1.33-nvidia"], "containerdByType": {"aws-k8s-1.33-nvidia": "2.0.9"}},
    }
    assert (row["sociPackage"], row["sociVersion"]) == (True, "0.20.1")
    assert set(row["sources"]) == {"release", "coreKit", "containerd", "soci"}


def test_catalogue_rows_unknown_containerd_makes_the_release_unconfirmed(repos: tuple[Repo, Repo]) -> None:
    br, ck = repos
    ck.write({**package("containerd-1.7", "1.7.40", priority=1), **package("containerd-2.0", "2.0.9", priority=1)})
    ck.commit("kit", tag="v10.0.0")
    br.write({**twoliter("10.0.0"), **k8s(32), **k8s(33, "containerd-2.0")})
    br.commit("r", tag="v1.50.0")

    (row,) = sync.catalogue_rows(rows(br, ck))

    assert row["kubernetes"] is None and row["sociPackage"] is False and "sociVersion" not in row
    assert "containerd UNKNOWN for Kubernetes 1.32" in row["unconfirmed"]
    assert "soci" not in row["sources"]  # no empty sources
