"""Pod start as users feel it: every pull mode timed to a running pod, from a registry that behaves like
ECR/S3 across a network, on this machine, with real daemons and the renderer's configs.

    .venv/bin/python -m benchmarks.pod_start                       # the matrix + the parallel-knob sweep (hours)
    .venv/bin/python -m benchmarks.pod_start --smallest            # what tests/node/test_pod_start.py runs
    .venv/bin/python -m benchmarks.pod_start --caps 50 --runs 5 --no-sweep --json /tmp/x.json

Run as root from the repository root (mount namespaces, FUSE, overlayfs, cgroups).

- **Registry**: docker-registry 2.8 (TLS, htpasswd) behind ``tests/support/throttle.py``'s proxy: each
  connection capped at ``--caps`` MB/s (10^6 bytes), ``--latency`` before every response's first byte
  (20 ms), HTTP/1.1 only as S3 serves ECR's layers; ``uncapped`` is the registry itself on loopback.
- **Node**: containerd 2.2.4 and the SOCI the scenario names (0.16.1 for a ``release`` source, 0.15.0
  for the AMI's package), started with the scenario's rendered configs (``tests/node/lazy.py``), and a
  real kubelet 1.33.13 in standalone mode running a static pod (as ``tests/node/test_kubelet.py``; the
  node's cgroups are a subtree of our own, see :func:`own_cgroups`). Each run starts from empty daemon
  roots and a fresh kubelet.
- **Modes** (:data:`MODES`): containerd's default pull (overlayfs, containerd's 3 concurrent layer
  downloads), SOCI ``parallel`` with the ``release`` source (``c22-parallel-ecr-release``) and on the
  AMI path (``c22-parallel-cri-ami``: the AMI's SOCI 0.15.0 with our typed tuning, the kubelet's image
  service on SOCI's socket as under nodeadm's gate), ``lazy`` with a SOCI v2 index (``soci convert``),
  and ``lazy-with-parallel-fallback`` pulling the image without an index.
- **Image** (:data:`LAYERS`): ~1.1 GB compressed in 10 layers, ~2.2 GB unpacked: text (gzip ~2.9:1),
  binaries (~2.4:1) and already-compressed data (1:1), one fat 280 MiB layer of "model weights".
- **Clock**: from the static pod's manifest landing in ``staticPodPath`` (the kubelet is told to run it)
  to the container having read a file of the last layer (``running``), and on to it having read 30 % of
  the image's bytes, whole files spread over every layer, one after the other (``read30``). The container
  (``tests/support/podread``) stamps both moments with the machine's clock.
- **Also**: bytes the registry served by ``running`` and in all; the daemons' CPU seconds (containerd +
  SOCI + their decompressors) to ``running``; SOCI's peak RSS to ``running`` and over the ``--after``
  seconds after ``read30``; the proxy's busy connections and whether every connection stayed under the
  cap; machine CPU and disk utilisation (what bound each mode); the load average (the machine is shared).

Runs alternate the modes (rotating order) within one invocation; medians per cell; ratios against the
default pull of the same cap. The sweep varies one ``ParallelTuning`` knob at a time from the component's
defaults (``parallel``, 50 MB/s) and runs nodeadm's own FastImagePull SOCI config on the AMI path.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import functools
import json
import os
import platform
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from soci_component import pipeline
from soci_component.render import render
from soci_component.render.paths import CONTAINERD_CONFIG, PAUSE_TAR, SOCI_CONFIG
from soci_component.spec import DEFAULT_SOCI_VERSION, ParallelTuning, SociTuning
from tests.node import images
from tests.node.al2023 import GATE_SOCI_CONFIG
from tests.node.lazy import HOST, REPO, USER, LazyNode, Published, lazy_node, soci_key_for
from tests.node.standalone_kubelet import box_containerd_config, kubelet_config, stop_every_task, with_file
from tests.support.daemons import Containerd, DaemonFailed, Node, Process, Registry, Soci, daemon, make_tls
from tests.support.pause_image import pause_archive
from tests.support.scenarios import CLUSTER, SCENARIOS, SECRETS
from tests.support.throttle import MB, ProxyStats, Throttle, check_cap

ROOT = Path(__file__).resolve().parents[1]
MiB = images.MiB
MARKER = "app/marker.txt"
TICK = os.sysconf("SC_CLK_TCK")

# ----------------------------------------------------------------------------------------------- the image
# (what the layer stands for, [(kind, MiB unpacked in total, MiB per file)]); kinds: text (source, docs,
# configs: gzip ~2.9:1), binary (libraries, executables: ~2.4:1), compressed (archives, media, weights: 1:1)
LAYERS: tuple[tuple[str, tuple[tuple[str, float, float], ...]], ...] = (
    ("base OS", (("binary", 90, 2), ("text", 40, 0.5), ("compressed", 10, 1))),
    ("system libraries", (("binary", 240, 4), ("text", 30, 0.5))),
    ("language runtime", (("binary", 120, 2), ("text", 160, 1))),
    ("GPU/ML libraries", (("binary", 520, 16), ("compressed", 40, 8))),
    ("Python packages", (("binary", 150, 3), ("text", 90, 0.5), ("compressed", 90, 5))),
    ("model weights", (("compressed", 280, 35),)),
    ("application assets", (("compressed", 60, 2), ("text", 30, 1))),
    ("application code", (("text", 60, 0.25), ("binary", 20, 2))),
    ("configuration", (("text", 40, 1),)),
    ("entrypoint", (("text", 36, 4),)),
)
SMALL_LAYERS: tuple[tuple[str, tuple[tuple[str, float, float], ...]], ...] = (
    ("base", (("compressed", 11, 11),)),
    ("app", (("compressed", 11, 11),)),
)
"""The smoke test's image: two layers just above SOCI's ``min_layer_size`` (each gets a zTOC)."""
IMAGE_VERSION = "v1"
"""Bump when the content generators change: the image cache is keyed by the files' names, sizes and seeds."""


@functools.cache
def _pool(kind: str) -> bytes:
    """4 MiB of text-like or machine-code-like bytes; files are 64 KiB pieces of it (gzip's window is 32 KiB)."""
    rnd = random.Random(f"soci-eks-{kind}")
    out: list[bytes] = []
    n = 0
    if kind == "text":
        words = [bytes(rnd.choices(b"etaoinshrdlcumwfgypbvkjxqz_", k=rnd.randint(2, 9))) for _ in range(3000)]
        weights = [1 / (i + 1) ** 1.1 for i in range(len(words))]
        punct = [b" ", b" ", b" ", b" ", b", ", b".\n", b"\n    ", b"(", b") ", b" = ", b"_", b"/", b": "]
        while n < 4 * MiB:
            chunk = b"".join(w + p for w, p in zip(rnd.choices(words, weights, k=1000), rnd.choices(punct, k=1000), strict=True))
            out.append(chunk)
            n += len(chunk)
    else:
        ops = [rnd.randbytes(rnd.randint(2, 8)) for _ in range(1500)]
        weights = [1 / (i + 1) for i in range(len(ops))]
        while n < 4 * MiB:
            for op in rnd.choices(ops, weights, k=2000):
                out.append(op)
                r = rnd.random()
                out.append(rnd.randbytes(4) if r < 0.12 else bytes(rnd.randint(8, 64)) if r < 0.14 else b"")
                n += len(out[-1]) + len(op)
    return b"".join(out)[: 4 * MiB]


@dataclass(frozen=True)
class MixedFile(images.FileSpec):
    """A file of one ``kind``: ``text`` / ``binary`` (pieces of :func:`_pool`) or ``compressed`` (random)."""

    kind: str = "compressed"

    def content(self) -> bytes:
        if self.data is not None or self.kind == "compressed":
            return super().content()
        pool, rnd, parts, n = _pool(self.kind), random.Random(self.seed), [], 0
        while n < self.size:
            off = rnd.randrange(0, len(pool) - 65536)
            parts.append(pool[off : off + 65536])
            n += 65536
        return b"".join(parts)[: self.size]


def image_layers(layers: Sequence[tuple[str, Sequence[tuple[str, float, float]]]], podread: bytes) -> list[images.LayerSpec]:
    """The layers as ``images.LayerSpec`` (``/podread`` in the first, ``app/marker.txt`` in the last)."""
    ext = {"text": "txt", "binary": "so", "compressed": "gz"}
    out = []
    for li, (_what, parts) in enumerate(layers):
        files: list[images.FileSpec] = []
        for kind, total, each in parts:
            count = max(1, round(total / each))
            for i in range(count):
                size = int(total * MiB) // count
                files.append(MixedFile(f"l{li}/{kind}/f{i:04d}.{ext[kind]}", size=size, seed=li * 100_000 + i * 10 + len(kind), compressible=kind != "compressed", kind=kind))
        if li == 0:
            files.append(images.FileSpec("podread", data=podread, mode=0o755))
        if li == len(layers) - 1:
            files.append(images.FileSpec(MARKER, data=b"hello from the last layer\n"))
        out.append(images.LayerSpec(tuple(files)))
    return out


def read_set(image: images.Image, fraction: float = 0.3) -> list[str]:
    """Whole files totalling ``fraction`` of the image's file bytes, the same share from every layer, in two
    runs of neighbouring files per layer (from its start and from its middle, in the layer's order): an
    application reads a library's or a package's files together, not every third file of the image."""
    chosen = []
    for layer in image.layers:
        files = [f for f in layer.files if f.size and f.path not in (MARKER, "podread")]
        total = sum(f.size for f in files)
        for start in (0, len(files) // 2):
            got = 0
            for f in files[start:]:
                if got >= total * fraction / 2 or "/" + f.path in chosen:
                    break
                chosen.append("/" + f.path)
                got += f.size
    return chosen


def publish_image(base: Path, layers: Sequence[tuple[str, Sequence[tuple[str, float, float]]]], name: str) -> Published:
    """The registry (TLS, htpasswd) with the image as ``<REPO>:unindexed`` and, with a SOCI v2 index made by
    ``soci convert`` (the default release's CLI), as ``<REPO>:v1``. The caller stops ``published.registry``."""
    tls = make_tls(base / "tls", names=[HOST], ips=["127.0.0.1"])
    password = "pw-" + secrets.token_hex(12)
    podread = daemon("podread").bin("podread").read_bytes()
    image = images.build(image_layers(layers, podread), name=f"{name}-{IMAGE_VERSION}", cmd=("/podread", "/" + MARKER))
    reg = Registry(base / "registry", hostname=HOST, tls=tls, users={USER: password})
    reg.start()
    try:
        pub = Published(reg, tls, password, image, image)
        images.RegistryClient(f"https://127.0.0.1:{reg.port}", user=USER, password=password, cafile=tls.ca).push_image(image, REPO, "unindexed")
        env = {"SSL_CERT_FILE": str(tls.ca)}
        auth = ("--user", f"{USER}:{password}", "--tlscacert", str(tls.ca))
        with Node(base / "indexer", hosts={HOST: "127.0.0.1"}) as node, Containerd(node, "2", "version = 3\n", env=env) as ctd:
            soci = Soci(node, "", env=env, key=soci_key_for(DEFAULT_SOCI_VERSION))
            ctd.ctr("images", "pull", "--local", *auth, pub.unindexed_ref, timeout=1200)
            soci.cli("convert", pub.unindexed_ref, pub.ref, containerd=ctd, timeout=1200)
            ctd.ctr("images", "push", "--local", *auth, pub.ref, timeout=1200)
        return pub
    except BaseException:
        reg.stop()
        raise


# ----------------------------------------------------------------------------------------------- modes
@dataclass(frozen=True)
class Mode:
    name: str
    label: str
    scenario: str
    snapshotter: str
    """The CRI's snapshotter: ``soci`` as rendered, or ``overlayfs`` (containerd's default pull)."""
    indexed: bool
    """Pull the image with its SOCI v2 index (else the same image without one)."""
    expect: str
    """How the layers must arrive: ``overlay`` (containerd), ``parallel`` (SOCI unpacks) or ``lazy`` (FUSE)."""
    via_soci: bool = False
    """The kubelet's image service is SOCI's socket (CRI proxy), as nodeadm's gate sets it."""


MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        Mode("default", "containerd default pull (overlayfs)", "c22-parallel-ecr-release", "overlayfs", False, "overlay"),
        Mode("parallel", "SOCI `parallel`, release source", "c22-parallel-ecr-release", "soci", False, "parallel"),
        Mode("parallel-ami", "SOCI `parallel`, AMI path (CRI proxy)", "c22-parallel-cri-ami", "soci", False, "parallel", via_soci=True),
        Mode("lazy", "SOCI `lazy`, v2 index", "c22-lazy-ecr-release", "soci", True, "lazy"),
        Mode("fallback", "`lazy-with-parallel-fallback`, no index", "c22-fallback-ecr-release", "soci", False, "parallel"),
    )
}


@dataclass(frozen=True)
class Variant:
    """A mode with other parallel knobs (the sweep), or with a SOCI config of its own (nodeadm's)."""

    mode: str
    label: str
    parallel: dict[str, Any] = field(default_factory=dict)
    soci_config: str | None = None

    def rendered(self) -> Any:
        s = SCENARIOS[MODES[self.mode].scenario]
        if not self.parallel and self.soci_config is None:
            return s.render()
        spec = s.spec
        if self.parallel:
            tuning = spec.tuning or SociTuning()
            spec = dataclasses.replace(spec, tuning=dataclasses.replace(tuning, parallel=dataclasses.replace(tuning.parallel, **self.parallel)))
        b = render(pipeline.plan_node(spec), CLUSTER, SECRETS)
        return with_file(b, SOCI_CONFIG, self.soci_config) if self.soci_config is not None else b


def sweep_variants() -> list[Variant]:
    """One knob at a time from the component's defaults (``parallel``), and nodeadm's own config on the AMI path."""
    d = ParallelTuning()
    out = [Variant("parallel", f"component defaults ({d.max_concurrent_downloads_per_image} downloads, {d.max_concurrent_unpacks_per_image} unpacks per image, "
                               f"{d.concurrent_download_chunk_size} chunks, unpigz)")]
    out += [Variant("parallel", f"downloads per image {n}", {"max_concurrent_downloads_per_image": n}) for n in (3, 6, 10, 40) if n != d.max_concurrent_downloads_per_image]
    out += [Variant("parallel", f"unpacks per image {n}", {"max_concurrent_unpacks_per_image": n}) for n in (1, 2, 4) if n != d.max_concurrent_unpacks_per_image]
    out += [Variant("parallel", f"chunk size {c or 'whole layers'}", {"concurrent_download_chunk_size": c}) for c in ("", "4mb", "64mb") if c != d.concurrent_download_chunk_size]
    out += [Variant("parallel", "Go's gzip (no unpigz)", {"decompressor": None}), Variant("parallel", "discard unpacked layers: false", {"discard_unpacked_layers": False})]
    out += [Variant("parallel-ami", "AMI path, component defaults"), Variant("parallel-ami", "AMI path, nodeadm's own FastImagePull config", soci_config=GATE_SOCI_CONFIG)]
    return out


# ----------------------------------------------------------------------------------------------- measuring
def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return sum(int(x) for x in fields[11:15])  # utime stime cutime cstime (children waited for: unpigz)


def _rss_kib(pid: int, key: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _machine_ticks() -> tuple[int, int]:
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


def _disk_ms(path: Path) -> int:
    """io_ticks (ms the device was busy) of the block device holding ``path``."""
    dev = os.stat(path).st_dev
    major, minor = os.major(dev), os.minor(dev)
    for line in Path("/proc/diskstats").read_text().splitlines():
        p = line.split()
        if int(p[0]) == major and int(p[1]) == minor:
            return int(p[12])
    return 0


class Sampler(threading.Thread):
    """Every 100 ms: SOCI's RSS; at marks: CPU ticks of the daemons, the machine and the disk."""

    def __init__(self, soci_pid: int, daemon_pids: Sequence[int], server_pids: Sequence[int], disk_path: Path) -> None:
        super().__init__(daemon=True)
        self.soci_pid, self.daemon_pids, self.server_pids, self.disk_path = soci_pid, list(daemon_pids), list(server_pids), disk_path
        self.rss: list[tuple[float, int]] = []
        self.stop_flag = threading.Event()

    def run(self) -> None:
        while not self.stop_flag.wait(0.1):
            self.rss.append((time.time(), _rss_kib(self.soci_pid)))

    def mark(self) -> dict[str, float]:
        busy, total = _machine_ticks()
        return {"t": time.time(), "daemons": sum(_cpu_ticks(p) for p in self.daemon_pids) / TICK, "server": sum(_cpu_ticks(p) for p in self.server_pids) / TICK,
                "busy": busy, "total": total,
                "disk_ms": _disk_ms(self.disk_path), "hwm_kib": _rss_kib(self.soci_pid, "VmHWM")}

    def __enter__(self) -> Sampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        # a thread started inside the node's mount namespace shares the test thread's fs attributes: it must
        # be gone before the node's thread can setns() back (EINVAL otherwise)
        self.stop_flag.set()
        self.join()

    def peak_rss_mib(self, t0: float, t1: float) -> float:
        return max((r for t, r in self.rss if t0 <= t <= t1), default=0) / 1024


# ----------------------------------------------------------------------------------------------- a node
def own_cgroups(tag: str) -> list[Path]:
    """A cgroup ``/<tag>`` in every cgroup v1 hierarchy, for the kubelet's ``cgroupRoot``: with
    ``cgroupsPerQOS`` the kubelet puts its ``kubepods`` there and containerd each pod's cgroups below, so
    nothing lands in another test's ``/k8s.io`` (where containerd puts pods without a cgroup parent)."""
    made: list[Path] = []
    for mnt in sorted(p.parent for p in Path("/sys/fs/cgroup").glob("*/cgroup.procs")):  # every hierarchy (v1 and the unified one)
        d = mnt / tag
        d.mkdir(exist_ok=True)
        if mnt.name == "cpuset":  # a v1 cpuset child starts with no CPUs and no memory nodes
            for f in ("cpuset.cpus", "cpuset.mems"):
                (d / f).write_text((d.parent / f).read_text())
        made.append(d)
    return made


def pin_cpus(pid: int, cpus: set[int]) -> None:
    """Every thread of ``pid`` onto ``cpus``; what it starts later (shims, unpigz, the pod) inherits them."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), cpus)


def remove_cgroups(dirs: Sequence[Path]) -> list[str]:
    """rmdir every cgroup under ``dirs`` bottom-up; returns those that could not be removed."""
    left = []
    for top in dirs:
        for d in sorted([p for p in top.rglob("*") if p.is_dir()] + [top], key=lambda p: -len(p.parts)):
            try:
                d.rmdir()
            except OSError as e:
                left.append(f"{d}: {e.strerror}")
    return left


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return r.read() == b"ok"
    except OSError:
        return False


_LOG_LINE = re.compile(r"podread (marker|files) (\d+) (\d+)")


def _stamps(logs: Path) -> dict[str, tuple[float, int]]:
    out = {}
    for p in logs.rglob("*.log"):
        for m in _LOG_LINE.finditer(p.read_text(errors="replace")):
            out[m.group(1)] = (int(m.group(2)) / 1e9, int(m.group(3)))
    return out


def check_arrival(ln: LazyNode, mode: Mode, layers: int) -> str:
    """The layers arrived the way the mode says, or a DaemonFailed (a run of the wrong thing is no number)."""
    fuse = len(ln.findmnt_soci())
    unpacked = len([e for e in ln.soci.log_entries() if e.get("msg") == "preparing snapshot with parallel pull/unpack"])
    overlay = len([r for r in ln.ctd.ctr("snapshots", "--snapshotter", "overlayfs", "ls", namespace="k8s.io").stdout.splitlines()[1:] if r.strip()])
    seen = f"{fuse} FUSE mounts, {unpacked} layers unpacked by SOCI in parallel, {overlay} overlayfs snapshots"
    ok = {"lazy": fuse == layers, "parallel": fuse == 0 and unpacked == layers, "overlay": fuse == 0 and unpacked == 0 and overlay >= layers}[mode.expect]
    if not ok:
        raise DaemonFailed(f"{mode.name}: layers did not arrive as '{mode.expect}': {seen}")
    return seen


def one_run(base: Path, pub: Published, variant: Variant, *, cap: float | None, latency: float, read_files: Sequence[str], after_s: float,
            timeout: float = 300, node_cpus: set[int] | None = None) -> dict[str, Any]:  # fmt: skip
    """One pod start on a fresh node: the numbers of a run (see the module docstring). ``node_cpus``: the
    CPUs the node's processes may use (containerd, SOCI, the kubelet, and what they start), a smaller node."""
    mode = MODES[variant.mode]
    rendered = variant.rendered()
    rendered = with_file(rendered, CONTAINERD_CONFIG, box_containerd_config(rendered.file(CONTAINERD_CONFIG).content))
    throttle = Throttle(pub.registry, base / "throttle", rate=cap * MB, latency=latency) if cap else None
    ref = pub.ref if mode.indexed else pub.unindexed_ref
    result: dict[str, Any] = {"mode": mode.name, "variant": variant.label, "cap": cap, "soci": rendered.report.soci.version or "ami", "load1": os.getloadavg()[0]}
    tag = f"soci-eks-podstart-{os.getpid()}-{secrets.token_hex(3)}"
    cgroups: list[Path] = []
    with contextlib.ExitStack() as stack:
        if throttle:
            stack.enter_context(throttle)
        hosts = {HOST: throttle.address} if throttle else {}
        ln = stack.enter_context(lazy_node(base / "n", pub, mode.scenario, rendered=rendered, snapshotter=mode.snapshotter, hosts=hosts))
        node, ctd = ln.node, ln.ctd
        cgroups = own_cgroups(tag)
        result["soci_version"] = ln.soci.daemon.version
        # the AMI's pause image, in the snapshotter the CRI uses (the rendered drop-in's import, or nodeadm's)
        node.write(PAUSE_TAR, pause_archive(daemon("pause").bin("pause").read_bytes())[0])
        ctd.ctr("images", "import", "--snapshotter", mode.snapshotter, "--discard-unpacked-layers=false", "--local", str(node.path(PAUSE_TAR)), namespace="k8s.io")
        root, manifests, logs = Path("/var/lib/kubelet"), Path("/etc/kubernetes/manifests"), Path("/var/lib/soci-eks-pod-logs")
        for d in (root, manifests, logs):
            d.mkdir(parents=True, exist_ok=True)
        auth = base64.b64encode(f"{USER}:{pub.password}".encode()).decode()
        (root / "config.json").write_text(json.dumps({"auths": {pub.registry.host: {"auth": auth}}}))  # the kubelet's own docker config
        (root / "config.json").chmod(0o600)
        cfg = kubelet_config(manifests, logs, ctd.address, ln.soci.address if mode.via_soci else ctd.address, "/" + tag)
        (root / "kubelet-config.yaml").write_text(yaml.safe_dump(cfg))
        kubelet = node.register(Process("kubelet", [daemon("kubelet-1.33").bin("kubelet"), "--config", root / "kubelet-config.yaml", "--root-dir", root,
                                                    "--hostname-override", "soci-box", "--v", "2"],
                                        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(node.path("/root"))}, log=node.logs / "kubelet.log"))  # fmt: skip
        kubelet.start()
        kubelet.wait_until(lambda: _healthy(cfg["healthzPort"]), "healthz ok", 60)
        time.sleep(1.0)  # let its static-pod source settle
        soci_pid, pids = ln.soci.process.pid, [ctd.process.pid, ln.soci.process.pid]  # type: ignore[union-attr]
        servers = [pub.registry.process.pid] + ([throttle.process.pid] if throttle and throttle.process else [])  # type: ignore[union-attr]
        if node_cpus:  # a smaller node: its processes on node_cpus, the registry side on the others
            for pid in [*pids, kubelet.pid]:
                pin_cpus(pid, node_cpus)
            for pid in servers:
                pin_cpus(pid, set(range(os.cpu_count() or 1)) - node_cpus or node_cpus)
            stack.callback(lambda: [pin_cpus(pid, set(range(os.cpu_count() or 1))) for pid in servers if Path(f"/proc/{pid}").exists()])
        sampler = stack.enter_context(Sampler(soci_pid, pids, servers, node.base))
        offset = pub.log_offset()
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "podstart", "namespace": "default"},
               "spec": {"hostNetwork": True, "restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                        "containers": [{"name": "app", "image": ref, "command": ["/podread", "/" + MARKER, *read_files]}]}}  # fmt: skip
        tmp = manifests / ".pod.yaml"  # the kubelet ignores dot files; the rename is the moment it is told
        tmp.write_text(yaml.safe_dump(pod))
        m0 = sampler.mark()
        os.rename(tmp, manifests / "pod.yaml")  # the kubelet is told to run the pod
        t0 = m0["t"]
        deadline, m1, stamps = t0 + timeout, None, {}
        while time.time() < deadline:
            stamps = _stamps(logs)
            if "marker" in stamps and m1 is None:
                m1 = sampler.mark()
                result["bytes_running"] = pub.bytes_served(offset)
            if "files" in stamps:
                break
            if not kubelet.running():
                raise DaemonFailed(f"the kubelet exited:\n{kubelet.log_tail(60)}")
            time.sleep(0.05)
        else:
            raise DaemonFailed(f"{mode.name}: no pod output after {timeout:.0f} s; kubelet log:\n{kubelet.log_tail(60)}")
        assert m1 is not None
        t1, t2 = stamps["marker"][0], stamps["files"][0]
        m2 = sampler.mark()
        result["arrival"] = check_arrival(ln, mode, len(pub.image.layers))
        time.sleep(max(0.0, t2 + after_s - time.time()))
        m3 = sampler.mark()
        result.update({
            "running_s": t1 - t0, "read30_s": t2 - t0, "read30_bytes": stamps["files"][1],
            "bytes_total": pub.bytes_served(offset),
            "cpu_s": m1["daemons"] - m0["daemons"], "cpu_read30_s": m2["daemons"] - m0["daemons"], "server_cpu_s": m1["server"] - m0["server"],
            "machine_busy": (m1["busy"] - m0["busy"]) / max(1, m1["total"] - m0["total"]),
            "disk_util": (m1["disk_ms"] - m0["disk_ms"]) / max(1.0, (m1["t"] - m0["t"]) * 1000),
            "soci_rss_mib": m1["hwm_kib"] / 1024, "soci_rss_after_mib": sampler.peak_rss_mib(t2, m3["t"]) if after_s else None,
            "soci_rss_end_mib": _rss_kib(soci_pid) / 1024, "node_cpus": sorted(node_cpus) if node_cpus else None,
        })  # fmt: skip
        kubelet.stop()
        stop_every_task(ctd)
    if throttle is not None:
        stats: ProxyStats = throttle.stop()
        result.update({"wire_bytes_running": stats.bytes_by(t1), "busy_conns": stats.busy_connections(), "used_conns": stats.used_connections(),
                       "peak_conn_mbps": stats.peak_connection_rate() / MB, "cap_held": stats.cap_held(),
                       "net_busy": _net_busy(stats, t0, t1), "net_mbps": _net_rate(stats, t0, t1) / MB,
                       "download_floor_s": result["bytes_running"] / (cap * MB * max(1, stats.busy_connections()))})  # fmt: skip
    left = remove_cgroups(cgroups)
    if left:
        raise DaemonFailed(f"cgroups of the pod were left: {left}")
    return result


def _net_busy(stats: ProxyStats, t0: float, t1: float) -> float:
    """Share of [t0, t1] in which the proxy wrote to some connection (100 ms buckets)."""
    a, b = round((t0 - stats.start_unix) / stats.bucket_s), round((t1 - stats.start_unix) / stats.bucket_s)
    busy = set()
    for c in stats.connections:
        first = round(c.opened / stats.bucket_s)
        busy.update(first + i for i, n in enumerate(c.buckets) if n and a <= first + i < b)
    return len(busy) / max(1, b - a)


def _net_rate(stats: ProxyStats, t0: float, t1: float) -> float:
    return (stats.bytes_by(t1) - stats.bytes_by(t0)) / max(1e-9, t1 - t0)


# ----------------------------------------------------------------------------------------------- the matrix
def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "unknown")
    mem = next((int(line.split()[1]) // 1024 // 1024 for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), 0)
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_gib": mem, "kernel": platform.release(), "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}


def run_matrix(base: Path, pub: Published, variants: Sequence[Variant], caps: Sequence[float | None], runs: int, *, latency: float, read_files: Sequence[str],
               after_s: float, out: list[dict[str, Any]], save: Any, node_cpus: set[int] | None = None) -> None:  # fmt: skip
    """``runs`` rounds per cap; each round runs every variant, in an order rotated each round. A cell already
    in ``out`` (``--resume``) is not run again; a run that fails is recorded with its error and the rest go on."""
    cpus = sorted(node_cpus) if node_cpus else None
    for cap in caps:
        for i in range(runs):
            k = i % len(variants)
            for v in list(variants[k:]) + list(variants[:k]):
                if any(r["variant"] == v.label and r["cap"] == cap and r["round"] == i and r.get("node_cpus") == cpus and "error" not in r for r in out):
                    continue
                t = time.monotonic()
                d = base / f"run-{len(out)}"
                try:
                    r = one_run(d, pub, v, cap=cap, latency=latency, read_files=read_files, after_s=after_s if i == 0 else 0, node_cpus=node_cpus)
                except Exception as e:  # noqa: BLE001 - one failed run must not cost the others; it is reported
                    r = {"mode": v.mode, "variant": v.label, "cap": cap, "error": f"{type(e).__name__}: {e}"[:4000], "node_cpus": cpus}
                finally:
                    shutil.rmtree(d, ignore_errors=True)
                r["round"] = i
                out.append(r)
                save()
                cap_s = f"{cap:g} MB/s" if cap else "uncapped"
                head = f"[{cap_s} round {i + 1}/{runs}{f' cpus {cpus}' if cpus else ''}] {v.label:55s}"
                if "error" in r:
                    print(f"{head} FAILED: {r['error'][:300]}", file=sys.stderr, flush=True)
                    continue
                print(f"{head} running {r['running_s']:7.2f} s  read30 {r['read30_s']:7.2f} s  {r['bytes_running'] / MB:7.1f} MB  cpu {r['cpu_s']:5.1f} s  "
                      f"({time.monotonic() - t:.0f} s, load {r['load1']:.1f})", file=sys.stderr, flush=True)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--caps", default="25,50,100,uncapped", help="per-connection caps in MB/s, comma-separated; 'uncapped': the registry itself")
    p.add_argument("--latency", type=float, default=0.020, help="first-byte latency per request, seconds")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--after", type=float, default=60.0, help="seconds to watch SOCI's RSS after the reads (first round of each cap)")
    p.add_argument("--sweep-cap", type=float, default=50.0)
    p.add_argument("--sweep-cpus", default="all,1", help="run the sweep with the node on these many CPUs each ('all', or N: CPUs 0..N-1)")
    p.add_argument("--no-sweep", action="store_true")
    p.add_argument("--no-matrix", action="store_true")
    p.add_argument("--smallest", action="store_true", help="the smoke configuration: small image, one run per mode at 20 MB/s, no sweep")
    p.add_argument("--json", type=Path, help="raw results (rewritten after every run)")
    p.add_argument("--resume", action="store_true", help="keep the runs already in --json and run only the missing ones")
    p.add_argument("--report", type=Path, help="print the report of this JSON and exit")
    a = p.parse_args(argv)
    if a.report:
        print(report(json.loads(a.report.read_text())))
        return 0
    if os.geteuid() != 0:
        print("needs root (mount namespaces, FUSE, overlayfs, cgroups)", file=sys.stderr)
        return 2
    if a.smallest:
        a.caps, a.runs, a.after, a.no_sweep = "20", 1, 0.0, True
    caps = [None if c.strip() == "uncapped" else float(c) for c in a.caps.split(",")]
    info = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "argv": sys.argv, "latency_s": a.latency}
    results: dict[str, Any] = {"info": info, "matrix": [], "sweep": []}
    if a.resume and a.json and a.json.exists():
        old = json.loads(a.json.read_text())
        results["matrix"], results["sweep"] = old["matrix"], old["sweep"]
        info["resumed"] = [old["info"].get("started"), *old["info"].get("resumed", [])]

    def save() -> None:
        if a.json:
            a.json.write_text(json.dumps(results, indent=1, default=str))

    with tempfile.TemporaryDirectory(prefix="soci-eks-podstart-", dir=ROOT / ".cache") as tmp:
        base = Path(tmp)
        t = time.monotonic()
        pub = publish_image(base / "published", SMALL_LAYERS if a.smallest else LAYERS, "podstart-small" if a.smallest else "podstart")
        files = read_set(pub.image)
        info.update({"setup_s": time.monotonic() - t, "image": image_facts(pub.image), "read30_files": len(files),
                     "versions": versions()})  # fmt: skip
        try:
            info["cap_checks"] = []
            for cap in (c for c in caps if c is not None):  # the proxy is measured before it is used
                with Throttle(pub.registry, base / f"cap-check-{cap:g}", rate=cap * MB, latency=a.latency) as th:
                    check = check_cap(th, f"/v2/{REPO}/blobs/{max(pub.image.layers, key=lambda la: la.size).digest}", USER, pub.password, connections=3)
                info["cap_checks"].append({"cap_mbps": cap, "single_mbps": check.single.rate / MB, "parallel_mbps": [t.rate / MB for t in check.parallel],
                                           "first_byte_s": check.single.first_byte_s, "problems": check.problems()})  # fmt: skip
                over = [t.rate for t in (check.single, *check.parallel) if t.rate > 1.1 * cap * MB]
                if over or check.parallel_total < 2.5 * check.single.rate:  # a ceiling, and per connection; below the cap is a finding, not a fault
                    print(f"the proxy's cap does not hold at {cap:g} MB/s: {check.problems()}", file=sys.stderr)
                    return 1
                if check.problems():
                    print(f"note: at {cap:g} MB/s this machine delivered less than the cap: {check.problems()}", file=sys.stderr)
            if not a.no_matrix:
                run_matrix(base, pub, [Variant(m, MODES[m].label) for m in a.modes.split(",")], caps, a.runs, latency=a.latency, read_files=files,
                           after_s=a.after, out=results["matrix"], save=save)  # fmt: skip
            if not a.no_sweep:
                for n in a.sweep_cpus.split(","):
                    cpus = None if n.strip() == "all" else set(range(int(n)))
                    run_matrix(base, pub, sweep_variants(), [a.sweep_cap], a.runs, latency=a.latency, read_files=files, after_s=0, out=results["sweep"],
                               save=save, node_cpus=cpus)  # fmt: skip
        finally:
            pub.registry.stop()
            info["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
            info["uptime_end"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
            save()
    print(report(results))
    return 0


def image_facts(image: images.Image) -> dict[str, Any]:
    unpacked = sum(f.size or len(f.data or b"") for layer in image.layers for f in layer.files)
    return {"layers": len(image.layers), "compressed_bytes": image.total_size, "unpacked_bytes": unpacked, "layer_bytes": [la.size for la in image.layers]}


def versions() -> dict[str, str]:
    return {k: daemon(k).version for k in ("soci-0.15", "soci-0.16", "containerd-2", "kubelet-1.33", "registry")}


# ----------------------------------------------------------------------------------------------- the report
def _med(rs: Sequence[dict[str, Any]], key: str) -> float:
    vals = [r[key] for r in rs if r.get(key) is not None]
    return statistics.median(vals) if vals else float("nan")


def _span(rs: Sequence[dict[str, Any]], key: str) -> str:
    return f"{_med(rs, key):.2f} ({min(r[key] for r in rs):.2f}-{max(r[key] for r in rs):.2f})"


def _soci(r: dict[str, Any]) -> str:
    return "—" if r["mode"] == "default" else r["soci_version"] + (" (AMI)" if r["soci"] == "ami" else "")


def _summary(ok: Sequence[dict[str, Any]], key: str, what: str) -> list[str]:
    """Modes x caps: median seconds (x sooner than the default pull at that cap)."""
    caps = list(dict.fromkeys(r["cap"] for r in ok))
    if not caps:
        return []
    out = ["", f"**{what}**, median seconds (x sooner than containerd's default pull at the same cap)", "",
           "| mode | SOCI | " + " | ".join(f"{c:g} MB/s" if c else "uncapped" for c in caps) + " |", "|---|---|" + "---|" * len(caps)]  # fmt: skip
    for mode in dict.fromkeys(r["mode"] for r in ok):
        cells = []
        for cap in caps:
            rs = [r for r in ok if r["mode"] == mode and r["cap"] == cap]
            base = _med([r for r in ok if r["mode"] == "default" and r["cap"] == cap], key)
            cells.append(f"{_med(rs, key):.2f}" + ("" if mode == "default" else f" ({base / _med(rs, key):.2f}x)") if rs else "")
        first = next(r for r in ok if r["mode"] == mode)
        out.append(f"| {MODES[mode].label} | {_soci(first)} | " + " | ".join(cells) + " |")
    return out


def _mode_row(rs: Sequence[dict[str, Any]], base: Sequence[dict[str, Any]], cap: float | None) -> str:
    after = [r["soci_rss_after_mib"] for r in rs if r.get("soci_rss_after_mib")]
    floor, net = _med(rs, "download_floor_s"), _med(rs, "net_busy")
    cells = [
        MODES[rs[0]["mode"]].label, _soci(rs[0]), _span(rs, "running_s"), f"{_med(base, 'running_s') / _med(rs, 'running_s'):.2f}x",
        f"{_med(rs, 'read30_s'):.1f}", f"{_med(base, 'read30_s') / _med(rs, 'read30_s'):.2f}x",
        f"{_med(rs, 'bytes_running') / MB:.0f} / {_med(rs, 'bytes_total') / MB:.0f}",
        f"{_med(rs, 'cpu_s'):.1f} / {_med([{'x': r['cpu_s'] / r['running_s']} for r in rs], 'x'):.2f}", f"{_med(rs, 'server_cpu_s'):.1f}",
        f"{_med(rs, 'soci_rss_mib'):.0f}" + (f" ({max(after):.0f})" if after else ""), f"{_med(rs, 'busy_conns'):.0f}" if cap else "",
        f"{floor:.1f}" if cap else "", f"{net * 100:.0f} %" if cap else "", f"{_med(rs, 'disk_util') * 100:.0f} %",
    ]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def report(results: dict[str, Any]) -> str:
    """Markdown: per cap, every mode's medians and ratios against the default pull; the sweep; failed runs."""
    info, m, img = results["info"], results["info"]["machine"], results["info"]["image"]
    lines = [
        f"Machine: {m['nproc']} vCPU {m['cpu']}, {m['memory_gib']} GiB RAM, Linux {m['kernel']} "
        f"(uptime at start: {m['uptime']}; at end: {info.get('uptime_end', '?')}; each run's load average is in the tables)",
        f"Versions: {', '.join(f'{k} {v}' for k, v in info['versions'].items())}; first-byte latency {info['latency_s'] * 1000:.0f} ms",
        f"Image: {img['layers']} layers, {img['compressed_bytes'] / MB:.0f} MB compressed, {img['unpacked_bytes'] / MB:.0f} MB unpacked; "
        f"read 30 % = {info['read30_files']} files",
        f"Started {info['started']}, finished {info.get('finished', '?')}",
    ]  # fmt: skip
    for c in info.get("cap_checks", []):
        lines.append(f"Cap check at {c['cap_mbps']:g} MB/s (curl): one connection {c['single_mbps']:.1f} MB/s, {len(c['parallel_mbps'])} at once "
                     f"{' + '.join(f'{x:.1f}' for x in c['parallel_mbps'])} MB/s; first byte {c['first_byte_s'] * 1000:.0f} ms")  # fmt: skip
    ok = [r for r in results["matrix"] if "error" not in r]
    lines += _summary(ok, "running_s", "Pod running") + _summary(ok, "read30_s", "Read 30 % of the image")
    for cap in dict.fromkeys(r["cap"] for r in ok):
        rows = [r for r in ok if r["cap"] == cap]
        base = [r for r in rows if r["mode"] == "default"]
        title = f"{cap:g} MB/s per connection, {info['latency_s'] * 1000:.0f} ms first byte" if cap else "uncapped: the registry itself on loopback"
        lines += ["", f"**{title}** ({len(base)} runs per mode; load average {min(r['load1'] for r in rows):.1f}-{max(r['load1'] for r in rows):.1f})", "",
                  "| mode | SOCI | pod running, s: median (min-max) | vs default | read 30 %, s | vs default | MB fetched by running / in all | "
                  "node daemons' CPU s / cores | registry side CPU s | SOCI peak RSS MiB (60 s after) | busy conns | download floor s | net busy | disk busy |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for mode in dict.fromkeys(r["mode"] for r in rows):
            lines.append(_mode_row([r for r in rows if r["mode"] == mode], base, cap))
        lines.append(f"Cap held on every connection of every run: {all(r.get('cap_held', True) for r in rows)}")
    sweep = [r for r in results["sweep"] if "error" not in r]
    for cpus in dict.fromkeys(json.dumps(r.get("node_cpus")) for r in sweep):
        rows = [r for r in sweep if json.dumps(r.get("node_cpus")) == cpus]
        ref = [r for r in rows if r["variant"].startswith("component defaults")]
        n = len(json.loads(cpus)) if json.loads(cpus) else info["machine"]["nproc"]
        lines += ["", f"**Parallel knobs at {rows[0]['cap']:g} MB/s per connection, node on {n} vCPU** (one knob changed from the component's defaults)", "",
                  "| setting | SOCI | pod running, s: median (min-max) | vs component defaults | daemon CPU s | SOCI peak RSS MiB | busy conns |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        for label in dict.fromkeys(r["variant"] for r in rows):
            rs = [r for r in rows if r["variant"] == label]
            lines.append(f"| {label} | {_soci(rs[0])} | {_span(rs, 'running_s')} | {_med(ref, 'running_s') / _med(rs, 'running_s'):.2f}x | "
                         f"{_med(rs, 'cpu_s'):.1f} | {_med(rs, 'soci_rss_mib'):.0f} | {_med(rs, 'busy_conns'):.0f} |")  # fmt: skip
    failed = [r for r in results["matrix"] + results["sweep"] if "error" in r]
    if failed:
        lines += ["", f"Failed runs ({len(failed)}, not in the medians):"] + [f"- {r['variant']} at {r['cap']} MB/s round {r['round']}: {r['error'][:200]}" for r in failed]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
