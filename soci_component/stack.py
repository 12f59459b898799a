"""A stack file's text -> Python data: YAML read the way Pulumi's own reader reads it, bounded and strict.

Pulumi reads stack files with Go's yaml.v3: merge keys (``<<: *defaults``) work, a key given twice in one mapping
is an error. The same here, plus limits a config file never needs to exceed (size, aliases), so a hostile or
broken file is refused before it is expanded. Errors are :class:`SpecError` — never a traceback. Pure.
"""

from __future__ import annotations

from typing import Any

import yaml

from .errors import SpecError, short

__all__ = ["MAX_ALIASES", "MAX_CONFIG_BYTES", "parse_yaml"]

MAX_CONFIG_BYTES = 1 << 20
"""A stack file larger than 1 MiB is refused before it is parsed."""
MAX_ALIASES = 32
"""YAML aliases expanded per document at most (an alias bomb expands exponentially)."""

# --------------------------------------------------------------------------------------------
# YAML


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and bounds alias expansion."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases: refusing to expand them")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        # A key written twice in one mapping is an error (yaml.v3: "mapping key ... already defined"); keys a merge
        # (`<<: *defaults`) brings in may be overridden by the mapping's own, as YAML's merge-key type defines.
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                mark = key_node.start_mark
                raise yaml.YAMLError(f"duplicate key {short(key)} at line {mark.line + 1} (the first is at line {seen[key].line + 1}); a later value would silently win")
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)


def parse_yaml(data: bytes | str, where: str = "") -> Any:
    """YAML text -> Python data, bounded and strict. Raises SpecError (never a traceback)."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_CONFIG_BYTES:
        raise SpecError(where, f"{len(raw)} bytes: a stack file is at most {MAX_CONFIG_BYTES} bytes")
    try:
        text_ = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(where, f"not UTF-8 text (byte {e.start}); save the file as UTF-8") from None
    try:
        return yaml.load(text_, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as e:
        # PyYAML's own text quotes the offending line: it may hold a password typed in plain text. Place and problem only.
        parts = [f"{x} (line {m.line + 1}, column {m.column + 1})" for x, m in ((e.context, e.context_mark), (e.problem, e.problem_mark)) if x and m]
        raise SpecError(where, "not valid YAML: " + ("; ".join(parts) or "a syntax error")[:300]) from None
    except yaml.YAMLError as e:
        message = str(e).splitlines()
        raise SpecError(where, "not valid YAML: " + " ".join(line.strip() for line in message if line.strip())[:300]) from None
