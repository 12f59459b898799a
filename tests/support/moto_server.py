"""moto's AWS API emulator as a process of its own on 127.0.0.1 (the test process stays single-threaded for
its mount namespaces), with the placeholder keys moto accepts."""

from __future__ import annotations

import contextlib
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from daemons import Process, free_port

PLACEHOLDER_KEYS = {"AWS_ACCESS_KEY_ID": "moto-placeholder", "AWS_SECRET_ACCESS_KEY": "moto-placeholder"}
"""moto checks no signature: these are not credentials of any account."""


@contextlib.contextmanager
def moto_server(workdir: Path, account: str | None = None) -> Iterator[tuple[str, Process]]:
    """Start ``python -m moto.server`` on a free loopback port; yields (endpoint URL, process); stops it by PID.

    ``account``: the account the placeholder keys act as (``MOTO_ACCOUNT_ID``; moto's default is
    123456789012). It matters for ECR: moto's ``GetAuthorizationToken`` embeds the registry id in the
    password, the caller's account when no ``registryIds`` are given (the kubelet's provider) and the
    host's account when they are (the ECR helper), so both agree only when the two are the same."""
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", **({"MOTO_ACCOUNT_ID": account} if account else {})}
    proc = Process("moto server", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env, log=workdir / "moto.log")
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
