"""Command line: ``python -m soci_component render --stack dev --out out/``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import load_stack_file
from .offline import render_stack, write_tree
from .spec import SpecError

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m soci_component", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render", help="write what each node group's nodes receive, offline")
    src = r.add_mutually_exclusive_group(required=True)
    src.add_argument("--stack", help="stack name: reads stacks/Pulumi.<name>.yaml")
    src.add_argument("--config", type=Path, help="any stack config file")
    r.add_argument("--out", type=Path, default=Path("out"), help="output directory (default: out/)")
    args = parser.parse_args(argv)

    path = args.config or REPO / "stacks" / f"Pulumi.{args.stack}.yaml"
    try:
        stack = load_stack_file(path)
        bootstraps = render_stack(stack)
    except SpecError as e:
        print(f"error: {path}: {e}", file=sys.stderr)
        return 2
    write_tree(bootstraps, args.out)
    for b in bootstraps:
        p = b.profile
        gz = " (gzipped)" if b.user_data != b.raw_user_data else ""
        print(
            f"{b.name}: {p['os']} {p['amiRelease'] or p['amiId']} k8s {p['kubernetesVersion']} {p['arch']} "
            f"containerd {p['containerdVersion']} | {p['pullMode']} | user data {len(b.user_data)} B{gz} | {len(b.files)} files -> {args.out / b.name}"
        )
        for w in b.warnings:
            print(f"  warning: {w}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
