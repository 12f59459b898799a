"""systemd really orders the node's daemons: the rendered SOCI units and containerd drop-in, booted by
systemd 252 as PID 1 of a box of its own (``node/systemd_box.py``), with SOCI 0.15.0 and containerd
2.2.4 (built from their modules) and containerd's own unit file from its v2.2.4 module.

What systemd itself reports is asserted: ``systemctl show -p After,Requires`` of containerd, the
journal's start timestamps (SOCI ready before containerd starts), and that a SOCI that fails to start
keeps containerd down. The box's isolation is asserted too: the machine's hostname and ``/tmp`` are
untouched, and no process or cgroup of the box is left after close.

Deviations from a node (each in this file): the kubelet and nodeadm units are not installed here (the
full boot sequence is issue #12's remaining work); containerd's unit is the module's with
``ExecStart=/usr/bin/containerd`` (Amazon Linux's package path) and ``OOMScoreAdjust`` left at the
box's own (lowering it needs CAP_SYS_RESOURCE, which this machine withholds).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from tests.node.systemd_box import SystemdBox
from tests.support.daemons import cache_dir, daemon, go_index_path
from tests.support.scenarios import SCENARIOS

SCENARIO = "c22-lazy-ecr-release"
BINARIES = tuple(sorted({cache_dir().parent, go_index_path().parent}))
"""Linked from the box's /usr/bin: shown at their own path (a clone under /tmp would be hidden by the box's /tmp)."""


def _seed_node(box: SystemdBox, soci_binary: Path | str) -> None:
    b = SCENARIOS[SCENARIO].render()
    for f in b.files:
        box.seed(f.path, f.content, f.mode)
    ctd = daemon("containerd-2")
    for name in ("containerd", "ctr", "containerd-shim-runc-v2"):
        box.seed_link(f"/usr/bin/{name}", str(ctd.bin(name)))
    box.seed_link("/usr/bin/runc", str(daemon("runc").bin("runc")))
    box.seed_link("/usr/local/bin/soci-snapshotter-grpc", str(soci_binary))
    unit = (ctd.dir / "containerd.service").read_text()
    assert "ExecStart=/usr/local/bin/containerd" in unit and "OOMScoreAdjust=-999" in unit, "containerd's own unit changed: revisit the deviations"
    unit = unit.replace("ExecStart=/usr/local/bin/containerd", "ExecStart=/usr/bin/containerd").replace("OOMScoreAdjust=-999\n", "")
    box.seed("/etc/systemd/system/containerd.service", unit)
    for u in ("containerd.service", "soci-snapshotter.service"):
        box.enable(u)
    box.enable("soci-snapshotter.socket", "sockets.target")


def _start_usec(box: SystemdBox, unit: str, prop: str) -> int:
    """A unit's ``<prop>TimestampMonotonic`` as systemd records it (microseconds since the box booted)."""
    key = f"{prop}TimestampMonotonic"
    return int(box.show(unit, key)[key])


def test_systemd_starts_soci_before_containerd_and_the_box_leaves_nothing(tmp_path: Path) -> None:
    before_host, before_tmp = socket.gethostname(), set(os.listdir("/tmp"))
    box = SystemdBox(tmp_path / "box", binds=BINARIES)
    _seed_node(box, daemon("soci").bin("soci-snapshotter-grpc"))
    try:
        box.boot(timeout=120)
        assert box.run("readlink", "/proc/1/exe").stdout.strip().endswith("/systemd"), "PID 1 of the box is not systemd"
        assert box.systemctl("is-system-running").stdout.strip() in ("running", "degraded"), box.systemctl("--failed").stdout
        assert box.active("soci-snapshotter.service") == "active", box.run("journalctl", "-u", "soci-snapshotter", "--no-pager").stdout
        assert box.active("containerd.service") == "active", box.run("journalctl", "-u", "containerd", "--no-pager").stdout
        deps = box.show("containerd.service", "After", "Requires")
        assert "soci-snapshotter.service" in deps["After"].split() and "soci-snapshotter.service" in deps["Requires"].split(), deps
        soci_ready = _start_usec(box, "soci-snapshotter.service", "ActiveEnter")
        ctd_start = _start_usec(box, "containerd.service", "ExecMainStart")
        assert 0 < soci_ready <= ctd_start, (soci_ready, ctd_start)
        plugins = box.run("ctr", "plugins", "ls").stdout
        assert any(line.split()[:2] == ["io.containerd.snapshotter.v1", "soci"] and line.split()[-1] == "ok" for line in plugins.splitlines()), plugins
        assert box.run("hostname").stdout.strip() == box.hostname != socket.gethostname()
        pids = [pid for pid, _ in box.processes()]
        assert len(pids) >= 3
        blocks, block_size, free = map(int, box.run("stat", "-f", "-c", "%b %S %a", "/var/lib", check=True).stdout.split())
        machine = os.statvfs("/")
        assert blocks * block_size == 20 << 30 and free * block_size > 19 << 30, "the node's /var/lib is not a 20 GiB disk of its own"
        assert (blocks, free) != (machine.f_blocks, machine.f_bavail)
    finally:
        left = box.close()
    assert left == []
    assert not os.path.ismount(box.varlib), "the node's disk is still mounted on the machine"
    assert all(not Path(f"/proc/{pid}").exists() for pid in pids), "a process of the box outlived it"
    assert socket.gethostname() == before_host
    assert before_tmp <= set(os.listdir("/tmp")), "the box removed something from the machine's /tmp"


def test_soci_that_fails_to_start_keeps_containerd_down(tmp_path: Path) -> None:
    with SystemdBox(tmp_path / "box", binds=BINARIES) as box:
        _seed_node(box, "/bin/false")
        box.boot(timeout=120)
        # the rendered unit restarts SOCI (Restart=always, RestartSec=5): it keeps failing, containerd never starts
        assert box.active("soci-snapshotter.service") in ("activating", "failed"), box.show("soci-snapshotter.service", "ActiveState", "SubState")
        assert box.show("soci-snapshotter.service", "NRestarts", "Result")["Result"] != "success"
        assert box.active("containerd.service") != "active"
        assert box.show("containerd.service", "ExecMainStartTimestampMonotonic")["ExecMainStartTimestampMonotonic"] == "0", "containerd was started"
        assert not box.run("test", "-S", "/run/containerd/containerd.sock").returncode == 0
        journal = box.run("journalctl", "-u", "containerd", "--no-pager").stdout
        assert "Dependency failed" in journal or "dependency" in journal.lower(), journal
