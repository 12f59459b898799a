"""Command line.

``python -m soci_component render --stack dev --out out/``   what each node group's nodes receive, offline
``python -m soci_component ami list``                         the AMI release catalogue
``python -m soci_component ami sync --eks-ami-repo DIR``      re-read it from upstream (see ``ami sync -h``)
``python -m soci_component ami add --os al2023 --release v20260801 --containerd '1.30-1.36=2.2.4' --source URL``
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path

from .errors import SpecError
from .images.cli import add_parser as add_images_parser
from .spec import OperatingSystem

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


def _data_path() -> Path:
    return Path(str(resources.files("soci_component.ami").joinpath("releases.json")))


def _defects_for(target: Path) -> str:
    """defects.toml applies to the package's own releases.json; another file is checked on its own."""
    return resources.files("soci_component.ami").joinpath("defects.toml").read_text() if target.resolve() == _data_path().resolve() else ""


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


def _ami_sync(args: argparse.Namespace) -> int:
    from .ami.catalogue import CatalogueError, load
    from .ami.changelog import ChangelogError
    from .ami.eks_ami_source import EksAmiSourceError
    from .ami.sync import read_changelog, sync

    target: Path = args.file or _data_path()
    current = json.loads(target.read_text())
    if bool(args.bottlerocket_repo) != bool(args.core_kit_repo):
        print("ami sync: --bottlerocket-repo and --core-kit-repo go together", file=sys.stderr)
        return 2
    try:
        bottlerocket = None
        if args.bottlerocket_repo or args.bottlerocket_website:
            from .ami.bottlerocket_git import bottlerocket_releases, catalogue_rows
            from .ami.bottlerocket_source import website_releases
            from .ami.sync import bottlerocket_rows

            git = catalogue_rows(bottlerocket_releases(args.bottlerocket_repo, args.core_kit_repo)) if args.bottlerocket_repo else None
            website = website_releases(args.bottlerocket_website) if args.bottlerocket_website else None
            bottlerocket = bottlerocket_rows(git, website)
        changelog = read_changelog(args.changelog) if args.changelog else None
        text = sync(current, changelog=changelog, eks_ami_repo=args.eks_ami_repo, bottlerocket=bottlerocket)
        load(text, _defects_for(target))  # the result must load, defects included
    except (ChangelogError, EksAmiSourceError, CatalogueError, ValueError) as e:
        print(f"ami sync: {e}", file=sys.stderr)
        return 2
    if args.check:
        same = text == target.read_text()
        print("up to date" if same else f"{target} would change (run without --check)")
        return 0 if same else 1
    target.write_text(text)
    print(f"wrote {target}", file=sys.stderr)
    return 0


def _ami_add(args: argparse.Namespace) -> int:
    from .ami.catalogue import CatalogueError, load
    from .ami.sync import add_row, dump

    target: Path = args.file or _data_path()
    current = json.loads(target.read_text())
    os = OperatingSystem(args.os)
    try:
        row = add_row(os, args.release, args.containerd, soci_version=args.soci_version, source=args.source, unconfirmed=args.unconfirmed)
        rows = list(current.get(os.value, []))
        if any(r["release"] == row["release"] for r in rows):
            raise ValueError(f"{os.value} release {row['release']} is already in the catalogue")
        rows.append(row)
        current[os.value] = rows
        text = dump(current.get("al2023", []), current.get("bottlerocket", []))
        load(text, _defects_for(target))
    except (ValueError, CatalogueError) as e:
        print(f"ami add: {e}", file=sys.stderr)
        return 2
    print(json.dumps(row, indent=1))
    if args.write:
        target.write_text(text)
        print(f"added to {target}", file=sys.stderr)
    else:
        print("(dry run: add --write to insert it)", file=sys.stderr)
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

    a = sub.add_parser("ami", help="the AMI release catalogue").add_subparsers(dest="ami_command", required=True)
    a.add_parser("list", help="print every catalogued release").set_defaults(func=_ami_list)
    s = a.add_parser("sync", help="re-read releases.json from upstream sources")
    s.add_argument("--changelog", help="amazon-eks-ami CHANGELOG.md: a file or an https URL (default with --eks-ami-repo: the clone's HEAD)")
    s.add_argument("--eks-ami-repo", type=Path, help="a git clone of awslabs/amazon-eks-ami: nodeadm facts at each release tag")
    s.add_argument("--bottlerocket-website", type=Path,
                   help="a git clone of bottlerocket-os/bottlerocket-project-website: per-release core-kit package lists and variant files, at the clone's HEAD")
    s.add_argument("--bottlerocket-repo", type=Path, help="a git clone of bottlerocket-os/bottlerocket: variants and the core-kit pin at each release tag")
    s.add_argument("--core-kit-repo", type=Path, help="a git clone of bottlerocket-os/bottlerocket-core-kit (with --bottlerocket-repo): package specs at each kit tag")
    s.add_argument("--check", action="store_true", help="only say whether the file would change (exit 1 if so)")
    s.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    s.set_defaults(func=_ami_sync)
    d = a.add_parser("add", help="add a release the sources do not document yet (dry run unless --write)")
    d.add_argument("--os", required=True, choices=[o.value for o in OperatingSystem])
    d.add_argument("--release", required=True, help="AL2023 vYYYYMMDD or Bottlerocket 1.x.y")
    d.add_argument("--containerd", required=True, help="Kubernetes range=containerd groups, e.g. '1.29=1.7.29 1.30-1.36=2.2.4'; '?' if unconfirmed")
    d.add_argument("--soci-version", help="Bottlerocket only: the soci-snapshotter package version")
    d.add_argument("--source", required=True, help="https URL the facts come from")
    d.add_argument("--unconfirmed", action="append", default=[], help="a fact the sources could not confirm (repeatable)")
    d.add_argument("--write", action="store_true", help="insert the row into releases.json")
    d.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    d.set_defaults(func=_ami_add)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
