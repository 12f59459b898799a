"""The renderer's value types: what a node ends up with (files, block devices, who writes each file), and the
values known only after deploy (the cluster a node joins, where its boot secrets live). Not user inputs (those
are :mod:`soci_component.spec`). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["BlockDevice", "ClusterInfo", "NodeFile", "Secrets", "Writer"]


class Writer(StrEnum):
    """Who puts a file on the node."""

    BOOT_SCRIPT = "boot-script"
    NODEADM = "nodeadm"
    """nodeadm writes it from our NodeConfig (the file shown is what it will contain)."""
    SOCI_UNIT = "soci-snapshotter.service"
    """Our drop-in for SOCI's unit copies it into place before every SOCI start (nodeadm's
    parallel-pull gate overwrites the file in every config phase; the boot script runs once)."""


@dataclass(frozen=True)
class NodeFile:
    """A file the node ends up with because of our bootstrap."""

    path: str
    content: str
    mode: int = 0o644
    writer: Writer = Writer.BOOT_SCRIPT
    note: str = ""


@dataclass(frozen=True)
class BlockDevice:
    """An encrypted gp3 EBS volume of the launch template / EC2NodeClass."""

    device: str
    size_gib: int
    iops: int | None = None
    throughput_mibps: int | None = None
    purpose: str = ""



@dataclass(frozen=True)
class ClusterInfo:
    """The cluster a node joins, as plain values (custom AMI: EKS injects nothing)."""

    name: str
    endpoint: str
    certificate_authority: str
    """Base64 PEM, as EKS reports it."""
    service_cidr: str
    region: str
    account_id: str
    partition: str = "aws"


@dataclass(frozen=True)
class Secrets:
    """Where boot-time secrets live: Secrets Manager ARNs (never the values)."""

    static: Mapping[str, str] = field(default_factory=dict)
    """registry host -> secret ARN holding ``{"username": ..., "password": ...}``."""
    kubeconfig_token: str | None = None
    """Secret ARN holding the service-account token for SOCI's kubeconfig keychain."""
