"""A read-only OCI distribution client: manifests, small JSON blobs, referrers. A thin layer over urllib3.

Auth as the distribution token spec and Docker clients do it: the first ``401`` of a registry says how
(``WWW-Authenticate``): ``Basic`` -> the credentials as a basic header; ``Bearer`` -> a token from the
realm for ``repository:<name>:pull`` (with the credentials as basic auth, or an identity token as an
OAuth2 refresh token, or anonymously), one per repository. TLS: the system CAs (``SSL_CERT_FILE`` and
``SSL_CERT_DIR`` honoured, as on a node) plus ``ca_file``. No retries: a registry that is down, rate
limiting, refusing or answering short is reported at once as a :class:`RegistryError`.
"""

from __future__ import annotations

import hashlib
import json
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from .auth import Challenge, CredentialError, Credentials, parse_challenge
from .reference import Reference
from .soci import ACCEPT, DOCKER_SCHEMA1, INDEX_TYPES, MANIFEST_TYPES, OCI_INDEX

MAX_MANIFEST = 4 << 20
"""containerd's limit for a manifest or index (``remotes/docker`` ``MaxManifestSize``, 4 MiB)."""
MAX_JSON_BLOB = 8 << 20


class ErrorKind(StrEnum):
    UNREACHABLE = "unreachable"
    TLS = "tls"
    CREDENTIALS = "credentials"
    UNAUTHORIZED = "unauthorized"
    DENIED = "denied"
    NOT_FOUND = "not-found"
    RATE_LIMITED = "rate-limited"
    NOT_AN_IMAGE = "not-an-image"
    TRUNCATED = "truncated"
    PROTOCOL = "protocol"


class RegistryError(RuntimeError):
    """One failed registry exchange, with a message a person reads (no secrets, no traceback)."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class Fetched:
    body: bytes
    media_type: str
    digest: str
    """``sha256:`` of the body (checked against the digest asked for, and the registry's ``Docker-Content-Digest``)."""

    def json(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise RegistryError(ErrorKind.TRUNCATED, f"{self.digest}: the answer is not complete JSON ({len(self.body)} bytes)") from None
        if not isinstance(doc, dict):
            raise RegistryError(ErrorKind.NOT_AN_IMAGE, f"{self.digest}: not a JSON object")
        return doc


@dataclass(frozen=True)
class Transport:
    """How to reach registries: TLS trust, plain HTTP, timeouts."""

    ca_file: Path | None = None
    plain_http: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if self.ca_file is not None:
            try:
                ctx.load_verify_locations(cafile=str(self.ca_file))
            except (OSError, ssl.SSLError) as e:
                raise RegistryError(ErrorKind.TLS, f"--ca-file {self.ca_file}: {getattr(e, 'strerror', None) or e}") from None
        return ctx


CredentialsFor = Callable[[Reference], Credentials | None]


class Registry:
    """One registry host; tokens cached per repository for the life of the object."""

    def __init__(self, ref: Reference, transport: Transport, credentials_for: CredentialsFor, pool: urllib3.PoolManager | None = None) -> None:
        self.ref = ref
        self.host = ref.api_host
        self.base = f"{'http' if transport.plain_http else 'https'}://{self.host}"
        self.transport = transport
        self._credentials_for = credentials_for
        self._credentials: Credentials | None = None
        self._credentials_loaded = False
        self._challenge: Challenge | None = None
        self._tokens: dict[str, str] = {}
        self.pool = pool or urllib3.PoolManager(ssl_context=transport.ssl_context() if not transport.plain_http else None, num_pools=4, maxsize=4)
        self.requests = 0
        """HTTP requests made (token requests included)."""

    # -- credentials and auth headers
    def credentials(self) -> Credentials | None:
        if not self._credentials_loaded:
            try:
                self._credentials = self._credentials_for(self.ref)
            except CredentialError as e:
                raise RegistryError(ErrorKind.CREDENTIALS, str(e)) from None
            self._credentials_loaded = True
        return self._credentials

    def _auth_header(self, repo: str) -> dict[str, str]:
        ch = self._challenge
        if ch is None:
            return {}
        if ch.scheme == "basic":
            creds = self.credentials()
            return {"Authorization": creds.basic()} if creds and not creds.identity_token else {}
        if ch.scheme == "bearer":
            if repo not in self._tokens:
                self._tokens[repo] = self._token(ch, repo)
            return {"Authorization": f"Bearer {self._tokens[repo]}"}
        raise RegistryError(ErrorKind.PROTOCOL, f"{self.host} asks for {ch.scheme!r} authentication; only Basic and Bearer are supported")

    def _token(self, ch: Challenge, repo: str) -> str:
        realm = ch.params.get("realm", "")
        if urlsplit(realm).scheme not in ("http", "https"):
            raise RegistryError(ErrorKind.PROTOCOL, f"{self.host}: bearer challenge without a usable realm ({realm!r})")
        query = {"scope": f"repository:{repo}:pull", **({"service": ch.params["service"]} if ch.params.get("service") else {})}
        creds = self.credentials()
        who = creds.source if creds else "anonymous"
        if creds and creds.identity_token:
            form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token, "client_id": "soci-eks", **query}
            status, headers, body = self._send("POST", realm, {"Content-Type": "application/x-www-form-urlencoded"}, urlencode(form).encode(), limit=1 << 20)
        else:
            hdrs = {"Authorization": creds.basic()} if creds else {}
            status, headers, body = self._send("GET", f"{realm}?{urlencode(query)}", hdrs, None, limit=1 << 20)
        if status in (401, 403):
            raise RegistryError(ErrorKind.UNAUTHORIZED, f"{self.host}: the token service refused {who} for {repo} ({status})")
        self._raise_for(status, headers, body, f"token for {repo}")
        try:
            data = json.loads(body)
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError, UnicodeDecodeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(ErrorKind.PROTOCOL, f"{self.host}: the token service answered without a token")
        return token

    # -- HTTP
    def _send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, limit: int) -> tuple[int, Mapping[str, str], bytes]:
        self.requests += 1
        where = urlsplit(url).netloc
        retries = urllib3.Retry(total=3, connect=0, read=0, status=0, other=0, redirect=3, raise_on_redirect=True, raise_on_status=False)
        timeout = urllib3.Timeout(connect=self.transport.connect_timeout, read=self.transport.read_timeout)
        try:
            r = self.pool.request(method, url, headers=dict(headers), body=body, retries=retries, timeout=timeout, preload_content=False, redirect=True)
            try:
                length = r.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > limit:
                    raise RegistryError(ErrorKind.PROTOCOL, f"{where}: {url.split('?')[0]} is {int(length)} bytes, more than the {limit}-byte limit")
                data = r.read(limit + 1, decode_content=True)
                if len(data) > limit:
                    raise RegistryError(ErrorKind.PROTOCOL, f"{where}: {url.split('?')[0]} is more than the {limit}-byte limit")
                if length and length.isdigit() and len(data) < int(length) and not r.headers.get("Content-Encoding"):
                    raise RegistryError(ErrorKind.TRUNCATED, f"{where}: truncated answer for {url.split('?')[0]}: {len(data)} of {length} bytes")
            finally:
                r.release_conn()
            return r.status, r.headers, data
        except RegistryError:
            raise
        except (ProtocolError, urllib3.exceptions.IncompleteRead) as e:
            raise RegistryError(ErrorKind.TRUNCATED, f"{where}: truncated answer for {url.split('?')[0]} ({_reason(e)})") from None
        except MaxRetryError as e:
            raise _connection_error(where, e.reason) from None
        except (SSLError, NewConnectionError, Urllib3Timeout, NameResolutionError) as e:
            raise _connection_error(where, e) from None
        except Urllib3Error as e:
            raise RegistryError(ErrorKind.UNREACHABLE, f"{where}: {_reason(e)}") from None

    def _raise_for(self, status: int, headers: Mapping[str, str], body: bytes, what: str) -> None:
        if 200 <= status < 300:
            return
        detail = _error_detail(body)
        if status == 429:
            after = headers.get("Retry-After")
            raise RegistryError(ErrorKind.RATE_LIMITED, f"{self.host}: rate limited (429) fetching {what}" + (f"; retry after {after} s" if after else "") + detail)
        if status == 401:
            creds = self._credentials
            who = f"the credentials from {creds.source}" if creds else "anonymous access (no credentials for it in the docker config)"
            raise RegistryError(ErrorKind.UNAUTHORIZED, f"{self.host}: {what}: unauthorized (401) with {who}{detail}")
        if status == 403:
            raise RegistryError(ErrorKind.DENIED, f"{self.host}: {what}: access denied (403){detail}")
        if status == 404:
            raise RegistryError(ErrorKind.NOT_FOUND, f"{self.host}: {what}: not found (404){detail}")
        raise RegistryError(ErrorKind.PROTOCOL, f"{self.host}: {what}: HTTP {status}{detail}")

    def get(self, repo: str, path: str, accept: str, limit: int, what: str) -> tuple[int, Mapping[str, str], bytes]:
        """GET ``/v2/<repo>/<path>``, answering one auth challenge; returns even non-2xx answers."""
        url = f"{self.base}/v2/{repo}/{path}"
        headers = {"Accept": accept, **self._auth_header(repo)}
        status, rh, body = self._send("GET", url, headers, None, limit)
        if status == 401 and self._challenge is None:
            ch = parse_challenge(rh.get("WWW-Authenticate", ""))
            if ch is None:
                raise RegistryError(ErrorKind.PROTOCOL, f"{self.host}: {what}: 401 without a WWW-Authenticate challenge")
            self._challenge = ch
            if ch.scheme == "basic" and self.credentials() is None:
                raise RegistryError(ErrorKind.UNAUTHORIZED, f"{self.host} requires credentials for {what}; none found (docker config, credential helpers, ECR)")
            status, rh, body = self._send("GET", url, {"Accept": accept, **self._auth_header(repo)}, None, limit)
        return status, rh, body

    # -- the API
    def manifest(self, repo: str, reference: str, what: str) -> Fetched:
        status, headers, body = self.get(repo, f"manifests/{reference}", ACCEPT, MAX_MANIFEST, what)
        self._raise_for(status, headers, body, what)
        return self._checked(reference, headers, body, what, manifest=True)

    def manifest_or_none(self, repo: str, reference: str, what: str, accept: str = ACCEPT) -> Fetched | None:
        status, headers, body = self.get(repo, f"manifests/{reference}", accept, MAX_MANIFEST, what)
        if status == 404:
            return None
        self._raise_for(status, headers, body, what)
        return self._checked(reference, headers, body, what, manifest=False)

    def json_blob(self, repo: str, digest: str, what: str) -> dict[str, Any]:
        status, headers, body = self.get(repo, f"blobs/{digest}", "*/*", MAX_JSON_BLOB, what)
        self._raise_for(status, headers, body, what)
        return self._checked(digest, {}, body, what, manifest=False).json()

    def referrers(self, repo: str, digest: str, artifact_type: str) -> tuple[list[dict[str, Any]], bool] | None:
        """(descriptors, via the API) of ``digest``'s referrers of ``artifact_type``: the Referrers API, else the
        referrers tag schema (``sha256-<hex>``, OCI distribution-spec v1.1); None when neither has any."""
        what = f"referrers of {digest}"
        status, headers, body = self.get(repo, f"referrers/{digest}?{urlencode({'artifactType': artifact_type})}", OCI_INDEX, MAX_MANIFEST, what)
        via_api = 200 <= status < 300 and headers.get("Content-Type", "").split(";")[0].strip() == OCI_INDEX
        if not via_api:
            if status not in (404, 400, 405, 501) and not (200 <= status < 300):
                self._raise_for(status, headers, body, what)
            fetched = self.manifest_or_none(repo, digest.replace(":", "-", 1), f"referrers tag of {digest}", accept=OCI_INDEX)
            if fetched is None:
                return None
            body = fetched.body
        try:
            doc = json.loads(body)
            found = [d for d in doc.get("manifests") or [] if isinstance(d, dict) and d.get("artifactType") == artifact_type]
        except (ValueError, AttributeError, UnicodeDecodeError):
            raise RegistryError(ErrorKind.TRUNCATED, f"{self.host}: {what}: the answer is not complete JSON") from None
        return (found, via_api) if found else None

    def _checked(self, reference: str, headers: Mapping[str, str], body: bytes, what: str, *, manifest: bool) -> Fetched:
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        if reference.startswith("sha256:") and reference != digest:
            raise RegistryError(ErrorKind.TRUNCATED, f"{self.host}: {what}: {len(body)} bytes that do not hash to {reference} (truncated or corrupt)")
        said = headers.get("Docker-Content-Digest", "")
        if said.startswith("sha256:") and said != digest:
            raise RegistryError(ErrorKind.TRUNCATED, f"{self.host}: {what}: {len(body)} bytes that do not hash to the registry's {said} (truncated or corrupt)")
        media_type = headers.get("Content-Type", "").split(";")[0].strip()
        if manifest:
            media_type = _manifest_type(media_type, body, f"{self.host}: {what}")
        return Fetched(body=body, media_type=media_type, digest=digest)


def _manifest_type(content_type: str, body: bytes, where: str) -> str:
    """The media type of a manifest answer; RegistryError unless an OCI/Docker image manifest or index."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        if content_type and "json" not in content_type:
            raise RegistryError(ErrorKind.NOT_AN_IMAGE, f"{where}: the answer is {content_type!r}, not an OCI/Docker image manifest or index") from None
        raise RegistryError(ErrorKind.TRUNCATED, f"{where}: the manifest is not complete JSON ({len(body)} bytes)") from None
    declared = doc.get("mediaType") if isinstance(doc, dict) else None
    media_type = content_type if content_type in MANIFEST_TYPES | INDEX_TYPES else declared if isinstance(declared, str) else content_type
    if media_type in DOCKER_SCHEMA1 or (isinstance(doc, dict) and doc.get("schemaVersion") == 1):
        raise RegistryError(ErrorKind.NOT_AN_IMAGE, f"{where}: a Docker schema 1 manifest; SOCI and containerd 2 need OCI or Docker schema 2 (re-push the image)")
    if media_type not in MANIFEST_TYPES | INDEX_TYPES:
        if isinstance(doc, dict) and not content_type.startswith("application/vnd") and isinstance(doc.get("manifests"), list):
            return OCI_INDEX  # OCI allows an index without mediaType
        if isinstance(doc, dict) and isinstance(doc.get("layers"), list) and isinstance(doc.get("config"), dict) and not declared:
            return "application/vnd.oci.image.manifest.v1+json"
        raise RegistryError(ErrorKind.NOT_AN_IMAGE, f"{where}: media type {media_type or '(none)'!r} is not an OCI/Docker image manifest or index")
    return media_type


def _error_detail(body: bytes) -> str:
    """``: MANIFEST_UNKNOWN manifest unknown`` from a distribution error body (first error only)."""
    try:
        err = json.loads(body)["errors"][0]
        return f": {err.get('code', '')} {err.get('message', '')}".rstrip()[:200]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, UnicodeDecodeError):
        return ""


def _reason(e: BaseException) -> str:
    text = str(getattr(e, "reason", None) or e)
    return text.split(": ", 1)[-1] if "object at 0x" in text else text


def _connection_error(where: str, e: BaseException | None) -> RegistryError:
    if isinstance(e, SSLError) or isinstance(getattr(e, "__context__", None), ssl.SSLError):
        if "WRONG_VERSION_NUMBER" in str(e):
            return RegistryError(ErrorKind.TLS, f"{where}: the registry does not answer TLS (plain HTTP?); use --plain-http for a plain-HTTP registry")
        return RegistryError(ErrorKind.TLS, f"{where}: TLS failed ({_reason(e) if e else 'handshake'}); trust the registry's CA with --ca-file")
    if isinstance(e, NameResolutionError):
        return RegistryError(ErrorKind.UNREACHABLE, f"{where}: unknown host (name resolution failed)")
    msg = str(e or "")
    if isinstance(e, NewConnectionError) and "timed out" not in msg.lower():  # (a subclass of the timeout error in urllib3 2)
        why = "connection refused" if "refused" in msg.lower() else msg.split("] ", 1)[-1][:160] or "no connection"
        return RegistryError(ErrorKind.UNREACHABLE, f"{where}: registry unreachable ({why})")
    if isinstance(e, Urllib3Timeout):
        return RegistryError(ErrorKind.UNREACHABLE, f"{where}: registry unreachable (no answer: timed out)")
    return RegistryError(ErrorKind.UNREACHABLE, f"{where}: registry unreachable ({msg[:160] or 'no connection'})")


__all__ = ["ErrorKind", "Fetched", "Registry", "RegistryError", "Transport"]
