"""How long ``images check`` takes on a 20-layer image from the local registry (not a test; run it by hand):

    sudo .venv/bin/python -m tests.images.measure_20_layers [runs]

The registry is the suite's (distribution 2.8 on 127.0.0.1, TLS, htpasswd basic auth); the image has 20
layers of 1 MiB (``soci convert --standalone --min-layer-size 0``: a zTOC each). Printed: the CLI in a
fresh interpreter (``images check --json``), ``check_image`` with a fresh client (TLS handshake + auth
challenge each time), a warm :class:`Checker` (connection and auth kept), and, as the unit, one plain
manifest GET over a kept connection — so the numbers read as ratios within one run on this machine."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import urllib3

from soci_component.images import Auth, Checker, check_image
from tests.images import support
from tests.images.conftest import ROOT, docker_config
from tests.node import images
from tests.node.images import RegistryClient
from tests.support.daemons import Registry, make_tls


def main(runs: int = 10) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        tls = make_tls(base / "tls")
        with Registry(base / "registry", tls=tls, users={"u": "pw"}) as reg:
            host = f"127.0.0.1:{reg.port}"
            specs = [images.LayerSpec((images.FileSpec(f"l/{i}.bin", size=images.MiB, seed=900 + i),)) for i in range(20)]
            image = images.build(specs, name="measure-20")
            out = base / "soci"
            support.convert(support.write_layout(base / "oci", [support.variant(image)], as_index=False), out, "--min-layer-size", "0")
            support.push_layout(RegistryClient(f"https://{host}", user="u", password="pw", cafile=tls.ca), out, "m/app", "v1")
            dc = docker_config(base / "dc" / "config.json", host, "u", "pw")
            ref = f"{host}/m/app:v1"
            auth = Auth(docker_config=dc, ca_file=tls.ca)

            def timed(fn: object) -> list[float]:
                out = []
                for _ in range(runs):
                    t = time.perf_counter()
                    fn()  # type: ignore[operator]
                    out.append(time.perf_counter() - t)
                return out

            report = check_image(ref, auth=auth)
            (p,) = report.platforms
            assert len(p.layers) == 20 and all(x.ztoc for x in p.layers), p
            env = {"PATH": "/usr/bin:/bin", "HOME": str(base), "DOCKER_CONFIG": str(dc.parent), "PYTHONPATH": str(ROOT)}
            argv = [sys.executable, "-m", "soci_component", "images", "check", "--json", "--ca-file", str(tls.ca), ref]

            def cli() -> None:
                r = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
                assert json.loads(r.stdout)["images"][0]["platforms"][0]["index"] == "v2"

            warm = Checker(auth)
            warm.check(ref)
            before = warm.requests
            warm.check(ref)
            per_check = warm.requests - before
            pool = urllib3.PoolManager(ssl_context=__import__("ssl").create_default_context(cafile=str(tls.ca)))
            import base64

            hdr = {"Authorization": "Basic " + base64.b64encode(b"u:pw").decode(), "Accept": support.OCI_INDEX}
            pool.request("GET", f"https://{host}/v2/m/app/manifests/v1", headers=hdr)
            results = {
                "cli (fresh interpreter)": timed(cli),
                "check_image (fresh client)": timed(lambda: check_image(ref, auth=auth)),
                "Checker.check (warm)": timed(lambda: warm.check(ref)),
                "one manifest GET (warm)": timed(lambda: pool.request("GET", f"https://{host}/v2/m/app/manifests/v1", headers=hdr)),
            }
            unit = statistics.median(results["one manifest GET (warm)"])
            print(f"machine: {platform.node()} {os.cpu_count()} CPUs, Python {platform.python_version()}; {runs} runs each; "
                  f"image: 20 layers, v2 index in an image index; {per_check} HTTP requests per warm check")
            for name, xs in results.items():
                med = statistics.median(xs)
                print(f"  {name:28} median {med * 1000:7.1f} ms  min {min(xs) * 1000:7.1f} ms  = {med / unit:6.1f} x one manifest GET")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
