"""A local HTTPS server on 127.0.0.1 that plays the SOCI release download site (or a private mirror).

HTTPS because the component refuses a plain-http ``urlBase`` without a pinned sha256 (the checksum would
come over the same unauthenticated channel); the node's curl trusts the test CA through ``CURL_CA_BUNDLE``."""

from __future__ import annotations

import hashlib
import io
import ssl
import tarfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def release_tarball(members: dict[str, tuple[bytes, int]]) -> bytes:
    """A .tar.gz laid out like the upstream release (files at the top level)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for name, (data, mode) in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 1700000000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def publish(root: Path, tree: str, version: str, arch: str, tarball: bytes, sha256sum: str | None = None) -> str:
    """Put ``<tree>/v<version>/soci-snapshotter-<version>-linux-<arch>.tar.gz`` (+ ``.sha256sum``, in
    ``sha256sum`` output format, unless ``sha256sum`` is given verbatim) under ``root``; return the tarball name."""
    name = f"soci-snapshotter-{version}-linux-{arch}.tar.gz"
    d = root / tree / f"v{version}"
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(tarball)
    if sha256sum is None:
        sha256sum = f"{hashlib.sha256(tarball).hexdigest()}  {name}\n"
    (d / f"{name}.sha256sum").write_text(sha256sum)
    return name


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        self.server.requests.append(self.path)  # type: ignore[attr-defined]


class ReleaseServer:
    """Serves ``root`` on ``https://127.0.0.1:<port>`` with ``cert``/``key`` (``http://`` without them); ``requests`` lists the paths asked for."""

    def __init__(self, root: Path, cert: Path | None = None, key: Path | None = None) -> None:
        self.root = root
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
        self.httpd.requests = []  # type: ignore[attr-defined]
        scheme = "http"
        if cert is not None and key is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(cert), str(key))
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests  # type: ignore[attr-defined]

    def __enter__(self) -> ReleaseServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
