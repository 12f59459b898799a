"""Why verify could not look at something: one error type, a kind to act on, a message a person reads. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorKind(StrEnum):
    CONFIG = "config"
    """No usable kubeconfig / context / stack."""
    CREDENTIALS = "credentials"
    """The kubeconfig's credentials could not be had (credential plugin missing or failing)."""
    UNREACHABLE = "unreachable"
    """No connection to the API server."""
    TLS = "tls"
    UNAUTHORIZED = "unauthorized"
    """401: credentials invalid or expired."""
    FORBIDDEN = "forbidden"
    """403: RBAC refuses the verb on the resource."""
    NOT_FOUND = "not-found"
    PROXY = "proxy"
    """The API server answered, but could not reach the node behind its node proxy (kubelet or SOCI's metrics port)."""
    SERVER = "server"
    """Any other error answer, or an answer that is not what the API documents."""


@dataclass(frozen=True)
class Access:
    """What a request needs from RBAC: ``verb`` on ``resource`` (``nodes/proxy``) in ``group`` (``""``: core)."""

    verb: str
    resource: str
    group: str = ""
    namespace: str = ""

    def __str__(self) -> str:
        res = self.resource if not self.group else f"{self.resource}.{self.group}"
        return f"{self.verb} {res}" + (f" in namespace {self.namespace}" if self.namespace else "")


class KubeError(RuntimeError):
    """One failed exchange with the cluster. ``access``: the permission a FORBIDDEN error lacks."""

    def __init__(self, kind: ErrorKind, message: str, access: Access | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.access = access
        self.status = status


__all__ = ["Access", "ErrorKind", "KubeError"]
