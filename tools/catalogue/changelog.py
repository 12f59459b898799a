"""Parse the amazon-eks-ami ``CHANGELOG.md``: per AL2023 release, per Kubernetes version, which
AL2023 AMI types exist, their AMI names and the containerd each ships.

The CHANGELOG (https://github.com/awslabs/amazon-eks-ami/blob/main/CHANGELOG.md) has one section
per release, ``# AMI Release vYYYYMMDD`` (``# [ABANDONED] AMI Release ...`` for abandoned ones),
with an "AMI Details" part: for each Kubernetes version a ``<details>`` block whose
``<summary>`` names the version, holding an "AMI Names" table and one package table per OS family
(columns: AMI types such as ``AL2023_x86_64_STANDARD``; cells may span columns with ``colspan``;
``—`` means "not in this AMI type"). Its HTML is not always well formed (``<tr>`` left open), so
rows are delimited by ``<tr>`` starts, not by closing tags.

Pure: text in, dataclasses out; no network, no files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["ChangelogError", "ChangelogRelease", "KubernetesBuild", "parse_changelog", "upstream_version"]

_HEADING = re.compile(r"^# (\[ABANDONED\] )?AMI Release (v[0-9]{8})\s*$", re.M)
_DETAILS = re.compile(r"<details>(.*?)</details>", re.S)
_SUMMARY = re.compile(r"<summary>\s*(?:<b>)?\s*Kubernetes (1\.[0-9]+)\s*(?:</b>)?\s*</summary>", re.S)
_AL2023_TYPE = re.compile(r"AL2023_(x86_64|ARM_64)_(STANDARD|NVIDIA|NEURON)")
_AMI_NAME = re.compile(r"amazon-eks-node-al2023-(x86_64|arm64)-[a-z0-9-]+-(1\.[0-9]+)-(v[0-9]{8})")
_RPM = re.compile(r"([0-9]+\.[0-9]+\.[0-9]+)(?:[-~+].*)?")


class ChangelogError(ValueError):
    """The CHANGELOG text does not have the structure the parser relies on (names the release and what is off)."""


@dataclass(frozen=True)
class KubernetesBuild:
    """The AL2023 AMIs of one release for one Kubernetes version."""

    kubernetes: str
    containerd: dict[str, str]
    """AL2023 AMI type (``AL2023_x86_64_STANDARD``) -> containerd upstream version (``2.2.4``)."""
    ami_names: dict[str, str] = field(default_factory=dict)
    """AL2023 AMI type -> AMI name (``amazon-eks-node-al2023-x86_64-standard-1.33-v20260714``)."""


@dataclass(frozen=True)
class ChangelogRelease:
    release: str
    abandoned: bool
    kubernetes: dict[str, KubernetesBuild]
    """Kubernetes minor version -> its AL2023 build; empty when the release had no AL2023 AMIs."""


def upstream_version(rpm: str) -> str:
    """``2.2.4-1.amzn2023.0.3`` -> ``2.2.4``; raises ChangelogError for anything else."""
    m = _RPM.fullmatch(rpm.strip())
    if not m:
        raise ChangelogError(f"{rpm!r} is not a package version such as '2.2.4-1.amzn2023.0.3'")
    return m.group(1)


class _Tables(HTMLParser):
    """Collects every table as rows of (text, colspan) cells; a ``<tr>`` start opens a new row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[tuple[str, int]]]] = []
        self._cell: list[str] | None = None
        self._span = 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self._close_cell()
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables and self.tables[-1]:
            self._close_cell()
            self._cell = []
            span = dict(attrs).get("colspan") or "1"
            if not span.isdigit() or int(span) < 1:
                raise ChangelogError(f"colspan={span!r} is not a positive integer")
            self._span = int(span)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th", "tr", "table"):
            self._close_cell()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def _close_cell(self) -> None:
        if self._cell is not None:
            self.tables[-1][-1].append(("".join(self._cell).strip(), self._span))
            self._cell = None
            self._span = 1


def _tables(html: str) -> list[list[list[tuple[str, int]]]]:
    p = _Tables()
    p.feed(html)
    p.close()
    return p.tables


def _package_table(release: str, k8s: str, table: list[list[tuple[str, int]]]) -> dict[str, str] | None:
    """AL2023 package table -> {AMI type: containerd}; None for a table of another OS family."""
    header = [text for text, _ in table[0]] if table else []
    if not header or header[0] != "Package":
        return None
    types = header[1:]
    if not any(_AL2023_TYPE.fullmatch(t) for t in types):
        return None
    where = f"release {release}, Kubernetes {k8s}"
    for t in types:
        if not _AL2023_TYPE.fullmatch(t):
            raise ChangelogError(f"{where}: unknown AMI type column {t!r} in an AL2023 package table")
    for row in table[1:]:
        if not row or row[0][0] != "containerd":
            continue
        values: list[str] = []
        for text, span in row[1:]:
            values += [text] * span
        if len(values) != len(types):
            raise ChangelogError(f"{where}: the containerd row covers {len(values)} AMI types, the table has {len(types)} ({', '.join(types)})")
        out = {}
        for t, v in zip(types, values, strict=True):
            if v in ("—", "-", ""):
                continue
            try:
                out[t] = upstream_version(v)
            except ChangelogError as e:
                raise ChangelogError(f"{where}, {t}: {e}") from None
        if not out:
            raise ChangelogError(f"{where}: the containerd row names no version")
        return out
    raise ChangelogError(f"{where}: the AL2023 package table has no containerd row")


def _ami_type(name: str) -> str | None:
    m = _AMI_NAME.fullmatch(name)
    if not m:
        return None
    arch = "x86_64" if m.group(1) == "x86_64" else "ARM_64"
    rest = name[len(f"amazon-eks-node-al2023-{m.group(1)}-") :]
    variant = rest.split("-", 1)[0].upper()
    return f"AL2023_{arch}_{variant}" if variant in ("STANDARD", "NVIDIA", "NEURON") else None


def _build(release: str, k8s: str, block: str) -> KubernetesBuild | None:
    tables = _tables(block)
    containerd: dict[str, str] | None = None
    names: dict[str, str] = {}
    for table in tables:
        found = _package_table(release, k8s, table)
        if found is not None:
            if containerd is not None:
                raise ChangelogError(f"release {release}, Kubernetes {k8s}: two AL2023 package tables")
            containerd = found
        elif table and table[0] and table[0][0][0] == "AMI Names":
            for row in table[1:]:
                if not row:
                    continue
                name = row[0][0]
                kind = _ami_type(name)
                if kind is None:
                    continue
                m = _AMI_NAME.fullmatch(name)
                assert m is not None
                if m.group(2) != k8s or m.group(3) != release:
                    raise ChangelogError(f"release {release}, Kubernetes {k8s}: AMI name {name!r} is for Kubernetes {m.group(2)} / {m.group(3)}")
                names[kind] = name
    if containerd is None:
        if names:
            raise ChangelogError(f"release {release}, Kubernetes {k8s}: AL2023 AMI names but no AL2023 package table")
        return None
    missing = sorted(set(containerd) - set(names))
    if names and missing:
        raise ChangelogError(f"release {release}, Kubernetes {k8s}: containerd listed for {', '.join(missing)} but no AMI name")
    return KubernetesBuild(kubernetes=k8s, containerd=containerd, ami_names=names)


def parse_changelog(text: str) -> list[ChangelogRelease]:
    """Every release section of the CHANGELOG, newest first (as the file lists them)."""
    heads = list(_HEADING.finditer(text))
    if not heads:
        raise ChangelogError("no '# AMI Release vYYYYMMDD' headings: is this the amazon-eks-ami CHANGELOG.md?")
    out: list[ChangelogRelease] = []
    seen: set[str] = set()
    for i, h in enumerate(heads):
        release = h.group(2)
        if release in seen:
            raise ChangelogError(f"release {release} has two sections")
        seen.add(release)
        body = text[h.end() : heads[i + 1].start() if i + 1 < len(heads) else len(text)]
        builds: dict[str, KubernetesBuild] = {}
        for d in _DETAILS.finditer(body):
            s = _SUMMARY.search(d.group(1))
            if not s:
                continue
            k8s = s.group(1)
            if k8s in builds:
                raise ChangelogError(f"release {release}: Kubernetes {k8s} has two detail blocks")
            b = _build(release, k8s, d.group(1)[s.end() :])
            if b is not None:
                builds[k8s] = b
        out.append(ChangelogRelease(release=release, abandoned=bool(h.group(1)), kubernetes=dict(sorted(builds.items(), key=lambda kv: int(kv[0].split(".")[1])))))
    return out
