"""Karpenter's real merge (karpenter-provider-aws v1.15.0 ``pkg/providers/amifamily/bootstrap``, run by
``karpenter-merge`` on our EC2NodeClass and NodePool documents) against what ``render`` shows
(``user-data.merged``, :func:`soci_component.render.karpenter.merged_user_data`).

For every pool of :data:`tests.karpenter.POOLS`: the node's user data after Karpenter's merge equals our view
(AL2023: the same MIME parts in order, NodeConfigs parsed, the rest byte for byte; Bottlerocket: the TOML
parsed), our SOCI parts survive unchanged, and Karpenter's cluster, labels and taints win.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import tomllib

import pytest

from soci_component.offline import placeholder_cluster
from soci_component.render import karpenter
from soci_component.spec import CriProxy, LocalStorage
from tests.karpenter import (
    BUILD_SCRIPT,
    POOLS,
    KarpenterMergeMissing,
    assert_same_node_data,
    capacity_type,
    karpenter_merge_binary,
    karpenter_merged,
    merge_request,
    mime_parts,
    pool,
    run_merge,
)

NAMES = list(POOLS)
AL2023 = [n for n in NAMES if not pool(n).bottlerocket]
BOTTLEROCKET = [n for n in NAMES if pool(n).bottlerocket]


def test_the_scenarios_cover_both_families_and_the_prod_pools() -> None:
    assert {"burst", "graviton"} <= set(NAMES) and AL2023 and BOTTLEROCKET
    stack = pool("burst").stack
    assert len(stack.node_groups) == 1 and {p.name for p in stack.node_pools} == {"burst", "graviton"}


@pytest.mark.parametrize("name", NAMES)
def test_karpenters_real_merge_is_what_render_shows(name: str, karpenter_merged) -> None:
    p = pool(name)
    assert_same_node_data(karpenter_merged(name), p.view, bottlerocket=p.bottlerocket)


@pytest.mark.parametrize("claim", [karpenter.NodeClaim(max_pods=17), karpenter.NodeClaim(capacity_type="on-demand"), karpenter.NodeClaim(capacity_type="spot")],
                         ids=["maxPods-17", "on-demand", "spot"])
@pytest.mark.parametrize("name", ["burst", "graviton"])
def test_other_nodeclaims_too(name: str, claim: karpenter.NodeClaim) -> None:
    p = pool(name)
    view = karpenter.merged_user_data(p.node.rendered.user_data, p.node.rendered.plan, placeholder_cluster(p.stack), name=name, claim=claim)
    assert_same_node_data(karpenter_merged(name, claim), view, bottlerocket=p.bottlerocket)


@pytest.mark.parametrize("name", AL2023)
def test_al2023_our_parts_come_first_unchanged_and_carry_soci(name: str) -> None:
    p = pool(name)
    real, ours = mime_parts(karpenter_merged(name)), mime_parts(p.ours)
    assert len(real) == len(ours) + 1, "Karpenter appends exactly one part: its NodeConfig"
    assert real[: len(ours)] == ours, "our parts survive byte for byte, Content-Type included"
    configs = [part.nodeconfig for part in ours if part.nodeconfig is not None]
    specs = [c["spec"] for c in configs]
    profile = p.node.rendered.plan.profile
    gate = profile.feature_gate
    gated = any((s.get("featureGates") or {}).get(gate or "-") for s in specs)
    fragment = any('snapshotter = "soci"' in (s.get("containerd") or {}).get("config", "") for s in specs)
    assert gated or fragment, "SOCI is wired by our parts: nodeadm's gate of the pinned release, or our containerd fragment"
    assert any(part.content_type.startswith("text/x-shellscript") for part in ours), "our shell part is there"
    for s in specs:
        assert "cluster" not in s, "our parts carry no cluster section: Karpenter owns it"
        kubelet = s.get("kubelet") or {}
        assert "registerWithTaints" not in kubelet.get("config", {}) and not any("--node-labels" in f for f in kubelet.get("flags", []))
    if isinstance(p.spec.credentials[0], CriProxy) and not gated:  # with the gate nodeadm points the kubelet at SOCI itself
        assert any("imageServiceEndpoint" in (s.get("kubelet") or {}).get("config", {}) for s in specs), specs
    if p.spec.local_storage is LocalStorage.RAID0:
        assert any(((s.get("instance") or {}).get("localStorage") or {}).get("strategy") == "RAID0" for s in specs), specs


@pytest.mark.parametrize("name", AL2023)
def test_al2023_karpenters_cluster_labels_and_taints_win(name: str) -> None:
    """Karpenter's NodeConfig is the last part (nodeadm merges in order: the last scalar wins) and
    the only one with a cluster, node labels and registerWithTaints."""
    p = pool(name)
    cluster = placeholder_cluster(p.stack)
    last = mime_parts(karpenter_merged(name))[-1].nodeconfig
    assert last is not None
    spec = last["spec"]
    assert spec["cluster"]["name"] == cluster.name and spec["cluster"]["apiServerEndpoint"] == cluster.endpoint and spec["cluster"]["cidr"] == cluster.service_cidr
    assert base64.b64decode(spec["cluster"]["certificateAuthority"]) == base64.b64decode(cluster.certificate_authority)
    flags = spec["kubelet"]["flags"]
    assert len(flags) == 1 and flags[0].startswith("--node-labels=")
    labels = dict(kv.split("=", 1) for kv in flags[0].removeprefix("--node-labels=").strip('"').split(","))
    assert labels["karpenter.sh/nodepool"] == name and labels["karpenter.k8s.aws/ec2nodeclass"] == name
    assert labels["karpenter.sh/capacity-type"] == capacity_type(p.spec, karpenter.NodeClaim())
    assert {k: v for k, v in p.spec.node_labels.items() if not k.startswith("node.kubernetes.io/")}.items() <= labels.items()
    taints = spec["kubelet"]["config"]["registerWithTaints"]
    assert taints.count({"key": "karpenter.sh/unregistered", "effect": "NoExecute"}) == 1
    assert [t for t in taints if t["key"] != "karpenter.sh/unregistered"] == [
        {"key": t.key, **({"value": t.value} if t.value else {}), "effect": t.effect.value} for t in p.spec.taints if t.key != "karpenter.sh/unregistered"]


@pytest.mark.parametrize("name", BOTTLEROCKET)
def test_bottlerocket_our_settings_survive_and_karpenter_owns_settings_kubernetes(name: str) -> None:
    p = pool(name)
    cluster = placeholder_cluster(p.stack)
    got, ours = tomllib.loads(karpenter_merged(name).decode()), tomllib.loads(p.ours.decode())
    assert "kubernetes" not in ours["settings"], "we put nothing in settings.kubernetes: Karpenter owns it"
    for key, value in ours["settings"].items():
        if key == "bootstrap-commands":
            assert value.items() <= got["settings"][key].items()
        else:
            assert got["settings"][key] == value, key
    assert got["settings"]["container-runtime"]["snapshotter"] == "soci"
    assert "soci-snapshotter" in got["settings"]["container-runtime-plugins"]
    k8s = got["settings"]["kubernetes"]
    assert (k8s["cluster-name"], k8s["api-server"], k8s["cluster-certificate"]) == (cluster.name, cluster.endpoint, cluster.certificate_authority)
    assert k8s["node-labels"]["karpenter.sh/nodepool"] == name and k8s["node-labels"]["karpenter.k8s.aws/ec2nodeclass"] == name
    assert k8s["node-taints"]["karpenter.sh/unregistered"] == [":NoExecute"]
    for t in p.spec.taints:
        assert f"{t.value}:{t.effect.value}" in k8s["node-taints"][t.key]
    if p.spec.local_storage is LocalStorage.RAID0:  # Bottlerocket >= 1.46: Karpenter's default bind (SOCI's directory included)
        assert got["settings"]["bootstrap-commands"]["000-mount-instance-storage"]["commands"] == [["apiclient", "ephemeral-storage", "init"], ["apiclient", "ephemeral-storage", "bind"]]


def test_bottlerocket_karpenter_overwrites_what_a_user_puts_in_settings_kubernetes() -> None:
    """Why we put nothing there: Karpenter sets cluster-name/api-server/CA, replaces node-taints wholesale,
    merges node-labels (its own win), and drops keys it does not model."""
    p = pool("graviton")
    doc = tomllib.loads(p.ours.decode())
    intruder = (p.ours.decode() + '\n[settings.kubernetes]\ncluster-name = "intruder"\napi-server = "https://intruder.example"\nnot-a-setting = "x"\n'
                '[settings.kubernetes.node-taints]\nmine = ["x:NoSchedule"]\n[settings.kubernetes.node-labels]\n"karpenter.sh/nodepool" = "other"\nextra = "kept"\n')
    node_class = copy.deepcopy(p.node_class)
    node_class["spec"]["userData"] = intruder
    got = tomllib.loads(run_merge(merge_request(p, node_class=node_class)).decode())
    k8s = got["settings"]["kubernetes"]
    assert k8s["cluster-name"] == p.stack.cluster.name and k8s["api-server"].startswith("https://PLACEHOLDER")
    assert "mine" not in k8s["node-taints"] and "not-a-setting" not in k8s
    assert k8s["node-labels"]["karpenter.sh/nodepool"] == "graviton" and k8s["node-labels"]["extra"] == "kept"
    assert {k: v for k, v in got["settings"].items() if k != "kubernetes"} == {k: v for k, v in doc["settings"].items()}


@pytest.mark.parametrize("name", ["burst", "graviton", "burst-conflicts", "graviton-conflicts"])
def test_a_view_that_diverges_fails_the_comparison(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison is not vacuous: our merge as it was before this proof (labels without the node class and
    capacity type, Karpenter's unregistered taint added even when the pool has it) is told apart."""
    p = pool(name)
    real = karpenter_merged(name)

    def old_labels(spec, pool_name, **_):
        return {**spec.node_labels, "karpenter.sh/nodepool": pool_name}

    def old_taints(spec):
        return [*({"key": t.key, **({"value": t.value} if t.value else {}), "effect": t.effect.value} for t in spec.taints), karpenter.UNREGISTERED_TAINT]

    monkeypatch.setattr(karpenter, "karpenter_labels", old_labels)
    monkeypatch.setattr(karpenter, "_taints", old_taints)
    broken = karpenter.merged_user_data(p.node.rendered.user_data, p.node.rendered.plan, placeholder_cluster(p.stack), name=name)
    assert broken != p.view
    with pytest.raises(AssertionError):
        assert_same_node_data(real, broken, bottlerocket=p.bottlerocket)


def test_a_view_with_another_dns_or_shell_part_fails_too() -> None:
    p = pool("burst")
    real = karpenter_merged("burst")
    assert_same_node_data(real, p.view, bottlerocket=False)
    with pytest.raises(AssertionError):
        assert_same_node_data(real, p.view.replace(b"172.20.0.10", b"172.20.0.11"), bottlerocket=False)
    shell = next(part.body for part in mime_parts(p.view) if part.content_type.startswith("text/x-shellscript"))
    line = shell.splitlines()[-1].encode()
    with pytest.raises(AssertionError):
        assert_same_node_data(real, p.view.replace(line, line + b" # edited"), bottlerocket=False)
    g = pool("graviton")
    with pytest.raises(AssertionError):
        assert_same_node_data(karpenter_merged("graviton"), g.view.replace(b"max-pods = 58", b"max-pods = 59"), bottlerocket=True)


def test_karpenter_reads_our_documents_with_its_own_types() -> None:
    """karpenter-merge decodes the documents into Karpenter's Go types with unknown fields refused: a field
    Karpenter does not know is an error, not silently dropped."""
    p = pool("burst")
    bad = copy.deepcopy(p.node_class)
    bad["spec"]["amiSelectorTerm"] = bad["spec"].pop("amiSelectorTerms")
    with pytest.raises(RuntimeError, match='unknown field "amiSelectorTerm"'):
        run_merge(merge_request(p, node_class=bad))
    bad_pool = copy.deepcopy(p.node_pool)
    bad_pool["spec"]["template"]["spec"]["requirement"] = bad_pool["spec"]["template"]["spec"].pop("requirements")
    with pytest.raises(RuntimeError, match='unknown field "requirement"'):
        run_merge(merge_request(p, node_pool=bad_pool))


def test_the_base64_output_is_the_decoded_one() -> None:
    assert base64.b64decode(karpenter_merged("burst", decoded=False)) == karpenter_merged("burst")


def test_missing_binary_is_an_error_naming_the_build_script(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCI_EKS_CACHE", str(tmp_path))
    with pytest.raises(KarpenterMergeMissing, match="build-go-daemons"):
        karpenter_merge_binary()
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "index.json").write_text('{"daemons": {"karpenter-merge": {"bin": {"karpenter-merge": "/nonexistent"}}}}')
    with pytest.raises(KarpenterMergeMissing, match=str(BUILD_SCRIPT)):
        karpenter_merged("burst")


def test_variants_are_what_they_say() -> None:
    assert POOLS["burst-lazy-cri"].pull_mode.value == "lazy" and isinstance(POOLS["burst-lazy-cri"].credentials[0], CriProxy)
    assert pool("burst-raid0").node_class["spec"]["instanceStorePolicy"] == "RAID0"
    assert pool("graviton-raid0").node_class["spec"]["instanceStorePolicy"] == "RAID0"
    keys = [t.key for t in POOLS["burst-conflicts"].taints]
    assert keys.count("dedicated") == 2 and "karpenter.sh/unregistered" in keys
    assert dataclasses.asdict(POOLS["graviton-conflicts"])["labels"]["node.kubernetes.io/lifecycle"] == "burst"
