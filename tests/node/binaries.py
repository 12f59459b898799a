"""Where the real programs are: the daemon cache made by ``scripts/fetch-daemons`` (``tests/support/daemons.py``)."""

from __future__ import annotations

from pathlib import Path


def find(name: str) -> Path:
    """Path of program ``name`` from the daemon cache (an error naming scripts/fetch-daemons when missing)."""
    from tests.support import daemons  # a missing cache is an error that says to run scripts/fetch-daemons

    for d in daemons.index().values():
        if name in d.bins:
            return d.bin(name)
    raise daemons.DaemonsMissing(f"no {name} in {daemons.cache_dir() / 'index.json'}; run scripts/fetch-daemons")
