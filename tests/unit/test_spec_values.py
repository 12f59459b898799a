"""spec/values.py: the value checks every spec shares, each on both sides of its boundary."""

from __future__ import annotations

import pytest

from soci_component.errors import SpecError
from soci_component.spec import check_host, check_kubelet_label, check_label_key, check_label_value, check_match, check_tags, check_url_base, parse_version
from soci_component.spec.values import NAME_RE, check_image


def refuses(fn: object, *args: object) -> SpecError:
    with pytest.raises(SpecError) as e:
        fn(*args)  # type: ignore[operator]
    return e.value


@pytest.mark.parametrize("text, ok", [("a", True), ("a" * 40, True), ("a" * 41, False), ("ok-", False), ("-ok", False), ("a-b", True), ("A", False),
                                      ("a\n", False), ("a b", False)])
def test_names_match_whole(text: str, ok: bool) -> None:
    if ok:
        assert check_match("name", text, NAME_RE, "a name") == text
    else:
        assert refuses(check_match, "name", text, NAME_RE, "a name").path == "name"


@pytest.mark.parametrize("host, ok", [("r.example.com", True), ("r.example.com:1", True), ("r.example.com:65535", True), ("r.example.com:0", False),
                                      ("r.example.com:65536", False), ("https://r.example.com", False), ("r.example.com/x", False), ("-r.example.com", False)])
def test_registry_hosts_and_ports(host: str, ok: bool) -> None:
    if ok:
        assert check_host("h", host) == host
    else:
        refuses(check_host, "h", host)


@pytest.mark.parametrize("url, ok", [("https://m.example.com/soci", True), ("http://m.example.com:8080/x", True), ("https://m.example.com:65535", True),
                                     ("https://m.example.com:0/x", False), ("https://u:p@m.example.com", False), ("https://m.example.com/?a=1", False),
                                     ("https://m.example.com/#f", False),
                                     ("https://m.example.com/soci?", False), ("https://m.example.com/soci#", False), ("ftp://m.example.com", False), ("https:///x", False), ("https://m.example.com/$(x)", False)])
def test_url_base(url: str, ok: bool) -> None:
    if ok:
        check_url_base("u", url)
    else:
        refuses(check_url_base, "u", url)


@pytest.mark.parametrize("k, ok", [("team", True), ("example.com/tier", True), ("a" * 63, True), ("a" * 64, False), ("Example.com/x", False), ("/x", False),
                                   ("a/b/c", False), ("a,b", False)])
def test_label_keys(k: str, ok: bool) -> None:
    if ok:
        check_label_key("k", k)
    else:
        refuses(check_label_key, "k", k)


@pytest.mark.parametrize("v, ok", [("", True), ("v" * 63, True), ("v" * 64, False), ("-x", False), ("x-", False), ("a,b", False), ("a.b_c-d", True)])
def test_label_values(v: str, ok: bool) -> None:
    if ok:
        check_label_value("v", v)
    else:
        refuses(check_label_value, "v", v)


@pytest.mark.parametrize("k, ok", [("node.kubernetes.io/x", True), ("kubelet.kubernetes.io/x", True), ("topology.kubernetes.io/zone", True),
                                   ("kubernetes.io/team", False), ("k8s.io/x", False), ("x.k8s.io/y", False), ("node-role.kubernetes.io/worker", False),
                                   ("example.com/x", True), ("team", True)])
def test_kubelet_label_namespaces(k: str, ok: bool) -> None:
    if ok:
        check_kubelet_label("l", k)
    else:
        assert "the kubelet would refuse to start" in refuses(check_kubelet_label, "l", k).message


def test_tag_limits_on_both_sides() -> None:
    check_tags("tags", {"k" * 128: "v" * 256})
    assert "1-128" in refuses(check_tags, "tags", {"k" * 129: "v"}).message
    assert "at most 256" in refuses(check_tags, "tags", {"k": "v" * 257}).message
    check_tags("tags", {f"t{i}": "x" for i in range(47)}, reserved=3)
    assert "AWS allows 50" in refuses(check_tags, "tags", {f"t{i}": "x" for i in range(48)}, 3).message
    check_tags("tags", {"team": "ml-aws:x", "awsx": "y"})  # only the prefix is reserved


@pytest.mark.parametrize("ref, ok", [("busybox", True), ("public.ecr.aws/a/b:1", True), ("r.example.com:5000/a/b@sha256:" + "a" * 64, True),
                                     ("Registry.example.com/A", False), ("a:b:c", False), ("a/b@sha256:12", False)])
def test_image_references(ref: str, ok: bool) -> None:
    if ok:
        check_image("i", ref)
    else:
        refuses(check_image, "i", ref)


def test_versions() -> None:
    assert parse_version("1.7.27") == (1, 7, 27)
    for bad in ("1.7", "v1.7.27", "1.7.27\n", ""):
        with pytest.raises(ValueError):
            parse_version(bad)
