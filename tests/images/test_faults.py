"""Faults: a clear message on stderr, exit code 2, nothing on stdout and no file written — never a traceback.

The real registry (distribution 2.8, TLS, htpasswd) for down / 401 / 404 / untrusted TLS / an image index
with an entry of unknown media type; :mod:`tests.images.fault_server` (a process of its own) for what a
well-behaved registry never does: a truncated answer, 429, a schema 1 manifest, an HTML page."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from soci_component.images import ErrorKind, RegistryError, check_image
from tests.images import support
from tests.images.conftest import REPO, Box, docker_config
from tests.node.lazy import USER
from tests.support.daemons import Process, Registry, free_port

FAULT_SERVER = Path(__file__).with_name("fault_server.py")


def _failed(r: object, cwd: Path, *needles: str) -> str:
    """Exit 2, nothing on stdout, nothing written in ``cwd``, every needle in stderr, no traceback."""
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)  # type: ignore[attr-defined]
    assert r.stdout == "", r.stdout  # type: ignore[attr-defined]
    err: str = r.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in err, err
    for n in needles:
        assert n in err, (n, err)
    assert list(cwd.iterdir()) == [], list(cwd.iterdir())
    return err


def test_registry_down(box: Box, tmp_path: Path) -> None:
    reg = Registry(tmp_path.parent / f"{tmp_path.name}-down")
    reg.start()
    reg.stop()
    ref = f"127.0.0.1:{reg.port}/soci-eks/app:v1"
    _failed(box.cli(ref, cwd=tmp_path), tmp_path, f"error: {ref}: 127.0.0.1:{reg.port}: registry unreachable (connection refused)")
    with pytest.raises(RegistryError) as e:
        check_image(ref, auth=box.auth())
    assert e.value.kind is ErrorKind.UNREACHABLE


def test_wrong_and_missing_credentials(box: Box, tmp_path: Path) -> None:
    wrong = docker_config(tmp_path.parent / f"{tmp_path.name}-dc" / "config.json", box.host, USER, "not-the-password")
    err = _failed(box.cli(box.ref(REPO), cwd=tmp_path, env={"DOCKER_CONFIG": str(wrong.parent)}), tmp_path,
                  "unauthorized (401) with the credentials from docker config", f"auths['{box.host}']")
    assert "not-the-password" not in err and box.pub.password not in err
    empty = tmp_path.parent / f"{tmp_path.name}-empty"
    empty.mkdir()
    _failed(box.cli(box.ref(REPO), cwd=tmp_path, env={"DOCKER_CONFIG": str(empty)}), tmp_path, f"{box.host} requires credentials", "none found")
    js = box.cli("--json", box.ref(REPO), cwd=tmp_path, env={"DOCKER_CONFIG": str(wrong.parent)})
    _failed(js, tmp_path)
    assert json.loads(js.stderr)["errors"][0]["kind"] == "unauthorized"


def test_not_found(box: Box, tmp_path: Path) -> None:
    _failed(box.cli(box.ref(REPO, "no-such-tag"), cwd=tmp_path), tmp_path, "not found (404)", "MANIFEST_UNKNOWN")
    _failed(box.cli(box.ref("no/such-repo"), cwd=tmp_path), tmp_path, "manifest no/such-repo:v1: not found (404)")
    # one bad reference among good ones: still nothing on stdout
    _failed(box.cli(box.ref(REPO), box.ref(REPO, "no-such-tag"), cwd=tmp_path), tmp_path, f"{box.ref(REPO, 'no-such-tag')}: ")


def test_untrusted_tls_and_bad_references(box: Box, tmp_path: Path) -> None:
    _failed(box.cli(box.ref(REPO), cwd=tmp_path, ca=False), tmp_path, "TLS failed", "--ca-file")
    _failed(box.cli("Not A Reference", cwd=tmp_path), tmp_path, "is not an image reference")
    _failed(box.cli(f"{box.host}/UPPER/case:v1", cwd=tmp_path), tmp_path, "must be lowercase")


def test_manifest_list_with_an_unknown_media_type(box: Box, tmp_path: Path) -> None:
    """An image index whose entry claims a media type that is neither an image manifest nor an index."""
    manifest = box.images["app"].manifest
    weird = {"schemaVersion": 2, "mediaType": support.OCI_INDEX, "manifests": [
        {"mediaType": support.OCI_MANIFEST, "digest": support.digest_of(manifest), "size": len(manifest), "platform": {"os": "linux", "architecture": "amd64"}},
        {"mediaType": "application/vnd.example.unknown+json", "digest": support.digest_of(manifest), "size": len(manifest), "platform": {"os": "linux", "architecture": "arm64"}},
    ]}
    box.client.push_manifest(REPO, "weird", json.dumps(weird).encode(), support.OCI_INDEX)  # the registry takes it
    _failed(box.cli(box.ref(REPO, "weird"), cwd=tmp_path), tmp_path,
            "manifests[1]", "'application/vnd.example.unknown+json'", "not an OCI/Docker image manifest or index")


@contextlib.contextmanager
def fault_server(tmp: Path, routes: dict[str, dict[str, object]], port: int | None = None) -> Iterator[str]:
    spec = tmp / "routes.json"
    spec.write_text(json.dumps({"/v2/": {"status": 200, "body": "{}"}, **routes}))
    port = port or free_port()
    proc = Process("fault server", [sys.executable, str(FAULT_SERVER), str(port), str(spec)], env={"PATH": "/usr/bin:/bin"}, log=tmp / "fault.log")
    proc.start()
    try:
        proc.wait_until(lambda: "ready" in proc.log_text(), "the fault server listens", 10)
        yield f"127.0.0.1:{port}"
    finally:
        proc.stop()


def test_misbehaving_registry(box: Box, tmp_path: Path) -> None:
    manifest = box.images["app"].manifest.decode()
    oci = {"Content-Type": support.OCI_MANIFEST}
    routes = {
        "/v2/t/truncated/manifests/v1": {"headers": oci, "body": manifest[:200], "length": len(manifest)},
        "/v2/t/limited/manifests/v1": {"status": 429, "headers": {"Retry-After": "30", "Content-Type": "application/json"},
                                       "body": '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}'},
        "/v2/t/schema1/manifests/v1": {"headers": {"Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws"},
                                       "body": '{"schemaVersion": 1, "name": "t/schema1", "tag": "v1", "fsLayers": []}'},
        "/v2/t/html/manifests/v1": {"headers": {"Content-Type": "text/html"}, "body": "<html>login</html>"},
        "/v2/t/wrongdigest/manifests/v1": {"headers": {**oci, "Docker-Content-Digest": "sha256:" + "0" * 64}, "body": manifest},
    }
    work = tmp_path.parent / f"{tmp_path.name}-srv"
    work.mkdir()
    with fault_server(work, routes) as host:
        def run(repo: str) -> object:
            return box.cli("--plain-http", f"{host}/t/{repo}:v1", cwd=tmp_path, ca=False)

        _failed(run("truncated"), tmp_path, f"{host}: truncated answer for http://{host}/v2/t/truncated/manifests/v1")
        _failed(run("limited"), tmp_path, "rate limited (429)", "retry after 30 s", "TOOMANYREQUESTS")
        _failed(run("schema1"), tmp_path, "Docker schema 1 manifest")
        _failed(run("html"), tmp_path, "the answer is 'text/html', not an OCI/Docker image manifest")
        _failed(run("wrongdigest"), tmp_path, "do not hash to the registry's sha256:0000")
        from soci_component.images import Auth

        for repo, kind in (("truncated", ErrorKind.TRUNCATED), ("limited", ErrorKind.RATE_LIMITED), ("schema1", ErrorKind.NOT_AN_IMAGE)):
            with pytest.raises(RegistryError) as e:
                check_image(f"{host}/t/{repo}:v1", auth=Auth(plain_http=True, docker_config=tmp_path / "none.json"))
            assert e.value.kind is kind, (repo, e.value)


def test_anonymous_bearer_token(box: Box, tmp_path: Path) -> None:
    """A public registry's flow (public.ecr.aws, Docker Hub): 401 with a Bearer challenge, an anonymous token for
    ``repository:<name>:pull`` from the realm, then the manifest and config with that token."""
    image = box.images["plain"]
    port = free_port()
    host = f"127.0.0.1:{port}"
    challenge = f'Bearer realm="http://{host}/token",service="fake-registry"'
    need = {"auth": "Bearer tok-t-app", "challenge": challenge}
    routes = {
        "/v2/": {"status": 401, "headers": {"WWW-Authenticate": challenge}, "body": "{}"},
        "/token": {"headers": {"Content-Type": "application/json"}, "body": '{"access_token": "tok-t-app"}'},
        "/v2/t/app/manifests/v1": {**need, "headers": {"Content-Type": support.OCI_MANIFEST}, "body": image.manifest.decode()},
        f"/v2/t/app/blobs/{image.config_digest}": {**need, "headers": {"Content-Type": "application/octet-stream"}, "body": image.config.decode()},
    }
    work = tmp_path.parent / f"{tmp_path.name}-srv"
    work.mkdir()
    from soci_component.images import Auth

    with fault_server(work, routes, port):
        report = check_image(f"{host}/t/app:v1", auth=Auth(plain_http=True, docker_config=tmp_path / "none.json"))
        log = (work / "fault.log").read_text().splitlines()
    (p,) = report.platforms
    assert report.digest == image.manifest_digest and [x.digest for x in p.layers] == [layer.digest for layer in image.layers]
    tokens = [line for line in log if line.startswith("GET /token")]
    assert tokens == ["GET /token?scope=repository%3At%2Fapp%3Apull&service=fake-registry auth=-"], log
    assert f"GET /v2/t/app/blobs/{image.config_digest} auth=Bearer" in log
