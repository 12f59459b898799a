"""systemd unit files as data -> INI text. Pure.

A unit is a sequence of ``(section, [(key, value), ...])``; repeated keys are kept in order (an
empty ``ExecStart=`` resets the list before a new one, as drop-ins need). Values must be single
lines: a newline would start a new key.
"""

from __future__ import annotations

from collections.abc import Sequence

Section = tuple[str, Sequence[tuple[str, str]]]


def unit(sections: Sequence[Section], *, blank_line_between_sections: bool = False) -> str:
    """The unit file text. Raises ValueError for a section or key name that is not a plain word, or a multi-line value."""
    out: list[str] = []
    for i, (name, items) in enumerate(sections):
        if not name.replace("-", "").isalnum():
            raise ValueError(f"section name {name!r}")
        if i and blank_line_between_sections:
            out.append("")
        out.append(f"[{name}]")
        for key, value in items:
            if not key.isalnum():
                raise ValueError(f"key name {key!r}")
            if "\n" in value or "\r" in value:
                raise ValueError(f"{key}: a unit value must be one line")
            out.append(f"{key}={value}")
    return "\n".join(out) + "\n"
