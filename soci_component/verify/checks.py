"""One node against its group's expectations: each check with its evidence and what to do. Pure (observations in, checks out)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .collect import Got, NodeObservation
from .errors import ErrorKind
from .expect import CONTAINERD_ENDPOINT, MIN_CONTAINERD, SOCI_ENDPOINT, Expectation
from .metrics import MetricsError, mounted_layers
from .types import Check, Status

RBAC_FIX = "bind verify's ClusterRole to your identity (README: Verify your cluster, RBAC)"
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def size(n: float) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def _version(text: str) -> tuple[int, int, int] | None:
    m = _VERSION.search(text)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def ready(node: Mapping[str, Any]) -> Check:
    conds = {c.get("type"): c for c in (node.get("status") or {}).get("conditions") or []}
    c = conds.get("Ready")
    if c is None:
        return Check("ready", Status.FAIL, "no Ready condition: the kubelet never reported status", "see `kubectl describe node`")
    said = f"Ready={c.get('status')} ({c.get('reason', '')}: {c.get('message', '')}) since {c.get('lastTransitionTime', '?')}"
    if c.get("status") == "True":
        return Check("ready", Status.PASS, said)
    return Check("ready", Status.FAIL, said, "on a SOCI node a SOCI that cannot start keeps containerd and the kubelet down by design: "
                                             "`journalctl -u soci-snapshotter -u containerd -u kubelet` on the node (SSM), or replace it")


def labels(exp: Expectation, node: Mapping[str, Any], matched_by: str) -> Check:
    have = (node.get("metadata") or {}).get("labels") or {}
    wrong = [f"{k}={v} (has {k}={have[k]})" if k in have else f"{k}={v} (missing)" for k, v in exp.labels.items() if have.get(k) != v]
    shown = ", ".join(f"{k}={v}" for k, v in exp.labels.items())
    if not wrong:
        return Check("labels", Status.PASS, f"{shown}; in the {exp.kind.value} by {matched_by}")
    return Check("labels", Status.FAIL, f"a node of {exp.key} (by {matched_by}) without the component's labels: {'; '.join(wrong)}",
                 "this node did not boot from the component's launch template / EC2NodeClass (older version, user data replaced, or labels "
                 "edited): workloads pinned to soci.snapshotter/enabled=true skip it and others may land on a node whose SOCI set-up is unknown; "
                 "roll the group (`pulumi up`, then replace the node)")


def containerd(exp: Expectation, info: Mapping[str, Any]) -> Check:
    raw = str(info.get("containerRuntimeVersion", ""))
    runtime, _, version = raw.partition("://")
    v = _version(version)
    if runtime != "containerd" or v is None:
        return Check("containerd", Status.FAIL, f"container runtime {raw or 'unknown'}: not containerd", "SOCI nodes run containerd; this is not a node of the pinned AMI")
    want = _version(exp.containerd_version)
    shown = f"{raw} (the pinned {exp.release or 'AMI'} ships {exp.containerd_version}"
    if v < MIN_CONTAINERD:
        return Check("containerd", Status.FAIL, shown + "): below 1.7.16, containerd neither enforces ephemeral-storage limits nor runs image GC "
                                                        "with SOCI", "replace the node with one of the pinned release")
    if v != want:
        return Check("containerd", Status.FAIL, shown + "): the node is not on the pinned AMI", "an older launch template version or another AMI: "
                                                                                                "roll the group")
    return Check("containerd", Status.PASS, shown + ", >= 1.7.16)")


def kubelet(exp: Expectation, info: Mapping[str, Any]) -> Check:
    raw = str(info.get("kubeletVersion", ""))
    v = _version(raw)
    want = tuple(int(x) for x in exp.kubernetes_version.split("."))
    if v is None or v[:2] != want:
        return Check("kubelet", Status.FAIL, f"kubelet {raw or 'unknown'}; the stack pins Kubernetes {exp.kubernetes_version}", "roll the group onto the pinned AMI")
    return Check("kubelet", Status.PASS, f"kubelet {raw} (Kubernetes {exp.kubernetes_version})")


def os_image(exp: Expectation, info: Mapping[str, Any]) -> Check:
    image, arch, kernel = str(info.get("osImage", "")), str(info.get("architecture", "")), str(info.get("kernelVersion", ""))
    shown = f"{image or 'unknown OS'}, {arch or '?'}, kernel {kernel or '?'}"
    if exp.os.value == "bottlerocket":
        ok = image.startswith("Bottlerocket OS") and (exp.release is None or f" {exp.release} " in f"{image} ")
        want = f"Bottlerocket OS {exp.release or ''}".strip()
    else:
        ok, want = image.startswith("Amazon Linux 2023"), "Amazon Linux 2023"
    if not ok or arch != exp.arch:
        return Check("os", Status.FAIL, f"{shown}; expected {want} on {exp.arch}", "the node does not run the pinned AMI: roll the group")
    return Check("os", Status.PASS, shown)


def kubelet_proxy(obs: NodeObservation) -> Check:
    """Does the kubelet answer through the API server's node proxy? (An error the kubelet itself answers with is the
    check that asked for it, not this one.)"""
    errs = [g.error for g in (obs.configz, obs.summary) if g.error is not None and g.error.kind in (ErrorKind.FORBIDDEN, ErrorKind.PROXY)]
    if not errs:
        return Check("kubelet-proxy", Status.PASS, "the kubelet answers through the API server's node proxy (/configz, /stats/summary)")
    e = errs[0]
    if e.kind is ErrorKind.FORBIDDEN:
        return Check("kubelet-proxy", Status.FAIL, e.message, RBAC_FIX)
    return Check("kubelet-proxy", Status.FAIL, e.message, "the control plane reaches the kubelet on the node's InternalIP, port 10250: check the node is up "
                                                          "(Ready) and its security groups allow the cluster security group")


def _unread(check_id: str, got: Got, what: str) -> Check:
    """A check whose source could not be read: a failure when the kubelet answered with an error; otherwise ``info`` (the
    ``kubelet-proxy`` check fails for an unreachable kubelet or missing RBAC)."""
    if got.error is not None and got.error.kind is ErrorKind.SERVER:
        return Check(check_id, Status.FAIL, f"the kubelet could not report {what}: {got.error.message}", "see the kubelet's log on the node")
    return Check(check_id, Status.INFO, f"not checked: {got.error.message if got.error else f'the kubelet reported no {what}'}")


def _kubeletconfig(got: Got) -> Mapping[str, Any] | None:
    if not got.ok or not isinstance(got.value, dict):
        return None
    kc = got.value.get("kubeletconfig")
    return kc if isinstance(kc, dict) else None


def image_service(exp: Expectation, got: Got) -> Check:
    kc = _kubeletconfig(got)
    if kc is None:
        return _unread("image-service", got, "its configuration (/configz)")
    runtime = str(kc.get("containerRuntimeEndpoint") or "")
    effective = str(kc.get("imageServiceEndpoint") or "") or runtime
    shown = f"the kubelet's image service is {effective}" + (" (its runtime endpoint; imageServiceEndpoint unset)" if not kc.get("imageServiceEndpoint") else "")
    if exp.soci_image_service:
        good = "soci" in effective if exp.os.value == "bottlerocket" else effective == SOCI_ENDPOINT
        if good:
            return Check("image-service", Status.PASS, f"{shown}: SOCI's, as expected ({exp.image_service_why})")
        if exp.gate:
            return Check("image-service", Status.FAIL, f"{shown}, not SOCI's socket: nodeadm's {exp.gate} gate did not wire SOCI on this node. nodeadm "
                                                       f"ignores the gate without a message on instances below its floor ({exp.size_floor or 'per release'}): "
                                                       "containerd runs without SOCI and every pull bypasses it",
                         f"use instance types of at least {exp.size_floor or 'the floor'} (preview checks the types the stack names; a node of another "
                         "type joined), or pin a 'release' sociSource, which has no floor")
        return Check("image-service", Status.FAIL, f"{shown}, not SOCI's socket ({exp.image_service_why}): the kubelet pulls past SOCI's CRI proxy, so "
                                                   "SOCI gets no credentials from pulls", "the node's kubelet config is not the rendered one: roll the group")
    if effective in (CONTAINERD_ENDPOINT, "/run/containerd/containerd.sock"):
        return Check("image-service", Status.PASS, f"{shown}: containerd's, as expected ({exp.image_service_why})")
    if effective == SOCI_ENDPOINT:
        return Check("image-service", Status.WARN, f"{shown}: SOCI's CRI proxy, although {exp.key} has no cri-proxy credentials",
                     "the node's kubelet config is not the rendered one: roll the group")
    return Check("image-service", Status.FAIL, f"{shown}: neither containerd's nor SOCI's", "the node's kubelet config is not the rendered one: roll the group")


def image_gc(got: Got) -> Check:
    kc = _kubeletconfig(got)
    if kc is None:
        return _unread("image-gc", got, "its configuration (/configz)")
    high, low = kc.get("imageGCHighThresholdPercent", 85), kc.get("imageGCLowThresholdPercent", 80)
    shown = f"imageGCHighThresholdPercent={high}, imageGCLowThresholdPercent={low}"
    if not isinstance(high, int) or not isinstance(low, int) or high >= 100 or not 0 <= low < high:
        return Check("image-gc", Status.FAIL, f"{shown}: image GC is off or cannot run", "SOCI does not reclaim its caches by itself (soci#1560): keep "
                                                                                          "the kubelet's image GC on (high < 100, low < high)")
    return Check("image-gc", Status.PASS, f"{shown}: the kubelet removes unused images above {high} % of the image filesystem")


EXPORTS_FIX = ("every rendered config sets [proxy_plugins.soci.exports] root to SOCI's root: this node's containerd config is not ours (or its "
               "containerd predates 1.7.16): roll the group")


def image_fs(exp: Expectation, got: Got) -> Check:
    if got.error is not None and got.error.kind is ErrorKind.SERVER:
        said = got.error.message
        if ".snapshotter.v1.soci" in said or "imageFs" in said:
            return Check("image-fs", Status.FAIL, f"the kubelet cannot measure containerd's image filesystem ({said}). containerd names "
                                                  "<root>/io.containerd.snapshotter.v1.soci, which does not exist, when SOCI's proxy plugin has no "
                                                  "exports.root: the kubelet's stats, image GC and ephemeral-storage eviction cannot see the disk SOCI fills",
                         EXPORTS_FIX)
    if not got.ok or not isinstance(got.value, dict):
        return _unread("image-fs", got, "its image filesystem (/stats/summary)")
    node = got.value.get("node") or {}
    fs = (node.get("runtime") or {}).get("imageFs")
    if not isinstance(fs, dict):
        return Check("image-fs", Status.FAIL, "the kubelet reports no image filesystem (containerd's CRI ImageFsInfo failed)",
                     "containerd cannot report its snapshotter's storage: check containerd's config on the node")
    cap, avail, used = fs.get("capacityBytes"), fs.get("availableBytes"), fs.get("usedBytes")
    if not cap:
        return Check("image-fs", Status.FAIL, f"the kubelet reports the image filesystem without capacity (used {size(used or 0)}): containerd names a path "
                                              "that does not exist. With SOCI that is the proxy plugin without exports.root: containerd then reports "
                                              "<containerd root>/io.containerd.snapshotter.v1.soci instead of SOCI's root, and the kubelet's image GC and "
                                              "ephemeral-storage eviction cannot see the disk SOCI fills",
                     EXPORTS_FIX)
    root = node.get("fs") or {}
    where = "the node's root filesystem" if root.get("capacityBytes") == cap else "a filesystem of its own (not the node's root filesystem)"
    return Check("image-fs", Status.PASS, f"image filesystem {size(cap)}, {size(avail or 0)} available (containerd counts {size(used or 0)} in its "
                                          f"snapshots), on {where}: the kubelet measures the filesystem containerd reports for its snapshotter "
                                          f"(SOCI's root {exp.soci_root} when exports.root is set; the API does not show the path)")


def soci_metrics(exp: Expectation, got: Got | None) -> tuple[Check, dict[str, Any] | None]:
    """The metrics check, and SOCI's mounted layers by digest when they could be read."""
    if exp.metrics_port is None or got is None:
        return Check("soci-metrics", Status.INFO, "SOCI's metrics are off (tuning.metricsAddress unset): which layers SOCI serves lazily is not "
                                                  "visible through the API", "set tuning.metricsAddress (e.g. 0.0.0.0:9464) to see lazy loading per pod"), None
    if got.error is not None:
        fix = RBAC_FIX if got.error.kind is ErrorKind.FORBIDDEN else (
            f"SOCI is not listening on port {exp.metrics_port} (not running with the rendered config, which sets metrics_address), or the control plane "
            f"cannot reach that port on the node (security groups: allow the cluster security group)")
        return Check("soci-metrics", Status.FAIL, got.error.message, fix), None
    try:
        layers = mounted_layers(str(got.value))
    except MetricsError as e:
        return Check("soci-metrics", Status.FAIL, f"port {exp.metrics_port} answers, but not with SOCI's metrics ({e})",
                     "another program listens on that port: pick a free tuning.metricsAddress port"), None
    fetched, total = sum(v.fetched for v in layers.values()), sum(v.size for v in layers.values())
    return Check("soci-metrics", Status.PASS, f"SOCI answers on port {exp.metrics_port}: {len(layers)} layers mounted lazily now"
                                              + (f", {size(fetched)} of {size(total)} fetched" if layers else "")), dict(layers)


def node_checks(exp: Expectation, obs: NodeObservation, matched_by: str) -> tuple[list[Check], dict[str, Any] | None]:
    """Every check of one node, and SOCI's mounted layers (None when SOCI's metrics were not read)."""
    info = (obs.node.get("status") or {}).get("nodeInfo") or {}
    proxy = kubelet_proxy(obs)
    checks = [ready(obs.node), labels(exp, obs.node, matched_by), containerd(exp, info), kubelet(exp, info), os_image(exp, info), proxy]
    unreachable = proxy.status is Status.FAIL
    for check in (image_service(exp, obs.configz), image_gc(obs.configz), image_fs(exp, obs.summary)):
        checks.append(Check(check.id, Status.INFO, f"not checked: {proxy.evidence}") if unreachable and check.status is Status.INFO else check)
    metrics, layers = soci_metrics(exp, obs.metrics)
    checks.append(metrics)
    return checks, layers


__all__ = ["containerd", "image_fs", "image_gc", "image_service", "kubelet", "kubelet_proxy", "labels", "node_checks", "os_image", "ready", "size",
           "soci_metrics"]
