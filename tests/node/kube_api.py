"""A real Kubernetes control plane for tests, on loopback: Debian's etcd 3.5, and kube-apiserver and
kube-controller-manager 1.33 built from k8s.io/kubernetes like the kubelet (``scripts/build-go-daemons``).

- etcd: client and peer URLs on free 127.0.0.1 ports, data dir in the test's temp dir.
- kube-apiserver: HTTPS on a free 127.0.0.1 port with a serving certificate from the test CA
  (``daemons.make_tls``: SANs localhost, 127.0.0.1); ``--authorization-mode=Node,RBAC`` (as EKS);
  the admin is a static token of group ``system:masters`` (``--token-auth-file``); service-account
  tokens are verified with the test's RSA key (``--service-account-key-file``); every request is
  audited at level Metadata (no bodies, no headers) into ``audit.log``.
- kube-controller-manager: only the ``serviceaccount-token`` controller (what fills a
  ``kubernetes.io/service-account-token`` Secret with the legacy token the component copies into
  Secrets Manager), signing with the same key; no serving port, no leader election.
- for a node that registers (``node/kube_node.py``): more static tokens (the node's identity), a client
  certificate the API server presents to kubelets (bound to ``system:kubelet-api-admin``, as a cluster's
  API server is), kubelets reached at their ``InternalIP``, and the controller-manager's ``csrsigning``
  controller signing approved kubelet serving certificates with the test CA.

Every process is a ``daemons.Process`` (log in the temp dir, stopped by PID, also when start-up fails).
The admin token is random per run and never printed; :meth:`ControlPlane.request` takes any token.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.daemons import DaemonFailed, Process, Tls, daemon, free_port, make_tls

ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


@dataclass
class ControlPlane:
    url: str
    """``https://127.0.0.1:<port>``."""
    tls: Tls
    """The test CA (``tls.ca``) and the API server's serving certificate."""
    admin_token: str
    audit_log: Path
    processes: list[Process] = field(default_factory=list)
    kubelet_client_user: str | None = None
    """The user the API server is to kubelets (its client certificate's CN), when it has one."""

    @property
    def ca_data(self) -> str:
        """The CA as EKS reports a cluster's ``certificateAuthority.data``: base64 of the PEM."""
        return base64.b64encode(self.tls.ca.read_bytes()).decode()

    def request(self, method: str, path: str, body: Any = None, *, token: str | None = None, timeout: float = 30) -> tuple[int, Any]:
        """(status, decoded JSON body) of one REST call, as the admin unless ``token`` is given."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {token if token is not None else self.admin_token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        ctx = ssl.create_default_context(cafile=str(self.tls.ca))
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=timeout) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return status, raw.decode(errors="replace")

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """POST ``obj`` (as the admin) to its collection; returns what the server stored."""
        status, out = self.request("POST", collection_path(obj), obj)
        if status != 201:
            raise AssertionError(f"creating {obj['kind']} {obj['metadata'].get('name')}: {status} {_status_message(out)}")
        return out

    def audit(self) -> list[dict[str, Any]]:
        """Every audit event so far (level Metadata: who, verb, URI, response code; no bodies)."""
        if not self.audit_log.exists():
            return []
        return [json.loads(line) for line in self.audit_log.read_text().splitlines() if line.startswith("{")]

    def kubeconfig(self, token: str, user: str = "verify") -> str:
        """A kubeconfig (JSON is YAML) for this API server with the CA embedded, as ``token``."""
        return json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": user,
            "clusters": [{"name": "box", "cluster": {"server": self.url, "certificate-authority-data": self.ca_data}}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": user, "context": {"cluster": "box", "user": user}}],
        }, indent=1)

    def logs(self) -> str:
        """Every process log and the audit log, concatenated (to check that no secret leaked into them)."""
        return "\n".join(p.log_text() for p in self.processes) + "\n" + (self.audit_log.read_text() if self.audit_log.exists() else "")


def collection_path(obj: dict[str, Any]) -> str:
    """The REST collection of ``obj`` (the core v1 and rbac.authorization.k8s.io/v1 kinds used here)."""
    plural = {"Namespace": "namespaces", "ServiceAccount": "serviceaccounts", "Secret": "secrets", "ConfigMap": "configmaps", "ClusterRole": "clusterroles",
              "ClusterRoleBinding": "clusterrolebindings", "Pod": "pods"}[obj["kind"]]
    prefix = "/api/v1" if obj["apiVersion"] == "v1" else f"/apis/{obj['apiVersion']}"
    ns = obj["metadata"].get("namespace")
    return f"{prefix}/namespaces/{ns}/{plural}" if ns else f"{prefix}/{plural}"


def _status_message(out: Any) -> str:
    return out.get("message", "") if isinstance(out, dict) else str(out)[:500]


def _http_ok(url: str, ctx: ssl.SSLContext | None = None, headers: dict[str, str] | None = None) -> bool:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), context=ctx, timeout=2) as r:
            return r.status == 200
    except (OSError, urllib.error.URLError):
        return False


KUBELET_CLIENT = "kube-apiserver-kubelet-client"


def _client_cert(tls: Tls, directory: Path, cn: str) -> tuple[Path, Path]:
    """A client certificate for ``cn`` signed by the test CA (the kubelets' client CA)."""
    key, csr, cert, ext = (directory / n for n in (f"{cn}.key", f"{cn}.csr", f"{cn}.crt", f"{cn}.ext"))
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={cn}"], check=True, capture_output=True)
    ext.write_text("extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n")
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(tls.ca), "-CAkey", str(tls.ca.parent / "ca.key"), "-CAcreateserial",
                    "-out", str(cert), "-days", "2", "-extfile", str(ext)], check=True, capture_output=True)
    return cert, key


@contextlib.contextmanager
def control_plane(base: Path, *, timeout: float = 120, extra_tokens: tuple[tuple[str, str, tuple[str, ...]], ...] = (), kubelets: bool = False) -> Iterator[ControlPlane]:
    """Start etcd, kube-apiserver and kube-controller-manager under ``base``; yield once the API server's
    ``/readyz`` answers 200; stop all three by PID (reverse order), also when start-up fails.

    ``extra_tokens``: more static tokens ``(token, user, groups)``; ``kubelets``: for nodes that register (the API server's
    kubelet client certificate and RBAC, ``InternalIP`` first, CSR signing, the ``serviceaccount`` controller)."""
    base.mkdir(parents=True, exist_ok=True)
    tls = make_tls(base / "tls", names=["localhost", "kubernetes", "kubernetes.default.svc"], ips=["127.0.0.1"])
    sa_key, sa_pub = base / "sa.key", base / "sa.pub"
    subprocess.run(["openssl", "genrsa", "-out", str(sa_key), "2048"], check=True, capture_output=True)
    subprocess.run(["openssl", "rsa", "-in", str(sa_key), "-pubout", "-out", str(sa_pub)], check=True, capture_output=True)
    admin_token = secrets.token_hex(24)
    tokens = base / "tokens.csv"
    tokens.write_text(f'{admin_token},soci-eks-test-admin,soci-eks-test-admin,"system:masters"\n'
                      + "".join(f'{t},{user},{user},"{",".join(groups)}"\n' for t, user, groups in extra_tokens))
    tokens.chmod(0o600)
    policy = base / "audit-policy.json"  # JSON is YAML
    policy.write_text(json.dumps({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"], "rules": [{"level": "Metadata"}]}))
    audit_log = base / "audit.log"
    client_port, peer_port, api_port = free_port(), free_port(), free_port()
    while len({client_port, peer_port, api_port}) < 3:
        peer_port, api_port = free_port(), free_port()
    etcd_url, peer_url = f"http://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
    kubelet_args: list[str | Path] = []
    kcm_args: list[str | Path] = ["--controllers", "serviceaccount-token"]
    if kubelets:
        cert, key = _client_cert(tls, base / "tls", KUBELET_CLIENT)
        kubelet_args = ["--kubelet-client-certificate", cert, "--kubelet-client-key", key, "--kubelet-preferred-address-types", "InternalIP,Hostname"]
        kcm_args = ["--controllers", "serviceaccount-token,serviceaccount,csrsigning",
                    "--cluster-signing-cert-file", tls.ca, "--cluster-signing-key-file", tls.ca.parent / "ca.key"]
    etcd = Process("etcd " + daemon("etcd").version, [
        daemon("etcd").bin("etcd"), "--name", "soci-eks-test", "--data-dir", base / "etcd",
        "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
        "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
        "--initial-cluster", f"soci-eks-test={peer_url}", "--initial-cluster-state", "new", "--log-level", "warn",
    ], env=ENV, log=base / "etcd.log")
    apiserver = Process("kube-apiserver " + daemon("kube-apiserver-1.33").version, [
        daemon("kube-apiserver-1.33").bin("kube-apiserver"),
        "--etcd-servers", etcd_url,
        "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", str(api_port),
        "--tls-cert-file", tls.cert, "--tls-private-key-file", tls.key, "--cert-dir", base / "apiserver-certs",
        "--token-auth-file", tokens,
        "--authorization-mode", "Node,RBAC",
        "--service-account-issuer", "https://kubernetes.default.svc", "--service-account-key-file", sa_pub,
        "--service-account-signing-key-file", sa_key,
        "--service-cluster-ip-range", "10.96.0.0/16",
        "--audit-policy-file", policy, "--audit-log-path", audit_log, "--audit-log-format", "json",
        "--endpoint-reconciler-type", "none",
        *kubelet_args,
    ], env=ENV, log=base / "kube-apiserver.log")
    admin_kubeconfig = base / "admin.kubeconfig"
    admin_kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "admin",
        "clusters": [{"name": "test", "cluster": {"server": f"https://127.0.0.1:{api_port}", "certificate-authority": str(tls.ca)}}],
        "users": [{"name": "admin", "user": {"token": admin_token}}],
        "contexts": [{"name": "admin", "context": {"cluster": "test", "user": "admin"}}],
    }))
    admin_kubeconfig.chmod(0o600)
    kcm = Process("kube-controller-manager " + daemon("kube-controller-manager-1.33").version, [
        daemon("kube-controller-manager-1.33").bin("kube-controller-manager"),
        "--kubeconfig", admin_kubeconfig, *kcm_args,
        "--service-account-private-key-file", sa_key, "--root-ca-file", tls.ca,
        "--leader-elect=false", "--secure-port", "0",
    ], env=ENV, log=base / "kube-controller-manager.log")
    cp = ControlPlane(f"https://127.0.0.1:{api_port}", tls, admin_token, audit_log, [etcd, apiserver, kcm], KUBELET_CLIENT if kubelets else None)
    try:
        etcd.start()
        etcd.wait_until(lambda: _http_ok(f"{etcd_url}/health"), f"GET {etcd_url}/health answered 200", 30)
        apiserver.start()
        ctx = ssl.create_default_context(cafile=str(tls.ca))
        apiserver.wait_until(lambda: _http_ok(f"{cp.url}/readyz", ctx, {"Authorization": f"Bearer {admin_token}"}), f"GET {cp.url}/readyz answered 200", timeout)
        if kubelets:  # what a cluster's API server may do on kubelets (the bootstrap role kubeadm and EKS bind it to)
            cp.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "soci-eks-test:apiserver-kubelet"},
                       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:kubelet-api-admin"},
                       "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": KUBELET_CLIENT}]})
        kcm.start()
        time.sleep(0.5)
        if not kcm.running():
            raise DaemonFailed(f"kube-controller-manager exited at start; log {kcm.log}:\n{kcm.log_tail()}")
        yield cp
    finally:
        for p in reversed(cp.processes):
            p.stop()


def wait_for(what: str, check: Any, timeout: float = 60, interval: float = 0.2) -> Any:
    """Poll ``check()`` until it returns something truthy (returned); AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout:.0f} s")
        time.sleep(interval)


def field_selector(uri: str) -> str | None:
    """The ``fieldSelector`` of a request URI (decoded), None if it has none."""
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)
    return q["fieldSelector"][0] if "fieldSelector" in q else None


__all__ = ["ControlPlane", "collection_path", "control_plane", "field_selector", "wait_for"]
