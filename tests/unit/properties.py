"""Helpers of the pipeline's property tests (not a test module): a golden scenario as the stack config a user would write,
the settable keys of that config discovered from the schema itself, one valid alternative value per key, and everything
``render`` produces for a stack, as bytes.

The key list is not kept by hand: :func:`settable_keys` probes the config reader (an unknown key in a mapping is refused
with the list of accepted keys), so a key added to a schema table is found, and the property tests fail until
:data:`TOGGLES` says how to set it.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from soci_component.config import NODE_POOL, parse
from soci_component.errors import SpecError
from soci_component.offline import render_stack
from soci_component.spec import (
    AmiPackage,
    CriProxy,
    EcrCredentialHelper,
    KubernetesSecrets,
    NodeGroupSpec,
    NodePoolSpec,
    NodeSpec,
    PullMode,
    StaticCredentials,
)
from tests.support.scenarios import SCENARIOS

CLUSTER = {"name": "props", "kubernetesVersion": "1.33"}
PROBE = "zzProbeKey"
_ACCEPTED = re.compile(r"unknown key.*; accepted: (.*)$")


def credential_config(c: Any) -> Any:
    if isinstance(c, EcrCredentialHelper):
        return {"type": "ecr-credential-helper", "registries": list(c.registries)}
    if isinstance(c, StaticCredentials):
        return {"type": "static", "registry": c.registry}
    return {CriProxy: "cri-proxy", KubernetesSecrets: "kubernetes-secrets"}[type(c)]


def node_config(spec: NodeSpec) -> dict[str, Any]:
    """The ``nodeGroups[i]``/``nodePools[i]`` entry a user would write for ``spec`` (every setting stated)."""
    t, p = spec.tuning, spec.tuning.parallel
    ami: dict[str, Any] = {"variant": spec.ami.variant.value}
    ami.update({"release": spec.ami.release} if spec.ami.release else {"amiId": spec.ami.ami_id, "containerdVersion": spec.ami.containerd_version})
    source: dict[str, Any] = {"type": "ami"} if isinstance(spec.soci_source, AmiPackage) else {
        "type": "release", "version": spec.soci_source.version, "urlBase": spec.soci_source.url_base, "sha256": dict(spec.soci_source.sha256)}
    tuning: dict[str, Any] = {"minLayerSize": t.min_layer_size, "root": t.root, "v1Indexes": t.v1_indexes,
                              "mirrors": [{"host": m.host, "mirrors": list(m.mirrors), "insecure": m.insecure} for m in t.mirrors]}
    if t.content_store is not None:
        tuning["contentStore"] = t.content_store.value
    if t.metrics_address is not None:
        tuning["metricsAddress"] = t.metrics_address
    if spec.pull_mode is not PullMode.LAZY:
        tuning["parallel"] = {
            "maxConcurrentDownloads": p.max_concurrent_downloads, "maxConcurrentDownloadsPerImage": p.max_concurrent_downloads_per_image,
            "concurrentDownloadChunkSize": p.concurrent_download_chunk_size, "maxConcurrentUnpacks": p.max_concurrent_unpacks,
            "maxConcurrentUnpacksPerImage": p.max_concurrent_unpacks_per_image, "discardUnpackedLayers": p.discard_unpacked_layers,
            "decompressor": "none" if p.decompressor is None else {"path": p.decompressor.path, "args": list(p.decompressor.args)}}
    out: dict[str, Any] = {
        "name": spec.name, "os": spec.os.value, "kubernetesVersion": spec.kubernetes_version, "ami": ami, "pullMode": spec.pull_mode.value,
        "credentials": [credential_config(c) for c in spec.creds], "sociSource": source, "tuning": tuning, "labels": dict(spec.labels),
        "taints": [{"key": x.key, "value": x.value, "effect": x.effect.value} for x in spec.taints],
        "disk": {"sizeGiB": spec.disk.size_gib, "iops": spec.disk.iops, "throughputMiBps": spec.disk.throughput_mibps},
        "localStorage": spec.local_storage.value, "images": list(spec.images),
    }
    if spec.instance_types:
        out["instanceTypes"] = list(spec.instance_types)
    if isinstance(spec, NodeGroupSpec):
        out.update(capacityType=spec.capacity_type.value, subnetIds=list(spec.subnet_ids),
                   scaling={"minSize": spec.scaling.min_size, "maxSize": spec.scaling.max_size, "desiredSize": spec.scaling.desired_size})
    if isinstance(spec, NodePoolSpec):
        out.update(capacityTypes=[c.value for c in spec.capacity_types], requirements=[r.data() for r in spec.requirements],
                   limits={k: v for k, v in (("cpu", spec.limits.cpu), ("memoryGiB", spec.limits.memory_gib)) if v is not None},
                   disruption={"consolidationPolicy": spec.disruption.consolidation_policy.value, "consolidateAfter": spec.disruption.consolidate_after,
                               "budgets": list(spec.disruption.budgets)}, expireAfter=spec.expire_after)
        if spec.architecture is not None:
            out["architecture"] = spec.architecture.value
        if spec.weight is not None:
            out["weight"] = spec.weight
    return out


def as_pool(group: Mapping[str, Any]) -> dict[str, Any]:
    """The same node settings as a Karpenter pool (the managed node group's own keys dropped)."""
    return {k: copy.deepcopy(v) for k, v in group.items() if k in NODE_POOL}


def stack(groups: list[dict[str, Any]] = (), pools: list[dict[str, Any]] = (), k8s: str = "1.33", **top: Any) -> dict[str, Any]:  # type: ignore[assignment]
    cfg: dict[str, Any] = {"aws:region": "us-west-2", "soci-eks:cluster": {**CLUSTER, "kubernetesVersion": k8s}}
    if groups:
        cfg["soci-eks:nodeGroups"] = [copy.deepcopy(g) for g in groups]
    if pools:
        cfg["soci-eks:nodePools"] = [copy.deepcopy(p) for p in pools]
    cfg.update({f"soci-eks:{k}": v for k, v in top.items()})
    return cfg


def outputs(cfg: Mapping[str, Any]) -> dict[str, bytes]:
    """Everything ``render`` writes for the stack (user data, every file with its mode, report, Karpenter documents, warnings), by name."""
    out: dict[str, bytes] = {}
    for n in render_stack(parse(cfg)):
        r = n.rendered
        out[f"{r.name}/user-data"] = r.user_data
        out[f"{r.name}/raw-user-data"] = r.raw_user_data
        for f in r.files:
            out[f"{r.name}/files{f.path}"] = f"{f.mode:o} {f.writer.value} {f.note}\n{f.content}".encode()
        out[f"{r.name}/report.json"] = json.dumps(r.report.to_json(), sort_keys=True).encode()
        out[f"{r.name}/warnings"] = "\n".join(n.warnings).encode()
        out[f"{r.name}/unchecked"] = "\n".join(n.unchecked_instance_types).encode()
        for name, data in n.documents.items():
            out[f"{r.name}/{name}"] = data
    return out


# --------------------------------------------------------------------------------------------
# the settable keys, from the schema


def _get(node: Any, path: str) -> Any:
    for part in _parts(path):
        node = node[part]
    return node


def _parts(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in path.replace("]", "").replace("[", ".").split(".") if p]


def put(cfg: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of the node entry ``cfg`` with ``path`` (``tuning.mirrors[0].host``) set; missing parents are made from :data:`TOGGLES`."""
    out = copy.deepcopy(cfg)
    node: Any = out
    parts = _parts(path)
    for i, part in enumerate(parts[:-1]):
        here = ".".join(str(p) for p in parts[: i + 1]).replace(".0", "[0]")
        if isinstance(part, int):
            if len(node) <= part or not isinstance(node[part], dict):
                first = copy.deepcopy(TOGGLES[here.rsplit("[", 1)[0]][0])
                element = first[0] if isinstance(first, list) else first
                element = element if isinstance(element, dict) else {"type": element}
                if len(node) <= part:
                    node.append(element)
                else:
                    node[part] = element
        elif part not in node or not isinstance(node[part], (dict, list)) or node[part] == []:
            node[part] = copy.deepcopy(TOGGLES[here][0])
        node = node[part]
    node[parts[-1]] = copy.deepcopy(value)
    return out


def _probe(group: dict[str, Any], path: str, pool: bool) -> list[str] | None:
    """The keys the reader accepts at ``path`` (a mapping), or None when ``path`` is not a mapping of fixed keys."""
    for shape in ({PROBE: 0}, [{PROBE: 0}]):
        cfg = put(group, path, shape) if path else {**group, PROBE: 0}
        try:
            parse(stack(pools=[cfg]) if pool else stack([cfg]))
        except SpecError as e:
            m = _ACCEPTED.search(e.message)
            if m and PROBE in e.path:
                return [k.strip() for k in m.group(1).split(",")]
    return None


def settable_keys(group: dict[str, Any], pool: bool = False) -> list[str]:
    """Every key path a user can set in a node group (or pool) entry, leaves and mappings alike, found by probing the reader."""
    found: list[str] = []

    def walk(prefix: str) -> None:
        keys = _probe(group, prefix, pool)
        for k in keys or []:
            if k.startswith("<"):
                continue
            path = f"{prefix}.{k}" if prefix else k
            found.append(path)
            if path in ("labels",):
                continue
            sub = _probe(group, path, pool)
            if sub is not None:
                is_list = isinstance(TOGGLES.get(path, [None])[0], list)
                walk(f"{path}[0]" if is_list else path)

    walk("")
    return found


TOGGLES: dict[str, list[Any]] = {
    "name": ["other"],
    "os": ["bottlerocket", "al2023"],
    "kubernetesVersion": ["1.32"],
    "ami": [{"release": "v20260618"}],
    "ami.release": ["v20260618", "1.56.0"],
    "ami.amiId": ["ami-0123456789abcdef0"],
    "ami.containerdVersion": ["2.2.4"],
    "ami.variant": ["nvidia", "neuron"],
    "instanceTypes": [["m7i.2xlarge"], ["m7g.2xlarge"], ["m6id.2xlarge"]],
    "pullMode": ["lazy", "parallel", "lazy-with-parallel-fallback"],
    "credentials": [["cri-proxy"], ["ecr-credential-helper"], [{"type": "static", "registry": "registry.example.com"}], ["kubernetes-secrets"]],
    "credentials[0].type": ["kubernetes-secrets", "cri-proxy"],
    "credentials[0].registries": [["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]],
    "credentials[0].registry": ["quay.io"],
    "sociSource": [{"type": "release"}, {"type": "ami"}],
    "sociSource.type": ["release", "ami"],
    "sociSource.version": ["0.15.0"],
    "sociSource.urlBase": ["https://mirror.example.com/soci"],
    "sociSource.sha256": [{"amd64": "a" * 64, "arm64": "b" * 64}],
    "sociSource.sha256.amd64": ["c" * 64],
    "sociSource.sha256.arm64": ["d" * 64],
    "tuning": [{"minLayerSize": 1}],
    "tuning.minLayerSize": [0],
    "tuning.root": ["/data/soci"],
    "tuning.contentStore": ["soci", "containerd"],
    "tuning.parallel": [{"maxConcurrentDownloads": 7}],
    "tuning.parallel.maxConcurrentDownloads": [7],
    "tuning.parallel.maxConcurrentDownloadsPerImage": [9],
    "tuning.parallel.concurrentDownloadChunkSize": ["8mb"],
    "tuning.parallel.maxConcurrentUnpacks": [3],
    "tuning.parallel.maxConcurrentUnpacksPerImage": [5],
    "tuning.parallel.discardUnpackedLayers": [False],
    "tuning.parallel.decompressor": [{"path": "/usr/bin/pigz", "args": ["-d"]}, "none"],
    "tuning.parallel.decompressor.path": ["/usr/bin/pigz"],
    "tuning.parallel.decompressor.args": [["-d", "-c", "-p", "4"]],
    "tuning.mirrors": [[{"host": "docker.io", "mirrors": ["mirror.example.com"]}]],
    "tuning.mirrors[0].host": ["quay.io"],
    "tuning.mirrors[0].mirrors": [["m2.example.com"]],
    "tuning.mirrors[0].insecure": [True],
    "tuning.v1Indexes": [True],
    "tuning.metricsAddress": ["0.0.0.0:9464"],
    "labels": [{"team": "ml"}],
    "taints": [[{"key": "dedicated", "effect": "NoSchedule"}]],
    "taints[0].key": ["other"],
    "taints[0].value": ["x"],
    "taints[0].effect": ["NoExecute"],
    "disk": [{"preset": "parallel"}],
    "disk.preset": ["parallel-max"],
    "disk.sizeGiB": [300],
    "disk.iops": [6000],
    "disk.throughputMiBps": [500],
    "localStorage": ["raid0"],
    "capacityType": ["SPOT"],
    "scaling": [{"minSize": 2, "maxSize": 5, "desiredSize": 3}],
    "scaling.minSize": [0],
    "scaling.maxSize": [4],
    "scaling.desiredSize": [1],
    "subnetIds": [["subnet-0123456789abcdef0"]],
    "images": [["public.ecr.aws/team/app:1"]],
    "architecture": ["arm64"],
    "capacityTypes": [["SPOT"]],
    "requirements": [[{"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["m7i"]}]],
    "requirements[0].key": ["example.com/tier"],
    "requirements[0].operator": ["NotIn"],
    "requirements[0].values": [["m6i"]],
    "limits": [{"cpu": 64}],
    "limits.cpu": [64],
    "limits.memoryGiB": [256],
    "disruption": [{"consolidationPolicy": "WhenEmpty"}],
    "disruption.consolidationPolicy": ["WhenEmpty"],
    "disruption.consolidateAfter": ["5m"],
    "disruption.budgets": [["5"]],
    "weight": [10],
    "expireAfter": ["Never"],
}
"""One or more valid alternative values for every settable key (a key path under ``nodeGroups[i]``/``nodePools[i]``)."""

AWS_RESOURCES_ONLY = {
    "instanceTypes": "the EKS node group's instanceTypes (a pool's go into its NodePool requirements)",
    "capacityType": "the EKS node group's capacityType",
    "scaling": "the EKS node group's scalingConfig",
    "scaling.minSize": "the EKS node group's scalingConfig",
    "scaling.maxSize": "the EKS node group's scalingConfig",
    "scaling.desiredSize": "the EKS node group's scalingConfig",
    "subnetIds": "the EKS node group's subnets",
}
"""Keys whose value reaches only a managed node group's AWS resources (checked under Pulumi mocks in tests/mocks/test_properties_program.py)."""
ELSEWHERE = {"images": "images check --stack"}
"""Keys that by design change nothing a node receives, and the command that reads them."""


def representatives() -> Iterator[str]:
    """One golden scenario per class a setting can depend on: OS, release and Kubernetes version (containerd line), pull mode, SOCI source,
    local storage, mirrors (credential sources are toggled on each)."""
    seen: set[tuple[Any, ...]] = set()
    for name, s in SCENARIOS.items():
        spec = s.spec
        key = (spec.os, spec.ami.release, spec.kubernetes_version, spec.pull_mode, type(spec.soci_source), spec.local_storage, spec.tuning.mirrors != ())
        if key not in seen:
            seen.add(key)
            yield name


__all__ = ["AWS_RESOURCES_ONLY", "ELSEWHERE", "TOGGLES", "as_pool", "node_config", "outputs", "put", "representatives",
           "settable_keys", "stack"]
