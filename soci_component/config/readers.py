"""Generic readers of stack-config values: each takes ``(value, key path)`` and returns a typed value or raises
:class:`SpecError` naming the path and what is accepted. Tables of them (``{config key: (attribute, reader)}``)
are the schema (:mod:`.nodes`, :mod:`soci_component.config`). Pure."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from ..errors import SpecError, at, join, key, short
from ..spec import check_text

Reader = Callable[[Any, str], Any]


# --------------------------------------------------------------------------------------------
# generic readers


def _type_name(v: Any) -> str:
    if v is None:
        return "null (an empty value)"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer", float: "a number"}.get(type(v), type(v).__name__)


def _mapping(v: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(v, dict):
        what = f"a mapping with keys {', '.join(allowed)}" if allowed else "a mapping"
        raise SpecError(path, f"expected {what}; got {_type_name(v)}" + (f" {short(v)}" if isinstance(v, (str, int, float)) and not isinstance(v, bool) else ""))
    for k in v:
        if not isinstance(k, str):
            raise SpecError(path, f"keys must be strings; got {_type_name(k)} {short(k)}")
        if allowed and k not in allowed:
            close = difflib.get_close_matches(k, allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise SpecError(key(path, k), f"unknown key{hint}; accepted: {', '.join(allowed)}")
    for k in required:
        if k not in v:
            raise SpecError(join(path, k), "is required")
    return v


def text(v: Any, path: str) -> str:
    return check_text(path, v)


def integer(v: Any, path: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise SpecError(path, f"expected an integer; got {_type_name(v)}" + ("" if v is None else f" {short(v)}"))
    return v


def boolean(v: Any, path: str) -> bool:
    if not isinstance(v, bool):
        raise SpecError(path, f"expected true or false; got {_type_name(v)}" + ("" if v is None else f" {short(v)}"))
    return v


def enum(e: type[StrEnum]) -> Reader:
    def read(v: Any, path: str) -> Any:
        values = [x.value for x in e]
        if v not in values:
            raise SpecError(path, f"{short(v)} is not accepted; expected one of: {', '.join(values)}")
        return e(v)

    return read


def list_of(item: Reader) -> Reader:
    def read(v: Any, path: str) -> tuple[Any, ...]:
        if not isinstance(v, list):
            raise SpecError(path, f"expected a list; got {_type_name(v)}" + (f" {short(v)}" if isinstance(v, (str, int, float)) else ""))
        return tuple(item(x, f"{path}[{i}]") for i, x in enumerate(v))

    return read


def string_map(value_what: str) -> Reader:
    def read(v: Any, path: str) -> dict[str, str]:
        m = _mapping(v, path, ())
        out = {}
        for k, x in m.items():
            if not isinstance(x, str):
                raise SpecError(key(path, k), f"expected {value_what}; got {_type_name(x)}" + ("" if x is None else f" {short(x)}"))
            out[k] = x
        return out

    return read


def fields(table: Mapping[str, tuple[str, Reader]], required: tuple[str, ...] = ()) -> Callable[[Any, str], dict[str, Any]]:
    """A reader of a mapping whose keys are ``table``'s; returns constructor keyword arguments for the keys present."""

    def read(v: Any, path: str) -> dict[str, Any]:
        m = _mapping(v, path, tuple(table), required)
        return {table[k][0]: table[k][1](x, join(path, k)) for k, x in m.items()}

    return read


def build(cls: type, table: Mapping[str, tuple[str, Reader]], required: tuple[str, ...] = ()) -> Reader:
    reader = fields(table, required)

    def read(v: Any, path: str) -> Any:
        kwargs = reader(v, path)
        with at(path):
            return cls(**kwargs)

    return read
