"""The boot script's static-credential functions with the real AWS CLI (``aws secretsmanager
get-secret-value``, awscli from PyPI) against moto's Secrets Manager, instead of the ``aws`` shim of
test_boot_script.py: the rendered ``secret``/``add_auth``/``put`` functions, run by bash as written, put
``{"auths": {host: {"auth": base64(user:password)}}}`` into a 0600 docker config; the password is in no
output; a secret the node may not read fails naming the permission.

Deviation from a node: the API is moto on 127.0.0.1 (``AWS_ENDPOINT_URL_SECRETS_MANAGER``), with static
test keys instead of the instance profile."""

from __future__ import annotations

import base64
import email
import json
import os
import re
import subprocess
from pathlib import Path

import boto3

from tests.support.moto_server import PLACEHOLDER_KEYS, moto_server
from tests.support.scenarios import SCENARIOS

REPO = Path(__file__).resolve().parents[2]
FUNCTIONS = ("log", "fail", "put", "secret", "add_auth")


def script_functions(script: str) -> str:
    out = []
    for name in FUNCTIONS:
        m = re.search(rf"^{name}\(\) \{{ [^#\n]*; \}}$", script, re.M) or re.search(rf"^{name}\(\) \{{.*?^\}}$", script, re.M | re.S)
        assert m, f"no {name}() in the rendered boot script"
        out.append(m.group(0))
    return "\n".join(out)


def boot_script(name: str) -> str:
    msg = email.message_from_bytes(SCENARIOS[name].render().raw_user_data)
    parts = [p.get_payload(decode=True).decode() for p in msg.walk() if p.get_content_type() == "text/x-shellscript"]
    assert len(parts) == 1
    return parts[0]


def test_add_auth_with_the_real_aws_cli_against_moto(tmp_path: Path) -> None:
    script = boot_script("c22-lazy-static-release")
    assert re.search(r'^add_auth "\$DOCKER_CONFIG_FILE" "\$REGION" registry\.example\.com arn:aws:secretsmanager:\S+$', script, re.M)
    with moto_server(tmp_path) as (endpoint, moto):
        sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-west-2",
                          aws_access_key_id=PLACEHOLDER_KEYS["AWS_ACCESS_KEY_ID"], aws_secret_access_key=PLACEHOLDER_KEYS["AWS_SECRET_ACCESS_KEY"])
        password = "pw-" + os.urandom(8).hex()
        arn = sm.create_secret(Name="soci-eks/registry", SecretString=json.dumps({"username": "puller", "password": password}))["ARN"]
        cfg = tmp_path / "root" / ".docker" / "config.json"
        cfg.parent.mkdir(parents=True)
        cfg.write_text("{}")
        env = {**PLACEHOLDER_KEYS, "AWS_DEFAULT_REGION": "us-west-2", "PATH": f"{REPO / '.venv' / 'bin'}:/usr/bin:/bin", "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint, "HOME": str(tmp_path)}

        def run(secret_arn: str) -> subprocess.CompletedProcess[str]:
            body = "set -eEuo pipefail\n" + script_functions(script) + '\nadd_auth "$1" us-west-2 registry.example.com "$2"\n'
            return subprocess.run(["bash", "-c", body, "add_auth", str(cfg), secret_arn], capture_output=True, text=True, env=env, timeout=120, check=False)

        r = run(arn)
        assert r.returncode == 0, r.stderr
        assert json.loads(cfg.read_text()) == {"auths": {"registry.example.com": {"auth": base64.b64encode(f"puller:{password}".encode()).decode()}}}
        assert cfg.stat().st_mode & 0o777 == 0o600
        assert password not in r.stdout + r.stderr
        assert "GetSecretValue" in moto.log_text() or "POST / " in moto.log_text()

        r = run(arn.replace("soci-eks/registry", "soci-eks/other"))
        assert r.returncode != 0 and "secretsmanager:GetSecretValue" in r.stderr and password not in r.stdout + r.stderr
        assert json.loads(cfg.read_text())["auths"]["registry.example.com"], "a failed read leaves the earlier config intact"
