"""Facts about an AL2023 release that live in the amazon-eks-ami source at the release's tag.

Read from a git clone of https://github.com/awslabs/amazon-eks-ami (``git show <tag>:<path>``), so
each fact is what the release's own nodeadm and AMI build do, not what a note says:

- ``featureGate``: the gate nodeadm's ``UseSOCISnapshotter`` tests
  (``nodeadm/internal/containerd/config.go``), spelled as ``nodeadm/internal/api/types.go`` defines it
  (``AggressiveImagePull`` in v20250813/v20250819, ``FastImagePull`` from v20250821); None when the
  release's nodeadm has no SOCI support. nodeadm ignores gates it does not know, without a message.
- ``sizeFloor``: the online memory (GiB) and CPU (millicores) below which nodeadm leaves SOCI off even
  with the gate (same function).
- ``pauseImport``: nodeadm imports the pause image into SOCI before the kubelet starts
  (``nodeadm/internal/containerd/sandbox_image.go``, amazon-eks-ami#2717).
- ``sociPackage``: the AMI build installs the ``soci-snapshotter`` package
  (``templates/al2023/provisioners/install-worker.sh``).
- ``sociOnInstanceStore``: ``setup-local-disks`` bind-mounts SOCI's root onto the instance-store RAID
  (amazon-eks-ami#2548).
- ``configTemplates``, ``sandboxImage``, ``enableCdiFrom``, ``runtimes``: what nodeadm fills its base
  containerd config template with, checked against the package's renderer (``nodeadm_containerd``).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .nodeadm_containerd import TemplateError, containerd_facts

__all__ = ["EksAmiSourceError", "NodeadmFacts", "nodeadm_facts", "repo_url", "tag_commit"]

REPO_URL = "https://github.com/awslabs/amazon-eks-ami"

CONFIG_GO = "nodeadm/internal/containerd/config.go"
TYPES_GO = "nodeadm/internal/api/types.go"
SANDBOX_GO = "nodeadm/internal/containerd/sandbox_image.go"
INSTALL_WORKER = "templates/al2023/provisioners/install-worker.sh"
SETUP_LOCAL_DISKS = ("templates/al2023/runtime/bin/setup-local-disks", "templates/shared/runtime/bin/setup-local-disks")

_USE_SOCI = re.compile(r"func UseSOCISnapshotter\([^)]*\)[^{]*\{(.*?)\n\}", re.S)
_GATE_USE = re.compile(r"IsFeatureEnabled\(api\.(\w+)\s*,")
_MEMORY = re.compile(r"totalMemory\s*>=\s*([0-9]+)\s*\*\s*gibibyte")
_CPU = re.compile(r"totalCPUMillicores\s*>=\s*([0-9]+)")
_SOCI_INSTALL = re.compile(r"dnf install [^\n]*soci-snapshotter")


class EksAmiSourceError(ValueError):
    """The source at a tag does not have the shape the reader relies on (names tag and file)."""


@dataclass(frozen=True)
class NodeadmFacts:
    release: str
    commit: str
    feature_gate: str | None
    size_floor: tuple[int, int] | None
    """(millicores, GiB of online memory) nodeadm requires for SOCI with the gate."""
    pause_import: bool
    soci_package: bool
    soci_on_instance_store: bool
    sources: dict[str, str]
    """fact -> URL of the file at the tag's commit."""
    containerd: Mapping[str, Any] = field(default_factory=dict)
    """The catalogue's nodeadm keys for the base containerd config (:func:`nodeadm_containerd.containerd_facts`)."""


def repo_url(commit: str, path: str) -> str:
    return f"{REPO_URL}/blob/{commit}/{path}"


def _git(repo: Path, *args: str) -> str | None:
    r = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    return r.stdout if r.returncode == 0 else None


def tag_commit(repo: Path, tag: str) -> str | None:
    out = _git(repo, "rev-list", "-n", "1", f"refs/tags/{tag}")
    return out.strip() if out else None


def _show(repo: Path, commit: str, path: str) -> str | None:
    return _git(repo, "show", f"{commit}:{path}")


def nodeadm_facts(repo: Path, release: str, *, check_renderer: bool = True) -> NodeadmFacts | None:
    """The facts at tag ``release``; None when the clone has no such tag. ``check_renderer``: check the tag's
    containerd config templates against the package's renderer (:func:`nodeadm_containerd.check_renderer`)."""
    commit = tag_commit(repo, release)
    if commit is None:
        return None
    sources: dict[str, str] = {}
    gate: str | None = None
    floor: tuple[int, int] | None = None
    config = _show(repo, commit, CONFIG_GO)
    if config is None:
        raise EksAmiSourceError(f"{release}: no {CONFIG_GO} at {commit}")
    body = _USE_SOCI.search(config)
    if body is not None:
        uses = _GATE_USE.findall(body.group(1))
        memory, cpu = _MEMORY.findall(body.group(1)), _CPU.findall(body.group(1))
        if len(uses) != 1 or len(memory) != 1 or len(cpu) != 1:
            raise EksAmiSourceError(f"{release}: UseSOCISnapshotter in {CONFIG_GO} does not test exactly one gate, one memory and one CPU floor "
                                    f"(gates {uses}, memory {memory}, cpu {cpu}); read it and extend the reader")
        types = _show(repo, commit, TYPES_GO) or ""
        m = re.search(rf"\b{re.escape(uses[0])}\s+Feature\s*=\s*\"(\w+)\"", types)
        if not m:
            raise EksAmiSourceError(f"{release}: {TYPES_GO} does not define the Feature constant {uses[0]}")
        gate = m.group(1)
        floor = (int(cpu[0]), int(memory[0]))
        sources["featureGate"] = repo_url(commit, TYPES_GO)
        sources["sizeFloor"] = repo_url(commit, CONFIG_GO)
    sandbox = _show(repo, commit, SANDBOX_GO) or ""
    pause = '"--snapshotter", "soci"' in sandbox
    if pause:
        sources["pauseImport"] = repo_url(commit, SANDBOX_GO)
    worker = _show(repo, commit, INSTALL_WORKER)
    if worker is None:
        raise EksAmiSourceError(f"{release}: no {INSTALL_WORKER} at {commit}")
    package = _SOCI_INSTALL.search(worker) is not None
    sources["sociPackage"] = repo_url(commit, INSTALL_WORKER)
    raid = False
    for path in SETUP_LOCAL_DISKS:
        text = _show(repo, commit, path)
        if text is not None:
            raid = "soci" in text.lower()
            sources["sociOnInstanceStore"] = repo_url(commit, path)
            break
    try:
        containerd, more = containerd_facts(lambda path: _show(repo, commit, path), release, lambda path: repo_url(commit, path), check=check_renderer)
    except TemplateError as e:
        raise EksAmiSourceError(str(e)) from None
    return NodeadmFacts(release=release, commit=commit, feature_gate=gate, size_floor=floor, pause_import=pause, soci_package=package,
                        soci_on_instance_store=raid, sources={**sources, **more}, containerd=containerd)
