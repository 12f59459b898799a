"""``images check`` against a registry under an ECR name, with ECR tokens from moto.

The registry (distribution 2.8, TLS) answers as ``<account>.dkr.ecr.us-west-2.amazonaws.com`` on port
443 of its own loopback address, reached through a private ``/etc/hosts`` (``daemons.Node``'s mount
namespace, which the CLI's process inherits); its one account is moto's ECR token. The token comes
from moto's ``GetAuthorizationToken`` through boto3 (no docker config) and through the real
``docker-credential-ecr-login`` the docker config names, as on a node. Rotating the token (moto's
generation 1) makes the registry refuse the old one: a clear 401 naming the token's source."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.images import support
from tests.node.images import RegistryClient
from tests.support.daemons import Node, Registry, Tls, daemon, make_tls
from tests.support.moto_server import PLACEHOLDER_KEYS, moto_server

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, REGION = "123456789012", "us-west-2"
ECR_HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
TOKEN_PASSWORD = f"{ACCOUNT}-auth-token"
"""What moto's GetAuthorizationToken hands out for registry ``ACCOUNT``: base64("AWS:<account>-auth-token")."""
ADDRESS = "127.0.0.9"
WRAPPER = """#!/bin/sh
echo "$1" >> "$(dirname "$0")/calls"
exec {helper} "$@"
"""


@dataclass
class Ecr:
    base: Path
    tls: Tls
    endpoint: str
    moto_log: Path
    generation: Path
    image: support.Image

    def cli(self, *args: str, docker_config: dict[str, object] | None = None, path: str = "/usr/bin:/bin", aws_keys: bool = True) -> subprocess.CompletedProcess[str]:
        """The CLI in a process of its own, inside a node whose ``/etc/hosts`` maps the ECR name to the registry."""
        dc = self.base / "dc" / str(len(list(self.base.glob("dc/*"))))
        dc.mkdir(parents=True)
        if docker_config is not None:
            (dc / "config.json").write_text(json.dumps(docker_config))
        env = {**(PLACEHOLDER_KEYS if aws_keys else {}), "AWS_ENDPOINT_URL_ECR": self.endpoint, "AWS_EC2_METADATA_DISABLED": "true", "AWS_ECR_DISABLE_CACHE": "true",
               "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "PATH": path, "HOME": str(dc), "DOCKER_CONFIG": str(dc),
               "PYTHONPATH": str(ROOT)}
        argv = [sys.executable, "-m", "soci_component", "images", "check", "--ca-file", str(self.tls.ca), *args]
        with Node(self.base / f"node{len(list(self.base.glob('node*')))}", hosts={ECR_HOST: ADDRESS}):
            return subprocess.run(argv, cwd=dc, capture_output=True, text=True, env=env, timeout=120, check=False)

    def token_requests(self) -> int:
        return sum(1 for line in self.moto_log.read_text().splitlines() if "POST / " in line)


@pytest.fixture(scope="module")
def ecr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ecr]:
    base = tmp_path_factory.mktemp("ecr")
    generation = base / "generation"
    with moto_server(base, account=ACCOUNT, token_generation=generation) as (endpoint, moto):
        tls = make_tls(base / "tls", names=[ECR_HOST], ips=[ADDRESS])
        with Registry(base / "registry", hostname=ECR_HOST, tls=tls, users={"AWS": TOKEN_PASSWORD}, port=443, address=ADDRESS):
            image = support.build((11,), seed=61, name="images-ecr")
            out = base / "soci"
            support.convert(support.write_layout(base / "oci", [support.variant(image)], as_index=False), out)
            support.push_layout(RegistryClient(f"https://{ADDRESS}:443", user="AWS", password=TOKEN_PASSWORD, cafile=tls.ca), out, "team/app", "v1")
            yield Ecr(base, tls, endpoint, moto.log, generation, image)


def test_ecr_token_through_the_sdk(ecr: Ecr) -> None:
    before = ecr.token_requests()
    r = ecr.cli("--json", "--require", "lazy", f"{ECR_HOST}/team/app:v1")
    assert r.returncode == 0, r.stderr
    (p,) = json.loads(r.stdout)["images"][0]["platforms"]
    assert p["index"] == "v2" and [x["digest"] for x in p["layers"]] == [layer.digest for layer in ecr.image.layers]
    assert p["lazyShare"] == pytest.approx(support.expected_share(ecr.image), abs=1e-6)
    assert ecr.token_requests() == before + 1, "one GetAuthorizationToken for the registry"
    assert TOKEN_PASSWORD not in r.stdout + r.stderr


def test_ecr_token_through_the_credential_helper(ecr: Ecr, tmp_path: Path) -> None:
    """The docker config names ``ecr-login`` (as the rendered node config does): the real helper runs."""
    wrapper = tmp_path / "docker-credential-ecr-login"
    wrapper.write_text(WRAPPER.format(helper=daemon("ecr-login").bin("docker-credential-ecr-login")))
    wrapper.chmod(0o755)
    before = ecr.token_requests()
    r = ecr.cli("--require", "lazy", f"{ECR_HOST}/team/app:v1", docker_config={"credHelpers": {ECR_HOST: "ecr-login"}}, path=f"{tmp_path}:/usr/bin:/bin")
    assert r.returncode == 0, r.stderr
    assert "ready: every image loads lazily" in r.stdout
    assert (tmp_path / "calls").read_text().split() == ["get"]
    assert ecr.token_requests() == before + 1


def test_rotated_token_is_refused_clearly(ecr: Ecr) -> None:
    """moto hands out another token (generation 1) that the registry does not know: 401, naming the source."""
    ecr.generation.write_text("1")
    try:
        r = ecr.cli(f"{ECR_HOST}/team/app:v1")
    finally:
        ecr.generation.write_text("0")
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert "unauthorized (401) with the credentials from ECR GetAuthorizationToken (AWS SDK, us-west-2)" in r.stderr
    assert f"{TOKEN_PASSWORD}-1" not in r.stderr


def test_without_aws_credentials(ecr: Ecr) -> None:
    """No AWS credentials anywhere: the SDK's own reason, no traceback (and the helper named by the docker config,
    when it is not on PATH, is replaced by the SDK: the same call the helper makes)."""
    before = ecr.token_requests()
    r = ecr.cli(f"{ECR_HOST}/team/app:v1", docker_config={"credHelpers": {ECR_HOST: "ecr-login"}}, aws_keys=False)
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert f"ECR GetAuthorizationToken for account {ACCOUNT} in {REGION}: Unable to locate credentials" in r.stderr
    assert ecr.token_requests() == before
