"""How the program's evaluation time grows with the number of node groups, under Pulumi mocks.

    .venv/bin/python benchmarks/mock_scaling.py                       # 1, 10, 50 node groups, 5 runs, 4 GC settings
    .venv/bin/python benchmarks/mock_scaling.py --sizes 1 10 50 100 --runs 3 --gc default program
    .venv/bin/python benchmarks/mock_scaling.py --profile 50 --sort tottime   # cProfile one evaluation

A program is one ``SociCluster`` with N node groups cycling through three kinds (AL2023 lazy with the
ECR helper, AL2023 parallel with FastImagePull on two instance types, Bottlerocket parallel), evaluated
with ``preview=False`` so every ``apply`` (rendering, base64) runs. Reported per size: the median wall
time of the runs, resources registered, invokes; then least-squares lines ``time = a + b * N`` over the
medians and the minima: ``b`` is the per-node-group cost. Each GC setting is measured separately: Python's
cyclic GC is most of the cost at 50 node groups (see ``__main__.py``). Not a test: timings depend on the
machine and its load.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import logging
import platform
import pstats
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
warnings.filterwarnings("ignore", category=DeprecationWarning)
logging.disable(logging.WARNING)  # pulumi.log.warn under mocks prints through `logging`

import pulumi  # noqa: E402
from pulumi_mocks import FakeCluster, SociMocks, mocked, run  # noqa: E402

from soci_component import SociCluster, SociClusterArgs  # noqa: E402
from soci_component.spec import DISK_PRESETS, AmiPin, CriProxy, NodeGroupSpec, OperatingSystem, PullMode  # noqa: E402


def specs(n: int) -> list[NodeGroupSpec]:
    out = []
    for i in range(n):
        name = f"ng-{i:03d}"
        kind = i % 3
        if kind == 0:
            out.append(NodeGroupSpec(name=name, kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",)))
        elif kind == 1:
            out.append(
                NodeGroupSpec(
                    name=name,
                    kubernetes_version="1.33",
                    ami=AmiPin(release="v20260714"),
                    instance_types=("m7i.2xlarge", "m6i.2xlarge"),
                    pull_mode=PullMode.PARALLEL,
                    credentials=(CriProxy(),),
                    disk=DISK_PRESETS["parallel"],
                )
            )
        else:
            out.append(
                NodeGroupSpec(
                    name=name,
                    kubernetes_version="1.33",
                    ami=AmiPin(release="1.57.0"),
                    instance_types=("m7g.xlarge",),
                    os=OperatingSystem.BOTTLEROCKET,
                    pull_mode=PullMode.PARALLEL,
                    credentials=(CriProxy(),),
                    disk=DISK_PRESETS["parallel"],
                )
            )
    return out


def evaluate(n: int) -> tuple[float, int, int]:
    """Seconds to evaluate the program with ``n`` node groups; resources registered; invokes."""
    groups = specs(n)
    mocks = SociMocks(clusters={"bench": FakeCluster(name="bench")})
    with mocked(mocks):

        def program() -> pulumi.Output[int]:
            c = SociCluster(
                "bench",
                SociClusterArgs(
                    cluster_name="bench", kubernetes_version="1.33", node_groups=groups, vpc_id="vpc-0123456789abcdef0", private_subnet_ids=["subnet-a", "subnet-b"]
                ),
            )
            return pulumi.Output.all(c.profiles, *(g.user_data_size for g in c.node_groups.values())).apply(len)

        start = time.perf_counter()
        run(program)
        elapsed = time.perf_counter() - start
    return elapsed, len(mocks.resources), len(mocks.calls)


def fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least squares ``y = a + b x``; returns a, b, R²."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - (a + b * x)) ** 2 for x, y in zip(xs, ys, strict=True))
    return a, b, 1 - ss_res / ss_tot if ss_tot else 1.0


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os
    from importlib.metadata import version

    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, pulumi {version('pulumi')}, pulumi-aws {version('pulumi-aws')}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument(
        "--gc",
        choices=["default", "freeze", "program", "off"],
        nargs="+",
        default=["default", "freeze", "program", "off"],
        help="garbage-collector settings to measure: as is; gc.freeze() after imports; freeze + gc.set_threshold(5000, 10, 10) "
        "(what __main__.py does); disabled",
    )
    p.add_argument("--sort", default="cumulative", help="pstats sort key for --profile (cumulative, tottime)")
    p.add_argument("--profile", type=int, metavar="N", help="cProfile one evaluation with N node groups and print the top functions")
    args = p.parse_args(argv)

    evaluate(1)  # warm-up: imports, first-use caches
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        evaluate(args.profile)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(args.sort).print_stats(30)
        print(out.getvalue())
        return 0

    print(f"machine: {machine()}")
    default_threshold = gc.get_threshold()
    for mode in args.gc:
        gc.enable()
        gc.unfreeze()
        gc.set_threshold(*default_threshold)
        gc.collect()
        if mode in ("freeze", "program"):
            gc.freeze()
        if mode == "program":
            gc.set_threshold(5000, 10, 10)
        elif mode == "off":
            gc.disable()
        print(f"\ngc: {mode}")
        print(f"{'node groups':>11} {'median s':>9} {'min s':>7} {'resources':>9} {'invokes':>7} {'ms / group':>10}")
        xs: list[float] = []
        ys: list[float] = []
        mins: list[float] = []
        for n in args.sizes:
            times = []
            for _ in range(args.runs):
                t, resources, calls = evaluate(n)
                times.append(t)
            med = statistics.median(times)
            xs.append(n)
            ys.append(med)
            mins.append(min(times))
            print(f"{n:>11} {med:>9.3f} {min(times):>7.3f} {resources:>9} {calls:>7} {1000 * med / n:>10.1f}")
        if len(xs) >= 2:
            for label, values in (("medians", ys), ("minima", mins)):
                a, b, r2 = fit(xs, values)
                print(f"linear fit ({label}): time = {1000 * a:.1f} ms + {1000 * b:.2f} ms x node groups (R^2 = {r2:.4f})")
    gc.enable()
    gc.set_threshold(*default_threshold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
