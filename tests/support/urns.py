"""URNs as the Pulumi engine computes them, and its alias matching, over what a program registered under mocks.

An upgrade of this package must never make ``pulumi up`` delete and recreate a running cluster, node group
or Karpenter install. The engine finds a resource's old state by its URN, then by its aliases; what it
finds nothing for is created, and every old resource nothing claims is deleted. This module replays that
lookup (pulumi/pulumi ``pkg/resource/deploy/step_generator.go``: ``generateAliases``,
``collapseAliasToUrn``, ``inheritedChildAlias``; ``sdk/go/common/resource/urn/urn.go``: ``New``) against a
recorded set of old URNs, so a test can say which old resource a new program would replace.

The mock monitor qualifies a child's type with its parent's *last* type only; the engine uses the parent's
whole qualified type chain. URNs here are the engine's, rebuilt from each registration's parent and type.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tests.support.pulumi_mocks import SociMocks

ROOT_STACK = "pulumi:pulumi:Stack"


def make_urn(stack: str, project: str, parent: str, typ: str, name: str) -> str:
    """``urn.New``: the parent's qualified type, ``$``, the type; a child of the root stack is not qualified."""
    qualified = typ
    if parent and qualified_type(parent) != ROOT_STACK:
        qualified = f"{qualified_type(parent)}${typ}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def qualified_type(urn: str) -> str:
    return urn.split("::")[2]


def last_type(urn: str) -> str:
    return qualified_type(urn).split("$")[-1]


def name_of(urn: str) -> str:
    return urn.split("::", 3)[3]


@dataclass
class Resource:
    """One registration, with the engine's URN and the aliases the program sent (``Alias`` protos)."""

    urn: str
    typ: str
    name: str
    parent: str
    """The engine URN of the parent ('' for the root stack's children)."""
    aliases: list[object] = field(default_factory=list)


def registered(m: SociMocks, stack: str = "test", project: str = "soci-eks") -> list[Resource]:
    """Every resource the program registered, in registration order (parents first), with engine URNs."""
    engine: dict[str, str] = {}  # mock URN -> engine URN
    root = f"urn:pulumi:{stack}::{project}::{ROOT_STACK}::{project}-{stack}"
    out = []
    for r in m.resources:
        parent = engine.get(r.parent, root if r.parent and last_type(r.parent) == ROOT_STACK else "")
        if r.parent and not parent:
            raise AssertionError(f"{r.typ} {r.name}: its parent {r.parent} was not registered before it")
        urn = make_urn(stack, project, parent, r.typ, r.name)
        engine[r.urn] = urn
        out.append(Resource(urn, r.typ, r.name, parent if parent != root else "", list(r.aliases)))
    return out


def short(urn: str) -> str:
    """``type chain::name`` (stack and project are the tests' own)."""
    return urn.split("::", 2)[2]


def _collapse(stack: str, project: str, r: Resource, alias: object, matched: dict[str, str]) -> str:
    """``collapseAliasToUrn``."""
    if getattr(alias, "urn", ""):
        return alias.urn  # type: ignore[attr-defined]
    spec = alias.spec  # type: ignore[attr-defined]
    name = spec.name or r.name
    typ = spec.type or r.typ
    parent = spec.parentUrn or r.parent
    if spec.parentUrn and spec.parentUrn in matched:
        parent = matched[spec.parentUrn]
    if spec.noParent or (parent and qualified_type(parent) == ROOT_STACK):
        parent = ""
    return make_urn(spec.stack or stack, spec.project or project, parent, typ, name)


def _inherited(stack: str, project: str, typ: str, name: str, parent: str, parent_alias: str) -> str:
    """``inheritedChildAlias``: the child under its parent's old URN, its name's prefix renamed along."""
    parent_name = name_of(parent)
    alias_name = name_of(parent_alias) + name[len(parent_name):] if name.startswith(parent_name) else name
    return make_urn(stack, project, parent_alias, typ, alias_name)


def candidates(stack: str, project: str, r: Resource, matched: dict[str, str]) -> list[str]:
    """``generateAliases``: the URN first, then each alias, then the aliases the parent's match implies."""
    out = [r.urn]
    for a in r.aliases:
        out.append(_collapse(stack, project, r, a, matched))
    if r.parent and r.parent in matched:
        parent_alias = matched[r.parent]
        out.append(_inherited(stack, project, r.typ, r.name, r.parent, parent_alias))
        for a in r.aliases:
            child = _collapse(stack, project, r, a, matched)
            out.append(_inherited(stack, project, last_type(child), name_of(child), r.parent, parent_alias))
    seen: list[str] = []
    for u in out:
        if u not in seen:
            seen.append(u)
    return seen


def replaced(resources: list[Resource], old: Iterable[str], stack: str = "test", project: str = "soci-eks") -> tuple[list[str], list[str]]:
    """Replay an update from a state holding ``old`` (full URNs): ``(deleted, created)`` — old URNs no resource
    claims (Pulumi deletes them) and resources that claim no old URN (Pulumi creates them)."""
    olds = set(old)
    claimed: set[str] = set()
    matched: dict[str, str] = {}  # new URN -> the old URN it found through an alias
    created = []
    for r in resources:
        for c in candidates(stack, project, r, matched):
            if c in olds and c not in claimed:
                claimed.add(c)
                if c != r.urn:
                    matched[r.urn] = c
                break
        else:
            created.append(r.urn)
    return sorted(olds - claimed), created
