"""Images ready for lazy loading: what SOCI finds for an image in its registry (``images check``).

Live (talks to registries), but imports no pulumi. The library entry point is :func:`check_image`
(one reference) or :class:`Checker` (many, one connection and token per registry). The HTTP client
(urllib3) is imported on first use, so the CLI's other commands do not pay for it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .reference import Reference, ReferenceError, parse
from .types import Attachment, ImageReport, IndexKind, LayerReport, NodeTarget, NoZtoc, Platform, PlatformReport, SociIndex

if TYPE_CHECKING:
    from .check import Auth, Checker, check_image
    from .registry import ErrorKind, RegistryError

_LAZY = {"Auth": "check", "Checker": "check", "check_image": "check", "ErrorKind": "registry", "RegistryError": "registry"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Attachment", "Auth", "Checker", "ErrorKind", "ImageReport", "IndexKind", "LayerReport", "NoZtoc", "NodeTarget", "Platform", "PlatformReport",
    "Reference", "ReferenceError", "RegistryError", "SociIndex", "check_image", "parse",
]
