"""soci-eks: EKS node groups whose containerd uses the SOCI snapshotter from first boot.

Public API. The Pulumi components are imported lazily (importing pulumi and the AWS SDK takes ~2 s),
so ``python -m soci_component render`` and the pure modules stay fast::

    from soci_component import SociCluster, SociClusterArgs, SociNodeGroup, SociNodeGroupArgs, ClusterAttachment
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import ClusterSettings, ConfigError, DemoSettings, StackConfig, VpcSettings, load_stack_file, parse
from .spec import (
    AmiPackage,
    AmiPin,
    Arch,
    CapacityType,
    ClusterInfo,
    ContentStore,
    CriProxy,
    Disk,
    EcrCredentialHelper,
    KubernetesSecrets,
    LocalStorage,
    NodeGroupSpec,
    NodeProfile,
    OperatingSystem,
    ParallelTuning,
    PullMode,
    RegistryMirror,
    Scaling,
    Secrets,
    SociTuning,
    SpecError,
    StaticCredentials,
    Taint,
    TaintEffect,
    UpstreamRelease,
)

if TYPE_CHECKING:
    from .cluster import SociCluster, SociClusterArgs
    from .node_group import ClusterAttachment, NodeGroupError, SociNodeGroup, SociNodeGroupArgs

_LAZY = {
    "SociCluster": "cluster",
    "SociClusterArgs": "cluster",
    "SociNodeGroup": "node_group",
    "SociNodeGroupArgs": "node_group",
    "ClusterAttachment": "node_group",
    "NodeGroupError": "node_group",
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
    "CapacityType",
    "ClusterAttachment",
    "ClusterInfo",
    "ClusterSettings",
    "ConfigError",
    "ContentStore",
    "CriProxy",
    "DemoSettings",
    "Disk",
    "EcrCredentialHelper",
    "KubernetesSecrets",
    "LocalStorage",
    "NodeGroupError",
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
    "StackConfig",
    "StaticCredentials",
    "Taint",
    "TaintEffect",
    "UpstreamRelease",
    "VpcSettings",
    "load_stack_file",
    "parse",
]
