"""The rendered kubelet drop-in's pause-image import, executed with the real ctr against real daemons.

On containerd >= 2.2.3 the sandbox (pause) image must be in SOCI's snapshotter before the kubelet
starts (amazon-eks-ami#2710); the boot script installs a kubelet ``ExecStartPre`` that imports
``/etc/eks/pause.tar``. This runs that exact command line (only the binary path and the daemon's
address are added) with containerd 2.x's ``ctr`` against the rendered containerd and SOCI configs,
and checks the image landed in SOCI's snapshotter, not overlayfs.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import tomlkit

from soci_component.render.paths import KUBELET_PAUSE_DROPIN as KUBELET_PAUSE_DROPIN_PATH
from soci_component.render.paths import PAUSE_TAR
from tests.containerd.test_rendered import CONTAINERD_CONFIG, SOCI_CONFIG, SOCI_KUBECONFIG, start_node_daemons
from tests.support.daemons import daemon
from tests.support.pause_image import PAUSE_REF, pause_archive
from tests.support.scenarios import SCENARIOS
from tests.support.units import unit_values

CRI_CLIENT = Path(__file__).resolve().parents[1] / "node" / "cri_client.py"


def exec_start_pre(dropin: str) -> list[str]:
    lines = unit_values(dropin, "Service", "ExecStartPre")
    assert len(lines) == 1, dropin
    return shlex.split(lines[0])


def import_rendered_pause(node, scenario_name: str, pause_binary: bytes | None = None, *, cgroupfs: bool = False):
    """Start the scenario's daemons and run the rendered drop-in's import command; returns (ctd, soci, layer digest).

    ``cgroupfs``: the two deviations from the node's containerd config a pod sandbox needs in this box:
    runc's cgroupfs driver instead of the rendered ``SystemdCgroup = true`` (no systemd for runc to ask
    for a scope), and ``restrict_oom_score_adj = true`` (the box's root lacks CAP_SYS_RESOURCE, so the
    sandbox's oom_score_adj -998 cannot be set; a node's containerd has it)."""
    scenario = SCENARIOS[scenario_name]
    files = {f.path: f.content for f in scenario.render().files}
    argv = exec_start_pre(files[KUBELET_PAUSE_DROPIN_PATH])
    config = files[CONTAINERD_CONFIG]
    if cgroupfs:
        assert config.count("SystemdCgroup = true") == 1, config
        config = config.replace("SystemdCgroup = true", "SystemdCgroup = false")
        doc = tomlkit.parse(config)
        doc["plugins"]["io.containerd.cri.v1.runtime"]["restrict_oom_score_adj"] = True  # type: ignore[index]
        config = tomlkit.dumps(doc)
    ctd, soci = start_node_daemons(node, config, files[SOCI_CONFIG], "2", scenario.spec.tuning.root)
    archive, layer_digest = pause_archive(pause_binary)
    node.write(PAUSE_TAR, archive)
    real = ctd._ctr_argv(*argv[1:-1], str(node.path(PAUSE_TAR)))
    r = subprocess.run(real, capture_output=True, text=True, env=ctd.env(), check=False, timeout=120)
    assert r.returncode == 0, f"{shlex.join(real)}\n{r.stderr}\n{r.stdout}"
    return ctd, soci, layer_digest


def cri(ctd, *args: str) -> dict:
    r = subprocess.run([sys.executable, str(CRI_CLIENT), str(ctd.address), *args], capture_output=True, text=True, timeout=150, check=False)
    out = json.loads(r.stdout or "{}") if r.stdout.strip().startswith("{") else {"error": "client", "message": r.stderr[-2000:]}
    assert r.returncode == 0, f"cri {args}: {out}\n--- containerd log:\n{ctd.process.log_tail(60)}"
    return out


def test_pod_sandbox_runs_on_the_imported_pause_image_from_soci(node) -> None:
    """containerd 2.2.4, as rendered: the imported pause image is the sandbox image, and a CRI
    ``RunPodSandbox`` (host network, as for a hostNetwork pod; no CNI here) starts it from a SOCI snapshot."""
    ctd, soci, _ = import_rendered_pause(node, "c22-lazy-ecr-release", daemon("pause").bin("pause").read_bytes(), cgroupfs=True)
    assert ctd.daemon.upstream == "2.2.4"
    before = set(ctd.ctr("snapshots", "--snapshotter", "soci", "ls", namespace="k8s.io").stdout.splitlines()[1:])
    pod = None
    try:
        pod = cri(ctd, "runp", "soci-eks-sandbox", "--cgroup-parent", "/soci-eks-test")["pod_sandbox_id"]
        assert cri(ctd, "podstatus", pod)["state"] == 0  # SANDBOX_READY
        active = [ln.split() for ln in ctd.ctr("snapshots", "--snapshotter", "soci", "ls", namespace="k8s.io").stdout.splitlines()[1:] if ln not in before]
        assert any(row[0] == pod and row[-1] == "Active" for row in active), active
        assert ctd.ctr("snapshots", "--snapshotter", "overlayfs", "ls", namespace="k8s.io").stdout.splitlines()[1:] == []
    finally:
        if pod:
            cri(ctd, "stopp", pod)
            cri(ctd, "rmp", pod)
        for parent in Path("/sys/fs/cgroup").glob("*/soci-eks-test"):  # the pod's cgroup parent on the host
            parent.rmdir()
    assert not list(Path("/sys/fs/cgroup").glob("*/soci-eks-test")), "a cgroup of the sandbox was left on the host"


def test_rendered_pause_import_puts_the_pause_image_into_soci(node) -> None:
    scenario = SCENARIOS["c22-lazy-ecr-release"]  # containerd 2.2.4: needs the import
    rendered = scenario.render()
    files = {f.path: f.content for f in rendered.files}
    argv = exec_start_pre(files[KUBELET_PAUSE_DROPIN_PATH])
    assert argv[0] == "/usr/bin/ctr" and argv[-1] == PAUSE_TAR

    ctd, soci = start_node_daemons(node, files[CONTAINERD_CONFIG], files[SOCI_CONFIG], "2", scenario.spec.tuning.root)
    archive, layer_digest = pause_archive()
    node.write(PAUSE_TAR, archive)
    files.pop(SOCI_KUBECONFIG, None)

    # The drop-in's own arguments, with this node's ctr binary, daemon address and file location.
    real = ctd._ctr_argv(*argv[1:-1], str(node.path(PAUSE_TAR)))
    r = subprocess.run(real, capture_output=True, text=True, env=ctd.env(), check=False, timeout=120)
    assert r.returncode == 0, f"{shlex.join(real)}\n{r.stderr}\n{r.stdout}"

    assert PAUSE_REF in ctd.ctr("images", "ls", "-q", namespace="k8s.io").stdout.split()
    snapshots = ctd.ctr("snapshots", "--snapshotter", "soci", "ls", namespace="k8s.io").stdout.splitlines()[1:]
    assert snapshots, "the pause image was not unpacked into the soci snapshotter"
    assert Path(soci.root).exists()
    assert layer_digest in ctd.ctr("content", "ls", "-q", namespace="k8s.io").stdout.split()
    # and overlayfs got nothing: SOCI owns the pause image from the first sandbox on
    assert ctd.ctr("snapshots", "--snapshotter", "overlayfs", "ls", namespace="k8s.io").stdout.splitlines()[1:] == []


def test_cri_image_fs_is_socis_root_only_with_exports_root(node) -> None:
    """The kubelet's image GC and ephemeral-storage accounting watch the filesystems the CRI's
    ``ImageFsInfo`` names. containerd 2.2.4 with the rendered ``[proxy_plugins.soci.exports] root``
    names SOCI's root; without it, ``<containerd root>/io.containerd.snapshotter.v1.soci``, a path
    nothing writes to (the "known bug" of the seed config)."""
    scenario = SCENARIOS["c22-lazy-ecr-release"]
    files = {f.path: f.content for f in scenario.render().files}
    config = files[CONTAINERD_CONFIG]
    ctd, soci = start_node_daemons(node, config, files[SOCI_CONFIG], "2", scenario.spec.tuning.root)
    assert ctd.daemon.upstream == "2.2.4"
    assert cri(ctd, "imagefs")["image_filesystems"] == [str(soci.root)]
    ctd.stop()
    soci.stop()

    doc = tomlkit.parse(config)
    del doc["proxy_plugins"]["soci"]["exports"]  # type: ignore[index]
    ctd2, _ = start_node_daemons(node, tomlkit.dumps(doc), files[SOCI_CONFIG], "2", scenario.spec.tuning.root)
    fs = cri(ctd2, "imagefs")["image_filesystems"]
    assert fs == [str(node.path("/var/lib/containerd/io.containerd.snapshotter.v1.soci"))] and fs != [str(soci.root)]
