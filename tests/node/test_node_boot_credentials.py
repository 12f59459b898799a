"""Credentials on a booted node: static credentials from Secrets Manager serve SOCI's lazy reads, ECR tokens rotate
under running pods, and a ``cri-proxy`` group's kubelet hands SOCI the pull's token through SOCI's image service."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

from soci_component.spec import SOCI_SOCKET
from tests.node.boot import ROTATED_PASSWORD, STATIC_HOST, STATIC_USER, TOKEN_PASSWORD, TOKEN_TTL, BootedNode, booted_node


def _files_holding(top: Path, needles: list[bytes]) -> list[str]:
    hits = []
    for p in top.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink() and p.stat().st_size < 64 << 20:
                data = p.read_bytes()
                if any(n in data for n in needles):
                    hits.append(str(p.relative_to(top)))
        except OSError:
            continue
    return hits


def test_static_credentials_come_from_secrets_manager_and_serve_socis_lazy_reads(node: BootedNode) -> None:
    """The boot script's real ``aws secretsmanager get-secret-value`` (moto) put the registry's
    credentials into SOCI's docker config, and nowhere else; a pull from that registry (the kubelet
    passing its pull secret to containerd) is lazily loaded by SOCI with them."""
    box, static = node.box, node.static
    auth = base64.b64encode(f"{STATIC_USER}:{node.static_password}".encode()).decode()
    config = node.path("/root/.docker/config.json")
    assert json.loads(config.read_text())["auths"] == {STATIC_HOST: {"auth": auth}}
    assert config.stat().st_mode & 0o777 == 0o600
    needles = [node.static_password.encode(), auth.encode()]
    leaks = [f for f in _files_holding(box.upper, needles) + _files_holding(box.varlib, needles) if f != "root/.docker/config.json"]
    assert leaks == [], leaks
    assert node.static_password not in box.run("journalctl", "--no-pager", "-o", "cat", timeout=60).stdout
    before, mounts = static.log_offset(), len(node.fuse_mounts())
    rc, out = node.cri("pull", static.ref, "--user", STATIC_USER, "--password", node.static_password)
    assert rc == 0, out
    assert len(node.fuse_mounts()) == mounts + len(static.image.layers), node.journal("soci-snapshotter.service")[-4000:]
    layers = {layer.digest for layer in static.image.layers}
    reads = [status for method, path, status, _ in static.served(before) if method == "GET" and path.rsplit("/", 1)[-1] in layers]
    assert reads and set(reads) == {206}, reads


def test_ecr_token_rotation_the_old_token_is_refused_and_lazy_pulls_go_on(node: BootedNode) -> None:
    """ECR's token changes (moto's generation 1); once every token of the old generation has expired
    the registry takes only the new one: a pod started afterwards gets its image through the kubelet's
    provider and SOCI's ECR helper, both asking moto again, and is loaded lazily."""
    box, pub = node.box, node.pub
    node.wait_for_marker()
    node.generation.write_text("1")
    time.sleep(TOKEN_TTL + 1)
    pub.registry.users = {"AWS": ROTATED_PASSWORD}
    pub.registry.stop()
    with box.net():
        pub.registry.start()
        assert pub.registry.status("/v2/", auth=("AWS", TOKEN_PASSWORD)) == 401
        assert pub.registry.status("/v2/", auth=("AWS", ROTATED_PASSWORD)) == 200
    before, mounts = pub.log_offset(), len(node.fuse_mounts())
    _, image = node.second
    node.start_second_pod()
    assert len(node.fuse_mounts()) == mounts + len(image.layers)
    layers = {layer.digest for layer in image.layers}
    reads = [status for method, path, status, _ in pub.served(before) if method == "GET" and path.rsplit("/", 1)[-1] in layers]
    assert reads and set(reads) == {206}, reads


def test_cri_proxy_the_kubelet_pulls_through_socis_image_service(tmp_path: Path) -> None:
    """``c17-lazy-cri-ami``: the kubelet's image service is SOCI's socket (the rendered NodeConfig's
    ``imageServiceEndpoint``); the kubelet's provider gets the ECR token, SOCI takes it from the CRI
    request (no ECR helper in SOCI's docker config) and loads the pod's image lazily."""
    with booted_node(tmp_path, scenario="c17-lazy-cri-ami") as n:
        box = n.box
        dropin = json.loads(box.run("cat", "/etc/kubernetes/kubelet/config.json.d/00-nodeadm.conf").stdout)
        assert dropin["imageServiceEndpoint"] == f"unix://{SOCI_SOCKET}", dropin
        assert "--config-dir=/etc/kubernetes/kubelet/config.json.d" in box.run("cat", "/etc/eks/kubelet/environment").stdout
        assert "credHelpers" not in json.loads(n.path("/root/.docker/config.json").read_text())
        n.wait_for_marker()
        assert len(n.fuse_mounts()) == len(n.pub.image.layers)
        layers = {layer.digest for layer in n.pub.image.layers}
        reads = [status for method, path, status, _ in n.pub.served(n.since) if method == "GET" and path.rsplit("/", 1)[-1] in layers]
        assert reads and set(reads) == {206}, reads
