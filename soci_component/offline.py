"""The offline view of the product: what each node group's nodes receive, without AWS.

Values that only exist after deploy (cluster endpoint, CA, account, secret ARNs) are replaced by
clearly marked placeholders of realistic size, so sizes and layout match a real deployment. The
same rules run as at preview; instance-type facts are estimated from the type names
(:mod:`soci_component.instances`), and the output says which types that left unchecked.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import rules
from .errors import at
from .instances import estimate
from .render import NodePlan, RenderedNode, karpenter, plan, render
from .render.types import ClusterInfo, Secrets
from .spec import CredentialKind, NodePoolSpec, NodeSpec, StackSpec, StaticCredentials

PLACEHOLDER_ACCOUNT = "111122223333"


def placeholder_cluster(stack: StackSpec) -> ClusterInfo:
    # A real EKS CA is a ~1.1 KB PEM, ~1.5 KB once base64-encoded: keep the size honest.
    pem = "-----BEGIN CERTIFICATE-----\n" + ("PLACEHOLDER+CLUSTER+CA+KNOWN+AFTER+DEPLOY+" * 24)[:1000] + "\n-----END CERTIFICATE-----\n"
    return ClusterInfo(
        name=stack.cluster.name,
        endpoint=f"https://PLACEHOLDER0123456789ABCDEF012345.gr7.{stack.region}.eks.amazonaws.com",
        certificate_authority=base64.b64encode(pem.encode()).decode(),
        service_cidr=stack.cluster.service_cidr,
        region=stack.region,
        account_id=PLACEHOLDER_ACCOUNT,
    )


def placeholder_secrets(stack: StackSpec, spec: NodeSpec) -> Secrets:
    prefix = f"arn:aws:secretsmanager:{stack.region}:{PLACEHOLDER_ACCOUNT}:secret:soci-eks/{stack.cluster.name}/{spec.name}"
    static = {c.registry: f"{prefix}/registry-{i}-AbCdEf" for i, c in enumerate(spec.creds) if isinstance(c, StaticCredentials)}
    token = f"{prefix}/kubeconfig-token-AbCdEf" if spec.credential(CredentialKind.KUBERNETES_SECRETS) else None
    return Secrets(static=static, kubeconfig_token=token)


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
    profiles = rules.check_stack(stack)
    out = []
    for spec, p, where in zip(stack.nodes, profiles, (rules.where_of(stack.nodes, i) for i in range(len(stack.nodes))), strict=True):
        pool = isinstance(spec, NodePoolSpec)
        with at(where):
            node_plan = plan(spec, p)
        unknown = rules.check_instance_types(spec, p, {t: estimate(t) for t in spec.instance_types}, where)
        with at(where):
            rendered = render(node_plan, cluster, placeholder_secrets(stack, spec), karpenter=pool)
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
    """``<out>/<ng>/user-data``, ``<out>/<ng>/files/<abs path>``, ``<out>/<ng>/profile.json`` (and a pool's documents)."""
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
        meta = dict(b.plan.report)
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
        (base / "profile.json").write_text(json.dumps(meta, indent=2) + "\n")
        written += [base / "user-data", base / "profile.json"]
    return written


# The largest values EKS can hand a node group, for the 16 KB check at preview (when the new cluster's
# real values are still unknown). EKS endpoints are https://<32 hex>.<3-char shard>.<region>.eks.amazonaws.com;
# cluster CAs are RSA-2048 certificates (PEM ~1.1 KB, base64 ~1.5 KB): 2,048 base64 characters is above any.
MAX_CA_BASE64 = 2048
LONGEST_REGION = "ap-southeast-7"
SECRET_SUFFIX = "-AbCdEf"
"""Secrets Manager appends '-' and 6 random characters to a secret's name in its ARN."""


def maximal_cluster(name: str | None, region: str | None, partition: str = "aws") -> ClusterInfo:
    region = region or LONGEST_REGION
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return ClusterInfo(
        name=name or "c" * 100,
        endpoint=f"https://{'F' * 32}.gr7.{region}.eks.{suffix}",
        certificate_authority="Q" * MAX_CA_BASE64,
        service_cidr="172.20.0.0/16",
        region=region,
        account_id="123456789012",
        partition=partition,
    )


def maximal_secrets(spec: NodeSpec, region: str | None, resource_prefix: str) -> Secrets:
    """ARNs as long as Pulumi's auto-names make them (``<resource>-<7 hex>`` + Secrets Manager's suffix)."""
    arn = f"arn:aws-us-gov:secretsmanager:{region or LONGEST_REGION}:123456789012:secret:{resource_prefix}"
    static = {c.registry: f"{arn}-registry-{i}-abcdef0{SECRET_SUFFIX}" for i, c in enumerate(spec.creds) if isinstance(c, StaticCredentials)}
    token = f"{arn}-kube-token-abcdef0{SECRET_SUFFIX}" if spec.credential(CredentialKind.KUBERNETES_SECRETS) else None
    return Secrets(static=static, kubeconfig_token=token)
