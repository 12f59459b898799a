"""tools/catalogue/changelog.py: the CHANGELOG parser, on small fixtures in the upstream layout written for the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.catalogue.changelog import ChangelogError, parse_changelog, upstream_version

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "changelog"


def test_small_changelog() -> None:
    releases = parse_changelog((FIXTURES / "small.md").read_text())
    assert [(r.release, r.abandoned) for r in releases] == [("v20990301", False), ("v20990215", True), ("v20990201", False)]
    newest = releases[0]
    assert list(newest.kubernetes) == ["1.40", "1.41"]  # sorted by minor
    k41 = newest.kubernetes["1.41"]
    assert k41.containerd == {"AL2023_x86_64_STANDARD": "3.1.0", "AL2023_ARM_64_STANDARD": "3.1.0"}  # colspan expanded
    assert k41.ami_names["AL2023_ARM_64_STANDARD"] == "amazon-eks-node-al2023-arm64-standard-1.41-v20990301"
    k40 = newest.kubernetes["1.40"]
    # the AL2 table is skipped; per-type containerd and "—" cells are read as they are
    assert k40.containerd == {"AL2023_x86_64_NVIDIA": "2.9.1", "AL2023_x86_64_STANDARD": "2.9.0"}
    assert k40.ami_names["AL2023_x86_64_NVIDIA"] == "amazon-eks-node-al2023-x86_64-nvidia-999-1.40-v20990301"
    assert releases[1].kubernetes["1.40"].containerd == {"AL2023_x86_64_STANDARD": "2.8.0"}
    assert releases[2].kubernetes == {}  # AL2 only


@pytest.mark.parametrize("fixture, message", [
    ("malformed-colspan.md", "the containerd row covers 3 AMI types, the table has 2"),
    ("malformed-version.md", "'latest' is not a package version"),
    ("malformed-no-containerd.md", "has no containerd row"),
    ("malformed-twice.md", "release v20990301 has two sections"),
    ("malformed-name.md", "is for Kubernetes 1.40"),
])
def test_malformed(fixture: str, message: str) -> None:
    with pytest.raises(ChangelogError, match=message):
        parse_changelog((FIXTURES / fixture).read_text())


def test_not_a_changelog() -> None:
    with pytest.raises(ChangelogError, match="no '# AMI Release vYYYYMMDD' headings"):
        parse_changelog("# README\n")


@pytest.mark.parametrize("rpm, version", [("2.2.4-1.amzn2023.0.3", "2.2.4"), ("1.7.27-1.amzn2023.0.4", "1.7.27"), ("1.7.22", "1.7.22")])
def test_upstream_version(rpm: str, version: str) -> None:
    assert upstream_version(rpm) == version
