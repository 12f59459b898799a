"""``python -m tools.catalogue sync`` / ``add``: (re)write ``soci_component/ami/releases.json`` from upstream sources.

- AL2023: the amazon-eks-ami ``CHANGELOG.md`` (containerd and AMI names per Kubernetes version,
  abandoned releases) and, with ``--eks-ami-repo``, the source at each release tag (nodeadm's gate
  and size floor, pause-image import, SOCI package, SOCI on instance store: ``eks_ami_source``).
  Release tags the CHANGELOG does not document become rows whose containerd is UNCONFIRMED.
- Bottlerocket: with ``--bottlerocket-website``, the per-release core-kit package lists and per-line
  variant files of the bottlerocket-project-website clone (``bottlerocket_source``); with
  ``--bottlerocket-repo`` and ``--core-kit-repo``, the variants and packages at each release tag
  (``bottlerocket_git``). Given both, a release the git tags cover comes from the git tags (they read
  the release's own ``Twoliter.lock`` pin) and the website fills the releases the clones lack
  (:func:`bottlerocket_rows`); where both cover a release and disagree, the row says so.
- Rows a source did not touch are kept as they are (so a sync with only ``--changelog`` keeps the
  nodeadm facts already read); rows added by hand (``add``) are replaced once a source covers them.

Pure except for reading the given files/clones (and a URL, when ``--changelog`` is one).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from soci_component.ami.catalogue import SCHEMA, release_key
from soci_component.spec import AL2023_RELEASE_RE, BOTTLEROCKET_RELEASE_RE, OperatingSystem, k8s_minor, parse_version

from .changelog import ChangelogRelease, KubernetesBuild, parse_changelog
from .eks_ami_source import REPO_URL, nodeadm_facts, tag_commit

__all__ = ["NO_CHANGELOG", "add_row", "al2023_rows", "bottlerocket_rows", "dump", "read_changelog", "sync"]

NO_CHANGELOG = "tag without a CHANGELOG entry: containerd and Kubernetes versions UNCONFIRMED"
NODEADM_UNREAD = "nodeadm facts (parallel-pull gate, size floor, pause import) not read from this release's source (sync without --eks-ami-repo)"
FIRST = "v20240729"
"""The oldest AL2023 release kept (older ones predate containerd 1.7.16 by far)."""


def read_changelog(source: str) -> tuple[str, str]:
    """(text, the URL rows cite) from a file path or an https URL."""
    if source.startswith(("https://", "http://")):
        with urllib.request.urlopen(source, timeout=60) as r:  # noqa: S310 (the operator's own URL)
            return r.read().decode(), source
    return Path(source).read_text(), f"{REPO_URL}/blob/main/CHANGELOG.md"


def changelog_from_repo(repo: Path) -> tuple[str, str]:
    """The CHANGELOG at the clone's HEAD, cited at that commit."""
    import subprocess

    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    text = subprocess.run(["git", "-C", str(repo), "show", f"{head}:CHANGELOG.md"], capture_output=True, text=True, check=True).stdout
    return text, f"{REPO_URL}/blob/{head}/CHANGELOG.md"


def _anchor(r: ChangelogRelease) -> str:
    return ("abandoned-ami-release-" if r.abandoned else "ami-release-") + r.release


def _standard_name(kind: str, k8s: str, release: str) -> str:
    variant = kind.rsplit("_", 1)[1]
    arch = "x86_64" if kind.startswith("AL2023_x86_64") else "arm64"
    return f"amazon-eks-node-al2023-{arch}-{variant.lower()}-{k8s}-{release}"


def _kubernetes(r: ChangelogRelease) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k8s, b in r.kubernetes.items():
        out[k8s] = _build_row(r.release, k8s, b)
    return out


def _build_row(release: str, k8s: str, b: KubernetesBuild) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for v in b.containerd.values():
        counts[v] = counts.get(v, 0) + 1
    main = b.containerd.get("AL2023_x86_64_STANDARD") or max(counts, key=lambda v: (counts[v], v))
    row: dict[str, Any] = {"containerd": main, "amiTypes": sorted(b.containerd)}
    names = {t: n for t, n in sorted(b.ami_names.items()) if n != _standard_name(t, k8s, release)}
    if names:
        row["amiNames"] = names
    other = {t: v for t, v in sorted(b.containerd.items()) if v != main}
    if other:
        row["containerdByType"] = other
    return row


def _nodeadm_row(facts: Any) -> dict[str, Any]:
    return {
        "featureGate": facts.feature_gate,
        "sizeFloor": None if facts.size_floor is None else {"milliCpu": facts.size_floor[0], "memoryGiB": facts.size_floor[1]},
        "pauseImport": facts.pause_import,
        "sociOnInstanceStore": facts.soci_on_instance_store,
        **facts.containerd,
    }


def al2023_rows(changelog: Sequence[ChangelogRelease], changelog_url: str, existing: Iterable[Mapping[str, Any]] = (), *,
                repo: Path | None = None, since: str = FIRST) -> list[dict[str, Any]]:
    """The AL2023 rows, oldest first: every CHANGELOG release since ``since`` with AL2023 AMIs (or
    abandoned), every later-or-equal release tag of ``repo`` the CHANGELOG lacks, and existing rows
    neither covers."""
    old = {r["release"]: dict(r) for r in existing}
    rows: dict[str, dict[str, Any]] = {}
    for r in changelog:
        if int(r.release[1:]) < int(since[1:]) or not (r.kubernetes or r.abandoned):
            continue
        row: dict[str, Any] = {"release": r.release}
        if r.abandoned:
            row["abandoned"] = True
        row["kubernetes"] = _kubernetes(r) or None
        row["sources"] = {"containerd": f"{changelog_url}#{_anchor(r)}"}
        rows[r.release] = row
    if repo is not None:
        for tag in _tags(repo):
            if AL2023_RELEASE_RE.fullmatch(tag) and int(tag[1:]) >= int(since[1:]) and tag not in rows:
                prev = old.get(tag)
                if prev is not None and prev.get("manual"):
                    rows[tag] = prev
                else:
                    rows[tag] = {"release": tag, "kubernetes": None, "unconfirmed": [NO_CHANGELOG], "sources": {"tag": f"{REPO_URL}/tree/{tag_commit(repo, tag)}"}}
    for release, prev in old.items():
        if release not in rows:
            rows[release] = prev
    out = []
    for release in sorted(rows, key=lambda v: int(v[1:])):
        row = rows[release]
        prev = old.get(release, {})
        facts = nodeadm_facts(repo, release) if repo is not None else None
        unconfirmed = [u for u in row.get("unconfirmed", []) if u != NODEADM_UNREAD]
        if facts is not None:
            row["sociPackage"] = facts.soci_package
            row["nodeadm"] = _nodeadm_row(facts)
            row["sources"] = {**row.get("sources", {}), **facts.sources}
        elif "nodeadm" in prev and not prev.get("manual"):
            row["sociPackage"] = prev.get("sociPackage", False)
            row["nodeadm"] = prev["nodeadm"]
            row["sources"] = {**{k: v for k, v in prev.get("sources", {}).items() if k != "containerd"}, **row.get("sources", {})}
        else:
            row.setdefault("sociPackage", False)
            unconfirmed.append(NODEADM_UNREAD)
        row["unconfirmed"] = unconfirmed
        out.append(_ordered(row))
    return out


def _facts(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a Bottlerocket row claims (containerd per Kubernetes version and variant, SOCI), for comparing two sources."""
    ks = row.get("kubernetes")
    kube = None if ks is None else tuple(
        (k, b["containerd"], tuple(sorted(b.get("amiTypes", ()))), tuple(sorted(b.get("containerdByType", {}).items()))) for k, b in sorted(ks.items()))
    return kube, bool(row.get("sociPackage")), row.get("sociVersion")


def _claims(row: Mapping[str, Any]) -> str:
    ks = row.get("kubernetes")
    if ks is None:
        kube = "containerd unknown"
    else:
        parts = []
        for k, b in ks.items():
            extra = "".join(f", {t} {v}" for t, v in b.get("containerdByType", {}).items())
            parts.append(f"{k}={b['containerd']}{extra} ({len(b.get('amiTypes', ()))} variants)")
        kube = " ".join(parts)
    soci = f"soci-snapshotter {row['sociVersion']}" if row.get("sociVersion") else "no soci-snapshotter"
    return f"{kube}; {soci}{'' if row.get('sociPackage') else ' (not in every variant)'}"


def bottlerocket_rows(git: Sequence[Mapping[str, Any]] | None = None, website: Sequence[Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Bottlerocket rows from the two readers, oldest first: the git-tag row where there is one (``bottlerocket_git``
    via ``catalogue_rows``), else the website's (``bottlerocket_source``). Where both cover a release, the
    website's package list joins the row's sources, and if the two disagree the row's ``unconfirmed`` says
    what the website lists (the git-tag facts are kept: they come from the release's own pin)."""
    out: dict[str, dict[str, Any]] = {r["release"]: dict(r) for r in website or ()}
    for g in git or ():
        row = {**g, "unconfirmed": list(g.get("unconfirmed", [])), "sources": dict(g.get("sources", {}))}
        w = out.get(g["release"])
        if w is not None:
            if "packages" in w.get("sources", {}):
                row["sources"]["website"] = w["sources"]["packages"]
            if _facts(w) != _facts(g):
                row["unconfirmed"].append(f"the bottlerocket-project-website lists {_claims(w)} for {g['release']}; "
                                          "the facts read at the release tag are kept")
        out[g["release"]] = row
    return [_ordered(out[v]) for v in sorted(out, key=parse_version)]


def _ordered(row: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("release", "abandoned", "manual", "kubernetes", "sociPackage", "sociVersion", "nodeadm", "unconfirmed", "sources")
    out = {k: row[k] for k in keys if k in row and not (k == "unconfirmed" and not row[k])}
    out.update({k: v for k, v in row.items() if k not in keys})
    return out


def _tags(repo: Path) -> list[str]:
    import subprocess

    r = subprocess.run(["git", "-C", str(repo), "tag", "--list"], capture_output=True, text=True, check=True)
    return r.stdout.split()


def add_row(os: OperatingSystem, release: str, containerd: str, *, soci_version: str | None = None, source: str,
            unconfirmed: Sequence[str] = ()) -> dict[str, Any]:
    """A manual row for a release the synced sources lack. ``containerd``: ``'1.30-1.36=2.2.4'`` groups or ``'?'``."""
    from datetime import datetime

    if os is OperatingSystem.AL2023:
        if not AL2023_RELEASE_RE.fullmatch(release):
            raise ValueError(f"{release!r}: AL2023 releases look like 'v20260714'")
        try:
            datetime.strptime(release[1:], "%Y%m%d")
        except ValueError:
            raise ValueError(f"{release!r}: not a date (vYYYYMMDD)") from None
        if soci_version is not None:
            raise ValueError("--soci-version is recorded for Bottlerocket only (the AL2023 package version is not published)")
    else:
        m = BOTTLEROCKET_RELEASE_RE.fullmatch(release)
        if not m:
            raise ValueError(f"{release!r}: Bottlerocket versions look like '1.58.0'")
        release = m.group(1)
        if soci_version is not None:
            parse_version(soci_version)
    if not source.startswith("https://"):
        raise ValueError("--source must be the https URL the facts come from (release notes, package list)")
    kubernetes = parse_ranges(containerd, os)
    row: dict[str, Any] = {"release": release, "manual": True, "kubernetes": kubernetes, "sociPackage": os is OperatingSystem.BOTTLEROCKET}
    if soci_version:
        row["sociVersion"] = soci_version
    notes = list(unconfirmed)
    if kubernetes is None and not notes:
        notes.append(NO_CHANGELOG)
    if os is OperatingSystem.AL2023:
        notes.append(NODEADM_UNREAD)
    row["unconfirmed"] = notes
    row["sources"] = {"manual": source}
    return _ordered(row)


def parse_ranges(spec: str, os: OperatingSystem) -> dict[str, Any] | None:
    """``"1.28-1.30=1.7.27 1.31-1.34=2.1.4"`` -> kubernetes rows; ``"?"`` -> None. Raises ValueError."""
    import re

    if spec.strip() == "?":
        return None
    out: dict[str, Any] = {}
    for item in spec.split():
        m = re.fullmatch(r"1\.([0-9]{2})(?:-1\.([0-9]{2}))?=([0-9]+\.[0-9]+\.[0-9]+)", item)
        if not m:
            raise ValueError(f"{item!r}: expected '1.<first>-1.<last>=<containerd>' or '1.<minor>=<containerd>', e.g. '1.30-1.36=2.2.4'")
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else first
        if last < first:
            raise ValueError(f"{item!r}: the range runs backwards")
        for minor in range(first, last + 1):
            k = f"1.{minor}"
            if k in out:
                raise ValueError(f"Kubernetes {k} is given twice (overlapping ranges)")
            row: dict[str, Any] = {"containerd": m.group(3)}
            if os is OperatingSystem.AL2023:
                row["amiTypes"] = ["AL2023_ARM_64_STANDARD", "AL2023_x86_64_NEURON", "AL2023_x86_64_NVIDIA", "AL2023_x86_64_STANDARD"]
            out[k] = row
    if not out:
        raise ValueError("no Kubernetes ranges given; use '?' when the containerd version is unconfirmed")
    return dict(sorted(out.items(), key=lambda kv: k8s_minor(kv[0])))


def dump(al2023: Sequence[Mapping[str, Any]], bottlerocket: Sequence[Mapping[str, Any]]) -> str:
    """The releases.json text: deterministic, oldest first, one line per fact (readable diffs)."""

    def compact(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, separators=(", ", ": "))

    def row(r: Mapping[str, Any]) -> str:
        lines = []
        for k, v in r.items():
            if isinstance(v, dict) and v and k in ("kubernetes", "sources", "nodeadm"):
                inner = ",\n".join(f"    {compact(kk)}: {compact(vv)}" for kk, vv in v.items())
                lines.append(f"   {compact(k)}: {{\n{inner}\n   }}")
            else:
                lines.append(f"   {compact(k)}: {compact(v)}")
        return "  {\n" + ",\n".join(lines) + "\n  }"

    parts = [f' "schema": {SCHEMA}', ' "generatedBy": "python -m tools.catalogue sync (do not edit by hand; judgements live in defects.toml)"']
    for os, rows in ((OperatingSystem.AL2023, al2023), (OperatingSystem.BOTTLEROCKET, bottlerocket)):
        ordered = sorted(rows, key=lambda r, os=os: release_key(os, r["release"]))
        parts.append(f' "{os.value}": [\n' + ",\n".join(row(r) for r in ordered) + "\n ]")
    text = "{\n" + ",\n".join(parts) + "\n}\n"
    json.loads(text)  # the writer's own check: always valid JSON
    return text


def sync(current: Mapping[str, Any], *, changelog: tuple[str, str] | None = None, eks_ami_repo: Path | None = None,
         bottlerocket: Sequence[Mapping[str, Any]] | None = None, since: str = FIRST) -> str:
    """New releases.json text from the current document and the given sources."""
    al = list(current.get(OperatingSystem.AL2023.value, []))
    br = list(current.get(OperatingSystem.BOTTLEROCKET.value, []))
    if changelog is None and eks_ami_repo is not None:
        changelog = changelog_from_repo(eks_ami_repo)
    if changelog is not None:
        text, url = changelog
        al = al2023_rows(parse_changelog(text), url, al, repo=eks_ami_repo, since=since)
    if bottlerocket is not None:
        old = {r["release"]: r for r in br}
        new = {r["release"]: dict(r) for r in bottlerocket}
        for release, row in old.items():
            if release not in new:
                new[release] = dict(row)
        br = [_ordered(r) for r in new.values()]
    return dump(al, br)
