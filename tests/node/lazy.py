"""A node in a box for lazy loading: a private TLS registry with htpasswd auth, an image with a SOCI
index, and real soci-snapshotter + containerd started with the *rendered* configs.

Built on ``tests/support/daemons.py`` (``Node``, ``Soci``, ``Containerd``, ``Registry``, ``make_tls``), with
the programs the pinned AMIs run, built from their Go modules (``scripts/build-go-daemons``): containerd
2.2.4 / 1.7.27, and the SOCI the scenario names (:func:`soci_key`): its pinned release (0.16.1 by default,
0.15.0 where pinned) or the AMI package's 0.15.0.

The image is published three ways (:func:`publish`):
- ``ref``: a **SOCI v2 index** (``soci convert``: an OCI image index holding the image manifest and
  the SOCI index manifest, what SOCI >= 0.10 reads by default);
- ``v1_ref``: the same layers with a **SOCI v1 index** (``soci create`` + ``soci push``: found through
  the Referrers API), read only with ``[pull_modes.soci_v1] enable = true`` (``tuning.v1Indexes``);
- ``plain_ref``: an image without any index (fallback and parallel cases).

Facts of the box: the registry is reached as ``niab-registry.test`` (a private ``/etc/hosts`` entry
inside ``Node``'s namespace), its test CA trusted through ``SSL_CERT_FILE``; test images keep every
layer above ``min_layer_size`` so every layer gets a zTOC.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soci_component.render import RenderedNode as NodeBootstrap
from soci_component.render.paths import CONTAINERD_CONFIG as CONTAINERD_CONFIG_PATH
from soci_component.render.paths import DOCKER_CONFIG as DOCKER_CONFIG_PATH
from soci_component.render.paths import SOCI_CONFIG as SOCI_CONFIG_PATH
from tests.node import images
from tests.node.images import Image
from tests.support.daemons import Containerd, DaemonsMissing, Node, Registry, Soci, Tls, index, make_tls
from tests.support.scenarios import SCENARIOS

HOST = "niab-registry.test"
USER = "soci-puller"
REPO = "soci-eks/app"
PLAIN_REPO = "soci-eks/plain"
V1_REPO = "soci-eks/app-v1"
CRI_CLIENT = Path(__file__).resolve().parent / "cri_client.py"
K8S = "k8s.io"


def soci_key(b: NodeBootstrap) -> str:
    """The built SOCI a node of this bootstrap runs (a ``daemon()`` key): the pinned release's version for a
    ``release`` source, the AMI package's otherwise."""
    return soci_key_for(b.report.soci.version)


def soci_key_for(version: str | None) -> str:
    """``'0.16.1'`` -> the key of the SOCI built at that version (``soci-0.16``); None (the AMI's package) ->
    ``soci``, the version the catalogue says the pinned AMIs ship (0.15.0)."""
    if version is None:
        return "soci"
    keys = built_soci_keys()
    for key in keys:
        if index()[key].version == version:
            return key
    raise DaemonsMissing(f"no soci-snapshotter {version} among the built ones ({', '.join(f'{k}: {index()[k].version}' for k in keys)}); "
                         "scripts/build-go-daemons builds the versions the tests run")


def built_soci_keys() -> list[str]:
    """Every soci-snapshotter built from its Go module (``soci-0.15``, ``soci-0.16``...)."""
    return sorted(k for k in index() if re.fullmatch(r"soci-\d+\.\d+", k))


def containerd_line(b: NodeBootstrap) -> str:
    """The containerd line of the scenario's AMI (built: 1.7.27 for 1.7.x, 2.2.4 for 2.x)."""
    return "1.7" if b.report.containerd_version.startswith("1.") else "2"


@dataclass
class Published:
    """The registry and what the tests pull from it."""

    registry: Registry
    tls: Tls
    password: str
    image: Image
    plain: Image
    build_log: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.registry.host}/{REPO}:v1"

    @property
    def plain_ref(self) -> str:
        return f"{self.registry.host}/{PLAIN_REPO}:v1"

    @property
    def v1_ref(self) -> str:
        """The image with a SOCI v1 index (Referrers API)."""
        return f"{self.registry.host}/{V1_REPO}:v1"

    @property
    def unindexed_ref(self) -> str:
        """The image itself as pushed, before ``soci convert`` (no index of either kind)."""
        return f"{self.registry.host}/{REPO}:unindexed"

    @property
    def log(self) -> Path:
        assert self.registry.process is not None
        return self.registry.process.log

    def log_offset(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def served(self, since: int = 0) -> list[tuple[str, str, int, int]]:
        """(method, path, status, bytes) of every request answered since ``since`` (an offset in the log)."""
        with open(self.log, "rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
        out = []
        for line in text.splitlines():
            m = re.search(r'"(GET|HEAD|PUT|POST|PATCH|DELETE) (\S+) HTTP/[\d.]+" (\d{3}) (\d+|-)', line)
            if m:
                out.append((m.group(1), m.group(2), int(m.group(3)), int(m.group(4)) if m.group(4) != "-" else 0))
        return out

    def bytes_served(self, since: int = 0) -> int:
        return sum(n for *_, n in self.served(since))

    def restart_registry(self) -> None:
        """Make sure the registry answers. One (re)started inside a ``Node`` dies with the node's
        namespace (daemons.Node kills what is left in it), so call this again after leaving the node."""
        if self.registry.process is not None and self.registry.process.running() and self.registry.status("/v2/") in (200, 401):
            return
        self.registry.stop()
        self.registry.start()


def publish(
    base: Path, *, layers_mib: tuple[int, ...] = (96, 64, 48), name: str = "e2e", compressible: bool = False, base_files: tuple[images.FileSpec, ...] = (),
    host: str = HOST, user: str = USER, password: str | None = None, port: int | None = None, alt_names: tuple[str, ...] = (), address: str = "127.0.0.1", seed: int = 7,
) -> Published:
    """Start the registry, push the image and an index-less image, build and push the SOCI index.

    ``host``/``user``/``password``: the registry's name and its one account (default: a random password);
    ``port``: a fixed port (443: references without a port); ``alt_names``: more names on its certificate;
    ``address``: the loopback address it listens on; ``seed``: of the image's random content (another
    seed: no layer shared with the default image). The caller stops ``published.registry``."""
    tls = make_tls(base / "tls", names=[host, *alt_names], ips=sorted({"127.0.0.1", address}))
    password = password or "pw-" + secrets.token_hex(12)
    image = images.build(images.random_layers(layers_mib, compressible=compressible, base_files=base_files, seed=seed), name=name)
    plain = images.build([images.LayerSpec((images.FileSpec("srv/plain.bin", size=12 * images.MiB, seed=99), images.FileSpec("srv/hello.txt", data=b"no index here\n")))], name="plain")
    reg = Registry(base / "registry", hostname=host, tls=tls, users={user: password}, port=port, address=address)
    reg.start()
    try:
        pub = Published(reg, tls, password, image, plain)
        client = images.RegistryClient(f"https://{address}:{reg.port}", user=user, password=password, cafile=tls.ca)
        t = time.monotonic()
        client.push_image(image, REPO, "unindexed")
        client.push_image(image, V1_REPO, "v1")
        client.push_image(plain, PLAIN_REPO, "v1")
        pub.build_log["push_s"] = time.monotonic() - t
        t = time.monotonic()
        env = {"SSL_CERT_FILE": str(tls.ca)}
        auth = ("--user", f"{user}:{password}", "--tlscacert", str(tls.ca))
        with Node(base / "indexer", hosts={host: address}) as node, Containerd(node, "2", 'version = 3\n', env=env) as ctd:
            soci = Soci(node, "", env=env)  # the CLI only
            # v2: convert into a new image (index + SOCI index manifest) and push it with ctr
            ctd.ctr("images", "pull", "--local", *auth, pub.unindexed_ref)
            created = soci.cli("convert", pub.unindexed_ref, pub.ref, containerd=ctd).stdout
            ctd.ctr("images", "push", "--local", *auth, pub.ref)
            # v1: an index beside the image, pushed as a referrer
            ctd.ctr("images", "pull", "--local", *auth, pub.v1_ref)
            soci.cli("create", pub.v1_ref, containerd=ctd)
            soci.cli("push", *auth, pub.v1_ref, containerd=ctd)
            pub.build_log["soci_index_list"] = soci.cli("index", "list", containerd=ctd).stdout
        pub.build_log["index_s"] = time.monotonic() - t
        pub.build_log["convert_output"] = created
        return pub
    except BaseException:
        reg.stop()
        raise


def add_image(
    pub: Published, base: Path, repo: str, *, layers_mib: tuple[int, ...], seed: int, user: str, password: str, base_files: tuple[images.FileSpec, ...] = (),
    **layers: Any,
) -> tuple[str, images.Image]:
    """Push another image (``random_layers(layers_mib, seed=seed, base_files=base_files, **layers)``) to ``pub``'s registry as
    ``<repo>:unindexed`` and its ``soci convert``-ed form (SOCI v2 index) as ``<repo>:v1``; returns the
    v1 reference and the image. ``user``/``password``: an account the registry accepts now."""
    reg, tls = pub.registry, pub.tls
    image = images.build(images.random_layers(layers_mib, seed=seed, base_files=base_files, **layers), name=repo.replace("/", "-"))
    images.RegistryClient(f"https://{reg.address}:{reg.port}", user=user, password=password, cafile=tls.ca).push_image(image, repo, "unindexed")
    env = {"SSL_CERT_FILE": str(tls.ca)}
    auth = ("--user", f"{user}:{password}", "--tlscacert", str(tls.ca))
    ref = f"{reg.host}/{repo}:v1"
    with Node(base, hosts={reg.hostname: reg.address}) as node, Containerd(node, "2", 'version = 3\n', env=env) as ctd:
        soci = Soci(node, "", env=env)
        ctd.ctr("images", "pull", "--local", *auth, f"{reg.host}/{repo}:unindexed")
        soci.cli("convert", f"{reg.host}/{repo}:unindexed", ref, containerd=ctd)
        ctd.ctr("images", "push", "--local", *auth, ref)
    return ref, image


# -- a node -------------------------------------------------------------------------------------------
CREDENTIAL_HELPER = """#!/bin/sh
# docker credential helper protocol (docker-credential-<name> get): server URL on stdin, JSON out.
# Stands in for docker-credential-ecr-login, which needs AWS; answers from creds.json beside it.
dir=$(dirname "$0")
host=$(cat)
echo "$1 $host" >>"$dir/calls"
[ "$1" = get ] || exit 0
exec {python} -S -c '
import json, sys
host, creds = sys.argv[1], json.load(open(sys.argv[2]))
if host not in creds:
    print("credentials not found in native keychain"); sys.exit(1)
u, p = creds[host]
print(json.dumps({{"ServerURL": host, "Username": u, "Secret": p}}))
' "$host" "$dir/creds.json"
"""


@dataclass
class LazyNode:
    """soci-snapshotter + containerd on a :class:`daemons.Node`, configured as the scenario renders."""

    name: str
    b: NodeBootstrap
    node: Node
    soci: Soci
    ctd: Containerd
    pub: Published
    helper_dir: Path
    snapshotter: str = "soci"

    # -- CRI, as the kubelet calls it
    def cri(self, verb: str, *args: str, via_soci: bool = False, api: str = "v1", timeout: float = 120) -> tuple[int, dict[str, Any]]:
        sock = self.soci.address if via_soci else self.ctd.address
        r = subprocess.run(
            [sys.executable, str(CRI_CLIENT), str(sock), verb, *args, "--api", api, "--timeout", str(timeout)],
            capture_output=True,
            text=True,
            timeout=timeout + 30,
        )
        try:
            return r.returncode, json.loads(r.stdout)
        except json.JSONDecodeError:
            return r.returncode, {"error": "client", "message": r.stderr[-2000:]}

    def pull(self, ref: str, password: str | None = None, *, user: str = USER, via_soci: bool = False, api: str = "v1", timeout: float = 120) -> tuple[int, dict[str, Any]]:
        pw = self.pub.password if password is None else password
        return self.cri("pull", ref, "--user", user, "--password", pw, via_soci=via_soci, api=api, timeout=timeout)

    # -- what containerd and soci have
    def images(self) -> list[str]:
        return self.ctd.ctr("images", "ls", "-q", namespace=K8S).stdout.split()

    def snapshots(self) -> list[str]:
        return [line.split()[0] for line in self.ctd.ctr("snapshots", "--snapshotter", "soci", "ls", namespace=K8S).stdout.splitlines()[1:] if line.strip()]

    def fuse_mounts(self) -> list[tuple[str, str, str]]:
        return self.soci.fuse_mounts()

    def findmnt_soci(self) -> list[tuple[str, str]]:
        """``findmnt --source soci`` as on a node: (target, fstype)."""
        out = subprocess.run(["findmnt", "-rn", "--source", "soci", "-o", "TARGET,FSTYPE"], capture_output=True, text=True, check=False).stdout
        return [tuple(line.split(" ", 1)) for line in out.splitlines() if line.startswith(str(self.soci.root))]  # type: ignore[misc]

    def layer_dir(self, path: str) -> Path:
        """The FUSE mount (one image layer) that has ``path``."""
        for target, _, _ in self.fuse_mounts():
            if os.path.lexists(os.path.join(target, path)):
                return Path(target)
        raise FileNotFoundError(f"{path} is in no FUSE-mounted layer: {self.fuse_mounts()}")

    @contextlib.contextmanager
    def rootfs(self, image: Image) -> Iterator[Path]:
        """The image's root filesystem as a container sees it: a soci view snapshot of the top layer, mounted."""
        chain = _chain_id([layer.diff_id for layer in image.layers])
        key = f"soci-eks-test-view-{secrets.token_hex(4)}"
        target = self.node.base / key
        target.mkdir()
        printed = self.ctd.ctr("snapshots", "--snapshotter", self.snapshotter, "view", "--target", str(target), key, chain, namespace=K8S).stdout.strip()
        argv = shlex.split(printed.splitlines()[-1])
        assert argv[0] == "mount", printed
        subprocess.run(argv, check=True, capture_output=True)
        try:
            yield target
        finally:
            subprocess.run(["umount", str(target)], check=False, capture_output=True)
            self.ctd.ctr("snapshots", "--snapshotter", self.snapshotter, "rm", key, namespace=K8S, check=False)
            target.rmdir()

    def helper_calls(self) -> list[str]:
        p = self.helper_dir / "calls"
        return p.read_text().splitlines() if p.exists() else []


def _chain_id(diff_ids: list[str]) -> str:
    import hashlib

    chain = diff_ids[0]
    for d in diff_ids[1:]:
        chain = "sha256:" + hashlib.sha256(f"{chain} {d}".encode()).hexdigest()
    return chain


def docker_config_for(b: NodeBootstrap, registry_host: str) -> str | None:
    """The rendered docker config with the scenario's registries pointed at the test registry (same helper)."""
    if DOCKER_CONFIG_PATH not in b.paths:
        return None
    cfg = json.loads(b.file(DOCKER_CONFIG_PATH).content)
    if "credHelpers" in cfg:
        helpers = set(cfg["credHelpers"].values())
        assert helpers == {"ecr-login"}, cfg
        cfg["credHelpers"] = {registry_host: "ecr-login"}
    return json.dumps(cfg)


@contextlib.contextmanager
def lazy_node(
    base: Path, pub: Published, scenario: str, *, helper_password: str | None = None, snapshotter: str = "soci", rendered: NodeBootstrap | None = None, hosts: dict[str, str] | None = None,
    ca_file: Path | None = None, helper: Path | None = None, soci_env: dict[str, str] | None = None,
) -> Iterator[LazyNode]:
    """Start soci (rendered ``/etc/soci-snapshotter-grpc/config.toml``) then containerd (rendered
    ``/etc/containerd/config.toml``) on a fresh node; the rendered docker config (if any) goes to
    soci's ``$HOME/.docker/config.json`` with the test credential helper on soci's ``PATH``.

    ``snapshotter="overlayfs"``: the same, but the CRI plugin's snapshotter set back to containerd's
    default (the baseline for benchmarks). ``rendered``: a node rendered from another spec (named
    ``scenario`` in reports); ``hosts``: more names for the node's ``/etc/hosts``; ``ca_file``: the CA
    bundle the daemons trust (default: the published registry's CA); ``helper``: a real
    ``docker-credential-ecr-login`` to put on SOCI's ``PATH`` instead of the stand-in; ``soci_env``: more
    environment for SOCI (and so for the helper it runs)."""
    b = rendered if rendered is not None else SCENARIOS[scenario].render()
    helper_dir = base / "helper"
    helper_dir.mkdir(parents=True)
    stand_in = helper_dir / "docker-credential-ecr-login"
    if helper is not None:
        stand_in.symlink_to(helper)
    else:
        stand_in.write_text(CREDENTIAL_HELPER.format(python=sys.executable))
        stand_in.chmod(0o755)
    (helper_dir / "creds.json").write_text(json.dumps({pub.registry.host: [USER, helper_password or pub.password]}))
    ca_env = {"SSL_CERT_FILE": str(ca_file or pub.tls.ca)}
    with Node(base / "node", hosts={HOST: "127.0.0.1", **(hosts or {})}) as node:
        dc = docker_config_for(b, pub.registry.host)
        if dc is not None:
            node.write(DOCKER_CONFIG_PATH, dc, 0o600)
        soci = Soci(node, b.file(SOCI_CONFIG_PATH).content, env={**ca_env, "PATH": f"{helper_dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", **(soci_env or {})},
                    key=soci_key(b))
        config = b.file(CONTAINERD_CONFIG_PATH).content
        if snapshotter != "soci":
            config = _with_cri_snapshotter(config, snapshotter)
        ctd = Containerd(node, containerd_line(b), config, env=ca_env)
        with soci, ctd:
            yield LazyNode(scenario, b, node, soci, ctd, pub, helper_dir, snapshotter)


def _with_cri_snapshotter(config: str, snapshotter: str) -> str:
    import tomlkit

    doc = tomlkit.parse(config)
    plugins = doc["plugins"]
    table = plugins["io.containerd.cri.v1.images"] if "io.containerd.cri.v1.images" in plugins else plugins["io.containerd.grpc.v1.cri"]["containerd"]  # type: ignore[index]
    assert table["snapshotter"] == "soci"  # type: ignore[index]
    table["snapshotter"] = snapshotter  # type: ignore[index]
    return tomlkit.dumps(doc)


def read_with_timeout(path: Path, offset: int, length: int, timeout: float = 90) -> tuple[bytes | None, str, float]:
    """Read in a child process (a FUSE read can block; the test process must stay single-threaded).
    Returns (data or None, error text, seconds)."""
    code = "import os,sys\nfd=os.open(sys.argv[1],os.O_RDONLY)\nos.lseek(fd,int(sys.argv[2]),0)\nb=os.read(fd,int(sys.argv[3]))\nsys.stdout.buffer.write(b)\n"
    t = time.monotonic()
    try:
        r = subprocess.run([sys.executable, "-S", "-c", code, str(path), str(offset), str(length)], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "timeout", time.monotonic() - t
    took = time.monotonic() - t
    if r.returncode != 0:
        return None, r.stderr.decode(errors="replace").strip().splitlines()[-1], took
    return r.stdout, "", took


def sha256_of(path: Path) -> str:
    return images.sha256_file(path)


def soci_config_keys(binary: Path) -> set[str]:
    """The TOML keys soci-snapshotter-grpc knows, from the ``toml:"..."`` struct tags in its binary."""
    data = binary.read_bytes()
    return {m.decode() for m in re.findall(rb'toml:"([a-z0-9_]+)"', data)}


__all__ = ["HOST", "USER", "REPO", "LazyNode", "Published", "built_soci_keys", "lazy_node", "publish", "read_with_timeout", "soci_config_keys", "soci_key", "soci_key_for",
           "sha256_of"]
