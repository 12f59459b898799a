"""``NodeReport``: what a node group's or pool's nodes run, as a typed value.

It is the ``report.json`` of the offline ``render`` (plus what ``render`` adds: sizes, files, warnings),
the ``report`` output of every node component and the source of the stack outputs. Not to be confused
with :class:`~soci_component.ami.NodeProfile`, the facts of the pinned AMI the report is partly made of.

Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..ami.profile import NodeProfile
from ..spec import AmiPackage, NodeSpec, OperatingSystem, UpstreamRelease
from .types import BlockDevice

__all__ = ["AMI_SOCI_VERSION_UNPUBLISHED", "NodeReport", "SociReport", "pause_import", "report"]

AMI_SOCI_VERSION_UNPUBLISHED = ("version of the AMI's soci-snapshotter package is not published (the amazon-eks-ami CHANGELOG's "
                                "'AMI Details' tables have no soci-snapshotter row)")


@dataclass(frozen=True)
class SociReport:
    """The SOCI a node runs."""

    source: str
    """``ami-package`` or ``release``."""
    version: str | None
    """The pinned release's version, Bottlerocket's package version, or None (the AL2023 package's is not published)."""
    root: str
    """SOCI's root directory (exported to containerd)."""
    content_store: str | None
    """``soci`` or ``containerd`` (AL2023); None on Bottlerocket (not configurable)."""


@dataclass(frozen=True)
class NodeReport:
    """What every node of one node group or pool runs (known before deployment)."""

    name: str
    """The node group's or pool's name."""
    os: str
    """``al2023`` or ``bottlerocket``."""
    ami_release: str | None
    """Catalogued release, or None for a raw AMI ID."""
    ami_id: str | None
    """The raw AMI ID, or None for a catalogued release (resolved from ``ssm_parameter``)."""
    ssm_parameter: str | None
    """The release-pinned public SSM parameter the AMI ID is read from."""
    variant: str
    """AMI variant: ``standard``, ``nvidia`` or ``neuron``."""
    kubernetes_version: str
    """Kubernetes minor version of the nodes."""
    arch: str
    """``x86_64`` or ``arm64``."""
    containerd_version: str
    """containerd the AMI ships."""
    containerd_config_schema: int | None
    """2 (containerd 1.x) or 3 (2.x) on AL2023; None on Bottlerocket (it writes containerd's config itself)."""
    pull_mode: str
    """``lazy``, ``parallel`` or ``lazy-with-parallel-fallback``."""
    nodeadm_feature_gate: str | None
    """nodeadm's parallel-pull gate when it wires SOCI (AL2023 ``parallel`` with the AMI's SOCI)."""
    credential_sources: tuple[str, ...]
    """SOCI's credential sources, in the order SOCI tries them."""
    soci: SociReport
    """The SOCI the nodes run."""
    pause_image_imported_into_soci_by: str | None
    """``boot-script``, ``nodeadm``, or None (containerd < 2.2.3 needs no import)."""
    block_devices: tuple[BlockDevice, ...]
    """The EBS volumes of each node."""
    unconfirmed: tuple[str, ...]
    """Facts of the pin the sources did not settle."""
    notes: tuple[str, ...]
    """Caveats of the pinned release (catalogue)."""
    labels: Mapping[str, str]
    """Node labels, the SOCI labels included."""
    taints: tuple[str, ...]
    """``key=value:Effect`` as the kubelet takes them."""
    sources: Mapping[str, str] = field(default_factory=dict)
    """Upstream URLs of the catalogue facts."""

    def to_json(self) -> dict[str, Any]:
        """The report as JSON data, keys as in ``report.json`` and the stack outputs."""
        return {
            "nodeGroup": self.name,
            "os": self.os,
            "amiRelease": self.ami_release,
            "amiId": self.ami_id,
            "ssmParameter": self.ssm_parameter,
            "variant": self.variant,
            "kubernetesVersion": self.kubernetes_version,
            "arch": self.arch,
            "containerdVersion": self.containerd_version,
            "containerdConfigSchema": self.containerd_config_schema,
            "pullMode": self.pull_mode,
            "nodeadmFeatureGate": self.nodeadm_feature_gate,
            "credentialSources": list(self.credential_sources),
            "soci": {"source": self.soci.source, "version": self.soci.version, "root": self.soci.root, "contentStore": self.soci.content_store},
            "pauseImageImportedIntoSociBy": self.pause_image_imported_into_soci_by,
            "blockDevices": [
                {"device": d.device, "sizeGiB": d.size_gib, "iops": d.iops, "throughputMiBps": d.throughput_mibps, "purpose": d.purpose}
                for d in self.block_devices
            ],
            "unconfirmed": list(self.unconfirmed),
            "notes": list(self.notes),
            "labels": dict(self.labels),
            "taints": list(self.taints),
            "sources": dict(self.sources),
        }


def pause_import(spec: NodeSpec, p: NodeProfile) -> str | None:
    """Who imports the pause image into SOCI before the kubelet starts: ``boot-script``, ``nodeadm`` or nobody (None: not needed)."""
    if not p.pause_through_soci:
        return None
    return "nodeadm" if spec.uses_fast_image_pull else "boot-script"


def report(spec: NodeSpec, p: NodeProfile, devices: Sequence[BlockDevice]) -> NodeReport:
    """The report of a node group or pool whose AMI is ``p``."""
    source = spec.soci_source
    unconfirmed = list(p.unconfirmed)
    if p.os is OperatingSystem.AL2023 and isinstance(source, AmiPackage) and p.release is not None:
        unconfirmed.append(AMI_SOCI_VERSION_UNPUBLISHED)
    al = spec.os is OperatingSystem.AL2023
    return NodeReport(
        name=spec.name,
        os=p.os.value,
        ami_release=p.release,
        ami_id=p.ami_id,
        ssm_parameter=p.ssm_parameter,
        variant=p.variant.value,
        kubernetes_version=p.kubernetes_version,
        arch=p.arch.value,
        containerd_version=p.containerd,
        containerd_config_schema=p.schema_version if al else None,
        pull_mode=spec.pull_mode.value,
        nodeadm_feature_gate=p.feature_gate if spec.uses_fast_image_pull else None,
        credential_sources=tuple(c.kind.value for c in spec.creds),
        soci=SociReport(
            source="ami-package" if isinstance(source, AmiPackage) else "release",
            version=source.version if isinstance(source, UpstreamRelease) else p.soci_version,
            root=spec.tuning.root if al else "/var/lib/soci-snapshotter",
            content_store=spec.content_store.value if al else None,
        ),
        pause_image_imported_into_soci_by=pause_import(spec, p),
        block_devices=tuple(devices),
        unconfirmed=tuple(unconfirmed),
        notes=tuple(p.notes),
        labels=spec.node_labels,
        taints=tuple(t.flag for t in spec.taints),
        sources=dict(p.sources),
    )
