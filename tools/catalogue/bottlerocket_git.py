"""Bottlerocket release rows derived from the upstream git repositories (stdlib only, self-contained).

How a Bottlerocket release ``v1.x.y`` decides what an ``aws-k8s-1.NN`` node runs, as read from the repositories:

1. ``bottlerocket`` at tag ``v1.x.y``: ``Twoliter.lock`` (else ``Twoliter.toml``) has a ``[[kit]]`` entry
   ``name = "bottlerocket-core-kit"`` whose ``version`` is the core kit the release is built from.
2. ``bottlerocket`` at the same tag: ``variants/aws-k8s-1.NN[-nvidia]/Cargo.toml``,
   ``[package.metadata.build-variant] included-packages``. Since core kit 8.1.0 (Bottlerocket 1.39.0) a variant may
   name a containerd package (``containerd-2.0``, ``containerd-2.1``, ...). A variant that names none gets containerd through the
   ``Requires: containerd`` of the ``release`` and ``kubernetes-1.NN`` packages; every ``containerd-X.Y`` spec says
   ``Provides: containerd = <package_priority_epoch>:`` and ``Conflicts: containerd``, and the package with the
   highest priority epoch is the kit's default (``containerd-1.7`` while it exists); that choice is reported in
   ``unconfirmed`` because the resolver's pick is not itself in the source. Before core kit 8.1.0 there is a single
   package called ``containerd``.
   ``soci-snapshotter`` in ``included-packages`` means the image ships SOCI.
3. ``bottlerocket-core-kit`` at tag ``v<kit version>``: ``packages/<pkg>/<pkg>.spec`` gives the upstream version
   (``Version:`` through ``%global gover``/``rpmver``), and ``packages/<pkg>/Cargo.toml`` fetches the matching
   upstream archive (cross-checked).

Facts the repositories cannot settle go into each row's ``unconfirmed`` list, in plain words; nothing is guessed.
Malformed inputs (a missing file, a version that is not ``X.Y.Z``, a core-kit tag that does not exist) raise
ValueError naming the tag and the file.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BOTTLEROCKET_URL", "CORE_KIT_URL", "bottlerocket_releases", "catalogue_rows"]

BOTTLEROCKET_URL = "https://github.com/bottlerocket-os/bottlerocket"
CORE_KIT_URL = "https://github.com/bottlerocket-os/bottlerocket-core-kit"
CORE_KIT = "bottlerocket-core-kit"
SOCI_PACKAGE = "soci-snapshotter"

_RELEASE_TAG = re.compile(r"^v([0-9]+)\.([0-9]+)\.([0-9]+)$")
_XYZ = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
_K8S_VARIANT = re.compile(r"^aws-k8s-(1\.[0-9]+)(-nvidia)?$")
_CONTAINERD_PACKAGE = re.compile(r"^containerd(?:-v?[0-9]+(?:\.[0-9]+)*)?$")
_MACRO = re.compile(r"%\{\??([A-Za-z_][A-Za-z0-9_]*)\}|%([A-Za-z_][A-Za-z0-9_]*)")
_ARCHIVE_VERSION = re.compile(r"[/-]v?([0-9]+\.[0-9]+\.[0-9]+)(?=[/]|\.tar|\.zip|\.tgz)")

Version = tuple[int, int, int]


def _version(value: str, what: str) -> Version:
    if not _XYZ.match(value):
        raise ValueError(f"{what}: {value!r} is not a MAJOR.MINOR.PATCH version")
    a, b, c = value.split(".")
    return int(a), int(b), int(c)


# --------------------------------------------------------------------------------------------
# git access


@dataclass
class _Repo:
    path: Path
    label: str
    url: str
    _files: dict[tuple[str, str], str | None] = field(default_factory=dict)

    def git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-C", str(self.path), *args], capture_output=True, text=True, check=False)

    def check(self) -> None:
        if not self.path.exists() or self.git("rev-parse", "--git-dir").returncode != 0:
            raise ValueError(f"{self.label}: {self.path} is not a git repository")

    def tags(self) -> list[str]:
        out = self.git("tag", "--list")
        if out.returncode != 0:
            raise ValueError(f"{self.label}: git tag failed in {self.path}: {out.stderr.strip()}")
        return out.stdout.split()

    def commit(self, tag: str) -> str | None:
        out = self.git("rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}")
        return out.stdout.strip() if out.returncode == 0 else None

    def read(self, commit: str, path: str) -> str | None:
        key = (commit, path)
        if key not in self._files:
            out = self.git("show", f"{commit}:{path}")
            self._files[key] = out.stdout if out.returncode == 0 else None
        return self._files[key]

    def names(self, commit: str, directory: str) -> list[str]:
        out = self.git("ls-tree", "--name-only", commit, f"{directory.rstrip('/')}/")
        if out.returncode != 0:
            return []
        return [line.rsplit("/", 1)[-1] for line in out.stdout.splitlines() if line]

    def blob_url(self, commit: str, path: str) -> str:
        return f"{self.url}/blob/{commit}/{path}"


def _toml(text: str, where: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{where}: not valid TOML ({exc})") from None


# --------------------------------------------------------------------------------------------
# bottlerocket side


def _core_kit_pin(repo: _Repo, commit: str, tag: str, notes: list[str]) -> str:
    """The core-kit version the release at ``tag`` is built from (Twoliter.lock, else Twoliter.toml)."""
    pins: dict[str, str] = {}
    for name in ("Twoliter.lock", "Twoliter.toml"):
        text = repo.read(commit, name)
        if text is None:
            continue
        kits = _toml(text, f"{tag}:{name}").get("kit", [])
        found = [k for k in kits if isinstance(k, dict) and k.get("name") == CORE_KIT]
        if len(found) > 1:
            raise ValueError(f"{tag}:{name}: {len(found)} [[kit]] entries named {CORE_KIT}")
        if found:
            version = found[0].get("version")
            if not isinstance(version, str):
                raise ValueError(f"{tag}:{name}: the {CORE_KIT} [[kit]] entry has no version")
            _version(version, f"{tag}:{name} {CORE_KIT} version")
            pins[name] = version
    if not pins:
        raise ValueError(f"{tag}: neither Twoliter.lock nor Twoliter.toml pins {CORE_KIT} "
                         "(releases built before the core kit are not supported)")
    if len(set(pins.values())) > 1:
        notes.append(f"Twoliter.lock pins {CORE_KIT} {pins['Twoliter.lock']} but Twoliter.toml asks for "
                     f"{pins['Twoliter.toml']}; the lock file (what the build used) is taken")
    return pins.get("Twoliter.lock") or pins["Twoliter.toml"]


def _k8s_variants(repo: _Repo, commit: str, tag: str) -> dict[str, dict[str, list[str]]]:
    """``{"1.33": {"aws-k8s-1.33": [included packages], "aws-k8s-1.33-nvidia": [...]}}`` at ``tag``."""
    out: dict[str, dict[str, list[str]]] = {}
    for name in repo.names(commit, "variants"):
        m = _K8S_VARIANT.match(name)
        if not m:
            continue
        path = f"variants/{name}/Cargo.toml"
        text = repo.read(commit, path)
        if text is None:
            raise ValueError(f"{tag}: {path} is missing")
        meta = _toml(text, f"{tag}:{path}").get("package", {}).get("metadata", {}).get("build-variant", {})
        packages = meta.get("included-packages")
        if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
            raise ValueError(f"{tag}:{path}: no [package.metadata.build-variant] included-packages list")
        out.setdefault(m.group(1), {})[name] = packages
    if not out:
        raise ValueError(f"{tag}: no variants/aws-k8s-1.NN directories")
    return {k8s: {v: out[k8s][v] for v in sorted(out[k8s], key=_variant_order)}
            for k8s in sorted(out, key=lambda k: int(k.split(".")[1]))}


# --------------------------------------------------------------------------------------------
# core-kit side


@dataclass(frozen=True)
class _Spec:
    package: str
    name: str
    version: str
    provides: dict[str, str]
    spec_path: str
    archive_versions: tuple[str, ...]


def _expand(value: str, macros: dict[str, str]) -> str:
    for _ in range(10):
        new = _MACRO.sub(lambda m: macros.get(m.group(1) or m.group(2), m.group(0)), value)
        if new == value:
            break
        value = new
    return value.strip()


def _parse_spec(text: str, where: str) -> tuple[str, str, dict[str, str]]:
    """(Name, Version, Provides of the main package) of an RPM spec, with ``%global``/``%define`` expanded."""
    macros = {"_cross_os": ""}  # Bottlerocket's name prefix; names compare without it
    preamble: dict[str, str] = {}
    provides: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(("%package", "%description", "%prep", "%build", "%install", "%files")):
            break  # the main package's preamble ends here
        m = re.match(r"^%(?:global|define)\s+([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$", line)
        if m:
            macros[m.group(1)] = _expand(m.group(2), macros)
            continue
        m = re.match(r"^([A-Za-z]+):\s*(.*)$", line)
        if not m:
            continue
        key, value = m.group(1).lower(), _expand(m.group(2), macros)
        if key in ("name", "version"):
            preamble.setdefault(key, value)
        elif key == "provides":
            for item in value.split(","):
                parts = item.split()
                if parts:
                    provides[parts[0]] = parts[2] if len(parts) >= 3 and parts[1] == "=" else ""
    for key in ("name", "version"):
        if key not in preamble:
            raise ValueError(f"{where}: no {key.capitalize()}: line")
    version = preamble["version"]
    if not _XYZ.match(version):
        raise ValueError(f"{where}: Version {version!r} (after macro expansion) is not a MAJOR.MINOR.PATCH version")
    return preamble["name"], version, provides


def _spec(repo: _Repo, commit: str, tag: str, package: str, cache: dict[tuple[str, str], _Spec], named_by: str) -> _Spec:
    key = (commit, package)
    if key in cache:
        return cache[key]
    directory = f"packages/{package}"
    names = repo.names(commit, directory)
    if not names:
        raise ValueError(f"{CORE_KIT} {tag}: {directory}/ does not exist (package named by {named_by})")
    spec_name = f"{package}.spec"
    if spec_name not in names:
        specs = [n for n in names if n.endswith(".spec")]
        if len(specs) != 1:
            raise ValueError(f"{CORE_KIT} {tag}: {directory}/{spec_name} is missing")
        spec_name = specs[0]
    spec_path = f"{directory}/{spec_name}"
    text = repo.read(commit, spec_path)
    if text is None:
        raise ValueError(f"{CORE_KIT} {tag}: {spec_path} is missing")
    name, version, provides = _parse_spec(text, f"{CORE_KIT} {tag}:{spec_path}")
    cargo_path = f"{directory}/Cargo.toml"
    cargo = repo.read(commit, cargo_path)
    if cargo is None:
        raise ValueError(f"{CORE_KIT} {tag}: {cargo_path} is missing")
    files = _toml(cargo, f"{CORE_KIT} {tag}:{cargo_path}").get("package", {}).get("metadata", {}).get(
        "build-package", {}).get("external-files", [])
    archive_versions = tuple(m.group(1) for f in files if isinstance(f, dict)
                             for m in [_ARCHIVE_VERSION.search(str(f.get("url", "")))] if m)
    cache[key] = _Spec(package, name, version, provides, spec_path, archive_versions)
    return cache[key]


def _priority(spec: _Spec) -> int | None:
    """The ``package_priority_epoch`` in ``Provides: containerd = N:``; None when the spec gives none."""
    evr = spec.provides.get("containerd")
    if evr is None:
        return None
    m = re.match(r"^([0-9]+):", evr)
    return int(m.group(1)) if m else None


def _containerd_providers(repo: _Repo, commit: str, tag: str, cache: dict[tuple[str, str], _Spec]) -> list[_Spec]:
    out = []
    for package in repo.names(commit, "packages"):
        if _CONTAINERD_PACKAGE.match(package):
            spec = _spec(repo, commit, tag, package, cache, "the core kit's own package list")
            if spec.name == "containerd" or "containerd" in spec.provides:
                out.append(spec)
    return out


# --------------------------------------------------------------------------------------------
# rows


def _release_tags(repo: _Repo, since: Version) -> list[tuple[Version, str]]:
    found = []
    for tag in repo.tags():
        m = _RELEASE_TAG.match(tag)
        if m:
            version = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
            if version >= since:
                found.append((version, tag))
    return sorted(found)


def _row(br: _Repo, ck: _Repo, tag: str, cache: dict[tuple[str, str], _Spec]) -> dict:
    release = tag[1:]
    commit = br.commit(tag)
    if commit is None:
        raise ValueError(f"{tag}: the tag does not resolve to a commit in {br.path}")
    unconfirmed: list[str] = []
    kit_version = _core_kit_pin(br, commit, tag, unconfirmed)
    kit_tag = f"v{kit_version}"
    kit_commit = ck.commit(kit_tag)
    if kit_commit is None:
        raise ValueError(f"{tag}: Twoliter pins {CORE_KIT} {kit_version}, but {ck.path} has no tag {kit_tag}")
    variants = _k8s_variants(br, commit, tag)

    providers: list[_Spec] | None = None
    default: _Spec | None = None
    default_note: str | None = None
    implicit: list[str] = []
    chosen: dict[str, _Spec | None] = {}
    for _k8s, by_variant in variants.items():
        for variant, packages in by_variant.items():
            named_by = f"{tag}:variants/{variant}/Cargo.toml"
            explicit = [p for p in packages if _CONTAINERD_PACKAGE.match(p)]
            if len(explicit) > 1:
                raise ValueError(f"{named_by}: names {len(explicit)} containerd packages ({', '.join(explicit)})")
            if explicit:
                spec = _spec(ck, kit_commit, kit_tag, explicit[0], cache, named_by)
                if spec.name != "containerd" and "containerd" not in spec.provides:
                    raise ValueError(f"{CORE_KIT} {kit_tag}:{spec.spec_path} neither is nor provides containerd")
                chosen[variant] = spec
                continue
            if providers is None:
                providers = _containerd_providers(ck, kit_commit, kit_tag, cache)
                default, default_note = _default_provider(providers, kit_tag)
            implicit.append(variant)
            chosen[variant] = default
    if implicit:
        names = ", ".join(sorted(implicit, key=_variant_order))
        if default is None:
            unconfirmed.append(f"containerd UNKNOWN for {names}: they name no containerd package and {default_note}")
        elif default_note:
            unconfirmed.append(f"{names} name no containerd package; {default_note}")

    kubernetes: dict[str, dict] = {}
    by_variant_out: dict[str, dict[str, str | None]] = {}
    spec_urls: list[str] = []
    for k8s, by_variant in variants.items():
        names = sorted(by_variant, key=_variant_order)
        base = names[0]
        base_spec = chosen[base]
        kubernetes[k8s] = {"containerd": base_spec.version if base_spec else None, "variants": names}
        for other in names[1:]:
            spec = chosen[other]
            if (spec.version if spec else None) != (base_spec.version if base_spec else None):
                by_variant_out.setdefault(k8s, {})[other] = spec.version if spec else None
        for spec in (chosen[n] for n in names):
            if spec is not None:
                url = ck.blob_url(kit_commit, spec.spec_path)
                if url not in spec_urls:
                    spec_urls.append(url)
    for spec in {id(s): s for s in chosen.values() if s is not None}.values():
        if spec.archive_versions and spec.version not in spec.archive_versions:
            unconfirmed.append(f"{CORE_KIT} {kit_tag}:{spec.spec_path} says containerd {spec.version} but "
                               f"packages/{spec.package}/Cargo.toml fetches {', '.join(spec.archive_versions)}")
    for k8s, row in kubernetes.items():
        if row["containerd"] is None:
            unconfirmed.append(f"containerd UNKNOWN for Kubernetes {k8s}")

    all_variants = [v for by_variant in variants.values() for v in by_variant]
    with_soci = [v for by_variant in variants.values() for v, pkgs in by_variant.items() if SOCI_PACKAGE in pkgs]
    soci_spec = None
    if with_soci:
        soci_spec = _spec(ck, kit_commit, kit_tag, SOCI_PACKAGE, cache, f"{tag}:variants/{with_soci[0]}/Cargo.toml")
        if soci_spec.archive_versions and soci_spec.version not in soci_spec.archive_versions:
            unconfirmed.append(f"{CORE_KIT} {kit_tag}:{soci_spec.spec_path} says {SOCI_PACKAGE} {soci_spec.version} "
                               f"but its Cargo.toml fetches {', '.join(soci_spec.archive_versions)}")
        if len(with_soci) != len(all_variants):
            missing = [v for v in all_variants if v not in with_soci]
            unconfirmed.append(f"{SOCI_PACKAGE} is only in some aws-k8s variants (not in {', '.join(missing)}); "
                               "sociPackage is false for the release")

    row: dict = {"release": release, "kubernetes": kubernetes}
    if by_variant_out:
        row["containerdByVariant"] = by_variant_out
    row["sociPackage"] = bool(with_soci) and len(with_soci) == len(all_variants)
    row["sociVersion"] = soci_spec.version if soci_spec else None
    row["sources"] = {
        "release": f"{br.url}/tree/{commit}",
        "coreKit": f"{ck.url}/tree/{kit_commit}",
        "containerd": " ".join(spec_urls) if spec_urls else None,
        "soci": ck.blob_url(kit_commit, soci_spec.spec_path) if soci_spec else None,
    }
    row["unconfirmed"] = unconfirmed
    return row


def _variant_order(variant: str) -> tuple[int, bool]:
    """aws-k8s-1.28, aws-k8s-1.28-nvidia, aws-k8s-1.29, ..."""
    m = _K8S_VARIANT.match(variant)
    return (int(m.group(1).split(".")[1]) if m else 0, variant.endswith("-nvidia"))


def _default_provider(providers: list[_Spec], kit_tag: str) -> tuple[_Spec | None, str | None]:
    """The containerd a variant gets when it names none, and a note (None when the source settles it)."""
    if not providers:
        return None, f"no package in {CORE_KIT} {kit_tag} provides containerd"
    if len(providers) == 1:
        return providers[0], None
    ranked = [(p, _priority(p)) for p in providers]
    listing = ", ".join(f"{p.package} = {'?' if e is None else e}" for p, e in ranked)
    epochs = [e for _, e in ranked]
    if any(e is None for e in epochs) or len(set(epochs)) != len(epochs):
        return None, (f"{len(providers)} packages in {CORE_KIT} {kit_tag} provide containerd without distinct priority "
                      f"epochs ({listing}), so which one the image build installs is not in the source")
    best = max(ranked, key=lambda pe: pe[1])[0]
    return best, (f"they get {best.package} ({best.version}), the {CORE_KIT} {kit_tag} package whose "
                  f"'Provides: containerd' carries the highest package_priority_epoch ({listing}) - the kit's "
                  "default; the image build's resolver choice itself is not recorded in the source")


def bottlerocket_releases(bottlerocket_repo: Path, core_kit_repo: Path, since: str = "1.44.0") -> list[dict]:
    """Rows for every Bottlerocket release tag >= ``since``, oldest first, read from two git repositories.

    Tags: every tag of ``bottlerocket_repo`` named exactly ``vMAJOR.MINOR.PATCH`` (so ``-rc``/pre-release and
    other tags are skipped), compared numerically with ``since`` (inclusive). For each, the core kit is the tag
    ``v<version>`` of ``core_kit_repo`` for the version that ``Twoliter.lock`` (else ``Twoliter.toml``) pins at
    the release tag; variant and package files are read at those two tag commits, never at a branch head.

    Only ``aws-k8s-1.NN`` and ``aws-k8s-1.NN-nvidia`` variants are read. Each row::

        {"release", "kubernetes": {"1.NN": {"containerd": "x.y.z" | None, "variants": [...]}},
         "containerdByVariant": {"1.NN": {"aws-k8s-1.NN-nvidia": "x.y.z"}}   # only where nvidia differs
         "sociPackage": bool, "sociVersion": "x.y.z" | None,
         "sources": {"release", "coreKit", "containerd" (space-separated spec URLs), "soci"},
         "unconfirmed": [plain-words notes]}

    Raises ValueError for a bad ``since``, a path that is not a git repository, a missing file, a version that is
    not ``X.Y.Z``, or a pinned core-kit version without a tag; the message names the tag and the file.
    """
    floor = _version(since.removeprefix("v"), "since")
    br = _Repo(Path(bottlerocket_repo), "bottlerocket", BOTTLEROCKET_URL)
    ck = _Repo(Path(core_kit_repo), CORE_KIT, CORE_KIT_URL)
    br.check()
    ck.check()
    cache: dict[tuple[str, str], _Spec] = {}
    return [_row(br, ck, tag, cache) for _, tag in _release_tags(br, floor)]


def catalogue_rows(rows: list[dict]) -> list[dict]:
    """:func:`bottlerocket_releases` rows in the shape the catalogue loads (``amiTypes``, ``containerdByType``,
    no empty sources). A release with a Kubernetes version whose containerd is UNKNOWN gets ``kubernetes: None``
    (the whole release unconfirmed), its notes kept."""
    out = []
    for row in rows:
        by_variant = row.get("containerdByVariant", {})
        kubernetes: dict | None = {}
        for k8s, build in row["kubernetes"].items():
            if build["containerd"] is None or any(v is None for v in by_variant.get(k8s, {}).values()):
                kubernetes = None
                break
            entry: dict = {"containerd": build["containerd"], "amiTypes": list(build["variants"])}
            if by_variant.get(k8s):
                entry["containerdByType"] = dict(by_variant[k8s])
            kubernetes[k8s] = entry
        new: dict = {"release": row["release"], "kubernetes": kubernetes, "sociPackage": row["sociPackage"]}
        if row.get("sociVersion"):
            new["sociVersion"] = row["sociVersion"]
        new["unconfirmed"] = list(row.get("unconfirmed", []))
        new["sources"] = {k: v for k, v in row.get("sources", {}).items() if v}
        out.append(new)
    return out
