"""Registry credentials as a node finds them, and the ``WWW-Authenticate`` challenge.

Order (what SOCI's docker keychain does through the Docker CLI's config package, plus ECR):

1. docker config (``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``): ``credHelpers[host]``
   runs ``docker-credential-<helper> get``; otherwise ``credsStore`` runs that helper (a helper that
   has nothing for the host gives no credentials: the Docker CLI does not fall back to ``auths`` then);
   otherwise ``auths`` (``auth`` = base64 ``user:password``, or ``username``/``password``, or an
   ``identitytoken``), keys compared by host (``https://host/v1/`` and ``host`` alike);
2. an ECR registry (``<account>.dkr.ecr.<region>.amazonaws.com``) without docker config credentials,
   or whose ``credHelpers`` entry is ``ecr-login`` while ``docker-credential-ecr-login`` is not on
   ``PATH``: ``ecr:GetAuthorizationToken`` through the AWS SDK (boto3; what the helper does on a node);
3. nothing: anonymous (a bearer challenge then gets an anonymous token, as for public registries).

Secrets never leave this module except as the ``Authorization`` header the client sends.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .reference import Reference

HELPER_TIMEOUT = 30.0


class CredentialError(RuntimeError):
    """Credentials could not be had (broken docker config, failing helper, no AWS credentials)."""


@dataclass(frozen=True)
class Credentials:
    """What to answer a challenge with. ``source`` says where it came from (printed; never the secret)."""

    source: str
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    """An OAuth2 refresh token (docker config ``identitytoken``, or a helper's ``<token>`` user)."""

    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def docker_config_path(env: Mapping[str, str] | None = None) -> Path:
    e = os.environ if env is None else env
    base = e.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path(e.get("HOME") or Path.home()) / ".docker" / "config.json"


def load_docker_config(path: Path) -> dict[str, Any]:
    """The docker config at ``path`` ({} when there is none)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise CredentialError(f"docker config {path}: {getattr(e, 'strerror', None) or e}") from None
    except json.JSONDecodeError as e:
        raise CredentialError(f"docker config {path}: not JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(data, dict):
        raise CredentialError(f"docker config {path}: expected a JSON object")
    return data


def _host_of(key: str) -> str:
    """``https://host/v1/`` -> ``host`` (the Docker CLI's ``ConvertToHostname``)."""
    return re.sub(r"^[a-z]+://", "", key).split("/", 1)[0]


def _from_auths(auths: Mapping[str, Any], ref: Reference, path: Path) -> Credentials | None:
    wanted = {ref.config_key, _host_of(ref.config_key)}
    for key, entry in auths.items():
        if key not in wanted and _host_of(key) not in wanted:
            continue
        if not isinstance(entry, Mapping):
            raise CredentialError(f"docker config {path}: auths[{key!r}] is not an object")
        source = f"docker config {path} auths[{key!r}]"
        if entry.get("identitytoken"):
            return Credentials(source, username=str(entry.get("username") or ""), identity_token=str(entry["identitytoken"]))
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(str(entry["auth"]), validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise CredentialError(f"{source}: 'auth' is not base64 of 'user:password'") from None
            return Credentials(source, username=user, password=password)
        if entry.get("username") or entry.get("password"):
            return Credentials(source, username=str(entry.get("username") or ""), password=str(entry.get("password") or ""))
    return None


def run_helper(helper: str, server: str, env: Mapping[str, str] | None = None) -> Credentials | None:
    """``docker-credential-<helper> get`` with ``server`` on stdin; None when it has nothing for it."""
    program = shutil.which(f"docker-credential-{helper}", path=(env or os.environ).get("PATH"))
    if program is None:
        raise CredentialError(f"the docker config names credential helper {helper!r} for {server}, but docker-credential-{helper} is not on PATH")
    try:
        r = subprocess.run([program, "get"], input=server, capture_output=True, text=True, timeout=HELPER_TIMEOUT, env=dict(env) if env is not None else None, check=False)
    except subprocess.TimeoutExpired:
        raise CredentialError(f"docker-credential-{helper} get {server}: no answer after {HELPER_TIMEOUT:.0f} s") from None
    except OSError as e:
        raise CredentialError(f"docker-credential-{helper}: {e.strerror}") from None
    if r.returncode != 0:
        said = (r.stdout.strip() or r.stderr.strip()).splitlines()
        if said and "credentials not found" in said[-1].lower():
            return None
        raise CredentialError(f"docker-credential-{helper} get {server} failed (exit {r.returncode}): {said[-1][:200] if said else 'no output'}")
    try:
        out = json.loads(r.stdout)
        user, secret = str(out["Username"]), str(out["Secret"])
    except (ValueError, KeyError, TypeError):
        raise CredentialError(f"docker-credential-{helper} get {server}: answer is not JSON with Username and Secret") from None
    source = f"credential helper docker-credential-{helper}"
    return Credentials(source, identity_token=secret) if user == "<token>" else Credentials(source, username=user, password=secret)


def ecr_credentials(account: str, region: str) -> Credentials:
    """``ecr:GetAuthorizationToken`` for the registry ``account`` through boto3 (endpoint, keys and region from
    the usual AWS settings: ``AWS_ENDPOINT_URL_ECR``, profiles, instance roles)."""
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - boto3 is a dependency
        raise CredentialError("ECR registries need boto3 (pip install boto3)") from None
    try:
        data = boto3.client("ecr", region_name=region).get_authorization_token(registryIds=[account])["authorizationData"][0]
        user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    except ClientError as e:
        err = e.response.get("Error", {})
        raise CredentialError(f"ECR GetAuthorizationToken for account {account} in {region}: {err.get('Code', 'error')}: {err.get('Message', '')}".rstrip(": ")) from None
    except BotoCoreError as e:
        raise CredentialError(f"ECR GetAuthorizationToken for account {account} in {region}: {e}") from None
    except (KeyError, IndexError, ValueError, UnicodeDecodeError):
        raise CredentialError(f"ECR GetAuthorizationToken for account {account} in {region}: no usable token in the answer") from None
    return Credentials(f"ECR GetAuthorizationToken (AWS SDK, {region})", username=user, password=password)


def find_credentials(ref: Reference, config: Mapping[str, Any], config_path: Path, env: Mapping[str, str] | None = None) -> Credentials | None:
    """Credentials for ``ref``'s registry in the order of the module docstring; None: anonymous."""
    key = ref.config_key
    helpers = config.get("credHelpers") or {}
    if not isinstance(helpers, Mapping):
        raise CredentialError(f"docker config {config_path}: credHelpers is not an object")
    helper = helpers.get(key) or helpers.get(_host_of(key))
    ecr = ref.ecr
    path_env = (env or os.environ).get("PATH")
    if helper == "ecr-login" and ecr and shutil.which("docker-credential-ecr-login", path=path_env) is None:
        return ecr_credentials(*ecr)
    if helper:
        return run_helper(str(helper), key, env)
    if config.get("credsStore"):
        return run_helper(str(config["credsStore"]), key, env)
    auths = config.get("auths") or {}
    if not isinstance(auths, Mapping):
        raise CredentialError(f"docker config {config_path}: auths is not an object")
    found = _from_auths(auths, ref, config_path)
    if found is None and ecr:
        return ecr_credentials(*ecr)
    return found


@dataclass(frozen=True)
class Challenge:
    scheme: str
    """``basic`` or ``bearer`` (lowercase)."""
    params: Mapping[str, str]


_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


def parse_challenge(header: str) -> Challenge | None:
    """``Bearer realm="https://auth.example/token",service="reg",scope="repository:x:pull"`` -> Challenge."""
    m = re.match(r"\s*([A-Za-z]+)\s*(.*)$", header or "", re.S)
    if not m:
        return None
    params = {k.lower(): (q.replace('\\"', '"') if q else b) for k, q, b in _PARAM.findall(m.group(2))}
    return Challenge(m.group(1).lower(), params)


__all__ = ["Challenge", "CredentialError", "Credentials", "docker_config_path", "ecr_credentials", "find_credentials", "load_docker_config", "parse_challenge", "run_helper"]
