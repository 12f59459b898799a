"""The stack's config in a Pulumi program: every ``soci-eks:*`` key parsed into a :class:`StackSpec`.

Unknown keys are errors, so every key of every namespace is read (the parser ignores other projects' and
providers' keys but refuses near misses such as ``soci_eks:``). Structured values arrive from the Pulumi CLI as
JSON text. The registry credentials must be a secret; their values never reach a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from ..config import PROJECT, parse
from ..errors import SpecError
from ..spec import StackSpec
from .errors import failure

__all__ = ["CREDENTIALS_KEY", "StackConfig", "read_stack_config"]

CREDENTIALS_KEY = "registryCredentials"


@dataclass(frozen=True)
class StackConfig:
    """A stack's settings: the specs, and the registry credentials as a Pulumi secret (None without ``static`` sources)."""

    stack: StackSpec
    """Every setting of the stack, validated."""
    registry_credentials: pulumi.Output[Any] | None
    """``registryCredentials`` as a Pulumi secret, when a group uses ``static`` credentials."""


def _decode(value: Any) -> Any:
    """Structured config arrives as JSON text; anything else is passed on for the parser to reject by path."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def read_stack_config() -> StackConfig:
    """Every ``soci-eks:*`` key of the running stack (unknown keys included, so typos fail) and the registry credentials.

    Raises a clean Pulumi error naming the key path for anything invalid (the same messages as ``render``)."""
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    raw = {k: _decode(runtime_config.get_config(k)) for k in sorted(keys)}
    creds_key = f"{PROJECT}:{CREDENTIALS_KEY}"
    if raw.get(creds_key) not in (None, {}) and not runtime_config.is_config_secret(creds_key):
        raise failure(SpecError(
            CREDENTIALS_KEY,
            "holds registry credentials in plain text; remove it and set each value as a secret: "
            f"pulumi config set --secret --path '{CREDENTIALS_KEY}[\"registry.example.com\"].password' ...",
        ))
    try:
        stack = parse(raw, region=pulumi.Config("aws").get("region"))
    except SpecError as e:
        raise failure(e) from None
    # Not Config.get_secret_object: on a value that is not JSON its error message quotes the secret.
    creds = pulumi.Output.secret(raw[creds_key]) if stack.static_registries and creds_key in raw else None
    return StackConfig(stack, creds)
