"""The one place a :class:`SpecError` becomes a Pulumi error.

Importing this module (every component does) makes :class:`SpecError` a ``pulumi.RunError`` as well, so a bad
spec built in a user's program — ``NodeGroupSpec(instance_types=("m7i_xlarge",), ...)`` raising before any
component runs — is printed by the Pulumi engine as its one-line message with the key path, like the same
mistake in a stack file, not as "Program failed with an unhandled exception" and a traceback (the Python
language host prints only ``RunError`` cleanly: pulumi/pulumi ``sdk/python/cmd/pulumi-language-python-exec``).
``soci_component/__init__.py`` does the same when the program imported pulumi first. The pure modules never
import pulumi; the base is added here, where pulumi is loaded anyway.

``pulumi.RunError`` is printed by the Pulumi engine as its message alone (no Python traceback). It
must not be a ``ValueError``: Pulumi's input serialisation catches ``ValueError`` raised while an
Output resolves and re-raises it as a new ``ValueError`` ("While processing input ... ValueError has
risen ..."), which the engine prints with a traceback — so :class:`ComponentError` is a ``RunError``
only, carrying the ``path`` and ``message`` of the :class:`SpecError` it wraps. Every rule failure the
components raise goes through :func:`failure` / :func:`guarded`, at construction time and inside ``apply``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import pulumi

from ..errors import SpecError

T = TypeVar("T")


def _spec_errors_are_run_errors() -> None:
    if not issubclass(SpecError, pulumi.RunError):
        SpecError.__bases__ = (ValueError, pulumi.RunError)


_spec_errors_are_run_errors()


class ComponentError(pulumi.RunError):
    """An invalid setting found by a component; ``path`` is the config key path, ``message`` what is wrong."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


def failure(e: SpecError, prefix: str = "") -> ComponentError:
    e = e.under(prefix) if prefix else e
    return ComponentError(e.path, e.message)


def guarded(prefix: str, fn: Callable[..., T]) -> Callable[..., T]:
    """``fn`` with its SpecErrors turned into :class:`ComponentError` (for ``Output.apply`` callbacks)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except ComponentError:
            raise
        except SpecError as e:
            raise failure(e, prefix) from None

    return run
