"""Reading rendered systemd unit text in tests."""

from __future__ import annotations


def unit_values(text: str, section: str, key: str) -> list[str]:
    """The values of ``key`` in ``[section]`` of one unit file's text, in order."""
    values, current = [], None
    for line in text.splitlines():
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section and line.startswith(key + "="):
            values.append(line.split("=", 1)[1])
    return values
