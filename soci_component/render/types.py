"""Values known only after deploy, as plain data the renderer takes: the cluster a node joins and where
its boot secrets live. Not user inputs (those are :mod:`soci_component.spec`). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


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
