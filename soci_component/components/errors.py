"""The one place a :class:`SpecError` becomes a Pulumi error.

``pulumi.RunError`` is printed by the Pulumi engine as its message alone (no Python traceback), at
construction time and inside ``apply`` alike; every rule failure the components raise goes through
:func:`failure` / :func:`guarded`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import pulumi

from ..errors import SpecError

T = TypeVar("T")


class ComponentError(SpecError, pulumi.RunError):
    """An invalid setting found by a component; ``path`` is the config key path."""


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
