"""How the program's evaluation time grows with the number of node groups, under Pulumi mocks, as a
ratio to a baseline program that registers the same resources with constant inputs.

    .venv/bin/python -m benchmarks.mock_scaling                       # 1, 10, 50, 100 node groups, 5 runs, GC default and program
    .venv/bin/python -m benchmarks.mock_scaling --sizes 1 10 50 --runs 3 --gc default freeze program off
    .venv/bin/python -m benchmarks.mock_scaling --profile 50 --sort tottime   # cProfile one evaluation

A program is one ``SociCluster`` with N node groups cycling through three kinds (AL2023 lazy with the
ECR helper, AL2023 parallel with FastImagePull on two instance types, Bottlerocket parallel), evaluated
with ``preview=False`` so every ``apply`` (rendering, base64) runs. Reported per size: the median wall
time of the runs, resources registered, invokes; then least-squares lines ``time = a + b * N`` over the
medians and the minima: ``b`` is the per-node-group cost. Each GC setting is measured separately: Python's
cyclic GC is most of the cost at 50 node groups (see ``__main__.py``). Not a test: timings depend on the
machine and its load.

The baseline replays exactly what the component registered for the same N (every custom resource's
type, name and final input values as constants, one component per node group and one for the cluster),
with no rendering, no Outputs between resources and no invokes: what Pulumi itself costs for that many resources. The figure of merit is the ratio
component / baseline, per size and per node group (slope over slope), measured in the same run.
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
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # run from the repository's root: python -m benchmarks.mock_scaling
warnings.filterwarnings("ignore", category=DeprecationWarning)
logging.disable(logging.WARNING)  # pulumi.log.warn under mocks prints through `logging`

import pulumi  # noqa: E402 - after the warning filters above

from soci_component import SociCluster, SociClusterArgs  # noqa: E402
from soci_component.spec import DISK_PRESETS, ClusterSpec, CriProxy, NodeGroupSpec, PullMode  # noqa: E402
from tests.support.pulumi_mocks import FakeCluster, SociMocks, mocked, run  # noqa: E402
from tests.support.scenarios import al2023_group, bottlerocket_group  # noqa: E402


def specs(n: int) -> list[NodeGroupSpec]:
    """N node groups cycling AL2023 lazy / AL2023 parallel (two instance types) / Bottlerocket (the tests' builders)."""
    out = []
    for i in range(n):
        name = f"ng-{i:03d}"
        kind = i % 3
        if kind == 0:
            out.append(al2023_group(name))
        elif kind == 1:
            out.append(al2023_group(name, instance_types=("m7i.2xlarge", "m6i.2xlarge"), pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),), disk=DISK_PRESETS["parallel"]))
        else:
            out.append(bottlerocket_group(name, disk=DISK_PRESETS["parallel"]))
    return out


_REGISTERED: dict[int, list[tuple[str, str, dict]]] = {}


def evaluate(n: int) -> tuple[float, int, int]:
    """Seconds to evaluate the program with ``n`` node groups; resources registered; invokes."""
    groups = specs(n)
    mocks = SociMocks(clusters={"bench": FakeCluster(name="bench")})
    with mocked(mocks):

        def program() -> pulumi.Output[int]:
            c = SociCluster(
                "bench",
                SociClusterArgs(cluster=ClusterSpec(name="bench", kubernetes_version="1.33"), node_groups=groups, vpc_id="vpc-0123456789abcdef0",
                                private_subnet_ids=["subnet-a", "subnet-b"]),
            )
            return pulumi.Output.all(c.reports, *(g.user_data_size for g in c.node_groups.values())).apply(len)

        start = time.perf_counter()
        run(program)
        elapsed = time.perf_counter() - start
    _REGISTERED[n] = [(r.typ, r.name, r.inputs) for r in mocks.resources]
    return elapsed, len(mocks.resources), len(mocks.calls)


def evaluate_baseline(n: int) -> float:
    """Seconds to register what the component registered for ``n`` groups, with the same inputs as constants and no invokes."""
    registered = _REGISTERED[n]
    mocks = SociMocks(clusters={"bench": FakeCluster(name="bench")})
    with mocked(mocks):

        def program() -> None:
            pulumi.ComponentResource("bench:index:Cluster", "bench")
            for i in range(n):
                pulumi.ComponentResource("bench:index:NodeGroup", f"bench-{i}")
            for typ, name, inputs in registered:
                pulumi.CustomResource(typ, name, dict(inputs))

        start = time.perf_counter()
        run(program)
        elapsed = time.perf_counter() - start
    return elapsed


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
    p.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50, 100])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument(
        "--gc",
        choices=["default", "freeze", "program", "off"],
        nargs="+",
        default=["default", "program"],
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
        print(f"{'node groups':>11} {'resources':>9} {'invokes':>7} {'component s':>11} {'baseline s':>10} {'ratio':>6} {'ms / group':>10}")
        xs: list[float] = []
        ys: list[float] = []
        bs: list[float] = []
        for n in args.sizes:
            times, base = [], []
            for _ in range(args.runs):  # alternate, so load drifts hit both
                t, resources, calls = evaluate(n)
                times.append(t)
                base.append(evaluate_baseline(n))
            med, bmed = statistics.median(times), statistics.median(base)
            xs.append(n)
            ys.append(med)
            bs.append(bmed)
            print(f"{n:>11} {resources:>9} {calls:>7} {med:>11.3f} {bmed:>10.3f} {med / bmed:>6.2f} {1000 * med / n:>10.1f}")
        if len(xs) >= 2:
            _, b, r2 = fit(xs, ys)
            _, bb, br2 = fit(xs, bs)
            print(f"per node group (least squares over medians): component {1000 * b:.2f} ms (R^2 {r2:.4f}), "
                  f"baseline {1000 * bb:.2f} ms (R^2 {br2:.4f}), ratio {b / bb:.2f}")
    gc.enable()
    gc.set_threshold(*default_threshold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
