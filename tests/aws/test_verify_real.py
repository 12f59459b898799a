"""``verify`` on a real EKS cluster: ``pulumi up`` of the dev stack's shape, wait for its nodes and the demo pod, run
``python -m soci_component verify --stack <stack> --json``, then ``pulumi destroy``.

Opt-in: runs only with ``SOCI_EKS_REAL_AWS=1`` in the environment, the Pulumi CLI and the AWS CLI on ``PATH`` (the
stack's kubeconfig runs ``aws eks get-token``) and AWS credentials; otherwise it skips and says which is missing.

**Cost.** It creates what ``pulumi up -s dev`` creates (README: "What gets created, and roughly what it costs"): an EKS
cluster, a NAT gateway and two m7i.xlarge nodes with 100 GiB gp3 each, about $0.59 per hour in us-west-2, for the
30-45 minutes a run takes (EKS creates its control plane in ~10 min and deletes it in ~10 min): roughly $0.30-0.50
per run, plus NAT data processing for the images pulled (~$0.045/GB; the demo image is ~1 GB, lazily loaded). The
stack is destroyed in ``finally``; if the run is killed, ``pulumi destroy --stack <name>`` in the printed work directory
(or the EKS and VPC consoles: everything is tagged ``soci-eks:stack=<name>``) removes it.

Region: ``AWS_REGION`` (default us-west-2). The cluster is called ``soci-verify-<random>`` so it never collides with a
dev stack of the same account. SOCI's metrics are on (``tuning.metricsAddress: 0.0.0.0:9464``), so verify can show
the demo pod loading lazily; the demo image carries a SOCI v1 index, which the dev group reads (``tuning.v1Indexes``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.aws import NEEDS_CREDENTIALS, NEEDS_PULUMI

ROOT = Path(__file__).resolve().parents[2]
GATE = "SOCI_EKS_REAL_AWS"


pytestmark = [
    pytest.mark.skipif(os.environ.get(GATE) != "1", reason=f"creates a real EKS cluster (~$0.30-0.50 a run): set {GATE}=1 to run it"),
    NEEDS_PULUMI,
    pytest.mark.skipif(shutil.which("aws") is None, reason="needs the AWS CLI on PATH (the stack's kubeconfig runs `aws eks get-token`)"),
    NEEDS_CREDENTIALS,
]


def _stack_file(name: str, region: str) -> str:
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    cfg = doc["config"]
    cfg["aws:region"] = region
    cfg["soci-eks:cluster"]["name"] = name
    cfg["soci-eks:nodeGroups"][0].setdefault("tuning", {})["metricsAddress"] = "0.0.0.0:9464"
    return yaml.safe_dump(doc)


def _wait(what: str, check, timeout: float, every: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(every)


def test_verify_a_real_cluster(tmp_path: Path) -> None:
    from pulumi import automation as auto

    from soci_component.verify import rbac
    from soci_component.verify.client import KubeClient

    region = os.environ.get("AWS_REGION", "us-west-2")
    name = f"soci-verify-{secrets.token_hex(3)}"
    work = tmp_path / "project"
    shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(".venv", ".cache", ".git", "out", "__pycache__", "tests"))
    (work / "stacks" / f"Pulumi.{name}.yaml").write_text(_stack_file(name, region))
    state = tmp_path / "state"
    state.mkdir()
    env = {"PULUMI_BACKEND_URL": f"file://{state}", "PULUMI_CONFIG_PASSPHRASE": "soci-eks-verify-test"}
    print(f"stack {name} in {work} (backend {state}); if this run is killed: cd {work} && pulumi destroy --stack {name}")
    s = auto.create_or_select_stack(stack_name=name, work_dir=str(work), opts=auto.LocalWorkspaceOptions(env_vars=env))
    try:
        up = s.up(on_output=print)
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(json.dumps(up.outputs["kubeconfig"].value) if not isinstance(up.outputs["kubeconfig"].value, str) else up.outputs["kubeconfig"].value)
        with KubeClient.from_kubeconfig(kubeconfig) as api:

            def nodes_ready() -> bool:
                nodes = api.list_all("/api/v1/nodes", rbac.LIST_NODES, {"labelSelector": "soci.snapshotter/enabled=true"})
                return len(nodes) >= 2 and all(any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", [])) for n in nodes)

            def demo_running() -> bool:
                pods = api.list_all("/api/v1/pods", rbac.LIST_PODS, {"labelSelector": "app.kubernetes.io/name=soci-demo"})
                return bool(pods) and all(p["status"].get("phase") == "Running" for p in pods)

            _wait("both SOCI nodes Ready", nodes_ready, 1200)
            _wait("the demo pod Running", demo_running, 900)
            demo_pods = {f"default/{p['metadata']['name']}" for p in api.list_all("/api/v1/pods", rbac.LIST_PODS, {"labelSelector": "app.kubernetes.io/name=soci-demo"})}
        r = subprocess.run([sys.executable, "-m", "soci_component", "verify", "--stack", name, "--json"], cwd=work, capture_output=True, text=True, timeout=600,
                           env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, check=False)
        print(r.stderr[-3000:])
        doc = json.loads(r.stdout)
        print(json.dumps(doc, indent=1)[-20000:])
        assert r.returncode == 0 and doc["passed"], doc
        group = next(g for g in doc["groups"] if g["key"] == "nodeGroups.lazy")
        assert len(group["nodes"]) >= 2
        demo = [c for n in group["nodes"] for c in n["containers"] if c["pod"] in demo_pods]
        assert demo and all(c["loading"] == "lazy" for c in demo), demo
    finally:
        s.destroy(on_output=print)
        s.workspace.remove_stack(name)
