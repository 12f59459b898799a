"""Image references as containerd and the Docker CLI read them (``docker.io`` defaults included). Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/"
"""The key Docker Hub's credentials have in a docker config (and what its credential helpers are asked for)."""

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?")
_ECR = re.compile(r"(?P<account>[0-9]{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.(?:amazonaws\.com(?:\.cn)?|on\.aws|sc2s\.sgov\.gov|c2s\.ic\.gov)")
"""Private ECR registry names (``<account>.dkr.ecr.<region>.amazonaws.com``, FIPS, China, dual-stack ``on.aws``, ISO partitions)."""


class ReferenceError(ValueError):
    """Not an image reference."""


@dataclass(frozen=True)
class Reference:
    host: str
    """Registry as written in the reference (``docker.io`` when none is)."""
    repository: str
    tag: str | None
    digest: str | None

    @property
    def api_host(self) -> str:
        """Where the distribution API is (Docker Hub's is ``registry-1.docker.io``)."""
        return DOCKER_HUB_API if self.host == DOCKER_HUB else self.host

    @property
    def config_key(self) -> str:
        """The docker config / credential helper key for this registry."""
        return DOCKER_HUB_CONFIG_KEY if self.host == DOCKER_HUB else self.host

    @property
    def reference(self) -> str:
        """What ``/v2/<repo>/manifests/<reference>`` takes: the digest when there is one, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def ecr(self) -> tuple[str, str] | None:
        """(account, region) of a private ECR registry, None otherwise."""
        m = _ECR.fullmatch(self.host.split(":", 1)[0])
        return (m.group("account"), m.group("region")) if m else None

    def __str__(self) -> str:
        s = f"{self.host}/{self.repository}"
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s


def parse(text: str) -> Reference:
    """``[host[:port]/]path[:tag][@digest]``; no host: Docker Hub (``library/`` for one-component paths); no tag: ``latest``."""
    ref = text.strip()
    if not ref or any(c.isspace() for c in ref):
        raise ReferenceError(f"{text!r} is not an image reference such as 'registry.example.com/team/app:1.2'")
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
        if not _DIGEST.fullmatch(digest):
            raise ReferenceError(f"{text!r}: {digest!r} is not a digest such as 'sha256:<64 hex digits>'")
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        host, path = first, rest
        if not _HOST.fullmatch(host):
            raise ReferenceError(f"{text!r}: {host!r} is not a registry host[:port]")
    else:
        host, path = DOCKER_HUB, ref
    tag = None
    if ":" in path.rsplit("/", 1)[-1]:
        path, tag = path.rsplit(":", 1)
        if not _TAG.fullmatch(tag):
            raise ReferenceError(f"{text!r}: {tag!r} is not a tag (letters, digits, '_', '.', '-'; at most 128)")
    if not _PATH.fullmatch(path):
        raise ReferenceError(f"{text!r}: repository {path!r} must be lowercase components separated by '/'")
    if host == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if tag is None and digest is None:
        tag = "latest"
    return Reference(host=host, repository=path, tag=tag, digest=digest)


__all__ = ["DOCKER_HUB", "DOCKER_HUB_API", "DOCKER_HUB_CONFIG_KEY", "Reference", "ReferenceError", "parse"]
