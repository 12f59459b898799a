"""The kubeconfig as kubectl reads it: contexts, files relative to the kubeconfig, KUBECONFIG merging, exec credential
plugins (run for real: a script that prints an ExecCredential), and clear errors that never carry a secret."""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from pathlib import Path

import pytest
import yaml

from soci_component.verify.errors import ErrorKind, KubeError
from soci_component.verify.kubeconfig import load, run_exec

CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def kubeconfig(path: Path, *, user: dict | None = None, cluster: dict | None = None, current: str | None = "main", extra_contexts: list | None = None) -> Path:
    doc = {
        "apiVersion": "v1", "kind": "Config", **({"current-context": current} if current else {}),
        "clusters": [{"name": "c", "cluster": cluster if cluster is not None else {"server": "https://api.example:6443", "certificate-authority-data": base64.b64encode(CA).decode()}}],
        "contexts": [{"name": "main", "context": {"cluster": "c", "user": "u"}}, *(extra_contexts or [])],
        "users": [{"name": "u", "user": user if user is not None else {"token": "s3cret-token"}}],
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def plugin(tmp_path: Path, body: str, name: str = "cred-plugin") -> Path:
    p = tmp_path / name
    p.write_text("#!/bin/sh\n" + body)
    p.chmod(p.stat().st_mode | stat.S_IXUSR)
    return p


def test_current_context_server_ca_and_token(tmp_path: Path) -> None:
    t = load(kubeconfig(tmp_path / "kc"))
    assert (t.context, t.server, t.user, t.ca_pem, t.static.token) == ("main", "https://api.example:6443", "u", CA, "s3cret-token")
    assert "s3cret" not in repr(t), "secrets never in a repr"


def test_files_are_relative_to_the_kubeconfig_and_token_files_are_read(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ca.pem").write_bytes(CA)
    (tmp_path / "sub" / "token").write_text("from-file\n")
    t = load(kubeconfig(tmp_path / "sub" / "kc", cluster={"server": "https://x", "certificate-authority": "ca.pem"}, user={"tokenFile": "token"}))
    assert t.ca_pem == CA and t.static.token == "from-file"


def test_kubeconfig_env_merges_files_and_the_first_to_set_a_name_wins(tmp_path: Path) -> None:
    first = kubeconfig(tmp_path / "a", user={"token": "first"})
    second = kubeconfig(tmp_path / "b", user={"token": "second"}, current="other", extra_contexts=[{"name": "other", "context": {"cluster": "c", "user": "u"}}])
    t = load(env={"KUBECONFIG": f"{first}{os.pathsep}{second}", "HOME": str(tmp_path)})
    assert t.context == "main" and t.static.token == "first"
    t = load(context="other", env={"KUBECONFIG": f"{first}{os.pathsep}{second}", "HOME": str(tmp_path)})
    assert t.context == "other" and t.static.token == "first"


@pytest.mark.parametrize(("kc", "says"), [
    ({"cluster": {"server": "api.example:6443"}}, "has no https:// server"),
    ({"cluster": {"server": "https://x", "proxy-url": "socks5://p:1080"}}, "proxy-url"),
    ({"cluster": {"server": "https://x", "certificate-authority-data": "not base64!"}}, "is not base64"),
    ({"cluster": {"server": "https://x", "certificate-authority": "/nonexistent/ca.pem"}}, "/nonexistent/ca.pem"),
    ({"user": {"auth-provider": {"name": "gcp"}}}, "legacy auth-provider 'gcp'"),
    ({"user": {"client-certificate-data": base64.b64encode(b"cert").decode()}}, "needs its key"),
    ({"user": {"exec": {"command": "aws", "apiVersion": "client.authentication.k8s.io/v1alpha1"}}}, "is not supported"),
    ({"current": None}, "has no current-context"),
])
def test_unusable_kubeconfigs_are_refused_with_the_reason(tmp_path: Path, kc: dict, says: str) -> None:
    with pytest.raises(KubeError) as e:
        load(kubeconfig(tmp_path / "kc", **kc))
    assert e.value.kind is ErrorKind.CONFIG and says in e.value.message, e.value.message


def test_no_kubeconfig_and_an_unknown_context_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(KubeError) as e:
        load(env={"HOME": str(tmp_path)})
    assert e.value.kind is ErrorKind.CONFIG and "--kubeconfig" in e.value.message and "pulumi stack output kubeconfig" in e.value.message
    with pytest.raises(KubeError) as e:
        load(kubeconfig(tmp_path / "kc"), context="prod")
    assert "no context 'prod' (it has: main)" in e.value.message


def test_an_exec_plugin_runs_with_its_args_and_env_and_its_token_is_used(tmp_path: Path) -> None:
    p = plugin(tmp_path, 'echo "$1 $CLUSTER $KUBERNETES_EXEC_INFO" > "$(dirname "$0")/seen"\n'
                         'printf \'{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential",'
                         '"status":{"token":"k8s-aws-v1.abc","expirationTimestamp":"2099-01-01T00:00:00Z"}}\'\n')
    t = load(kubeconfig(tmp_path / "kc", user={"exec": {"command": "./cred-plugin", "args": ["get-token"], "env": [{"name": "CLUSTER", "value": "soci-dev"}],
                                                         "apiVersion": "client.authentication.k8s.io/v1beta1"}}))
    assert t.exec_plugin is not None
    secret = run_exec(t.exec_plugin, {"PATH": "/usr/bin:/bin"})
    assert secret.token == "k8s-aws-v1.abc" and secret.expires is not None and secret.expires > time.time() + 86400
    seen = (tmp_path / "seen").read_text()
    assert seen.startswith("get-token soci-dev ") and json.loads(seen.split(" ", 2)[2])["spec"]["interactive"] is False
    assert p.exists()


def test_a_missing_or_failing_plugin_is_a_credentials_error_with_its_last_words(tmp_path: Path) -> None:
    t = load(kubeconfig(tmp_path / "kc", user={"exec": {"command": "aws-not-installed", "installHint": "install the AWS CLI v2\nsee docs"}}))
    assert t.exec_plugin is not None
    with pytest.raises(KubeError) as e:
        run_exec(t.exec_plugin, {"PATH": str(tmp_path)})
    assert e.value.kind is ErrorKind.CREDENTIALS and "'aws-not-installed' is not on PATH (install the AWS CLI v2)" in e.value.message
    plugin(tmp_path, "echo 'Traceback noise' >&2\necho 'An error occurred (ExpiredToken): The security token included in the request is expired' >&2\nexit 255\n", "aws")
    t = load(kubeconfig(tmp_path / "kc2", user={"exec": {"command": "aws", "args": ["eks", "get-token", "--cluster-name", "c"]}}))
    assert t.exec_plugin is not None
    with pytest.raises(KubeError) as e:
        run_exec(t.exec_plugin, {"PATH": f"{tmp_path}:/usr/bin:/bin"})
    assert e.value.kind is ErrorKind.CREDENTIALS and "ExpiredToken" in e.value.message and "aws sso login" in e.value.message
    plugin(tmp_path, "echo not-json\n", "aws")
    with pytest.raises(KubeError) as e:
        run_exec(t.exec_plugin, {"PATH": f"{tmp_path}:/usr/bin:/bin"})
    assert "printed no ExecCredential" in e.value.message
