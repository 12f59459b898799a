"""A whole node in a box: systemd 252 (the machine's own, ``/lib/systemd/systemd``) as PID 1 of its
own PID, mount, UTS, IPC, network and cgroup namespaces, over a root filesystem of its own.

Never over the machine's root: the box's ``/`` is an overlayfs whose lower layer is the machine's
``/`` and whose upper layer is ``<base>/upper`` (what the node wrote, kept across reboots, like an
EBS root volume). On top of it, inside the box only:

- ``/run`` and ``/tmp``: fresh tmpfs on every boot (as on a node); ``systemd-tmpfiles`` there cannot
  reach the machine's ``/tmp``;
- ``/var/lib``: ``<base>/varlib`` bind-mounted, a disk of the node's own: a tmpfs of ``disk_gib`` (20 GiB, an EKS
  node group's default volume) mounted there by the box and unmounted at close, so what the node's kubelet sees
  of its disk (image GC at 85 % use, eviction below 10 % free, nodeadm's defaults) is the node's, not how full
  the machine is (a node on the machine's disk evicted its pods whenever the machine's disk was 90 % full). A
  real filesystem: SOCI's root cannot sit on an overlayfs; kept across reboots;
- ``/proc``: the box's own PID namespace; ``/proc/sys`` read-only except ``/proc/sys/net`` (the
  box's network namespace), so nothing in the box can change the machine's kernel settings;
- ``/sys`` read-only, with ``/sys/fs/cgroup`` a tmpfs holding every cgroup hierarchy of the machine
  mounted inside a cgroup namespace rooted at a cgroup of the box's own (``soci-box-<id>`` under the
  test's cgroup in each hierarchy), removed at close;
- ``/dev``: a tmpfs with the few device nodes a node's daemons use (null, zero, full, random,
  urandom, tty, fuse, kmsg) and a private devpts.

Network: a network namespace with only ``lo``, which also carries 169.254.169.254 (the instance
metadata address, served by the test's mock IMDS) and the ``addresses`` given (the instance's IP). :meth:`SystemdBox.net` puts the calling thread of
the test into that namespace, so the registry, moto and the IMDS mock the test starts listen on the
box's loopback and nothing leaves the machine.

Units: before boot, :meth:`SystemdBox.seed` writes the AMI's files into ``upper``; every unit the
machine itself would start (anything in a ``.wants``/``.requires`` directory of the machine's
``/lib`` or ``/etc`` unit paths, except journald's) is masked in the box's ``/etc/systemd/system``,
and every systemd generator of the machine is disabled, so the box boots only ``multi-user.target``
with the node's units. systemd reports the end of its start-up over ``NOTIFY_SOCKET`` (``READY=1``),
which :meth:`SystemdBox.boot` waits for.

Stopping: :meth:`halt` sends ``SIGRTMIN+4`` (poweroff) to the box's PID 1 and waits; :meth:`close`
then kills the PID namespace's init (the kernel kills every process left in it), waits for the
holder, and removes the box's cgroups. ``reboot()`` is a halt followed by a boot on the same
``upper`` and ``varlib``.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import textwrap
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.support.daemons import _check, _libc

_CLONE_NEWNET = 0x40000000
SYSTEMD = "/lib/systemd/system/"
UNIT_DIRS = ("/lib/systemd/system", "/usr/lib/systemd/system", "/etc/systemd/system")
GENERATOR_DIRS = ("/lib/systemd/system-generators", "/usr/lib/systemd/system-generators")
KEEP = frozenset({"systemd-journald.service", "systemd-journald.socket", "systemd-journald-dev-log.socket", "systemd-tmpfiles-setup.service"})
"""Units of the machine's wants/requires directories that the box keeps (a node runs them too)."""
DEVICES = ("null", "zero", "full", "random", "urandom", "tty", "fuse", "kmsg")
BOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
IMDS_ADDRESS = "169.254.169.254"


class BootFailed(RuntimeError):
    pass


def _die_with_the_test() -> None:
    """In the holders (before exec): SIGKILL when the test process dies (``PR_SET_PDEATHSIG``, kept across exec), so a
    test run that is killed leaves no box running (the box's holder is ``unshare --kill-child``: its PID namespace
    goes with it) and no network namespace held."""
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class SystemdBox:
    """A node booted by systemd in namespaces of its own; see the module docstring."""

    def __init__(self, base: Path, *, hostname: str = "ip-10-0-0-10.us-west-2.compute.internal", proc_sys: dict[str, str] | None = None, binds: Sequence[Path] = (),
                 addresses: Sequence[str] = (), disk_gib: int = 20) -> None:
        self.base = Path(base)
        self.upper, self.work, self.merged = self.base / "upper", self.base / "work", self.base / "merged"
        self.varlib, self.ctl = self.base / "varlib", self.base / "ctl"
        for d in (self.upper, self.work, self.merged, self.varlib, self.ctl):
            d.mkdir(parents=True, exist_ok=True)
        self.hostname = hostname
        self.binds = [Path(b).resolve() for b in binds]
        """Machine directories shown read-only at their own path (e.g. the built binaries: under ``/tmp`` they would be hidden by the box's own ``/tmp``)."""
        self.proc_sys = dict(proc_sys or {})
        """Kernel settings the box shows (files bound over ``/proc/sys/<key>``) instead of the machine's, which it must not change."""
        self.disk_gib = disk_gib
        """Size of the node's ``/var/lib`` (its kubelet's node and image filesystem)."""
        self.addresses = tuple(addresses)
        """More addresses on the box's ``lo`` (e.g. the instance's private IP, which the kubelet checks is local)."""
        self.id = uuid.uuid4().hex[:12]
        self.holder: subprocess.Popen[bytes] | None = None
        self.init_pid: int | None = None
        self.boots: list[float] = []
        """Seconds from exec of systemd to READY=1, per boot."""
        self._cgroups: list[Path] = []
        self._netns: subprocess.Popen[bytes] | None = None
        self._mask_machine_units()

    # -- the AMI ------------------------------------------------------------------------------
    def seed(self, path: str, content: bytes | str, mode: int = 0o644) -> None:
        """A file of the image (before the first boot) or a change made while the box is down."""
        assert self.init_pid is None, "the box's root changes only while it is down (overlayfs)"
        if path.startswith("/var/lib/"):
            self._disk()
            dst = self.varlib / path[len("/var/lib/") :]
        else:
            dst = self.upper / path.lstrip("/")
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(content.encode() if isinstance(content, str) else content)
        dst.chmod(mode)

    def seed_link(self, path: str, target: str) -> None:
        dst = self.upper / path.lstrip("/")
        dst.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            dst.unlink()
        dst.symlink_to(target)

    def enable(self, unit: str, target: str = "multi-user.target") -> None:
        """``systemctl enable`` done at image build time: the ``WantedBy=`` link."""
        self.seed_link(f"/etc/systemd/system/{target}.wants/{unit}", f"/etc/systemd/system/{unit}")

    def _mask_machine_units(self) -> None:
        etc = self.upper / "etc/systemd/system"
        etc.mkdir(parents=True, exist_ok=True)
        names: set[str] = set()
        for d in UNIT_DIRS:
            for wants in Path(d).glob("*.wants") if Path(d).is_dir() else ():
                names |= {p.name for p in wants.iterdir()}
            for req in Path(d).glob("*.requires") if Path(d).is_dir() else ():
                names |= {p.name for p in req.iterdir()}
        for n in sorted(names - KEEP):
            if n.endswith(".target") or "@." in n:
                continue
            self.seed_link(f"/etc/systemd/system/{n}", "/dev/null")
        # the machine's enabled units: their wants directories are the machine's, not the node's
        for d in Path("/etc/systemd/system").glob("*.wants"):
            (etc / d.name).mkdir(exist_ok=True)
        gens = self.upper / "etc/systemd/system-generators"
        gens.mkdir(parents=True, exist_ok=True)
        for d in GENERATOR_DIRS:
            for g in Path(d).iterdir() if Path(d).is_dir() else ():
                self.seed_link(f"/etc/systemd/system-generators/{g.name}", "/dev/null")
        self.seed_link("/etc/systemd/system/default.target", SYSTEMD + "multi-user.target")
        self.seed("/etc/hostname", self.hostname + "\n")
        self.seed("/etc/machine-id", uuid.uuid4().hex + "\n", 0o444)

    # -- boot ---------------------------------------------------------------------------------
    def _make_cgroups(self) -> list[str]:
        """A cgroup of the box's own in every hierarchy the test process is in; returns cgroup.procs paths."""
        procs = []
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _hid, ctrls, path = line.split(":", 2)
            mnt = Path("/sys/fs/cgroup") / ("unified" if ctrls == "" else ctrls.removeprefix("name="))
            if not mnt.is_dir():
                continue
            d = mnt / path.lstrip("/") / f"soci-box-{self.id}"
            d.mkdir(exist_ok=True)
            if d not in self._cgroups:
                self._cgroups.append(d)
            if ctrls == "cpuset":  # a v1 cpuset child starts with no CPUs and no memory nodes
                for f in ("cpuset.cpus", "cpuset.mems"):
                    (d / f).write_text((d.parent / f).read_text())
            procs.append(str(d / "cgroup.procs"))
        return procs

    def _cgroup_mounts(self) -> str:
        lines = [f"mount -t tmpfs -o mode=0755,nosuid,nodev,noexec cgroup {self.merged}/sys/fs/cgroup"]
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _hid, ctrls, _path = line.split(":", 2)
            if ctrls == "":
                where, how = "unified", "-t cgroup2 cgroup2"
            else:
                where = ctrls.removeprefix("name=")
                opts = f"none,{ctrls}" if ctrls.startswith("name=") else ctrls
                how = f"-t cgroup -o {opts} cgroup"
            lines.append(f"mkdir -p {self.merged}/sys/fs/cgroup/{where} && mount {how} {self.merged}/sys/fs/cgroup/{where}")
        return "\n".join(lines)

    def boot(self, timeout: float = 180.0) -> float:
        """Start systemd; returns when it reports start-up finished (READY=1). Seconds from exec."""
        assert self.init_pid is None, "already booted"
        self._disk()
        m = self.merged
        notify = self.ctl / "notify.sock"
        with contextlib.suppress(FileNotFoundError):
            notify.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(notify))
        sock.settimeout(0.5)
        sysdir = self.ctl / "proc-sys"
        sysdir.mkdir(exist_ok=True)
        fake = []
        for key, value in self.proc_sys.items():
            (sysdir / key.replace("/", ".")).write_text(value + "\n")
            fake.append(f"mount --bind {sysdir / key.replace('/', '.')} {m}/proc/sys/{key}")
        devs = "\n".join(f"touch {m}/dev/{d} && mount --bind /dev/{d} {m}/dev/{d}" for d in DEVICES if Path(f"/dev/{d}").exists())
        setup = textwrap.dedent(
            f"""\
            set -eu
            mount --make-rprivate /
            mount -t overlay overlay -o lowerdir=/,upperdir={self.upper},workdir={self.work} {m}
            mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs {m}/run
            mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs {m}/tmp
            mount --bind {self.varlib} {m}/var/lib
            mkdir -p {m}{self.ctl} && mount --bind {self.ctl} {m}{self.ctl}
            {textwrap.indent(chr(10).join(f"mkdir -p {m}{d} && mount --bind {d} {m}{d} && mount -o remount,bind,ro {m}{d}" for d in self.binds), "            ").strip()}
            mount -t proc -o nosuid,nodev,noexec proc {m}/proc
            mount --bind {m}/proc/sys {m}/proc/sys
            mount --bind {m}/proc/sys/net {m}/proc/sys/net
            {textwrap.indent(chr(10).join(fake), "            ").strip()}
            mount -o remount,bind,ro {m}/proc/sys
            mount --rbind /sys {m}/sys
            mount -o remount,bind,ro {m}/sys
            {textwrap.indent(self._cgroup_mounts(), "            ").strip()}
            mount -t tmpfs -o mode=0755,nosuid tmpfs {m}/dev
            {textwrap.indent(devs, "            ").strip()}
            mkdir {m}/dev/pts {m}/dev/shm
            mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts {m}/dev/pts
            ln -s pts/ptmx {m}/dev/ptmx
            mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs {m}/dev/shm
            ln -s /proc/self/fd {m}/dev/fd; ln -s /proc/self/fd/0 {m}/dev/stdin; ln -s /proc/self/fd/1 {m}/dev/stdout; ln -s /proc/self/fd/2 {m}/dev/stderr
            exec env -i container=soci-eks-box NOTIFY_SOCKET={notify} PATH={BOX_PATH} \\
              chroot {m} /lib/systemd/systemd --system --log-target=journal-or-kmsg --show-status=false --unit=multi-user.target
            """
        )
        procs = self._make_cgroups()
        enter = " ".join(f"echo $$ >{p};" for p in procs)
        log = open(self.ctl / "boot.log", "ab")  # noqa: SIM115 - closed when the holder ends
        log.write(f"# boot {len(self.boots) + 1}\n".encode())
        log.flush()
        self.holder = subprocess.Popen(
            ["bash", "-c", f"{enter} exec nsenter --net=/proc/{self._net_holder()}/ns/net unshare --mount --pid --fork --uts --ipc --cgroup --propagation private --kill-child bash -c {shlex.quote(setup)}"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_the_test,
        )
        log.close()
        t0 = time.monotonic()
        deadline = t0 + timeout
        status = ""
        try:
            while True:
                if self.init_pid is None:
                    self.init_pid = self._child_of(self.holder.pid)
                if self.holder.poll() is not None:
                    raise BootFailed(f"the box's init exited ({self.holder.returncode}):\n{self.boot_log()}")
                try:
                    msg = sock.recv(4096).decode(errors="replace")
                except TimeoutError:
                    msg = ""
                for line in msg.splitlines():
                    if line.startswith("STATUS="):
                        status = line[7:]
                if "READY=1" in msg.splitlines():
                    break
                if time.monotonic() > deadline:
                    raise BootFailed(f"systemd did not finish starting in {timeout:.0f}s (last status: {status!r}):\n{self.boot_log()}")
        finally:
            sock.close()
        while self.init_pid is None and self.holder.poll() is None:
            self.init_pid = self._child_of(self.holder.pid)
        seconds = time.monotonic() - t0
        self.boots.append(seconds)
        return seconds

    @staticmethod
    def _child_of(pid: int) -> int | None:
        try:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except FileNotFoundError:
            return None
        return int(kids[0]) if kids else None

    def boot_log(self) -> str:
        p = self.ctl / "boot.log"
        return p.read_text(errors="replace")[-6000:] if p.exists() else ""

    # -- inside -------------------------------------------------------------------------------
    def _nsenter(self) -> list[str]:
        assert self.init_pid is not None, "the box is not running"
        return ["nsenter", f"--target={self.init_pid}", "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--root", "--wd"]

    def run(self, *argv: str, timeout: float = 60, check: bool = False, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """A command on the node, as root, in every namespace of the box."""
        full = [*self._nsenter(), "env", "-i", f"PATH={BOX_PATH}", "LANG=C.UTF-8", *(f"{k}={v}" for k, v in (env or {}).items()), *argv]
        p = subprocess.run(full, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError(f"{shlex.join(argv)} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def systemctl(self, *args: str, check: bool = False, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return self.run("systemctl", "--no-pager", *args, check=check, timeout=timeout)

    def show(self, unit: str, *props: str) -> dict[str, str]:
        out = self.systemctl("show", unit, *(f"--property={p}" for p in props), check=True).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def active(self, unit: str) -> str:
        return self.systemctl("is-active", unit).stdout.strip()

    def processes(self) -> list[tuple[int, str]]:
        """(host pid, command line) of every process of the box's PID namespace."""
        if self.init_pid is None:
            return []
        ns = os.readlink(f"/proc/{self.init_pid}/ns/pid")
        out = []
        for e in os.listdir("/proc"):
            if not e.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{e}/ns/pid") == ns:
                    out.append((int(e), Path(f"/proc/{e}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()))
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
        return out

    # -- the box's network, for the test's servers ---------------------------------------------
    def _net_holder(self) -> int:
        """The box's network namespace, held by a process of its own: it outlives boots (like the
        instance's network interface), so servers started before the first boot serve every boot."""
        if self._netns is None or self._netns.poll() is not None:
            ready = self.ctl / "net-ready"
            ready.unlink(missing_ok=True)
            addrs = "".join(f"ip addr add {a}/32 dev lo; " for a in (IMDS_ADDRESS, *self.addresses))
            self._netns = subprocess.Popen(
                ["unshare", "--net", "bash", "-c", f"set -e; ip link set lo up; {addrs}: >{ready}; exec sleep infinity"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_the_test,
            )
            deadline = time.monotonic() + 10
            while not ready.exists():
                if self._netns.poll() is not None or time.monotonic() > deadline:
                    raise BootFailed("could not make the box's network namespace")
                time.sleep(0.02)
        return self._netns.pid

    @contextlib.contextmanager
    def net(self) -> Iterator[None]:
        """Run the block (and every process it starts) in the box's network namespace."""
        orig = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        fd = os.open(f"/proc/{self._net_holder()}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _check(_libc.setns(fd, _CLONE_NEWNET), "setns into the box's network namespace")
            yield
        finally:
            os.close(fd)
            _check(_libc.setns(orig, _CLONE_NEWNET), "setns back to the machine's network namespace")
            os.close(orig)

    # -- stop ---------------------------------------------------------------------------------
    def halt(self, timeout: float = 90.0) -> float:
        """Power the box off as systemd does (units stopped in reverse order); returns seconds taken."""
        if self.init_pid is None or self.holder is None:
            return 0.0
        t0 = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.init_pid, signal.SIGRTMIN + 4)
        try:
            self.holder.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill()
        self.holder, self.init_pid = None, None
        return time.monotonic() - t0

    def _disk(self) -> None:
        """Mount the node's disk on ``varlib`` (once; :meth:`close` unmounts it)."""
        if not os.path.ismount(self.varlib):
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.disk_gib}g,mode=0755,nosuid,nodev", f"soci-box-{self.id}", str(self.varlib)],
                           check=True, capture_output=True)

    def reboot(self, timeout: float = 180.0) -> float:
        self.halt()
        return self.boot(timeout)

    def _kill(self) -> None:
        if self.init_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.init_pid, signal.SIGKILL)  # the kernel kills the rest of the PID namespace
        if self.holder is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.holder.pid, signal.SIGKILL)
            self.holder.wait(30)

    def close(self) -> list[str]:
        """Stop everything; returns cgroups that could not be removed (none, or a leak)."""
        try:
            if self.init_pid is not None:
                self.halt(timeout=60)
        finally:
            try:
                self._kill()
            finally:  # the network namespace's holder goes too, also when the box's holder would not die in time
                self.holder, self.init_pid = None, None
                if self._netns is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(self._netns.pid, signal.SIGKILL)
                    self._netns.wait(10)
                    self._netns = None
                if os.path.ismount(self.varlib):  # the box's namespaces are gone: nothing else holds its disk
                    subprocess.run(["umount", str(self.varlib)], check=True, capture_output=True)
        left = []
        for top in self._cgroups:
            for d in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)) + [top]:
                deadline = time.monotonic() + 10
                while True:
                    try:
                        d.rmdir()
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        if time.monotonic() > deadline:
                            left.append(str(d))
                            break
                        time.sleep(0.1)
        return left

    def __enter__(self) -> SystemdBox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

