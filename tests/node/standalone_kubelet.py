"""A standalone kubelet next to the box's containerd and SOCI: its configuration, the box's deviations from the rendered
containerd config, and stopping the pod's tasks. Used by ``test_kubelet.py``, ``test_pod_start.py`` and
``benchmarks/pod_start.py``."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import tomlkit

from soci_component.render import RenderedNode
from tests.support.daemons import free_port


def box_containerd_config(text: str) -> str:
    """The box's deviations from the rendered containerd config: cgroupfs, and no OOM-score changes (no CAP_SYS_RESOURCE)."""
    doc = tomlkit.parse(text.replace("SystemdCgroup = true", "SystemdCgroup = false"))
    doc["plugins"]["io.containerd.cri.v1.runtime"]["restrict_oom_score_adj"] = True  # type: ignore[index]
    return tomlkit.dumps(doc)


def with_file(rendered: RenderedNode, path: str, content: str) -> RenderedNode:
    """``rendered`` with the file at ``path`` holding ``content``."""
    files = tuple(dataclasses.replace(f, content=content) if f.path == path else f for f in rendered.files)
    return dataclasses.replace(rendered, files=files)


def kubelet_config(manifests: Path, logs: Path, endpoint: Path, image_endpoint: Path, cgroup_root: str | None = None) -> dict[str, Any]:
    """A standalone kubelet's configuration: static pods from ``manifests``, no API server, anonymous auth on
    loopback; QoS cgroups under ``cgroup_root`` when given (else none)."""
    qos: dict[str, Any] = {"cgroupsPerQOS": True, "cgroupRoot": cgroup_root} if cgroup_root else {"cgroupsPerQOS": False}
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "cgroupDriver": "cgroupfs", **qos, "enforceNodeAllocatable": [], "failSwapOn": False,
        "staticPodPath": str(manifests), "podLogsDir": str(logs), "fileCheckFrequency": "1s", "syncFrequency": "2s",
        "containerRuntimeEndpoint": f"unix://{endpoint}", "imageServiceEndpoint": f"unix://{image_endpoint}",
        "address": "127.0.0.1", "port": free_port(), "readOnlyPort": 0, "healthzBindAddress": "127.0.0.1", "healthzPort": free_port(),
        "authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": False}}, "authorization": {"mode": "AlwaysAllow"},
        "makeIPTablesUtilChains": False, "localStorageCapacityIsolation": False, "resolvConf": "",
        "evictionHard": {"memory.available": "1Mi"}, "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
    }  # fmt: skip


def stop_every_task(ctd: Any) -> None:
    """The pod's processes run in namespaces of runc's own, which the node's clean-up does not see: kill
    them by PID through containerd (SIGKILL, as the kubelet does after the grace period), then delete."""
    rows = [line.split() for line in ctd.ctr("tasks", "ls", namespace="k8s.io").stdout.splitlines()[1:] if line.strip()]
    for task, pid, *_ in rows:
        ctd.ctr("tasks", "kill", "--signal", "SIGKILL", task, namespace="k8s.io", check=False)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        ctd.ctr("tasks", "delete", "--force", task, namespace="k8s.io", check=False)
    assert all(not Path(f"/proc/{pid}").exists() for _, pid, *_ in rows), rows
