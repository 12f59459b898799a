"""The rendered docker config's ECR credential helper for real: Debian's docker-credential-ecr-login
(amazon-ecr-credential-helper), run by SOCI 0.15 as the rendered ``credHelpers`` says, gets its token
from moto's ECR (``GetAuthorizationToken``, through the SDK's ``AWS_ENDPOINT_URL_ECR`` override) and
SOCI lazily loads the image from a registry reached under an ECR-shaped name with that token.

Deviations from a node: the AWS API is moto on 127.0.0.1 (static test keys instead of the instance
profile through IMDS); the registry is distribution 2.8 with htpasswd holding moto's token, behind a
private ``/etc/hosts`` name and the test CA. moto's token never changes, so rotation is not shown here.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.node.lazy import lazy_node, publish
from tests.support.daemons import daemon
from tests.support.moto_server import PLACEHOLDER_KEYS, moto_server

ACCOUNT, REGION = "123456789012", "us-west-2"
ECR_HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
TOKEN_PASSWORD = f"{ACCOUNT}-auth-token"
"""What moto's GetAuthorizationToken hands out: base64("AWS:<account>-auth-token")."""


def test_real_ecr_helper_fetches_the_token_from_moto_and_soci_loads_lazily(tmp_path: Path) -> None:
    with moto_server(tmp_path) as (endpoint, moto):
        pub = publish(tmp_path / "published", layers_mib=(24, 16), name="ecr", host=ECR_HOST, user="AWS", password=TOKEN_PASSWORD)
        try:
            helper = daemon("ecr-login").bin("docker-credential-ecr-login")
            env = {**PLACEHOLDER_KEYS, "AWS_ENDPOINT_URL_ECR": endpoint, "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true", "AWS_ECR_DISABLE_CACHE": "true"}
            with lazy_node(tmp_path / "n", pub, "c22-lazy-ecr-release", hosts={ECR_HOST: "127.0.0.1"}, helper=helper, soci_env=env) as ln:
                dc = json.loads(ln.node.path("/root/.docker/config.json").read_text())
                assert dc["credHelpers"] == {pub.registry.host: "ecr-login"}
                rc, out = ln.pull(pub.ref, user="AWS", password=TOKEN_PASSWORD)  # containerd: as the kubelet's ECR provider would pass it
                assert rc == 0, out
                assert len(ln.fuse_mounts()) == len(pub.image.layers), ln.soci.log_problems()
                marker = pub.image.file("app/marker.txt")
                assert (ln.layer_dir(marker.path) / marker.path).read_bytes() == marker.content()
                calls = [line for line in moto.log_text().splitlines() if "POST / " in line]
                assert calls, "the helper never asked the ECR API"
                token = base64.b64encode(f"AWS:{TOKEN_PASSWORD}".encode()).decode()
                assert TOKEN_PASSWORD not in ln.soci.log_text() and token not in ln.soci.log_text()
        finally:
            pub.registry.stop()
