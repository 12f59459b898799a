"""The offline view of the product: what each node group's nodes receive, without AWS.

Values that only exist after deploy (cluster endpoint, CA, account, secret ARNs) are replaced by
clearly marked placeholders of realistic size, so sizes and layout match a real deployment.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from . import ami
from .config import StackConfig
from .render.bootstrap import NodeBootstrap, plan
from .spec import ClusterInfo, CredentialKind, NodeGroupSpec, Secrets, StaticCredentials

PLACEHOLDER_ACCOUNT = "111122223333"


def placeholder_cluster(stack: StackConfig) -> ClusterInfo:
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


def placeholder_secrets(stack: StackConfig, spec: NodeGroupSpec) -> Secrets:
    prefix = f"arn:aws:secretsmanager:{stack.region}:{PLACEHOLDER_ACCOUNT}:secret:soci-eks/{stack.cluster.name}/{spec.name}"
    static = {c.registry: f"{prefix}/registry-{i}-AbCdEf" for i, c in enumerate(spec.credentials) if isinstance(c, StaticCredentials)}
    token = f"{prefix}/kubeconfig-token-AbCdEf" if spec.credential(CredentialKind.KUBERNETES_SECRETS) else None
    return Secrets(static=static, kubeconfig_token=token)


def render_stack(stack: StackConfig) -> list[NodeBootstrap]:
    cluster = placeholder_cluster(stack)
    out = []
    for i, spec in enumerate(stack.node_groups):
        profile = ami.resolve_profile(spec, path=f"nodeGroups[{i}]")
        out.append(plan(spec, profile, cluster, placeholder_secrets(stack, spec)))
    return out


def write_tree(bootstraps: list[NodeBootstrap], out: Path) -> list[Path]:
    """``<out>/<ng>/user-data``, ``<out>/<ng>/files/<abs path>``, ``<out>/<ng>/profile.json``."""
    written = []
    for b in bootstraps:
        base = out / b.name
        base.mkdir(parents=True, exist_ok=True)
        (base / "user-data").write_bytes(b.user_data)
        for f in b.files:
            target = base / "files" / f.path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f.content)
            target.chmod(f.mode)
            written.append(target)
        meta = dict(b.profile)
        meta["userDataBytes"] = len(b.user_data)
        meta["userDataGzipped"] = b.user_data != b.raw_user_data
        meta["files"] = {f.path: {"mode": f"{f.mode:04o}", "writtenBy": f.writer, **({"note": f.note} if f.note else {})} for f in b.files}
        if not b.files:
            meta["filesNote"] = (
                "Bottlerocket writes containerd's and SOCI's files itself from the settings in user-data "
                "(settings.container-runtime, settings.container-runtime-plugins.soci-snapshotter); nothing else is written"
            )
        meta["warnings"] = list(b.warnings)
        (base / "profile.json").write_text(json.dumps(meta, indent=2) + "\n")
        written += [base / "user-data", base / "profile.json"]
    return written
