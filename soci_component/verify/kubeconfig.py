"""A kubeconfig read as ``kubectl`` reads it, down to what one HTTPS client needs: server, TLS trust, credentials.

Supported: ``KUBECONFIG`` (several files, the first that sets a name wins, as client-go merges them), ``--kubeconfig``,
``~/.kube/config``; ``current-context`` or ``--context``; a cluster's ``server``, ``certificate-authority(-data)``,
``insecure-skip-tls-verify``, ``tls-server-name``; a user's ``token``, ``tokenFile``, ``client-certificate(-data)`` +
``client-key(-data)``, ``username``/``password`` and ``exec`` credential plugins (``client.authentication.k8s.io``
v1 and v1beta1: the stack's kubeconfig runs ``aws eks get-token``), whose credentials are kept until they expire.
Relative file paths are relative to the kubeconfig file. Legacy ``auth-provider`` plugins and ``proxy-url`` are
refused with the reason (a silent fallback would authenticate as someone else or not at all).

Errors are :class:`KubeError` of kind ``config`` or ``credentials`` with a message a person reads; secrets
(tokens, keys, passwords) never appear in one.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from .errors import ErrorKind, KubeError

EXEC_TIMEOUT = 60.0
EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")


@dataclass(frozen=True)
class ExecPlugin:
    """A ``users[].user.exec`` credential plugin."""

    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    api_version: str = "client.authentication.k8s.io/v1beta1"
    install_hint: str = ""
    base: Path = Path(".")
    """Directory of the kubeconfig (a relative ``command`` with a slash is relative to it, as client-go does)."""


@dataclass(frozen=True)
class Secret:
    """Credentials resolved now (static) or by an exec plugin; never printed."""

    token: str = field(default="", repr=False)
    cert_pem: bytes = field(default=b"", repr=False)
    key_pem: bytes = field(default=b"", repr=False)
    basic: tuple[str, str] | None = field(default=None, repr=False)
    expires: float | None = None
    """``time.time()`` after which an exec plugin must run again (None: never expires)."""


@dataclass(frozen=True)
class Target:
    """What one context says: where the API server is, how to trust it, who to be."""

    context: str
    server: str
    user: str
    """The kubeconfig's user entry name (printed in messages)."""
    ca_pem: bytes | None = field(default=None, repr=False)
    insecure: bool = False
    tls_server_name: str = ""
    static: Secret = Secret()
    exec_plugin: ExecPlugin | None = None
    source: str = ""
    """The kubeconfig file(s) read."""


def default_paths(env: Mapping[str, str] | None = None) -> list[Path]:
    e = os.environ if env is None else env
    if e.get("KUBECONFIG"):
        return [Path(p).expanduser() for p in e["KUBECONFIG"].split(os.pathsep) if p]
    return [Path(e.get("HOME") or Path.home()) / ".kube" / "config"]


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise KubeError(ErrorKind.CONFIG, f"kubeconfig {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise KubeError(ErrorKind.CONFIG, f"kubeconfig {path} is not valid YAML ({str(e).splitlines()[0]})") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise KubeError(ErrorKind.CONFIG, f"kubeconfig {path} is not a kubeconfig (a YAML mapping with clusters, contexts, users)")
    return doc


def _named(docs: Sequence[tuple[Path, dict[str, Any]]], section: str, name: str) -> tuple[Path, dict[str, Any]] | None:
    """The first entry called ``name`` in ``section`` over every file (client-go: the first file to set a name wins)."""
    inner = section[:-1]
    for path, doc in docs:
        for entry in doc.get(section) or []:
            if isinstance(entry, dict) and entry.get("name") == name:
                value = entry.get(inner)
                return path, value if isinstance(value, dict) else {}
    return None


def _file_or_data(base: Path, entry: Mapping[str, Any], file_key: str, data_key: str, what: str) -> bytes | None:
    if entry.get(data_key):
        try:
            return base64.b64decode(str(entry[data_key]), validate=True)
        except ValueError:
            raise KubeError(ErrorKind.CONFIG, f"kubeconfig: {what} ({data_key}) is not base64") from None
    if entry.get(file_key):
        p = Path(str(entry[file_key])).expanduser()
        p = p if p.is_absolute() else base / p
        try:
            return p.read_bytes()
        except OSError as e:
            raise KubeError(ErrorKind.CONFIG, f"kubeconfig: {what} {p}: {e.strerror}") from None
    return None


def load(path: Path | None = None, context: str | None = None, env: Mapping[str, str] | None = None) -> Target:
    """The target of ``context`` (default: ``current-context``) in ``path`` (default: ``KUBECONFIG`` / ``~/.kube/config``)."""
    paths = [path] if path is not None else default_paths(env)
    if path is not None and not path.exists():
        raise KubeError(ErrorKind.CONFIG, f"no kubeconfig at {path}")
    docs = [(p, _read(p)) for p in paths]
    docs = [(p, d) for p, d in docs if d]
    where = ", ".join(str(p) for p in paths)
    if not docs:
        raise KubeError(ErrorKind.CONFIG, f"no kubeconfig ({where} not found): pass --kubeconfig FILE, set KUBECONFIG, or for a stack of this project "
                                          "run where `pulumi stack output kubeconfig` works (Pulumi CLI logged in to the stack's backend)")
    name = context or next((str(d["current-context"]) for _, d in docs if d.get("current-context")), "")
    if not name:
        raise KubeError(ErrorKind.CONFIG, f"kubeconfig {where} has no current-context; pass --context NAME")
    ctx = _named(docs, "contexts", name)
    if ctx is None:
        known = sorted({str(e.get("name")) for _, d in docs for e in d.get("contexts") or [] if isinstance(e, dict)})
        raise KubeError(ErrorKind.CONFIG, f"kubeconfig {where} has no context {name!r}" + (f" (it has: {', '.join(known)})" if known else ""))
    cluster_name, user_name = str(ctx[1].get("cluster") or ""), str(ctx[1].get("user") or "")
    found = _named(docs, "clusters", cluster_name)
    if found is None:
        raise KubeError(ErrorKind.CONFIG, f"kubeconfig {where}: context {name!r} names cluster {cluster_name!r}, which is not in it")
    cpath, cluster = found
    server = str(cluster.get("server") or "")
    if not server.startswith(("https://", "http://")):
        raise KubeError(ErrorKind.CONFIG, f"kubeconfig {cpath}: cluster {cluster_name!r} has no https:// server")
    if cluster.get("proxy-url"):
        raise KubeError(ErrorKind.CONFIG, f"kubeconfig {cpath}: cluster {cluster_name!r} uses proxy-url, which verify does not support; "
                                          "run it where the API server is reachable directly")
    ca = _file_or_data(cpath.parent, cluster, "certificate-authority", "certificate-authority-data", "the cluster's CA")
    upath, user = _named(docs, "users", user_name) or (cpath, {})
    if user.get("auth-provider"):
        provider = (user["auth-provider"] or {}).get("name", "?") if isinstance(user["auth-provider"], dict) else "?"
        raise KubeError(ErrorKind.CONFIG, f"kubeconfig {upath}: user {user_name!r} uses the legacy auth-provider {provider!r}, which client-go removed; "
                                          "use an exec credential plugin (for EKS: aws eks get-token)")
    return Target(context=name, server=server.rstrip("/"), user=user_name, ca_pem=ca, insecure=bool(cluster.get("insecure-skip-tls-verify")),
                  tls_server_name=str(cluster.get("tls-server-name") or ""), static=_static(upath.parent, user),
                  exec_plugin=_exec(upath.parent, user), source=where)


def _static(base: Path, user: Mapping[str, Any]) -> Secret:
    token = str(user.get("token") or "")
    if not token and user.get("tokenFile"):
        p = Path(str(user["tokenFile"])).expanduser()
        p = p if p.is_absolute() else base / p
        try:
            token = p.read_text().strip()
        except OSError as e:
            raise KubeError(ErrorKind.CONFIG, f"kubeconfig: tokenFile {p}: {e.strerror}") from None
    cert = _file_or_data(base, user, "client-certificate", "client-certificate-data", "the client certificate") or b""
    key = _file_or_data(base, user, "client-key", "client-key-data", "the client key") or b""
    if bool(cert) != bool(key):
        raise KubeError(ErrorKind.CONFIG, "kubeconfig: a client certificate needs its key (client-certificate and client-key go together)")
    basic = (str(user["username"]), str(user.get("password") or "")) if user.get("username") else None
    return Secret(token=token, cert_pem=cert, key_pem=key, basic=basic)


def _exec(base: Path, user: Mapping[str, Any]) -> ExecPlugin | None:
    spec = user.get("exec")
    if not spec:
        return None
    if not isinstance(spec, dict) or not spec.get("command"):
        raise KubeError(ErrorKind.CONFIG, "kubeconfig: the user's exec plugin has no command")
    env = {str(e.get("name")): str(e.get("value", "")) for e in spec.get("env") or [] if isinstance(e, dict) and e.get("name")}
    version = str(spec.get("apiVersion") or "client.authentication.k8s.io/v1beta1")
    if version not in EXEC_API_VERSIONS:
        raise KubeError(ErrorKind.CONFIG, f"kubeconfig: exec plugin apiVersion {version!r} is not supported (use {' or '.join(EXEC_API_VERSIONS)})")
    return ExecPlugin(command=str(spec["command"]), args=tuple(str(a) for a in spec.get("args") or []), env=env, api_version=version,
                      install_hint=str(spec.get("installHint") or ""), base=base)


def run_exec(plugin: ExecPlugin, env: Mapping[str, str] | None = None) -> Secret:
    """Run a credential plugin as client-go does (``KUBERNETES_EXEC_INFO`` set, stdin not a terminal) and read its ExecCredential."""
    command = plugin.command
    if "/" in command and not Path(command).is_absolute():
        command = str(plugin.base / command)
    full_env = {**(os.environ if env is None else env), **plugin.env,
                "KUBERNETES_EXEC_INFO": json.dumps({"apiVersion": plugin.api_version, "kind": "ExecCredential", "spec": {"interactive": False}})}
    shown = " ".join([plugin.command, *plugin.args[:3]])
    try:
        r = subprocess.run([command, *plugin.args], env=full_env, capture_output=True, text=True, timeout=EXEC_TIMEOUT, stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        hint = f" ({plugin.install_hint.strip().splitlines()[0]})" if plugin.install_hint.strip() else ""
        raise KubeError(ErrorKind.CREDENTIALS, f"the kubeconfig's credential plugin {plugin.command!r} is not on PATH{hint}; "
                                               "for an EKS kubeconfig (aws eks get-token) install the AWS CLI") from None
    except subprocess.TimeoutExpired:
        raise KubeError(ErrorKind.CREDENTIALS, f"the credential plugin `{shown}` did not answer in {EXEC_TIMEOUT:.0f} s") from None
    if r.returncode != 0:
        last = [line for line in r.stderr.strip().splitlines() if line.strip()][-1:] or [f"exit code {r.returncode}"]
        raise KubeError(ErrorKind.CREDENTIALS, f"the credential plugin `{shown}` failed: {last[0][:300]} (expired or missing cloud credentials? "
                                               "for EKS: refresh your AWS credentials, e.g. `aws sso login`)")
    try:
        status = json.loads(r.stdout)["status"]
    except (ValueError, KeyError, TypeError):
        raise KubeError(ErrorKind.CREDENTIALS, f"the credential plugin `{shown}` printed no ExecCredential with a status") from None
    expires = None
    if status.get("expirationTimestamp"):
        try:
            expires = datetime.fromisoformat(str(status["expirationTimestamp"]).replace("Z", "+00:00")).timestamp()
        except ValueError:
            expires = time.time() + 60
    token = str(status.get("token") or "")
    cert, key = str(status.get("clientCertificateData") or "").encode(), str(status.get("clientKeyData") or "").encode()
    if not token and not (cert and key):
        raise KubeError(ErrorKind.CREDENTIALS, f"the credential plugin `{shown}` returned neither a token nor a client certificate")
    return Secret(token=token, cert_pem=cert, key_pem=key, expires=expires)


__all__ = ["ExecPlugin", "Secret", "Target", "default_paths", "load", "run_exec"]
