"""The per-node-group report: what the nodes run (``render``'s ``profile.json``, the stack outputs). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .ami.profile import NodeProfile
from .spec import AmiPackage, NodeSpec, OperatingSystem, UpstreamRelease

if TYPE_CHECKING:
    from .render.plan import BlockDevice

AMI_SOCI_VERSION_UNPUBLISHED = ("version of the AMI's soci-snapshotter package is not published (the amazon-eks-ami CHANGELOG's "
                                "'AMI Details' tables have no soci-snapshotter row)")


def pause_import(spec: NodeSpec, p: NodeProfile) -> str | None:
    """Who imports the pause image into SOCI before the kubelet starts: ``boot-script``, ``nodeadm`` or nobody (None: not needed)."""
    if not p.pause_through_soci:
        return None
    return "nodeadm" if spec.uses_fast_image_pull else "boot-script"


def report(spec: NodeSpec, p: NodeProfile, devices: Sequence[BlockDevice]) -> dict[str, Any]:
    source = spec.soci_source
    unconfirmed = list(p.unconfirmed)
    if p.os is OperatingSystem.AL2023 and isinstance(source, AmiPackage) and p.release is not None:
        unconfirmed.append(AMI_SOCI_VERSION_UNPUBLISHED)
    al = spec.os is OperatingSystem.AL2023
    return {
        "nodeGroup": spec.name,
        "os": p.os.value,
        "amiRelease": p.release,
        "amiId": p.ami_id,
        "ssmParameter": p.ssm_parameter,
        "variant": p.variant.value,
        "kubernetesVersion": p.kubernetes_version,
        "arch": p.arch.value,
        "containerdVersion": p.containerd,
        "containerdConfigSchema": p.schema_version if al else None,
        "pullMode": spec.pull_mode.value,
        "nodeadmFeatureGate": p.feature_gate if spec.uses_fast_image_pull else None,
        "credentialSources": [c.kind.value for c in spec.creds],
        "soci": {
            "source": "ami-package" if isinstance(source, AmiPackage) else "release",
            "version": source.version if isinstance(source, UpstreamRelease) else p.soci_version,
            "root": spec.tuning.root if al else "/var/lib/soci-snapshotter",
            "contentStore": spec.content_store.value if al else None,
        },
        "pauseImageImportedIntoSociBy": pause_import(spec, p),
        "blockDevices": [
            {"device": d.device, "sizeGiB": d.size_gib, "iops": d.iops, "throughputMiBps": d.throughput_mibps, "purpose": d.purpose} for d in devices
        ],
        "unconfirmed": unconfirmed,
        "notes": list(p.notes),
        "labels": spec.node_labels,
        "taints": [t.flag for t in spec.taints],
        "sources": dict(p.sources),
    }
