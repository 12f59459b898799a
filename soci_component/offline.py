"""The offline view of the product: what each node group's nodes receive, without AWS.

Values that only exist after deploy (cluster endpoint, CA, account, secret ARNs) are replaced by
clearly marked placeholders of realistic size, so sizes and layout match a real deployment. The
same rules run as at preview; instance-type facts are estimated from the type names
(:mod:`soci_component.instances`), and the output says which types that left unchecked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import pipeline
from .instances import estimate
from .placeholders import placeholder_cluster, placeholder_secrets
from .render import NodePlan, RenderedNode, karpenter
from .render.types import ClusterInfo
from .spec import NodePoolSpec, StackSpec

__all__ = ["OfflineNode", "render_stack", "write_tree"]


@dataclass(frozen=True)
class OfflineNode:
    rendered: RenderedNode
    warnings: tuple[str, ...]
    unchecked_instance_types: tuple[str, ...]
    """Types whose facts the name does not settle: checked only at preview."""
    documents: dict[str, bytes] = field(default_factory=dict)
    """More output files (Karpenter pools: ec2nodeclass.yaml, nodepool.yaml, user-data.merged)."""


PLACEHOLDER_NODE_ROLE = "PLACEHOLDER-node-role-known-after-deploy"


def render_stack(stack: StackSpec) -> list[OfflineNode]:
    """Every node group and pool of the stack, through exactly the rules preview applies."""
    cluster = placeholder_cluster(stack)
    out = []
    for where, node_plan in pipeline.plan_stack(stack):
        spec = node_plan.spec
        pool = isinstance(spec, NodePoolSpec)
        unknown = pipeline.check_instances(node_plan, {t: estimate(t) for t in spec.instance_types}, where)
        rendered = pipeline.render_node(node_plan, cluster, placeholder_secrets(stack, spec), karpenter=pool, path=where)
        docs: dict[str, bytes] = {}
        if isinstance(spec, NodePoolSpec):
            docs = _pool_documents(spec, node_plan, rendered, cluster)
        out.append(OfflineNode(rendered, node_plan.warnings, tuple(unknown), docs))
    return out


def _pool_documents(spec: NodePoolSpec, node_plan: NodePlan, rendered: RenderedNode, cluster: ClusterInfo) -> dict[str, bytes]:
    discovery = [{"tags": {"karpenter.sh/discovery": cluster.name}}]
    node_class = karpenter.ec2nodeclass(spec, node_plan, name=spec.name, role=PLACEHOLDER_NODE_ROLE, user_data=rendered.user_data.decode(),
                                        subnet_selector_terms=discovery, security_group_selector_terms=discovery, tags={"soci-eks:node-pool": spec.name})
    pool = karpenter.nodepool(spec, node_plan, name=spec.name, node_class=spec.name)
    merged = karpenter.merged_user_data(rendered.user_data, node_plan, cluster, name=spec.name)

    def dump(doc: dict) -> bytes:
        return yaml.safe_dump(doc, sort_keys=False, width=1000).encode()

    return {"ec2nodeclass.yaml": dump(node_class), "nodepool.yaml": dump(pool), "user-data.merged": merged}


def write_tree(nodes: list[RenderedNode], out: Path, extra: dict[str, dict] | None = None, documents: dict[str, dict[str, bytes]] | None = None) -> list[Path]:
    """``<out>/<ng>/user-data``, ``<out>/<ng>/files/<abs path>``, ``<out>/<ng>/report.json`` (and a pool's documents)."""
    written = []
    for b in nodes:
        base = out / b.name
        base.mkdir(parents=True, exist_ok=True)
        (base / "user-data").write_bytes(b.user_data)
        for filename, data in (documents or {}).get(b.name, {}).items():
            (base / filename).write_bytes(data)
            written.append(base / filename)
        for f in b.files:
            target = base / "files" / f.path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f.content)
            target.chmod(f.mode)
            written.append(target)
        meta = b.report.to_json()
        meta["userDataBytes"] = len(b.user_data)
        meta["userDataGzipped"] = b.user_data != b.raw_user_data
        meta["files"] = {f.path: {"mode": f"{f.mode:04o}", "writtenBy": f.writer.value, **({"note": f.note} if f.note else {})} for f in b.files}
        if not b.files:
            meta["filesNote"] = (
                "Bottlerocket writes containerd's and SOCI's files itself from the settings in user-data "
                "(settings.container-runtime, settings.container-runtime-plugins.soci-snapshotter); nothing else is written"
            )
        meta["warnings"] = list(b.warnings)
        meta.update((extra or {}).get(b.name, {}))
        (base / "report.json").write_text(json.dumps(meta, indent=2) + "\n")
        written += [base / "user-data", base / "report.json"]
    return written


