"""stack.py: a stack file's text read the way Pulumi's yaml.v3 reads it, bounded and strict, and never echoing a value."""

from __future__ import annotations

import pytest

from soci_component.errors import SpecError
from soci_component.stack import MAX_ALIASES, MAX_CONFIG_BYTES, parse_yaml

SECRET = "S3cr3t-Pa55w0rd-do-not-print"


def refused(text: str | bytes) -> SpecError:
    with pytest.raises(SpecError) as e:
        parse_yaml(text, "Pulumi.dev.yaml")
    return e.value


def test_size_limit_on_both_sides() -> None:
    pad = "# " + "x" * 60 + "\n"
    ok = "a: 1\n" + pad * ((MAX_CONFIG_BYTES - 5) // len(pad))
    ok += "#" * (MAX_CONFIG_BYTES - len(ok.encode()))
    assert len(ok.encode()) == MAX_CONFIG_BYTES and parse_yaml(ok) == {"a": 1}
    e = refused(ok + "#")
    assert e.path == "Pulumi.dev.yaml" and f"{MAX_CONFIG_BYTES + 1} bytes" in e.message


def test_aliases_bounded_on_both_sides() -> None:
    head = "a: &a 1\n"
    assert parse_yaml(head + "".join(f"k{i}: *a\n" for i in range(MAX_ALIASES)))["k0"] == 1
    assert "aliases" in refused(head + "".join(f"k{i}: *a\n" for i in range(MAX_ALIASES + 1))).message


def test_merge_keys_as_pulumi_reads_them_and_duplicates_refused() -> None:
    assert parse_yaml("d: &d {a: 1, b: 2}\nx:\n  <<: *d\n  b: 3\n")["x"] == {"a": 1, "b": 3}
    e = refused("x: 1\ny: 2\nx: 3\n")
    assert "duplicate key 'x' at line 3 (the first is at line 1)" in e.message


@pytest.mark.parametrize("text", [
    f'config:\n  soci-eks:registryCredentials: {{"r.example.com": {{"password": "{SECRET}, b: 1\n',
    f"config:\n  password: {SECRET}: x\n",
    f"config:\n  p: [{SECRET}\n",
    f'config:\n  p: "{SECRET}\\q"\n',
    f"config:\n  password: {SECRET}\n   bad: 1\n",
    f"config:\n  password: {SECRET}\n\tbad: 1\n",
    f"config:\n  password: '{SECRET}\n",
])
def test_a_yaml_error_names_the_place_never_the_text(text: str) -> None:
    """A stack file may hold a password in plain text by mistake: a syntax error near it must not print it (line and column do)."""
    e = refused(text)
    assert e.message.startswith("not valid YAML: ") and SECRET not in str(e), str(e)
    assert "(line 2, column" in e.message or "(line 3, column" in e.message, e.message


def test_not_utf8() -> None:
    assert "not UTF-8" in refused(b"a: \xff\n").message
