"""The names of the resources the components create, and the AWS limits on them — one place.

The components name their children with these functions and check the lengths at construction;
:func:`soci_component.rules.check_nodes` checks the same names offline, so ``render`` refuses a group
name that ``pulumi preview`` would refuse. Changing a name here renames a resource, which Pulumi
replaces: the URN golden (``tests/mocks/test_urns.py``) fails unless an alias maps the old name.

Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import SpecError

__all__ = ["PULUMI_SUFFIX", "AwsName", "check_lengths", "member_name", "node_names"]

PULUMI_SUFFIX = 8
"""Pulumi's auto-naming appends '-' and 7 random characters to a resource's name."""


@dataclass(frozen=True)
class AwsName:
    """A resource name whose physical AWS name Pulumi derives (name + suffix) and its AWS limit."""

    what: str
    """What AWS calls the resource (``IAM role``)."""
    name: str
    """The Pulumi resource name (the physical name is this plus :data:`PULUMI_SUFFIX` characters)."""
    limit: int
    """AWS's maximum length of the physical name."""

    @property
    def length(self) -> int:
        return len(self.name) + PULUMI_SUFFIX


def member_name(cluster: str, spec_name: str) -> str:
    """The component name :class:`~soci_component.SociCluster` gives the node group or pool ``spec_name``."""
    return f"{cluster}-{spec_name}"


def node_names(component: str, *, pool: bool) -> dict[str, AwsName]:
    """The auto-named AWS resources of a node group or pool component named ``component`` (key -> name)."""
    names = {"role": AwsName("IAM role", f"{component}-node-role", 64)}
    if not pool:
        names["node_group"] = AwsName("EKS node group", f"{component}-node-group", 63)
        names["launch_template"] = AwsName("launch template", f"{component}-launch-template", 128)
    return names


def check_lengths(names: dict[str, AwsName], path: str, shorten: str) -> None:
    """Raise at ``path`` when a derived physical name would exceed its AWS limit; ``shorten`` says what to shorten."""
    for n in names.values():
        if n.length > n.limit:
            raise SpecError(path, f"the {n.what} name {n.name}-xxxxxxx would have {n.length} characters; AWS allows {n.limit}: "
                                  f"shorten {shorten} (by at least {n.length - n.limit} characters)")
