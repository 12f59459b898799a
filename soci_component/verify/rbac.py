"""The RBAC verify needs, as data: rules, and the optional ClusterRole + ClusterRoleBinding for a group of users. Pure.

Read-only, cluster-wide:

- ``get``/``list`` ``nodes``: the nodes, their labels, conditions and ``nodeInfo`` (containerd, kubelet, OS);
- ``get`` ``nodes/proxy``: the kubelet's ``/configz`` and ``/stats/summary``, and SOCI's ``/metrics`` on the node
  (``tuning.metricsAddress``), all through the API server's node proxy. This one is powerful: whoever holds it can
  reach every kubelet endpoint through the API server, including the ones that run commands in containers (the
  kubelet authorises the API server, not the end user), so grant the role only to people trusted with the nodes;
- ``list`` ``pods``: what runs on each SOCI node, and which image each container runs;
- ``list`` ``events``: the kubelet's ``Pulled`` events (pull durations, image sizes; kept about an hour by the API server).

verify also creates ``selfsubjectaccessreviews`` to name a missing permission before it starts; every authenticated
user may (the built-in ``system:basic-user`` role).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import Access

RULES: tuple[dict[str, Any], ...] = (
    {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["pods", "events"], "verbs": ["list"]},
)
"""The ClusterRole's rules (core API group, read-only)."""

LIST_NODES = Access("list", "nodes")
GET_NODES = Access("get", "nodes")
NODE_PROXY = Access("get", "nodes/proxy")
LIST_PODS = Access("list", "pods")
LIST_EVENTS = Access("list", "events")
REVIEW = Access("create", "selfsubjectaccessreviews", "authorization.k8s.io")

WHY = {
    LIST_NODES: "to find the nodes of each node group and pool",
    GET_NODES: "to read a node given with --node",
    NODE_PROXY: "for the kubelet's /configz and /stats/summary and SOCI's /metrics through the API server's node proxy",
    LIST_PODS: "to see which images the containers on SOCI nodes run",
    LIST_EVENTS: "for the kubelet's image pull events",
}


def required() -> list[Access]:
    """Every permission verify uses, as the rules grant them."""
    out = []
    for rule in RULES:
        for resource in rule["resources"]:
            for verb in rule["verbs"]:
                out.append(Access(verb, resource, rule["apiGroups"][0]))
    return out


def cluster_role(name: str = "soci-eks-verify", labels: dict[str, str] | None = None) -> dict[str, Any]:
    """The ClusterRole verify needs (a Kubernetes object, as data)."""
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "soci-eks", **(labels or {})}},
            "rules": [dict(r, apiGroups=list(r["apiGroups"]), resources=list(r["resources"]), verbs=list(r["verbs"])) for r in RULES]}


def cluster_role_binding(name: str, role: str, groups: Sequence[str] = (), users: Sequence[str] = ()) -> dict[str, Any]:
    """Binds ``role`` to Kubernetes ``groups`` / ``users`` (with EKS access entries: the group names an access entry gives)."""
    subjects = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g} for g in groups]
    subjects += [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": u} for u in users]
    if not subjects:
        raise ValueError("a binding needs at least one group or user")
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "soci-eks"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}, "subjects": subjects}


def review(access: Access) -> dict[str, Any]:
    """A SelfSubjectAccessReview asking for ``access`` at cluster scope."""
    attrs: dict[str, Any] = {"verb": access.verb, "group": access.group}
    resource, _, sub = access.resource.partition("/")
    attrs["resource"] = resource
    if sub:
        attrs["subresource"] = sub
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {"resourceAttributes": attrs}}


__all__ = ["GET_NODES", "LIST_EVENTS", "LIST_NODES", "LIST_PODS", "NODE_PROXY", "REVIEW", "RULES", "WHY", "cluster_role", "cluster_role_binding",
           "required", "review"]
