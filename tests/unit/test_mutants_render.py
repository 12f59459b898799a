"""What the node gets, where the mutation run (scripts/mutation) found no behavioural test: each test here fails
on the mutant named in its docstring. Expectations are literals; boundaries are tested on both sides."""

from __future__ import annotations

import gzip
import random
import shlex
from typing import Any

import pytest

from soci_component import pipeline
from soci_component.render import mime, render
from soci_component.render.script import Auth
from soci_component.spec import (
    AmiPin,
    CredentialKind,
    EcrCredentialHelper,
    KubernetesSecrets,
    NodeGroupSpec,
    PullMode,
    StaticCredentials,
    UpstreamRelease,
)
from tests.support.scenarios import CLUSTER, SECRETS


def group(**kw: Any) -> NodeGroupSpec:
    return NodeGroupSpec(name="g", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",), **kw)


def planned(spec: NodeGroupSpec):  # type: ignore[no-untyped-def]
    return pipeline.plan_node(spec)


# --------------------------------------------------------------------------------------------
# EC2's 16 KB limit on the gzipped document


def _gzipping_to(size: int) -> bytes:
    """Over 16384 bytes (4 KB of one letter, then incompressible bytes of a fixed seed) whose level-9 gzip, as mime.fit
    makes it, is exactly ``size`` bytes."""
    noise = random.Random(17).randbytes(size + 64)
    for n in range(size - 128, size + 64):
        data = b"a" * 4096 + noise[:n]
        if len(gzip.compress(data, compresslevel=9, mtime=0)) == size:
            return data
    raise AssertionError(f"no length gzips to {size}")


def test_gzipped_user_data_of_16384_bytes_fits_and_16385_is_refused() -> None:
    """Mutant user-data-gzip-16385-accepted: EC2 takes at most 16384 bytes, gzipped or not."""
    fits = _gzipping_to(16384)
    assert len(fits) > 16384  # so fit() must gzip it
    packed = mime.fit(fits)
    assert len(packed) == 16384 and gzip.decompress(packed) == fits
    over = _gzipping_to(16385)
    with pytest.raises(mime.UserDataTooLarge) as e:
        mime.fit(over)
    assert e.value.compressed == 16385 and e.value.size == len(over)


# --------------------------------------------------------------------------------------------
# credentials files


@pytest.mark.parametrize("registry, key", [
    ("docker.io", "https://index.docker.io/v1/"),
    ("index.docker.io", "https://index.docker.io/v1/"),
    ("registry-1.docker.io", "https://index.docker.io/v1/"),
    ("registry.example.com", "registry.example.com"),
    ("quay.io", "quay.io"),
])
def test_static_credentials_key_per_registry(registry: str, key: str) -> None:
    """Mutant docker-hub-registry-1-missed: SOCI's docker keychain asks for Docker Hub as https://index.docker.io/v1/ whichever
    of its host names the image uses (service/keychain/dockerconfig/dockerconfig.go); any other registry is keyed by its host."""
    p = planned(group(credentials=(StaticCredentials(registry),)))
    assert p.script.auths == (Auth(registry, key),)


def test_credential_files_are_root_only() -> None:
    """Mutant docker-config-world-readable: the docker config gets registry passwords at boot, the kubeconfig a token."""
    spec = group(credentials=(EcrCredentialHelper(), StaticCredentials("registry.example.com"), KubernetesSecrets()))
    node = render(planned(spec), CLUSTER, SECRETS)
    modes = {f.path: f.mode for f in node.files}
    assert modes["/root/.docker/config.json"] == 0o600
    assert modes["/etc/soci-snapshotter-grpc/kubeconfig"] == 0o600
    puts = {line.split()[1]: line.split()[2] for line in node.script.splitlines() if line.startswith("put ")}
    assert puts["/root/.docker/config.json"] == "0600" and puts["/etc/soci-snapshotter-grpc/kubeconfig"] == "0600"
    assert spec.credential(CredentialKind.STATIC) is not None


# --------------------------------------------------------------------------------------------
# every value on a shell line is one word


def _words(line: str) -> list[str]:
    lex = shlex.shlex(line, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    return list(lex)


def test_install_line_quotes_url_and_version() -> None:
    """Mutant script-install-unquoted: ';', '&', '|', '(' are valid in urlBase; unquoted they would run commands on the node."""
    url = "https://mirror.example.com/soci;reboot&x|y(z)"
    spec = group(soci_source=UpstreamRelease(url_base=url, sha256={"amd64": "a" * 64}))
    script = render(planned(spec), CLUSTER, SECRETS).script
    lines = [line for line in script.splitlines() if line.startswith("install_soci ")]
    assert len(lines) == 1
    assert _words(lines[0]) == ["install_soci", "0.15.0", url, "$SOCI_BINARY", "a" * 64, ""]


def test_every_generated_shell_line_keeps_the_node_group_name_one_word() -> None:
    """The node-group name on the log line is one shell word (issue 17: 'quoted on every shell line')."""
    spec = NodeGroupSpec(name="a-b-c", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",))
    script = render(planned(spec), CLUSTER, SECRETS).script
    log = [line for line in script.splitlines() if line.startswith("log 'node group")]
    assert len(log) == 1 and len(_words(log[0])) == 2 and _words(log[0])[1].startswith("node group a-b-c: ")


def test_fallback_without_credentials_gets_the_rotating_ecr_helper_on_the_node() -> None:
    """Mutant fallback-default-credentials-cri-proxy, in the node's files: fallback lazily loads, so its default is the rotating
    ECR helper for the cluster's own registry, not cri-proxy (whose credentials expire after ~12 h on ECR, soci#1084)."""
    import json
    import tomllib

    spec = group(pull_mode=PullMode.LAZY_WITH_PARALLEL_FALLBACK, soci_source=UpstreamRelease())
    node = render(planned(spec), CLUSTER, SECRETS)
    docker = json.loads(node.file("/root/.docker/config.json").content)
    assert docker == {"credHelpers": {"111122223333.dkr.ecr.us-west-2.amazonaws.com": "ecr-login"}}
    assert "cri_keychain" not in tomllib.loads(node.file("/etc/soci-snapshotter-grpc/config.toml").content)
    assert "config" not in node.nodeconfig["spec"].get("kubelet", {})  # no imageServiceEndpoint: the kubelet talks to containerd
