"""The Kubernetes API over plain HTTPS (urllib3): the handful of GETs and one POST verify makes.

Why not the ``kubernetes`` Python client: verify needs six read endpoints (nodes, pods, events, and the kubelet's
``/configz``, ``/stats/summary`` and SOCI's ``/metrics`` through the API server's node proxy) and
SelfSubjectAccessReviews. The official client would add ~25 MB of generated models and four more dependencies to
every program that installs this component, its node-proxy helpers return the body re-encoded as a Python string,
and its exceptions flatten the cases a user must tell apart (expired credentials, a missing RBAC verb, a kubelet the
proxy cannot reach). urllib3 is already what ``images check`` uses; each error here says which case it is.

The HTTP client (urllib3) is imported when a client is made, so importing the package stays cheap.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import tempfile
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from . import kubeconfig
from .errors import Access, ErrorKind, KubeError
from .kubeconfig import Secret, Target

TIMEOUT = (5.0, 30.0)
"""(connect, read) seconds."""
MAX_BODY = 64 << 20


class KubeClient:
    """One API server, as one kubeconfig context says. Use as a context manager (temporary key files are removed)."""

    def __init__(self, target: Target, env: Mapping[str, str] | None = None) -> None:
        import urllib3

        self.target = target
        self.server = target.server
        self._env = env
        self._tmp = tempfile.TemporaryDirectory(prefix="soci-verify-")
        self._secret: Secret = target.static
        self._pool_secret: Secret | None = None
        self._urllib3 = urllib3
        self._pool: Any = None
        self.requests = 0

    @classmethod
    def from_kubeconfig(cls, path: Path | None = None, context: str | None = None, env: Mapping[str, str] | None = None) -> KubeClient:
        return cls(kubeconfig.load(path, context, env), env)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.clear()
        self._tmp.cleanup()

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- credentials and TLS
    def _credentials(self) -> Secret:
        plugin = self.target.exec_plugin
        if plugin is None:
            return self._secret
        if self._secret is self.target.static or (self._secret.expires is not None and self._secret.expires - 30 < time.time()):
            self._secret = kubeconfig.run_exec(plugin, self._env)
        return self._secret

    def _ssl(self, secret: Secret) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if self.target.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.target.ca_pem:
            try:
                ctx.load_verify_locations(cadata=self.target.ca_pem.decode())
            except (ssl.SSLError, ValueError, UnicodeDecodeError):
                raise KubeError(ErrorKind.CONFIG, f"kubeconfig context {self.target.context!r}: the cluster's certificate-authority is not a PEM certificate") from None
        if secret.cert_pem:
            cert, key = Path(self._tmp.name) / "client.crt", Path(self._tmp.name) / "client.key"
            for p, data in ((cert, secret.cert_pem), (key, secret.key_pem)):
                p.touch(mode=0o600)
                p.write_bytes(data)
            try:
                ctx.load_cert_chain(str(cert), str(key))
            except ssl.SSLError:
                raise KubeError(ErrorKind.CONFIG, f"kubeconfig user {self.target.user!r}: the client certificate and key do not load (not PEM, or not a pair)") from None
            finally:
                cert.unlink(missing_ok=True)
                key.unlink(missing_ok=True)
        return ctx

    def _pool_for(self, secret: Secret) -> Any:
        if self._pool is None or self._pool_secret is not secret:
            if self._pool is not None:
                self._pool.clear()
            kw: dict[str, Any] = {"ssl_context": self._ssl(secret), "num_pools": 2, "maxsize": 4}
            if self.target.tls_server_name:
                kw["server_hostname"] = self.target.tls_server_name
            if self.target.insecure:
                kw["cert_reqs"] = "CERT_NONE"
            self._pool, self._pool_secret = self._urllib3.PoolManager(**kw), secret
        return self._pool

    # -- requests
    def request(self, method: str, path: str, access: Access, *, query: Mapping[str, str] | None = None, body: Any = None,
                proxy: str = "", timeout: tuple[float, float] = TIMEOUT) -> tuple[int, bytes]:
        """(status, body) of a 2xx answer; :class:`KubeError` otherwise. ``proxy`` names what sits behind the API
        server's node proxy (``the kubelet of node x``): errors the API server makes for it are ``proxy`` errors."""
        urllib3 = self._urllib3
        secret = self._credentials()
        headers = {"Accept": "application/json, */*", "User-Agent": "soci-eks-verify"}
        if secret.token:
            headers["Authorization"] = f"Bearer {secret.token}"
        elif secret.basic is not None:
            headers.update(urllib3.make_headers(basic_auth=f"{secret.basic[0]}:{secret.basic[1]}"))
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        url = self.server + path + (f"?{urlencode(query)}" if query else "")
        self.requests += 1
        try:
            with warnings.catch_warnings():
                if self.target.insecure:  # the kubeconfig asks for it (insecure-skip-tls-verify): no warning per request
                    warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                r = self._pool_for(secret).request(method, url, body=data, headers=headers, retries=urllib3.Retry(total=2, connect=2, read=0, status=0, redirect=0),
                                                  timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]), preload_content=False)
                try:
                    raw = r.read(MAX_BODY + 1)
                finally:
                    r.release_conn()
        except urllib3.exceptions.HTTPError as e:
            raise _connection_error(self.server, e) from None
        if len(raw) > MAX_BODY:
            raise KubeError(ErrorKind.SERVER, f"{method} {path}: the answer is larger than {MAX_BODY >> 20} MiB")
        if 200 <= r.status < 300:
            return r.status, raw
        raise self._error(r.status, raw, method, path, access, proxy)

    def _error(self, status: int, raw: bytes, method: str, path: str, access: Access, proxy: str) -> KubeError:
        message = _status_message(raw)
        if status == 401:
            how = "run by the kubeconfig's credential plugin" if self.target.exec_plugin else "in the kubeconfig"
            return KubeError(ErrorKind.UNAUTHORIZED, f"the API server {self.server} refused the credentials of kubeconfig user {self.target.user!r} "
                                                     f"({how}): 401 Unauthorized — invalid or expired (for EKS: refresh your AWS credentials, "
                                                     "e.g. `aws sso login`, and check the IAM identity has an access entry)", status=status)
        if status == 403:
            return KubeError(ErrorKind.FORBIDDEN, f"RBAC: not allowed to {access} ({message or 'forbidden'})", access=access, status=status)
        if proxy and (status in (502, 503, 504) or "error trying to reach service" in message):
            return KubeError(ErrorKind.PROXY, f"the API server could not reach {proxy} through its node proxy ({status}: {message or 'no answer'})", status=status)
        if proxy:
            return KubeError(ErrorKind.SERVER, f"{proxy} answered {status}: {message or 'no message'}", status=status)
        if status == 404:
            return KubeError(ErrorKind.NOT_FOUND, f"{method} {path}: not found ({message or 404})", status=status)
        return KubeError(ErrorKind.SERVER, f"{method} {path}: {status} {message}".strip(), status=status)

    def get_json(self, path: str, access: Access, *, query: Mapping[str, str] | None = None, proxy: str = "") -> Any:
        _, raw = self.request("GET", path, access, query=query, proxy=proxy)
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            what = proxy or "the API server"
            raise KubeError(ErrorKind.SERVER, f"GET {path}: {what} answered with something that is not JSON ({raw[:80]!r})") from None

    def get_text(self, path: str, access: Access, *, proxy: str = "") -> str:
        return self.request("GET", path, access, proxy=proxy)[1].decode(errors="replace")

    def list_all(self, path: str, access: Access, query: Mapping[str, str] | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Every item of a list endpoint, page by page."""
        items: list[dict[str, Any]] = []
        cont = ""
        while True:
            q = {**(query or {}), "limit": str(limit), **({"continue": cont} if cont else {})}
            doc = self.get_json(path, access, query=q)
            items += [i for i in doc.get("items") or [] if isinstance(i, dict)]
            cont = str((doc.get("metadata") or {}).get("continue") or "")
            if not cont:
                return items

    def post_json(self, path: str, body: Any, access: Access) -> Any:
        _, raw = self.request("POST", path, access, body=body)
        return json.loads(raw)

    # -- the node proxy
    @staticmethod
    def node_proxy(node: str, path: str, port: int | None = None) -> str:
        """``/api/v1/nodes/<node>[:<port>]/proxy/<path>``: the kubelet (no port), or ``http://<node address>:<port>``."""
        name = quote(node, safe="") + (f":{port}" if port else "")
        return f"/api/v1/nodes/{name}/proxy/{path.lstrip('/')}"


def _status_message(raw: bytes) -> str:
    with contextlib.suppress(ValueError, UnicodeDecodeError, AttributeError):
        doc = json.loads(raw)
        if isinstance(doc, dict) and doc.get("message"):
            return str(doc["message"])[:400]
    text = raw.decode(errors="replace").strip()
    return text.splitlines()[0][:600] if text else ""


def _connection_error(server: str, e: BaseException) -> KubeError:
    import urllib3

    reason = getattr(e, "reason", None) or e
    text = str(reason)
    if isinstance(reason, urllib3.exceptions.SSLError) or "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in type(reason).__name__:
        return KubeError(ErrorKind.TLS, f"TLS with the API server {server} failed ({text.split('] ', 1)[-1][:200]}): the kubeconfig's "
                                        "certificate-authority(-data) must be the cluster's CA")
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        return KubeError(ErrorKind.UNREACHABLE, f"cannot reach the API server {server}: its name does not resolve (a private-only endpoint? "
                                                "run verify from the cluster's network, or enable the public endpoint)")
    if "refused" in text.lower():
        return KubeError(ErrorKind.UNREACHABLE, f"cannot reach the API server {server}: connection refused")
    if "timed out" in text.lower() or isinstance(reason, urllib3.exceptions.TimeoutError):  # NewConnectionError is a TimeoutError in urllib3 2
        return KubeError(ErrorKind.UNREACHABLE, f"cannot reach the API server {server}: no answer (timed out; is your address in "
                                                "cluster.publicAccessCidrs, or are you on the cluster's network?)")
    return KubeError(ErrorKind.UNREACHABLE, f"cannot reach the API server {server}: {text.split('] ', 1)[-1][:200]}")


__all__ = ["KubeClient"]
