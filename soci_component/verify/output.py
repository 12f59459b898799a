"""The report as text a person reads (✓ ✗ ! ·) and as one JSON document. Pure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .types import GroupResult, Status, VerifyReport


def _group_lines(g: GroupResult) -> Iterator[str]:
    head = "PASS" if g.passed else "FAIL"
    if not g.checked:
        head = "not checked"
    yield f"{g.key}  ({g.summary})  {head}"
    for c in g.checks:
        yield f"  {c.status.mark} {c.id:<14} {c.evidence}"
        yield from _fix(c.fix, c.status, "    ")
    for n in g.nodes:
        yield f"  node {n.name}"
        for c in n.checks:
            yield f"    {c.status.mark} {c.id:<14} {c.evidence}"
            yield from _fix(c.fix, c.status, "      ")
        for e in n.containers:
            yield f"    {e.status.mark} pod {e.pod} {e.container}: {e.image}"
            yield f"        {e.evidence}"
            yield from _fix(e.fix, e.status, "      ")


def _fix(fix: str, status: Status, pad: str) -> Iterator[str]:
    """What to do, under a check that failed or warns."""
    if fix and status in (Status.FAIL, Status.WARN):
        yield f"{pad}→ {fix}"


def text(r: VerifyReport) -> Iterator[str]:
    yield f"cluster {r.server} (context {r.context})"
    for p in r.problems:
        yield f"✗ {p}"
    for g in r.groups:
        yield ""
        yield from _group_lines(g)
    if r.other_soci_nodes:
        yield ""
        yield f"· SOCI-labelled nodes of no node group or pool of this stack: {', '.join(r.other_soci_nodes)}"
    yield ""
    checked = [g for g in r.groups if g.checked]
    failed = [g.key for g in checked if not g.passed]
    if r.passed:
        yield f"PASS: {len(checked)} of {len(r.groups)} node groups/pools checked, every one passes"
    else:
        yield "FAIL: " + "; ".join([*(f"{k} failed" for k in failed), *(["verify could not look everywhere (see above)"] if r.problems else [])])


def document(r: VerifyReport) -> dict[str, Any]:
    return r.to_json()


__all__ = ["document", "text"]
