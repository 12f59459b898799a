"""``python -m soci_component images check REF [REF...]``: argparse wiring and the handler.

Exit codes: 0 checked (and ``--require lazy`` holds); 1 ``--require lazy`` does not hold; 2 an image
or the stack could not be checked (each error on stderr, nothing on stdout).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .soci import DEFAULT_MIN_LAYER_SIZE
from .types import ImageReport, NodeTarget, Platform

REPO = Path(__file__).resolve().parents[2]

EPILOG = """\
exit codes: 0 checked (and --require lazy holds), 1 --require lazy does not hold, 2 an image or the stack could not be checked.
credentials: the docker config ($DOCKER_CONFIG/config.json or ~/.docker/config.json: credHelpers, credsStore, auths), ECR tokens
through the AWS SDK for <account>.dkr.ecr.<region>.amazonaws.com, anonymous bearer tokens otherwise; TLS: system CAs + --ca-file.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``images check`` to the CLI's subcommands."""
    images = subparsers.add_parser("images", help="images ready for lazy loading: SOCI indexes in the registry").add_subparsers(dest="images_command", required=True)
    c = images.add_parser("check", help="does an image carry a SOCI v2 index, which layers have zTOCs, how much loads lazily",
                          epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("refs", nargs="*", metavar="REF", help="image references (registry/repository:tag or @digest)")
    src = c.add_mutually_exclusive_group()
    src.add_argument("--stack", help="also check the images stack stacks/Pulumi.<name>.yaml names, per node group/pool (their platform, v1Indexes)")
    src.add_argument("--config", type=Path, help="like --stack, any stack config file")
    c.add_argument("--json", action="store_true", help="print one JSON document (for CI)")
    c.add_argument("--require", choices=["lazy"], help="exit 1 unless every image loads lazily (with a stack: on every lazy group/pool that runs it)")
    c.add_argument("--platform", action="append", default=[], metavar="OS/ARCH[/VARIANT]", help="check only these platforms (repeatable; default: every platform)")
    c.add_argument("--v1-indexes", action="store_true", help="count v1 indexes as lazy, as nodes with tuning.v1Indexes do (a stack's groups say it themselves)")
    c.add_argument("--ca-file", type=Path, help="PEM CA bundle trusted besides the system CAs")
    c.add_argument("--docker-config", type=Path, help="docker config file (default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json)")
    c.add_argument("--plain-http", action="store_true", help="talk HTTP, not HTTPS, to every registry (local test registries)")
    c.add_argument("--min-layer-size", type=int, default=DEFAULT_MIN_LAYER_SIZE, metavar="BYTES",
                   help="the soci convert --min-layer-size the indexes were built with, to explain layers without a zTOC (default 10 MiB)")
    c.add_argument("--no-layers", action="store_true", help="text output: leave out the per-layer lines")
    c.set_defaults(func=run)


def _fail(errors: list[tuple[str, str, str]], as_json: bool) -> int:
    if as_json:
        print(json.dumps({"errors": [{"reference": r, "kind": k, "message": m} for r, k, m in errors]}, indent=1), file=sys.stderr)
    else:
        for r, _, m in errors:
            print(f"error: {r}: {m}" if r else f"error: {m}", file=sys.stderr)
    return 2


def _targets(args: argparse.Namespace) -> tuple[list[NodeTarget], int | None]:
    if not (args.stack or args.config):
        return [], None
    from ..config import load_stack_file
    from ..errors import SpecError
    from .verdict import node_targets

    path = args.config or REPO / "stacks" / f"Pulumi.{args.stack}.yaml"
    try:
        return node_targets(load_stack_file(path), args.refs), None
    except SpecError as e:
        return [], _fail([("", "stack", f"{path}: {e}")], args.json)
    except OSError as e:
        return [], _fail([("", "stack", f"{path}: {e.strerror}")], args.json)


def run(args: argparse.Namespace) -> int:
    from .check import Auth, Checker
    from .output import document, text
    from .reference import ReferenceError
    from .registry import RegistryError
    from .verdict import target_results, unmet

    try:
        platforms = [Platform.parse(p) for p in args.platform] or None
    except ValueError as e:
        return _fail([("", "usage", f"--platform: {e}")], args.json)
    if args.min_layer_size < 0:
        return _fail([("", "usage", "--min-layer-size: a byte count >= 0")], args.json)
    targets, code = _targets(args)
    if code is not None:
        return code
    refs = list(dict.fromkeys([*args.refs, *(i for t in targets for i in t.images)]))
    if not refs:
        return _fail([("", "usage", "no image to check: give REF arguments, or --stack/--config naming images")], args.json)
    checker = Checker(Auth(docker_config=args.docker_config, ca_file=args.ca_file, plain_http=args.plain_http, min_layer_size=args.min_layer_size))
    reports: list[ImageReport] = []
    errors: list[tuple[str, str, str]] = []
    for ref in refs:
        try:
            reports.append(checker.check(ref, platforms))
        except ReferenceError as e:
            errors.append((ref, "reference", str(e)))
        except RegistryError as e:
            errors.append((ref, e.kind.value, e.message))
        except Exception as e:  # noqa: BLE001 - the CLI prints one line per failure, never a traceback
            errors.append((ref, "unexpected", f"unexpected failure ({type(e).__name__}: {e}); please report it with the reference"))
    if errors:
        return _fail(errors, args.json)
    results = target_results(reports, targets)
    missing = unmet(reports, results, args.v1_indexes, bool(targets))
    if args.json:
        print(json.dumps(document(reports, results, v1_indexes=args.v1_indexes, unmet=missing), indent=1))
    else:
        for line in text(reports, results, v1_indexes=args.v1_indexes, min_layer_size=args.min_layer_size, layers=not args.no_layers):
            print(line)
        if args.require:
            print("ready: every image loads lazily" if not missing else f"NOT READY ({len(missing)}):")
            for m in missing:
                print(f"  {m}")
    return 1 if args.require and missing else 0


__all__ = ["add_parser", "run"]
