"""Nodes to groups, observations to the report. Pure: :func:`assign` and :func:`report` take what
:mod:`.collect` read; :func:`verify` (in ``__init__``) joins them to a client.

A node belongs to a node group or pool by its provisioner's label — ``karpenter.sh/nodepool`` for a pool,
``eks.amazonaws.com/nodegroup`` (the EKS name from the stack's outputs, or the name Pulumi gives a
:class:`~soci_component.SociCluster`'s group) for a node group — or, for node groups, by carrying every label the
component gives that group's nodes when it is the only group (or the most specific) whose labels it carries and no
provisioner's label names another group. A node found through the provisioner's label but without the component's
labels fails the ``labels`` check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..spec import SOCI_GROUP_LABEL, SOCI_LABEL, SOCI_LABEL_VALUE
from .checks import node_checks
from .collect import ClusterObservation, events_by_pod
from .expect import EKS_NODEGROUP_LABEL, KARPENTER_POOL_LABEL, Expectation, Kind
from .indexes import IndexLookup
from .pods import container_evidence
from .rbac import WHY
from .types import Check, ContainerEvidence, GroupResult, NodeResult, Status, VerifyReport

Assignment = dict[str, list[tuple[Mapping[str, Any], str]]]


def _labels(node: Mapping[str, Any]) -> Mapping[str, str]:
    return (node.get("metadata") or {}).get("labels") or {}


def assign(exps: Sequence[Expectation], nodes: Sequence[Mapping[str, Any]]) -> tuple[Assignment, list[str]]:
    """``({group key: [(node, how it was matched)]}, names of SOCI-labelled nodes of no group)``."""
    out: Assignment = {e.key: [] for e in exps}
    others = []
    for node in nodes:
        labels = _labels(node)
        owner = next(((e, how) for e in exps if (how := e.owns(labels))), None)
        named = KARPENTER_POOL_LABEL in labels or EKS_NODEGROUP_LABEL in labels or SOCI_GROUP_LABEL in labels
        if owner is None and not named:  # a label naming another group wins; without one (nodes of an older release): the group's labels
            own = {e.key: {k: v for k, v in e.labels.items() if k != SOCI_GROUP_LABEL} for e in exps}
            fits = [e for e in exps if e.kind is Kind.NODE_GROUP and all(labels.get(k) == v for k, v in own[e.key].items())]
            best = max((len(own[e.key]) for e in fits), default=0)
            fits = [e for e in fits if len(own[e.key]) == best]
            if len(fits) == 1:
                owner = (fits[0], "its labels (" + ", ".join(f"{k}={v}" for k, v in own[fits[0].key].items()) + ")")
        if owner is not None:
            out[owner[0].key].append((node, owner[1]))
        elif labels.get(SOCI_LABEL) == SOCI_LABEL_VALUE:
            others.append(str((node.get("metadata") or {}).get("name", "")))
    return out, others


def _nodes_check(exp: Expectation, found: int) -> Check:
    how = (f"{KARPENTER_POOL_LABEL}={exp.name}" if exp.kind is Kind.NODE_POOL else
           f"{EKS_NODEGROUP_LABEL}={exp.eks_name or '?'}, or the labels " + ", ".join(f"{k}={v}" for k, v in exp.labels.items()))
    if found:
        return Check("nodes", Status.PASS, f"{found} node{'s' if found != 1 else ''} found (by {how})")
    if exp.min_nodes == 0:
        return Check("nodes", Status.INFO, f"no node now (by {how})" + ("; Karpenter launches them for pending pods" if exp.kind is Kind.NODE_POOL else ""))
    return Check("nodes", Status.FAIL, f"no node of {exp.key} found (by {how}); the group's minimum is {exp.min_nodes}",
                 "see the node group's health in EKS (`aws eks describe-nodegroup`): nodes that never joined point at the boot "
                 "(README: Troubleshooting); nodes without the component's labels did not boot from its launch template")


def node_result(exp: Expectation, obs: ClusterObservation, node: Mapping[str, Any], matched_by: str, lookup: IndexLookup,
                events: Mapping[tuple[str, str], list[Mapping[str, Any]]]) -> NodeResult:
    name = str(node["metadata"]["name"])
    seen = obs.observed.get(name)
    if seen is None:
        return NodeResult(name, matched_by, (Check("observed", Status.FAIL, "verify did not read this node", "run verify again"),))
    checks, mounted = node_checks(exp, seen, matched_by)
    metrics_check = next(c for c in checks if c.id == "soci-metrics")
    said = "SOCI's metrics are off (tuning.metricsAddress)" if exp.metrics_port is None else metrics_check.evidence
    containers: list[ContainerEvidence] = []
    if seen.pods.error is not None:
        checks.append(Check("pods", Status.FAIL, seen.pods.error.message, "bind verify's ClusterRole (README: Verify your cluster)"))
    else:
        for pod in seen.pods.value or []:
            meta = pod.get("metadata") or {}
            key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
            containers += container_evidence(exp, pod, events.get(key, []), lookup, mounted, said)
    return NodeResult(name, matched_by, tuple(checks), tuple(containers))


def report(exps: Sequence[Expectation], obs: ClusterObservation, assignment: Assignment, others: Sequence[str], lookup: IndexLookup,
           only_node: str | None = None) -> VerifyReport:
    events = events_by_pod(obs.events.value or []) if obs.events.ok else {}
    problems = [f"RBAC: not allowed to {a} ({WHY.get(a, 'needed by verify')}); bind verify's ClusterRole (README: Verify your cluster)" for a in obs.missing]
    if not obs.events.ok and obs.events.error is not None and not obs.missing:
        problems.append(obs.events.error.message)
    groups = []
    for exp in exps:
        members = assignment.get(exp.key, [])
        if only_node is not None and not members:
            groups.append(GroupResult(exp.name, exp.kind.value, exp.summary(), (Check("nodes", Status.INFO, f"not checked: --node {only_node} is not in it"),),
                                      checked=False))
            continue
        nodes = tuple(node_result(exp, obs, n, how, lookup, events) for n, how in members)
        checks = (_nodes_check(exp, len(members)),) if only_node is None else ()
        groups.append(GroupResult(exp.name, exp.kind.value, exp.summary(), checks, nodes))
    if only_node is not None and not any(g.checked for g in groups):
        problems.append(f"node {only_node} belongs to no node group or pool of the stack")
    return VerifyReport(server=obs.server, context=obs.context, groups=tuple(groups), problems=tuple(problems), other_soci_nodes=tuple(others))


__all__ = ["Assignment", "assign", "node_result", "report"]
