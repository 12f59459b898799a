"""Karpenter's own code on our Karpenter pools: the pools, their documents, and the user data a node
really gets after Karpenter's merge (for reuse: ``from tests.karpenter import karpenter_merged``).

The pools: the prod stack's ``burst`` (AL2023) and ``graviton`` (Bottlerocket arm64) in a stack with
one managed node group, and variants of both (each in a stack with that node group): lazy mode with
cri-proxy credentials, cri-proxy on Bottlerocket, RAID0 instance store, and taints/labels/requirements
that meet Karpenter's own (two taints on one key, a taint equal to Karpenter's
``karpenter.sh/unregistered``, a ``node.kubernetes.io`` label Karpenter keeps off the kubelet, a custom
label Karpenter derives from a requirement).

:func:`karpenter_merged` runs ``karpenter-merge`` (tests/support/karpenter_merge: karpenter-provider-aws
v1.15.0's ``pkg/providers/amifamily/bootstrap``, built by scripts/build-go-daemons) on the pool's
EC2NodeClass and NodePool documents as ``render`` emits them; labels and taints come from Karpenter's
NodeClaimTemplate of that NodePool, family/userData/instanceStorePolicy/default bind from the node class,
and the cluster values from the offline placeholder cluster, as Karpenter would discover them.
"""

from __future__ import annotations

import dataclasses
import email
import email.message
import functools
import json
import os
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import yaml

from soci_component.config import load_stack_file
from soci_component.offline import OfflineNode, placeholder_cluster, render_stack
from soci_component.render import karpenter
from soci_component.render.bottlerocket import cluster_dns_ip
from soci_component.spec import (
    CapacityType,
    CriProxy,
    LocalStorage,
    NodePoolSpec,
    OperatingSystem,
    PullMode,
    Requirement,
    RequirementOperator,
    StackSpec,
    Taint,
    TaintEffect,
)

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "scripts" / "build-go-daemons"
PROD = load_stack_file(REPO / "stacks" / "Pulumi.prod.yaml")


DEFAULT_CLAIM = karpenter.NodeClaim()
"""The representative NodeClaim ``render`` shows the merge for."""


class KarpenterMergeMissing(RuntimeError):
    """karpenter-merge (or its CRDs) is not built: run scripts/build-go-daemons."""


# --------------------------------------------------------------------------- the pools


def _variants() -> dict[str, NodePoolSpec]:
    pools = {p.name: p for p in PROD.node_pools}
    al = next(p for p in PROD.node_pools if p.os is OperatingSystem.AL2023)
    br = next(p for p in PROD.node_pools if p.os is OperatingSystem.BOTTLEROCKET)
    conflicting_taints = (
        Taint("dedicated", TaintEffect.NO_SCHEDULE, "soci"),
        Taint("dedicated", TaintEffect.NO_EXECUTE, "soci"),  # two taints on one key: Bottlerocket groups them
        Taint("karpenter.sh/unregistered", TaintEffect.NO_EXECUTE),  # Karpenter's own: it does not add it twice
    )
    conflicting = {
        "labels": {"node.kubernetes.io/lifecycle": "burst", "team": "ml"},  # node.kubernetes.io: Karpenter keeps it off the kubelet
        "taints": conflicting_taints,
        "requirements": (Requirement("example.com/tier", RequirementOperator.IN, ("gold",)),),  # Karpenter labels the node with it
        "capacity_types": (CapacityType.ON_DEMAND,),
    }
    out = dict(pools)
    out["burst-lazy-cri"] = dataclasses.replace(al, name="burst-lazy-cri", pull_mode=PullMode.LAZY, credentials=(CriProxy(),))
    out["burst-raid0"] = dataclasses.replace(al, name="burst-raid0", local_storage=LocalStorage.RAID0)
    out["burst-conflicts"] = dataclasses.replace(al, name="burst-conflicts", **{**conflicting, "requirements": (*al.requirements, *conflicting["requirements"])})
    out["graviton-cri"] = dataclasses.replace(br, name="graviton-cri", credentials=(CriProxy(),))
    out["graviton-raid0"] = dataclasses.replace(br, name="graviton-raid0", local_storage=LocalStorage.RAID0)
    out["graviton-conflicts"] = dataclasses.replace(br, name="graviton-conflicts", **conflicting)
    return out


POOLS: dict[str, NodePoolSpec] = _variants()
"""Every pool the Karpenter proofs run, by name."""
PROD_POOLS = tuple(p.name for p in PROD.node_pools)


def stack_of(pool_name: str) -> StackSpec:
    """The prod pools together with prod's first managed node group; a variant with that node group alone."""
    group = PROD.node_groups[:1]
    if pool_name in PROD_POOLS:
        return dataclasses.replace(PROD, node_groups=group)
    return dataclasses.replace(PROD, node_groups=group, node_pools=(POOLS[pool_name],))


@functools.cache
def _rendered(stack_key: str) -> tuple[OfflineNode, ...]:
    return tuple(render_stack(stack_of(stack_key)))


@dataclasses.dataclass(frozen=True)
class Pool:
    """A pool as ``render`` shows it."""

    name: str
    spec: NodePoolSpec
    stack: StackSpec
    node: OfflineNode
    node_class: dict[str, Any]
    node_pool: dict[str, Any]
    ours: bytes
    """The EC2NodeClass's userData (ours, before Karpenter's merge)."""
    view: bytes
    """``user-data.merged``: our offline view of Karpenter's merge."""

    @property
    def bottlerocket(self) -> bool:
        return self.spec.os is OperatingSystem.BOTTLEROCKET


def pool(pool_name: str) -> Pool:
    nodes = _rendered(PROD_POOLS[0] if pool_name in PROD_POOLS else pool_name)
    node = next(n for n in nodes if n.rendered.name == pool_name)
    docs = node.documents
    assert set(docs) == {"ec2nodeclass.yaml", "nodepool.yaml", "user-data.merged"}, sorted(docs)
    node_class = yaml.safe_load(docs["ec2nodeclass.yaml"])
    return Pool(pool_name, POOLS[pool_name], stack_of(pool_name), node, node_class, yaml.safe_load(docs["nodepool.yaml"]),
                node_class["spec"]["userData"].encode(), docs["user-data.merged"])


def capacity_type(spec: NodePoolSpec, claim: karpenter.NodeClaim) -> str:
    """The capacity type of the representative NodeClaim (as :class:`karpenter.NodeClaim` documents it)."""
    return claim.capacity_type or ("spot" if CapacityType.SPOT in spec.capacity_types else "on-demand")


# --------------------------------------------------------------------------- the real merge


def _cache() -> Path:
    return Path(os.environ.get("SOCI_EKS_CACHE") or REPO / ".cache")


def karpenter_entry() -> dict[str, Any]:
    """The ``karpenter-merge`` entry of ``.cache/bin/index.json`` (binary, CRD files); missing: an error, never a skip."""
    index = _cache() / "bin" / "index.json"
    if not index.is_file():
        raise KarpenterMergeMissing(f"no {index}: run {BUILD_SCRIPT} (it builds karpenter-merge and copies Karpenter's CRDs)")
    entry = json.loads(index.read_text()).get("daemons", {}).get("karpenter-merge")
    if not entry:
        raise KarpenterMergeMissing(f"{index} has no karpenter-merge: run {BUILD_SCRIPT}")
    return entry


def karpenter_merge_binary() -> Path:
    path = Path(karpenter_entry().get("bin", {}).get("karpenter-merge", ""))
    if not path.is_file() or not os.access(path, os.X_OK):
        raise KarpenterMergeMissing(f"karpenter-merge binary {path} is missing or not executable: run {BUILD_SCRIPT}")
    return path


def crd_file(kind: str) -> Path:
    """Karpenter's CRD YAML for ``kind`` (EC2NodeClass, NodePool, NodeClaim) from the pinned module."""
    files = karpenter_entry().get("files", {})
    if kind not in files or not Path(files[kind]).is_file():
        raise KarpenterMergeMissing(f"no Karpenter CRD for {kind} in the karpenter-merge entry ({files.get(kind)}): run {BUILD_SCRIPT}")
    return Path(files[kind])


def merge_request(p: Pool, claim: karpenter.NodeClaim = DEFAULT_CLAIM, *, node_class: dict | None = None, node_pool: dict | None = None) -> dict[str, Any]:
    """What karpenter-merge gets: the documents (Karpenter derives family, userData, labels, taints from
    them) and what Karpenter discovers itself: cluster name/endpoint/CA/CIDR, kube-dns IP, the instance type's maxPods."""
    cluster = placeholder_cluster(p.stack)
    return {
        "nodeClass": node_class if node_class is not None else p.node_class,
        "nodePool": node_pool if node_pool is not None else p.node_pool,
        "capacityType": capacity_type(p.spec, claim),
        "clusterName": cluster.name,
        "clusterEndpoint": cluster.endpoint,
        "caBundle": cluster.certificate_authority,
        "clusterCIDR": cluster.service_cidr,
        "maxPods": claim.max_pods,
        "kubeDNSIP": cluster_dns_ip(cluster.service_cidr),
    }


def run_merge(request: dict[str, Any], *, decoded: bool = True) -> bytes:
    binary = karpenter_merge_binary()
    r = subprocess.run([str(binary), *(["--decoded"] if decoded else [])], input=json.dumps(request).encode(), capture_output=True, timeout=60, check=False)
    if r.returncode != 0:
        err = r.stderr.decode()
        if 'unknown field "nodeClass"' in err or 'unknown field "nodePool"' in err:
            raise KarpenterMergeMissing(f"{binary} predates tests/support/karpenter_merge/main.go's nodeClass/nodePool inputs: run {BUILD_SCRIPT}")
        raise RuntimeError(f"karpenter-merge failed ({r.returncode}): {err}")
    return r.stdout


def karpenter_merged(pool_name: str, claim: karpenter.NodeClaim = DEFAULT_CLAIM, *, decoded: bool = True) -> bytes:
    """The user data a node of ``pool_name`` gets after Karpenter's real merge: for AL2023 the MIME archive
    nodeadm reads, for Bottlerocket the TOML (``decoded=False``: base64, as in the launch template)."""
    return run_merge(merge_request(pool(pool_name), claim), decoded=decoded)


# --------------------------------------------------------------------------- reading and comparing


@dataclasses.dataclass(frozen=True)
class Part:
    content_type: str
    """The part's Content-Type header as written (Karpenter copies it verbatim)."""
    body: str
    """The body without the trailing newlines before the next boundary (MIME writers differ there)."""

    @property
    def nodeconfig(self) -> dict[str, Any] | None:
        return yaml.safe_load(self.body) if self.content_type.split(";")[0].strip() == "application/node.eks.aws" else None

    def semantic(self) -> tuple[str, Any]:
        nc = self.nodeconfig
        return (self.content_type, nc if nc is not None else self.body)


def mime_parts(data: bytes) -> list[Part]:
    msg = email.message_from_bytes(data)
    assert msg.is_multipart(), data[:300]
    out = []
    for p in msg.get_payload():
        assert isinstance(p, email.message.Message)
        payload = p.get_payload(decode=True)
        assert isinstance(payload, bytes)
        out.append(Part(str(p["Content-Type"]), payload.decode().rstrip("\n")))
    return out


def assert_same_node_data(real: bytes, view: bytes, *, bottlerocket: bool) -> None:
    """Karpenter's real merge and our view are the same node data: Bottlerocket TOML equal once parsed;
    AL2023 the same MIME parts in the same order, each with the same Content-Type, NodeConfig parts equal
    once parsed as YAML, other parts byte for byte (up to the newlines before a boundary)."""
    if bottlerocket:
        got, want = tomllib.loads(real.decode()), tomllib.loads(view.decode())
        assert got == want, _diff(got, want)
        return
    got_parts, want_parts = mime_parts(real), mime_parts(view)
    assert [p.content_type for p in got_parts] == [p.content_type for p in want_parts]
    for i, (g, w) in enumerate(zip(got_parts, want_parts, strict=True)):
        assert g.semantic() == w.semantic(), f"part {i} ({g.content_type}):\n" + _diff(g.semantic()[1], w.semantic()[1])


def _diff(got: Any, want: Any) -> str:
    import difflib

    def lines(x: Any) -> list[str]:
        return (yaml.safe_dump(x, sort_keys=True) if not isinstance(x, str) else x).splitlines()

    return "\n".join(difflib.unified_diff(lines(want), lines(got), "our view", "Karpenter's merge", lineterm=""))
