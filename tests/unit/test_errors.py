"""errors.py: the one error type and the one way to say where a setting lives."""

from __future__ import annotations

import pytest

from soci_component.errors import SpecError, at, join, key, owned, short
from soci_component.spec import AmiPin, NodeGroupSpec, UpstreamRelease


def test_message_with_and_without_a_path() -> None:
    assert str(SpecError("nodeGroups[1].pullMode", "bad")) == "nodeGroups[1].pullMode: bad"
    assert str(SpecError("", "bad")) == "bad"
    e = SpecError("ami.release", "x").under("nodeGroups[0]")
    assert (e.path, e.message) == ("nodeGroups[0].ami.release", "x")
    assert isinstance(e, ValueError)


@pytest.mark.parametrize("prefix, k, path", [("nodeGroups", 1, "nodeGroups[1]"), ("nodeGroups[1]", "ami", "nodeGroups[1].ami"), ("a", "[2].b", "a[2].b"),
                                              ("", "ami", "ami"), ("a", "", "a"), ("", "", "")])
def test_join(prefix: str, k: str | int, path: str) -> None:
    assert join(prefix, k) == path


@pytest.mark.parametrize("name, path", [("team", "labels.team"), ("my-key_2", "labels.my-key_2"), ("example.com/tier", 'labels["example.com/tier"]'),
                                        ('a"b', 'labels["a\\"b"]'), ("a\nb", 'labels["a\\nb"]')])
def test_key_quotes_what_is_not_a_plain_word(name: str, path: str) -> None:
    assert key("labels", name) == path


def test_key_shortens_a_huge_key() -> None:
    k = key("labels", "x" * 500)
    assert k.endswith('...(500 characters)"]') and len(k) < 100


def test_at_prefixes_every_error_inside_once() -> None:
    with pytest.raises(SpecError) as e:
        with at("nodeGroups[2]"):
            with at("tuning"):
                raise SpecError("root", "bad")
    assert e.value.path == "nodeGroups[2].tuning.root"


def test_a_spec_built_in_python_names_itself_unless_a_reader_gives_the_path() -> None:
    with pytest.raises(SpecError) as alone:
        UpstreamRelease(version="0.15")
    assert alone.value.path == "UpstreamRelease.version"
    with pytest.raises(SpecError) as read, at("nodeGroups[0].sociSource"):
        UpstreamRelease(version="0.15")
    assert read.value.path == "nodeGroups[0].sociSource.version"
    with pytest.raises(SpecError) as named:
        NodeGroupSpec(name="lazy", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i_xlarge",))
    assert named.value.path == "NodeGroupSpec(name='lazy').instanceTypes[0]"
    with pytest.raises(SpecError) as e, owned("Thing"):
        raise SpecError("x", "bad")
    assert e.value.path == "Thing.x"


def test_short_keeps_messages_short_and_escaped() -> None:
    assert short("abc") == "'abc'" and short("a\nb") == "'a\\nb'"
    s = short("y" * 1000)
    assert s.endswith("... (1000 characters)") and len(s) < 90
