"""Karpenter's real merge of our EC2NodeClass userData (karpenter-provider-aws v1.15.0's
``pkg/providers/amifamily/bootstrap``, through our ``tests/support/karpenter_merge`` program built by
scripts/build-go-daemons) against the offline view ``render/karpenter.merged_user_data`` shows.

For every pool of the prod stack (AL2023 parallel, Bottlerocket arm64) and a few variants (lazy with
cri-proxy, RAID0, taints): the node's user data after Karpenter's merge equals our view, part by part
(MIME parts in order, NodeConfig YAML and TOML compared parsed); Karpenter's cluster, labels and taints
are in it, and our SOCI parts survive unchanged.
"""

from __future__ import annotations

import base64
import dataclasses
import email
import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from daemons import daemon

from soci_component import rules
from soci_component.config import load_stack_file
from soci_component.offline import placeholder_cluster
from soci_component.render import karpenter, plan, render
from soci_component.render.bottlerocket import cluster_dns_ip
from soci_component.spec import CriProxy, LocalStorage, NodePoolSpec, OperatingSystem, PullMode, StackSpec, Taint, TaintEffect
from tests.support.scenarios import SECRETS

ROOT = Path(__file__).resolve().parents[2]
PROD = load_stack_file(ROOT / "stacks" / "Pulumi.prod.yaml")


def variants(stack: StackSpec) -> list[tuple[str, NodePoolSpec]]:
    pools = {p.name: p for p in stack.node_pools}
    out = [(name, p) for name, p in pools.items()]
    al = next(p for p in stack.node_pools if p.os is OperatingSystem.AL2023)
    br = next(p for p in stack.node_pools if p.os is OperatingSystem.BOTTLEROCKET)
    taints = (Taint("dedicated", TaintEffect.NO_SCHEDULE, "soci"), Taint("dedicated", TaintEffect.NO_EXECUTE, "soci"))
    out.append(("al2023-lazy-cri", dataclasses.replace(al, name="al2023-lazy-cri", pull_mode=PullMode.LAZY, credentials=(CriProxy(),), taints=taints)))
    out.append(("bottlerocket-taints", dataclasses.replace(br, name="bottlerocket-taints", taints=taints)))
    if al.local_storage is not LocalStorage.RAID0:
        out.append(("al2023-raid0", dataclasses.replace(al, name="al2023-raid0", local_storage=LocalStorage.RAID0, instance_types=("m6id.2xlarge",))))
    return out


VARIANTS = variants(PROD)


def real_merge(spec: NodePoolSpec, user_data: bytes, claim: karpenter.NodeClaim) -> bytes:
    cluster = placeholder_cluster(PROD)
    request: dict[str, Any] = {
        "family": "Bottlerocket" if spec.os is OperatingSystem.BOTTLEROCKET else "AL2023",
        "userData": user_data.decode(),
        "clusterName": cluster.name,
        "clusterEndpoint": cluster.endpoint,
        "caBundle": cluster.certificate_authority,
        "clusterCIDR": cluster.service_cidr,
        "labels": karpenter.karpenter_labels(spec, spec.name),
        "taints": [{"key": t.key, **({"value": t.value} if t.value else {}), "effect": t.effect.value} for t in spec.taints],
        "maxPods": claim.max_pods,
        "kubeDNSIP": cluster_dns_ip(cluster.service_cidr),
    }
    if spec.local_storage is LocalStorage.RAID0:
        request["instanceStorePolicy"] = "RAID0"
    binary = daemon("karpenter-merge").bin("karpenter-merge")
    r = subprocess.run([binary, "--decoded"], input=json.dumps(request).encode(), capture_output=True, timeout=60, check=False)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def parts(mime_bytes: bytes) -> list[tuple[str, Any]]:
    msg = email.message_from_bytes(mime_bytes)
    assert msg.is_multipart(), mime_bytes[:300]
    out = []
    for p in msg.get_payload():  # type: ignore[union-attr]
        body = p.get_payload(decode=True).decode()
        if p.get_content_type() == "application/node.eks.aws":
            out.append(("nodeconfig", yaml.safe_load(body)))
        else:
            out.append((p.get_content_type(), body.strip()))
    return out


def rendered_pool(spec: NodePoolSpec):
    profile = rules.profile(spec)
    node_plan = plan(spec, profile)
    cluster = placeholder_cluster(PROD)
    ours = render(node_plan, cluster, SECRETS, karpenter=True)
    return node_plan, ours, karpenter.merged_user_data(ours.user_data, node_plan, cluster, name=spec.name)


@pytest.mark.parametrize(("name", "spec"), VARIANTS, ids=[n for n, _ in VARIANTS])
def test_karpenters_merge_is_what_render_shows(name: str, spec: NodePoolSpec) -> None:
    node_plan, ours, view = rendered_pool(spec)
    real = real_merge(spec, ours.user_data, karpenter.NodeClaim())
    if spec.os is OperatingSystem.BOTTLEROCKET:
        got, want, mine = tomllib.loads(real.decode()), tomllib.loads(view.decode()), tomllib.loads(ours.user_data.decode())
        assert got == want
        k8s = got["settings"]["kubernetes"]
        assert k8s["cluster-name"] == placeholder_cluster(PROD).name and k8s["node-labels"]["karpenter.sh/nodepool"] == spec.name
        assert "karpenter.sh/unregistered" in k8s["node-taints"]
        for key, value in mine["settings"].items():  # ours outside settings.kubernetes survives unchanged
            if key != "kubernetes":
                assert got["settings"][key] == value, key
        return
    got, want, mine = parts(real), parts(view), parts(ours.user_data)
    assert got == want
    assert got[: len(mine)] == mine, "our parts (SOCI containerd fragment, gate, shell part) come first, unchanged"
    karpenters = got[-1][1]["spec"]
    assert karpenters["cluster"]["name"] == placeholder_cluster(PROD).name
    assert f"karpenter.sh/nodepool={spec.name}" in karpenters["kubelet"]["flags"][0]
    assert {"key": "karpenter.sh/unregistered", "effect": "NoExecute"} in karpenters["kubelet"]["config"]["registerWithTaints"]
    ours_nc = [body for kind, body in mine if kind == "nodeconfig"]
    # SOCI is wired by our parts: the containerd fragment, or nodeadm's gate of the pinned release
    assert any('snapshotter = "soci"' in (nc["spec"].get("containerd") or {}).get("config", "") or (nc["spec"].get("featureGates") or {}).get(node_plan.profile.feature_gate or "-")
               for nc in ours_nc), ours_nc
    assert "cluster" not in ours_nc[0]["spec"], "our parts carry no cluster section: Karpenter owns it"
    gated = any((nc["spec"].get("featureGates") or {}) for nc in ours_nc)  # nodeadm then points the kubelet at SOCI itself
    if spec.credentials and isinstance(spec.credentials[0], CriProxy) and not gated:
        assert any("imageServiceEndpoint" in (nc["spec"].get("kubelet") or {}).get("config", {}) for nc in ours_nc)


def test_the_comparison_can_fail() -> None:
    """A view that forgot Karpenter's unregistered taint differs from the real merge."""
    name, spec = VARIANTS[0]
    node_plan, ours, _ = rendered_pool(spec)
    real = real_merge(spec, ours.user_data, karpenter.NodeClaim())
    wrong = real_merge(spec, ours.user_data, karpenter.NodeClaim(max_pods=17))
    assert real != wrong
    assert base64.b64encode(real) != base64.b64encode(wrong)


@pytest.mark.parametrize(("name", "spec"), [v for v in VARIANTS if v[1].os is OperatingSystem.AL2023], ids=[n for n, s in VARIANTS if s.os is OperatingSystem.AL2023])
def test_nodeadm_validates_every_nodeconfig_karpenter_delivers(name: str, spec: NodePoolSpec, tmp_path: Path) -> None:
    """Each NodeConfig part of the merged MIME, ours and Karpenter's, passes the real nodeadm's
    ``config check`` (the 2024 nodeadm the proxy serves: see test_nodeadm.py for what that proves)."""
    from node.test_nodeadm import check, nodeconfig_parts

    _, ours, _ = rendered_pool(spec)
    merged = real_merge(spec, ours.user_data, karpenter.NodeClaim())
    found = nodeconfig_parts(merged)
    assert len(found) >= 2
    for i, part in enumerate(found):
        f = tmp_path / f"part{i}.yaml"
        f.write_bytes(part)
        r = check(f)
        assert r.returncode == 0 and "Configuration is valid" in r.stderr + r.stdout, r.stderr[-1500:]
