"""The rendered boot script (the ``text/x-shellscript`` part), executed for real on a node in a box.

Each test boots a fresh node filesystem (``sandbox.NodeSandbox``: overlayfs over ``/`` in a private
mount namespace) and runs the script exactly as rendered. Only the node's external commands are
shimmed (``systemctl`` — which really starts the installed soci-snapshotter on the socket the
script waits for —, ``dnf``, ``aws``, ``journalctl``, and ``sleep``, which is time-scaled); the SOCI
release is downloaded with the node's own ``curl`` from a server on 127.0.0.1 that plays the
release site. The SOCI that runs is the one built from its Go module (``scripts/build-go-daemons``):
the release tarball holds the pinned version's (0.16.1, the default), the AMI holds the package's
(0.15.0, what the catalogue says the AMIs ship).
"""

from __future__ import annotations

import base64
import json
import secrets as pysecrets
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from soci_component.render import RenderedNode as NodeBootstrap
from soci_component.render import Writer, plan
from soci_component.render import render as render_node
from soci_component.render.paths import AMI_BINARY, RELEASE_BINARY
from soci_component.render.paths import DOCKER_CONFIG as DOCKER_CONFIG_PATH
from soci_component.render.paths import SOCI_CONFIG as SOCI_CONFIG_PATH
from soci_component.render.paths import SOCI_KUBECONFIG as SOCI_KUBECONFIG_PATH
from soci_component.spec import DEFAULT_SOCI_VERSION, SOCI_SOCKET, CredentialKind, NodeGroupSpec, StaticCredentials, UpstreamRelease
from tests.node.al2023 import AMI_SOCI_SERVICE as AMI_SERVICE
from tests.node.al2023 import AMI_SOCI_SOCKET as AMI_SOCKET
from tests.node.lazy import soci_key_for
from tests.node.release_server import ReleaseServer, publish, release_tarball
from tests.node.sandbox import Entry, NodeSandbox, sha256
from tests.support.daemons import daemon, make_tls
from tests.support.scenarios import CLUSTER, SCENARIOS, SECRETS

VERSION = DEFAULT_SOCI_VERSION  # the scenarios' pinned release; the served tarball holds that SOCI as built
TGZ = f"soci-snapshotter-{VERSION}-linux-amd64.tar.gz"
ARCH = "amd64"
GOLDEN = Path(__file__).resolve().parents[1] / "golden"
ECR_HELPER = "/usr/bin/docker-credential-ecr-login"

# Scenarios that matter: both SOCI sources, every credential source, containerd 1.7 and 2.2,
# a custom root (AMI drop-in) and a pinned checksum (its scenario pins 0.15.0: that SOCI is served).
# Not the parallel (FastImagePull) scenarios: their config uses content_store = "containerd", and SOCI
# then waits at start for containerd, which the sandbox does not run (tests/node/test_node_boot.py
# boots them with containerd).
BOOT_SCENARIOS = [
    "c17-lazy-ecr-ami",
    "c17-lazy-cri-release",
    "c17-lazy-static-release",
    "c17-lazy-kube-ami",
    "c17-fallback-ecr-release",
    "c22-lazy-ecr-release",
    "c22-lazy-cri-ami",
    "c22-lazy-static-ami",
    "c22-lazy-kube-release",
    "c22-lazy-custom-root-mirrors",
    "c22-lazy-ecr+static-release-pinned",
]


# -- fixtures ---------------------------------------------------------------------------------------
def soci_binary(version: str | None) -> bytes:
    """soci-snapshotter-grpc as built at ``version`` (None: the AMI package's)."""
    return daemon(soci_key_for(version)).bin("soci-snapshotter-grpc").read_bytes()


@pytest.fixture(scope="module")
def soci_grpc() -> bytes:
    """The SOCI of the default release (what the ``good`` tree serves as ``VERSION``)."""
    return soci_binary(VERSION)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory, soci_grpc: bytes) -> Iterator[ReleaseServer]:
    """Release trees: ``good`` (the real SOCI of each version a scenario pins), and one per way a download can be wrong."""
    root = tmp_path_factory.mktemp("release-site")
    pinned = {s.spec.soci_source.version for s in map(SCENARIOS.__getitem__, BOOT_SCENARIOS) if isinstance(s.spec.soci_source, UpstreamRelease)}
    tarballs = {}
    for version in sorted(pinned | {VERSION}):
        grpc = soci_grpc if version == VERSION else soci_binary(version)
        tarballs[version] = release_tarball({"soci-snapshotter-grpc": (grpc, 0o755), "soci": (b"#!/bin/sh\n", 0o755), "NOTICE.md": (b"notice\n", 0o644)})
        publish(root, "good", version, ARCH, tarballs[version])
    good = tarballs[VERSION]
    tampered = bytearray(good)
    tampered[len(tampered) // 2] ^= 0xFF
    name = publish(root, "tampered", VERSION, ARCH, bytes(tampered))
    (root / "tampered" / f"v{VERSION}" / f"{name}.sha256sum").write_text(f"{sha256(good)}  {name}\n")  # the published sum of the real one
    publish(root, "wrong-sum", VERSION, ARCH, good, sha256sum=f"{sha256(b'something else')}  {name}\n")
    publish(root, "garbage-sum", VERSION, ARCH, good, sha256sum="<html>rate limited</html>\n")
    publish(root, "no-binary", VERSION, ARCH, release_tarball({"soci": (b"#!/bin/sh\n", 0o755)}))
    (root / "missing").mkdir()
    # SOCI that does not come up: exits at once / says READY but never opens its socket
    crash = b"#!/bin/sh\necho 'soci-snapshotter-grpc: failed to mount /dev/fuse: fake failure for the test' >&2\nexit 1\n"
    publish(root, "crash", VERSION, ARCH, release_tarball({"soci-snapshotter-grpc": (crash, 0o755)}))
    hang = (
        b"#!/usr/bin/python3\nimport os, socket, sys, time\n"
        b"print('soci-snapshotter-grpc: fake: ready, but no socket', file=sys.stderr, flush=True)\n"
        b"s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b'READY=1', os.environ['NOTIFY_SOCKET'].replace('@', '\\0', 1))\n"
        b"time.sleep(3600)\n"
    )
    publish(root, "no-socket", VERSION, ARCH, release_tarball({"soci-snapshotter-grpc": (hang, 0o755)}))
    tls = make_tls(tmp_path_factory.mktemp("release-tls"), names=("localhost",), ips=("127.0.0.1",))
    with ReleaseServer(root, tls.cert, tls.key) as srv:
        srv.good_sha256 = {v: sha256(t) for v, t in tarballs.items()}  # type: ignore[attr-defined]  # version -> the good tarball's
        srv.ca = tls.ca  # type: ignore[attr-defined]
        yield srv


@pytest.fixture
def creds() -> dict[str, str]:
    """Canned Secrets Manager secrets, fresh random values per test (so a leak is findable)."""
    password = "pw-" + pysecrets.token_hex(16)
    return {
        SECRETS.static["registry.example.com"]: json.dumps({"username": "soci-puller", "password": password}),
        SECRETS.kubeconfig_token: "sa-token-" + pysecrets.token_hex(24),
    }


@pytest.fixture
def node(tmp_path: Path, creds: dict[str, str], release: ReleaseServer) -> Iterator[NodeSandbox]:
    with NodeSandbox(tmp_path / "node", secrets=creds) as sb:
        sb.env["CURL_CA_BUNDLE"] = str(release.ca)  # type: ignore[attr-defined]  # the node's curl trusts the release site's test CA
        yield sb


# -- helpers ----------------------------------------------------------------------------------------
def render(name: str, url_base: str, sha256_pin: str | None = None) -> NodeBootstrap:
    """The scenario's bootstrap, with a release source pointed at the local release site."""
    s = SCENARIOS[name]
    spec = s.spec
    if isinstance(spec.soci_source, UpstreamRelease):
        pins = {ARCH: sha256_pin} if sha256_pin else {}
        if spec.soci_source.sha256 and sha256_pin is None:
            pins = dict(spec.soci_source.sha256)  # keep the scenario's (wrong) pins
        spec = replace(spec, soci_source=replace(spec.soci_source, url_base=url_base, sha256=pins))
    b = render_node(plan(spec, s.profile), CLUSTER, SECRETS)
    assert b.script is not None
    return b


def is_release(b: NodeBootstrap) -> bool:
    return b.report.soci.source == "release"


def scenario_soci(b: NodeBootstrap) -> bytes:
    """The soci-snapshotter-grpc this node ends up running: the pinned release's, or the AMI package's."""
    return soci_binary(b.report.soci.version if is_release(b) else None)


def seed_ami(node: NodeSandbox, b: NodeBootstrap) -> None:
    """What an AL2023 AMI with the soci-snapshotter package has before the script runs."""
    if not is_release(b):
        node.seed(AMI_BINARY, soci_binary(None), 0o755)
        node.seed("/etc/systemd/system/soci-snapshotter.service", AMI_SERVICE)
        node.seed("/etc/systemd/system/soci-snapshotter.socket", AMI_SOCKET)


def expected_content(b: NodeBootstrap, spec: NodeGroupSpec, path: str, creds: dict[str, str]) -> bytes:
    """What the node must end up with at ``path``: the renderer's bytes, plus what the script adds at boot."""
    content = b.file(path).content
    spec_static = [c for c in spec.credentials if isinstance(c, StaticCredentials)]
    if path == DOCKER_CONFIG_PATH and spec_static:
        cfg = json.loads(content)
        for c in spec_static:
            secret = json.loads(creds[SECRETS.static[c.registry]])
            auth = base64.b64encode(f"{secret['username']}:{secret['password']}".encode()).decode()
            cfg.setdefault("auths", {})[c.registry] = {"auth": auth}
        return json.dumps(cfg)
    if path == SOCI_KUBECONFIG_PATH:
        cfg = json.loads(content)
        cfg["users"][0]["user"]["token"] = creds[SECRETS.kubeconfig_token]
        return json.dumps(cfg)
    return content.encode()


def expected_written(b: NodeBootstrap, soci_grpc: bytes, creds: dict[str, str]) -> dict[str, tuple[str, int, str | None]]:
    """node path -> (kind, mode, sha256 or None for JSON compared separately) for everything the boot writes."""
    out: dict[str, tuple[str, int, str | None]] = {}
    for f in b.files:
        if f.writer != Writer.BOOT_SCRIPT:
            continue
        rewritten = f.path == SOCI_KUBECONFIG_PATH or (f.path == DOCKER_CONFIG_PATH and "auths" in json.loads(f.content))
        out[f.path] = ("file", f.mode, None if rewritten else sha256(f.content))
    if is_release(b):
        out[RELEASE_BINARY] = ("file", 0o755, sha256(soci_grpc))
    return out


def assert_node_state(node: NodeSandbox, b: NodeBootstrap, spec: NodeGroupSpec, soci_grpc: bytes, creds: dict[str, str]) -> dict[str, Entry]:
    soci_root = spec.tuning.root
    written = node.written()
    daemon_dirs = (soci_root + "/",)  # SOCI writes under its --root only (Debian's 0.4.1 also wrote /var/lib/soci-snapshotter-grpc/content)
    daemon_made = {p: e for p, e in written.items() if p.startswith(daemon_dirs) or p == SOCI_SOCKET}
    by_dnf = {p: e for p, e in written.items() if p == ECR_HELPER}
    by_script = {p: e for p, e in written.items() if p not in daemon_made and p not in by_dnf}
    expected = expected_written(b, soci_grpc, creds)
    assert sorted(by_script) == sorted(expected), "the script wrote exactly the renderer's boot-script files (+ the release binary), nothing else"
    for path, (kind, mode, digest) in expected.items():
        got = by_script[path]
        assert (got.kind, got.mode) == (kind, mode), f"{path}: {got!r}"
        if digest is not None:
            assert got.sha256 == digest, f"{path} differs from the renderer's bytes"
        else:
            assert json.loads(node.read(path)) == json.loads(expected_content(b, spec, path, creds)), path
    assert written[SOCI_SOCKET].kind == "socket", "the real soci-snapshotter listens where the script waited"
    leftovers = [p for p in (node.upper / "tmp").rglob("*")] if (node.upper / "tmp").exists() else []
    assert leftovers == [], "the download dir is removed"
    return written


def assert_no_secret(creds: dict[str, str], *texts: str) -> None:
    for value in creds.values():
        try:
            secret = json.loads(value)
            needles = [secret["password"], base64.b64encode(f"{secret['username']}:{secret['password']}".encode()).decode()]
        except (ValueError, TypeError):
            needles = [value]
        for text in texts:
            for n in needles:
                assert n not in text, "a secret leaked into the script's output or logs"


# -- the boot, for real -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", BOOT_SCENARIOS)
def test_boot_writes_renderer_files_starts_soci_and_is_idempotent(name: str, node: NodeSandbox, release: ReleaseServer, creds: dict[str, str]) -> None:
    spec = SCENARIOS[name].spec
    version = spec.soci_source.version if isinstance(spec.soci_source, UpstreamRelease) else None
    pin = release.good_sha256[version] if name.endswith("-pinned") else None  # type: ignore[attr-defined]
    b = render(name, f"{release.url}/good", pin)
    soci_grpc = scenario_soci(b)
    soci_root = spec.tuning.root
    # The golden files/ tree is the same bytes (only the download URL differs in the script).
    for f in b.files:
        golden = GOLDEN / name / "files" / f.path.lstrip("/")
        assert golden.read_text() == f.content, f"golden {golden} is stale"
    seed_ami(node, b)
    release.requests.clear()

    first = node.run(b.script)
    assert first.returncode == 0, f"{first.stderr}\n--- soci log:\n{node.daemon_log()[-3000:]}\n--- calls: {node.calls()}"
    assert "soci-eks: SOCI is up" in first.stderr
    pid1 = node.daemon_pid()
    assert pid1, node.daemon_log()
    state1 = assert_node_state(node, b, spec, soci_grpc, creds)

    # The daemon that runs is the one the units say, with the rendered config and root.
    argv = Path(f"/proc/{pid1}/cmdline").read_bytes().split(b"\0")[:-1]
    argv = [a.decode() for a in argv]
    if is_release(b):
        assert argv == [RELEASE_BINARY, "--address", SOCI_SOCKET, "--config", SOCI_CONFIG_PATH, "--root", soci_root]
        environ = dict(kv.split("=", 1) for kv in Path(f"/proc/{pid1}/environ").read_text().split("\0") if "=" in kv)
        assert environ["DOCKER_CONFIG"] == "/root/.docker" and environ["HOME"] == "/root"
        pinned = bool(SCENARIOS[name].spec.soci_source.sha256)  # type: ignore[union-attr]
        tgz = f"/good/v{version}/soci-snapshotter-{version}-linux-{ARCH}.tar.gz"
        assert release.requests == ([tgz] if pinned else [tgz, tgz + ".sha256sum"])
    elif soci_root != "/var/lib/soci-snapshotter-grpc":
        assert argv == [AMI_BINARY, "--address", SOCI_SOCKET, "--config", SOCI_CONFIG_PATH, "--root", soci_root]
    else:
        assert argv == [AMI_BINARY, "--address", SOCI_SOCKET]
    assert (node.varlib / Path(soci_root).relative_to("/var/lib") / "snapshotter").is_dir(), "SOCI initialised its root"
    assert '"level":"fatal"' not in node.daemon_log()

    calls = node.calls("systemctl")
    assert calls[:3] == [["daemon-reload"], ["enable", "soci-snapshotter.socket", "soci-snapshotter"], ["restart", "soci-snapshotter.socket", "soci-snapshotter"]]
    ecr = spec.credential(CredentialKind.ECR_CREDENTIAL_HELPER) is not None
    assert node.calls("dnf") == ([["install", "-y", "-q", "amazon-ecr-credential-helper"]] if ecr else [])
    static = spec.credential(CredentialKind.STATIC) is not None
    kube = spec.credential(CredentialKind.KUBERNETES_SECRETS) is not None
    assert len(node.calls("aws")) == static + kube
    if static:
        assert state1[DOCKER_CONFIG_PATH].mode == 0o600
    assert_no_secret(creds, b.script, first.stdout, first.stderr, node.daemon_log(), (node.state / "calls.jsonl").read_text())

    # Again, on the same node: same files, SOCI restarted, nothing reinstalled from dnf.
    node.clear_calls()
    second = node.run(b.script)
    assert second.returncode == 0, second.stderr
    pid2 = node.daemon_pid()
    assert pid2 and pid2 != pid1, "restart gives a fresh daemon"
    state2 = assert_node_state(node, b, spec, soci_grpc, creds)
    daemon_dirs = (soci_root + "/",)
    files = {p: e for p, e in state1.items() if not p.startswith(daemon_dirs)}
    assert {p: e for p, e in state2.items() if not p.startswith(daemon_dirs)} == files
    assert node.calls("dnf") == []
    assert_no_secret(creds, second.stdout, second.stderr)


# -- a bad download installs nothing ----------------------------------------------------------------
BAD_DOWNLOADS = {
    "tampered": f"checksum mismatch for {TGZ}: not installing",
    "wrong-sum": f"checksum mismatch for {TGZ}: not installing",
    "garbage-sum": f"no valid SHA-256 for {TGZ}",
    "no-binary": f"{TGZ} has no soci-snapshotter-grpc",
    "missing": "download of",
}


@pytest.mark.parametrize("tree", sorted(BAD_DOWNLOADS))
def test_bad_release_download_fails_and_installs_nothing(tree: str, node: NodeSandbox, release: ReleaseServer) -> None:
    b = render("c22-lazy-cri-release", f"{release.url}/{tree}")
    r = node.run(b.script)
    assert r.returncode != 0
    assert f"soci-eks: ERROR: {BAD_DOWNLOADS[tree]}" in r.stderr
    assert node.written() == {}, "no binary, no partial file, no config"
    assert not (node.upper / "tmp").exists() or list((node.upper / "tmp").iterdir()) == [], "download dir removed"
    assert node.calls("systemctl") == [], "nothing started"


def test_pinned_checksum_mismatch_fails_without_asking_for_the_published_sum(node: NodeSandbox, release: ReleaseServer) -> None:
    b = render("c22-lazy-ecr+static-release-pinned", f"{release.url}/good")  # the scenario pins 'a' * 64
    release.requests.clear()
    r = node.run(b.script)
    assert r.returncode != 0
    assert "checksum mismatch" in r.stderr
    assert node.written() == {}
    assert not any(p.endswith(".sha256sum") for p in release.requests), "a pinned digest is not replaced by the mirror's sum file"


def test_bad_download_after_a_good_boot_keeps_the_installed_binary(node: NodeSandbox, release: ReleaseServer, soci_grpc: bytes) -> None:
    good = node.run(render("c22-lazy-cri-release", f"{release.url}/good").script)  # type: ignore[arg-type]
    assert good.returncode == 0, good.stderr
    before = node.written()
    node.stop_daemons()
    bad = node.run(render("c22-lazy-cri-release", f"{release.url}/tampered").script)  # type: ignore[arg-type]
    assert bad.returncode != 0 and "checksum mismatch" in bad.stderr
    after = node.written()
    assert after[RELEASE_BINARY] == before[RELEASE_BINARY] == Entry("file", 0o755, sha256(soci_grpc))
    assert not any(p.endswith(".tmp") for p in after)


# -- SOCI does not come up --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tree", "daemon_says"),
    [("crash", "failed to mount /dev/fuse: fake failure for the test"), ("no-socket", "fake: ready, but no socket")],
)
def test_soci_not_coming_up_fails_loudly_with_its_journal(tree: str, daemon_says: str, node: NodeSandbox, release: ReleaseServer) -> None:
    b = render("c22-lazy-static-release", f"{release.url}/{tree}")
    r = node.run(b.script)
    assert r.returncode != 0
    assert "soci-eks: ERROR: SOCI did not come up in 30 s: containerd and kubelet will not start" in r.stderr
    assert daemon_says in r.stderr, "the unit's journal is shown"
    assert ["-u", "soci-snapshotter", "-n", "50", "--no-pager"] in node.calls("journalctl")
    assert SOCI_CONFIG_PATH in node.written(), "the configuration is in place for a later restart"


# -- credentials ------------------------------------------------------------------------------------
def test_static_secret_that_is_not_username_password_fails_without_leaking(node: NodeSandbox, release: ReleaseServer, creds: dict[str, str]) -> None:
    leaked = "pw-" + pysecrets.token_hex(16)
    (node.state / "secrets.json").write_text(json.dumps({SECRETS.static["registry.example.com"]: json.dumps({"user": "x", "pass": leaked})}))
    b = render("c22-lazy-static-release", f"{release.url}/good")
    r = node.run(b.script)
    assert r.returncode != 0
    assert 'is not {"username","password"} JSON' in r.stderr
    assert leaked not in r.stdout + r.stderr
    cfg = node.written()[DOCKER_CONFIG_PATH]
    assert cfg.mode == 0o600 and json.loads(node.read(DOCKER_CONFIG_PATH)) == {"auths": {}}, "docker config not half-merged"
    assert not any(p.endswith((".auth", ".tmp")) for p in node.written())
    assert node.calls("systemctl") == []


def test_unreadable_secret_fails_naming_the_permission(node: NodeSandbox, release: ReleaseServer) -> None:
    (node.state / "secrets.json").write_text("{}")
    b = render("c17-lazy-kube-release", f"{release.url}/good")
    r = node.run(b.script)
    assert r.returncode != 0
    assert "cannot read secret arn:aws:secretsmanager:" in r.stderr and "secretsmanager:GetSecretValue" in r.stderr
    assert node.calls("systemctl") == []
