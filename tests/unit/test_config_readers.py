"""config/readers.py: the generic readers — every wrong type named with what was given (a short prefix of scalars, never more)."""

from __future__ import annotations

import pytest

from soci_component.config.readers import _mapping, boolean, enum, integer, list_of, string_map, text
from soci_component.errors import SpecError
from soci_component.spec import PullMode


@pytest.mark.parametrize("value, shown", [("x", "got a string 'x'"), (5, "got an integer 5"), (1.5, "got a number 1.5"), (True, "got a boolean"),
                                          ([1], "got a list"), (None, "got null (an empty value)")])
def test_a_mapping_reader_names_what_it_got(value: object, shown: str) -> None:
    with pytest.raises(SpecError) as e:
        _mapping(value, "tuning", ("root",))
    assert e.value.path == "tuning" and e.value.message.endswith(shown) and "expected a mapping with keys root" in e.value.message


def test_unknown_and_missing_keys() -> None:
    with pytest.raises(SpecError) as e:
        _mapping({"rot": 1}, "tuning", ("root", "mirrors"))
    assert e.value.path == "tuning.rot" and "did you mean 'root'" in e.value.message
    with pytest.raises(SpecError) as e:
        _mapping({}, "ami", ("release",), required=("release",))
    assert e.value.path == "ami.release" and e.value.message == "is required"


def test_scalar_readers() -> None:
    assert integer(3, "p") == 3 and boolean(False, "p") is False and text("a", "p") == "a" and enum(PullMode)("lazy", "p") is PullMode.LAZY
    for reader, bad in ((integer, True), (integer, "3"), (boolean, "yes"), (boolean, 0)):
        with pytest.raises(SpecError):
            reader(bad, "p")
    assert list_of(integer)([1, 2], "l") == (1, 2)
    with pytest.raises(SpecError) as e:
        list_of(integer)([1, "x"], "l")
    assert e.value.path == "l[1]"
    with pytest.raises(SpecError) as e:
        string_map("a label value")({"a": 1}, "labels")
    assert e.value.path == "labels.a" and "expected a label value; got an integer 1" in e.value.message
