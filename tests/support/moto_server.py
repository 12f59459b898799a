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
def moto_server(workdir: Path) -> Iterator[tuple[str, Process]]:
    """Start ``python -m moto.server`` on a free loopback port; yields (endpoint URL, process); stops it by PID."""
    port = free_port()
    proc = Process("moto server", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env={"PATH": "/usr/bin:/bin"}, log=workdir / "moto.log")
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
