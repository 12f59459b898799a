"""Reboots: the shared node comes back with SOCI on our config and every lazy mount, and a node under nodeadm's
parallel-pull gate keeps our SOCI config across a reboot. The last module of the shared node: its last test reads the
whole journal of the node's life (boots, token rotation, faults, reboot) for secrets, then the node is stopped."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from soci_component import pipeline
from soci_component.render.paths import SOCI_CONFIG
from tests.node.boot import ROTATED_PASSWORD, TOKEN_PASSWORD, BootedNode, booted_node, node_spec
from tests.node.images import Image
from tests.node.systemd_box import SystemdBox
from tests.support.moto_server import PLACEHOLDER_KEYS


@pytest.fixture(scope="module", autouse=True)
def _stop_the_shared_node_after_this_module(request: pytest.FixtureRequest) -> Iterator[None]:
    """The shared node's last module: stop it here rather than at the end of the whole tests/node package, so it does
    not run beside the other modules' boxes."""
    yield
    if any("node" in item.fixturenames for item in request.session.items if item.module is request.module):
        request.getfixturevalue("node").close()


def _sha(box: SystemdBox, path: str) -> str:
    return hashlib.sha256(box.run("cat", path).stdout.encode()).hexdigest()


def test_after_a_reboot_the_node_runs_soci_with_our_config_again(node: BootedNode) -> None:
    box = node.box
    node.wait_for_marker()
    before, mounts = _sha(box, SOCI_CONFIG), sorted(node.fuse_mounts())
    box.reboot(timeout=300)
    assert "already ran for instance" in node.journal("cloud-final.service"), node.journal("cloud-final.service")
    for unit in ("nodeadm-config.service", "nodeadm-run.service"):
        assert box.show(unit, "Result")["Result"] == "success", (unit, node.journal(unit)[-6000:])
    assert _sha(box, SOCI_CONFIG) == before, box.run("cat", SOCI_CONFIG).stdout
    assert node.usec("soci-snapshotter.service", "ActiveEnter") <= node.usec("containerd.service", "ExecMainStart")
    for unit in ("soci-snapshotter.service", "containerd.service", "kubelet.service"):
        assert box.active(unit) == "active", (unit, node.journal(unit)[-4000:])
    node.wait_for_marker(count=2)
    assert sorted(node.fuse_mounts()) == mounts, "SOCI restored every lazily loaded layer after the reboot"


PARALLEL_UNDER_GATE = "c17-parallel-cri-ami"


def test_parallel_under_nodeadms_gate_keeps_our_soci_config_after_a_reboot(tmp_path: Path) -> None:
    """``c17-parallel-cri-ami``: nodeadm's FastImagePull gate (stood in for, ``node/al2023.py``) writes its
    own SOCI config in every config phase, and our shell part runs on the first boot only. Our drop-in
    puts our config back before every SOCI start, after nodeadm's config phase: on both boots SOCI
    starts (it reads its config only then) with ours in place, images are pulled whole in parallel
    (no FUSE mount) and the pods start. Without the drop-in the reboot runs SOCI on nodeadm's file."""
    spec = node_spec(PARALLEL_UNDER_GATE)
    ours = next(f.content for f in pipeline.plan_node(spec).files if f.path == SOCI_CONFIG)
    with booted_node(tmp_path, scenario=PARALLEL_UNDER_GATE) as n:
        box = n.box

        def soci_runs_ours(when: str) -> None:
            assert box.run("cat", SOCI_CONFIG).stdout == ours, f"{when}: SOCI's config is not ours:\n{box.run('cat', SOCI_CONFIG).stdout}"
            assert n.usec("nodeadm-config.service", "ExecMainExit") <= n.usec("soci-snapshotter.service", "ExecMainStart"), f"{when}: SOCI started before nodeadm's config phase ended"
            deps = box.show("containerd.service", "Requires", "After")
            assert "soci-snapshotter.service" in deps["Requires"].split() and "soci-snapshotter.service" in deps["After"].split(), f"{when}: {deps}"
            for unit in ("nodeadm-config.service", "cloud-final.service", "nodeadm-run.service"):
                assert box.show(unit, "Result")["Result"] == "success", f"{when}: {unit} failed:\n{n.journal(unit)[-6000:]}"
            for unit in ("soci-snapshotter.service", "containerd.service", "kubelet.service"):
                assert box.active(unit) == "active", (when, unit, n.journal(unit)[-4000:])

        def pulled_whole(image: Image, since: int, when: str) -> None:
            """Every byte of every layer fetched at pull time (in 16 MiB ranges: parallel pull's chunks), no FUSE mount."""
            assert not n.fuse_mounts(), f"{when}: SOCI mounted layers lazily (FUSE): it runs nodeadm's config, not ours: {n.fuse_mounts()}"
            for layer in image.layers:
                fetched = sum(size for method, path, status, size in n.pub.served(since) if method == "GET" and path.endswith(layer.digest) and status in (200, 206))
                assert fetched >= layer.size, f"{when}: {fetched} of {layer.size} bytes of {layer.digest} fetched: not a parallel pull"

        soci_runs_ours("first boot")
        n.wait_for_marker()
        pulled_whole(n.pub.image, n.since, "first boot")
        assert "FastImagePull" in n.user_data.decode(errors="replace")
        box.reboot(timeout=300)
        assert "already ran for instance" in n.journal("cloud-final.service"), n.journal("cloud-final.service")
        soci_runs_ours("after the reboot")
        since = n.pub.log_offset()
        n.start_second_pod()
        pulled_whole(n.second[1], since, "after the reboot")


def test_no_token_or_key_in_the_journal(node: BootedNode) -> None:
    journal = node.box.run("journalctl", "--no-pager", "-o", "cat", timeout=60).stdout
    for password in (TOKEN_PASSWORD, ROTATED_PASSWORD, node.static_password):
        assert password not in journal and base64.b64encode(f"AWS:{password}".encode()).decode() not in journal
    assert json.dumps(PLACEHOLDER_KEYS) not in journal
