"""The typed report of ``verify``: per node group / pool, per node, per container. Pure values.

A check is ✓ (pass), ✗ (fail), ! (warn: works, but not as well as it could) or · (info: not applicable, or
not observable through the API with this configuration). A group passes when nothing in it failed; the
report passes when every group checked passes and nothing stopped verify from looking (e.g. RBAC).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    INFO = "info"

    @property
    def mark(self) -> str:
        return {"pass": "✓", "fail": "✗", "warn": "!", "info": "·"}[self.value]


@dataclass(frozen=True)
class Check:
    """One fact checked against what the stack promises."""

    id: str
    """Stable identifier (``ready``, ``labels``, ``containerd``, ``kubelet``, ``os``, ``kubelet-proxy``, ``image-service``,
    ``image-gc``, ``image-fs``, ``soci-metrics``; group level: ``nodes``)."""
    status: Status
    evidence: str
    """What was observed, with the values."""
    fix: str = ""
    """What to do (failures and warnings)."""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status.value, "evidence": self.evidence, **({"fix": self.fix} if self.fix else {})}


class Loading(StrEnum):
    """How a container's image reached the node, as far as the API shows it."""

    LAZY = "lazy"
    """SOCI has the image's indexed layers mounted (FUSE): loaded lazily."""
    NOT_LAZY = "not-lazy"
    """The image is indexed for this node, yet SOCI mounted none of its layers: pulled whole (a failure on a lazy node)."""
    WHOLE = "pulled-whole"
    """The image has no usable SOCI index (or every indexed layer is below ``minLayerSize``): pulled whole by design."""
    PARALLEL = "parallel"
    """A ``parallel`` node: images are pulled whole, in parallel, by design."""
    UNKNOWN = "unknown"
    """Not observable: SOCI's metrics are off (``tuning.metricsAddress``), or the registry could not be read."""


@dataclass(frozen=True)
class ContainerEvidence:
    """One container of a pod on a SOCI node, and the evidence of how its image was loaded."""

    pod: str
    """``namespace/name``."""
    container: str
    image: str
    loading: Loading
    status: Status
    evidence: str
    fix: str = ""
    pull_seconds: float | None = None
    """From the kubelet's ``Pulled`` event (events live about an hour)."""
    image_bytes: int | None = None
    """The image size the kubelet's event reports."""
    lazy_layers: int | None = None
    """Layers SOCI has mounted lazily for this image (from SOCI's metrics)."""
    indexed_layers: int | None = None
    """Layers of the image SOCI would mount lazily on this node (zTOC and at least ``minLayerSize``)."""
    fetched_bytes: int | None = None
    """Bytes SOCI fetched so far for the mounted layers (SOCI's metrics)."""
    layer_bytes: int | None = None
    """Compressed size of the mounted layers."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pod": self.pod, "container": self.container, "image": self.image, "loading": self.loading.value,
                               "status": self.status.value, "evidence": self.evidence}
        for k, v in (("fix", self.fix), ("pullSeconds", self.pull_seconds), ("imageBytes", self.image_bytes), ("lazyLayers", self.lazy_layers),
                     ("indexedLayers", self.indexed_layers), ("fetchedBytes", self.fetched_bytes), ("layerBytes", self.layer_bytes)):
            if v not in (None, ""):
                out[k] = v
        return out


def worst(statuses: list[Status]) -> Status:
    for s in (Status.FAIL, Status.WARN, Status.PASS):
        if s in statuses:
            return s
    return Status.INFO


@dataclass(frozen=True)
class NodeResult:
    name: str
    matched_by: str
    """How the node was found to belong to its group (``karpenter.sh/nodepool=x``, ``eks.amazonaws.com/nodegroup=...``, ``labels``)."""
    checks: tuple[Check, ...]
    containers: tuple[ContainerEvidence, ...] = ()

    @property
    def status(self) -> Status:
        return worst([c.status for c in self.checks] + [c.status for c in self.containers])

    def check(self, check_id: str) -> Check:
        """The check ``check_id`` (KeyError if it did not run)."""
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status.value, "matchedBy": self.matched_by, "checks": [c.to_json() for c in self.checks],
                "containers": [c.to_json() for c in self.containers]}


@dataclass(frozen=True)
class GroupResult:
    """One node group or Karpenter pool of the stack."""

    name: str
    kind: str
    """``nodeGroup`` or ``nodePool``."""
    summary: str
    """What the stack pins (OS, release, containerd, Kubernetes, pull mode)."""
    checks: tuple[Check, ...]
    nodes: tuple[NodeResult, ...] = ()
    checked: bool = True
    """False when ``--node`` left this group out."""

    @property
    def key(self) -> str:
        return f"{self.kind}s.{self.name}"

    @property
    def status(self) -> Status:
        if not self.checked:
            return Status.INFO
        return worst([c.status for c in self.checks] + [n.status for n in self.nodes])

    @property
    def passed(self) -> bool:
        return self.status is not Status.FAIL

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "key": self.key, "summary": self.summary, "checked": self.checked, "status": self.status.value,
                "passed": self.passed, "checks": [c.to_json() for c in self.checks], "nodes": [n.to_json() for n in self.nodes]}


@dataclass(frozen=True)
class VerifyReport:
    server: str
    context: str
    groups: tuple[GroupResult, ...]
    problems: tuple[str, ...] = ()
    """What kept verify from looking everywhere (missing RBAC permissions), each with what to do."""
    other_soci_nodes: tuple[str, ...] = field(default=())
    """Nodes labelled ``soci.snapshotter/enabled=true`` that belong to no group or pool of the stack."""

    @property
    def passed(self) -> bool:
        return not self.problems and all(g.passed for g in self.groups)

    def group(self, name: str) -> GroupResult:
        for g in self.groups:
            if g.name == name or g.key == name:
                return g
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {"server": self.server, "context": self.context, "passed": self.passed, "problems": list(self.problems),
                "groups": [g.to_json() for g in self.groups], "otherSociNodes": list(self.other_soci_nodes)}


__all__ = ["Check", "ContainerEvidence", "GroupResult", "Loading", "NodeResult", "Status", "VerifyReport", "worst"]
