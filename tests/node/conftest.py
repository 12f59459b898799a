"""Fixtures for the node-in-a-box tests (real soci-snapshotter, containerd, registry)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
