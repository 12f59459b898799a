"""A registry that behaves like ECR/S3 across a network, on loopback: a throttling proxy in front of the
test registry (no test functions here).

The kernel here has no netem/fq qdiscs, so the network is made in user space, by a program of ours
(``tests/support/throttleproxy``, Go, built by ``scripts/build-go-daemons``; why not Debian's nginx is
said at its top: nginx caps per request and cannot delay one without extra modules, and the proxy must
refuse HTTP/2 as S3 does, or SOCI multiplexes every range request over one capped connection). It

- serves the registry's own name and certificate on another loopback address and the registry's port
  (:class:`Throttle` ``address``, default ``127.0.0.2``): a node whose ``/etc/hosts`` maps the
  registry's name there pulls the same references through the proxy;
- caps **each connection's** throughput at ``rate`` bytes/s (never the total: an object store serves
  each connection at a bounded rate, which is what parallel pull exploits), HTTP/1.1 only;
- delays every request by ``latency`` (first-byte latency) and each new connection's handshake by
  one ``latency``;
- reports, when stopped, every connection's bytes per 100 ms and the total bytes every 10 ms
  (:class:`ProxyStats`), so a run can show that the cap held and how many connections were busy.

:func:`check_cap` measures the cap with ``curl`` (one connection, then several at once): the check the
suite runs before trusting the proxy (``tests/node/test_pod_start.py``).
"""

from __future__ import annotations

import bisect
import json
import re
import socket
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.daemons import DaemonFailed, Process, Registry, daemon

MB = 1_000_000
"""Rates are in bytes/s; the caps are stated in MB/s (10^6 bytes), as object stores state them."""


@dataclass(frozen=True)
class ConnStats:
    """One client connection, as the proxy saw it."""

    id: int
    opened: float
    """Seconds after the proxy started."""
    closed: float
    """Seconds after the proxy started; 0 if still open when the proxy stopped."""
    requests: int
    bytes: int
    buckets: tuple[int, ...]
    """Bytes written in each ``bucket_s`` since ``opened``."""

    def peak_rate(self, bucket_s: float, window_s: float = 1.0) -> float:
        """The most bytes/s written in any ``window_s`` (the whole life of a shorter connection)."""
        n = max(1, round(window_s / bucket_s))
        if not self.buckets:
            return 0.0
        if len(self.buckets) <= n:
            return sum(self.buckets) / (len(self.buckets) * bucket_s)
        run = sum(self.buckets[:n])
        best = run
        for i in range(n, len(self.buckets)):
            run += self.buckets[i] - self.buckets[i - n]
            best = max(best, run)
        return best / (n * bucket_s)


@dataclass(frozen=True)
class ProxyStats:
    """What the proxy wrote to its clients, from its ``-stats`` file."""

    start_unix: float
    rate: float
    latency_s: float
    burst_s: float
    bucket_s: float
    total_bytes: int
    series: tuple[tuple[float, int], ...]
    """(seconds after start, total bytes written) every 10 ms."""
    connections: tuple[ConnStats, ...]

    @classmethod
    def load(cls, path: Path) -> ProxyStats:
        d = json.loads(path.read_text())
        conns = tuple(
            ConnStats(c["id"], c["opened"], c["closed"], c["requests"], c["bytes"], tuple(c.get("buckets") or ())) for c in d.get("connections") or ()
        )
        series = tuple((float(t), int(b)) for t, b in d.get("series") or ())
        return cls(d["start_unix"], d["rate"], d["latency_s"], d["burst_s"], d["bucket_s"], d["total_bytes"], series, conns)

    def bytes_by(self, unix_time: float) -> int:
        """Total bytes written to clients by ``unix_time`` (the machine's clock; within 10 ms)."""
        t = unix_time - self.start_unix
        times = [s[0] for s in self.series]
        i = bisect.bisect_right(times, t)
        return self.series[i - 1][1] if i else 0

    def peak_connection_rate(self, window_s: float = 1.0) -> float:
        """The highest rate any one connection reached over ``window_s`` (bytes/s)."""
        return max((c.peak_rate(self.bucket_s, window_s) for c in self.connections if c.bytes), default=0.0)

    def cap_held(self, tolerance: float = 0.05, window_s: float = 1.0) -> bool:
        """No connection was written faster than the cap (plus ``tolerance``) over any ``window_s``."""
        return self.rate == 0 or self.peak_connection_rate(window_s) <= self.rate * (1 + tolerance)

    def busy_connections(self, min_bytes: int = 1) -> int:
        """The most connections that were written to in the same ``bucket_s`` (aligned by the proxy's clock)."""
        per_bucket: dict[int, int] = {}
        for c in self.connections:
            first = round(c.opened / self.bucket_s)
            for i, b in enumerate(c.buckets):
                if b >= min_bytes:
                    per_bucket[first + i] = per_bucket.get(first + i, 0) + 1
        return max(per_bucket.values(), default=0)

    def used_connections(self) -> int:
        return sum(1 for c in self.connections if c.bytes)


class Throttle:
    """The proxy in front of ``registry`` (which must serve TLS): ``rate`` bytes/s per connection (None:
    uncapped), ``latency`` seconds per request. Listens on ``address``:<the registry's port>; stop it to
    get its :class:`ProxyStats`. ``burst_s``: the token bucket's depth, as time at the rate: a connection
    the machine's load kept from writing (late timer wake-ups) catches up that much, so the cap stays the
    rate a connection gets on a busy machine; over any second it allows at most ``burst_s`` of excess
    (2.5 % by default; with 2 ms, three connections got 22.4 MB/s of 25 at load 4 on 2 cores)."""

    def __init__(self, registry: Registry, workdir: Path, *, rate: float | None, latency: float, address: str = "127.0.0.2", burst_s: float = 0.025) -> None:
        if registry.tls is None:
            raise ValueError("the throttling proxy fronts a TLS registry (it serves the registry's certificate)")
        self.registry = registry
        self.workdir = Path(workdir)
        self.rate = float(rate or 0)
        self.latency = latency
        self.address = address
        self.burst_s = burst_s
        self.port = registry.port
        self.stats_file = self.workdir / "throttle-stats.json"
        self.process: Process | None = None
        self.stats: ProxyStats | None = None

    def __enter__(self) -> Throttle:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        tls = self.registry.tls
        assert tls is not None
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stats_file.unlink(missing_ok=True)
        argv = [
            daemon("throttleproxy").bin("throttleproxy"),
            "-listen", f"{self.address}:{self.port}",
            "-upstream", f"https://{self.registry.address}:{self.registry.port}",
            "-upstream-name", self.registry.hostname,
            "-cert", tls.cert, "-key", tls.key, "-ca", tls.ca,
            "-rate", f"{self.rate:.0f}", "-latency", f"{self.latency * 1000:.3f}ms", "-burst", f"{self.burst_s * 1000:.3f}ms",
            "-stats", self.stats_file,
        ]  # fmt: skip
        self.process = Process("throttleproxy", argv, env={"PATH": "/usr/bin:/bin"}, log=self.workdir / "throttleproxy.log")
        self.process.start()
        self.process.wait_until(self._listening, f"listening on {self.address}:{self.port}", 10)

    def _listening(self) -> bool:
        with socket.socket() as s:
            s.settimeout(0.5)
            return s.connect_ex((self.address, self.port)) == 0

    def stop(self) -> ProxyStats:
        """Stop the proxy (SIGTERM by PID: it writes its statistics) and return them."""
        if self.process is None:
            raise DaemonFailed("the throttling proxy was not started")
        if self.stats is None:
            self.process.stop()
            if not self.stats_file.exists():
                raise DaemonFailed(f"throttleproxy wrote no statistics; log {self.process.log}:\n{self.process.log_tail()}")
            self.stats = ProxyStats.load(self.stats_file)
        return self.stats


@dataclass(frozen=True)
class Transfer:
    """One download as ``curl`` measured it."""

    bytes: int
    first_byte_s: float
    """From the request (TLS set up) to the response's first byte."""
    rate: float
    """Bytes/s after the first byte."""


@dataclass(frozen=True)
class CapCheck:
    cap: float
    single: Transfer
    parallel: tuple[Transfer, ...]

    @property
    def parallel_total(self) -> float:
        return sum(t.rate for t in self.parallel)

    def problems(self, tolerance: float = 0.1) -> list[str]:
        """What does not hold: each connection within ``tolerance`` of the cap, alone or beside others, so
        the cap is per connection (several connections move several times as much), and every response's
        first byte comes at least the latency late."""
        out = []
        for what, t in [("one connection", self.single)] + [(f"connection {i + 1} of {len(self.parallel)}", t) for i, t in enumerate(self.parallel)]:
            if not (1 - tolerance) * self.cap <= t.rate <= (1 + tolerance) * self.cap:
                out.append(f"{what}: {t.rate / MB:.1f} MB/s, cap {self.cap / MB:.1f} MB/s")
        if self.parallel_total < (len(self.parallel) - 0.5) * self.cap:
            out.append(f"{len(self.parallel)} connections together moved {self.parallel_total / MB:.1f} MB/s: the cap is not per connection")
        return out


_CURL_OUT = re.compile(r"^(\d+) ([\d.]+) ([\d.]+) ([\d.]+)$")


def _curl(url: str, resolve: str, user: str, password: str, ca: Path) -> subprocess.Popen[str]:
    fmt = "%{size_download} %{time_appconnect} %{time_starttransfer} %{time_total}"
    return subprocess.Popen(
        ["curl", "-fsS", "--http1.1", "--cacert", str(ca), "--resolve", resolve, "-u", f"{user}:{password}", "-o", "/dev/null", "-w", fmt, url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _transfer(p: subprocess.Popen[str], timeout: float) -> Transfer:
    out, err = p.communicate(timeout=timeout)
    m = _CURL_OUT.match(out.strip())
    if p.returncode != 0 or not m:
        raise DaemonFailed(f"curl failed ({p.returncode}): {err.strip() or out.strip()}")
    size, connected, first, total = int(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4))
    return Transfer(size, first - connected, size / max(total - first, 1e-9))


def check_cap(throttle: Throttle, path: str, user: str, password: str, *, connections: int = 4, timeout: float = 60) -> CapCheck:
    """Download ``path`` (e.g. ``/v2/<repo>/blobs/<digest>``, a few seconds' worth at the cap) through the
    proxy with one connection, then with ``connections`` at once; every response must be 200."""
    reg = throttle.registry
    assert reg.tls is not None
    url = f"https://{reg.hostname}:{throttle.port}{path}"
    resolve = f"{reg.hostname}:{throttle.port}:{throttle.address}"
    single = _transfer(_curl(url, resolve, user, password, reg.tls.ca), timeout)
    procs = [_curl(url, resolve, user, password, reg.tls.ca) for _ in range(connections)]
    parallel = tuple(_transfer(p, timeout) for p in procs)
    return CapCheck(throttle.rate, single, parallel)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def wait_port_free(address: str, port: int, timeout: float = 5) -> None:
    """Wait until nothing listens on ``address:port`` (a stopped proxy's socket is gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((address, port)) != 0:
                return
        time.sleep(0.05)
    raise DaemonFailed(f"{address}:{port} still answers")


__all__ = ["MB", "CapCheck", "ConnStats", "ProxyStats", "Throttle", "Transfer", "check_cap", "median", "wait_port_free"]
