"""The pod-start benchmark's smallest configuration (``benchmarks/pod_start.py --smallest``) as a smoke test.

First the throttling proxy (``tests/support/throttle.py``) is measured with ``curl``: one connection, then
three at once, each held to the cap and together moving three times as much (the cap is per connection),
every response's first byte at least the latency late. Then one pod start per pull mode through the real
kubelet, containerd and SOCI with the rendered configs, behind the proxy at 20 MB/s per connection: each
mode's pod reaches running (its container read a file of the image's last layer and 30 % of the image),
its layers arrived the way the mode says (``benchmarks.pod_start.check_arrival``), and no connection was
written faster than the cap. Timings are the benchmark's business, not asserted here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import pod_start
from tests.node.lazy import REPO, USER, Published
from tests.support.throttle import MB, CapCheck, Throttle, check_cap

CAP = 20.0
"""MB/s per connection: the smoke image's 11 MB layers take about half a second each."""
LATENCY = 0.02


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    pub = pod_start.publish_image(tmp_path_factory.mktemp("podstart"), pod_start.SMALL_LAYERS, "podstart-small")
    try:
        yield pub
    finally:
        pub.registry.stop()


def test_the_proxy_caps_each_connection_and_delays_each_response(small: Published, tmp_path: Path) -> None:
    blob = f"/v2/{REPO}/blobs/{max(small.image.layers, key=lambda layer: layer.size).digest}"
    with Throttle(small.registry, tmp_path / "capped", rate=CAP * MB, latency=LATENCY) as th:
        check = check_cap(th, blob, USER, small.password, connections=3)
    assert check.problems() == [], check
    assert all(t.first_byte_s >= LATENCY for t in (check.single, *check.parallel)), check
    stats = th.stop()
    assert stats.used_connections() == 4 and stats.cap_held(), stats.connections

    # the same check fails for a registry without the cap: it can tell
    with Throttle(small.registry, tmp_path / "uncapped", rate=None, latency=0) as th:
        free = check_cap(th, blob, USER, small.password, connections=3)
    assert CapCheck(CAP * MB, free.single, free.parallel).problems(), free


@pytest.mark.parametrize("mode", list(pod_start.MODES))
def test_each_mode_reaches_a_running_pod(mode: str, small: Published, tmp_path: Path) -> None:
    variant = pod_start.Variant(mode, pod_start.MODES[mode].label)
    r = pod_start.one_run(tmp_path, small, variant, cap=CAP, latency=LATENCY, read_files=pod_start.read_set(small.image), after_s=0, timeout=60)
    assert 0 < r["running_s"] <= r["read30_s"], r
    assert r["read30_bytes"] > 0 and r["bytes_running"] > 0, r
    assert r["cap_held"], r
