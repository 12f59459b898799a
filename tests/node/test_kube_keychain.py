"""SOCI's kubeconfig keychain against a real API server, with the RBAC the component creates.

A control plane of Debian's etcd 3.5 and kube-apiserver/kube-controller-manager 1.33 (built like the
kubelet; ``node/kube_api.py``) on loopback. In it, as the admin, the objects of
``keychain_identity(...).objects(...)`` — the pure function the component's Pulumi code builds its
ServiceAccount, ClusterRole, ClusterRoleBinding and token Secret from. The controller-manager's token
controller fills the token Secret; ``token_from_secret_data`` (what the component puts into Secrets
Manager) reads it; moto's Secrets Manager holds it; the rendered boot script's own ``put``/``secret``/
``add_token`` (real AWS CLI, bash as written) write SOCI's kubeconfig, rendered for this API server's
URL and CA as the component renders it for an EKS cluster's endpoint and CA. Then SOCI 0.15 and
containerd 2.2 run the rendered configs of ``c22-lazy-kube-release`` (no docker config, no CRI
keychain: the kubeconfig keychain is SOCI's only credential source).

What SOCI 0.15 does (github.com/awslabs/soci-snapshotter@v0.15.0, service/keychain/kubeconfig/kubeconfig.go):
an informer lists and watches secrets in all namespaces with ``fieldSelector=type=kubernetes.io/dockerconfigjson``
(``startSyncSecrets``), parses each one's ``.dockerconfigjson`` as a docker config file
(``processNextItem``), and answers a registry host from those files' ``auths`` (``credentials``). So:
a pull secret created after SOCI started reaches it through the watch; an ``Opaque`` secret with the
same data is filtered out by the API server and never reaches SOCI.

Found here: SOCI keeps its first SOCI-index fetch per image manifest digest for the life of the process,
a failure included (fs/fs.go: ``sociContext.Init`` runs once per digest, ``getSociContext``; the error is
``cachedErr``). An image pulled before its pull secret existed therefore stays non-lazy (containerd
pulls it whole, nothing lost) until SOCI restarts, even after the image is removed; the test pulls a
second image before the secret and pins that.

Deviations from a node: the API server is on 127.0.0.1 with a test CA; the kubelet's part is the CRI
pull with the registry's credentials (what it sends from a pod's imagePullSecrets); Secrets Manager is
moto with placeholder keys.
"""

from __future__ import annotations

import base64
import email
import json
import re
import shlex
import subprocess
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from soci_component.components.keychain import keychain_identity, token_from_secret_data
from soci_component.render import RenderedNode, render
from soci_component.render.paths import DOCKER_CONFIG, SOCI_CONFIG, SOCI_KUBECONFIG
from soci_component.render.types import ClusterInfo, Secrets
from tests.node.images import MiB
from tests.node.kube_api import ControlPlane, control_plane, field_selector, wait_for
from tests.node.lazy import USER, Published, add_image, lazy_node
from tests.support.moto_server import PLACEHOLDER_KEYS, moto_server
from tests.support.scenarios import CLUSTER, SCENARIOS

REPO = Path(__file__).resolve().parents[2]
SCENARIO = "c22-lazy-kube-release"
REGION = "us-west-2"
NAMES = {"service_account": "kube-soci-k7x2q", "role": "kube-soci-secret-reader-p9m4d", "binding": "kube-soci-secret-reader-w3n8f", "token": "kube-soci-token-r5t1v"}
"""Names as Pulumi auto-names the component's objects (``<resource name>-<random>``)."""
DOCKERCONFIG_SELECTOR = "type=kubernetes.io/dockerconfigjson"
BOOT_FUNCTIONS = ("log", "fail", "put", "secret", "add_token")
EARLY_REPO = "soci-eks/kube-early"


@dataclass
class Keychain:
    cp: ControlPlane
    token: str
    """The ServiceAccount's token, as the component copies it into Secrets Manager."""
    user: str
    """The ServiceAccount's user name: ``system:serviceaccount:<namespace>:<name>``."""


@pytest.fixture(scope="module")
def keychain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keychain]:
    with control_plane(tmp_path_factory.mktemp("control-plane")) as cp:
        ident = keychain_identity("node group", "kube")
        for obj in ident.objects(**NAMES):
            cp.create(obj)

        def filled() -> str | None:
            status, secret = cp.request("GET", f"/api/v1/namespaces/{ident.namespace}/secrets/{NAMES['token']}")
            assert status == 200, status
            return token_from_secret_data(secret["data"]) if (secret.get("data") or {}).get("token") else None

        token = wait_for("the token controller fills the ServiceAccount's token Secret", filled, 60)
        yield Keychain(cp, token, f"system:serviceaccount:{ident.namespace}:{NAMES['service_account']}")


# -- the ClusterRole grants what SOCI needs and nothing else ------------------------------------------------
def test_service_account_may_only_list_and_watch_secrets(keychain: Keychain) -> None:
    cp, token = keychain.cp, keychain.token
    # what SOCI's informer sends (all namespaces, its field selector)
    status, listed = cp.request("GET", "/api/v1/secrets?fieldSelector=" + DOCKERCONFIG_SELECTOR, token=token)
    assert status == 200 and listed["kind"] == "SecretList", status
    status, _ = cp.request("GET", "/api/v1/secrets?watch=1&timeoutSeconds=1&fieldSelector=" + DOCKERCONFIG_SELECTOR, token=token)
    assert status == 200
    # ...and nothing else: each of these is refused by RBAC (each GET answers 200 to the admin: the 403 is not a bad path)
    refused = [
        ("GET", f"/api/v1/namespaces/kube-system/secrets/{NAMES['token']}", None),  # get of one secret: not granted
        ("GET", "/api/v1/namespaces/default/configmaps", None),
        ("GET", "/api/v1/pods", None),
        ("POST", "/api/v1/namespaces/default/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "soci-may-not"}, "type": "Opaque"}),
        ("DELETE", f"/api/v1/namespaces/kube-system/secrets/{NAMES['token']}", None),
        ("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "soci-escalates"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
         "subjects": [{"kind": "User", "name": keychain.user}]}),
    ]
    for method, path, body in refused:
        status, out = cp.request(method, path, body, token=token)
        assert status == 403, (method, path, status)
        assert out["reason"] == "Forbidden" and keychain.user in out["message"], out
        if method == "GET":
            assert cp.request(method, path)[0] == 200, (method, path, "as the admin")
    # the token is the ServiceAccount's, checked by the API server (a wrong one is not anonymous, it is refused)
    assert cp.request("GET", "/api/v1/secrets", token=token[:-4] + "AAAA")[0] == 401


# -- a pull secret created after SOCI started is used for a lazy pull --------------------------------------
def test_pull_secret_created_after_soci_started_is_used_for_a_lazy_pull(keychain: Keychain, published: Published, tmp_path: Path) -> None:
    cp, pub, image = keychain.cp, published, published.image
    with moto_server(tmp_path) as (endpoint, _moto):
        sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=REGION, **{k.lower(): v for k, v in PLACEHOLDER_KEYS.items()})
        arn = sm.create_secret(Name="soci-eks/kube/kube-token", SecretString=keychain.token)["ARN"]
        cluster = ClusterInfo(name=CLUSTER.name, endpoint=cp.url, certificate_authority=cp.ca_data, service_cidr=CLUSTER.service_cidr, region=REGION, account_id=CLUSTER.account_id)
        b = render(SCENARIOS[SCENARIO].plan, cluster, Secrets(kubeconfig_token=arn))
        # SOCI's only credential source is the kubeconfig keychain
        soci_cfg = tomllib.loads(b.file(SOCI_CONFIG).content)
        assert soci_cfg["kubeconfig_keychain"] == {"enable_keychain": True, "kubeconfig_path": SOCI_KUBECONFIG}
        assert not soci_cfg.get("cri_keychain", {}).get("enable_keychain") and DOCKER_CONFIG not in b.paths
        # the node writes the kubeconfig before SOCI starts (boot script: put, add_token, then start_soci)
        kubeconfig = tmp_path / "node" / "fs" / SOCI_KUBECONFIG.lstrip("/")
        run_boot_kubeconfig(boot_script(b), kubeconfig, endpoint, tmp_path / "aws-home")
    written = json.loads(kubeconfig.read_text())
    assert written["clusters"][0]["cluster"] == {"server": cp.url, "certificate-authority-data": cp.ca_data}
    has_token = written["users"][0]["user"]["token"] == keychain.token  # a bool: pytest would print both sides of ==
    assert has_token, "the written kubeconfig does not carry the ServiceAccount's token"
    assert kubeconfig.stat().st_mode & 0o777 == 0o600

    ns = "team-a"
    cp.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    docker_config = json.dumps({"auths": {pub.registry.host: {"username": USER, "password": pub.password, "auth": base64.b64encode(f"{USER}:{pub.password}".encode()).decode()}}})
    data = {".dockerconfigjson": base64.b64encode(docker_config.encode()).decode()}

    # a second image with layers of its own (no snapshot shared with pub.image)
    early_ref, early = add_image(pub, tmp_path / "indexer", EARLY_REPO, layers_mib=(16,), seed=41, user=USER, password=pub.password,
                                 base_mib=11, marker=b"pulled before the secret\n")
    with lazy_node(tmp_path, pub, SCENARIO, rendered=b) as ln:
        assert ln.node.path(SOCI_KUBECONFIG) == kubeconfig
        # SOCI's informer is listing and watching, as the ServiceAccount, with its field selector
        wait_for("SOCI's watch of dockerconfigjson secrets, answered 200", lambda: [e for e in soci_requests(cp, keychain.user, "watch") if e["responseStatus"]["code"] == 200], 60)
        assert all(e["responseStatus"]["code"] == 200 for e in soci_requests(cp, keychain.user, "list")), soci_requests(cp, keychain.user, "list")

        # before: only an Opaque secret with the registry's credentials -> SOCI has none, containerd pulls the image whole
        cp.create({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "registry-opaque", "namespace": ns}, "data": data})
        time.sleep(3)  # the watch would deliver it within milliseconds (as it does the typed secret below)
        before = pub.log_offset()
        rc, out = ln.pull(early_ref)
        assert rc == 0, out
        assert ln.fuse_mounts() == [], "lazy without a pull secret"
        assert [e for e in ln.soci.log_problems() if "no basic auth credentials" in (e.get("error") or "") and early_ref in e["error"]], ln.soci.log_problems()
        assert pub.bytes_served(before) >= sum(layer.size for layer in early.layers), "every layer fetched in full"

        # after: the same data as a kubernetes.io/dockerconfigjson secret, created while SOCI runs
        cp.create({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson", "metadata": {"name": "registry-pull", "namespace": ns}, "data": data})
        time.sleep(3)
        before = pub.log_offset()
        rc, out = ln.pull(pub.ref)
        assert rc == 0, out
        mounts = ln.fuse_mounts()
        assert len(mounts) == len(image.layers), ln.soci.log_problems()
        assert {(fstype, source) for _, fstype, source in mounts} == {("fuse.rawBridge", "soci")}
        assert pub.bytes_served(before) < 0.05 * image.total_size, f"pull fetched {pub.bytes_served(before)} of {image.total_size} bytes"
        with ln.rootfs(image) as root:
            assert (root / "app/marker.txt").read_bytes() == image.file("app/marker.txt").content()
            big = image.file("data/layer2.bin")
            with open(root / big.path, "rb") as f:
                f.seek(5 * MiB + 17)
                assert f.read(64 * 1024) == big.range(5 * MiB + 17, 64 * 1024)

        # the image pulled before the secret existed stays non-lazy until SOCI restarts: SOCI 0.15 keeps the
        # first SOCI-index fetch result per image manifest digest, errors included (fs/fs.go: sociContext.Init,
        # fetchOnce + cachedErr, keyed by the digest in getSociContext)
        rc, out = ln.cri("remove", early_ref)
        assert rc == 0, out
        before = pub.log_offset()
        rc, out = ln.pull(early_ref)
        assert rc == 0, out
        assert len(ln.fuse_mounts()) == len(image.layers), "the early image's layers are not FUSE-mounted"
        assert pub.bytes_served(before) >= sum(layer.size for layer in early.layers), "every layer fetched in full again"

        # SOCI's requests: only list and watch of secrets, cluster-wide, with its selector
        mine = [e for e in cp.audit() if e.get("user", {}).get("username") == keychain.user and "soci" in e.get("userAgent", "").lower()]
        assert {(e["verb"], e["objectRef"]["resource"], e["objectRef"].get("namespace")) for e in mine} == {("list", "secrets", None), ("watch", "secrets", None)}, mine
        assert {field_selector(e["requestURI"]) for e in mine} == {DOCKERCONFIG_SELECTOR}
        assert not [e for e in ln.soci.log_problems() if e.get("level") in ("error", "fatal")], ln.soci.log_problems()
        soci_log = ln.soci.log_text()

    # no token or password in any log (SOCI's, the control plane's, the audit log, the registry's)
    logs = soci_log + cp.logs() + pub.log.read_text(errors="replace")
    leaked = [name for name, value in (("token", keychain.token), ("password", pub.password), ("dockerconfigjson", data[".dockerconfigjson"]),
                                       ("basic auth", base64.b64encode(f"{USER}:{pub.password}".encode()).decode())) if value in logs]
    assert leaked == [], f"in a log: {leaked}"


def soci_requests(cp: ControlPlane, user: str, verb: str) -> list[dict]:
    """Audit events of ``user``'s ``verb`` requests on secrets (the ResponseStarted/ResponseComplete stage, one per request)."""
    return [e for e in cp.audit() if e.get("user", {}).get("username") == user and e["verb"] == verb and e.get("objectRef", {}).get("resource") == "secrets"
            and e["stage"] == ("ResponseStarted" if verb == "watch" else "ResponseComplete") and "soci" in e.get("userAgent", "").lower()]


def boot_script(b: RenderedNode) -> str:
    msg = email.message_from_bytes(b.raw_user_data)
    parts = [p.get_payload(decode=True).decode() for p in msg.walk() if p.get_content_type() == "text/x-shellscript"]
    assert len(parts) == 1
    return parts[0]


def run_boot_kubeconfig(script: str, kubeconfig: Path, endpoint: str, home: Path) -> None:
    """Run the rendered script's kubeconfig steps with bash as written: its ``put`` of the kubeconfig and its
    ``add_token`` line, with its own functions, the path moved under the test's node, the real AWS CLI against moto."""
    funcs = []
    for name in BOOT_FUNCTIONS:
        m = re.search(rf"^{name}\(\) \{{ [^#\n]*; \}}$", script, re.M) or re.search(rf"^{name}\(\) \{{.*?^\}}$", script, re.M | re.S)
        assert m, f"no {name}() in the rendered boot script"
        funcs.append(m.group(0))
    put = re.search(rf"^put {re.escape(SOCI_KUBECONFIG)} 0600 <<'(EOF\d*)'\n.*?^\1$", script, re.M | re.S)
    add = re.search(r'^add_token "\$SOCI_KUBECONFIG" "\$REGION" (\S+)$', script, re.M)
    assert put and add, "the rendered script writes no kubeconfig"
    body = "\n".join([
        "set -eEuo pipefail", *funcs, f"SOCI_KUBECONFIG={shlex.quote(str(kubeconfig))}", f"REGION={REGION}",
        put.group(0).replace(f"put {SOCI_KUBECONFIG} ", 'put "$SOCI_KUBECONFIG" ', 1), add.group(0),
    ]) + "\n"
    env = {**PLACEHOLDER_KEYS, "AWS_DEFAULT_REGION": REGION, "PATH": f"{REPO / '.venv' / 'bin'}:/usr/bin:/bin", "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint, "HOME": str(home)}
    r = subprocess.run(["bash", "-c", body], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
