"""moto's AWS API emulator as a process of its own on 127.0.0.1 (the test process stays single-threaded for
its mount namespaces), with the placeholder keys moto accepts."""

from __future__ import annotations

import contextlib
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.support.daemons import Process, free_port

PLACEHOLDER_KEYS = {"AWS_ACCESS_KEY_ID": "moto-placeholder", "AWS_SECRET_ACCESS_KEY": "moto-placeholder"}
"""moto checks no signature: these are not credentials of any account."""


ROTATING = """\
import sys
from base64 import b64decode, b64encode
from datetime import datetime, timedelta, timezone
from pathlib import Path

from moto import server
from moto.ecr import responses

generation, ttl = Path(sys.argv.pop(1)), timedelta(seconds=float(sys.argv.pop(1)))
issue = responses.ECRResponse.get_authorization_token


def rotating(self):
    result = issue(self)
    n = generation.read_text().strip()
    for data in result.result["authorizationData"]:
        token = b64decode(data["authorizationToken"]).decode()
        if n != "0":
            data["authorizationToken"] = b64encode(f"{token}-{n}".encode()).decode()
        data["expiresAt"] = datetime.now(timezone.utc) + ttl
    return result


responses.ECRResponse.get_authorization_token = rotating
server.main()
"""
"""moto with ECR tokens that change and expire: moto's ``GetAuthorizationToken`` hands out the same
token forever with an ``expiresAt`` in 2015 (so the kubelet's provider returns no cache duration and
the kubelet keeps it for the config's ``defaultCacheDuration``, 12 h); ECR's expire after 12 hours.
Here they expire ``ttl`` seconds after they are issued, and generation ``n`` (the file's content)
appends ``-n`` to the password (generation 0: moto's own token)."""


@contextlib.contextmanager
def moto_server(workdir: Path, account: str | None = None, token_generation: Path | None = None, token_ttl: float = 43200) -> Iterator[tuple[str, Process]]:
    """Start ``python -m moto.server`` on a free loopback port; yields (endpoint URL, process); stops it by PID.

    ``account``: the account the placeholder keys act as (``MOTO_ACCOUNT_ID``; moto's default is
    123456789012). It matters for ECR: moto's ``GetAuthorizationToken`` embeds the registry id in the
    password, the caller's account when no ``registryIds`` are given (the kubelet's provider) and the
    host's account when they are (the ECR helper), so both agree only when the two are the same.
    ``token_generation``: a file holding a number; ECR tokens then rotate when it changes and expire
    ``token_ttl`` seconds after they are issued (:data:`ROTATING`)."""
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", **({"MOTO_ACCOUNT_ID": account} if account else {})}
    if token_generation is None:
        argv = [sys.executable, "-m", "moto.server"]
    else:
        token_generation.write_text("0")
        argv = [sys.executable, "-c", ROTATING, str(token_generation), str(token_ttl)]
    proc = Process("moto server", [*argv, "-H", "127.0.0.1", "-p", str(port)], env=env, log=workdir / "moto.log")
    proc.start()
    try:
        proc.wait_until(lambda: _answers(port), f"moto on 127.0.0.1:{port}", 30)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.stop()


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2):
            return True
    except Exception:  # noqa: BLE001 - not up yet
        time.sleep(0.1)
        return False
