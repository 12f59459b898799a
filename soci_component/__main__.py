"""Command line.

``python -m soci_component render --stack dev --out out/``   what each node group's nodes receive, offline
``python -m soci_component ami list``                         the AMI release catalogue

The catalogue's sync from upstream is maintainers' tooling outside the package: ``python -m tools.catalogue`` in a checkout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import SpecError
from .images.cli import add_parser as add_images_parser
from .verify.cli import add_parser as add_verify_parser

REPO = Path(__file__).resolve().parent.parent


def _render(args: argparse.Namespace) -> int:
    from .config import load_stack_file
    from .offline import render_stack, write_tree

    path = args.config or REPO / "stacks" / f"Pulumi.{args.stack}.yaml"
    try:
        stack = load_stack_file(path)
        nodes = render_stack(stack)
    except SpecError as e:
        print(f"error: {path}: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {path}: {e.strerror}", file=sys.stderr)
        return 2
    extra = {
        n.rendered.name: {"warnings": list(n.warnings), **({"instanceTypesNotCheckedOffline": list(n.unchecked_instance_types)} if n.unchecked_instance_types else {})}
        for n in nodes
    }
    write_tree([n.rendered for n in nodes], args.out, extra, {n.rendered.name: n.documents for n in nodes})
    from .rules import stack_warnings_for

    for w in stack_warnings_for(len(stack.node_groups)):
        print(f"warning: {w}")
    for n in nodes:
        b, p = n.rendered, n.rendered.report
        gz = " (gzipped)" if b.user_data != b.raw_user_data else ""
        print(
            f"{b.name}: {p.os} {p.ami_release or p.ami_id} k8s {p.kubernetes_version} {p.arch} "
            f"containerd {p.containerd_version} | {p.pull_mode} | user data {len(b.user_data)} B{gz} | {len(b.files)} files -> {args.out / b.name}"
        )
        for filename in n.documents:
            print(f"  {filename}: {args.out / b.name / filename}")
        for w in n.warnings:
            print(f"  warning: {w}")
        for t in n.unchecked_instance_types:
            print(f"  note: {t}: instance facts not derivable offline; its size and instance store are checked at preview")
    return 0


def _ami_list(args: argparse.Namespace) -> int:
    from .ami import catalogue

    for r in catalogue().releases.values():
        flags = []
        if r.soci_package:
            flags.append("soci-package" + (f" {r.soci_version}" if r.soci_version else ""))
        if r.feature_gate:
            flags.append(f"gate {r.feature_gate} (>= {r.size_floor})")
        if r.pause_import:
            flags.append("nodeadm-pause-import")
        line = f"{r.os.value:12} {r.version:10} {r.containerd_spec:40} {' '.join(flags)}"
        if r.refused or r.abandoned:
            line += "  REFUSED" + (" (abandoned)" if r.abandoned else "")
        if r.builds is None:
            line += "  UNCONFIRMED"
        if r.manual:
            line += "  manual"
        print(line.rstrip())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m soci_component", description="soci-eks: render node bootstraps offline; the AMI catalogue")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render", help="write what each node group's nodes receive, offline")
    src = r.add_mutually_exclusive_group(required=True)
    src.add_argument("--stack", help="stack name: reads stacks/Pulumi.<name>.yaml")
    src.add_argument("--config", type=Path, help="any stack config file")
    r.add_argument("--out", type=Path, default=Path("out"), help="output directory (default: out/)")
    r.set_defaults(func=_render)
    add_images_parser(sub)
    add_verify_parser(sub)

    a = sub.add_parser("ami", help="the AMI release catalogue").add_subparsers(dest="ami_command", required=True)
    a.add_parser("list", help="print every catalogued release").set_defaults(func=_ami_list)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
