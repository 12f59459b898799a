"""``verify`` against a node that booted from our user data under nodeadm's phases and registered with a real API server.

The node is the default pin (v20260714: containerd 2.2.4, Kubernetes 1.33), the dev stack's node group with SOCI's
metrics on, booted under systemd in the box (``node/kube_node.py`` says what runs and what stands in). verify runs as
a user would: ``python -m soci_component verify --json`` with a kubeconfig, on the node's network (the registry's ECR
name resolves there), as a user whose only permissions are verify's ClusterRole (``soci_component.verify.rbac``).

Proven here: the kubelet registers (node object, status, the API server's node proxy to the kubelet); a correctly
rendered node passes every check and its lazily loaded pod is reported lazy; each of these makes verify fail (or warn)
with the right reason: an image without an index on a lazy node (warning), RBAC without ``nodes/proxy``, the kubelet
unreachable, a node of the group without our labels, a parallel node whose image service is not SOCI (nodeadm's gate
ignored below its floor), containerd's proxy plugin without ``exports.root``, containerd without SOCI as its
snapshotter. The node is put back after each fault, and the module's one boot is stopped at its end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from soci_component.render.paths import CONTAINERD_CONFIG
from soci_component.spec import SOCI_GROUP_LABEL, SOCI_LABEL, SOCI_MODE_LABEL
from soci_component.verify import rbac
from tests.node.kube_node import EKS_NODE_GROUP, NODE_NAME, KubeNode, kube_node, stack_yaml

GROUP = "nodeGroups.lazy"


@pytest.fixture(scope="module")
def kn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeNode]:
    with kube_node(tmp_path_factory.mktemp("verify-node")) as n:
        n.grant("verify", rbac.RULES)
        n.grant("no-node-proxy", [r for r in rbac.RULES if "nodes/proxy" not in r["resources"]])
        n.run_pod("lazy-app", n.pub.ref)
        yield n


@pytest.fixture(autouse=True)
def state_on_failure(request: pytest.FixtureRequest, kn: KubeNode) -> Iterator[None]:
    """A failed test prints the node's state (pods, runtime containers, journals) with its report."""
    yield
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(kn.state())


def group(doc: dict[str, Any]) -> dict[str, Any]:
    return next(g for g in doc["groups"] if g["key"] == GROUP)


def node_of(doc: dict[str, Any]) -> dict[str, Any]:
    nodes = group(doc)["nodes"]
    assert [n["name"] for n in nodes] == [NODE_NAME], nodes
    return nodes[0]


def checks(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in node_of(doc)["checks"]}


def container(doc: dict[str, Any], pod: str) -> dict[str, Any]:
    return next(c for c in node_of(doc)["containers"] if c["pod"] == f"default/{pod}")


def test_the_default_pin_boots_under_nodeadms_phases_with_soci_before_containerd(kn: KubeNode) -> None:
    box = kn.box
    for unit in ("nodeadm-config.service", "cloud-final.service", "nodeadm-run.service"):
        assert box.show(unit, "Result")["Result"] == "success", (unit, box.run("journalctl", "-u", unit, "--no-pager", "-o", "cat").stdout[-4000:])
    for unit in ("soci-snapshotter.service", "containerd.service", "kubelet.service"):
        assert box.active(unit) == "active", unit
    soci_up = int(box.show("soci-snapshotter.service", "ActiveEnterTimestampMonotonic")["ActiveEnterTimestampMonotonic"])
    ctd_start = int(box.show("containerd.service", "ExecMainStartTimestampMonotonic")["ExecMainStartTimestampMonotonic"])
    assert 0 < soci_up <= ctd_start
    assert "containerd github.com/containerd/containerd/v2 v2.2.4" in box.run("containerd", "--version").stdout
    dump = box.run("containerd", "config", "dump").stdout.replace("'", '"')
    assert 'snapshotter = "soci"' in dump and 'root = "/var/lib/soci-snapshotter-grpc"' in dump, dump
    images = box.run("ctr", "-n", "k8s.io", "images", "ls", "-q").stdout.split()
    assert "localhost/kubernetes/pause:latest" in images, images  # our kubelet drop-in imported the AMI's pause image into SOCI


def test_the_kubelet_registers_and_the_api_server_reaches_it(kn: KubeNode) -> None:
    node = kn.node()
    info, labels = node["status"]["nodeInfo"], node["metadata"]["labels"]
    assert info["containerRuntimeVersion"] == "containerd://2.2.4" and info["kubeletVersion"].startswith("v1.33.")
    assert info["osImage"].startswith("Amazon Linux 2023")
    assert labels[SOCI_LABEL] == "true" and labels[SOCI_MODE_LABEL] == "lazy" and labels["eks.amazonaws.com/nodegroup"] == EKS_NODE_GROUP
    assert {a["type"]: a["address"] for a in node["status"]["addresses"]}["InternalIP"] == "10.0.0.10"
    assert node["spec"]["providerID"].endswith("/i-0a1b2c3d4e5f60718")
    configz = kn.api("GET", f"/api/v1/nodes/{NODE_NAME}/proxy/configz")["kubeletconfig"]
    assert configz["containerRuntimeEndpoint"] == "unix:///run/containerd/containerd.sock"
    summary = kn.api("GET", f"/api/v1/nodes/{NODE_NAME}/proxy/stats/summary")
    assert summary["node"]["nodeName"] == NODE_NAME
    # the kubelet's node and image filesystems are the node's own disk, not the machine's (whose fill would evict pods)
    assert summary["node"]["fs"]["capacityBytes"] == summary["node"]["runtime"]["imageFs"]["capacityBytes"] == kn.box.disk_gib << 30, summary["node"]


def test_a_correctly_rendered_node_passes_every_check_and_its_pod_is_lazy(kn: KubeNode) -> None:
    rc, doc, err = kn.verify(kn.tokens["verify"])
    assert rc == 0 and doc["passed"], (err, doc)
    got = checks(doc)
    assert {k: c["status"] for k, c in got.items()} == {k: "pass" for k in got}, got
    assert set(got) == {"ready", "labels", "containerd", "kubelet", "os", "kubelet-proxy", "image-service", "image-gc", "image-fs", "soci-metrics"}
    app = container(doc, "lazy-app")
    big = [layer for layer in kn.pub.image.layers if layer.size >= 10_000_000]
    assert app["loading"] == "lazy" and app["status"] == "pass" and app["lazyLayers"] == app["indexedLayers"] == len(big) >= 2, app
    assert app["fetchedBytes"] < app["layerBytes"] / 2, app
    assert "pulled in" in app["evidence"], app
    rc, one, err = kn.verify(kn.tokens["verify"], "--node", NODE_NAME)
    assert rc == 0 and one["passed"] and group(one)["checked"] and [n["name"] for n in group(one)["nodes"]] == [NODE_NAME], (err, one)


def test_an_image_without_an_index_on_a_lazy_node_is_a_warning_naming_the_image(kn: KubeNode) -> None:
    kn.run_pod("plain-app", kn.plain)
    rc, doc, err = kn.verify(kn.tokens["verify"])
    assert rc == 0 and doc["passed"], (err, doc)  # a warning: the node works, the image just loads whole
    plain = container(doc, "plain-app")
    assert plain["image"] == kn.plain and plain["loading"] == "pulled-whole" and plain["status"] == "warn", plain
    assert "no SOCI index" in plain["evidence"] and "soci convert" in plain["fix"], plain
    assert container(doc, "lazy-app")["loading"] == "lazy"


def test_rbac_without_nodes_proxy_fails_naming_the_verb_and_resource(kn: KubeNode) -> None:
    rc, doc, err = kn.verify(kn.tokens["no-node-proxy"])
    assert rc == 1 and not doc["passed"], doc
    assert any(p.startswith("RBAC: not allowed to get nodes/proxy") for p in doc["problems"]), doc["problems"]
    got = checks(doc)
    assert got["kubelet-proxy"]["status"] == "fail" and "get nodes/proxy" in got["kubelet-proxy"]["evidence"], got["kubelet-proxy"]
    assert got["soci-metrics"]["status"] == "fail" and "get nodes/proxy" in got["soci-metrics"]["evidence"]
    assert got["ready"]["status"] == got["containerd"]["status"] == "pass"  # what the node object shows is still checked


def test_a_kubelet_the_api_server_cannot_reach_fails_the_node(kn: KubeNode) -> None:
    kn.box.systemctl("stop", "kubelet.service", check=True)
    try:
        rc, doc, err = kn.verify(kn.tokens["verify"])
    finally:
        kn.box.systemctl("start", "kubelet.service", check=True)
    assert rc == 1 and not doc["passed"], doc
    proxy = checks(doc)["kubelet-proxy"]
    assert proxy["status"] == "fail" and f"could not reach the kubelet of node {NODE_NAME}" in proxy["evidence"], proxy
    assert "10250" in proxy["fix"], proxy
    kn.settle()


def test_a_node_of_the_group_without_our_labels_fails(kn: KubeNode) -> None:
    kn.patch_labels({SOCI_LABEL: None, SOCI_MODE_LABEL: None, SOCI_GROUP_LABEL: None})
    try:
        rc, doc, err = kn.verify(kn.tokens["verify"])
    finally:
        kn.patch_labels({SOCI_LABEL: "true", SOCI_MODE_LABEL: "lazy", SOCI_GROUP_LABEL: "lazy"})
    assert rc == 1 and not doc["passed"], doc
    assert node_of(doc)["matchedBy"] == f"eks.amazonaws.com/nodegroup={EKS_NODE_GROUP}"
    labels = checks(doc)["labels"]
    assert labels["status"] == "fail" and f"{SOCI_LABEL}=true (missing)" in labels["evidence"] and f"{SOCI_MODE_LABEL}=lazy (missing)" in labels["evidence"], labels


def test_a_parallel_node_whose_image_service_is_not_soci_fails_naming_the_gate_and_its_floor(kn: KubeNode) -> None:
    """A node of a ``parallel`` group with the AMI's SOCI whose instance is below nodeadm's floor: nodeadm ignores the
    FastImagePull gate without a word, so its kubelet talks to containerd — what this node's kubelet does (its
    group's NodeConfig sets no image service). Seen through the API that node differs from ours only in its
    pull-mode label, so the node is relabelled and checked against a parallel group's expectations."""
    kn.patch_labels({SOCI_MODE_LABEL: "parallel"})
    try:
        rc, doc, err = kn.verify(kn.tokens["verify"], stack=stack_yaml(pullMode="parallel", credentials=["cri-proxy"], tuning={}))
    finally:
        kn.patch_labels({SOCI_MODE_LABEL: "lazy"})
    assert rc == 1 and not doc["passed"], doc
    got = checks(doc)
    service = got["image-service"]
    assert service["status"] == "fail" and "unix:///run/containerd/containerd.sock" in service["evidence"], service
    assert "FastImagePull" in service["evidence"] and "below its floor (4 vCPU / 7 GiB)" in service["evidence"], service
    assert got["labels"]["status"] == got["containerd"]["status"] == "pass"
    assert container(doc, "lazy-app")["loading"] == "parallel"


def test_containerd_without_exports_root_fails_the_image_filesystem_check(kn: KubeNode) -> None:
    """The proxy plugin without ``exports.root`` (what containerd < 1.7.16, or a config not ours, amounts to): containerd
    reports an image filesystem path that does not exist, and the kubelet's summary (its image GC and eviction too) fails."""
    config = kn.path(CONTAINERD_CONFIG).read_text()
    kn.restart_containerd_with(config.replace('[proxy_plugins.soci.exports]\nroot = "/var/lib/soci-snapshotter-grpc"\n', ""))
    try:
        assert "exports" not in kn.path(CONTAINERD_CONFIG).read_text()
        rc, doc, err = kn.verify(kn.tokens["verify"])
    finally:
        kn.restart_containerd_with(config)
    assert rc == 1 and not doc["passed"], doc
    got = checks(doc)
    fs = got["image-fs"]
    # kubelet 1.33 answers /stats/summary with 500 then: containerd names <root>/io.containerd.snapshotter.v1.soci, which does not exist
    assert fs["status"] == "fail" and "answered 500" in fs["evidence"] and "exports.root" in fs["evidence"] and "exports" in fs["fix"], fs
    assert '"/var/lib/containerd/io.containerd.snapshotter.v1.soci"' in fs["evidence"], fs
    assert got["kubelet-proxy"]["status"] == "pass", got["kubelet-proxy"]  # the kubelet answered: its answer is the failure


def test_containerd_without_soci_as_its_snapshotter_pulls_an_indexed_image_whole_and_fails(kn: KubeNode) -> None:
    """containerd's config without ``snapshotter = "soci"`` (the default snapshotter): SOCI keeps running and serving what it
    mounted before, but the next pod's indexed image is pulled whole by containerd — verify names that container."""
    config = kn.path(CONTAINERD_CONFIG).read_text()
    kn.restart_containerd_with(config.replace('snapshotter = "soci"\n', ""))
    try:
        assert 'snapshotter = "soci"' not in kn.box.run("containerd", "config", "dump").stdout.replace("'", '"')
        kn.run_pod("second-app", kn.second)
        rc, doc, err = kn.verify(kn.tokens["verify"])
    finally:
        kn.api("DELETE", "/api/v1/namespaces/default/pods/second-app?gracePeriodSeconds=0")
        kn.restart_containerd_with(config)
    assert rc == 1 and not doc["passed"], doc
    second = container(doc, "second-app")
    assert second["loading"] == "not-lazy" and second["status"] == "fail" and second["lazyLayers"] == 0, second
    assert "SOCI has none of its" in second["evidence"] and "snapshotter" in second["fix"], second
