"""The HTTPS client against a real TLS server that answers as the API server does: each failure is told apart (expired
credentials, a missing RBAC verb, a kubelet behind the node proxy that cannot be reached or that answers with an
error, no connection, a CA that does not match), lists are read page by page, exec credentials are renewed when they
expire."""

from __future__ import annotations

import base64
import json
import ssl
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from soci_component.verify import rbac
from soci_component.verify.client import KubeClient
from soci_component.verify.errors import ErrorKind, KubeError
from tests.support.daemons import free_port, make_tls

SEEN: list[tuple[str, str, str]] = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def send(self, status: int, body: object, ctype: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        SEEN.append(("GET", self.path, self.headers.get("Authorization", "")))
        p = self.path
        if self.headers.get("Authorization") == "Bearer tok-old-0123":
            return self.send(401, {"kind": "Status", "message": "Unauthorized"})
        if p.startswith("/api/v1/pods"):
            return self.send(403, {"kind": "Status", "message": 'pods is forbidden: User "dev" cannot list resource "pods" in API group "" at the cluster scope'})
        if p == "/api/v1/nodes/n1/proxy/configz":
            return self.send(503, {"kind": "Status", "message": "error trying to reach service: dial tcp 10.0.0.10:10250: connect: connection refused"})
        if p == "/api/v1/nodes/n1/proxy/stats/summary":
            return self.send(500, "Internal Error: failed to get imageFs stats: no such file or directory\n", "text/plain")
        if p.startswith("/api/v1/nodes?"):
            page = 2 if "continue=next" in p else 1
            return self.send(200, {"items": [{"metadata": {"name": f"n{page}"}}], "metadata": {"continue": "next" if page == 1 else ""}})
        return self.send(404, {"kind": "Status", "message": "not found"})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    base = tmp_path_factory.mktemp("api")
    tls = make_tls(base / "tls")
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(tls.cert), str(tls.key))
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}", tls.ca
    finally:
        httpd.shutdown()
        httpd.server_close()


def client(tmp_path: Path, server: str, ca: Path, user: dict) -> KubeClient:
    kc = tmp_path / "kc"
    kc.write_text(yaml.safe_dump({"current-context": "x", "clusters": [{"name": "c", "cluster": {"server": server, "certificate-authority-data": base64.b64encode(ca.read_bytes()).decode()}}],
                                  "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}], "users": [{"name": "u", "user": user}]}))
    return KubeClient.from_kubeconfig(kc, env={"PATH": f"{tmp_path}:/usr/bin:/bin"})


def test_each_failure_is_told_apart(tmp_path: Path, server: tuple[str, Path]) -> None:
    with client(tmp_path, *server, {"token": "good"}) as c:
        with pytest.raises(KubeError) as e:
            c.list_all("/api/v1/pods", rbac.LIST_PODS)
        assert e.value.kind is ErrorKind.FORBIDDEN and e.value.access == rbac.LIST_PODS and e.value.message.startswith("RBAC: not allowed to list pods (")
        with pytest.raises(KubeError) as e:
            c.get_json(KubeClient.node_proxy("n1", "configz"), rbac.NODE_PROXY, proxy="the kubelet of node n1")
        assert e.value.kind is ErrorKind.PROXY and "could not reach the kubelet of node n1" in e.value.message and "connection refused" in e.value.message
        with pytest.raises(KubeError) as e:
            c.get_json(KubeClient.node_proxy("n1", "stats/summary"), rbac.NODE_PROXY, proxy="the kubelet of node n1")
        assert e.value.kind is ErrorKind.SERVER and e.value.message.startswith("the kubelet of node n1 answered 500: Internal Error: failed to get imageFs")
        assert [i["metadata"]["name"] for i in c.list_all("/api/v1/nodes", rbac.LIST_NODES, limit=1)] == ["n1", "n2"]
    assert SEEN[-1][2] == "Bearer good"
    with client(tmp_path, *server, {"token": "tok-old-0123"}) as c, pytest.raises(KubeError) as e:
        c.list_all("/api/v1/nodes", rbac.LIST_NODES)
    assert e.value.kind is ErrorKind.UNAUTHORIZED and "401 Unauthorized" in e.value.message and "aws sso login" in e.value.message
    assert "tok-old-0123" not in e.value.message


def test_insecure_skip_tls_verify_is_honoured(tmp_path: Path, server: tuple[str, Path]) -> None:
    kc = tmp_path / "kc"
    kc.write_text(yaml.safe_dump({"current-context": "x", "clusters": [{"name": "c", "cluster": {"server": server[0], "insecure-skip-tls-verify": True}}],
                                  "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}], "users": [{"name": "u", "user": {"token": "t"}}]}))
    with KubeClient.from_kubeconfig(kc) as c:
        assert [i["metadata"]["name"] for i in c.list_all("/api/v1/nodes", rbac.LIST_NODES, limit=1)] == ["n1", "n2"]


def test_no_connection_and_a_foreign_ca_are_their_own_errors(tmp_path: Path, server: tuple[str, Path]) -> None:
    with client(tmp_path, f"https://127.0.0.1:{free_port()}", server[1], {"token": "t"}) as c, pytest.raises(KubeError) as e:
        c.list_all("/api/v1/nodes", rbac.LIST_NODES)
    assert e.value.kind is ErrorKind.UNREACHABLE and "connection refused" in e.value.message
    other = make_tls(tmp_path / "other").ca
    with client(tmp_path, server[0], other, {"token": "t"}) as c, pytest.raises(KubeError) as e:
        c.list_all("/api/v1/nodes", rbac.LIST_NODES)
    assert e.value.kind is ErrorKind.TLS and "certificate-authority" in e.value.message


def test_exec_credentials_are_renewed_once_expired(tmp_path: Path, server: tuple[str, Path]) -> None:
    calls = tmp_path / "calls"
    script = tmp_path / "get-token"
    script.write_text(f"#!/bin/sh\necho x >> {calls}\nn=$(wc -l < {calls})\n"
                      'printf \'{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"tok-%s","expirationTimestamp":"2000-01-01T00:00:00Z"}}\' "$n"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    with client(tmp_path, *server, {"exec": {"command": "get-token", "apiVersion": "client.authentication.k8s.io/v1"}}) as c:
        c.list_all("/api/v1/nodes", rbac.LIST_NODES, limit=1)
    assert {auth for _, _, auth in SEEN[-2:]} == {"Bearer tok-1", "Bearer tok-2"}, "an expired token is not used twice"
