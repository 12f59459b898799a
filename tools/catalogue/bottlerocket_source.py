"""Bottlerocket catalogue rows read from a git clone of the Bottlerocket project website (stdlib only).

Where the website keeps what a release ships, and how it got there (its generator scripts live in the
same repository, ``scripts/website-boiler-plate-generator/update_website.sh``):

- ``content/en/os/<1.NN.x>/version-information/packages/<1.NN.P>/core-kit-packages.markdown``: one file per
  documented release. A Hugo page whose front matter (between ``---`` lines) has a ``title`` naming the kit and
  its version (``Core Kit packages <X.Y.Z>``), a ``description`` naming the Bottlerocket release, and a
  ``packages`` list of ``- package: <name>`` / ``version: <rpm Version>`` entries (plus ``patches``). The
  generator checks out ``bottlerocket-core-kit`` at the tag ``v<X.Y.Z>`` given to it by the person running it
  and prints ``rpmspec -q --qf %{Version}`` of every ``packages/<pkg>/<pkg>.spec``; the ``- package:`` lines
  end in CR LF.
- ``data/variants/<1.NN.x>/<variant>.toml``: a copy of ``variants/<variant>/Cargo.toml`` from the
  ``bottlerocket`` repository at the release tag; ``[package.metadata.build-variant] included-packages`` names
  the packages the image is built from. There is one directory per release line (``1.57.x``), not per release.

Per documented release ``R >= since`` and per ``aws-k8s-1.NN`` / ``aws-k8s-1.NN-nvidia`` variant of its line
(FIPS, VMware, ECS and dev variants are not read):

- containerd: the ``containerd-X.Y`` (or, before the split, ``containerd``) package the variant includes, at
  the version R's package list gives it. A variant that names no containerd package gets containerd through
  ``Requires: containerd`` of ``kubelet-1.NN``; of the kit's ``containerd-X.Y`` packages, which all
  ``Provides: containerd`` and conflict with each other, ``containerd-1.7`` carries the highest
  ``package_priority_epoch`` (the kit's default). The website does not record that choice, so it is taken
  from :data:`DEFAULT_CONTAINERD` and said in the row's ``unconfirmed`` list.
- SOCI: ``soci-snapshotter`` in every variant's ``included-packages`` -> ``sociPackage``; its version from
  R's package list -> ``sociVersion``.

Also in ``unconfirmed``: that the kit version the website lists is the one R's ``Twoliter.lock`` pins (an
input to the generator, not read from the release), and, for a line with several documented releases, that
the line's one variant directory applies to each of them.

Malformed inputs (no front matter, a list naming another release or another kit, a package without a
version, a containerd/SOCI/kubernetes package the list lacks, a variant file that is not TOML or has no
``included-packages``) raise ValueError naming the release and the file.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from soci_component.spec import k8s_minor, parse_version

from .bottlerocket_git import CORE_KIT_URL, SOCI_PACKAGE

__all__ = ["CORE_KIT_URL", "DEFAULT_CONTAINERD", "WEBSITE_URL", "parse_package_list", "website_releases"]

WEBSITE_URL = "https://github.com/bottlerocket-os/bottlerocket-project-website"
DEFAULT_CONTAINERD = "containerd-1.7"
"""The core kit's default containerd provider: ``Provides: containerd = %{package_priority_epoch}:`` is 2 in
``containerd-1.7.spec`` and 0 in the ``containerd-2.x`` specs (read in the core kit's source, e.g.
bottlerocket-core-kit@be1df9b68cbf63125915472a1853c78816cabdf0 ``packages/containerd-1.7/containerd-1.7.spec``,
containerd 1.7.29, epoch 2; ``packages/containerd-2.1/containerd-2.1.spec``, epoch 0). Each row cites the spec at
the core-kit tag its package list names (``containerdDefault``), where the epoch can be checked for that release."""

_PACKAGES = re.compile(r"^content/en/os/(?P<line>[0-9]+\.[0-9]+\.x)/version-information/packages/(?P<release>[0-9]+\.[0-9]+\.[0-9]+)/(?P<file>[^/]+)$")
_K8S_VARIANT = re.compile(r"^aws-k8s-(?P<k8s>1\.[0-9]+)(?P<nvidia>-nvidia)?$")
_CONTAINERD = re.compile(r"^containerd(-[0-9]+\.[0-9]+)?$")
_KUBELET = re.compile(r"^kubelet-(1\.[0-9]+)$")
_TITLE = re.compile(r"^(?P<kit>[A-Za-z]+) Kit packages (?P<version>[0-9]+\.[0-9]+\.[0-9]+)$")
_DESCRIPTION_RELEASE = re.compile(r"Bottlerocket Release (?P<release>[0-9]+\.[0-9]+\.[0-9]+)\b")
PACKAGE_LIST = "core-kit-packages.markdown"


class _Website:
    """Read-only access to the clone's files at one commit."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        out = self._git("rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        if out.returncode != 0 or not out.stdout.strip():
            raise ValueError(f"{self.path}: not a git clone of the Bottlerocket website (git rev-parse HEAD failed)")
        self.commit = out.stdout.strip()

    def _git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-C", str(self.path), *args], capture_output=True, text=True, check=False)

    def files(self, under: str) -> list[str]:
        out = self._git("ls-tree", "-r", "--name-only", self.commit, "--", under)
        if out.returncode != 0:
            raise ValueError(f"{self.path}: git ls-tree {under} failed: {out.stderr.strip()}")
        return out.stdout.splitlines()

    def read(self, path: str) -> str:
        out = self._git("show", f"{self.commit}:{path}")
        if out.returncode != 0:
            raise ValueError(f"{self.path}: cannot read {path} at {self.commit}")
        return out.stdout

    def blob(self, path: str) -> str:
        return f"{WEBSITE_URL}/blob/{self.commit}/{path}"

    def tree(self, path: str) -> str:
        return f"{WEBSITE_URL}/tree/{self.commit}/{path}"


# --------------------------------------------------------------------------------------------
# the two file formats


def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def parse_package_list(text: str, where: str) -> tuple[dict[str, str], dict[str, str]]:
    """(top-level front-matter keys, package -> version) of a website package list; ValueError names ``where``."""
    lines = text.replace("\r", "").split("\n")
    if not lines or lines[0].strip() != "---":
        raise ValueError(f"{where}: does not start with a '---' front matter block")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise ValueError(f"{where}: the front matter block is not closed with '---'") from None
    keys: dict[str, str] = {}
    packages: dict[str, str] = {}
    current: str | None = None
    in_packages = False
    for n, line in enumerate(lines[1:end], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            m = re.match(r"^([A-Za-z_][A-Za-z0-9_-]*):\s*(.*)$", line)
            if not m:
                raise ValueError(f"{where}:{n}: not a 'key: value' line: {line.strip()!r}")
            current, in_packages = None, m.group(1) == "packages"
            if not in_packages:
                keys[m.group(1)] = _scalar(m.group(2))
            elif m.group(2).strip():
                raise ValueError(f"{where}:{n}: 'packages:' must be followed by a list")
            continue
        if not in_packages:
            raise ValueError(f"{where}:{n}: indented line outside the packages list: {line.strip()!r}")
        m = re.match(r"^\s*-\s+package:\s*(\S+)\s*$", line)
        if m:
            current = _scalar(m.group(1))
            if current in packages:
                raise ValueError(f"{where}:{n}: package {current} is listed twice")
            packages[current] = ""
            continue
        m = re.match(r"^\s+version:\s*(.*)$", line)
        if m:
            if current is None:
                raise ValueError(f"{where}:{n}: 'version:' before any '- package:'")
            if packages[current]:
                raise ValueError(f"{where}:{n}: package {current} has two versions")
            packages[current] = _scalar(m.group(1))
            continue
        # anything else belongs to the current entry (its patches); not read
        if current is None:
            raise ValueError(f"{where}:{n}: {line.strip()!r} before any '- package:'")
    missing = [p for p, v in packages.items() if not v]
    if missing:
        raise ValueError(f"{where}: no version for {', '.join(missing)}")
    if not packages:
        raise ValueError(f"{where}: the front matter has no packages list")
    return keys, packages


def _included(text: str, where: str) -> list[str]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{where}: not valid TOML ({e})") from None
    packages = data.get("package", {}).get("metadata", {}).get("build-variant", {}).get("included-packages")
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise ValueError(f"{where}: no [package.metadata.build-variant] included-packages list of strings")
    return packages


# --------------------------------------------------------------------------------------------
# rows


def _variant_order(name: str) -> tuple[int, bool]:
    m = _K8S_VARIANT.match(name)
    assert m
    return k8s_minor(m.group("k8s")), bool(m.group("nvidia"))


def _variants_text(names: list[str], variants: Mapping[str, list[str]]) -> str:
    """``the aws-k8s-1.29-1.32 variants (standard and nvidia)`` when they cover whole Kubernetes versions, else the names."""
    minors = sorted({_variant_order(n)[0] for n in names})
    whole = all(v in names for v in variants if _variant_order(v)[0] in minors)
    if not whole:
        return ", ".join(names)
    runs: list[list[int]] = []
    for m in minors:
        if runs and runs[-1][1] + 1 == m:
            runs[-1][1] = m
        else:
            runs.append([m, m])
    spans = ", ".join(f"1.{a}" if a == b else f"1.{a}-1.{b}" for a, b in runs)
    return f"the aws-k8s variants of Kubernetes {spans} ({len(names)} variant{'' if len(names) == 1 else 's'})"


def _version_of(kit: Mapping[str, str], package: str, release: str, list_path: str, named_by: str) -> str:
    if package not in kit:
        raise ValueError(f"Bottlerocket {release}: {named_by} includes {package}, which {list_path} does not list")
    version = kit[package]
    try:
        parse_version(version)
    except ValueError:
        raise ValueError(f"Bottlerocket {release}: {list_path} gives {package} the version {version!r}, not MAJOR.MINOR.PATCH") from None
    return version


def _row(site: _Website, line: str, release: str, list_path: str, releases_of_line: list[str]) -> dict[str, Any]:
    keys, kit = parse_package_list(site.read(list_path), f"Bottlerocket {release}: {list_path}")
    title = _TITLE.match(keys.get("title", ""))
    if not title or title.group("kit") != "Core":
        raise ValueError(f"Bottlerocket {release}: {list_path} title {keys.get('title')!r} does not name a core kit version ('Core Kit packages X.Y.Z')")
    kit_version = title.group("version")
    said = _DESCRIPTION_RELEASE.search(keys.get("description", ""))
    if not said:
        raise ValueError(f"Bottlerocket {release}: {list_path} description {keys.get('description')!r} does not name the release it lists")
    if said.group("release") != release:
        raise ValueError(f"Bottlerocket {release}: {list_path} says it lists release {said.group('release')}, not {release}")

    variants_dir = f"data/variants/{line}"
    variants: dict[str, list[str]] = {}
    for path in site.files(variants_dir):
        name = path.rsplit("/", 1)[-1].removesuffix(".toml")
        if path.endswith(".toml") and _K8S_VARIANT.match(name):
            variants[name] = _included(site.read(path), f"Bottlerocket {release}: {path}")
    if not variants:
        raise ValueError(f"Bottlerocket {release}: {variants_dir}/ has no aws-k8s-1.NN variant files")

    unconfirmed = [f"the website lists core kit {kit_version} for {release}, the kit version given to its generator; "
                   "that it is the kit the release's Twoliter.lock pins is not in the website's data"]
    if len(releases_of_line) > 1:
        unconfirmed.append(f"the website keeps one variant list for the {line} line ({', '.join(releases_of_line)}); "
                           f"that it applies unchanged to {release} is assumed")
    sources = {"packages": site.blob(list_path), "variants": site.tree(variants_dir), "coreKit": f"{CORE_KIT_URL}/tree/v{kit_version}"}

    containerd: dict[str, str] = {}
    implicit: list[str] = []
    for name in sorted(variants, key=_variant_order):
        packages = variants[name]
        named_by = f"{variants_dir}/{name}.toml"
        explicit = [p for p in packages if _CONTAINERD.match(p)]
        if len(explicit) > 1:
            raise ValueError(f"Bottlerocket {release}: {named_by} includes {len(explicit)} containerd packages ({', '.join(explicit)})")
        kubelets = [m.group(1) for p in packages for m in [_KUBELET.match(p)] if m]
        if kubelets != [_K8S_VARIANT.match(name).group("k8s")]:  # type: ignore[union-attr]
            raise ValueError(f"Bottlerocket {release}: {named_by} includes kubelet {kubelets or 'none'}, not the variant's own Kubernetes version")
        _version_of(kit, f"kubernetes-{kubelets[0]}", release, list_path, f"{named_by} (kubelet-{kubelets[0]})")
        if explicit:
            package = explicit[0]
        elif "containerd" in kit:
            package = "containerd"
        elif DEFAULT_CONTAINERD in kit:
            package = DEFAULT_CONTAINERD
            implicit.append(name)
        else:
            raise ValueError(f"Bottlerocket {release}: {named_by} names no containerd package, and {list_path} has neither 'containerd' nor "
                             f"{DEFAULT_CONTAINERD} (the default provider this reader knows); which containerd the variant gets is not in the data")
        containerd[name] = _version_of(kit, package, release, list_path, named_by)
    if implicit:
        unconfirmed.append(f"{_variants_text(implicit, variants)} name no containerd package; they are taken to get {DEFAULT_CONTAINERD} "
                           f"({kit[DEFAULT_CONTAINERD]}), the core kit's default provider of containerd (highest package_priority_epoch); "
                           "the website does not record which package the image build resolved")
        sources["containerdDefault"] = f"{CORE_KIT_URL}/blob/v{kit_version}/packages/{DEFAULT_CONTAINERD}/{DEFAULT_CONTAINERD}.spec"

    kubernetes: dict[str, dict[str, Any]] = {}
    for name in sorted(variants, key=_variant_order):
        k8s = _K8S_VARIANT.match(name).group("k8s")  # type: ignore[union-attr]
        entry = kubernetes.setdefault(k8s, {"containerd": containerd[name], "amiTypes": []})
        entry["amiTypes"].append(name)
        if containerd[name] != entry["containerd"]:
            entry.setdefault("containerdByType", {})[name] = containerd[name]

    with_soci = [v for v, pkgs in variants.items() if SOCI_PACKAGE in pkgs]
    row: dict[str, Any] = {"release": release, "kubernetes": kubernetes, "sociPackage": len(with_soci) == len(variants)}
    if with_soci:
        row["sociVersion"] = _version_of(kit, SOCI_PACKAGE, release, list_path, f"{variants_dir}/{sorted(with_soci, key=_variant_order)[0]}.toml")
        if len(with_soci) != len(variants):
            missing = sorted(set(variants) - set(with_soci), key=_variant_order)
            unconfirmed.append(f"{SOCI_PACKAGE} is not in {', '.join(missing)}; sociPackage is false for the release")
    row["unconfirmed"] = unconfirmed
    row["sources"] = sources
    return row


def website_releases(website_repo: Path, since: str = "1.44.0") -> list[dict[str, Any]]:
    """Catalogue rows (the shape ``catalogue._release`` loads for Bottlerocket), oldest first, for every release
    ``>= since`` that the website at the clone's HEAD documents with a package list.

    A release directory under ``version-information/packages/`` without ``core-kit-packages.markdown``, or
    filed under another line than its own, raises ValueError (as do the malformed inputs in the module doc)."""
    floor = parse_version(since.removeprefix("v"))
    site = _Website(website_repo)
    found: dict[str, tuple[str, set[str]]] = {}
    for path in site.files("content/en/os"):
        m = _PACKAGES.match(path)
        if not m:
            continue
        line, release = m.group("line"), m.group("release")
        if release.rsplit(".", 1)[0] + ".x" != line:
            raise ValueError(f"Bottlerocket {release}: its package list is filed under the {line} line ({path})")
        prev = found.setdefault(release, (line, set()))
        prev[1].add(m.group("file"))
    by_line: dict[str, list[str]] = {}
    for release, (line, _) in found.items():
        by_line.setdefault(line, []).append(release)
    rows = []
    for release in sorted(found, key=parse_version):
        if parse_version(release) < floor:
            continue
        line, files = found[release]
        directory = f"content/en/os/{line}/version-information/packages/{release}"
        if PACKAGE_LIST not in files:
            raise ValueError(f"Bottlerocket {release}: {directory}/ has no {PACKAGE_LIST} (it has {', '.join(sorted(files))})")
        rows.append(_row(site, line, release, f"{directory}/{PACKAGE_LIST}", sorted(by_line[line], key=parse_version)))
    return rows
