"""Fixtures for real-daemon tests: a throwaway node (private mount namespace) per test.

The daemons come from ``scripts/fetch-daemons``; a missing cache is an error (never a skip).
Every daemon a test starts through these fixtures, or through the context managers with the
``node`` fixture, is stopped by PID when the test ends, pass or fail, and FUSE mounts are undone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.daemons import Containerd, Node, Soci, index


@pytest.fixture(scope="session")
def daemon_index() -> dict:
    return index()  # raises DaemonsMissing ("run scripts/fetch-daemons") when the cache is cold


@pytest.fixture
def node(tmp_path, daemon_index) -> Iterator[Node]:
    with Node(tmp_path) as n:
        yield n
    assert not n.killed_leftovers, f"processes were left in the node's namespace: {n.killed_leftovers}"


@pytest.fixture
def soci(node: Node) -> Iterator[Soci]:
    """soci-snapshotter-grpc with its defaults (empty config), at the real daemon's default node paths."""
    with Soci(node, "") as s:
        yield s


@pytest.fixture
def start_containerd(node: Node) -> Callable[..., Containerd]:
    """``start_containerd('1.7', toml_text, **kw)`` -> a running :class:`Containerd` (stopped with the node)."""

    def start(line: str, config: str, **kw: object) -> Containerd:
        ctd = Containerd(node, line, config, start=False, **kw)  # type: ignore[arg-type]
        ctd.start()
        return ctd

    return start
