#!/usr/bin/env python3
"""Parallel pull and unpack (SOCI) vs containerd's default pull: how much sooner is the image ready.

Same registry, same image, same run, on this machine, with real daemons and the renderer's configs:

- registry: docker-registry (distribution 2.8) on 127.0.0.1 with TLS + htpasswd (tests/node/lazy.py);
- image: a 12 MiB base layer + one layer per ``--layers`` size (default 7 x 256 MiB, ~1.1 GB compressed),
  pseudo-random data that gzip -6 shrinks ~1.7x like a typical layer, no SOCI index;
- parallel: soci-snapshotter 0.15.0 + containerd 2.2.4 (built from their Go modules) with the configs
  rendered for ``c22-parallel-ecr-release`` (parallel_pull_unpack, unpigz as the gzip decompressor);
- default: the same node with the CRI snapshotter set back to containerd's ``overlayfs`` (containerd's
  own pull: layers fetched and unpacked by containerd).

Each run starts from empty daemon roots. The clock starts at the CRI PullImage call (what the kubelet
sends) and stops when it returns (the image is ready to run). The daemons' CPU seconds over the
run (containerd + soci + their waited-for children, from /proc) against the wall time say whether
unpacking (CPU) or downloading dominated. Runs alternate.

    sudo .venv/bin/python benchmarks/parallel_vs_default.py               # 5 runs, ~1.1 GB image
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO), str(REPO / "benchmarks")]

from lazy_vs_overlay import fmt_bytes, machine  # noqa: E402

from tests.node.lazy import Published, lazy_node, publish  # noqa: E402
from tests.support.daemons import containerd_daemon, daemon  # noqa: E402

SCENARIO = "c22-parallel-ecr-release"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICK  # utime stime cutime cstime


def one_run(base: Path, pub: Published, mode: str) -> dict[str, float]:
    snapshotter = "soci" if mode == "parallel" else "overlayfs"
    with lazy_node(base, pub, SCENARIO, snapshotter=snapshotter) as ln:
        pids = [ln.ctd.process.pid, ln.soci.process.pid]  # type: ignore[union-attr]
        cpu0 = sum(cpu_seconds(p) for p in pids)
        offset = pub.log_offset()
        t0 = time.monotonic()
        rc, out = ln.pull(pub.unindexed_ref, timeout=1200)
        wall = time.monotonic() - t0
        if rc != 0:
            raise RuntimeError(f"{mode} pull failed: {out}")
        cpu = sum(cpu_seconds(p) for p in pids) - cpu0
        fetched = pub.bytes_served(offset)
        if mode == "parallel":
            unpacked = [e for e in ln.soci.log_entries() if e.get("msg") == "preparing snapshot with parallel pull/unpack"]
            if len(unpacked) != len(pub.image.layers) or ln.fuse_mounts():
                raise RuntimeError(f"not a parallel pull: {len(unpacked)} layers through SOCI's parallel path, {len(ln.fuse_mounts())} FUSE mounts")
        with ln.rootfs(pub.image) as root:
            marker = "app/marker.txt"
            if (root / marker).read_bytes() != pub.image.file(marker).content():
                raise RuntimeError(f"{mode}: {marker} has the wrong bytes")
    return {"ready_s": wall, "cpu_s": cpu, "bytes": fetched}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--layers", type=int, nargs="+", default=[256] * 7, help="MiB of (uncompressed) data per layer after the 12 MiB base layer")
    p.add_argument("--json", type=Path, help="also write the raw numbers here")
    a = p.parse_args()
    if os.geteuid() != 0:
        print("needs root (mount namespaces, overlayfs)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="soci-eks-bench-", dir=REPO / ".cache") as tmp:
        base = Path(tmp)
        t = time.monotonic()
        pub = publish(base / "published", layers_mib=tuple(a.layers), name="bench-parallel", compressible=True)
        setup_s = time.monotonic() - t
        try:
            results: dict[str, list[dict[str, float]]] = {"parallel": [], "default": []}
            for i in range(a.runs):
                for mode in ("parallel", "default") if i % 2 == 0 else ("default", "parallel"):
                    r = one_run(base / f"run{i}-{mode}", pub, mode)
                    results[mode].append(r)
                    print(f"run {i + 1}/{a.runs} {mode:8s} ready {r['ready_s']:.2f} s, daemon CPU {r['cpu_s']:.1f} s, {fmt_bytes(r['bytes'])}", file=sys.stderr)
        finally:
            pub.registry.stop()
    info = machine()
    med = {m: {k: statistics.median(r[k] for r in rs) for k in ("ready_s", "cpu_s", "bytes")} for m, rs in results.items()}
    ratio = med["default"]["ready_s"] / med["parallel"]["ready_s"]
    lines = [
        f"Image: {len(pub.image.layers)} layers, {fmt_bytes(pub.image.total_size)} compressed (~1.7:1 compressible), no SOCI index",
        f"Machine: {info['nproc']} vCPU {info['cpu']}, {info['memory']} RAM, Linux {info['kernel']}; registry on 127.0.0.1 (TLS, htpasswd)",
        f"Versions: soci-snapshotter {daemon('soci').version}, containerd {containerd_daemon('2').version}; configs rendered for {SCENARIO}",
        f"Runs: {a.runs} per mode, alternating, fresh daemon roots each run (set-up {setup_s:.0f} s)",
        "",
        "| pull | image ready: median (min-max) | daemon CPU s: median | CPU / wall |",
        "|---|---|---|---|",
    ]
    for m, label in (("parallel", "SOCI parallel pull + unpack"), ("default", "containerd default pull (overlayfs)")):
        rs = [r["ready_s"] for r in results[m]]
        lines.append(f"| {label} | {med[m]['ready_s']:.2f} s ({min(rs):.2f}-{max(rs):.2f}) | {med[m]['cpu_s']:.1f} | {med[m]['cpu_s'] / med[m]['ready_s']:.2f} |")
    lines += ["", f"Ratio (medians): image ready {ratio:.2f}x sooner with parallel pull (goal >= 1.7x on 2 cores: {'met' if ratio >= 1.7 else 'NOT met'})"]
    print("\n".join(lines))
    if a.json:
        a.json.write_text(json.dumps({"machine": info, "results": results, "medians": med, "ratio": ratio}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
