"""The one error type of the product, and the one way to say where a setting lives.

Every invalid input, in any layer (stack config, spec values, rules, catalogue, renderer), is a
:class:`SpecError` whose ``path`` is the config key path of the setting (``nodeGroups[1].pullMode``)
and whose ``message`` says what is wrong and what is accepted.

A spec built in Python names itself in the path (``NodeGroupSpec(name='lazy').instanceTypes[0]``) unless
an outer reader or component is already prefixing its own path (:func:`at`): the stack-file reader gives
``nodeGroups[1].instanceTypes[0]`` for the same mistake. In a Pulumi program the error is also a
``pulumi.RunError`` (``components.errors`` makes it one when pulumi is loaded), which the Pulumi engine prints
as the one-line message, without a traceback — the same as for a stack file.

Pure: no pulumi import.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["SpecError", "at", "join", "key", "owned", "short"]

_PREFIXED: ContextVar[bool] = ContextVar("soci_eks_prefixed", default=False)
"""True inside :func:`at`: an outer reader or component puts the full path in front of every error."""

_SHORT = 60


class SpecError(ValueError):
    """An invalid setting. ``path`` is the config key path (``nodeGroups[1].pullMode``, ``""`` for the whole input)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)

    def under(self, prefix: str) -> SpecError:
        """The same error with ``prefix`` in front of its path (``nodeGroups[0]`` + ``ami.release``)."""
        return SpecError(join(prefix, self.path), self.message)


def join(prefix: str, key: str | int) -> str:
    """``join("nodeGroups", 1)`` -> ``nodeGroups[1]``; ``join("nodeGroups[1]", "ami")`` -> ``nodeGroups[1].ami``;
    ``join("a", "[2].b")`` -> ``a[2].b``; an empty side is left out."""
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    if not prefix:
        return key
    if not key:
        return prefix
    return f"{prefix}{key}" if key.startswith("[") else f"{prefix}.{key}"


def key(prefix: str, name: str) -> str:
    """The path of mapping key ``name`` under ``prefix``: ``labels.team``, or ``labels["example.com/tier"]`` for keys
    that are not plain words (label keys contain dots and slashes)."""
    plain = name.replace("-", "").replace("_", "").isalnum() and name.isascii() and len(name) <= _SHORT
    if plain:
        return join(prefix, name)
    shown = name if len(name) <= _SHORT else f"{name[:_SHORT]}...({len(name)} characters)"
    return join(prefix, "[" + '"' + shown.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"' + "]")


@contextmanager
def at(prefix: str) -> Iterator[None]:
    """Prefix the path of every :class:`SpecError` raised inside the block with ``prefix``."""
    token = _PREFIXED.set(True)
    try:
        yield
    except SpecError as e:
        raise (e.under(prefix) if prefix else e) from None
    finally:
        _PREFIXED.reset(token)


@contextmanager
def owned(label: str) -> Iterator[None]:
    """For a spec's own checks: prefix errors with ``label`` (``NodeGroupSpec(name='lazy')``) when the spec is built
    directly in Python, and leave them relative when an outer :func:`at` adds the key path (stack file, component)."""
    if _PREFIXED.get():
        yield
        return
    with at(label):
        yield


def short(value: object) -> str:
    """``repr`` of a user value for a message: at most a short prefix, control characters escaped."""
    text = repr(value)
    return text if len(text) <= _SHORT else f"{text[:_SHORT]}... ({len(str(value))} characters)"
