"""``render(plan, cluster, secrets)``: the exact user-data bytes EC2 receives, and every file the node gets.

Pure. The only inputs besides the plan are the values that exist after deploy: the cluster
(endpoint, CA, service CIDR, account, region, partition) and the Secrets Manager ARNs of the
boot secrets (never their values).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import SpecError
from . import bottlerocket, mime, nodeconfig, paths
from .plan import DockerPlan, NodePlan
from .report import NodeReport
from .script import boot_script
from .types import ClusterInfo, NodeFile, Secrets

__all__ = ["RenderedNode", "check_cluster", "ecr_hosts", "render"]

_CLUSTER_FIELDS = {
    "name": re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}"),
    "endpoint": re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?"),
    "certificate_authority": re.compile(r"[A-Za-z0-9+/=]+"),
    "region": re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]"),
    "account_id": re.compile(r"[0-9]{12}"),
    "partition": re.compile(r"aws(-[a-z]+)*"),
}


@dataclass(frozen=True)
class RenderedNode:
    """The bytes and files of one node group, with the plan they came from."""

    plan: NodePlan
    files: tuple[NodeFile, ...]
    """Every file the node ends up with from our bootstrap, sorted by path (Bottlerocket: none)."""
    user_data: bytes
    """Exactly what EC2 receives, before base64 (gzipped when over 16 KB)."""
    raw_user_data: bytes
    nodeconfig: dict[str, Any] | None = None
    script: str | None = None

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.plan.warnings

    @property
    def report(self) -> NodeReport:
        """What the nodes run."""
        return self.plan.report

    def file(self, path: str) -> NodeFile:
        return next(f for f in self.files if f.path == path)

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]


def check_cluster(cluster: ClusterInfo) -> None:
    """The cluster values go into YAML, TOML, JSON and shell lines: refuse anything but their documented shapes."""
    for name, pattern in _CLUSTER_FIELDS.items():
        value = getattr(cluster, name)
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise SpecError("cluster", f"{name} {value!r} does not look like an EKS/AWS value; refusing to put it into user data")


def ecr_hosts(registries: tuple[str, ...], cluster: ClusterInfo) -> list[str]:
    """Registry hosts for the ECR helper; ``{account}``/``{region}`` are the cluster's (China: ``.com.cn``)."""
    hosts = []
    for h in registries:
        host = h.format(account=cluster.account_id, region=cluster.region)
        if "{" in h and cluster.partition == "aws-cn":
            host += ".cn"
        hosts.append(host)
    return hosts


def _docker_config(d: DockerPlan, cluster: ClusterInfo) -> NodeFile:
    doc: dict[str, Any] = {}
    if d.ecr_registries:
        doc["credHelpers"] = {h: "ecr-login" for h in ecr_hosts(d.ecr_registries, cluster)}
    if d.static:
        doc.setdefault("auths", {})
    note = "static registry credentials are merged into 'auths' at boot from Secrets Manager" if d.static else ""
    return NodeFile(paths.DOCKER_CONFIG, json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n", 0o600, note=note)


def _kubeconfig(cluster: ClusterInfo) -> NodeFile:
    """kubeconfig for SOCI's kubeconfig keychain, as JSON (valid YAML); the token is added at boot."""
    cfg = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster.name, "cluster": {"server": cluster.endpoint, "certificate-authority-data": cluster.certificate_authority}}],
        "users": [{"name": "soci-snapshotter", "user": {"token": ""}}],
        "contexts": [{"name": "soci", "context": {"cluster": cluster.name, "user": "soci-snapshotter"}}],
        "current-context": "soci",
    }
    return NodeFile(paths.SOCI_KUBECONFIG, json.dumps(cfg, indent=2) + "\n", 0o600, note="the service-account token is added at boot from Secrets Manager")


def _fit(raw: bytes, name: str) -> bytes:
    try:
        return mime.fit(raw)
    except mime.UserDataTooLarge as e:
        raise SpecError("", f"node group {name}: {e}") from None


def render(plan: NodePlan, cluster: ClusterInfo, secrets: Secrets | None = None, *, karpenter: bool = False) -> RenderedNode:
    """The user data of a managed node group's launch template (complete: a custom AMI gets nothing injected),
    or with ``karpenter=True`` an EC2NodeClass's ``userData``: without what Karpenter adds itself (the cluster
    section, labels and taints; see :mod:`render.karpenter`), never gzipped (Karpenter parses it), with room
    left for Karpenter's part under EC2's limit."""
    check_cluster(cluster)
    secrets = secrets or Secrets()
    if plan.bottlerocket is not None:
        # Karpenter owns settings.kubernetes and, for RAID0, the instance-storage bootstrap command (same name, it replaces ours).
        raw = bottlerocket.document(plan.bottlerocket, None if karpenter else cluster, labels_and_taints=not karpenter, bootstrap_commands=not karpenter).encode()
        return RenderedNode(plan=plan, files=(), user_data=_fit_karpenter(raw, plan) if karpenter else _fit(raw, plan.name), raw_user_data=raw)
    assert plan.node_spec is not None and plan.script is not None
    files = list(plan.files)
    if plan.docker is not None:
        files.append(_docker_config(plan.docker, cluster))
    if plan.kubeconfig:
        files.append(_kubeconfig(cluster))
    contents = {f.path: (f.content, f.mode) for f in files}
    for a in plan.script.auths:
        if a.registry not in secrets.static:
            raise SpecError("credentials", f"no Secrets Manager secret for static credentials of {a.registry}")
    if plan.script.token and not secrets.kubeconfig_token:
        raise SpecError("credentials", "no Secrets Manager secret for the kubernetes-secrets token")
    script = boot_script(plan.script, contents, region=cluster.region, static_arns=dict(secrets.static), token_arn=secrets.kubeconfig_token)
    node_spec = dict(plan.node_spec)
    if karpenter:  # labels and taints are Karpenter's (kubelet --node-labels, registerWithTaints)
        kubelet = {k: v for k, v in node_spec.get("kubelet", {}).items() if k != "flags"}
        if kubelet:
            node_spec["kubelet"] = kubelet
        else:
            node_spec.pop("kubelet", None)
    nc = nodeconfig.document(node_spec, None if karpenter else cluster)
    raw = mime.multipart([mime.Part(mime.NODECONFIG, nodeconfig.dump(nc)), mime.Part(mime.SHELL, script)])
    fitted = _fit_karpenter(raw, plan) if karpenter else _fit(raw, plan.name)
    return RenderedNode(plan=plan, files=tuple(sorted(files, key=lambda f: f.path)), user_data=fitted, raw_user_data=raw, nodeconfig=nc, script=script)


def _fit_karpenter(raw: bytes, plan: NodePlan) -> bytes:
    from .karpenter import KARPENTER_MERGE_OVERHEAD

    labels = sum(len(k) + len(v) + 2 for k, v in plan.spec.node_labels.items()) + sum(len(t.flag) + 40 for t in plan.spec.taints)
    budget = mime.USER_DATA_LIMIT - KARPENTER_MERGE_OVERHEAD - labels
    if len(raw) > budget:
        raise SpecError("", f"node pool {plan.name}: user data is {len(raw)} bytes; with what Karpenter adds (about {KARPENTER_MERGE_OVERHEAD + labels} bytes) "
                            f"EC2's {mime.USER_DATA_LIMIT}-byte limit leaves {budget} for ours, and Karpenter cannot take gzipped user data. Shorten "
                            "mirrors/labels/taints")
    return raw
