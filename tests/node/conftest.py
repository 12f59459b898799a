"""Fixtures for the node-in-a-box tests (real soci-snapshotter, containerd, registry)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.node.boot import BootedNode, booted_node
from tests.node.lazy import Published, publish


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    """A TLS + htpasswd registry on 127.0.0.1 (reached as niab-registry.test) holding a 4-layer
    ~230 MB image with its SOCI index, and an image without an index."""
    pub = publish(tmp_path_factory.mktemp("published"))
    try:
        yield pub
    finally:
        pub.registry.stop()


@pytest.fixture(scope="package")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BootedNode]:
    """The booted ``c17-lazy-ecr-ami`` node the ``test_node_boot*`` modules share, in file order (sequence, credentials,
    faults, reboot: each relies on what the earlier ones left, e.g. the rotation test's pod is not started before it).
    ``test_node_boot_reboot.py``, the last of them, stops it when it ends; this teardown stops it otherwise."""
    with booted_node(tmp_path_factory.mktemp("node-boot")) as n:
        yield n


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test item (``item.rep_call``): fixtures that print a node's state when its
    test failed read it."""
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{rep.when}", rep)
