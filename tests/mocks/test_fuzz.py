"""Property test over the stack-config schema (hypothesis): random mutations of real stack configs.

Whatever the input: never a traceback (only a SpecError, or success), every error names a key path,
and what is accepted puts no control character into user data or AWS names. A sample also runs
through the program under Pulumi mocks, where every failure must be a ``pulumi.RunError`` (printed
without a traceback) that starts with a key path.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soci_component.config import parse
from soci_component.errors import SpecError
from soci_component.offline import render_stack
from tests.mocks.test_stacks import encode, run_program

ROOT = Path(__file__).resolve().parents[2]
BASES = [yaml.safe_load((ROOT / "stacks" / f"Pulumi.{name}.yaml").read_text())["config"] for name in ("dev", "prod")]
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
"""Control characters other than newline and tab (which user data's own formats use)."""
HEAD = re.compile(r"^[A-Za-z][A-Za-z0-9_:-]*")
"""A key path starts with a config key (``soci-eks:nodeGroups[0].tuning``); quoted odd keys may follow."""

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False),
    st.text(max_size=40), st.text(alphabet=st.characters(max_codepoint=0x7f), max_size=12),
    st.sampled_from(["", "\n", "a\nb", "lazy", "parallel", "1.33", "v20260714", "1.57.0", "m7i.xlarge", "ami-0123456789abcdef0",
                     "https:///x", "http://m.example.com", "/var/lib/x", "..", "-1", "soci.snapshotter/enabled", "kubernetes.io/x"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)), max_leaves=6)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        target = draw(st.sampled_from(paths(cfg)))
        parent: Any = cfg
        for k in target[:-1]:
            parent = parent[k]
        action = draw(st.sampled_from(["replace", "replace", "add-key", "delete"]))
        if action == "replace":
            parent[target[-1]] = draw(values)
        elif action == "add-key" and isinstance(parent[target[-1]], dict):
            parent[target[-1]][draw(st.text(max_size=12))] = draw(values)
        elif action == "delete":
            del parent[target[-1]]
    return cfg


def check_accepted(cfg: dict[str, Any]) -> None:
    for n in render_stack(parse(cfg)):
        r = n.rendered
        text = r.raw_user_data.decode("utf-8")
        assert not CONTROL.search(text), f"{r.name}: control character in user data"
        for f in r.files:
            assert not CONTROL.search(f.content), f"{r.name}: control character in {f.path}"
        assert not CONTROL.search(r.name)
        for doc in n.documents.values():
            assert not CONTROL.search(doc.decode()), f"{r.name}: control character in a Karpenter document"
    stack = parse(cfg)
    for k, v in stack.tags.items():
        assert not CONTROL.search(k) and not CONTROL.search(v)
    assert not CONTROL.search(stack.cluster.name)


@settings(max_examples=400, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_render_never_tracebacks(cfg: dict[str, Any]) -> None:
    try:
        check_accepted(cfg)
    except SpecError as e:
        assert e.path, f"an error without a key path: {e.message[:200]}"
        assert HEAD.match(e.path), f"a key path that does not start with a key: {e.path[:100]!r}"
        assert not CONTROL.search(e.path) and "\n" not in e.path, f"a raw control character in the key path {e.path[:100]!r}"
        assert len(str(e)) < 2000


@settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_program_never_tracebacks(cfg: dict[str, Any]) -> None:
    try:
        run_program(encode(cfg))
    except pulumi.RunError as e:
        assert not isinstance(e, ValueError)
        head = str(e).split(":", 1)[0]
        assert head and "Traceback" not in str(e), str(e)[:300]
    except Exception as e:  # noqa: BLE001 - the property: nothing but a RunError
        pytest.fail(f"{type(e).__name__} from the program: {str(e)[:300]}")
