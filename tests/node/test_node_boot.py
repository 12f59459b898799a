"""The boot sequence of an AL2023 node in the box (``node/boot.py`` says what runs and how the box differs from EC2):
systemd runs nodeadm's config phase, our shell part, nodeadm's run phase; containerd merges our config and reports SOCI's
root as the image filesystem; the kubelet starts a pod lazily through SOCI."""

from __future__ import annotations

from datetime import UTC, datetime

from soci_component.spec import DEFAULT_SOCI_ROOT as SOCI_ROOT
from tests.node.boot import EKS_REGISTRY, SANDBOX_REPO, SANDBOX_TAG, SCENARIO, BootedNode


def test_systemd_runs_nodeadm_config_then_our_script_then_nodeadm_run(node: BootedNode) -> None:
    box = node.box
    for unit in ("nodeadm-config.service", "cloud-final.service", "nodeadm-run.service"):
        r = box.show(unit, "Result", "ActiveState")
        assert r["Result"] == "success", (unit, r, node.journal(unit)[-4000:])
    config_done = node.usec("nodeadm-config.service", "ExecMainExit")
    final_start, final_done = node.usec("cloud-final.service", "ExecMainStart"), node.usec("cloud-final.service", "ExecMainExit")
    run_start = node.usec("nodeadm-run.service", "ExecMainStart")
    soci_ready = node.usec("soci-snapshotter.service", "ActiveEnter")
    ctd_start = node.usec("containerd.service", "ExecMainStart")
    kubelet_start = node.usec("kubelet.service", "ExecMainStart")
    assert 0 < config_done <= final_start < soci_ready <= final_done <= run_start < ctd_start < kubelet_start, {
        "config_done": config_done, "final_start": final_start, "soci_ready": soci_ready, "final_done": final_done,
        "run_start": run_start, "containerd": ctd_start, "kubelet": kubelet_start}
    assert "soci-eks: SOCI is up" in node.journal("cloud-final.service")
    print("\n".join(f"{t:7.3f} s  {what}" for t, what in node.timeline()))
    for unit in ("soci-snapshotter.service", "containerd.service", "kubelet.service"):
        assert box.active(unit) == "active", (unit, node.journal(unit)[-4000:])


def test_nodeadm_merged_our_containerd_config_and_pulled_the_sandbox_image(node: BootedNode) -> None:
    dump = node.box.run("containerd", "config", "dump").stdout
    assert 'snapshotter = "soci"' in dump and "[proxy_plugins.soci]" in dump, dump
    assert f'sandbox_image = "{EKS_REGISTRY}/{SANDBOX_REPO}:{SANDBOX_TAG}"' in dump  # the AMI template's, kept by the merge
    assert "SystemdCgroup = true" in dump
    assert "Finished pulling sandbox image" in node.journal("nodeadm-run.service")
    env = node.box.run("cat", "/etc/eks/kubelet/environment").stdout
    assert f"--node-labels=soci.snapshotter/enabled=true,soci.snapshotter/node-group={SCENARIO},soci.snapshotter/pull-mode=lazy" in env, env


def test_the_kubelet_starts_the_pod_lazily_through_soci(node: BootedNode) -> None:
    log = node.wait_for_marker()
    started = node.box.run("systemctl", "show", "-p", "UserspaceTimestamp", "--value", "--timestamp=us+utc").stdout.split()
    t0 = datetime.strptime(" ".join(started[1:3]), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    printed = datetime.fromisoformat(log.split()[0][:26] + "+00:00")
    print(f"{(printed - t0).total_seconds():7.3f} s  the pod's container printed the marker (pod log)")
    mounts = node.fuse_mounts()
    assert len(mounts) == len(node.pub.image.layers), mounts
    layers = {layer.digest for layer in node.pub.image.layers}
    reads = [(status, n) for method, path, status, n in node.pub.served(node.since) if method == "GET" and path.rsplit("/", 1)[-1] in layers]
    assert reads and all(status == 206 for status, _ in reads), f"a layer was fetched whole (200), not by ranges: {reads}"


def test_containerd_reports_socis_root_as_the_image_filesystem(node: BootedNode) -> None:
    """containerd 1.7.27 (>= 1.7.16) with the rendered ``exports.root``: the kubelet's image GC and
    ephemeral-storage accounting watch the filesystem where SOCI keeps the images."""
    rc, out = node.cri("imagefs")
    assert rc == 0, out
    assert out["image_filesystems"] == [SOCI_ROOT], out
