"""What verify reads from the cluster, through the Kubernetes API only: raw observations, no judgement.

Requests: one SelfSubjectAccessReview per permission (:mod:`.rbac`), the nodes, then per SOCI node its pods and, through
the API server's node proxy, the kubelet's ``/configz`` and ``/stats/summary`` and (with ``tuning.metricsAddress``)
SOCI's ``/metrics``; the kubelet's ``Pulled`` events once for the cluster. Each per-node answer is kept with its error, so
one unreachable kubelet fails its own checks and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import rbac
from .client import KubeClient
from .errors import Access, ErrorKind, KubeError


@dataclass(frozen=True)
class Got:
    """One answer: ``value`` or ``error``."""

    value: Any = None
    error: KubeError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class NodeObservation:
    node: Mapping[str, Any]
    configz: Got
    summary: Got
    metrics: Got | None = None
    """SOCI's metrics text (None: not asked for, no metrics port)."""
    pods: Got = Got(value=[])

    @property
    def name(self) -> str:
        return str(self.node.get("metadata", {}).get("name", ""))


@dataclass
class ClusterObservation:
    server: str
    context: str
    nodes: list[dict[str, Any]]
    observed: dict[str, NodeObservation] = field(default_factory=dict)
    """Per node name: what its kubelet and SOCI said."""
    events: Got = Got(value=[])
    missing: list[Access] = field(default_factory=list)
    """Permissions RBAC does not grant (from SelfSubjectAccessReviews)."""


def _got(fn: Callable[[], Any]) -> Got:
    try:
        return Got(value=fn())
    except KubeError as e:
        if e.kind in (ErrorKind.UNAUTHORIZED, ErrorKind.UNREACHABLE, ErrorKind.TLS, ErrorKind.CREDENTIALS):
            raise
        return Got(error=e)


def _denied(access: Access) -> Got:
    return Got(error=KubeError(ErrorKind.FORBIDDEN, f"RBAC: not allowed to {access} ({rbac.WHY.get(access, 'needed by verify')})", access=access))


def missing_permissions(client: KubeClient) -> list[Access]:
    """The permissions of :func:`rbac.required` RBAC refuses to the kubeconfig's identity. A cluster that refuses the
    review itself (it should not: every user may create one) is taken at its word later, request by request."""
    out = []
    for access in rbac.required():
        try:
            doc = client.post_json("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", rbac.review(access), rbac.REVIEW)
        except KubeError as e:
            if e.kind in (ErrorKind.FORBIDDEN, ErrorKind.NOT_FOUND, ErrorKind.SERVER):
                return []
            raise
        if not (doc.get("status") or {}).get("allowed"):
            out.append(access)
    return out


def observe(client: KubeClient, wanted: Callable[[Mapping[str, Any]], bool], *, node: str | None = None,
            metrics_port: Callable[[Mapping[str, Any]], int | None] = lambda _n: None) -> ClusterObservation:
    """Read the cluster. ``wanted(node)``: which nodes to look at closely (the SOCI ones); ``node``: only this node;
    ``metrics_port(node)``: SOCI's metrics port on that node (None: do not ask). Raises :class:`KubeError` only when
    nothing can be read (API server unreachable, credentials refused, nodes not readable)."""
    missing = missing_permissions(client)
    if node is not None:
        if rbac.GET_NODES in missing:
            raise KubeError(ErrorKind.FORBIDDEN, f"RBAC: not allowed to {rbac.GET_NODES} ({rbac.WHY[rbac.GET_NODES]})", access=rbac.GET_NODES)
        nodes = [client.get_json(f"/api/v1/nodes/{node}", rbac.GET_NODES)]
    else:
        if rbac.LIST_NODES in missing:
            raise KubeError(ErrorKind.FORBIDDEN, f"RBAC: not allowed to {rbac.LIST_NODES} ({rbac.WHY[rbac.LIST_NODES]})", access=rbac.LIST_NODES)
        nodes = client.list_all("/api/v1/nodes", rbac.LIST_NODES)
    obs = ClusterObservation(server=client.server, context=client.target.context, nodes=nodes, missing=missing)
    proxy_ok = rbac.NODE_PROXY not in missing
    for n in nodes:
        if not wanted(n):
            continue
        name = str(n["metadata"]["name"])
        kubelet = f"the kubelet of node {name}"
        if proxy_ok:
            configz = _got(lambda name=name, kubelet=kubelet: client.get_json(KubeClient.node_proxy(name, "configz"), rbac.NODE_PROXY, proxy=kubelet))
            summary = _got(lambda name=name, kubelet=kubelet: client.get_json(KubeClient.node_proxy(name, "stats/summary"), rbac.NODE_PROXY, proxy=kubelet))
        else:
            configz = summary = _denied(rbac.NODE_PROXY)
        port = metrics_port(n)
        metrics = None
        if port is not None:
            soci = f"SOCI's metrics endpoint on node {name} (port {port})"
            metrics = (_got(lambda name=name, port=port, soci=soci: client.get_text(KubeClient.node_proxy(name, "metrics", port), rbac.NODE_PROXY, proxy=soci))
                       if proxy_ok else _denied(rbac.NODE_PROXY))
        if rbac.LIST_PODS in missing:
            pods = _denied(rbac.LIST_PODS)
        else:
            pods = _got(lambda name=name: client.list_all("/api/v1/pods", rbac.LIST_PODS, {"fieldSelector": f"spec.nodeName={name}"}))
        obs.observed[name] = NodeObservation(node=n, configz=configz, summary=summary, metrics=metrics, pods=pods)
    if rbac.LIST_EVENTS in missing:
        obs.events = _denied(rbac.LIST_EVENTS)
    elif obs.observed:
        obs.events = _got(lambda: client.list_all("/api/v1/events", rbac.LIST_EVENTS, {"fieldSelector": "reason=Pulled"}))
    return obs


def events_by_pod(events: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], list[Mapping[str, Any]]]:
    """``Pulled`` events keyed by (namespace, pod name), oldest first."""
    out: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for e in events:
        inv = e.get("involvedObject") or {}
        if inv.get("kind") == "Pod":
            out.setdefault((str(inv.get("namespace", "")), str(inv.get("name", ""))), []).append(e)
    for v in out.values():
        v.sort(key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    return out


__all__ = ["ClusterObservation", "Got", "NodeObservation", "events_by_pod", "missing_permissions", "observe"]
