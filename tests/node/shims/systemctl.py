"""systemctl for the boot-script sandbox: records every call and runs services for real.

Only what the boot script uses: ``daemon-reload``, ``enable``, ``start``/``restart``/``stop``,
``is-active [-q]``. Units are read like systemd reads them (``/etc/systemd/system`` before
``/usr/lib/systemd/system``, then ``<unit>.d/*.conf`` drop-ins, an empty ``ExecStart=`` resets the
list). ``Type=notify`` services get a ``NOTIFY_SOCKET`` and ``start`` waits for ``READY=1`` the way
systemd's start job does: if the process exits first, or the timeout passes, the job fails and
``systemctl`` exits 1. Socket activation is emulated by giving the service the socket unit's
``ListenStream`` path in place of ``fd://`` (soci 0.4.1 cannot take a passed fd).

State (call log, pids, daemon logs) lives in ``$NODE_SHIM_STATE``, outside the node's filesystem.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

STATE = Path(os.environ["NODE_SHIM_STATE"])
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system")
START_TIMEOUT = float(os.environ.get("NODE_SHIM_START_TIMEOUT", "10"))


def record(args: list[str]) -> None:
    with open(STATE / "calls.jsonl", "a") as f:
        f.write(json.dumps({"cmd": "systemctl", "args": args}) + "\n")


def unit_name(name: str) -> str:
    return name if "." in name else f"{name}.service"


def parse_unit(unit: str) -> dict[str, list[str]] | None:
    """Key -> values of the unit after drop-ins, or None when the unit does not exist."""
    main = next((Path(d) / unit for d in UNIT_DIRS if (Path(d) / unit).is_file()), None)
    if main is None:
        return None
    files = [main]
    dropins: dict[str, Path] = {}
    for d in reversed(UNIT_DIRS):
        dd = Path(d) / f"{unit}.d"
        if dd.is_dir():
            dropins.update({p.name: p for p in dd.glob("*.conf")})
    files += [dropins[k] for k in sorted(dropins)]
    out: dict[str, list[str]] = {}
    for f in files:
        for raw in f.read_text().splitlines():
            line = raw.strip()
            if not line or line[0] in "#;[" or "=" not in line:
                continue
            key, value = (s.strip() for s in line.split("=", 1))
            if value == "" and key in ("ExecStart", "ExecStartPre", "Environment"):
                out[key] = []
            else:
                out.setdefault(key, []).append(value)
    return out


def pid_of(unit: str) -> int | None:
    p = STATE / f"{unit}.pid"
    if not p.exists():
        return None
    pid = int(p.read_text())
    try:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return None
    except FileNotFoundError:
        return None
    return pid


def stop(unit: str) -> None:
    pid = pid_of(unit)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(200):
        if pid_of(unit) is None:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
    (STATE / f"{unit}.pid").unlink(missing_ok=True)


def fail_job(unit: str, why: str) -> int:
    print(f"Job for {unit} failed because {why}.\nSee \"systemctl status {unit}\" and \"journalctl -xeu {unit}\" for details.", file=sys.stderr)
    return 1


def start(unit: str, restart: bool) -> int:
    if unit.endswith(".socket"):
        if parse_unit(unit) is None:
            print(f"Failed to start {unit}: Unit {unit} not found.", file=sys.stderr)
            return 5
        return 0
    if pid_of(unit) is not None:
        if not restart:
            return 0
        stop(unit)
    cfg = parse_unit(unit)
    if cfg is None:
        print(f"Failed to start {unit}: Unit {unit} not found.", file=sys.stderr)
        return 5
    exec_start = cfg.get("ExecStart", [])
    if len(exec_start) != 1:
        print(f"{unit}: {len(exec_start)} ExecStart= lines (a simple/notify service needs exactly one)", file=sys.stderr)
        return 1
    argv = shlex.split(exec_start[0].lstrip("-@"))
    sock = parse_unit(unit.rsplit(".", 1)[0] + ".socket") or {}
    listen = (sock.get("ListenStream") or [None])[-1]
    if listen:
        argv = [listen if a == "fd://" else a for a in argv]
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    for e in cfg.get("Environment", []):
        env.update(kv.split("=", 1) for kv in shlex.split(e))
    notify = (cfg.get("Type") or ["simple"])[-1] == "notify"
    ns = None
    if notify:
        # abstract socket (like systemd's own "@/org/freedesktop/systemd1/notify"): no path length limit, no file
        name = f"@soci-eks-test/notify/{os.getpid()}/{unit}"
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind("\0" + name[1:])
        env["NOTIFY_SOCKET"] = name
    with open(STATE / f"{unit}.log", "ab") as log:
        try:
            proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/", start_new_session=True)
        except OSError as e:
            log.write(f"{unit}: failed to execute {argv[0]}: {e}\n".encode())
            return fail_job(unit, "the control process exited with error code")
    (STATE / f"{unit}.pid").write_text(str(proc.pid))
    with open(STATE / "pids", "a") as f:
        f.write(f"{proc.pid}\n")
    if ns is None:
        return 0
    ns.settimeout(0.05)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if b"READY=1" in ns.recv(4096).split(b"\n"):
                return 0
        except TimeoutError:
            pass
        if proc.poll() is not None:
            return fail_job(unit, "the control process exited with error code")
    stop(unit)
    return fail_job(unit, "a timeout was exceeded")


def main(argv: list[str]) -> int:
    record(argv)
    opts = [a for a in argv if a.startswith("-")]
    args = [a for a in argv if not a.startswith("-")]
    if not args:
        return 1
    cmd, units = args[0], [unit_name(u) for u in args[1:]]
    if cmd == "daemon-reload":
        return 0
    if cmd in ("enable", "disable", "mask", "unmask"):
        missing = [u for u in units if parse_unit(u) is None]
        if missing:
            print(f"Failed to {cmd} unit: Unit file {missing[0]} does not exist.", file=sys.stderr)
            return 1
        if "--now" in opts and cmd == "enable":
            return max((start(u, restart=False) for u in units), default=0)
        return 0
    if cmd in ("start", "restart"):
        # systemd orders a unit's socket before the service; starting order here is the argument order
        rc = 0
        for u in units:
            rc = rc or start(u, restart=cmd == "restart")
        return rc
    if cmd == "stop":
        for u in units:
            stop(u)
        return 0
    if cmd == "is-active":
        active = all(u.endswith(".socket") or pid_of(u) is not None for u in units)
        if "-q" not in opts and "--quiet" not in opts:
            print("active" if active else "inactive")
        return 0 if active else 3
    print(f"systemctl shim: unsupported command {cmd!r}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
