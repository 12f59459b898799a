"""The ``text/x-shellscript`` boot script of an AL2023 SOCI node. Pure.

:class:`ScriptPlan` (from :func:`render.plan.plan`) says what the script does; :func:`boot_script`
writes it once the cluster values (region) and secret ARNs are known. The functions come from
``templates/lib.sh``; every value on a shell line is quoted with ``shlex.quote``.

cloud-init runs the script in cloud-final: after nodeadm's config phase wrote containerd's and the
kubelet's config, before nodeadm's run phase starts containerd and the kubelet.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from importlib import resources

from . import paths

__all__ = ["Auth", "Install", "ScriptPlan", "boot_script"]


@dataclass(frozen=True)
class Install:
    """Download, verify and install a pinned SOCI release."""

    version: str
    url_base: str
    sha256_amd64: str = ""
    sha256_arm64: str = ""


@dataclass(frozen=True)
class Auth:
    """Static credentials of ``registry`` into the docker config under ``key`` (docker/cli's key for that registry)."""

    registry: str
    key: str


@dataclass(frozen=True)
class ScriptPlan:
    log: str
    """The first log line (what this node runs)."""
    install: Install | None = None
    check_ami_binary: bool = False
    """Fail early when the AMI has no soci-snapshotter."""
    ecr_helper: bool = False
    """Make sure ``docker-credential-ecr-login`` exists (``dnf install`` when the AMI lacks it)."""
    files: tuple[str, ...] = ()
    """Node paths the script writes, in order (contents come with the rendered files)."""
    auths: tuple[Auth, ...] = ()
    token: bool = False
    """Add the kubeconfig keychain's service-account token from Secrets Manager."""


def _blocks() -> dict[str, str]:
    out: dict[str, list[str]] = {}
    current = None
    for line in resources.files(__package__).joinpath("templates/lib.sh").read_text().splitlines():
        if line.startswith("#@ "):
            current = out.setdefault(line[3:].strip(), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(body) for name, body in out.items()}


_LIB = _blocks()


def _heredoc_delimiter(content: str) -> str:
    n = 0
    while f"EOF{n or ''}" in content.splitlines():
        n += 1
    return f"EOF{n or ''}"


def boot_script(plan: ScriptPlan, contents: dict[str, tuple[str, int]], *, region: str, static_arns: dict[str, str], token_arn: str | None) -> str:
    """The script text. ``contents``: node path -> (content, mode) of every file the script writes.

    Raises KeyError naming what is missing when a secret ARN was not supplied."""
    q = shlex.quote
    blocks = ["core"]
    blocks += ["install"] if plan.install else []
    blocks += ["secret"] if plan.auths or plan.token else []
    blocks += ["auth"] if plan.auths else []
    blocks += ["token"] if plan.token else []
    blocks += ["start"]
    header: dict[str, str] = {"SOCI_SOCKET": paths.SOCI_SOCKET}
    if plan.install:
        header["SOCI_BINARY"] = paths.RELEASE_BINARY
    if plan.check_ami_binary:
        header["AMI_SOCI_BINARY"] = paths.AMI_BINARY
    if plan.auths:
        header["DOCKER_CONFIG_FILE"] = paths.DOCKER_CONFIG
    if plan.token:
        header["SOCI_KUBECONFIG"] = paths.SOCI_KUBECONFIG
    if plan.auths or plan.token:
        header["REGION"] = region
    lines = ["#!/bin/bash", paths.shell_header(header).rstrip("\n"), *(_LIB[b] for b in blocks), f"log {q(plan.log)}"]
    if plan.install:
        i = plan.install
        lines.append(f'install_soci {q(i.version)} {q(i.url_base)} "$SOCI_BINARY" {q(i.sha256_amd64)} {q(i.sha256_arm64)}')
    if plan.check_ami_binary:
        lines.append('[ -x "$AMI_SOCI_BINARY" ] || fail "no SOCI in this AMI"')
    if plan.ecr_helper:
        lines.append('command -v docker-credential-ecr-login >/dev/null || dnf install -y -q amazon-ecr-credential-helper || fail "no ECR credential helper"')
    for path in plan.files:
        content, mode = contents[path]
        delim = _heredoc_delimiter(content)
        lines.append(f"put {q(path)} {mode:04o} <<'{delim}'")
        lines.append(content.rstrip("\n"))
        lines.append(delim)
    for a in plan.auths:
        lines.append(f'add_auth "$DOCKER_CONFIG_FILE" "$REGION" {q(a.key)} {q(static_arns[a.registry])}')
    if plan.token:
        if token_arn is None:
            raise KeyError("the kubernetes-secrets token secret")
        lines.append(f'add_token "$SOCI_KUBECONFIG" "$REGION" {q(token_arn)}')
    lines.append('start_soci "$SOCI_SOCKET"')
    return "\n".join(lines) + "\n"
