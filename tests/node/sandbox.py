"""A node's root filesystem in a box, for running the rendered boot script for real.

Layout under ``base`` (a temp dir):

- ``upper/`` + ``work/``: an overlayfs whose lower layer is the machine's ``/``, mounted at
  ``merged/`` inside a private mount namespace. Everything the boot script (or a package manager
  shim) writes anywhere under ``/`` lands in ``upper/`` and nowhere else, so ``upper/`` is the
  exact record of what the node got.
- ``varlib/`` and ``run/`` are bind-mounted on ``/var/lib`` and ``/run`` of the node: SOCI's root
  must be on a real filesystem (its startup check mounts overlayfs there, which cannot have an
  overlayfs upper), and ``/run`` is a fresh tmpfs-like dir on a node anyway.
- ``ctl/`` (shims on ``PATH``, their call log, daemon pids and logs) is bind-mounted at its own
  path, so it is outside the node's record.

The node starts (``start()``, or the first ``run()``) after :meth:`seed`. A holder process (``unshare -m`` ... ``chroot merged sleep infinity``) keeps the namespace; every
script run enters it with ``nsenter --mount --root``. ``close()`` stops every daemon the
``systemctl`` shim started (by pid), then the holder; the namespace and its mounts die with it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

SHIMS = Path(__file__).resolve().parent / "shims"
NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Entry:
    """One non-directory entry the node got: regular file, symlink, socket or whiteout."""

    kind: str  # file | symlink | socket | whiteout | other
    mode: int
    sha256: str = ""

    def __repr__(self) -> str:
        return f"{self.kind}:{self.mode:04o}:{self.sha256[:12]}"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def kill_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, wait, SIGKILL: for processes we started (not necessarily our children)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    while _alive(pid):
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    if state == "Z":
        try:  # our own child: reap it
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return False
    return True


class NodeSandbox:
    """A node filesystem in a private mount namespace; see the module docstring."""

    def __init__(self, base: Path, *, secrets: dict[str, str] | None = None, sleep_scale: float = 0.1, start_timeout: float = 60.0) -> None:
        self.base = base
        self.upper, self.work, self.merged = base / "upper", base / "work", base / "merged"
        self.varlib, self.run_dir, self.ctl = base / "varlib", base / "run", base / "ctl"
        self.bin, self.state = self.ctl / "bin", self.ctl / "state"
        for d in (self.upper, self.work, self.merged, self.varlib, self.run_dir, self.bin, self.state):
            d.mkdir(parents=True, exist_ok=True)
        (self.state / "secrets.json").write_text(json.dumps(secrets or {}))
        self.env = {
            "PATH": f"{self.bin}:{NODE_PATH}",
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "NODE_SHIM_STATE": str(self.state),
            "NODE_SHIM_SLEEP_SCALE": str(sleep_scale),
            "NODE_SHIM_START_TIMEOUT": str(start_timeout),
        }
        self._install_shims()
        self.holder: subprocess.Popen[bytes] | None = None

    # -- set-up -------------------------------------------------------------------------------
    def _install_shims(self) -> None:
        for src in SHIMS.iterdir():
            if src.suffix == ".py":
                dst = self.bin / src.stem
                dst.write_text(f'#!/bin/sh\nexec {sys.executable} -S {src} "$@"\n')
            else:
                dst = self.bin / src.name
                shutil.copyfile(src, dst)
            dst.chmod(0o755)

    def seed(self, path: str, content: bytes | str, mode: int = 0o644) -> None:
        """Put a file on the node before it boots (what the AMI ships). Not part of what the script wrote."""
        assert self.holder is None, "seed before the node starts (overlayfs must not change under a mount)"
        self._seeded = getattr(self, "_seeded", set()) | {path}
        dst = self.upper / path.lstrip("/")
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(content.encode() if isinstance(content, str) else content)
        dst.chmod(mode)

    def start(self) -> NodeSandbox:
        ready = self.ctl / "holder-ready"
        setup = textwrap.dedent(
            f"""\
            set -e
            mount -t overlay overlay -o lowerdir=/,upperdir={self.upper},workdir={self.work} {self.merged}
            mount --rbind /dev {self.merged}/dev
            mount -t proc proc {self.merged}/proc
            mount --rbind /sys {self.merged}/sys
            mount --bind {self.varlib} {self.merged}/var/lib
            mount --bind {self.run_dir} {self.merged}/run
            mount --bind {self.ctl} {self.merged}{self.ctl}
            : >{ready}
            exec chroot {self.merged} /bin/sleep infinity
            """
        )
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "bash", "-c", setup], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
        while not ready.exists():
            if self.holder.poll() is not None:
                out = self.holder.stdout.read().decode() if self.holder.stdout else ""
                raise RuntimeError(f"sandbox set-up failed: {out}")
            if time.monotonic() > deadline:
                raise RuntimeError("sandbox set-up timed out")
            time.sleep(0.02)
        # ``ready`` is written just before ``exec chroot``: until the holder's root is the merged tree, an
        # ``nsenter --root`` would run in the machine's root (in the private mount namespace) instead
        while os.path.realpath(f"/proc/{self.holder.pid}/root") != os.path.realpath(self.merged):
            if self.holder.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("sandbox set-up: the holder never entered the node's root")
            time.sleep(0.01)
        return self

    # -- running ------------------------------------------------------------------------------
    def run(self, script: str, *, timeout: float = 120, env: dict[str, str] | None = None) -> Run:
        if self.holder is None:
            self.start()
        assert self.holder is not None
        path = self.ctl / "boot.sh"
        path.write_text(script)
        t0 = time.monotonic()
        p = subprocess.run(
            ["nsenter", f"--target={self.holder.pid}", "--mount", "--root", "--wd", "env", "-i", *(f"{k}={v}" for k, v in {**self.env, **(env or {})}.items()), "/bin/bash", str(path)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Run(p.returncode, p.stdout, p.stderr, time.monotonic() - t0)

    def exec(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a command on the node (inside the namespace and root), e.g. to query the daemon."""
        if self.holder is None:
            self.start()
        assert self.holder is not None
        return subprocess.run(
            ["nsenter", f"--target={self.holder.pid}", "--mount", "--root", "--wd", "env", "-i", *(f"{k}={v}" for k, v in self.env.items()), *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def calls(self, cmd: str | None = None) -> list[list[str]]:
        log = self.state / "calls.jsonl"
        if not log.exists():
            return []
        rows = [json.loads(line) for line in log.read_text().splitlines()]
        return [r["args"] for r in rows if cmd is None or r["cmd"] == cmd]

    def clear_calls(self) -> None:
        (self.state / "calls.jsonl").unlink(missing_ok=True)

    def daemon_pid(self, unit: str = "soci-snapshotter.service") -> int | None:
        p = self.state / f"{unit}.pid"
        if not p.exists():
            return None
        pid = int(p.read_text())
        return pid if _alive(pid) else None

    def daemon_log(self, unit: str = "soci-snapshotter.service") -> str:
        p = self.state / f"{unit}.log"
        return p.read_text(errors="replace") if p.exists() else ""

    # -- what the node got ---------------------------------------------------------------------
    def written(self) -> dict[str, Entry]:
        """Every non-directory entry under the node's ``/`` that differs from the machine's, by node path
        (overlay upper, plus the bind-mounted ``/var/lib`` and ``/run``), minus what :meth:`seed` put there."""
        out: dict[str, Entry] = {}
        for top, prefix in ((self.upper, ""), (self.varlib, "/var/lib"), (self.run_dir, "/run")):
            for dirpath, _dirs, names in os.walk(top):
                for n in names:
                    p = Path(dirpath) / n
                    node_path = prefix + "/" + str(p.relative_to(top))
                    out[node_path] = _entry(p)
        for path in getattr(self, "_seeded", set()):
            out.pop(path, None)
        return out

    def read(self, node_path: str) -> bytes:
        for top, prefix in ((self.varlib, "/var/lib/"), (self.run_dir, "/run/")):
            if node_path.startswith(prefix):
                return (top / node_path[len(prefix) :]).read_bytes()
        p = self.upper / node_path.lstrip("/")
        return p.read_bytes() if p.exists() else Path(node_path).read_bytes()

    # -- teardown -----------------------------------------------------------------------------
    def stop_daemons(self) -> None:
        pids = self.state / "pids"
        if pids.exists():
            for line in pids.read_text().split():
                kill_pid(int(line))
            pids.unlink()
        for p in self.state.glob("*.pid"):
            p.unlink()

    def close(self) -> None:
        self.stop_daemons()
        if self.holder is not None:
            kill_pid(self.holder.pid)
            self.holder.wait(timeout=10)
            if self.holder.stdout:
                self.holder.stdout.close()
            self.holder = None

    def __enter__(self) -> NodeSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _entry(p: Path) -> Entry:
    st = p.lstat()
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISREG(st.st_mode):
        return Entry("file", mode, hashlib.sha256(p.read_bytes()).hexdigest())
    if stat.S_ISLNK(st.st_mode):
        return Entry("symlink", mode, os.readlink(p))
    if stat.S_ISSOCK(st.st_mode):
        return Entry("socket", mode)
    if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
        return Entry("whiteout", mode)
    return Entry("other", mode)


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()
