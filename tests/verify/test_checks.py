"""verify's judgement, pure: observations (what the API returned, as data) in, checks out. Every check passes on what a
correctly rendered node shows and fails, with its reason, on each way a node can silently run without SOCI."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from soci_component.config import parse
from soci_component.verify import rbac
from soci_component.verify.assess import assign, report
from soci_component.verify.checks import containerd, image_fs, image_gc, image_service, kubelet, kubelet_proxy, labels, node_checks, os_image, ready
from soci_component.verify.collect import ClusterObservation, Got, NodeObservation
from soci_component.verify.errors import ErrorKind, KubeError
from soci_component.verify.expect import Expectation, expectations
from soci_component.verify.indexes import IndexFacts, Layer
from soci_component.verify.metrics import MetricsError, mounted_layers
from soci_component.verify.metrics import parse as parse_metrics
from soci_component.verify.output import text
from soci_component.verify.pods import container_evidence, go_duration, pull_of
from soci_component.verify.types import Loading, Status

STACK = {
    "aws:region": "us-west-2",
    "soci-eks:cluster": {"name": "soci-dev", "kubernetesVersion": "1.33"},
    "soci-eks:nodeGroups": [
        {"name": "lazy", "ami": {"release": "v20260714"}, "instanceTypes": ["m7i.xlarge"], "tuning": {"metricsAddress": "0.0.0.0:9464"}},
        {"name": "fast", "ami": {"release": "v20260714"}, "instanceTypes": ["m7i.xlarge"], "pullMode": "parallel", "credentials": ["cri-proxy"],
         "labels": {"tier": "batch"}},
    ],
    "soci-eks:nodePools": [{"name": "burst", "ami": {"release": "v20260714"}, "pullMode": "parallel", "credentials": ["cri-proxy"]}],
}
EXPS = {e.name: e for e in expectations(parse(STACK))}
LAZY, FAST, POOL = EXPS["lazy"], EXPS["fast"], EXPS["burst"]
SOCI_SOCK = "unix:///run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock"
CTD_SOCK = "unix:///run/containerd/containerd.sock"
L1, L2, SMALL = "sha256:" + "1" * 64, "sha256:" + "2" * 64, "sha256:" + "3" * 64


def node(name: str = "n1", labels: dict[str, str] | None = None, **info: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"soci.snapshotter/enabled": "true", "soci.snapshotter/pull-mode": "lazy", "soci.snapshotter/node-group": "lazy",
                                                  "eks.amazonaws.com/nodegroup": "soci-dev-lazy-node-group-0a1b2c3", **(labels or {})}},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ok", "lastTransitionTime": "t"}],
                       "nodeInfo": {"containerRuntimeVersion": "containerd://2.2.4", "kubeletVersion": "v1.33.13-eks-1a2b3c", "osImage": "Amazon Linux 2023.8.20260710",
                                    "architecture": "amd64", "kernelVersion": "6.12", **info}}}


def configz(**kc: Any) -> Got:
    return Got(value={"kubeletconfig": {"containerRuntimeEndpoint": CTD_SOCK, "imageGCHighThresholdPercent": 85, "imageGCLowThresholdPercent": 80, **kc}})


def summary(image_fs: dict[str, Any] | None = None) -> Got:
    fs = {"capacityBytes": 100 << 30, "availableBytes": 60 << 30, "usedBytes": 0}
    return Got(value={"node": {"fs": dict(fs), "runtime": {"imageFs": image_fs if image_fs is not None else fs}}})


METRICS = f"""# HELP soci_fs_layer_size_bytes Total size of the layer
# TYPE soci_fs_layer_size_bytes counter
soci_fs_layer_size_bytes{{digest="{L1}",mountpoint="/var/lib/soci-snapshotter-grpc/snapshotter/snapshots/7/fs"}} 2.5165824e+07
soci_fs_layer_fetched_size_bytes{{digest="{L1}",mountpoint="/var/lib/soci-snapshotter-grpc/snapshotter/snapshots/7/fs"}} 1.048576e+06
soci_fs_layer_size_bytes{{digest="{L2}",mountpoint="/var/lib/soci-snapshotter-grpc/snapshotter/snapshots/8/fs"}} 1.6777216e+07
soci_fs_layer_fetched_size_bytes{{digest="{L2}",mountpoint="/var/lib/soci-snapshotter-grpc/snapshotter/snapshots/8/fs"}} 0
go_goroutines 42
"""


def observed(n: dict[str, Any] | None = None, **kw: Any) -> NodeObservation:
    return NodeObservation(node=n or node(), configz=kw.get("configz", configz()), summary=kw.get("summary", summary()), metrics=kw.get("metrics", Got(value=METRICS)),
                           pods=kw.get("pods", Got(value=[])))


def proxy_error(kind: ErrorKind, message: str) -> Got:
    return Got(error=KubeError(kind, message))


def test_a_correct_node_passes_every_check() -> None:
    checks, layers = node_checks(LAZY, observed(), "eks.amazonaws.com/nodegroup=soci-dev-lazy-node-group-0a1b2c3")
    assert {c.id: c.status for c in checks} == {k: Status.PASS for k in ("ready", "labels", "containerd", "kubelet", "os", "kubelet-proxy", "image-service",
                                                                         "image-gc", "image-fs", "soci-metrics")}
    assert layers is not None and set(layers) == {L1, L2}


@pytest.mark.parametrize(("fn", "says"), [
    (lambda: ready({"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": "container runtime is down"}]}}),
     "Ready=False (KubeletNotReady: container runtime is down)"),
    (lambda: labels(LAZY, node(labels={"soci.snapshotter/pull-mode": "parallel"}), "x"), "soci.snapshotter/pull-mode=lazy (has soci.snapshotter/pull-mode=parallel)"),
    (lambda: containerd(LAZY, {"containerRuntimeVersion": "containerd://2.2.3"}), "not on the pinned AMI"),
    (lambda: containerd(LAZY, {"containerRuntimeVersion": "containerd://1.7.11"}), "below 1.7.16"),
    (lambda: containerd(LAZY, {"containerRuntimeVersion": "cri-o://1.33.0"}), "not containerd"),
    (lambda: kubelet(LAZY, {"kubeletVersion": "v1.32.9"}), "the stack pins Kubernetes 1.33"),
    (lambda: os_image(LAZY, {"osImage": "Ubuntu 24.04", "architecture": "amd64"}), "expected Amazon Linux 2023"),
    (lambda: os_image(LAZY, {"osImage": "Amazon Linux 2023", "architecture": "arm64"}), "on amd64"),
    (lambda: image_service(LAZY, configz(imageServiceEndpoint="unix:///run/other.sock")), "neither containerd's nor SOCI's"),
    (lambda: image_service(FAST, configz()), "FastImagePull gate did not wire SOCI"),
    (lambda: image_gc(configz(imageGCHighThresholdPercent=100)), "image GC is off"),
    (lambda: image_fs(LAZY, summary({"usedBytes": 0})), "without capacity"),
    (lambda: image_fs(LAZY, proxy_error(ErrorKind.SERVER, 'the kubelet of node n1 answered 500: failed to get device for dir "/var/lib/containerd/io.containerd.snapshotter.v1.soci"')),
     "has no exports.root"),
    (lambda: kubelet_proxy(observed(configz=proxy_error(ErrorKind.PROXY, "could not reach"), summary=proxy_error(ErrorKind.PROXY, "could not reach"))), "could not reach"),
    (lambda: kubelet_proxy(observed(configz=proxy_error(ErrorKind.FORBIDDEN, "RBAC: not allowed to get nodes/proxy"))), "get nodes/proxy"),
])
def test_each_way_to_miss_soci_fails_with_its_reason(fn: Any, says: str) -> None:
    c = fn()
    assert c.status is Status.FAIL and says in c.evidence, c
    assert c.fix, "a failure says what to do"


def test_image_service_is_socis_exactly_when_the_group_needs_it() -> None:
    assert image_service(FAST, configz(imageServiceEndpoint=SOCI_SOCK)).status is Status.PASS
    assert image_service(LAZY, configz()).status is Status.PASS
    assert image_service(LAZY, configz(imageServiceEndpoint=CTD_SOCK)).status is Status.PASS
    assert image_service(LAZY, configz(imageServiceEndpoint=SOCI_SOCK)).status is Status.WARN
    assert "4 vCPU / 7 GiB" in image_service(FAST, configz()).evidence


def test_soci_metrics_off_unreachable_or_not_socis() -> None:
    from soci_component.verify.checks import soci_metrics

    off, layers = soci_metrics(FAST, None)
    assert off.status is Status.INFO and layers is None and "tuning.metricsAddress" in off.evidence
    down, _ = soci_metrics(LAZY, proxy_error(ErrorKind.PROXY, "could not reach SOCI's metrics endpoint"))
    assert down.status is Status.FAIL and "port 9464" in down.fix
    other, _ = soci_metrics(LAZY, Got(value="<html>not metrics</html>"))
    assert other.status is Status.FAIL and "not with SOCI's metrics" in other.evidence


def test_metrics_parser_reads_layers_and_refuses_garbage() -> None:
    layers = mounted_layers(METRICS)
    assert layers[L1].size == 25165824 and layers[L1].fetched == 1048576 and layers[L2].fetched == 0
    assert parse_metrics('m{a="x\\"y"} 1\n')["m"] == [({"a": 'x"y'}, 1.0)]
    with pytest.raises(MetricsError):
        mounted_layers("this is { not metrics")


def pod(name: str, image: str, ns: str = "default") -> dict[str, Any]:
    return {"metadata": {"namespace": ns, "name": name}, "spec": {"containers": [{"name": "app", "image": image}]},
            "status": {"containerStatuses": [{"name": "app", "image": image, "imageID": f"{image.split(':')[0]}@sha256:{'a' * 64}", "state": {"running": {}}}]}}


def lookup_for(facts: dict[str, IndexFacts]) -> Any:
    return lambda ref, platform, v1: facts[ref.split("@")[0]]


EVENTS = [{"involvedObject": {"kind": "Pod", "namespace": "default", "name": "app"}, "lastTimestamp": "2",
           "message": 'Successfully pulled image "reg.example/app:v1" in 812ms (1.2s including waiting). Image size: 41943040 bytes.'}]
INDEXED = IndexFacts("reg.example/app", True, "ready: SOCI v2 index", (Layer(L1, 25165824, True), Layer(L2, 16777216, True), Layer(SMALL, 1000, True)))


def test_a_pod_of_an_indexed_image_is_lazy_when_socis_metrics_show_its_layers() -> None:
    [e] = container_evidence(LAZY, pod("app", "reg.example/app:v1"), EVENTS, lookup_for({"reg.example/app": INDEXED}), mounted_layers(METRICS), "")
    assert (e.loading, e.status, e.lazy_layers, e.indexed_layers, e.pull_seconds, e.image_bytes) == (Loading.LAZY, Status.PASS, 2, 2, 0.812, 41943040)
    assert "pulled in 812ms" in e.evidence


def test_an_indexed_image_soci_did_not_mount_fails_and_an_unindexed_one_warns() -> None:
    [e] = container_evidence(LAZY, pod("app", "reg.example/app:v1"), EVENTS, lookup_for({"reg.example/app": INDEXED}), {}, "")
    assert e.loading is Loading.NOT_LAZY and e.status is Status.FAIL and "snapshotter" in e.fix
    plain = IndexFacts("reg.example/plain", False, "not lazy: no SOCI index; pulled whole (12.0 MiB)")
    [w] = container_evidence(LAZY, pod("p", "reg.example/plain:v1"), [], lookup_for({"reg.example/plain": plain}), {}, "")
    assert w.loading is Loading.WHOLE and w.status is Status.WARN and "no SOCI index" in w.evidence and "soci convert" in w.fix
    [s] = container_evidence(LAZY, pod("aws-node", "reg.example/plain:v1", ns="kube-system"), [], lookup_for({"reg.example/plain": plain}), {}, "")
    assert s.status is Status.INFO, "an AWS system image nobody can index is not a warning"


def test_without_metrics_or_registry_lazy_loading_is_unknown_not_failed() -> None:
    [e] = container_evidence(LAZY, pod("app", "reg.example/app:v1"), EVENTS, lookup_for({"reg.example/app": INDEXED}), None, "SOCI's metrics are off")
    assert e.loading is Loading.UNKNOWN and e.status is Status.INFO and "metrics are off" in e.evidence
    gone = IndexFacts("reg.example/app", None, "the registry could not be read: unreachable")
    [u] = container_evidence(LAZY, pod("app", "reg.example/app:v1"), EVENTS, lookup_for({"reg.example/app": gone}), mounted_layers(METRICS), "")
    assert u.loading is Loading.UNKNOWN and u.status is Status.INFO
    [p] = container_evidence(FAST, pod("app", "reg.example/app:v1"), EVENTS, lookup_for({}), None, "")
    assert p.loading is Loading.PARALLEL and p.status is Status.INFO


def test_pull_events_and_go_durations() -> None:
    assert go_duration("1m2.5s") == 62.5 and go_duration("812ms") == pytest.approx(0.812) and go_duration("1.5µs") == pytest.approx(1.5e-6)
    assert go_duration("soon") is None and go_duration("1sx") is None
    assert pull_of([{"message": 'Container image "a:1" already present on machine'}], "a:1")[2].startswith("already present")
    assert pull_of([], "a:1")[0] is None


def test_nodes_belong_to_groups_by_provisioner_label_then_by_their_labels() -> None:
    exps = list(EXPS.values())
    by_group = node("a")
    by_eks = node("f")
    del by_eks["metadata"]["labels"]["soci.snapshotter/node-group"]
    pool = node("b", {"karpenter.sh/nodepool": "burst", "soci.snapshotter/pull-mode": "parallel"})
    del pool["metadata"]["labels"]["eks.amazonaws.com/nodegroup"]
    del pool["metadata"]["labels"]["soci.snapshotter/node-group"]
    by_labels = copy.deepcopy(pool)
    by_labels["metadata"].update(name="c", labels={"soci.snapshotter/enabled": "true", "soci.snapshotter/pull-mode": "parallel", "tier": "batch"})
    stray = node("d", {"eks.amazonaws.com/nodegroup": "someone-else"})
    bare = node("e", {"eks.amazonaws.com/nodegroup": "soci-dev-lazy-node-group-fffffff"})
    for k in ("soci.snapshotter/enabled", "soci.snapshotter/pull-mode"):
        del bare["metadata"]["labels"][k]
    del stray["metadata"]["labels"]["soci.snapshotter/node-group"]
    out, others = assign(exps, [by_group, by_eks, pool, by_labels, stray, bare])
    names = {k: [(n["metadata"]["name"], how.split("=")[0]) for n, how in v] for k, v in out.items()}
    assert names == {"nodeGroups.lazy": [("a", "soci.snapshotter/node-group"), ("f", "eks.amazonaws.com/nodegroup"), ("e", "soci.snapshotter/node-group")],
                     "nodeGroups.fast": [("c", "its labels (soci.snapshotter/enabled")], "nodePools.burst": [("b", "karpenter.sh/nodepool")]}
    assert others == ["d"]
    assert labels(LAZY, bare, "x").status is Status.FAIL


def test_the_report_passes_only_when_every_group_does_and_nothing_stopped_verify() -> None:
    exps = [LAZY]
    n = node()
    obs = ClusterObservation(server="https://api", context="ctx", nodes=[n], observed={"n1": observed(n)})
    out, others = assign(exps, obs.nodes)
    r = report(exps, obs, out, others, lookup_for({}))
    assert r.passed and r.group("lazy").passed and r.groups[0].nodes[0].check("image-fs").status is Status.PASS
    lines = list(text(r))
    assert lines[-1].startswith("PASS") and any("✓ image-fs" in line for line in lines)
    obs.missing = [rbac.NODE_PROXY]
    r = report(exps, obs, out, others, lookup_for({}))
    assert not r.passed and r.problems[0].startswith("RBAC: not allowed to get nodes/proxy")
    empty = ClusterObservation(server="https://api", context="ctx", nodes=[])
    r = report(list(EXPS.values()), empty, *assign(list(EXPS.values()), []), lookup_for({}))
    assert not r.group("lazy").passed and r.group("burst").passed, "a group's minimum of nodes must be there; a pool may have none"
    assert "✗ nodes" in "\n".join(text(r))


def test_expectations_come_from_the_same_plan_render_makes() -> None:
    assert (LAZY.containerd_version, LAZY.kubernetes_version, LAZY.metrics_port, LAZY.soci_image_service) == ("2.2.4", "1.33", 9464, False)
    assert (FAST.gate, FAST.soci_image_service, FAST.metrics_port) == ("FastImagePull", True, None)
    assert FAST.labels == {"soci.snapshotter/enabled": "true", "soci.snapshotter/node-group": "fast", "soci.snapshotter/pull-mode": "parallel", "tier": "batch"}
    assert (POOL.min_nodes, POOL.eks_name) == (0, None) and LAZY.eks_name == "soci-dev-lazy-node-group-xxxxxxx"
    assert isinstance(LAZY, Expectation) and LAZY.owns({"eks.amazonaws.com/nodegroup": "soci-dev-lazy-node-group-0a1b2c3"})
    assert not LAZY.owns({"eks.amazonaws.com/nodegroup": "soci-dev-lazy-node-group-0A1B2C3"})


def test_the_text_puts_what_to_do_under_each_failing_check_only() -> None:
    """Every failed or warning check with a fix is followed by its fix, indented under it; a passing one by none."""
    exps = list(EXPS.values())
    n = node()
    del n["metadata"]["labels"]["soci.snapshotter/pull-mode"]
    obs = ClusterObservation(server="https://api", context="ctx", nodes=[n], observed={"n1": observed(n)})
    r = report(exps, obs, *assign(exps, obs.nodes), lookup_for({}))
    g = r.group("lazy")
    nd = g.nodes[0]
    i = next(i for i, c in enumerate(nd.checks) if c.status is Status.PASS)
    nd = dataclasses.replace(nd, checks=nd.checks[:i] + (dataclasses.replace(nd.checks[i], fix="not for a passing check"),) + nd.checks[i + 1 :])
    r = dataclasses.replace(r, groups=tuple(dataclasses.replace(g, nodes=(nd, *g.nodes[1:])) if x is g else x for x in r.groups))
    lines = list(text(r))
    seen = 0
    for g in r.groups:
        for c, pad in [(c, "  ") for c in g.checks] + [(c, "    ") for nd in g.nodes for c in nd.checks]:
            i = lines.index(f"{pad}{c.status.mark} {c.id:<14} {c.evidence}")
            follows = lines[i + 1] if i + 1 < len(lines) else ""
            if c.fix and c.status in (Status.FAIL, Status.WARN):
                assert follows == f"{pad}  → {c.fix}", (c, follows)
                seen += 1
            else:
                assert "→" not in follows, (c, follows)
    assert seen >= 2, lines
