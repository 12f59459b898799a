"""soci-eks: EKS node groups whose containerd uses the SOCI snapshotter from first boot.

Public API. The Pulumi components are imported lazily (importing pulumi and the AWS SDK takes ~2 s),
so ``python -m soci_component render`` and the pure modules stay fast::

    from soci_component import SociCluster, SociClusterArgs, SociNodeGroup, SociNodeGroupArgs, ClusterAttachment
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .ami import NodeProfile
from .config import load_stack_file, parse
from .errors import SpecError
from .render.types import ClusterInfo, Secrets
from .spec import (
    AmiPackage,
    AmiPin,
    Arch,
    CapacityType,
    ClusterSpec,
    ContentStore,
    CriProxy,
    Decompressor,
    DemoSpec,
    Disk,
    EcrCredentialHelper,
    KubernetesSecrets,
    LocalStorage,
    NatGateways,
    NodeGroupSpec,
    OperatingSystem,
    ParallelTuning,
    PullMode,
    RegistryMirror,
    Scaling,
    SociTuning,
    StackSpec,
    StaticCredentials,
    Taint,
    TaintEffect,
    UpstreamRelease,
    Variant,
    VpcSpec,
)

if TYPE_CHECKING:
    from .components.attachment import AwsEnvironment, ClusterAttachment
    from .components.cluster import SociCluster, SociClusterArgs
    from .components.errors import ComponentError
    from .components.node_group import SociNodeGroup, SociNodeGroupArgs

_LAZY = {
    "SociCluster": "components.cluster",
    "SociClusterArgs": "components.cluster",
    "SociNodeGroup": "components.node_group",
    "SociNodeGroupArgs": "components.node_group",
    "ClusterAttachment": "components.attachment",
    "AwsEnvironment": "components.attachment",
    "ComponentError": "components.errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AmiPackage",
    "AmiPin",
    "Arch",
    "AwsEnvironment",
    "CapacityType",
    "ClusterAttachment",
    "ClusterInfo",
    "ClusterSpec",
    "ComponentError",
    "ContentStore",
    "CriProxy",
    "Decompressor",
    "DemoSpec",
    "Disk",
    "EcrCredentialHelper",
    "KubernetesSecrets",
    "LocalStorage",
    "NatGateways",
    "NodeGroupSpec",
    "NodeProfile",
    "OperatingSystem",
    "ParallelTuning",
    "PullMode",
    "RegistryMirror",
    "Scaling",
    "Secrets",
    "SociCluster",
    "SociClusterArgs",
    "SociNodeGroup",
    "SociNodeGroupArgs",
    "SociTuning",
    "SpecError",
    "StackSpec",
    "StaticCredentials",
    "Taint",
    "TaintEffect",
    "UpstreamRelease",
    "Variant",
    "VpcSpec",
    "load_stack_file",
    "parse",
]
