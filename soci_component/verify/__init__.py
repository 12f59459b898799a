"""``verify``: does every node of every SOCI node group and pool of a stack run SOCI as rendered — through the
Kubernetes API alone (no SSH, no SSM, no privileged pod).

Library entry points: :func:`verify` (expectations + a :class:`KubeClient`) and :func:`verify_stack` (a
:class:`~soci_component.spec.StackSpec` and a kubeconfig). Both return a typed :class:`VerifyReport`; they raise
:class:`KubeError` only when nothing can be looked at (no kubeconfig, API server unreachable, credentials refused,
nodes not readable). Pure modules: ``expect``, ``checks``, ``pods``, ``assess``, ``metrics``, ``rbac``, ``types``;
``client``/``kubeconfig``/``collect`` talk to the cluster (urllib3, imported on first use); ``indexes`` reads
registries through :mod:`soci_component.images`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import Access, ErrorKind, KubeError
from .expect import Expectation, Kind, expectations
from .indexes import IndexFacts, IndexLookup, no_lookup
from .rbac import cluster_role, cluster_role_binding
from .types import Check, ContainerEvidence, GroupResult, Loading, NodeResult, Status, VerifyReport

if TYPE_CHECKING:
    from ..spec import StackSpec
    from .client import KubeClient


def verify(exps: Sequence[Expectation], client: KubeClient, *, node: str | None = None, lookup: IndexLookup = no_lookup) -> VerifyReport:
    """Check every node of ``exps`` (or only ``node``) through ``client``; ``lookup`` reads images' SOCI indexes."""
    from .assess import assign, report
    from .collect import observe

    owned: dict[str, Expectation] = {}

    def wanted(n: Mapping[str, object]) -> bool:
        assignment, _ = assign(exps, [n])
        for key, members in assignment.items():
            if members:
                owned[str(n["metadata"]["name"])] = next(e for e in exps if e.key == key)  # type: ignore[index]
                return True
        return False

    obs = observe(client, wanted, node=node, metrics_port=lambda n: owned[str(n["metadata"]["name"])].metrics_port)  # type: ignore[index]
    assignment, others = assign(exps, obs.nodes)
    return report(exps, obs, assignment, others, lookup, only_node=node)


def verify_stack(stack: StackSpec, *, kubeconfig: Path | None = None, context: str | None = None, eks_names: Mapping[str, str] | None = None,
                 node: str | None = None, lookup: IndexLookup | None = None) -> VerifyReport:
    """:func:`verify` for every group and pool of ``stack`` (expectations through the same pipeline as ``render``),
    the cluster as the kubeconfig says; images checked in their registries with ``images check``'s credentials."""
    from .client import KubeClient
    from .indexes import registry_lookup

    exps = expectations(stack, eks_names)
    with KubeClient.from_kubeconfig(kubeconfig, context) as client:
        return verify(exps, client, node=node, lookup=lookup or registry_lookup())


def verify_command(stack: str) -> str:
    """The command that verifies stack ``stack`` of this project (a stack output)."""
    return f"python -m soci_component verify --stack {stack}"


__all__ = [
    "Access", "Check", "ContainerEvidence", "ErrorKind", "Expectation", "GroupResult", "IndexFacts", "IndexLookup", "Kind", "KubeError", "Loading",
    "NodeResult", "Status", "VerifyReport", "cluster_role", "cluster_role_binding", "expectations", "no_lookup", "verify", "verify_command", "verify_stack",
]
