"""Command line of the catalogue tooling (run from a checkout).

``python -m tools.catalogue sync --eks-ami-repo DIR``   re-read releases.json from upstream (see ``sync -h``)
``python -m tools.catalogue add --os al2023 --release v20260801 --containerd '1.30-1.36=2.2.4' --source URL``

Both write ``soci_component/ami/releases.json`` of the checkout this file is in (``--file`` for another).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from soci_component.ami.catalogue import CatalogueError, load
from soci_component.spec import OperatingSystem

CHECKOUT = Path(__file__).resolve().parents[2]
RELEASES = CHECKOUT / "soci_component" / "ami" / "releases.json"
DEFECTS = RELEASES.with_name("defects.toml")


class NotACheckout(RuntimeError):
    """The tooling is not running from a soci-eks checkout (e.g. copied next to an installed package)."""


def _target(file: Path | None) -> Path:
    if file is not None:
        return file
    if not (CHECKOUT / "pyproject.toml").is_file() or not RELEASES.is_file():
        raise NotACheckout(f"{CHECKOUT} is not a soci-eks checkout (no pyproject.toml and soci_component/ami/releases.json): "
                           "run python -m tools.catalogue from the repository, or give --file")
    return RELEASES


def _defects_for(target: Path) -> str:
    """defects.toml applies to the checkout's own releases.json; another file is checked on its own."""
    return DEFECTS.read_text() if target.resolve() == RELEASES.resolve() else ""


def _sync(args: argparse.Namespace) -> int:
    from .bottlerocket_git import bottlerocket_releases, catalogue_rows
    from .bottlerocket_source import website_releases
    from .changelog import ChangelogError
    from .eks_ami_source import EksAmiSourceError
    from .sync import bottlerocket_rows, read_changelog, sync

    target = _target(args.file)
    current = json.loads(target.read_text())
    if bool(args.bottlerocket_repo) != bool(args.core_kit_repo):
        print("sync: --bottlerocket-repo and --core-kit-repo go together", file=sys.stderr)
        return 2
    try:
        bottlerocket = None
        if args.bottlerocket_repo or args.bottlerocket_website:
            git = catalogue_rows(bottlerocket_releases(args.bottlerocket_repo, args.core_kit_repo)) if args.bottlerocket_repo else None
            website = website_releases(args.bottlerocket_website) if args.bottlerocket_website else None
            bottlerocket = bottlerocket_rows(git, website)
        changelog = read_changelog(args.changelog) if args.changelog else None
        text = sync(current, changelog=changelog, eks_ami_repo=args.eks_ami_repo, bottlerocket=bottlerocket)
        load(text, _defects_for(target))  # the result must load, defects included
    except (ChangelogError, EksAmiSourceError, CatalogueError, ValueError) as e:
        print(f"sync: {e}", file=sys.stderr)
        return 2
    if args.check:
        same = text == target.read_text()
        print("up to date" if same else f"{target} would change (run without --check)")
        return 0 if same else 1
    target.write_text(text)
    print(f"wrote {target}", file=sys.stderr)
    return 0


def _add(args: argparse.Namespace) -> int:
    from .sync import add_row, dump

    target = _target(args.file)
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
        print(f"add: {e}", file=sys.stderr)
        return 2
    print(json.dumps(row, indent=1))
    if args.write:
        target.write_text(text)
        print(f"added to {target}", file=sys.stderr)
    else:
        print("(dry run: add --write to insert it)", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.catalogue",
                                     description=f"the AMI release catalogue's sync from upstream (writes {RELEASES.relative_to(CHECKOUT)} of this checkout)")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sync", help="re-read releases.json from upstream sources")
    s.add_argument("--changelog", help="amazon-eks-ami CHANGELOG.md: a file or an https URL (default with --eks-ami-repo: the clone's HEAD)")
    s.add_argument("--eks-ami-repo", type=Path, help="a git clone of awslabs/amazon-eks-ami: nodeadm facts at each release tag")
    s.add_argument("--bottlerocket-website", type=Path,
                   help="a git clone of bottlerocket-os/bottlerocket-project-website: per-release core-kit package lists and variant files, at the clone's HEAD")
    s.add_argument("--bottlerocket-repo", type=Path, help="a git clone of bottlerocket-os/bottlerocket: variants and the core-kit pin at each release tag")
    s.add_argument("--core-kit-repo", type=Path, help="a git clone of bottlerocket-os/bottlerocket-core-kit (with --bottlerocket-repo): package specs at each kit tag")
    s.add_argument("--check", action="store_true", help="only say whether the file would change (exit 1 if so)")
    s.add_argument("--file", type=Path, help="another releases.json (default: this checkout's; defects.toml applies to that one only)")
    s.set_defaults(func=_sync)
    d = sub.add_parser("add", help="add a release the sources do not document yet (dry run unless --write)")
    d.add_argument("--os", required=True, choices=[o.value for o in OperatingSystem])
    d.add_argument("--release", required=True, help="AL2023 vYYYYMMDD or Bottlerocket 1.x.y")
    d.add_argument("--containerd", required=True, help="Kubernetes range=containerd groups, e.g. '1.29=1.7.29 1.30-1.36=2.2.4'; '?' if unconfirmed")
    d.add_argument("--soci-version", help="Bottlerocket only: the soci-snapshotter package version")
    d.add_argument("--source", required=True, help="https URL the facts come from")
    d.add_argument("--unconfirmed", action="append", default=[], help="a fact the sources could not confirm (repeatable)")
    d.add_argument("--write", action="store_true", help="insert the row into releases.json")
    d.add_argument("--file", type=Path, help="another releases.json (default: this checkout's)")
    d.set_defaults(func=_add)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except NotACheckout as e:
        print(f"{args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
