"""Fixtures of the Karpenter proofs: ``karpenter_merged`` (the real merge of a pool's documents), ``pool``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.karpenter import Pool
from tests.karpenter import karpenter_merged as _karpenter_merged
from tests.karpenter import pool as _pool


@pytest.fixture(name="karpenter_merged")
def karpenter_merged_fixture() -> Callable[..., bytes]:
    """``karpenter_merged(pool_name, claim=NodeClaim(), decoded=True) -> bytes``: what a node of the pool reads
    after Karpenter's real merge (AL2023: the MIME archive nodeadm gets; Bottlerocket: the TOML)."""
    return _karpenter_merged


@pytest.fixture(name="karpenter_pool")
def karpenter_pool_fixture() -> Callable[[str], Pool]:
    """``karpenter_pool(pool_name) -> Pool``: the pool's spec, stack, EC2NodeClass, NodePool, our userData and our view."""
    return _pool
