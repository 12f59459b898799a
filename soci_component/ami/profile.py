"""``NodeProfile``: what a node group's pinned AMI is and ships (the result of ``ami.resolve``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..spec import Arch, OperatingSystem, Variant, Version, version_text
from .catalogue import SizeFloor
from .nodeadm import NodeadmContainerd

PAUSE_THROUGH_SOCI = (2, 2, 3)
"""From containerd 2.2.3 the pause image's unpack goes through the CRI's snapshotter, i.e. SOCI
(amazon-eks-ami#2710): the image must be in SOCI's store before the kubelet creates a sandbox."""


@dataclass(frozen=True)
class NodeProfile:
    """The pinned AMI as plain facts: the catalogue row for the spec's release, Kubernetes version,
    architecture and variant (or the stated facts of a raw AMI ID)."""

    os: OperatingSystem
    kubernetes_version: str
    arch: Arch
    containerd_version: Version
    release: str | None
    """Catalogue release, or None for a raw AMI ID."""
    variant: Variant = Variant.STANDARD
    ami_type: str | None = None
    """AL2023 AMI type (``AL2023_x86_64_STANDARD``) or Bottlerocket variant (``aws-k8s-1.33``)."""
    ssm_parameter: str | None = None
    """Release-pinned SSM parameter holding the AMI ID; set for every release, None only for a raw AMI ID."""
    ami_id: str | None = None
    soci_package: bool = False
    """The image ships ``soci-snapshotter``."""
    soci_version: str | None = None
    feature_gate: str | None = None
    """nodeadm's parallel-pull gate in this release (``AggressiveImagePull``/``FastImagePull``), None: none."""
    size_floor: SizeFloor | None = None
    """nodeadm's CPU/memory minimum for SOCI under its gate."""
    pause_import: bool = False
    """nodeadm imports the pause image into SOCI itself (under its gate)."""
    soci_on_instance_store: bool = False
    containerd_config: NodeadmContainerd | None = None
    """AL2023: what nodeadm fills its containerd config template with: the release's own, or for a raw AMI
    or a release whose nodeadm was not read, the newest catalogued release's (``containerd_config.release``)."""
    nodeadm_known: bool = True
    refused: str | None = None
    abandoned: bool = False
    notes: tuple[str, ...] = ()
    unconfirmed: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def containerd_major(self) -> int:
        return self.containerd_version[0]

    @property
    def containerd(self) -> str:
        return version_text(self.containerd_version)

    @property
    def schema_version(self) -> int:
        """The containerd config schema the node's containerd reads natively: 2 for 1.x, 3 for 2.x."""
        return 3 if self.containerd_major >= 2 else 2

    @property
    def pause_through_soci(self) -> bool:
        """containerd routes the pause unpack through SOCI (AL2023, containerd >= 2.2.3)."""
        return self.os is OperatingSystem.AL2023 and self.containerd_version >= PAUSE_THROUGH_SOCI

    @property
    def karpenter_alias(self) -> str | None:
        """Karpenter's pinned AMI alias (``al2023@v20260714``, ``bottlerocket@v1.57.0``); never ``@latest``."""
        if self.release is None:
            return None
        return f"al2023@{self.release}" if self.os is OperatingSystem.AL2023 else f"bottlerocket@v{self.release}"
