"""config.py and the offline render's rules: bad input gets a clear error naming the key path and what is accepted."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from soci_component.config import load_stack_file, parse, parse_yaml
from soci_component.errors import SpecError
from soci_component.offline import render_stack
from soci_component.spec import AmiPin, CriProxy, EcrCredentialHelper, NodeGroupSpec, OperatingSystem, PullMode

BASE: dict[str, Any] = {
    "aws:region": "us-west-2",
    "soci-eks:cluster": {"name": "c", "kubernetesVersion": "1.33"},
    "soci-eks:nodeGroups": [
        {"name": "a", "ami": {"release": "v20260714"}, "instanceTypes": ["m7i.xlarge"]},
        {"name": "b", "ami": {"release": "v20260714"}, "instanceTypes": ["m7i.xlarge"]},
    ],
}


def with_(path: str, value: Any) -> dict[str, Any]:
    """BASE with one value set; path like 'soci-eks:nodeGroups.1.pullMode'."""
    cfg = copy.deepcopy(BASE)
    *head, last = path.split(".")
    node: Any = cfg
    for k in head:
        node = node[int(k)] if isinstance(node, list) else node.setdefault(k, {})
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return cfg


def group(**kw: Any) -> dict[str, Any]:
    return with_(NG, {**BASE["soci-eks:nodeGroups"][1], **kw})


def check(cfg: dict[str, Any]) -> None:
    """What `render` does with a config: parse, stack rules, every node group's rules, instance estimates."""
    render_stack(parse(cfg))


NG = "soci-eks:nodeGroups.1"
CASES = [
    # (config, expected key path, expected text in message)
    (with_(f"{NG}.pullMod", "lazy"), "nodeGroups[1].pullMod", "unknown key (did you mean 'pullMode'?)"),
    (with_(f"{NG}.pullMode", "eager"), "nodeGroups[1].pullMode", "expected one of: lazy, parallel, lazy-with-parallel-fallback"),
    (with_(f"{NG}.instanceTypes", "m7i.xlarge"), "nodeGroups[1].instanceTypes", "expected a list"),
    (with_(f"{NG}.instanceTypes", ["m7i.xlarge", 5]), "nodeGroups[1].instanceTypes[1]", "expected a string"),
    (with_(f"{NG}.instanceTypes", ["m7i_xlarge"]), "nodeGroups[1].instanceTypes[0]", "is not an EC2 instance type"),
    (with_(f"{NG}.instanceTypes", []), "nodeGroups[1].instanceTypes", "needs at least one EC2 instance type"),
    (with_(f"{NG}.os", "al2"), "nodeGroups[1].os", "end of life: Amazon EKS stopped publishing EKS-optimized Amazon Linux 2 AMIs on November 26, 2025"),
    (with_(f"{NG}.os", "windows"), "nodeGroups[1].os", "expected one of: al2023, bottlerocket"),
    (with_(f"{NG}.ami", {"release": "latest"}), "nodeGroups[1].ami.release", "moving targets like 'latest'/'recommended' roll every node"),
    (with_(f"{NG}.ami", {"amiId": "ami-0123456789abcdef0"}), "nodeGroups[1].ami.containerdVersion", "a raw 'amiId' needs the containerd version"),
    (with_(f"{NG}.ami", {"release": "v20260714", "amiId": "ami-0123456789abcdef0"}), "nodeGroups[1].ami", "set exactly one of 'release'"),
    (with_(f"{NG}.ami", {"amiId": "ami-xyz", "containerdVersion": "2.2.4"}), "nodeGroups[1].ami.amiId", "is not an AMI ID"),
    (with_(f"{NG}.ami", {"release": "v20260714", "variant": "gpu"}), "nodeGroups[1].ami.variant", "expected one of: standard, nvidia, neuron"),
    (with_(f"{NG}.credentials", [{"type": "password"}]), "nodeGroups[1].credentials[0].type", "expected one of: ecr-credential-helper, cri-proxy, static, kubernetes-secrets"),
    (with_(f"{NG}.credentials", [{"type": "static"}]), "nodeGroups[1].credentials[0].registry", "is required for static credentials"),
    (with_(f"{NG}.credentials", ["cri-proxy", "cri-proxy"]), "nodeGroups[1].credentials[1]", "'cri-proxy' is listed twice"),
    (with_(f"{NG}.credentials", []), "nodeGroups[1].credentials", "needs at least one credential source"),
    (with_(f"{NG}.credentials", [{"type": "ecr-credential-helper", "registries": ["docker.io"]}]), "nodeGroups[1].credentials[0].registries[0]", "is not an ECR registry host"),
    (with_(f"{NG}.credentials", [{"type": "cri-proxy", "registry": "x.io"}]), "nodeGroups[1].credentials[0].registry", "does not apply to 'cri-proxy' credentials"),
    (with_(f"{NG}.pullMode", "parallel"), None, None),  # valid: parallel defaults to cri-proxy credentials
    (group(pullMode="parallel", credentials=["ecr-credential-helper"]), "nodeGroups[1].credentials", "add 'cri-proxy' to credentials"),
    (group(os="bottlerocket", ami={"release": "1.57.0"}), "nodeGroups[1].pullMode", "'lazy' is not available on Bottlerocket"),
    (group(os="bottlerocket", ami={"release": "1.57.0"}, pullMode="parallel", credentials=["ecr-credential-helper"]), "nodeGroups[1].credentials[0]", "does not exist on Bottlerocket"),
    (group(os="bottlerocket", ami={"release": "1.57.0"}, pullMode="parallel"), None, None),  # valid: Bottlerocket defaults to cri-proxy
    (with_(f"{NG}.sociSource", {"type": "release", "version": "v0.15.0"}), "nodeGroups[1].sociSource.version", "without a leading 'v'"),
    (with_(f"{NG}.sociSource", {"type": "release", "urlBase": "ftp://x"}), "nodeGroups[1].sociSource.urlBase", "is not a URL"),
    (with_(f"{NG}.sociSource", {"type": "release", "sha256": {"amd64": "abc"}}), "nodeGroups[1].sociSource.sha256.amd64", "64 lowercase hex"),
    (with_(f"{NG}.sociSource", {"type": "ami", "version": "0.15.0"}), "nodeGroups[1].sociSource.version", "applies to type 'release'"),
    (with_(f"{NG}.sociSource", {"type": "tarball"}), "nodeGroups[1].sociSource.type", "expected 'ami'"),
    (group(pullMode="lazy-with-parallel-fallback", sociSource={"type": "release", "version": "0.13.0"}), "nodeGroups[1].sociSource.version", "needs SOCI >= 0.14.0"),
    (with_(f"{NG}.tuning", {"parallel": {"concurrentDownloadChunkSize": "16 MB"}}), "nodeGroups[1].tuning.parallel.concurrentDownloadChunkSize", "expected a size like '16mb'"),
    (with_(f"{NG}.tuning", {"parallel": {"maxConcurrentDownloadsPerImage": 0}}), "nodeGroups[1].tuning.parallel.maxConcurrentDownloadsPerImage", "expected an integer from 1 to 1000"),
    (with_(f"{NG}.tuning", {"parallel": {"bogus": 1}}), "nodeGroups[1].tuning.parallel.bogus", "unknown key"),
    (with_(f"{NG}.tuning", {"root": "relative/dir"}), "nodeGroups[1].tuning.root", "is not an absolute directory path"),
    (with_(f"{NG}.tuning", {"minLayerSize": "10MB"}), "nodeGroups[1].tuning.minLayerSize", "expected an integer"),
    (with_(f"{NG}.tuning", {"contentStore": "s3"}), "nodeGroups[1].tuning.contentStore", "expected one of: soci, containerd"),
    (group(pullMode="parallel", tuning={"contentStore": "soci", "parallel": {"discardUnpackedLayers": False}}), "nodeGroups[1].tuning.parallel.discardUnpackedLayers", "SOCI refuses to start otherwise"),
    (with_(f"{NG}.labels", {"team": 5}), "nodeGroups[1].labels.team", "expected a string label value"),
    (with_(f"{NG}.labels", {"soci.snapshotter/enabled": "false"}), 'nodeGroups[1].labels["soci.snapshotter/enabled"]', "set by the component"),
    (with_(f"{NG}.taints", [{"key": "a", "effect": "NoScheduled"}]), "nodeGroups[1].taints[0].effect", "expected one of: NoSchedule, NoExecute, PreferNoSchedule"),
    (with_(f"{NG}.disk", {"throughputMiBps": 1000}), "nodeGroups[1].disk.throughputMiBps", "needs at least 4000 IOPS"),
    (with_(f"{NG}.disk", {"preset": "fast"}), "nodeGroups[1].disk.preset", "expected one of: standard, parallel, parallel-max"),
    (with_(f"{NG}.scaling", {"minSize": 3, "maxSize": 2}), "nodeGroups[1].scaling.minSize", "3 is larger than maxSize (2)"),
    (with_(f"{NG}.scaling", {"desiredSize": 5}), "nodeGroups[1].scaling.desiredSize", "must lie between minSize (1) and maxSize (3)"),
    (with_(f"{NG}.name", "Bad_Name"), "nodeGroups[1].name", "1-40 lowercase letters"),
    (with_(f"{NG}.name", "a"), "nodeGroups[1].name", "is already the name of"),
    (with_(f"{NG}.kubernetesVersion", 1.33), "nodeGroups[1].kubernetesVersion", "as a quoted string"),
    (with_(f"{NG}.kubernetesVersion", "1.31"), None, None),  # two minors behind: allowed
    (with_(f"{NG}.kubernetesVersion", "1.34"), "nodeGroups[1].kubernetesVersion", "newer than the control plane (1.33)"),
    (group(kubernetesVersion="1.29", ami={"release": "v20260318"}), "nodeGroups[1].kubernetesVersion", "more than 3 minor versions older"),
    (with_(f"{NG}.localStorage", "raid5"), "nodeGroups[1].localStorage", "expected one of: none, raid0"),
    (group(localStorage="raid0"), "nodeGroups[1].localStorage", "have none: m7i.xlarge"),  # estimated offline from the type name
    (group(pullMode="parallel", ami={"release": "v20250915"}), "nodeGroups[1].instanceTypes", ">= 8 vCPU and >= 8 GiB"),
    (with_("soci-eks:cluster.kubernetesVersion", "v1.33"), "cluster.kubernetesVersion", "e.g. '1.33'"),
    (with_("soci-eks:vpc", {"vpcId": "vpc-01234567", "privateSubnetIds": ["subnet-01234567"]}), "vpc.privateSubnetIds", "at least two private subnets"),
    (with_("soci-eks:vpc", {"natGateways": "many"}), "vpc.natGateways", "expected one of: single, one-per-az"),
    (with_("soci-eks:vpc", {"vpcId": "vpc-01234567", "cidr": "10.0.0.0/16"}), "vpc.cidr", "applies to a new VPC"),
    (with_("soci-eks:clusterr", {}), "clusterr", "did you mean 'cluster'?"),
    (with_("soci_eks:cluster", {}), "soci_eks:cluster", "did you mean 'soci-eks:cluster'?"),
    (with_("soci-eks:demo", {"enabled": "yes"}), "demo.enabled", "expected true or false"),
    (with_("soci-eks:tags", {"team": 5}), "tags.team", "expected a string tag value"),
    (with_("soci-eks:registryCredentials", {"registry.example.com": {"username": "u", "password": "p"}}), 'registryCredentials["registry.example.com"]', "accepted: <no static credential sources>"),
]


@pytest.mark.parametrize("cfg,path,text", CASES, ids=[f"{i}-{c[1] or 'valid'}" for i, c in enumerate(CASES)])
def test_invalid_input(cfg: dict[str, Any], path: str | None, text: str | None) -> None:
    if path is None:
        check(cfg)
        return
    with pytest.raises(SpecError) as err:
        check(cfg)
    assert err.value.path == path, str(err.value)
    assert text in err.value.message, str(err.value)
    assert str(err.value).startswith(path + ": ")


def test_base_is_valid() -> None:
    stack = parse(BASE)
    assert [g.name for g in stack.node_groups] == ["a", "b"]


def test_defaults_are_the_specs() -> None:
    """One place owns defaults: YAML and Python agree (parallel and Bottlerocket get cri-proxy, fallback the ECR helper)."""
    for mode, os, release in ((PullMode.PARALLEL, OperatingSystem.AL2023, "v20260714"), (PullMode.PARALLEL, OperatingSystem.BOTTLEROCKET, "1.57.0"),
                              (PullMode.LAZY, OperatingSystem.AL2023, "v20260714"), (PullMode.LAZY_WITH_PARALLEL_FALLBACK, OperatingSystem.AL2023, "v20260714")):
        yaml_group = parse(group(pullMode=mode.value, os=os.value, ami={"release": release})).node_groups[1]
        py_group = NodeGroupSpec(name="b", kubernetes_version="1.33", ami=AmiPin(release=release), instance_types=("m7i.xlarge",), os=os, pull_mode=mode)
        assert yaml_group == py_group
    assert py_group.creds == (EcrCredentialHelper(),)
    bottlerocket = NodeGroupSpec(name="b", kubernetes_version="1.33", ami=AmiPin(release="1.57.0"), instance_types=("m7i.xlarge",),
                                 os=OperatingSystem.BOTTLEROCKET, pull_mode=PullMode.PARALLEL)
    assert bottlerocket.creds == (CriProxy(),)


def test_stack_file_unknown_top_level(tmp_path: Path) -> None:
    p = tmp_path / "Pulumi.x.yaml"
    p.write_text("confg: {}\n")
    with pytest.raises(SpecError, match="did you mean 'config'"):
        load_stack_file(p)


@pytest.mark.parametrize("text, needle", [
    ("config:\n  a: 1\n  a: 2\n", "duplicate key 'a' at line 3"),
    ("config: [\n", "not valid YAML"),
    ("a: &x [1,2]\n" + "".join(f"b{i}: *x\n" for i in range(33)), "more than 32 aliases"),
    ("a: !!python/object:os.system 'true'\n", "not valid YAML"),
])
def test_yaml_is_bounded_and_strict(text: str, needle: str) -> None:
    with pytest.raises(SpecError, match=needle):
        parse_yaml(text)


def test_yaml_not_utf8() -> None:
    with pytest.raises(SpecError, match="not UTF-8"):
        parse_yaml(b"config:\n  a: \xff\n")


def test_registry_credentials_secure_whole_value_accepted() -> None:
    parse(with_("soci-eks:registryCredentials", {"secure": "v1:AAAA"}))


def test_merge_keys_are_read_as_pulumi_reads_them() -> None:
    """Pulumi reads stack files with yaml.v3, which accepts merge keys; ``render`` must read the same file the same way
    (before: 'could not determine a constructor for the tag tag:yaml.org,2002:merge'). A key written twice is still refused."""
    text = """
config:
  aws:region: us-west-2
  soci-eks:cluster: {name: c, kubernetesVersion: "1.33"}
  soci-eks:nodeGroups:
    - &base {name: a, ami: {release: v20260714}, instanceTypes: [m7i.xlarge]}
    - <<: *base
      name: b
      instanceTypes: [m7i.2xlarge]
"""
    data = parse_yaml(text)
    stack = parse(data["config"])
    assert [(g.name, g.instance_types) for g in stack.node_groups] == [("a", ("m7i.xlarge",)), ("b", ("m7i.2xlarge",))]
    assert stack.node_groups[1].ami.release == "v20260714"
    with pytest.raises(SpecError, match="duplicate key 'name'"):
        parse_yaml("a: {<<: {x: 1}, name: a, name: b}\n")


def test_a_plain_text_password_is_refused_in_a_stack_file_only() -> None:
    """In a stack file a password must be a secure value; the program receives secrets decrypted, as plain strings."""
    cfg = {"aws:region": "us-west-2", "soci-eks:cluster": {"name": "c", "kubernetesVersion": "1.33"},
           "soci-eks:nodeGroups": [{"name": "g", "ami": {"release": "v20260714"}, "instanceTypes": ["m7i.xlarge"],
                                    "credentials": [{"type": "static", "registry": "registry.example.com"}]}],
           "soci-eks:registryCredentials": {"registry.example.com": {"username": "u", "password": "pw-plain"}}}
    parse(cfg)
    with pytest.raises(SpecError) as e:
        parse(cfg, stack_file=True)
    assert e.value.path == 'registryCredentials["registry.example.com"].password' and "pw-plain" not in str(e.value)
    secure = copy.deepcopy(cfg)
    secure["soci-eks:registryCredentials"]["registry.example.com"]["password"] = {"secure": "v1:abc"}
    parse(secure, stack_file=True)
