"""The pure parts of ``images check``: references, challenges, platforms, docker config lookups (with real
credential-helper programs), the index documents and per-layer reasons."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from soci_component.images import NoZtoc, Platform, ReferenceError, parse
from soci_component.images import soci as s
from soci_component.images.auth import CredentialError, find_credentials, parse_challenge

# -- references -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "host", "repo", "ref", "api"), [
    ("busybox", "docker.io", "library/busybox", "latest", "registry-1.docker.io"),
    ("team/app:1.2", "docker.io", "team/app", "1.2", "registry-1.docker.io"),
    ("localhost:5000/app", "localhost:5000", "app", "latest", "localhost:5000"),
    ("123456789012.dkr.ecr.us-west-2.amazonaws.com/a/b:v1", "123456789012.dkr.ecr.us-west-2.amazonaws.com", "a/b", "v1", "123456789012.dkr.ecr.us-west-2.amazonaws.com"),
    ("public.ecr.aws/soci-workshop-examples/tensorflow_gpu:latest", "public.ecr.aws", "soci-workshop-examples/tensorflow_gpu", "latest", "public.ecr.aws"),
    ("r.example/app@sha256:" + "a" * 64, "r.example", "app", "sha256:" + "a" * 64, "r.example"),
])
def test_references(text: str, host: str, repo: str, ref: str, api: str) -> None:
    r = parse(text)
    assert (r.host, r.repository, r.reference, r.api_host) == (host, repo, ref, api)


def test_ecr_names_and_docker_hub_key() -> None:
    assert parse("123456789012.dkr.ecr.eu-central-1.amazonaws.com/x").ecr == ("123456789012", "eu-central-1")
    assert parse("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/x").ecr == ("123456789012", "us-gov-west-1")
    assert parse("public.ecr.aws/x/y").ecr is None and parse("evil.com/123456789012.dkr.ecr.us-west-2.amazonaws.com").ecr is None
    assert parse("busybox").config_key == "https://index.docker.io/v1/" and parse("r.example:5000/a").config_key == "r.example:5000"


@pytest.mark.parametrize("bad", ["", "a b", "Team/App", "r.example/app:", "r.example/app@sha256:abc", "r.example/app:" + "x" * 200])
def test_bad_references(bad: str) -> None:
    with pytest.raises(ReferenceError):
        parse(bad)


@given(st.from_regex(r"[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,2}", fullmatch=True), st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True))
def test_reference_round_trip(path: str, tag: str) -> None:
    r = parse(f"reg.example:5000/{path}:{tag}")
    assert (r.repository, r.tag) == (path, tag) and parse(str(r)) == r


# -- challenges, platforms --------------------------------------------------------------------------------


def test_challenges() -> None:
    c = parse_challenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')
    assert c is not None and c.scheme == "bearer"
    assert dict(c.params) == {"realm": "https://auth.example/token", "service": "registry.example", "scope": "repository:a/b:pull,push"}
    b = parse_challenge('Basic realm="soci-eks-test"')
    assert b is not None and (b.scheme, dict(b.params)) == ("basic", {"realm": "soci-eks-test"})
    assert parse_challenge("") is None


def test_platforms_match_as_containerd_normalises_them() -> None:
    assert Platform("linux", "arm64", "v8").matches(Platform("linux", "arm64"))
    assert Platform("linux", "aarch64").matches(Platform("linux", "arm64", "v8"))
    assert Platform("linux", "x86_64").matches(Platform("linux", "amd64")) and Platform("linux", "amd64", "v1").matches(Platform("linux", "amd64"))
    assert not Platform("linux", "amd64").matches(Platform("linux", "arm64")) and not Platform("linux", "arm", "v7").matches(Platform("linux", "arm", "v6"))
    assert Platform.parse("linux/arm64/v8") == Platform("linux", "arm64", "v8")
    with pytest.raises(ValueError, match="not a platform"):
        Platform.parse("amd64")


# -- docker config and credential helpers ---------------------------------------------------------------

HELPER = """#!/bin/sh
read server
echo "$server" >> "$(dirname "$0")/asked"
case "$server" in
  ok.example) echo '{"ServerURL":"ok.example","Username":"helper-user","Secret":"helper-secret"}' ;;
  token.example) echo '{"ServerURL":"token.example","Username":"<token>","Secret":"refresh-me"}' ;;
  broken.example) echo 'boom: keychain locked' >&2; exit 3 ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac
"""


def _helper(tmp: Path) -> dict[str, str]:
    prog = tmp / "docker-credential-fake"
    prog.write_text(HELPER)
    prog.chmod(0o755)
    return {"PATH": f"{tmp}:/usr/bin:/bin"}


def test_docker_config_order(tmp_path: Path) -> None:
    env = _helper(tmp_path)
    path = tmp_path / "config.json"
    basic = base64.b64encode(b"file-user:file-pw").decode()
    cfg = {"auths": {"https://ok.example/v1/": {"auth": basic}, "plain.example": {"auth": basic}, "https://index.docker.io/v1/": {"auth": basic}},
           "credHelpers": {"ok.example": "fake", "token.example": "fake", "broken.example": "fake", "none.example": "fake"}}
    found = find_credentials(parse("ok.example/a"), cfg, path, env)
    assert found is not None and (found.username, found.password, found.source) == ("helper-user", "helper-secret", "credential helper docker-credential-fake")
    tok = find_credentials(parse("token.example/a"), cfg, path, env)
    assert tok is not None and tok.identity_token == "refresh-me" and not tok.password
    assert find_credentials(parse("none.example/a"), cfg, path, env) is None
    with pytest.raises(CredentialError, match=r"docker-credential-fake get broken.example failed \(exit 3\): boom: keychain locked"):
        find_credentials(parse("broken.example/a"), cfg, path, env)
    plain = find_credentials(parse("plain.example/a"), cfg, path, env)
    assert plain is not None and (plain.username, plain.password) == ("file-user", "file-pw") and "auths['plain.example']" in plain.source
    hub = find_credentials(parse("busybox"), cfg, path, env)
    assert hub is not None and hub.username == "file-user"
    # credsStore: asked for everything without a credHelpers entry; its "not found" is final (no fallback to auths)
    store = {**cfg, "credsStore": "fake"}
    assert find_credentials(parse("plain.example/a"), store, path, env) is None
    assert (tmp_path / "asked").read_text().split() == ["ok.example", "token.example", "none.example", "broken.example", "plain.example"]
    with pytest.raises(CredentialError, match="docker-credential-missing is not on PATH"):
        find_credentials(parse("x.example/a"), {"credHelpers": {"x.example": "missing"}}, path, env)
    with pytest.raises(CredentialError, match="not base64"):
        find_credentials(parse("plain.example/a"), {"auths": {"plain.example": {"auth": "%%%"}}}, path, env)
    assert repr(found).count("helper-secret") == 0


# -- index documents, per-layer reasons ------------------------------------------------------------------


def _desc(mt: str, digest: str, **extra: object) -> dict[str, object]:
    return {"mediaType": mt, "digest": digest, "size": 10, **extra}


def test_image_entries_leave_out_soci_indexes_and_attestations() -> None:
    index = {"manifests": [
        _desc(s.OCI_MANIFEST, "sha256:a", platform={"os": "linux", "architecture": "amd64"}),
        _desc(s.OCI_MANIFEST, "sha256:s", artifactType=s.SOCI_V2, annotations={s.ANN_IMAGE_MANIFEST: "sha256:a"}, platform={"os": "linux", "architecture": "amd64"}),
        _desc(s.OCI_MANIFEST, "sha256:t", annotations={s.ANN_IMAGE_MANIFEST: "sha256:b"}, platform={"os": "linux", "architecture": "arm64"}),
        _desc(s.OCI_MANIFEST, "sha256:att", annotations={"vnd.docker.reference.type": "attestation-manifest"}, platform={"os": "unknown", "architecture": "unknown"}),
        _desc(s.DOCKER_MANIFEST, "sha256:b", platform={"os": "linux", "architecture": "arm64", "variant": "v8"}),
    ]}
    assert [d["digest"] for d, _ in s.image_entries(index)] == ["sha256:a", "sha256:b"]
    assert s.listed_soci_indexes(index) == {"sha256:a": ("sha256:s", True), "sha256:b": ("sha256:t", False)}
    assert s.pick(s.image_entries(index), Platform("linux", "arm64")) == index["manifests"][4]
    index["manifests"].append(_desc("application/vnd.example+json", "sha256:x"))
    with pytest.raises(s.DocumentError, match=r"manifests\[5\]"):
        s.image_entries(index)


LAYER_TYPES = ["application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.docker.image.rootfs.diff.tar.gzip"]


@given(st.lists(st.tuples(st.integers(0, 40 << 20), st.sampled_from(LAYER_TYPES), st.booleans()), min_size=1, max_size=12), st.integers(0, 20 << 20))
def test_layer_reasons(layers: list[tuple[int, str, bool]], min_size: int) -> None:
    descs = [{"mediaType": mt, "digest": f"sha256:{i:064x}", "size": size} for i, (size, mt, _) in enumerate(layers)]
    ztocs = {d["digest"]: f"sha256:{i + 100:064x}" for i, (d, (_, _, has)) in enumerate(zip(descs, layers, strict=True)) if has}
    for r, (size, mt, has) in zip(s.layer_reports(descs, ztocs, min_size), layers, strict=True):
        assert (r.ztoc is not None) == has and (r.reason is None) == has
        if not has:
            expected = NoZtoc.BELOW_MIN_LAYER_SIZE if size < min_size else NoZtoc.UNSUPPORTED_COMPRESSION if "zstd" in mt else NoZtoc.NOT_IN_INDEX
            assert r.reason is expected
    assert {r.reason for r in s.layer_reports(descs, None, min_size)} == {NoZtoc.NO_INDEX}


def test_soci_index_documents() -> None:
    doc = {"config": {"mediaType": s.SOCI_V2, "digest": "sha256:c", "size": 2}, "layers": [
        {"mediaType": "application/octet-stream", "digest": "sha256:z1", "size": 5, "annotations": {s.ANN_LAYER_DIGEST: "sha256:l1"}},
        {"mediaType": "application/vnd.amazon.soci.prefetch.v1+json", "digest": "sha256:p", "size": 5, "annotations": {s.ANN_LAYER_DIGEST: "sha256:l2"}},
    ]}
    assert s.index_version(doc) == s.SOCI_V2 and s.ztocs_of(doc) == {"sha256:l1": "sha256:z1"}
    with pytest.raises(s.DocumentError, match="not a SOCI index"):
        s.index_version({"config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:c", "size": 2}, "layers": []})
    assert set(s.ACCEPT.split(", ")) == s.MANIFEST_TYPES | s.INDEX_TYPES  # every type the check can read, and no schema 1
