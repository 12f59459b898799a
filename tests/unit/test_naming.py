"""naming.py: the AWS names the components derive, and AWS's limits on them (checked offline and at preview alike)."""

from __future__ import annotations

import pytest

from soci_component.errors import SpecError
from soci_component.naming import PULUMI_SUFFIX, check_lengths, member_name, node_names


def test_names_a_group_and_a_pool_get() -> None:
    assert member_name("prod", "lazy") == "prod-lazy"
    group = node_names("prod-lazy", pool=False)
    assert {k: (n.what, n.name, n.limit) for k, n in group.items()} == {
        "role": ("IAM role", "prod-lazy-node-role", 64),
        "node_group": ("EKS node group", "prod-lazy-node-group", 63),
        "launch_template": ("launch template", "prod-lazy-launch-template", 128),
    }
    assert set(node_names("prod-p", pool=True)) == {"role"}


@pytest.mark.parametrize("length, ok", [(64, True), (65, False)])
def test_iam_role_limit_on_both_sides(length: int, ok: bool) -> None:
    """Pulumi appends '-' and 7 random characters; IAM role names are at most 64 characters."""
    component = "c" * (length - PULUMI_SUFFIX - len("-node-role"))
    names = node_names(component, pool=True)
    assert names["role"].length == length
    if ok:
        check_lengths(names, "nodePools[1].name", "the pool's name")
        return
    with pytest.raises(SpecError) as e:
        check_lengths(names, "nodePools[1].name", "the pool's name")
    assert e.value.path == "nodePools[1].name" and "65 characters; AWS allows 64" in e.value.message and "by at least 1 characters" in e.value.message


@pytest.mark.parametrize("length, ok", [(63, True), (64, False)])
def test_node_group_limit_on_both_sides(length: int, ok: bool) -> None:
    component = "g" * (length - PULUMI_SUFFIX - len("-node-group"))
    names = {"node_group": node_names(component, pool=False)["node_group"]}
    if ok:
        check_lengths(names, "p", "x")
    else:
        with pytest.raises(SpecError, match="EKS node group"):
            check_lengths(names, "p", "x")


def test_the_message_says_by_how_much_to_shorten() -> None:
    for component, total, excess in (("c" * 60, 78, 14), ("c" * 112, 130, 66)):  # name + "-node-role" + Pulumi's 8
        with pytest.raises(SpecError) as e:
            check_lengths(node_names(component, pool=True), "p", "x")
        assert f"{total} characters; AWS allows 64" in e.value.message and f"by at least {excess} characters" in e.value.message
