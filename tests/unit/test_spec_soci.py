"""spec/soci.py: credential sources, the SOCI source (urlBase, sha256) and SOCI's tuning.

``tuning.metricsAddress``: SOCI's Prometheus endpoint where the API server's node proxy reaches it (``verify``).

Accepted only on every address of the node (``0.0.0.0``, ``[::]``, empty host), a port SOCI can bind; refused with the key
path: loopback (the node proxy connects to the node's IP: nothing could read it), one fixed address (each node has its
own: SOCI — and containerd, which requires it — would not start on the others), unix sockets, the node daemons' ports.
Written as SOCI's top-level ``metrics_address`` only when set (default bytes unchanged), also under nodeadm's gate
(our config replaces nodeadm's before every SOCI start); Bottlerocket has no setting for it.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import replace
from typing import Any

import pytest

from soci_component import pipeline
from soci_component.config import parse
from soci_component.errors import SpecError
from soci_component.offline import render_stack
from soci_component.render.paths import SOCI_CONFIG, SOCI_CONFIG_OURS
from soci_component.render.soci import soci_config
from soci_component.spec import SociTuning, UpstreamRelease
from tests.support.scenarios import SCENARIOS

BASE: dict[str, Any] = {
    "aws:region": "us-west-2",
    "soci-eks:cluster": {"name": "c", "kubernetesVersion": "1.33"},
    "soci-eks:nodeGroups": [{"name": "a", "ami": {"release": "v20260714"}, "instanceTypes": ["m7i.xlarge"]}],
}


def stack_with(tuning: dict[str, Any], **group: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(BASE)
    cfg["soci-eks:nodeGroups"][0].update(group, tuning=tuning)
    return cfg


@pytest.mark.parametrize("address", ["0.0.0.0:9464", ":9464", "[::]:9464", "0.0.0.0:1", "0.0.0.0:65535"])
def test_every_address_of_the_node_is_accepted_and_written_as_given(address: str) -> None:
    spec = render_stack(parse(stack_with({"metricsAddress": address})))[0].rendered
    soci = next(f.content for f in spec.files if f.path == SOCI_CONFIG)
    assert tomllib.loads(soci)["metrics_address"] == address
    assert soci.startswith(f'metrics_address = "{address}"\n'), "a top-level key must come before SOCI's tables"


@pytest.mark.parametrize(("address", "says"), [
    ("127.0.0.1:9464", "loopback only"), ("localhost:9464", "loopback only"), ("[::1]:9464", "loopback only"), ("127.1.2.3:80", "loopback only"),
    ("10.0.0.5:9464", "each node has its own IP"), ("node.example.com:9464", "each node has its own IP"),
    ("/run/soci/metrics.sock", "unix socket is not reachable"), ("unix:///run/x.sock", "is not"),
    ("0.0.0.0:0", "PORT 1..65535"), ("0.0.0.0:65536", "PORT 1..65535"), ("9464", "is not"), ("0.0.0.0:", "is not"), (":::9464", "in brackets"),
    ("0.0.0.0:10250", "the kubelet's API"), (":10248", "the kubelet's healthz"), ("[::]:10249", "kube-proxy's metrics"), ("0.0.0.0:10256", "kube-proxy's healthz"),
    ("0.0.0.0:9464\n", "control character"), (9464, "expected a string"),
])
def test_addresses_the_node_proxy_cannot_reach_or_soci_cannot_bind_are_refused_with_the_key_path(address: Any, says: str) -> None:
    with pytest.raises(SpecError) as e:
        render_stack(parse(stack_with({"metricsAddress": address})))
    assert e.value.path == "nodeGroups[0].tuning.metricsAddress", e.value
    assert says in e.value.message, e.value.message


def test_unset_leaves_socis_config_without_the_key() -> None:
    for name, s in SCENARIOS.items():
        if s.spec.os.value == "al2023":
            assert "metrics_address" not in soci_config(s.spec), name
    assert SociTuning().metrics_address is None


def test_under_nodeadms_gate_our_config_with_the_address_is_what_soci_starts_with() -> None:
    """nodeadm's gate rewrites SOCI's config in every config phase; our drop-in copies ours (with the address) over it."""
    s = SCENARIOS["c22-parallel-cri-ami"].spec
    assert s.uses_fast_image_pull
    plan = pipeline.plan_node(replace(s, tuning=replace(s.tuning, metrics_address="0.0.0.0:9464")))
    files = {f.path: f.content for f in plan.files}
    assert tomllib.loads(files[SOCI_CONFIG_OURS])["metrics_address"] == "0.0.0.0:9464"
    assert files[SOCI_CONFIG] == files[SOCI_CONFIG_OURS]


def test_bottlerocket_has_no_setting_for_it() -> None:
    cfg = stack_with({"metricsAddress": "0.0.0.0:9464"}, os="bottlerocket", pullMode="parallel", ami={"release": "1.57.0"}, instanceTypes=["m7g.xlarge"])
    with pytest.raises(SpecError) as e:
        render_stack(parse(cfg))
    assert e.value.path == "nodeGroups[0].tuning.metricsAddress" and "Bottlerocket has no setting" in e.value.message


@pytest.mark.parametrize("url", ["https://example.com/$(reboot)", "https://example.com/${HOME}", "https://example.com/a`id`", "https://example.com/a b",
                                 "https://example.com/a\\b", "https://example.com/'x'"])
def test_url_base_refuses_shell_characters_after_a_valid_start(url: str) -> None:
    """Mutant url-base-dollar-allowed: a valid start followed by a shell expansion."""
    with pytest.raises(SpecError) as e:
        UpstreamRelease(url_base=url)
    assert e.value.path == "UpstreamRelease.urlBase"



@pytest.mark.parametrize("digest, ok", [("a" * 64, True), ("a" * 63, False), ("a" * 32, False), ("a" * 65, False), ("A" * 64, False)])
def test_pinned_sha256_is_exactly_64_lowercase_hex(digest: str, ok: bool) -> None:
    """Mutant sha256-short-accepted: the boot script checks ^[0-9a-f]{64}$, so a shorter pin is a node that never boots."""
    if ok:
        assert UpstreamRelease(sha256={"amd64": digest}).sha256 == {"amd64": digest}
        return
    with pytest.raises(SpecError) as e:
        UpstreamRelease(sha256={"amd64": digest})
    assert e.value.path == "UpstreamRelease.sha256.amd64"



@pytest.mark.parametrize("field", ["max_concurrent_downloads", "max_concurrent_unpacks"])
@pytest.mark.parametrize("value, ok", [(-2, False), (-1, True), (0, False), (1, True), (2**63 - 1, True), (2**63, False)])
def test_parallel_concurrency_is_positive_or_unlimited(field: str, value: int, ok: bool) -> None:
    """SOCI reads -1 as unlimited; 0 would allow no download/unpack at all."""
    from soci_component.spec import ParallelTuning

    if ok:
        assert getattr(ParallelTuning(**{field: value}), field) == value
    else:
        with pytest.raises(SpecError, match="a positive integer, or -1"):
            ParallelTuning(**{field: value})


@pytest.mark.parametrize("value, ok", [(0, True), (2**63 - 1, True), (2**63, False), (-1, False)])
def test_min_layer_size_is_a_go_int64(value: int, ok: bool) -> None:
    """SOCI reads min_layer_size as an int64: 2**63-1 is the largest it can hold."""
    if ok:
        assert SociTuning(min_layer_size=value).min_layer_size == value
    else:
        with pytest.raises(SpecError, match="non-negative number of bytes"):
            SociTuning(min_layer_size=value)
