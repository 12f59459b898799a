"""A real kubelet (1.33.13, built from k8s.io/kubernetes) in standalone mode starts a static pod whose
image is lazily loaded through SOCI 0.15 from the private TLS registry, on containerd 2.2.4 configured
as rendered.

The kubelet pulls the image through the CRI with the credentials of its own docker config; the pod
sandbox starts from the pause image the rendered drop-in imported into SOCI; the container prints a
file from the image's last layer; ``findmnt --source soci`` lists a FUSE mount per layer.

Deviations from a real node (all in this file, node/standalone_kubelet.py or node/lazy.py): no API server (standalone: static pod
from ``staticPodPath``, anonymous auth, no node registration); ``cgroupDriver: cgroupfs`` and
``cgroupsPerQOS: false`` (no systemd in the box; containerd's ``SystemdCgroup`` set to false to match);
``restrict_oom_score_adj`` in containerd (the box lacks CAP_SYS_RESOURCE); ``failSwapOn: false``; host
network for the pod (no CNI); the kubelet's server on 127.0.0.1 only; pod logs under ``/var/lib`` (a private overlay).
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from pathlib import Path

import yaml

from soci_component.render.paths import KUBELET_PAUSE_DROPIN as KUBELET_PAUSE_DROPIN_PATH
from soci_component.render.paths import PAUSE_TAR
from tests.node.images import FileSpec
from tests.node.lazy import USER, Published, lazy_node, publish
from tests.node.standalone_kubelet import box_containerd_config, kubelet_config, stop_every_task, with_file
from tests.support.daemons import Process, daemon
from tests.support.pause_image import pause_archive
from tests.support.scenarios import SCENARIOS

SCENARIO = "c22-lazy-ecr-release"
MARKER = b"hello from the last layer\n"


def test_kubelet_runs_a_static_pod_lazily_through_soci(tmp_path: Path) -> None:
    pause = daemon("pause").bin("pause")
    pub: Published = publish(tmp_path / "published", layers_mib=(24, 16), name="kubelet", base_files=(FileSpec("pause", data=pause.read_bytes(), mode=0o755),))
    try:
        rendered = SCENARIOS[SCENARIO].render()
        config = box_containerd_config(rendered.file("/etc/containerd/config.toml").content)
        rendered = with_file(rendered, "/etc/containerd/config.toml", config)
        with lazy_node(tmp_path / "n", pub, SCENARIO, rendered=rendered) as ln:
            node, ctd = ln.node, ln.ctd
            # the rendered kubelet drop-in's pause import (ExecStartPre), as on a node
            dropin = rendered.file(KUBELET_PAUSE_DROPIN_PATH).content
            argv = [line.split("=", 1)[1] for line in dropin.splitlines() if line.startswith("ExecStartPre=")][0].split()
            node.write(PAUSE_TAR, pause_archive(pause.read_bytes())[0])
            r = subprocess.run(ctd._ctr_argv(*argv[1:-1], str(node.path(PAUSE_TAR))), capture_output=True, text=True, env=ctd.env(), timeout=120, check=False)
            assert r.returncode == 0, r.stderr

            # the kubelet runs inside the node's mount namespace, where /etc and /var/lib are private
            # overlays (short paths: its unix sockets live under the root dir)
            root = Path("/var/lib/kubelet")
            manifests, logs = Path("/etc/kubernetes/manifests"), Path("/var/lib/soci-eks-pod-logs")
            for d in (root, manifests, logs):
                d.mkdir(parents=True, exist_ok=True)
            auth = base64.b64encode(f"{USER}:{pub.password}".encode()).decode()
            (root / "config.json").write_text(json.dumps({"auths": {pub.registry.host: {"auth": auth}}}))  # the kubelet's own docker config
            (root / "config.json").chmod(0o600)
            kcfg = root / "kubelet-config.yaml"
            kcfg.write_text(yaml.safe_dump(kubelet_config(manifests, logs, ctd.address, ctd.address)))
            (manifests / "app.yaml").write_text(yaml.safe_dump({
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "soci-app", "namespace": "default"},
                "spec": {"hostNetwork": True, "restartPolicy": "Never",
                         "containers": [{"name": "app", "image": pub.ref, "command": ["/pause", "cat", "/app/marker.txt"]}]},
            }))
            kubelet = daemon("kubelet-1.33").bin("kubelet")
            proc = node.register(Process("kubelet 1.33.13", [kubelet, "--config", kcfg, "--root-dir", root, "--hostname-override", "soci-box", "--v", "2"],
                                         env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(node.path("/root"))}, log=node.logs / "kubelet.log"))
            proc.start()
            deadline = time.monotonic() + 120
            out = b""
            while time.monotonic() < deadline and MARKER not in out:
                out = b"".join(p.read_bytes() for p in logs.rglob("*.log"))
                assert proc.running(), proc.log_tail(60)
                time.sleep(1)
            assert MARKER in out, f"no container output; kubelet log:\n{proc.log_tail(80)}"
            mounts = ln.findmnt_soci()
            assert len(mounts) == len(pub.image.layers), mounts
            assert pub.ref in ln.images()
            sandboxes = ctd.ctr("snapshots", "--snapshotter", "soci", "ls", namespace="k8s.io").stdout
            assert "Active" in sandboxes
            proc.stop()
            stop_every_task(ctd)
    finally:
        pub.registry.stop()
        for d in sorted(set(Path("/sys/fs/cgroup").glob("*/k8s.io/**/")), key=lambda p: -len(p.parts)):
            d.rmdir()  # containerd's default cgroup parent for the pod's tasks, on the host: must be empty now
    assert not list(Path("/sys/fs/cgroup").glob("*/k8s.io")), "a cgroup of the pod was left on the host"
