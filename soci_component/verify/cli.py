"""``python -m soci_component verify``: argparse wiring and the handler.

Exit codes: 0 every node group/pool checked passes; 1 something failed (each failure says what to do); 2 verify could
not look (bad stack, no kubeconfig, API server unreachable, credentials refused, nodes not readable) — one message on
stderr (``--json``: a JSON document with ``error`` on stdout), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PULUMI_TIMEOUT = 120.0

EPILOG = """\
exit codes: 0 every node group/pool checked passes, 1 a check failed, 2 verify could not look (config, credentials, API server).
cluster: --kubeconfig/--context, else (with --stack) the stack's kubeconfig output through the Pulumi CLI, else KUBECONFIG or ~/.kube/config.
RBAC: get/list nodes, get nodes/proxy, list pods and events (README: Verify your cluster).
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``verify`` to the CLI's subcommands."""
    v = subparsers.add_parser("verify", help="check through the Kubernetes API that every SOCI node and pod of a stack runs SOCI as rendered",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = v.add_mutually_exclusive_group(required=True)
    src.add_argument("--stack", help="stack name: expectations from stacks/Pulumi.<name>.yaml, cluster from its kubeconfig output")
    src.add_argument("--config", type=Path, help="any stack config file (expectations only; give the cluster with --kubeconfig)")
    v.add_argument("--kubeconfig", type=Path, help="kubeconfig file (default: the stack's output, else KUBECONFIG / ~/.kube/config)")
    v.add_argument("--context", help="kubeconfig context (default: its current-context)")
    v.add_argument("--node", help="check only this node (and its group)")
    v.add_argument("--json", action="store_true", help="print one JSON document (for CI)")
    v.add_argument("--eks-node-group", action="append", default=[], metavar="GROUP=EKS_NAME",
                   help="the EKS name of a node group (default: the stack's nodeGroups outputs, else the name SociCluster gives it)")
    v.add_argument("--cluster-component", help="the SociCluster's Pulumi name, when it is not the cluster's name (node group names derive from it)")
    v.add_argument("--no-registry", action="store_true", help="do not read images' SOCI indexes from their registries")
    v.add_argument("--docker-config", type=Path, help="registry credentials for the index lookups (default: as images check)")
    v.add_argument("--ca-file", type=Path, help="PEM CA bundle trusted for registries besides the system CAs")
    v.set_defaults(func=run)


def _fail(kind: str, message: str, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"passed": False, "error": {"kind": kind, "message": message}}, indent=1))
    print(f"error: {message}", file=sys.stderr)
    return 2


def _stack_file(args: argparse.Namespace) -> Path:
    if args.config:
        return Path(args.config)
    local = Path.cwd() / "stacks" / f"Pulumi.{args.stack}.yaml"
    return local if local.exists() else REPO / "stacks" / f"Pulumi.{args.stack}.yaml"


def stack_outputs(stack: str, cwd: Path) -> tuple[dict[str, Any] | None, str]:
    """The stack's outputs through the Pulumi CLI (``--show-secrets``: the kubeconfig is a secret), or (None, why not)."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        return None, "the Pulumi CLI is not on PATH"
    try:
        r = subprocess.run([pulumi, "stack", "output", "--json", "--show-secrets", "--stack", stack], cwd=cwd, capture_output=True, text=True,
                           timeout=PULUMI_TIMEOUT, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"pulumi stack output failed ({e})"
    if r.returncode != 0:
        last = [line for line in r.stderr.strip().splitlines() if line.strip()][-1:] or [f"exit code {r.returncode}"]
        return None, f"pulumi stack output --stack {stack}: {last[0][:300]}"
    try:
        out = json.loads(r.stdout)
    except ValueError:
        return None, "pulumi stack output printed no JSON"
    return (out, "") if isinstance(out, dict) else (None, "pulumi stack output printed no JSON object")


def _eks_names(args: argparse.Namespace, outputs: dict[str, Any] | None) -> dict[str, str] | None:
    names: dict[str, str] = {}
    groups = (outputs or {}).get("nodeGroups")
    if isinstance(groups, dict):
        names.update({str(k): str(v["eksNodeGroup"]) for k, v in groups.items() if isinstance(v, dict) and v.get("eksNodeGroup")})
    for item in args.eks_node_group:
        group, sep, name = item.partition("=")
        if not sep or not group or not name:
            raise ValueError(f"--eks-node-group {item!r}: expected GROUP=EKS_NAME")
        names[group] = name
    return names or None


def run(args: argparse.Namespace) -> int:
    from ..config import load_stack_file
    from ..errors import SpecError
    from . import verify
    from .client import KubeClient
    from .errors import KubeError
    from .expect import expectations
    from .indexes import no_lookup, registry_lookup
    from .output import text

    path = _stack_file(args)
    try:
        stack = load_stack_file(path)
    except SpecError as e:
        return _fail("stack", f"{path}: {e}", args.json)
    except OSError as e:
        return _fail("stack", f"{path}: {e.strerror}", args.json)
    outputs, why = (None, "")
    if args.stack and args.kubeconfig is None:
        outputs, why = stack_outputs(args.stack, Path.cwd())
    try:
        exps = expectations(stack, _eks_names(args, outputs), args.cluster_component)
    except (SpecError, ValueError) as e:
        return _fail("stack", f"{path}: {e}", args.json)
    with tempfile.TemporaryDirectory(prefix="soci-verify-") as tmp:
        kubeconfig = args.kubeconfig
        if kubeconfig is None and outputs is not None and outputs.get("kubeconfig"):
            kubeconfig = Path(tmp) / "kubeconfig"
            kubeconfig.touch(mode=0o600)
            kc = outputs["kubeconfig"]
            kubeconfig.write_text(kc if isinstance(kc, str) else json.dumps(kc))
        elif kubeconfig is None and args.stack:
            print(f"note: using KUBECONFIG / ~/.kube/config: the stack's kubeconfig output is not available ({why})", file=sys.stderr)
        lookup = no_lookup if args.no_registry else registry_lookup(args.docker_config, args.ca_file)
        try:
            with KubeClient.from_kubeconfig(kubeconfig, args.context) as client:
                result = verify(exps, client, node=args.node, lookup=lookup)
        except KubeError as e:
            return _fail(e.kind.value, e.message, args.json)
    if args.json:
        print(json.dumps(result.to_json(), indent=1, ensure_ascii=False))
    else:
        out = sys.stdout
        if (out.encoding or "").lower().replace("-", "") not in ("utf8",) and not os.environ.get("PYTHONIOENCODING"):
            out.reconfigure(errors="replace")  # type: ignore[attr-defined]
        for line in text(result):
            print(line)
    return 0 if result.passed else 1


__all__ = ["add_parser", "run", "stack_outputs"]
