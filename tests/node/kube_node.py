"""The default pin booted under systemd and registered with a real API server: what ``verify`` runs against in the box.

The node group is the dev stack's (``stacks/Pulumi.dev.yaml`` ``nodeGroups[0]``: AL2023 v20260714 — containerd 2.2.4,
Kubernetes 1.33 — lazy, ECR credential helper, the AMI's SOCI, v1 indexes) with ``tuning.metricsAddress: 0.0.0.0:9464``;
its user data is the component's, for a cluster whose endpoint and CA are the box's API server (``node/kube_api.py``:
etcd, kube-apiserver, kube-controller-manager, started in the box's network namespace). Everything of ``node/boot.py``
runs as there (systemd, nodeadm's config and run phases, our shell part, moto for ECR tokens, the TLS registry under
ECR names, the IMDS mock), plus what lets the kubelet register and the API server reach it. What stands in:

- **nodeadm's containerd phase.** The proxy's only nodeadm (2024) predates containerd 2: its template is schema v2,
  and its run phase looks for ``sandbox_image =`` in ``containerd config dump``, which 2.x no longer prints. Run
  outside CI, nodeadm v20260714 writes exactly the containerd config our offline view predicts for every v20260714
  scenario, so the box writes that file (the plan's ``/etc/containerd/config.toml``, plus the box's one containerd
  deviation, ``restrict_oom_score_adj``) in nodeadm's config phase, and runs nodeadm for the kubelet only
  (``--daemon kubelet``, both phases; the kubelet's unit starts containerd, which requires SOCI). v20260714's nodeadm
  pulls no sandbox image: the AMI caches it (``/etc/eks/pause.tar``) and our kubelet drop-in imports it into SOCI.
- **the AMI's files** the v20260714 containerd config names: ``/etc/containerd/base-runtime-spec.json`` (containerd
  2.2.4's own default spec, ``ctr oci spec``), runc at ``/usr/sbin/runc``, the pause image tarball.
- **EKS's authenticator.** nodeadm's kubelet kubeconfig runs ``aws eks get-token``; a wrapper in front of the AWS CLI
  answers it with a static token the API server maps to ``system:node:<name>`` in ``system:nodes`` (EKS maps the
  node role through its access entry). Every other ``aws`` call goes to the real CLI.
- **EKS's CSR approver.** nodeadm sets ``serverTLSBootstrap``: the test approves the kubelet's serving certificate
  request, the controller-manager signs it with the cluster CA.
- **the VPC CNI.** A network config without a plugin (every pod here uses the host network), so containerd reports
  the network ready and the node turns Ready.
- ``/etc/os-release`` is AL2023's (the kubelet reports it as the node's OS image), and the node carries
  ``eks.amazonaws.com/nodegroup`` from a NodeConfig part of the test's (EKS's label on nodes of its own AMIs).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from soci_component import pipeline
from soci_component.config import load_stack_file
from soci_component.render import render
from soci_component.render.containerd import merge
from soci_component.render.paths import CONTAINERD_CONFIG, PAUSE_TAR
from soci_component.render.types import Secrets
from soci_component.spec import NodeGroupSpec
from soci_component.verify import rbac
from tests.node import al2023
from tests.node.boot import BINARIES, ECR_HOST, INSTANCE_ID, KERNEL, MAC, NODE_IP, TOKEN_PASSWORD, VENV, containerd_unit, imds_answers, until
from tests.node.images import FileSpec, RegistryClient, build, random_layers
from tests.node.kube_api import ControlPlane, control_plane
from tests.node.lazy import Published, add_image, publish
from tests.node.systemd_box import SystemdBox
from tests.support.daemons import Process, daemon
from tests.support.moto_server import PLACEHOLDER_KEYS, moto_server
from tests.support.pause_image import pause_archive
from tests.support.scenarios import CLUSTER

REPO = Path(__file__).resolve().parents[2]
DEV_STACK = REPO / "stacks" / "Pulumi.dev.yaml"
NODE_NAME = "ip-10-0-0-10.us-west-2.compute.internal"
METRICS = "0.0.0.0:9464"
EKS_NODE_GROUP = "soci-dev-lazy-node-group-0a1b2c3"
"""What Pulumi would name the dev stack's EKS node group (``soci-dev-lazy-node-group`` + 7 hex characters)."""
BOX_CONTAINERD_V3 = '[plugins."io.containerd.cri.v1.runtime"]\nrestrict_oom_score_adj = true\n'
"""The box's containerd deviation (see ``al2023.BOX_CONTAINERD``) in containerd 2's schema."""
CONTAINERD_FILE = "/usr/lib/soci-eks-box/containerd-v20260714.toml"
NODEADM_CONFIG_DROPIN = f"[Service]\nExecStart=\nExecStart=/usr/bin/nodeadm init --skip run --daemon kubelet\nExecStartPost=/usr/bin/install -m 0644 -D {CONTAINERD_FILE} {CONTAINERD_CONFIG}\n"
NODEADM_RUN_DROPIN = "[Service]\nExecStart=\nExecStart=/usr/bin/nodeadm init --skip config --daemon kubelet\n"
AWS_WRAPPER = """#!/bin/sh
# box: EKS's authenticator. `aws eks get-token` (the kubelet's kubeconfig, from nodeadm) gets the node's static token.
if [ "$1" = eks ] && [ "$2" = get-token ]; then
    printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"%s"}}\\n' "$(cat /etc/soci-eks-box/node-token)"
    exit 0
fi
exec /usr/lib/soci-eks-box/aws "$@"
"""
CNI_CONFLIST = json.dumps({"cniVersion": "1.0.0", "name": "box", "plugins": [{"type": "loopback"}]})
USERS = ("verify", "no-node-proxy")
"""Users with static tokens on the box's API server: an operator with verify's ClusterRole, one with less."""
OS_RELEASE = 'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\nPRETTY_NAME="Amazon Linux 2023.8.20260710"\n'


def dev_group() -> NodeGroupSpec:
    """The dev stack's node group, with SOCI's metrics on."""
    g = load_stack_file(DEV_STACK).node_groups[0]
    return replace(g, tuning=replace(g.tuning, metrics_address=METRICS))


def stack_yaml(**group: Any) -> str:
    """The dev stack file with the node group's ``tuning.metricsAddress`` set, ``group`` keys replaced (a ``tuning``
    given replaces the group's, with the metrics address added)."""
    doc = yaml.safe_load(DEV_STACK.read_text())
    g = doc["config"]["soci-eks:nodeGroups"][0]
    g.update(group)
    g.setdefault("tuning", {})["metricsAddress"] = METRICS
    return yaml.safe_dump(doc)


@dataclass
class KubeNode:
    box: SystemdBox
    cp: ControlPlane
    pub: Published
    plain: str
    """An image pushed without any SOCI index (pulled whole on a lazy node)."""
    second: str
    """Another indexed image, not yet pulled."""
    moto_endpoint: str
    stack: ExitStack
    tokens: dict[str, str]
    """Static tokens of the users the API server knows, by user name (each gets its RBAC from :meth:`grant`)."""

    def path(self, path: str) -> Path:
        assert self.box.init_pid is not None
        return Path(f"/proc/{self.box.init_pid}/root{path}")

    def api(self, method: str, path: str, body: Any = None, *, token: str | None = None) -> Any:
        with self.box.net():
            status, out = self.cp.request(method, path, body, token=token)
        if status >= 300:
            raise AssertionError(f"{method} {path}: {status} {out}")
        return out

    def node(self) -> dict[str, Any]:
        return self.api("GET", f"/api/v1/nodes/{NODE_NAME}")

    def ready(self) -> bool:
        with self.box.net():
            status, node = self.cp.request("GET", f"/api/v1/nodes/{NODE_NAME}")
        conds = {c["type"]: c["status"] for c in (node.get("status", {}).get("conditions") or [])} if status == 200 else {}
        return conds.get("Ready") == "True"

    def kubelet_answers(self) -> bool:
        with self.box.net():
            return self.cp.request("GET", f"/api/v1/nodes/{NODE_NAME}/proxy/configz", timeout=10)[0] == 200

    def approve_serving_csrs(self) -> int:
        """Approve the node's pending kubelet-serving certificate requests (EKS approves them); returns how many."""
        done = 0
        for csr in self.api("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests")["items"]:
            spec, conds = csr["spec"], (csr.get("status") or {}).get("conditions") or []
            if spec.get("signerName") == "kubernetes.io/kubelet-serving" and spec.get("username") == f"system:node:{NODE_NAME}" and not conds:
                csr.setdefault("status", {})["conditions"] = [{"type": "Approved", "status": "True", "reason": "SociEksBox", "message": "the box approves its node"}]
                self.api("PUT", f"/apis/certificates.k8s.io/v1/certificatesigningrequests/{csr['metadata']['name']}/approval", csr)
                done += 1
        return done

    def run_pod(self, name: str, image: str, timeout: float = 180) -> dict[str, Any]:
        """A host-network pod on the node (no scheduler here: ``nodeName`` set), running ``pause`` from its image."""
        self.api("POST", "/api/v1/namespaces/default/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": NODE_NAME, "hostNetwork": True, "automountServiceAccountToken": False, "tolerations": [{"operator": "Exists"}],
                     "containers": [{"name": "app", "image": image, "command": ["/pause"]}]}})

        until(f"pod {name} running", lambda: self.pod_running(name), timeout)
        return self.api("GET", f"/api/v1/namespaces/default/pods/{name}")

    def pod_running(self, name: str) -> bool:
        """Whether the API server has the pod's container running (as the kubelet last reported it)."""
        pod = self.api("GET", f"/api/v1/namespaces/default/pods/{name}")
        return any("running" in (cs.get("state") or {}) for cs in (pod.get("status") or {}).get("containerStatuses") or [])

    def settle(self, pods: tuple[str, ...] = ("lazy-app",)) -> None:
        """After a kubelet or containerd restart: the kubelet answers through the API server again, and the node's pods
        are still reported running (a node that evicted or rejected them fails here, not in a later test)."""
        until("the kubelet answers through the API server again", self.kubelet_answers, 120)
        for name in pods:
            until(f"pod {name} reported running again", lambda n=name: self.pod_running(n), 120)

    def state(self) -> str:
        """What a failed test needs to see: the node's conditions, each pod's phase and container states as the API
        server has them, the runtime's containers and the kubelet's and containerd's last journal lines."""
        out = []
        with contextlib.suppress(Exception):
            conds = {c["type"]: c["status"] for c in self.node()["status"].get("conditions") or []}
            out.append(f"node conditions: {conds}")
        with contextlib.suppress(Exception):
            for pod in self.api("GET", "/api/v1/namespaces/default/pods")["items"]:
                st = pod.get("status") or {}
                out.append(f"pod {pod['metadata']['name']}: phase={st.get('phase')} containerStatuses={json.dumps(st.get('containerStatuses'))}")
        for cmd in (("ctr", "-n", "k8s.io", "tasks", "ls"),
                    ("journalctl", "-u", "kubelet", "-u", "containerd", "-u", "soci-snapshotter", "--no-pager", "-o", "short-monotonic", "-n", "150")):
            with contextlib.suppress(Exception):
                r = self.box.run(*cmd, timeout=60)
                out.append(f"$ {' '.join(cmd)}\n{r.stdout[-12000:]}{r.stderr[-2000:]}")
        return "\n".join(out)

    def patch_labels(self, labels: dict[str, str | None]) -> None:
        with self.box.net():
            import urllib.request

            body = json.dumps({"metadata": {"labels": labels}}).encode()
            req = urllib.request.Request(f"{self.cp.url}/api/v1/nodes/{NODE_NAME}", data=body, method="PATCH",
                                         headers={"Authorization": f"Bearer {self.cp.admin_token}", "Content-Type": "application/merge-patch+json"})
            import ssl

            with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=str(self.cp.tls.ca)), timeout=30) as r:
                assert r.status == 200

    def grant(self, name: str, rules: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> str:
        """Bind user ``name`` (one of :data:`USERS`) to a ClusterRole of ``rules`` (verify's own role, or less); returns its token."""
        token = self.tokens[name]
        role = rbac.cluster_role(f"soci-eks-verify-{name}")
        role["rules"] = [dict(r) for r in rules]
        self.api("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", role)
        self.api("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", rbac.cluster_role_binding(f"soci-eks-verify-{name}", role["metadata"]["name"], users=[name]))
        return token

    def verify(self, token: str, *args: str, stack: str | None = None, timeout: float = 120) -> tuple[int, dict[str, Any], str]:
        """``python -m soci_component verify --json`` run on the node's network as ``token`` (a kubeconfig with it),
        against ``stack`` (default: the dev stack with metrics on); returns (exit code, JSON document, stderr)."""
        run = Path(f"/run/verify-{secrets.token_hex(4)}")
        host = self.path(str(run))
        host.mkdir(mode=0o700)
        (host / "kubeconfig").write_text(self.cp.kubeconfig(token))
        (host / "stack.yaml").write_text(stack or stack_yaml())
        (host / "docker.json").write_text("{}")
        env = {"HOME": "/root", "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1", "AWS_REGION": CLUSTER.region, "AWS_ENDPOINT_URL_ECR": self.moto_endpoint,
               **PLACEHOLDER_KEYS}
        r = self.box.run(str(VENV / "bin" / "python"), "-m", "soci_component", "verify", "--config", f"{run}/stack.yaml", "--kubeconfig", f"{run}/kubeconfig",
                         "--docker-config", f"{run}/docker.json", "--json", *args, env=env, timeout=timeout)
        try:
            doc = json.loads(r.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"verify printed no JSON (exit {r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}") from None
        return r.returncode, doc, r.stderr

    def restart_containerd_with(self, config: str) -> None:
        """Replace containerd's config and restart it (systemd restarts the kubelet, which requires it); wait for the kubelet."""
        self.path(CONTAINERD_CONFIG).write_text(config)
        self.box.systemctl("restart", "containerd.service", check=True, timeout=120)
        self.settle()


def _seed(box: SystemdBox, user_data: bytes, containerd_config: str, node_token: str) -> None:
    ctd = daemon("containerd-2")
    for name in ("containerd", "ctr", "containerd-shim-runc-v2"):
        box.seed_link(f"/usr/bin/{name}", str(ctd.bin(name)))
    for where in ("/usr/bin/runc", "/usr/sbin/runc"):
        box.seed_link(where, str(daemon("runc").bin("runc")))
    box.seed_link("/usr/bin/soci-snapshotter-grpc", str(daemon("soci").bin("soci-snapshotter-grpc")))
    box.seed_link("/usr/bin/nodeadm", str(daemon("nodeadm-20240229").bin("nodeadm")))
    box.seed_link("/usr/bin/kubelet", str(daemon("kubelet-1.33").bin("kubelet")))
    box.seed_link("/etc/eks/image-credential-provider/ecr-credential-provider", str(daemon("ecr-credential-provider-1.33").bin("ecr-credential-provider")))
    box.seed_link("/usr/bin/docker-credential-ecr-login", str(daemon("ecr-login").bin("docker-credential-ecr-login")))
    box.seed_link("/usr/lib/soci-eks-box/aws", str(VENV / "bin" / "aws"))
    box.seed("/usr/bin/aws", AWS_WRAPPER, 0o755)
    box.seed("/etc/soci-eks-box/node-token", node_token, 0o600)
    box.seed("/usr/lib/systemd/system/containerd.service", containerd_unit("containerd-2"))
    box.seed("/etc/systemd/system/containerd.service.d/00-runtime-slice.conf", al2023.CONTAINERD_RUNTIME_SLICE)
    units = {"kubelet.service": al2023.KUBELET_SERVICE, "nodeadm-config.service": al2023.NODEADM_CONFIG_SERVICE, "nodeadm-run.service": al2023.NODEADM_RUN_SERVICE,
             "runtime.slice": al2023.RUNTIME_SLICE, "soci-snapshotter.service": al2023.AMI_SOCI_SERVICE, "soci-snapshotter.socket": al2023.AMI_SOCI_SOCKET,
             "cloud-final.service": al2023.CLOUD_FINAL_SERVICE}
    for name, text in units.items():
        box.seed(f"/etc/systemd/system/{name}", text)
    for name in ("nodeadm-config.service", "nodeadm-run.service", "cloud-final.service"):
        box.enable(name)
    box.enable("soci-snapshotter.socket", "sockets.target")
    box.seed(al2023.CLOUD_FINAL_SCRIPT_PATH, al2023.CLOUD_FINAL_SCRIPT, 0o755)
    box.seed("/etc/systemd/system/nodeadm-config.service.d/90-box-containerd.conf", NODEADM_CONFIG_DROPIN)
    box.seed("/etc/systemd/system/nodeadm-run.service.d/90-box-kubelet-only.conf", NODEADM_RUN_DROPIN)
    box.seed(CONTAINERD_FILE, containerd_config)
    spec = subprocess.run([str(ctd.bin("ctr")), "oci", "spec"], capture_output=True, text=True, check=True).stdout
    box.seed("/etc/containerd/base-runtime-spec.json", spec)
    box.seed(PAUSE_TAR, pause_archive(daemon("pause").bin("pause").read_bytes())[0])
    box.seed("/etc/cni/net.d/10-box.conflist", CNI_CONFLIST)
    box.seed("/etc/os-release", OS_RELEASE)


@contextlib.contextmanager
def kube_node(base: Path) -> Iterator[KubeNode]:
    """Publish the images, start moto, the control plane and the IMDS mock in the box's network, seed the AMI, boot,
    approve the kubelet's serving certificate; yield once the node is Ready and its kubelet answers through the API server."""
    pause = daemon("pause").bin("pause").read_bytes()
    # verify runs inside the box from this checkout: shown at its own path like the binaries (a clone under /tmp is
    # hidden by the box's own /tmp otherwise)
    box = SystemdBox(base / "box", binds=(*BINARIES, REPO / "soci_component"), proc_sys=KERNEL, addresses=(NODE_IP,))
    node_token = secrets.token_hex(24)
    tokens = {name: secrets.token_hex(16) for name in USERS}
    with ExitStack() as stack:
        stack.callback(box.close)
        with box.net():
            moto_endpoint, _moto = stack.enter_context(moto_server(base, account=CLUSTER.account_id))
            users = ((node_token, f"system:node:{NODE_NAME}", ("system:nodes",)), *((t, name, ()) for name, t in tokens.items()))
            cp = stack.enter_context(control_plane(base / "cp", extra_tokens=users, kubelets=True))
            pause_file = (FileSpec("pause", data=pause, mode=0o755),)
            pub = publish(base / "published", layers_mib=(24, 16), name="verify", host=ECR_HOST, port=443, user="AWS", password=TOKEN_PASSWORD, base_files=pause_file)
            stack.callback(pub.registry.stop)
            second, _ = add_image(pub, base / "second", "soci-eks/second", layers_mib=(14,), seed=11, user="AWS", password=TOKEN_PASSWORD, base_files=pause_file)
            plain = build(random_layers((14,), seed=23, base_files=pause_file), name="plain-app")
            RegistryClient(f"https://127.0.0.1:{pub.registry.port}", user="AWS", password=TOKEN_PASSWORD, cafile=pub.tls.ca).push_image(plain, "soci-eks/plain-app", "v1")
            spec = dev_group()
            cluster = replace(CLUSTER, name="soci-dev", endpoint=cp.url, certificate_authority=cp.ca_data)
            plan = pipeline.plan_node(spec)
            rendered = render(plan, cluster, Secrets()).raw_user_data
            extra = ("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    flags:\n"
                     f"      - --node-labels=eks.amazonaws.com/nodegroup={EKS_NODE_GROUP}\n")
            user_data = rendered.replace(b"\n--//--", b"\n--//\nContent-Type: application/node.eks.aws\n\n" + extra.encode() + b"\n--//--")
            cfg = base / "imds.json"
            cfg.write_text(al2023.dumps(al2023.imds_mock_config(user_data, instance_id=INSTANCE_ID, region=CLUSTER.region, az=f"{CLUSTER.region}a",
                                                                local_ipv4=NODE_IP, mac=MAC, instance_type="m7i.xlarge")))
            imds = Process("ec2-metadata-mock", [daemon("ec2-metadata-mock").bin("ec2-metadata-mock"), "-c", cfg, "-n", "169.254.169.254", "-p", "80", "-I"],
                           env={"PATH": "/usr/bin:/bin", "HOME": str(base)}, log=base / "imds.log")
            imds.start()
            stack.callback(imds.stop)
            imds.wait_until(imds_answers, "the mock IMDS on 169.254.169.254:80", 30)
        containerd = merge(next(f.content for f in plan.files if f.path == CONTAINERD_CONFIG), BOX_CONTAINERD_V3)
        bundle = Path("/etc/ssl/certs/ca-certificates.crt").read_bytes() + pub.tls.ca.read_bytes()
        box.seed("/etc/ssl/certs/ca-certificates.crt", bundle)
        box.seed("/etc/hosts", f"127.0.0.1 localhost\n::1 localhost\n127.0.0.1 {ECR_HOST}\n")
        box.seed("/etc/systemd/system.conf.d/50-box-aws.conf", "[Manager]\nDefaultEnvironment=" + " ".join(
            f"{k}={v}" for k, v in {**PLACEHOLDER_KEYS, "AWS_ENDPOINT_URL_ECR": moto_endpoint}.items()) + "\n")
        _seed(box, user_data, containerd, node_token)
        box.boot(timeout=300)
        n = KubeNode(box, cp, pub, f"{ECR_HOST}/soci-eks/plain-app:v1", second, moto_endpoint, stack, tokens)
        deadline = time.monotonic() + 180
        while not (n.ready() and n.approve_serving_csrs() >= 0 and n.kubelet_answers()):
            if time.monotonic() > deadline:
                journal = box.run("journalctl", "-u", "kubelet", "-u", "nodeadm-run", "-u", "nodeadm-config", "--no-pager", "-o", "cat", timeout=60).stdout
                raise AssertionError(f"the node did not register, turn Ready and serve through the API server in 180 s; journal:\n{journal[-8000:]}")
            time.sleep(1)
        yield n


__all__ = ["DEV_STACK", "EKS_NODE_GROUP", "METRICS", "NODE_NAME", "USERS", "KubeNode", "dev_group", "kube_node", "stack_yaml"]
