"""Karpenter node pools: the ``EC2NodeClass`` (karpenter.k8s.aws/v1) and ``NodePool`` (karpenter.sh/v1) as data. Pure.

What Karpenter owns and what we own in a pool's user data (karpenter-provider-aws
``pkg/providers/amifamily/bootstrap``): for AL2023 Karpenter keeps the parts of our MIME archive in
order and appends its own NodeConfig (cluster name, endpoint, CA and CIDR, kubelet ``--node-labels``,
``registerWithTaints``, maxPods/clusterDNS, ``instance.localStorage`` for ``instanceStorePolicy: RAID0``);
nodeadm merges the NodeConfigs in order. So our part has no cluster section and no labels/taints flags:
only the containerd fragment, the parallel-pull gate, ``imageServiceEndpoint`` for ``cri-proxy``,
``localStorage`` and the boot script. For Bottlerocket Karpenter owns ``settings.kubernetes`` (it drops
unknown keys there and replaces taints wholesale, karpenter-provider-aws#8126): our TOML has only the
``container-runtime`` and SOCI settings (and bootstrap commands); labels and taints go on the NodePool.
"""

from __future__ import annotations

import email
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import tomlkit
import yaml

from ..rules import MEMORY_MARGIN
from ..spec import CapacityType, LocalStorage, NodePoolSpec, OperatingSystem
from . import mime, nodeconfig
from .bottlerocket import cluster_dns_ip
from .plan import NodePlan
from .types import ClusterInfo

__all__ = ["EC2NODECLASS_API", "KARPENTER_MERGE_OVERHEAD", "NODEPOOL_API", "NodeClaim", "ec2nodeclass", "merged_user_data", "nodepool", "requirements"]

EC2NODECLASS_API = "karpenter.k8s.aws/v1"
NODEPOOL_API = "karpenter.sh/v1"
KARPENTER_MERGE_OVERHEAD = 4096
"""Bytes Karpenter's own NodeConfig part adds to an AL2023 pool's user data at most (cluster CA up to
2 KB base64, endpoint, CIDR, kubelet config, MIME headers), before labels and taints: our part must
leave room for it under EC2's 16 KB, uncompressed (Karpenter parses the MIME archive, so it cannot be gzipped)."""


def requirements(spec: NodePoolSpec, plan: NodePlan) -> list[dict[str, Any]]:
    """The pool's requirements: architecture, OS, capacity types, the pinned release's nodeadm size floor
    (when nodeadm's gate wires SOCI), instance store for ``raid0``, the listed instance types, then the user's."""
    p = plan.profile
    out: list[dict[str, Any]] = [
        {"key": "kubernetes.io/arch", "operator": "In", "values": [spec.arch.release_arch]},
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": [_capacity(c) for c in spec.capacity_types]},
    ]
    if spec.uses_fast_image_pull and p.size_floor is not None:
        # Karpenter's instance-cpu is vCPUs and instance-memory MiB of EC2's figure; nodeadm compares online memory (rules.MEMORY_MARGIN).
        memory = math.ceil(p.size_floor.memory_gib * 1024 * (1 + MEMORY_MARGIN))
        out.append({"key": "karpenter.k8s.aws/instance-cpu", "operator": "Gt", "values": [str(p.size_floor.vcpus - 1)]})
        out.append({"key": "karpenter.k8s.aws/instance-memory", "operator": "Gt", "values": [str(memory - 1)]})
    if spec.local_storage is LocalStorage.RAID0:
        out.append({"key": "karpenter.k8s.aws/instance-local-nvme", "operator": "Gt", "values": ["0"]})
    if spec.instance_types:
        out.append({"key": "node.kubernetes.io/instance-type", "operator": "In", "values": list(spec.instance_types)})
    out += [r.data() for r in spec.requirements]
    return out


def _capacity(c: CapacityType) -> str:
    return "on-demand" if c is CapacityType.ON_DEMAND else "spot"


def ec2nodeclass(
    spec: NodePoolSpec,
    plan: NodePlan,
    *,
    name: str,
    role: str,
    user_data: str,
    subnet_selector_terms: Sequence[Mapping[str, Any]],
    security_group_selector_terms: Sequence[Mapping[str, Any]],
    tags: Mapping[str, str],
    metadata_hop_limit: int = 2,
) -> dict[str, Any]:
    """The EC2NodeClass: the pinned AMI alias (never ``@latest``), our user data, disks, IMDSv2, role, selectors."""
    p = plan.profile
    assert p.karpenter_alias is not None, "pools pin a catalogued release"
    devices = []
    for d in plan.block_devices:
        ebs: dict[str, Any] = {"volumeSize": f"{d.size_gib}Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True}
        if d.iops is not None:
            ebs["iops"] = d.iops
        if d.throughput_mibps is not None:
            ebs["throughput"] = d.throughput_mibps
        devices.append({"deviceName": d.device, "ebs": ebs, **({"rootVolume": True} if d.device == "/dev/xvda" and spec.os is OperatingSystem.AL2023 else {})})
    node_spec: dict[str, Any] = {
        "amiSelectorTerms": [{"alias": p.karpenter_alias}],
        "role": role,
        "subnetSelectorTerms": [dict(t) for t in subnet_selector_terms],
        "securityGroupSelectorTerms": [dict(t) for t in security_group_selector_terms],
        "userData": user_data,
        "blockDeviceMappings": devices,
        "metadataOptions": {"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled", "httpPutResponseHopLimit": metadata_hop_limit, "httpTokens": "required"},
        "tags": dict(tags),
    }
    if spec.local_storage is LocalStorage.RAID0:
        node_spec["instanceStorePolicy"] = "RAID0"
    return {"apiVersion": EC2NODECLASS_API, "kind": "EC2NodeClass", "metadata": {"name": name, "labels": _labels(spec)}, "spec": node_spec}


def nodepool(spec: NodePoolSpec, plan: NodePlan, *, name: str, node_class: str) -> dict[str, Any]:
    """The NodePool: SOCI labels and the user's, taints, requirements from the rules, limits, disruption."""
    template_spec: dict[str, Any] = {
        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": node_class},
        "requirements": requirements(spec, plan),
        "expireAfter": spec.expire_after,
    }
    if spec.taints:
        template_spec["taints"] = [{"key": t.key, **({"value": t.value} if t.value else {}), "effect": t.effect.value} for t in spec.taints]
    pool: dict[str, Any] = {
        "template": {"metadata": {"labels": spec.node_labels}, "spec": template_spec},
        "disruption": {
            "consolidationPolicy": spec.disruption.consolidation_policy.value,
            "consolidateAfter": spec.disruption.consolidate_after,
            "budgets": [{"nodes": b} for b in spec.disruption.budgets],
        },
    }
    limits = {k: v for k, v in (("cpu", spec.limits.cpu), ("memory", f"{spec.limits.memory_gib}Gi" if spec.limits.memory_gib else None)) if v is not None}
    if limits:
        pool["limits"] = {k: str(v) for k, v in limits.items()}
    if spec.weight is not None:
        pool["weight"] = spec.weight
    return {"apiVersion": NODEPOOL_API, "kind": "NodePool", "metadata": {"name": name, "labels": _labels(spec)}, "spec": pool}


def _labels(spec: NodePoolSpec) -> dict[str, str]:
    return {"app.kubernetes.io/managed-by": "soci-eks", "soci-eks/node-pool": spec.name}


# --------------------------------------------------------------------------------------------
# The user data a pool's node receives after Karpenter's merge (the offline view)


@dataclass(frozen=True)
class NodeClaim:
    """A representative node Karpenter would launch for the pool (what the merged view is computed for)."""

    max_pods: int = 58
    """What Karpenter derives from the instance type's ENIs when the EC2NodeClass sets no kubelet.maxPods (58 on m7i.2xlarge)."""
    capacity_type: str | None = None
    """The capacity type Karpenter launched (``on-demand``, ``spot``); unset: ``spot`` when the pool allows it
    (Karpenter launches the cheapest offering), else ``on-demand``. It becomes the ``karpenter.sh/capacity-type`` label."""


UNREGISTERED_TAINT = {"key": "karpenter.sh/unregistered", "effect": "NoExecute"}
"""Karpenter adds it to every node until the node registers (sigs.k8s.io/karpenter pkg/apis/v1)."""


_NOT_CUSTOM_LABEL_DOMAINS = ("karpenter.sh", "karpenter.k8s.aws", "kubernetes.io", "k8s.io")
_FORBIDDEN_LABEL_DOMAINS = ("node-restriction.kubernetes.io", "kubernetes.io", "k8s.io")


def _in_domains(key: str, domains: Sequence[str]) -> bool:
    ns = key.split("/", 1)[0] if "/" in key else ""
    return any(ns == d or ns.endswith("." + d) for d in domains)


def karpenter_labels(spec: NodePoolSpec, name: str, *, node_class: str | None = None, claim: NodeClaim = NodeClaim()) -> dict[str, str]:
    """The labels Karpenter passes to the node's bootstrap (its kubelet ``--node-labels`` / Bottlerocket ``node-labels``).

    As sigs.k8s.io/karpenter's NodeClaimTemplate makes them: the NodePool template's labels,
    ``karpenter.sh/nodepool``, ``karpenter.k8s.aws/ec2nodeclass`` and the value of each custom-label ``In``
    requirement (a custom key under NotIn/Exists/Gt/Lt gets a random value from Karpenter: not shown);
    then ``karpenter.sh/capacity-type`` (launch-template provider) and without the kubernetes.io/k8s.io
    labels the kubelet may not set itself (amifamily.RejectForbiddenLabels; Karpenter puts those on the Node)."""
    labels = {**spec.node_labels, "karpenter.sh/nodepool": name, "karpenter.k8s.aws/ec2nodeclass": node_class or name}
    for r in spec.requirements:
        if r.operator.value == "In" and not _in_domains(r.key, _NOT_CUSTOM_LABEL_DOMAINS):
            labels[r.key] = r.values[0]
    labels["karpenter.sh/capacity-type"] = claim.capacity_type or ("spot" if CapacityType.SPOT in spec.capacity_types else "on-demand")
    return {k: v for k, v in labels.items() if not _in_domains(k, _FORBIDDEN_LABEL_DOMAINS)}


def _taints(spec: NodePoolSpec) -> list[dict[str, str]]:
    """The NodePool's taints, then Karpenter's unregistered taint unless a taint of that key and effect is there already."""
    taints = [{"key": t.key, **({"value": t.value} if t.value else {}), "effect": t.effect.value} for t in spec.taints]
    if not any(t["key"] == UNREGISTERED_TAINT["key"] and t["effect"] == UNREGISTERED_TAINT["effect"] for t in taints):
        taints.append(UNREGISTERED_TAINT)
    return taints


def merged_user_data(ours: bytes, plan: NodePlan, cluster: ClusterInfo, *, name: str, claim: NodeClaim = NodeClaim()) -> bytes:
    """What the node reads after Karpenter's merge (karpenter-provider-aws v1.15 ``bootstrap.Nodeadm`` / ``bootstrap.Bottlerocket``).

    AL2023: our MIME parts in order, then Karpenter's NodeConfig (cluster, kubelet maxPods/clusterDNS/
    registerWithTaints, ``--node-labels``, local storage for RAID0). Bottlerocket: our TOML with
    ``settings.kubernetes`` filled in (cluster, labels, taints, max pods, DNS) and, for RAID0, Karpenter's
    instance-storage bootstrap command. The real merge is run in the tests and compared with this."""
    spec = plan.spec
    assert isinstance(spec, NodePoolSpec)
    dns = cluster_dns_ip(cluster.service_cidr)
    labels = karpenter_labels(spec, name, claim=claim)
    if plan.bottlerocket is not None:
        doc = tomlkit.parse(ours.decode())
        settings = doc["settings"]
        k8s = tomlkit.table()
        k8s.add("api-server", cluster.endpoint)
        k8s.add("cluster-certificate", cluster.certificate_authority)
        k8s.add("cluster-dns-ip", dns)
        k8s.add("cluster-name", cluster.name)
        k8s.add("max-pods", claim.max_pods)
        node_labels = tomlkit.table()
        for k, v in sorted(labels.items()):
            node_labels.add(k, v)
        k8s.add("node-labels", node_labels)
        taints = tomlkit.table()
        grouped: dict[str, list[str]] = {}
        for t in _taints(spec):
            grouped.setdefault(t["key"], []).append(f"{t.get('value', '')}:{t['effect']}")
        for k, vs in grouped.items():
            taints.add(k, vs)
        k8s.add("node-taints", taints)
        settings["kubernetes"] = k8s  # type: ignore[index]
        if spec.local_storage is LocalStorage.RAID0:
            cmd = tomlkit.table()
            cmd.add("commands", [["apiclient", "ephemeral-storage", "init"], ["apiclient", "ephemeral-storage", "bind"]])
            cmd.add("essential", True)
            cmd.add("mode", "always")
            settings["bootstrap-commands"] = tomlkit.table(is_super_table=True).add("000-mount-instance-storage", cmd)  # type: ignore[index]
        return tomlkit.dumps(doc).encode()
    msg = email.message_from_bytes(ours)
    parts = [(p.get_content_type(), p.get_payload()) for p in msg.get_payload()]  # type: ignore[union-attr]
    # As Karpenter serialises its NodeConfig struct (bootstrap/nodeadm.go): empty containerd and
    # instance.localStorage objects, metadata {}, and the labels flag with its value in double quotes.
    node: dict[str, Any] = {
        "cluster": {"apiServerEndpoint": cluster.endpoint, "certificateAuthority": cluster.certificate_authority, "cidr": cluster.service_cidr, "name": cluster.name},
        "containerd": {},
        "instance": {"localStorage": {"strategy": "RAID0"} if spec.local_storage is LocalStorage.RAID0 else {}},
        "kubelet": {
            "config": {"clusterDNS": [dns], "maxPods": claim.max_pods, "registerWithTaints": _taints(spec)},
            "flags": ['--node-labels="' + ",".join(f"{k}={v}" for k, v in sorted(labels.items())) + '"'],
        },
    }
    karpenter_part = "# Karpenter Generated NodeConfig\n" + yaml.safe_dump({"apiVersion": nodeconfig.API_VERSION, "kind": "NodeConfig", "metadata": {}, "spec": node}, sort_keys=True)
    parts.append((mime.NODECONFIG, karpenter_part))
    lines = ["MIME-Version: 1.0", f'Content-Type: multipart/mixed; boundary="{mime.BOUNDARY}"', ""]
    for content_type, body in parts:
        lines += [f"--{mime.BOUNDARY}", f"Content-Type: {content_type}", "", body.removesuffix("\n")]
    lines.append(f"--{mime.BOUNDARY}--")
    return ("\n".join(lines) + "\n").encode()
