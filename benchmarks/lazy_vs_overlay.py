#!/usr/bin/env python3
"""Lazy loading (SOCI) vs a full pull (overlayfs): how much sooner is a file readable, how many bytes.

Same registry, same image, same run, on this machine, with real daemons and the renderer's configs:

- registry: docker-registry (distribution 2.8) on 127.0.0.1 with TLS + htpasswd (tests/node/lazy.py);
- image: a 12 MiB base layer + one layer per ``--layers`` size, each one file of pseudo-random data
  that gzip -6 shrinks ~1.7x like a typical layer (``--random``: incompressible, which gzip stores and
  containerd "unpacks" at memcpy speed), the small file ``app/marker.txt`` in the last layer; with
  its SOCI v2 index (``soci convert``, zTOCs for every layer). Default: ~530 MB compressed;
- lazy: soci-snapshotter 0.15.0 + containerd 2.2.4 (built from their Go modules) with the scenario's rendered configs, credentials from
  the rendered docker config through a credential helper;
- overlay: the same node with the CRI snapshotter set back to containerd's default, ``overlayfs``.

Each run starts from empty daemon roots (nothing cached). The clock starts at the CRI PullImage call
(what the kubelet sends) and stops when ``app/marker.txt`` has been read from the container's root
filesystem (a view snapshot mounted as a container runtime mounts it). Bytes are what the registry
reports it sent (its access log) between those two moments. Runs alternate lazy/overlay.

    sudo .venv/bin/python benchmarks/lazy_vs_overlay.py               # 5 runs, ~530 MB image
    .venv/bin/python benchmarks/lazy_vs_overlay.py --runs 3 --layers 64 64 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO)]

from tests.node.lazy import Published, lazy_node, publish  # noqa: E402
from tests.support.daemons import containerd_daemon, daemon  # noqa: E402

MARKER = "app/marker.txt"


def one_run(base: Path, pub: Published, scenario: str, snapshotter: str) -> dict[str, float]:
    with lazy_node(base, pub, scenario, snapshotter=snapshotter) as ln:
        offset = pub.log_offset()
        t0 = time.monotonic()
        rc, out = ln.pull(pub.ref)
        t_pull = time.monotonic() - t0
        if rc != 0:
            raise RuntimeError(f"{snapshotter} pull failed: {out}")
        with ln.rootfs(pub.image) as root:
            data = (root / MARKER).read_bytes()
            t_file = time.monotonic() - t0
        if data != pub.image.file(MARKER).content():
            raise RuntimeError(f"{snapshotter}: {MARKER} has the wrong bytes")
        fetched = pub.bytes_served(offset)
        lazy_mounts = len(ln.fuse_mounts())
    if snapshotter == "soci" and lazy_mounts != len(pub.image.layers):
        raise RuntimeError(f"expected {len(pub.image.layers)} FUSE-mounted layers, saw {lazy_mounts}: not lazy")
    return {"pull_s": t_pull, "file_s": t_file, "bytes": fetched}


def machine() -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) // 1024 // 1024} GiB"
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "memory": mem, "kernel": platform.release(), "python": platform.python_version()}


def fmt_bytes(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--layers", type=int, nargs="+", default=[256, 256, 192, 192], help="MiB of (uncompressed) data per layer after the 12 MiB base layer")
    p.add_argument("--random", action="store_true", help="incompressible random layers (gzip stores them: unpacking is a memcpy) instead of ~1.7:1 compressible ones")
    p.add_argument("--scenario", default="c22-lazy-ecr-release", help="rendered scenario whose configs the node uses (tests/scenarios.py)")
    p.add_argument("--json", type=Path, help="also write the raw numbers here")
    a = p.parse_args()
    if os.geteuid() != 0:
        print("needs root (mount namespaces, FUSE, overlayfs)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="soci-eks-bench-") as tmp:
        base = Path(tmp)
        t = time.monotonic()
        pub = publish(base / "published", layers_mib=tuple(a.layers), name="bench-random" if a.random else "bench", compressible=not a.random)
        setup_s = time.monotonic() - t
        try:
            results: dict[str, list[dict[str, float]]] = {"soci": [], "overlayfs": []}
            for i in range(a.runs):
                order = ("soci", "overlayfs") if i % 2 == 0 else ("overlayfs", "soci")
                for snap in order:
                    r = one_run(base / f"run{i}-{snap}", pub, a.scenario, snap)
                    results[snap].append(r)
                    print(f"run {i + 1}/{a.runs} {snap:9s} pull {r['pull_s']:.2f} s, file {r['file_s']:.2f} s, {fmt_bytes(r['bytes'])}", file=sys.stderr)
        finally:
            pub.registry.stop()

    image_bytes = pub.image.total_size
    ctd = containerd_daemon("2" if not a.scenario.startswith("c17") else "1.7")
    info = machine()
    med = {s: {k: statistics.median(r[k] for r in rs) for k in ("pull_s", "file_s", "bytes")} for s, rs in results.items()}
    lines = [
        f"Image: {len(pub.image.layers)} layers, {fmt_bytes(image_bytes)} compressed, {'random (stored)' if a.random else '~1.7:1 compressible'} data "
        f"(SOCI v2 index from soci convert); first file: /{MARKER} ({len(pub.image.file(MARKER).content())} B) in the last layer",
        f"Machine: {info['nproc']} vCPU {info['cpu']}, {info['memory']} RAM, Linux {info['kernel']}; registry on 127.0.0.1 (TLS, htpasswd)",
        f"Versions: soci-snapshotter {daemon('soci').version}, containerd {ctd.version}, docker-registry {daemon('registry').version}; configs rendered for scenario {a.scenario}",
        f"Runs: {a.runs} per mode, alternating, fresh daemon roots each run (set-up: build/push/index {setup_s:.0f} s)",
        "",
        "| snapshotter | first file readable: median (min-max) | pull returned: median | bytes from registry at first file: median (min-max) |",
        "|---|---|---|---|",
    ]
    for snap, label in (("soci", "SOCI (lazy)"), ("overlayfs", "overlayfs (full pull)")):
        rs = results[snap]
        fs, bs = [r["file_s"] for r in rs], [r["bytes"] for r in rs]
        lines.append(
            f"| {label} | {med[snap]['file_s']:.2f} s ({min(fs):.2f}-{max(fs):.2f}) | {med[snap]['pull_s']:.2f} s | {fmt_bytes(med[snap]['bytes'])} ({fmt_bytes(min(bs))}-{fmt_bytes(max(bs))}) |"
        )
    speedup = med["overlayfs"]["file_s"] / med["soci"]["file_s"]
    share = med["soci"]["bytes"] / med["overlayfs"]["bytes"]
    lines += [
        "",
        f"Ratios (medians): first file {speedup:.1f}x sooner with SOCI (goal >= 5x: {'met' if speedup >= 5 else 'NOT met'}); "
        f"bytes {share * 100:.1f}% of the full pull (goal <= 20%: {'met' if share <= 0.20 else 'NOT met'})",
    ]
    print("\n".join(lines))
    if a.json:
        a.json.write_text(json.dumps({"machine": info, "results": results, "medians": med, "image_bytes": image_bytes, "speedup": speedup, "bytes_share": share}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
