"""Real containerd, soci-snapshotter-grpc and docker-registry for tests (no test functions here).

The binaries come from Debian's archive through ``scripts/fetch-daemons``, which unpacks them into
``.cache/daemons`` and writes ``index.json``; this module reads that index. A missing binary is an
error that says to run the script, never a skip.

Everything a test starts lives on a throwaway :class:`Node`:

- ``node.path("/etc/containerd/config.toml")`` maps a path *on the node* to a file under the test's
  temp dir (``<base>/fs/etc/containerd/config.toml``); ``node.socket(...)`` maps a node socket path
  to a short path under ``/tmp/sek-XXXX`` (unix socket paths are limited to 108 bytes). Because
  containerd's config and soci's flags are rewritten through the same mapping, a proxy-plugin
  address or exported root that agrees on a real node agrees here, and one that disagrees still
  disagrees.
- The node is a private mount namespace entered by the calling thread of the test process (mount
  namespaces are per thread; other threads stay outside): ``/etc``, ``/opt`` and
  ``/var/lib`` are overlays whose writes land in ``<base>/ns`` and ``/run`` is a tmpfs, so whatever a
  daemon writes to a hard-coded default path (containerd 2.x creates ``/run/containerd``,
  ``/run/nri``, ``/etc/cni/net.d`` and ``/opt/containerd``; soci 0.4.1 keeps its content store in
  ``/var/lib/soci-snapshotter-grpc/content`` whatever ``--root`` says) never reaches the machine,
  and FUSE mounts vanish with the namespace. A node socket path under ``/run`` is also made a
  symlink to its short socket inside the namespace, so a program that dials a hard-coded default
  (soci 0.4.1's containerd content store dials ``/run/containerd/containerd.sock``) reaches this
  node's daemon. ``hosts={"niab-registry.test": "127.0.0.1"}`` adds
  names to a private ``/etc/hosts`` (soci 0.4.1 treats loopback *names* specially, see
  ``shared/notes/real-daemons-here.md``).
- Every process is started by this module, stopped by PID (SIGTERM, then SIGKILL), and on leaving
  the node any process still inside its namespace (e.g. a containerd shim) is killed by PID.

Example::

    with Node(tmp_path) as node, Soci(node, SOCI_TOML) as soci, Containerd(node, "1.7", CTD_TOML) as ctd:
        assert cri_images(ctd.config_dump().data)["snapshotter"] == "soci"     # what containerd parsed
        assert ("io.containerd.snapshotter.v1", "soci", "ok") in ctd.plugin_rows()
        assert ctd.cri_view().image_fs_path == str(soci.root)                 # what the CRI plugin uses
        assert str(soci.root) in ctd.probe_snapshotter("soci")                # a round trip to soci
        assert ctd.unknown_keys() == []

Lazy loading works through the same pieces (checked by hand with containerd 1.7.24 and 2.1.9: a
2 x 16 MiB image, ``soci create``/``soci push``, ``soci image rpull`` -> two FUSE mounts under soci's
root): ``Node(hosts={name: "127.0.0.1"})``, ``Registry(hostname=name, tls=make_tls(..., names=[name]),
users=...)``, ``node.write("/root/.docker/config.json", ...)`` and ``env={"SSL_CERT_FILE": tls.ca}``
for both daemons; ``ctr`` 2.x needs ``--local`` with ``--user``/``--tlscacert`` on push.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import dataclasses
import functools
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import tomlkit

REPO = Path(__file__).resolve().parents[2]
FETCH_SCRIPT = REPO / "scripts" / "fetch-daemons"


def cache_dir() -> Path:
    return Path(os.environ.get("SOCI_EKS_CACHE") or REPO / ".cache") / "daemons"


class DaemonsMissing(RuntimeError):
    """The daemons are not in the cache: run scripts/fetch-daemons."""


class DaemonFailed(RuntimeError):
    """A daemon did not start, or a command against it failed; the message carries its log tail."""


# --------------------------------------------------------------------------- the index


@dataclasses.dataclass(frozen=True)
class Daemon:
    """One unpacked Debian package, as listed in ``.cache/daemons/index.json``."""

    key: str
    """Logical name: ``containerd-1.6``, ``containerd-1.7``, ``containerd-2``, ``soci``, ``registry``, ``runc``."""
    package: str
    version: str
    """The Debian version, e.g. ``1.7.24~ds1-6+deb13u1``."""
    suite: str
    dir: Path
    bins: Mapping[str, Path]

    @property
    def upstream(self) -> str:
        """The upstream version: ``1.7.24~ds1-6+deb13u1`` -> ``1.7.24``."""
        m = re.match(r"(?:\d+:)?(\d+(?:\.\d+)*)", self.version)
        return m.group(1) if m else self.version

    @property
    def upstream_tuple(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.upstream.split("."))

    def bin(self, name: str) -> Path:
        try:
            path = self.bins[name]
        except KeyError:
            raise DaemonsMissing(f"{self.package} {self.version} has no binary {name!r} in the index; run {FETCH_SCRIPT}") from None
        if not os.access(path, os.X_OK):
            raise DaemonsMissing(f"{path} is missing or not executable; run {FETCH_SCRIPT}")
        return path


def go_index_path() -> Path:
    return cache_dir().parent / "bin" / "index.json"


GO_ALIASES = {"soci": "soci-0.15", "containerd-2": "containerd-2.2", "containerd-1.7": "containerd-1.7.27"}
"""The logical names the tests use -> the builds from the Go module proxy (``scripts/build-go-daemons``)
at the versions the pinned AMIs ship. Debian's packages stay reachable as ``debian-<name>`` (Debian's
soci-snapshotter 0.4.1, containerd 1.7.x / 2.1.x); containerd 1.6 (below the 1.7.16 fix), runc and the
registry come only from Debian."""


@functools.cache
def index() -> dict[str, Daemon]:
    """Every program the tests may run: Debian's packages (``.cache/daemons/index.json``) and the Go
    builds (``.cache/bin/index.json``), with :data:`GO_ALIASES` pointing the logical names at the Go builds."""
    path = cache_dir() / "index.json"
    if not path.is_file():
        raise DaemonsMissing(f"no {path}: run {FETCH_SCRIPT} (it fetches containerd 1.6, runc and docker-registry from Debian and builds the rest)")
    data = json.loads(path.read_text())
    debian = {
        key: Daemon(key, d["package"], d["version"], d["suite"], Path(d["dir"]), {k: Path(v) for k, v in d["bin"].items()})
        for key, d in data["daemons"].items()
    }
    gpath = go_index_path()
    if not gpath.is_file():
        raise DaemonsMissing(f"no {gpath}: run {FETCH_SCRIPT} (it runs scripts/build-go-daemons)")
    built = {
        key: Daemon(key, d["package"], d["version"], d["suite"], Path(d["dir"]), {k: Path(v) for k, v in d["bin"].items()})
        for key, d in json.loads(gpath.read_text())["daemons"].items()
    }
    found = {f"debian-{k}" if k in GO_ALIASES else k: v for k, v in debian.items()}
    found.update(built)
    for alias, key in GO_ALIASES.items():
        if key not in built:
            raise DaemonsMissing(f"{key!r} is not in {gpath} (has {sorted(built)}); run {FETCH_SCRIPT}")
        found[alias] = dataclasses.replace(built[key], key=alias)
    return found


def versions_line() -> str:
    """What the real-daemon tests run, for pytest's header (one line per program)."""
    try:
        found = index()
    except DaemonsMissing as e:
        return f"daemons: {e}"
    rows = []
    for key in sorted(found):
        d = found[key]
        if key in GO_ALIASES:
            continue
        rows.append(f"  {key:<24} {d.package} {d.version} ({d.suite})")
    return "daemons (scripts/fetch-daemons; Go builds from the module proxy, the rest from Debian):\n" + "\n".join(rows)


def daemon(key: str) -> Daemon:
    found = index()
    if key not in found:
        raise DaemonsMissing(f"{key!r} is not in {cache_dir() / 'index.json'} or {go_index_path()} (has {sorted(found)}); run {FETCH_SCRIPT}")
    return found[key]


_BINARY_PREFERENCE = ("soci", "registry", "runc", "containerd-2", "containerd-1.7", "containerd-1.6")


def binary(name: str, key: str | None = None) -> Path:
    """Path of program ``name`` (e.g. ``soci-snapshotter-grpc``, ``runc``, ``ctr``) from the cache.

    A program several packages ship (``containerd``, ``ctr``, ``containerd-shim-runc-v2``) comes from
    the newest containerd line unless ``key`` (``'containerd-1.7'``...) says which."""
    if key is not None:
        return daemon(key).bin(name)
    found = index()
    for k in sorted(found, key=lambda k: _BINARY_PREFERENCE.index(k) if k in _BINARY_PREFERENCE else len(_BINARY_PREFERENCE)):
        if name in found[k].bins:
            return found[k].bin(name)
    raise DaemonsMissing(f"no program {name!r} in {cache_dir() / 'index.json'}; run {FETCH_SCRIPT}")


CONTAINERD_LINES = ("1.6", "1.7", "2")


def containerd_daemon(line: str) -> Daemon:
    """``'1.6' | '1.7' | '2'`` (or ``'containerd-1.7'``) -> the unpacked containerd of that line."""
    return daemon(line if line.startswith("containerd-") else f"containerd-{line}")


# --------------------------------------------------------------------------- small helpers


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def unix_socket_answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


def mounts_under(root: Path) -> list[tuple[str, str, str]]:
    """(target, fstype, source) of every mount at or below ``root`` in this mount namespace, deepest first."""
    out = subprocess.run(["findmnt", "-rn", "-o", "TARGET,FSTYPE,SOURCE"], capture_output=True, text=True, check=False).stdout
    root_s = str(root).rstrip("/")
    found = []
    for line in out.splitlines():
        parts = line.split(" ")
        if len(parts) < 3:
            continue
        target = _unescape_findmnt(parts[0])
        if target == root_s or target.startswith(root_s + "/"):
            found.append((target, parts[1], _unescape_findmnt(parts[2])))
    return sorted(found, key=lambda t: t[0].count("/"), reverse=True)


def _unescape_findmnt(s: str) -> str:
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), s)


def unmount_all(root: Path) -> list[str]:
    """Lazily unmount everything at or below ``root`` (FUSE mounts with fusermount3 when umount fails)."""
    done = []
    for target, fstype, _ in mounts_under(root):
        r = subprocess.run(["umount", "-l", target], capture_output=True, text=True, check=False)
        if r.returncode != 0 and fstype.startswith("fuse") and shutil.which("fusermount3"):
            r = subprocess.run(["fusermount3", "-u", "-z", target], capture_output=True, text=True, check=False)
        if r.returncode == 0:
            done.append(target)
    return done


# logfmt as containerd writes it: key=value key="quoted value"
_LOGFMT = re.compile(r'(\w[\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_logfmt(line: str) -> dict[str, str]:
    out = {}
    for k, v in _LOGFMT.findall(line):
        if v.startswith('"'):
            with contextlib.suppress(ValueError):
                v = json.loads(v)
        out[k] = v
    return out


# What containerd says at warning level about a config it did not take as written.
CONFIG_COMPLAINT = re.compile(r"unknown key|ignoring|deprecat|migrat|incompatible|unsupported|not supported|invalid", re.I)
# Always logged here (no CNI config on a test node): not about our config.
CNI_NOT_CONFIGURED = re.compile(r"failed to load cni|cni plugin not initialized|no network config found")


# --------------------------------------------------------------------------- processes


class Process:
    """A daemon started by this module: output to a log file, stopped by PID."""

    def __init__(self, name: str, argv: Sequence[str | os.PathLike[str]], *, env: Mapping[str, str], log: Path, cwd: Path | None = None) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.env = dict(env)
        self.log = log
        self.cwd = cwd
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was not started"
        return self.popen.pid

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            out.write(f"# {shlex.join(self.argv)}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=self.env, cwd=self.cwd, start_new_session=True
            )

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM by PID, then SIGKILL after ``timeout``; returns the exit status (None if never started)."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        return self.popen.returncode

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_until(self, ready: Any, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if ready():
                return
            if not self.running():
                code = self.popen.returncode if self.popen else None
                raise DaemonFailed(f"{self.name} exited (status {code}) before {what}; log {self.log}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise DaemonFailed(f"{self.name} not ready ({what}) after {timeout:.0f}s; log {self.log}:\n{self.log_tail()}")
            time.sleep(0.05)


# --------------------------------------------------------------------------- the node (mount namespace)

_CLONE_NEWNS = 0x00020000
_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount_namespace_id(pid: int | str = "thread-self") -> str:
    return os.readlink(f"/proc/{pid}/ns/mnt")


class Node:
    """A throwaway node: a directory standing for its filesystem, short socket paths, and a private
    mount namespace that the calling thread of the test process enters and leaves.

    ``overlay``: host directories made copy-on-write inside the namespace; ``tmpfs``: directories
    replaced by an empty tmpfs; ``hosts``: extra ``/etc/hosts`` entries (name -> address).
    ``namespace=False`` skips the namespace (then daemons may write to default host paths).
    """

    def __init__(
        self,
        base: Path,
        *,
        hosts: Mapping[str, str] | None = None,
        namespace: bool = True,
        overlay: Sequence[str] = ("/etc", "/opt", "/var/lib"),
        tmpfs: Sequence[str] = ("/run",),
    ) -> None:
        self.base = Path(base)
        self.root = self.base / "fs"
        self.logs = self.base / "logs"
        self.hosts = dict(hosts or {})
        self.namespace = namespace
        self.overlay = tuple(overlay)
        self.tmpfs = tuple(tmpfs)
        self.sockdir: Path | None = None
        self._sockets: dict[str, Path] = {}
        self._processes: list[Process] = []
        self._names: dict[str, int] = {}
        self._orig_ns: int | None = None
        self._orig_cwd: str | None = None
        self.ns_id: str | None = None
        self.killed_leftovers: list[tuple[int, str]] = []
        """Processes that were still in the namespace when the node was left (a leak worth a look)."""

    # -- paths
    def path(self, node_path: str | os.PathLike[str]) -> Path:
        """Where a node path lives in this test: ``/etc/x`` -> ``<base>/fs/etc/x``."""
        p = str(node_path)
        if not p.startswith("/"):
            raise ValueError(f"node paths are absolute, got {p!r}")
        return self.root / os.path.normpath(p).lstrip("/")

    def socket(self, node_path: str | os.PathLike[str]) -> Path:
        """A short host path for a node socket path; the same node path always maps to the same socket."""
        assert self.sockdir is not None, "enter the node first"
        p = os.path.normpath(str(node_path).removeprefix("unix://"))
        if p not in self._sockets:
            name = Path(p).name or "sock"
            candidate, n = self.sockdir / name, 1
            while candidate in self._sockets.values():
                n += 1
                candidate = self.sockdir / f"{n}-{name}"
            self._sockets[p] = candidate
            self._link_default_path(p, candidate)
        return self._sockets[p]

    def _link_default_path(self, node_path: str, short: Path) -> None:
        """Inside the namespace, make the node's own socket path (on the private /run tmpfs) a symlink
        to the short socket, so programs that dial a hard-coded default (soci 0.4.1's content store
        dials /run/containerd/containerd.sock) reach this node's daemon."""
        if self._orig_ns is None:
            return
        real = os.path.realpath(node_path)
        if not any(real == d or real.startswith(d.rstrip("/") + "/") for d in self.tmpfs):
            return
        with contextlib.suppress(FileExistsError):
            os.makedirs(os.path.dirname(real), exist_ok=True)
            os.symlink(short, real)

    def write(self, node_path: str, content: str | bytes, mode: int = 0o644) -> Path:
        target = self.path(node_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
        target.chmod(mode)
        return target

    def install_tree(self, files: Mapping[str, str | bytes]) -> None:
        """Lay out ``{node path: content}``, e.g. the renderer's files for a node."""
        for p, c in files.items():
            self.write(p, c)

    def unique_name(self, stem: str) -> str:
        """``stem``, then ``stem-2``, ``stem-3``...: file names for several daemons of one kind on a node."""
        self._names[stem] = self._names.get(stem, 0) + 1
        return stem if self._names[stem] == 1 else f"{stem}-{self._names[stem]}"

    def register(self, proc: Process) -> Process:
        self._processes.append(proc)
        return proc

    # -- lifecycle
    def __enter__(self) -> Node:
        self.root.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.sockdir = Path(tempfile.mkdtemp(prefix="sek-", dir="/tmp"))
        if self.namespace:
            try:
                self._enter_namespace()
            except BaseException:
                self._leave_namespace()
                shutil.rmtree(self.sockdir, ignore_errors=True)
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        errors = []
        for proc in reversed(self._processes):
            try:
                proc.stop()
            except Exception as e:  # keep tearing down
                errors.append(f"stopping {proc.name}: {e}")
        try:
            unmount_all(self.root)
            if self.sockdir:
                unmount_all(self.sockdir)
        finally:
            self._leave_namespace()
            if self.sockdir:
                shutil.rmtree(self.sockdir, ignore_errors=True)
        if errors:
            raise DaemonFailed("; ".join(errors))

    def _enter_namespace(self) -> None:
        for d in (*self.overlay, *self.tmpfs):
            if self.base.resolve().is_relative_to(d):
                raise ValueError(f"the node's base {self.base} is under {d}, which the namespace replaces; use a temp dir elsewhere")
        self._orig_cwd = os.getcwd()
        # Mount namespaces are per thread: only this thread (and what it starts) moves; other threads
        # of the test process (e.g. Pulumi's gRPC pool) stay where they are.
        self._orig_ns = os.open("/proc/thread-self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        _check(_libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        self.ns_id = mount_namespace_id()
        _run(["mount", "--make-rprivate", "/"])
        ns = self.base / "ns"
        for d in self.overlay:
            if not os.path.isdir(d):
                continue
            key = d.strip("/").replace("/", "_")
            upper, work = ns / "upper" / key, ns / "work" / key
            upper.mkdir(parents=True, exist_ok=True)
            work.mkdir(parents=True, exist_ok=True)
            _run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={d},upperdir={upper},workdir={work}", d])
        for d in self.tmpfs:
            _run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", d])
        if self.hosts:
            hosts = ns / "hosts"
            base = Path("/etc/hosts").read_text() if Path("/etc/hosts").exists() else "127.0.0.1 localhost\n"
            hosts.write_text(base.rstrip("\n") + "\n" + "".join(f"{a} {n}\n" for n, a in self.hosts.items()))
            _run(["mount", "--bind", str(hosts), "/etc/hosts"])

    def _leave_namespace(self) -> None:
        if self._orig_ns is None:
            return
        # Held until the scan below is done: a freed mount namespace's number is reused at once by the next
        # one made, and the scan would SIGKILL another test's processes by it.
        held = os.open("/proc/thread-self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        try:
            self._leave_and_kill_leftovers()
        finally:
            os.close(held)

    def _leave_and_kill_leftovers(self) -> None:
        assert self._orig_ns is not None
        try:
            _check(_libc.setns(self._orig_ns, _CLONE_NEWNS), "setns back to the original mount namespace")
        finally:
            os.close(self._orig_ns)
            self._orig_ns = None
            if self._orig_cwd:
                os.chdir(self._orig_cwd)
        # Anything still inside the namespace was started by this test (directly or by a daemon): kill by PID.
        if self.ns_id:
            me = os.getpid()
            for entry in os.listdir("/proc"):
                if not entry.isdigit() or int(entry) == me:
                    continue
                try:
                    if mount_namespace_id(entry) != self.ns_id:
                        continue
                    cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    os.kill(int(entry), signal.SIGKILL)
                    self.killed_leftovers.append((int(entry), cmd))
                except (FileNotFoundError, ProcessLookupError, PermissionError):
                    continue


def _run(argv: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(list(argv), capture_output=True, text=True, check=False, **kw)
    if r.returncode != 0:
        raise DaemonFailed(f"{shlex.join(argv)} failed ({r.returncode}): {r.stderr.strip() or r.stdout.strip()}")
    return r


# --------------------------------------------------------------------------- containerd

# Keys (anywhere under [plugins]) that hold node paths: absolute values are moved under the node root.
_PATH_KEYS = {
    "root_path",
    "state_dir",
    "bin_dir",
    "bin_dirs",
    "conf_dir",
    "conf_template",
    "config_path",
    "runtime_root",
    "plugin_path",
    "plugin_config_path",
    "cdi_spec_dirs",
    "path",
    "root",
    "state",
    "image_pull_progress_dir",
}
_SOCKET_KEYS = {"socket_path", "address"}


class ConfigDump(NamedTuple):
    text: str
    data: dict[str, Any]


class CriView(NamedTuple):
    snapshotter: str | None
    image_fs_path: str | None
    snapshot_annotations: bool | None
    """True when the CRI plugin passes snapshot annotations (``disable_snapshot_annotations = false``)."""


class Plugin(NamedTuple):
    type: str
    id: str
    platforms: str
    status: str


class Containerd:
    """Real containerd of one line (``'1.6'``, ``'1.7'``, ``'2'``) on a :class:`Node`.

    The config text is parsed with tomlkit and its path keys are rewritten through the node
    (``root``/``state``/``[grpc] address``/``[ttrpc]``/``[debug]``, ``imports``, proxy plugins'
    ``address`` and ``exports.root``, CNI/CDI/NRI dirs, registry ``config_path``, ``base_runtime_spec``
    (generated with ``ctr oci spec`` when the node has no such file), runc ``BinaryName`` -> the
    unpacked runc). Nothing else is added to the config: defaults that name host paths land in the
    node's namespace. ``rewrites`` records every change made.
    """

    def __init__(
        self,
        node: Node,
        line: str,
        config: str,
        *,
        start: bool = True,
        env: Mapping[str, str] | None = None,
        log_level: str = "info",
        timeout: float = 30.0,
    ) -> None:
        self.node = node
        self.daemon = containerd_daemon(line)
        self.runc = daemon("runc")
        self.source_config = config
        self.start_daemon = start
        self.extra_env = dict(env or {})
        self.log_level = log_level
        self.timeout = timeout
        self.rewrites: list[tuple[str, Any, Any]] = []
        self.name = node.unique_name(f"containerd-{self.daemon.upstream}")
        self.config_file = node.base / f"{self.name}.toml"
        self.address: Path = Path()
        self.process: Process | None = None
        self.config_text = self._rewrite(config)
        self.config_file.write_text(self.config_text)

    # -- config rewriting
    def _rewrite(self, text: str) -> str:
        doc = tomlkit.parse(text)
        node = self.node
        self.schema = int(doc.get("version", 1))

        def note(key: str, old: Any, new: Any) -> Any:
            self.rewrites.append((key, old, new))
            return new

        for key, default in (("root", "/var/lib/containerd"), ("state", "/run/containerd")):
            old = doc.get(key)
            doc[key] = note(key, old, str(node.path(str(old) if old else default)))
        for key in ("temp", "plugin_dir"):
            if doc.get(key):
                doc[key] = note(key, doc[key], str(node.path(str(doc[key]))))
        if "imports" in doc:
            doc["imports"] = note("imports", list(doc["imports"]), [str(node.path(str(p))) if str(p).startswith("/") else str(p) for p in doc["imports"]])

        grpc = _table(doc, "grpc")
        old = grpc.get("address")
        self.address = node.socket(str(old) if old else "/run/containerd/containerd.sock")
        grpc["address"] = note("grpc.address", old, str(self.address))
        if grpc.get("tcp_address"):
            grpc["tcp_address"] = note("grpc.tcp_address", grpc["tcp_address"], "")
        for section in ("ttrpc", "debug"):
            t = doc.get(section)
            if isinstance(t, MutableMapping) and t.get("address"):
                t["address"] = note(f"{section}.address", t["address"], str(node.socket(str(t["address"]))))
        metrics = doc.get("metrics")
        if isinstance(metrics, MutableMapping) and metrics.get("address"):
            metrics["address"] = note("metrics.address", metrics["address"], f"127.0.0.1:{free_port()}")
        cgroup = doc.get("cgroup")
        if isinstance(cgroup, MutableMapping) and cgroup.get("path"):
            cgroup["path"] = note("cgroup.path", cgroup["path"], "")  # never move into a host cgroup

        proxies = doc.get("proxy_plugins")
        if isinstance(proxies, MutableMapping):
            for name, p in proxies.items():
                if not isinstance(p, MutableMapping):
                    continue
                if p.get("address"):
                    p["address"] = note(f"proxy_plugins.{name}.address", p["address"], str(node.socket(str(p["address"]))))
                exports = p.get("exports")
                if isinstance(exports, MutableMapping):
                    if exports.get("root"):
                        exports["root"] = note(f"proxy_plugins.{name}.exports.root", exports["root"], str(node.path(str(exports["root"]))))
                    if exports.get("address"):
                        exports["address"] = note(f"proxy_plugins.{name}.exports.address", exports["address"], str(node.socket(str(exports["address"]))))

        plugins = doc.get("plugins")
        if isinstance(plugins, MutableMapping):
            self._rewrite_plugins(plugins, "plugins", note)
        return tomlkit.dumps(doc)

    def _rewrite_plugins(self, table: MutableMapping[str, Any], where: str, note: Any) -> None:
        node = self.node
        for key, value in list(table.items()):
            here = f"{where}.{key}"
            if isinstance(value, MutableMapping):
                self._rewrite_plugins(value, here, note)
            elif key == "BinaryName" and value:
                table[key] = note(here, value, str(self.runc.bin("runc")))
            elif key == "base_runtime_spec" and value:
                spec = node.path(str(value))
                if not spec.exists():
                    spec.parent.mkdir(parents=True, exist_ok=True)
                    spec.write_text(self.ctr_offline("oci", "spec").stdout)
                table[key] = note(here, value, str(spec))
            elif key in _SOCKET_KEYS and isinstance(value, str) and value.startswith(("/", "unix://")):
                table[key] = note(here, value, str(node.socket(value)))
            elif key in _PATH_KEYS and isinstance(value, str) and value.startswith("/"):
                # config_path may be a ':'-separated list on 1.x
                table[key] = note(here, value, ":".join(str(node.path(p)) if p.startswith("/") else p for p in value.split(":")))
            elif key in _PATH_KEYS and isinstance(value, list):
                table[key] = note(here, list(value), [str(node.path(str(p))) if str(p).startswith("/") else p for p in value])

    # -- running
    @property
    def bindir(self) -> Path:
        return self.daemon.bin("containerd").parent

    def env(self) -> dict[str, str]:
        path = f"{self.bindir}:{self.runc.bin('runc').parent}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        env = {"PATH": path, "HOME": str(self.node.path("/root")), "LANG": "C.UTF-8"}
        env.update(self.extra_env)
        return env

    def __enter__(self) -> Containerd:
        if self.start_daemon:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        log = self.node.logs / f"{self.name}.log"
        argv = [self.daemon.bin("containerd"), "--config", self.config_file, "--log-level", self.log_level]
        self.process = self.node.register(Process(f"containerd {self.daemon.version}", argv, env=self.env(), log=log))
        self.process.start()
        self.process.wait_until(lambda: unix_socket_answers(self.address), f"its socket {self.address} answered", self.timeout)
        # The socket is up before every plugin has finished loading on some versions: wait for the plugin list.
        self.process.wait_until(self._plugins_listed, "ctr plugins ls answered", self.timeout)

    def _plugins_listed(self) -> bool:
        r = subprocess.run(self._ctr_argv("plugins", "ls"), capture_output=True, text=True, env=self.env(), check=False, timeout=30)
        return r.returncode == 0 and "io.containerd" in r.stdout

    def stop(self, timeout: float = 10.0) -> int | None:
        return self.process.stop(timeout) if self.process else None

    def log_text(self) -> str:
        return self.process.log_text() if self.process else ""

    def log_entries(self) -> list[dict[str, str]]:
        return [parse_logfmt(line) for line in self.log_text().splitlines() if "level=" in line]

    def log_problems(self, ignore: re.Pattern[str] | None = CNI_NOT_CONFIGURED) -> list[dict[str, str]]:
        """Log entries at warning level or above (by default without the no-CNI-config error every test node logs)."""
        return [
            e
            for e in self.log_entries()
            if e.get("level") in {"warning", "error", "fatal", "panic"} and not (ignore and ignore.search(e.get("msg", "") + " " + e.get("error", "")))
        ]

    def config_complaints(self) -> list[str]:
        """Warnings about the config: unknown keys, migration, deprecated or incompatible settings (messages)."""
        return [
            " ".join(f"{k}={v}" for k, v in e.items() if k not in ("time", "level"))
            for e in self.log_problems()
            if CONFIG_COMPLAINT.search(e.get("msg", ""))
        ]

    # -- commands
    def config_dump(self) -> ConfigDump:
        r = subprocess.run(
            [str(self.daemon.bin("containerd")), "--config", str(self.config_file), "config", "dump"],
            capture_output=True,
            text=True,
            env=self.env(),
            check=False,
            timeout=60,
        )
        if r.returncode != 0:
            raise DaemonFailed(f"containerd {self.daemon.version} config dump failed ({r.returncode}):\n{r.stderr}\n{r.stdout}")
        return ConfigDump(r.stdout, tomllib.loads(r.stdout))

    def _ctr_argv(self, *args: str) -> list[str]:
        return [str(self.daemon.bin("ctr")), "--address", str(self.address), *args]

    def ctr(self, *args: str, check: bool = True, timeout: float = 120, namespace: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``ctr --address <this daemon> [-n namespace] ARGS`` with this line's ctr."""
        argv = self._ctr_argv(*(("--namespace", namespace) if namespace else ()), *args)
        r = subprocess.run(argv, capture_output=True, text=True, env=self.env(), check=False, timeout=timeout)
        if check and r.returncode != 0:
            raise self._ctr_failed(r)
        return r

    def _ctr_failed(self, r: subprocess.CompletedProcess[str]) -> DaemonFailed:
        return DaemonFailed(f"{shlex.join(r.args)} failed ({r.returncode}):\n{r.stderr}\n{r.stdout}\n--- containerd log:\n{self.process.log_tail() if self.process else ''}")

    def ctr_offline(self, *args: str) -> subprocess.CompletedProcess[str]:
        """ctr commands that need no daemon (e.g. ``oci spec``)."""
        r = subprocess.run([str(self.daemon.bin("ctr")), *args], capture_output=True, text=True, env=self.env(), check=False, timeout=60)
        if r.returncode != 0:
            raise DaemonFailed(f"ctr {' '.join(args)} failed: {r.stderr}")
        return r

    def plugins(self) -> list[Plugin]:
        """``ctr plugins ls`` parsed into (type, id, platforms, status) rows."""
        rows = []
        for line in self.ctr("plugins", "ls").stdout.splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 4:
                rows.append(Plugin(parts[0], parts[1], " ".join(parts[2:-1]), parts[-1]))
        return rows

    def probe_snapshotter(self, snapshotter: str = "soci", key: str = "soci-eks-probe", patience: float = 10.0) -> str:
        """Prepare an empty snapshot through ``snapshotter`` and return its mounts, then remove it.

        Unlike ``ctr plugins ls`` (a proxy plugin is listed ``ok`` whether or not anything listens on
        its socket), this is a round trip to the snapshotter itself: for soci the mount source lies
        under soci's own root.

        containerd's gRPC connection to a proxy plugin that was not listening yet when containerd first
        dialled it waits out gRPC's reconnect backoff (about a second), and calls fail ``unavailable``
        meanwhile: those are retried for up to ``patience`` seconds; any other failure is raised at once."""
        deadline = time.monotonic() + patience
        r = self.ctr("snapshots", "--snapshotter", snapshotter, "prepare", key, check=False)
        while r.returncode != 0 and "unavailable" in r.stderr and time.monotonic() < deadline:
            time.sleep(0.25)
            r = self.ctr("snapshots", "--snapshotter", snapshotter, "prepare", key, check=False)
        if r.returncode != 0:
            raise self._ctr_failed(r)
        try:
            return self.ctr("snapshots", "--snapshotter", snapshotter, "mounts", "/soci-eks-probe", key).stdout
        finally:
            self.ctr("snapshots", "--snapshotter", snapshotter, "rm", key, check=False)

    def unknown_keys(self) -> list[str]:
        """What containerd did not take from our config, from the daemon itself.

        - 2.x logs ``Ignoring unknown key in TOML [for plugin]``: each such key;
        - when the file's schema is the daemon's (v2 on 1.x, v3 on 2.x): every key of the file that is
          missing from ``config dump`` (1.x drops unknown keys and plugins from the dump silently);
        - when running: every ``[plugins."<id>"]`` table whose id is not a registered plugin.
        """
        found = []
        for e in self.log_entries():
            if e.get("msg", "").startswith("Ignoring unknown key in TOML"):
                found.append(f"log: {e.get('key')}" + (f" (plugin {e['plugin']})" if e.get("plugin") else ""))
        source = tomllib.loads(self.config_text)
        dump = self.config_dump().data
        if int(source.get("version", 1)) == int(dump.get("version", 0)):
            found += [f"not in config dump: {'.'.join(p)}" for p in sorted(_leaf_paths(source) - _leaf_paths(dump))]
        if self.process is not None and self.process.running():
            registered = {f"{p.type}.{p.id}" for p in self.plugins()}
            found += [f"no such plugin: {pid}" for pid in source.get("plugins", {}) if pid not in registered]
        return found

    def cri_view(self) -> CriView:
        """What the running CRI plugin says it uses, from its own start-up log lines.

        1.x logs ``Start cri plugin with config {PluginConfig:{ContainerdConfig:{Snapshotter:X ...
        DisableSnapshotAnnotations:B ...}`` and ``Get image filesystem path "P"``; 2.x logs ``Get
        image filesystem path "P" for snapshotter "X"`` and, when snapshot annotations are passed,
        ``Found 'DisableSnapshotAnnotations' ... Falling back to local image pull mode``. ``P`` is
        where the kubelet's image-fs stats and GC look: below containerd 1.7.16/1.6.32 it is
        ``<containerd root>/io.containerd.snapshotter.v1.<name>`` even for a proxy snapshotter.
        """
        text = self.log_text()
        snapshotter = image_fs = annotations = None
        m = re.search(r"ContainerdConfig:\{Snapshotter:(\S*) ", text)
        if m:
            snapshotter = m.group(1)
        m = re.search(r"ContainerdConfig:\{.*? DisableSnapshotAnnotations:(true|false) ", text)
        if m:
            annotations = m.group(1) == "false"
        for e in self.log_entries():
            m = re.match(r'Get image filesystem path "([^"]*)"(?: for snapshotter "([^"]*)")?', e.get("msg", ""))
            if m:
                image_fs = m.group(1)
                snapshotter = m.group(2) or snapshotter
            elif e.get("msg", "").startswith("Found 'DisableSnapshotAnnotations'"):
                annotations = True
        if annotations is None and self.daemon.upstream_tuple >= (2,) and image_fs is not None:
            annotations = False  # 2.x: no fallback warning means annotations are not passed
        return CriView(snapshotter, image_fs, annotations)

    def deprecations(self) -> str:
        return self.ctr("deprecations", "list").stdout

    def plugin_rows(self) -> set[tuple[str, str, str]]:
        return {(p.type, p.id, p.status) for p in self.plugins()}

    def plugin_detail(self, plugin_id: str) -> str:
        """``ctr plugins ls --detailed id==ID``: shows a proxy plugin's exports (e.g. its root)."""
        return self.ctr("plugins", "ls", "--detailed", f"id=={plugin_id}").stdout


def _leaf_paths(d: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for k, v in d.items():
        if isinstance(v, Mapping) and v:
            out |= _leaf_paths(v, (*prefix, k))
        else:
            out.add((*prefix, k))
    return out


def _table(doc: Any, key: str) -> MutableMapping[str, Any]:
    t = doc.get(key)
    if not isinstance(t, MutableMapping):
        t = tomlkit.table()
        doc[key] = t
    return t


def cri_images(dump: Mapping[str, Any]) -> dict[str, Any]:
    """The effective CRI image settings (snapshotter, disable_snapshot_annotations, ...) from a config dump of any line."""
    plugins = dump.get("plugins", {})
    if int(dump.get("version", 2)) >= 3:
        return dict(plugins.get("io.containerd.cri.v1.images", {}))
    return dict(plugins.get("io.containerd.grpc.v1.cri", {}).get("containerd", {}))


# --------------------------------------------------------------------------- soci-snapshotter

SOCI_DEFAULT_ADDRESS = "/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock"
SOCI_DEFAULT_ROOT = "/var/lib/soci-snapshotter-grpc"
SOCI_DEFAULT_CONFIG = "/etc/soci-snapshotter-grpc/config.toml"


class Soci:
    """Real ``soci-snapshotter-grpc`` on a :class:`Node`.

    ``address``/``root``/``config_path`` are node paths (the defaults of the real daemon); the config
    text is written to the node at ``config_path`` after rewriting its path keys through the node
    (``[cri_keychain] image_service_path`` -> the node's containerd socket, added when the CRI
    keychain is enabled without one; ``[kubeconfig_keychain] kubeconfig_path``; ``debug_address``;
    ``metrics_address`` -> a free loopback port or a node socket; ``[content_store] containerd_address``).
    ``HOME`` is the node's ``/root``, so ``node.write('/root/.docker/config.json', ...)`` gives soci
    docker-config credentials. On exit the daemon is stopped by PID and every mount under its root
    is unmounted.
    """

    def __init__(
        self,
        node: Node,
        config: str | None = None,
        *,
        address: str = SOCI_DEFAULT_ADDRESS,
        root: str = SOCI_DEFAULT_ROOT,
        config_path: str = SOCI_DEFAULT_CONFIG,
        env: Mapping[str, str] | None = None,
        log_level: str = "debug",
        timeout: float = 30.0,
        key: str = "soci",
    ) -> None:
        self.node = node
        self.daemon = daemon(key)
        self.address = node.socket(address)
        self.root = node.path(root)
        self.extra_env = dict(env or {})
        self.log_level = log_level
        self.timeout = timeout
        self.rewrites: list[tuple[str, Any, Any]] = []
        self.config_file = node.path(config_path)
        self.config_text = self._rewrite(config or "")
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(self.config_text)
        self.process: Process | None = None

    def _rewrite(self, text: str) -> str:
        doc = tomlkit.parse(text)
        node = self.node

        def note(key: str, old: Any, new: Any) -> Any:
            self.rewrites.append((key, old, new))
            return new

        cri = doc.get("cri_keychain")
        if isinstance(cri, MutableMapping):
            old = cri.get("image_service_path")
            if old or cri.get("enable_keychain"):
                cri["image_service_path"] = note("cri_keychain.image_service_path", old, str(node.socket(str(old) if old else "/run/containerd/containerd.sock")))
        kube = doc.get("kubeconfig_keychain")
        if isinstance(kube, MutableMapping) and kube.get("kubeconfig_path"):
            kube["kubeconfig_path"] = note("kubeconfig_keychain.kubeconfig_path", kube["kubeconfig_path"], str(node.path(str(kube["kubeconfig_path"]))))
        if doc.get("debug_address"):
            doc["debug_address"] = note("debug_address", doc["debug_address"], str(node.socket(str(doc["debug_address"]))))
        if doc.get("metrics_address"):
            if doc.get("metrics_network") == "unix":
                new = str(node.socket(str(doc["metrics_address"])))
            else:
                new = f"127.0.0.1:{free_port()}"
            doc["metrics_address"] = note("metrics_address", doc["metrics_address"], new)
        store = doc.get("content_store")
        if isinstance(store, MutableMapping) and store.get("containerd_address"):
            store["containerd_address"] = note("content_store.containerd_address", store["containerd_address"], str(node.socket(str(store["containerd_address"]))))
        return tomlkit.dumps(doc)

    def env(self) -> dict[str, str]:
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(self.node.path("/root")), "LANG": "C.UTF-8"}
        env.update(self.extra_env)
        return env

    def __enter__(self) -> Soci:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.node.path("/root").mkdir(parents=True, exist_ok=True)
        argv = [
            self.daemon.bin("soci-snapshotter-grpc"),
            "--address",
            self.address,
            "--root",
            self.root,
            "--config",
            self.config_file,
            "--log-level",
            self.log_level,
        ]
        log = self.node.logs / f"{self.node.unique_name('soci')}.log"
        self.process = self.node.register(Process(f"soci-snapshotter-grpc {self.daemon.version}", argv, env=self.env(), log=log))
        self.process.start()
        self.process.wait_until(lambda: unix_socket_answers(self.address), f"its socket {self.address} answered", self.timeout)

    def stop(self, timeout: float = 10.0) -> int | None:
        code = self.process.stop(timeout) if self.process else None
        unmount_all(self.root)
        return code

    def fuse_mounts(self) -> list[tuple[str, str, str]]:
        return [m for m in mounts_under(self.root) if m[1].startswith("fuse")]

    def log_text(self) -> str:
        return self.process.log_text() if self.process else ""

    def log_entries(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    out.append(json.loads(line))
        return out

    def log_problems(self) -> list[dict[str, Any]]:
        return [e for e in self.log_entries() if e.get("level") in {"warning", "error", "fatal", "panic"}]

    def cli(self, *args: str, check: bool = True, timeout: float = 300, containerd: Containerd | None = None) -> subprocess.CompletedProcess[str]:
        """Run the ``soci`` CLI (against ``containerd``'s socket when given)."""
        argv = [str(self.daemon.bin("soci"))]
        if containerd is not None:
            argv += ["--address", str(containerd.address)]
        argv += list(args)
        r = subprocess.run(argv, capture_output=True, text=True, env=self.env(), check=False, timeout=timeout)
        if check and r.returncode != 0:
            raise DaemonFailed(f"{shlex.join(argv)} failed ({r.returncode}):\n{r.stderr}\n{r.stdout}")
        return r


# --------------------------------------------------------------------------- registry (distribution v2)


@dataclasses.dataclass(frozen=True)
class Tls:
    ca: Path
    cert: Path
    key: Path


def make_tls(directory: Path, names: Sequence[str] = ("localhost",), ips: Sequence[str] = ("127.0.0.1",)) -> Tls:
    """A throwaway CA and a server certificate for ``names``/``ips`` (openssl CLI)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (directory / n for n in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt"))
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2", "-subj", "/CN=soci-eks test CA"])
    _run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={(list(names) or ['localhost'])[0]}"])
    san = ",".join([f"DNS:{n}" for n in names] + [f"IP:{i}" for i in ips])
    ext = directory / "server.ext"
    ext.write_text(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    _run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext)])
    return Tls(ca, cert, key)


def htpasswd_line(user: str, password: str) -> str:
    """A bcrypt ``user:hash`` line for docker-registry's htpasswd auth (libcrypt's bcrypt, no extra package)."""
    lib = ctypes.CDLL("libcrypt.so.1", use_errno=True)
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = lib.crypt_gensalt(b"$2b$", 5, None, 0)
    hashed = lib.crypt(password.encode(), salt) if salt else None
    if not hashed or not hashed.startswith(b"$2"):
        raise RuntimeError("libcrypt could not make a bcrypt hash")
    return f"{user}:{hashed.decode()}"


class Registry:
    """docker-registry (distribution 2.8) on 127.0.0.1:<free port>, storage under ``workdir``.

    ``hostname``: the name clients use (default ``127.0.0.1``; use a non-loopback name mapped in
    :class:`Node` ``hosts`` for soci 0.4.1 lazy loading). ``tls``: serve HTTPS with these files.
    ``users``: ``{user: password}`` for htpasswd auth. ``port``: a fixed port (default: a free one); on
    443 with TLS, image references carry no port (as an ECR registry's name). ``address``: the loopback
    address it listens on (another than 127.0.0.1 lets two registries have port 443).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        hostname: str = "127.0.0.1",
        tls: Tls | None = None,
        users: Mapping[str, str] | None = None,
        node: Node | None = None,
        timeout: float = 30.0,
        port: int | None = None,
        address: str = "127.0.0.1",
    ) -> None:
        self.workdir = Path(workdir)
        self.daemon = daemon("registry")
        self.address = address
        self.hostname = hostname
        self.tls = tls
        self.users = dict(users or {})
        self.node = node
        self.timeout = timeout
        self.port = port or free_port()
        self.process: Process | None = None

    @property
    def host(self) -> str:
        """``name:port`` as used in image references (``name`` alone on HTTPS's own port)."""
        return self.hostname if self.tls and self.port == 443 else f"{self.hostname}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    def __enter__(self) -> Registry:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        storage = self.workdir / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text"},
            "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
            "http": {"addr": f"{self.address}:{self.port}", "secret": "soci-eks-test"},
        }
        if self.tls:
            config["http"]["tls"] = {"certificate": str(self.tls.cert), "key": str(self.tls.key)}
        if self.users:
            htpasswd = self.workdir / "htpasswd"
            htpasswd.write_text("".join(htpasswd_line(u, p) + "\n" for u, p in self.users.items()))
            config["auth"] = {"htpasswd": {"realm": "soci-eks-test", "path": str(htpasswd)}}
        cfg = self.workdir / "config.yml"
        cfg.write_text(json.dumps(config, indent=2))  # JSON is YAML
        log = self.node.logs / f"{self.node.unique_name('registry')}.log" if self.node else self.workdir / "registry.log"
        proc = Process("docker-registry", [self.daemon.bin("docker-registry"), "serve", cfg], env={"PATH": "/usr/bin:/bin"}, log=log)
        self.process = self.node.register(proc) if self.node else proc
        proc.start()
        proc.wait_until(lambda: self.status("/v2/") in (200, 401), f"GET {self.url}/v2/ answered", self.timeout)

    def stop(self, timeout: float = 10.0) -> int | None:
        return self.process.stop(timeout) if self.process else None

    def status(self, path: str, auth: tuple[str, str] | None = None) -> int | None:
        """HTTP status of ``GET path`` (connecting to ``address``, verifying TLS for ``hostname``), None if no answer."""
        header = ""
        if auth:
            header = "Authorization: Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode() + "\r\n"
        try:
            with socket.create_connection((self.address, self.port), timeout=2) as raw:
                sock: socket.socket = raw
                if self.tls:
                    ctx = ssl.create_default_context(cafile=str(self.tls.ca))
                    sock = ctx.wrap_socket(raw, server_hostname=self.hostname)
                sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {self.host}\r\n{header}\r\n".encode())
                head = sock.recv(64).decode(errors="replace")
        except (OSError, ssl.SSLError):
            return None
        m = re.match(r"HTTP/\d\.\d (\d{3})", head)
        return int(m.group(1)) if m else None


__all__ = [
    "CNI_NOT_CONFIGURED",
    "CONTAINERD_LINES",
    "ConfigDump",
    "Containerd",
    "CriView",
    "Daemon",
    "DaemonFailed",
    "DaemonsMissing",
    "Node",
    "Plugin",
    "Process",
    "Registry",
    "Soci",
    "Tls",
    "binary",
    "containerd_daemon",
    "cri_images",
    "daemon",
    "free_port",
    "htpasswd_line",
    "index",
    "make_tls",
    "mount_namespace_id",
    "mounts_under",
    "parse_logfmt",
    "unmount_all",
]
