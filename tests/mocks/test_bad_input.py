"""Bad input never reaches a node: a table of mistaken stack configs, each refused with its key path and a
clear message — through the offline ``render`` (stack file -> SpecError) and through the program under
Pulumi mocks (stack config -> preview failure as a ``pulumi.RunError``, message only), alike.

Each case mutates the dev stack's config. ``OFFLINE`` cases exist only in a stack file (YAML duplicates,
a plain-text password in the file).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from soci_component.config import load_stack_file
from soci_component.errors import SpecError, key
from soci_component.offline import render_stack
from tests.mocks.test_stacks import encode, run_program

ROOT = Path(__file__).resolve().parents[2]
DEV = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())["config"]
NG = "soci-eks:nodeGroups"
Mutation = Callable[[dict[str, Any]], None]


def group(**kw: Any) -> Mutation:
    """Set keys of nodeGroups[0] (the dev stack's lazy group)."""
    return lambda c: c[NG][0].update(kw)


def drop(*keys: str) -> Mutation:
    return lambda c: [c[NG][0].pop(k, None) for k in keys] and None  # type: ignore[func-returns-value]


def at(key: str, value: Any) -> Mutation:
    """Set a top-level config key (``soci-eks:vpc``) or a dotted path inside one (``soci-eks:cluster.serviceCidr``)."""

    def mutate(c: dict[str, Any]) -> None:
        top, _, rest = key.partition(".")
        if not rest:
            c[top] = value
            return
        node = c.setdefault(top, {})
        *head, last = rest.split(".")
        for k in head:
            node = node.setdefault(k, {})
        node[last] = value

    return mutate


def both(*ms: Mutation) -> Mutation:
    def mutate(c: dict[str, Any]) -> None:
        for m in ms:
            m(c)

    return mutate


PARALLEL_AMI = {"pullMode": "parallel", "credentials": ["cri-proxy"], "tuning": {}}
BOTTLEROCKET = {"os": "bottlerocket", "ami": {"release": "1.57.0"}, "pullMode": "parallel", "credentials": ["cri-proxy"], "tuning": {}, "sociSource": "ami"}
RELEASE = {"type": "release", "version": "0.15.0"}
P = "nodeGroups[0]"
LONG = "x" * 20000

# (id, mutation, key path, text in the message)
CASES: list[tuple[str, Mutation, str, str]] = [
    # 1. trailing newlines and control characters, in every string that reaches a node or AWS
    ("nl-name", group(name="lazy\n"), f"{P}.name", "control character"),
    ("nl-label-key", group(labels={"team\n": "ml"}), f'{P}.labels["team\\n"]', "control character"),
    ("nl-label-value", group(labels={"team": "ml\n"}), f"{P}.labels.team", "control character"),
    ("nl-taint-key", group(taints=[{"key": "a\n", "effect": "NoSchedule"}]), f"{P}.taints[0].key", "control character"),
    ("nl-taint-value", group(taints=[{"key": "a", "value": "b\n", "effect": "NoSchedule"}]), f"{P}.taints[0].value", "control character"),
    ("nl-instance-type", group(instanceTypes=["m7i.xlarge\n"]), f"{P}.instanceTypes[0]", "control character"),
    ("nl-ami-id", group(ami={"amiId": "ami-0123456789abcdef0\n", "containerdVersion": "2.2.4"}), f"{P}.ami.amiId", "control character"),
    ("nl-containerd-version", group(ami={"amiId": "ami-0123456789abcdef0", "containerdVersion": "2.2.4\n"}), f"{P}.ami.containerdVersion", "control character"),
    ("nl-release", group(ami={"release": "v20260714\n"}), f"{P}.ami.release", "control character"),
    ("nl-soci-version", group(sociSource={"type": "release", "version": "0.15.0\n"}), f"{P}.sociSource.version", "control character"),
    ("nl-url-base", group(sociSource={"type": "release", "urlBase": "https://m.example.com/soci\n"}), f"{P}.sociSource.urlBase", "control character"),
    ("tab-url-base", group(sociSource={"type": "release", "urlBase": "https://m.example.com/\tsoci"}), f"{P}.sociSource.urlBase", "control character"),
    ("nl-chunk-size", group(pullMode="lazy-with-parallel-fallback", sociSource=RELEASE, tuning={"parallel": {"concurrentDownloadChunkSize": "16mb\n"}}),
     f"{P}.tuning.parallel.concurrentDownloadChunkSize", "control character"),
    ("nl-root", group(tuning={"root": "/var/lib/soci\n"}), f"{P}.tuning.root", "control character"),
    ("nl-mirror-host", group(tuning={"mirrors": [{"host": "docker.io\n", "mirrors": ["m.example.com"]}]}), f"{P}.tuning.mirrors[0].host", "control character"),
    ("nl-mirror", group(tuning={"mirrors": [{"host": "docker.io", "mirrors": ["m.example.com\n"]}]}), f"{P}.tuning.mirrors[0].mirrors[0]", "control character"),
    ("nl-static-registry", group(credentials=[{"type": "static", "registry": "r.example.com\n"}]), f"{P}.credentials[0].registry", "control character"),
    ("nl-ecr-registry", group(credentials=[{"type": "ecr-credential-helper", "registries": ["123456789012.dkr.ecr.us-west-2.amazonaws.com\n"]}]),
     f"{P}.credentials[0].registries[0]", "control character"),
    ("nl-decompressor", group(pullMode="lazy-with-parallel-fallback", sociSource=RELEASE, tuning={"parallel": {"decompressor": {"path": "/usr/bin/pigz\n"}}}),
     f"{P}.tuning.parallel.decompressor.path", "control character"),
    ("nl-decompressor-arg", group(pullMode="lazy-with-parallel-fallback", sociSource=RELEASE, tuning={"parallel": {"decompressor": {"path": "/usr/bin/pigz", "args": ["-d\n"]}}}),
     f"{P}.tuning.parallel.decompressor.args[0]", "control character"),
    ("nl-k8s", group(kubernetesVersion="1.33\n"), f"{P}.kubernetesVersion", "control character"),
    ("nl-subnet", group(subnetIds=["subnet-0123456789abcdef0\n"]), f"{P}.subnetIds[0]", "control character"),
    ("nl-cluster-name", at("soci-eks:cluster.name", "soci-dev\n"), "cluster.name", "control character"),
    ("nl-tag-value", at("soci-eks:tags", {"team": "a\nb"}), "tags.team", "control character"),
    ("nl-tag-key", at("soci-eks:tags", {"team\n": "a"}), 'tags["team\\n"]', "control character"),
    ("nl-demo-image", at("soci-eks:demo.image", "busybox\n"), "demo.image", "control character"),
    ("nul-name", group(name="la\x00zy"), f"{P}.name", "control character"),
    # strings after a valid start
    ("shell-in-name", group(name="a$(x)"), f"{P}.name", "is not a node group name"),
    ("space-in-name", group(name="a b"), f"{P}.name", "is not a node group name"),
    ("dash-end-name", group(name="ok-"), f"{P}.name", "is not a node group name"),
    ("41-char-name", group(name="a" * 41), f"{P}.name", "is not a node group name"),
    ("comma-in-label", group(labels={"team": "ml,soci.snapshotter/enabled=false"}), f"{P}.labels.team", "is not a Kubernetes label value"),
    ("shell-in-label", group(labels={"team": "a$(x)"}), f"{P}.labels.team", "is not a Kubernetes label value"),
    ("equals-in-taint", group(taints=[{"key": "a", "value": "b=c", "effect": "NoSchedule"}]), f"{P}.taints[0].value", "is not a Kubernetes label value"),
    ("shell-instance-type", group(instanceTypes=["m7i.xlarge;reboot"]), f"{P}.instanceTypes[0]", "is not an EC2 instance type"),
    ("space-host", group(credentials=[{"type": "static", "registry": "r.example.com x"}]), f"{P}.credentials[0].registry", "is not a registry host"),
    ("scheme-in-host", group(tuning={"mirrors": [{"host": "https://docker.io", "mirrors": ["m.example.com"]}]}), f"{P}.tuning.mirrors[0].host", "no scheme, no path"),
    # 2. Kubernetes and kubelet semantics
    ("label-name-64", group(labels={"a" * 64: "x"}), key(f"{P}.labels", "a" * 64), "is not a Kubernetes label key"),
    ("label-prefix-upper", group(labels={"Example.com/x": "y"}), f'{P}.labels["Example.com/x"]', "is not a Kubernetes label key"),
    ("label-prefix-empty", group(labels={"/x": "y"}), f'{P}.labels["/x"]', "is not a Kubernetes label key"),
    ("label-value-64", group(labels={"team": "v" * 64}), f"{P}.labels.team", "is not a Kubernetes label value"),
    ("label-value-dash", group(labels={"team": "-x"}), f"{P}.labels.team", "is not a Kubernetes label value"),
    ("label-value-empty", group(labels={"team": ""}), f"{P}.labels.team", "EKS node group labels need a value"),
    ("label-key-eks-63", group(labels={"example.com/" + "n" * 60: "x"}), key(f"{P}.labels", "example.com/" + "n" * 60), "at most 63"),
    ("label-node-role", group(labels={"node-role.kubernetes.io/worker": "true"}), f'{P}.labels["node-role.kubernetes.io/worker"]', "the kubelet would refuse to start"),
    ("label-kubernetes-io", group(labels={"kubernetes.io/team": "x"}), f'{P}.labels["kubernetes.io/team"]', "kubelet.kubernetes.io or node.kubernetes.io"),
    ("label-k8s-io", group(labels={"k8s.io/team": "x"}), f'{P}.labels["k8s.io/team"]', "namespace the kubelet reserves"),
    ("label-sub-k8s-io", group(labels={"x.k8s.io/team": "x"}), f'{P}.labels["x.k8s.io/team"]', "namespace the kubelet reserves"),
    ("label-soci-enabled", group(labels={"soci.snapshotter/enabled": "false"}), f'{P}.labels["soci.snapshotter/enabled"]', "set by the component"),
    ("label-soci-mode", group(labels={"soci.snapshotter/pull-mode": "parallel"}), f'{P}.labels["soci.snapshotter/pull-mode"]', "set by the component"),
    ("label-soci-other", group(labels={"soci.snapshotter/x": "y"}), f'{P}.labels["soci.snapshotter/x"]', "set by the component"),
    ("label-comma-key", group(labels={"a,b": "c"}), f'{P}.labels["a,b"]', "is not a Kubernetes label key"),
    ("taint-twice", group(taints=[{"key": "a", "effect": "NoSchedule"}, {"key": "a", "value": "v", "effect": "NoSchedule"}]), f"{P}.taints[1]", "listed twice"),
    ("taint-key-space", group(taints=[{"key": "a b", "effect": "NoSchedule"}]), f"{P}.taints[0].key", "is not a Kubernetes label key"),
    ("taint-key-64", group(taints=[{"key": "example.com/" + "k" * 60, "effect": "NoSchedule"}]), f"{P}.taints[0].key", "at most 63"),
    ("taint-effect", group(taints=[{"key": "a", "effect": "NoScheduled"}]), f"{P}.taints[0].effect", "expected one of: NoSchedule, NoExecute, PreferNoSchedule"),
    ("taint-no-effect", group(taints=[{"key": "a"}]), f"{P}.taints[0].effect", "is required"),
    ("taint-unknown-key", group(taints=[{"key": "a", "effect": "NoSchedule", "operator": "Exists"}]), f"{P}.taints[0].operator", "unknown key"),
    # 3. EKS, EC2 and VPC limits
    ("taints-51", group(taints=[{"key": f"k{i}", "effect": "NoSchedule"} for i in range(51)]), f"{P}.taints", "at most 50"),
    ("scaling-int32", group(scaling={"minSize": 1, "maxSize": 2**31, "desiredSize": 1}), f"{P}.scaling.maxSize", "a non-negative integer"),
    ("scaling-negative", group(scaling={"minSize": -1}), f"{P}.scaling.minSize", "a non-negative integer"),
    ("scaling-min-max", group(scaling={"minSize": 4, "maxSize": 3, "desiredSize": 3}), f"{P}.scaling.minSize", "larger than maxSize"),
    ("scaling-desired", group(scaling={"minSize": 1, "maxSize": 3, "desiredSize": 4}), f"{P}.scaling.desiredSize", "must lie between"),
    ("scaling-max-zero", group(scaling={"minSize": 0, "maxSize": 0, "desiredSize": 0}), f"{P}.scaling.maxSize", "at least 1"),
    ("scaling-bool", group(scaling={"minSize": True}), f"{P}.scaling.minSize", "expected an integer"),
    ("disk-small", group(disk={"sizeGiB": 10}), f"{P}.disk.sizeGiB", "20..16384"),
    ("disk-iops-max", group(disk={"sizeGiB": 200, "iops": 90000}), f"{P}.disk.iops", "3000..80000"),
    ("disk-iops-per-gib", group(disk={"sizeGiB": 20, "iops": 16000, "throughputMiBps": 125}), f"{P}.disk.iops", "500 IOPS per GiB"),
    ("disk-throughput-max", group(disk={"sizeGiB": 200, "iops": 16000, "throughputMiBps": 2001}), f"{P}.disk.throughputMiBps", "125..2000"),
    ("disk-throughput-iops", group(disk={"throughputMiBps": 1000}), f"{P}.disk.throughputMiBps", "needs at least 4000 IOPS"),
    ("disk-preset", group(disk={"preset": "fast"}), f"{P}.disk.preset", "expected one of: standard, parallel, parallel-max"),
    ("disk-unknown", group(disk={"size": 100}), f"{P}.disk.size", "did you mean 'sizeGiB'"),
    ("vpc-slash-8", at("soci-eks:vpc", {"cidr": "10.0.0.0/8"}), "vpc.cidr", "/16 to /28"),
    ("vpc-slash-29", at("soci-eks:vpc", {"cidr": "10.0.0.0/29"}), "vpc.cidr", "/16 to /28"),
    ("vpc-no-room", at("soci-eks:vpc", {"cidr": "10.0.0.0/26", "azCount": 3}), "vpc.cidr", "cannot hold 6 subnets"),
    ("vpc-ipv6", at("soci-eks:vpc", {"cidr": "fd00::/56"}), "vpc.cidr", "is IPv6"),
    ("vpc-not-cidr", at("soci-eks:vpc", {"cidr": "10.0.0.1/16"}), "vpc.cidr", "is not a CIDR block"),
    ("vpc-az-1", at("soci-eks:vpc", {"azCount": 1}), "vpc.azCount", "2..6"),
    ("vpc-az-7", at("soci-eks:vpc", {"azCount": 7}), "vpc.azCount", "2..6"),
    ("vpc-nat", at("soci-eks:vpc", {"natGateways": "many"}), "vpc.natGateways", "expected one of: single, one-per-az"),
    ("vpc-existing-one-subnet", at("soci-eks:vpc", {"vpcId": "vpc-01234567", "privateSubnetIds": ["subnet-01234567"]}), "vpc.privateSubnetIds", "at least two"),
    ("vpc-existing-dup", at("soci-eks:vpc", {"vpcId": "vpc-01234567", "privateSubnetIds": ["subnet-01234567", "subnet-01234567"]}), "vpc.privateSubnetIds[1]", "listed twice"),
    ("vpc-existing-dup-public", at("soci-eks:vpc", {"vpcId": "vpc-01234567", "privateSubnetIds": ["subnet-01234567", "subnet-01234568"], "publicSubnetIds": ["subnet-01234567"]}),
     "vpc.publicSubnetIds[0]", "listed twice"),
    ("vpc-existing-cidr", at("soci-eks:vpc", {"vpcId": "vpc-01234567", "cidr": "10.0.0.0/16"}), "vpc.cidr", "applies to a new VPC"),
    ("vpc-subnets-without-id", at("soci-eks:vpc", {"privateSubnetIds": ["subnet-01234567"]}), "vpc.privateSubnetIds", "needs 'vpcId'"),
    ("vpc-id-bad", at("soci-eks:vpc", {"vpcId": "vpc-xyz", "privateSubnetIds": ["subnet-01234567", "subnet-01234568"]}), "vpc.vpcId", "is not a VPC ID"),
    ("service-public", at("soci-eks:cluster.serviceCidr", "8.8.0.0/16"), "cluster.serviceCidr", "not in a private range"),
    ("service-slash-8", at("soci-eks:cluster.serviceCidr", "10.0.0.0/8"), "cluster.serviceCidr", "/12 to /24"),
    ("service-slash-25", at("soci-eks:cluster.serviceCidr", "10.0.0.0/25"), "cluster.serviceCidr", "/12 to /24"),
    ("service-ipv6", at("soci-eks:cluster.serviceCidr", "fd00::/108"), "cluster.serviceCidr", "is IPv6"),
    ("service-overlaps-vpc", at("soci-eks:vpc", {"cidr": "172.20.0.0/16"}), "cluster.serviceCidr", "overlaps the VPC's 172.20.0.0/16"),
    ("public-cidr-ipv6", at("soci-eks:cluster.publicAccessCidrs", ["::/0"]), "cluster.publicAccessCidrs[0]", "is IPv6"),
    ("public-cidr-empty", at("soci-eks:cluster.publicAccessCidrs", []), "cluster.publicAccessCidrs", "at least one CIDR"),
    ("public-cidr-bad", at("soci-eks:cluster.publicAccessCidrs", ["everyone"]), "cluster.publicAccessCidrs[0]", "is not a CIDR block"),
    ("log-type", at("soci-eks:cluster.enabledLogTypes", ["api", "all"]), "cluster.enabledLogTypes[1]", "expected one of: api, audit"),
    ("k8s-never", at("soci-eks:cluster.kubernetesVersion", "1.99"), "cluster.kubernetesVersion", "not a Kubernetes version any catalogued EKS AMI ships"),
    ("k8s-old", at("soci-eks:cluster.kubernetesVersion", "1.10"), "cluster.kubernetesVersion", "not a Kubernetes version any catalogued EKS AMI ships"),
    ("k8s-float", at("soci-eks:cluster.kubernetesVersion", 1.33), "cluster.kubernetesVersion", "as a quoted string"),
    ("k8s-v", at("soci-eks:cluster.kubernetesVersion", "v1.33"), "cluster.kubernetesVersion", "e.g. '1.33'"),
    ("tag-aws-prefix", at("soci-eks:tags", {"aws:team": "x"}), 'tags["aws:team"]', "reserved for AWS"),
    ("tag-key-129", at("soci-eks:tags", {"k" * 129: "x"}), key("tags", "k" * 129), "1-128"),
    ("tag-value-257", at("soci-eks:tags", {"team": "v" * 257}), "tags.team", "at most 256"),
    ("tag-key-chars", at("soci-eks:tags", {"a#b": "x"}), 'tags["a#b"]', "is not an AWS tag key"),
    ("tags-48", at("soci-eks:tags", {f"t{i}": "x" for i in range(48)}), "tags", "AWS allows 50 per resource"),
    ("derived-name-too-long", at("soci-eks:cluster.name", "c" * 40), f"{P}.name", "would have"),
    ("cluster-name-space", at("soci-eks:cluster.name", "soci dev"), "cluster.name", "is not a cluster name"),
    ("cluster-name-101", at("soci-eks:cluster.name", "c" * 101), "cluster.name", "is not a cluster name"),
    ("region-bad", at("aws:region", "moon-1"), "aws:region", "is not an AWS region"),
    ("skew-newer", group(kubernetesVersion="1.34"), f"{P}.kubernetesVersion", "newer than the control plane"),
    ("skew-4-behind", both(at("soci-eks:cluster.kubernetesVersion", "1.33"), group(kubernetesVersion="1.29", ami={"release": "v20260318"})), f"{P}.kubernetesVersion",
     "more than 3 minor versions older"),
    ("duplicate-names", lambda c: c[NG].append(copy.deepcopy(c[NG][0])), "nodeGroups[1].name", "is already the name of"),
    ("no-node-groups", at(NG, []), "nodeGroups", "at least one node group"),
    ("subnet-dup", group(subnetIds=["subnet-01234567", "subnet-01234567"]), f"{P}.subnetIds", "lists a subnet twice"),
    ("subnet-bad", group(subnetIds=["sn-1"]), f"{P}.subnetIds[0]", "is not a subnet ID"),
    ("instance-type-dup", group(instanceTypes=["m7i.xlarge", "m7i.xlarge"]), f"{P}.instanceTypes", "lists a type twice"),
    ("instance-types-empty", group(instanceTypes=[]), f"{P}.instanceTypes", "at least one EC2 instance type"),
    ("mixed-arch", group(instanceTypes=["m7i.xlarge", "m7g.xlarge"]), f"{P}.instanceTypes[1]", "share an architecture"),
    ("raid0-no-store", group(localStorage="raid0"), f"{P}.localStorage", "have none: m7i.xlarge"),
    ("fast-pull-floor", group(**PARALLEL_AMI, instanceTypes=["m7i.large"]), f"{P}.instanceTypes", ">= 4 vCPU and >= 7 GiB"),
    ("fast-pull-old-floor", group(**PARALLEL_AMI, ami={"release": "v20250915"}), f"{P}.instanceTypes", ">= 8 vCPU and >= 8 GiB"),
    # 4. SOCI and node values
    ("min-layer-int64", group(tuning={"minLayerSize": 2**63}), f"{P}.tuning.minLayerSize", "a non-negative number of bytes"),
    ("min-layer-negative", group(tuning={"minLayerSize": -1}), f"{P}.tuning.minLayerSize", "a non-negative number of bytes"),
    ("downloads-int64", group(pullMode="lazy-with-parallel-fallback", sociSource=RELEASE, tuning={"parallel": {"maxConcurrentDownloads": 2**63}}),
     f"{P}.tuning.parallel.maxConcurrentDownloads", "a positive integer, or -1"),
    ("downloads-zero", group(pullMode="lazy-with-parallel-fallback", sociSource=RELEASE, tuning={"parallel": {"maxConcurrentDownloads": 0}}),
     f"{P}.tuning.parallel.maxConcurrentDownloads", "a positive integer, or -1"),
    ("unpacks-minus-2", group(pullMode="lazy-with-parallel-fallback", sociSource=RELEASE, tuning={"parallel": {"maxConcurrentUnpacks": -2}}),
     f"{P}.tuning.parallel.maxConcurrentUnpacks", "a positive integer, or -1"),
    ("per-image-1001", group(pullMode="lazy-with-parallel-fallback", sociSource=RELEASE, tuning={"parallel": {"maxConcurrentUnpacksPerImage": 1001}}),
     f"{P}.tuning.parallel.maxConcurrentUnpacksPerImage", "from 1 to 1000"),
    ("chunk-size", group(pullMode="lazy-with-parallel-fallback", sociSource=RELEASE, tuning={"parallel": {"concurrentDownloadChunkSize": "16 MB"}}),
     f"{P}.tuning.parallel.concurrentDownloadChunkSize", "a size like '16mb'"),
    ("root-double-slash", group(tuning={"root": "//var/lib/soci"}), f"{P}.tuning.root", "normalised"),
    ("root-dot", group(tuning={"root": "/var/./lib/soci"}), f"{P}.tuning.root", "normalised"),
    ("root-dotdot", group(tuning={"root": "/var/../etc"}), f"{P}.tuning.root", "normalised"),
    ("root-slash", group(tuning={"root": "/"}), f"{P}.tuning.root", "is not an absolute directory path"),
    ("root-relative", group(tuning={"root": "var/lib/soci"}), f"{P}.tuning.root", "is not an absolute directory path"),
    ("decompressor-relative", group(pullMode="lazy-with-parallel-fallback", sociSource=RELEASE, tuning={"parallel": {"decompressor": {"path": "unpigz"}}}),
     f"{P}.tuning.parallel.decompressor.path", "absolute path"),
    ("decompressor-dir", group(pullMode="lazy-with-parallel-fallback", sociSource=RELEASE, tuning={"parallel": {"decompressor": {"path": "/usr/bin/"}}}),
     f"{P}.tuning.parallel.decompressor.path", "absolute path"),
    ("url-no-host", group(sociSource={"type": "release", "urlBase": "https:///soci"}), f"{P}.sociSource.urlBase", "has no valid host"),
    ("url-credentials", group(sociSource={"type": "release", "urlBase": "https://user:token@m.example.com/soci"}), f"{P}.sociSource.urlBase", "contains credentials"),
    ("url-query", group(sociSource={"type": "release", "urlBase": "https://m.example.com/soci?x=1"}), f"{P}.sociSource.urlBase", "a query or fragment"),
    ("url-ftp", group(sociSource={"type": "release", "urlBase": "ftp://m.example.com"}), f"{P}.sociSource.urlBase", "is not a URL"),
    ("url-http-unpinned", group(sociSource={"type": "release", "urlBase": "http://m.example.com/soci"}), f"{P}.sociSource.sha256", "pin sha256.amd64"),
    ("url-bad-port", group(sociSource={"type": "release", "urlBase": "https://m.example.com:99999/soci"}), f"{P}.sociSource.urlBase", "is not a URL"),
    ("sha-upper", group(sociSource={"type": "release", "sha256": {"amd64": "A" * 64}}), f"{P}.sociSource.sha256.amd64", "64 lowercase hex"),
    ("sha-arch", group(sociSource={"type": "release", "sha256": {"ppc64": "a" * 64}}), f"{P}.sociSource.sha256.ppc64", "accepted: amd64, arm64"),
    ("soci-version-short", group(sociSource={"type": "release", "version": "0.15"}), f"{P}.sociSource.version", "MAJOR.MINOR.PATCH"),
    ("soci-version-old-lazy", group(sociSource={"type": "release", "version": "0.9.0"}), f"{P}.sociSource.version", ">= 0.10.0"),
    ("soci-source-kind", group(sociSource={"type": "tarball"}), f"{P}.sociSource.type", "expected 'ami'"),
    ("soci-source-version-ami", group(sociSource={"type": "ami", "version": "0.15.0"}), f"{P}.sociSource.version", "applies to type 'release'"),
    ("fallback-ami", group(pullMode="lazy-with-parallel-fallback"), f"{P}.sociSource", "needs SOCI >= 0.14.0"),
    ("ecr-host", group(credentials=[{"type": "ecr-credential-helper", "registries": ["docker.io"]}]), f"{P}.credentials[0].registries[0]", "is not an ECR registry host"),
    ("ecr-dup", group(credentials=[{"type": "ecr-credential-helper", "registries": ["123456789012.dkr.ecr.us-west-2.amazonaws.com"] * 2}]),
     f"{P}.credentials[0].registries", "lists a registry twice"),
    ("cred-twice", group(credentials=["cri-proxy", "cri-proxy"]), f"{P}.credentials[1]", "listed twice"),
    ("cred-kind", group(credentials=["password"]), f"{P}.credentials[0].type", "expected one of: ecr-credential-helper"),
    ("cred-empty", group(credentials=[]), f"{P}.credentials", "at least one credential source"),
    ("cred-extra-key", group(credentials=[{"type": "cri-proxy", "registry": "r.example.com"}]), f"{P}.credentials[0].registry", "does not apply to 'cri-proxy'"),
    ("static-no-registry", group(credentials=[{"type": "static"}]), f"{P}.credentials[0].registry", "is required"),
    ("mirror-dup-host", group(tuning={"mirrors": [{"host": "docker.io", "mirrors": ["a.example.com"]}, {"host": "docker.io", "mirrors": ["b.example.com"]}]}),
     f"{P}.tuning.mirrors", "each registry host may appear once"),
    ("mirror-none", group(tuning={"mirrors": [{"host": "docker.io", "mirrors": []}]}), f"{P}.tuning.mirrors[0].mirrors", "at least one mirror"),
    ("mirror-dup", group(tuning={"mirrors": [{"host": "docker.io", "mirrors": ["a.example.com", "a.example.com"]}]}), f"{P}.tuning.mirrors[0].mirrors", "lists a mirror twice"),
    ("mirror-unknown", group(tuning={"mirrors": [{"host": "docker.io", "mirrors": ["a.example.com"], "tls": False}]}), f"{P}.tuning.mirrors[0].tls", "unknown key"),
    ("raid-custom-root", group(localStorage="raid0", instanceTypes=["m6id.xlarge"], tuning={"root": "/data/soci"}), f"{P}.localStorage", "custom tuning.root would stay on EBS"),
    ("discard-soci-store", group(pullMode="lazy-with-parallel-fallback", sociSource=RELEASE, tuning={"contentStore": "soci", "parallel": {"discardUnpackedLayers": False}}),
     f"{P}.tuning.parallel.discardUnpackedLayers", "SOCI refuses to start"),
    # 5. settings that would silently do nothing
    ("parallel-knob-lazy", group(tuning={"parallel": {"maxConcurrentDownloads": 4}}), f"{P}.tuning.parallel", "has no effect in pull mode 'lazy'"),
    ("v1-indexes-parallel", group(**{**PARALLEL_AMI, "tuning": {"v1Indexes": True}}, instanceTypes=["m7i.2xlarge"]), f"{P}.tuning.v1Indexes", "no effect in pull mode 'parallel'"),
    ("root-with-gate", group(**{**PARALLEL_AMI, "tuning": {"root": "/data/soci"}}, instanceTypes=["m7i.2xlarge"]), f"{P}.tuning.root", "nodeadm's FastImagePull gate"),
    ("br-min-layer", group(**{**BOTTLEROCKET, "tuning": {"minLayerSize": 0}}, instanceTypes=["m7g.xlarge"]), f"{P}.tuning.minLayerSize", "Bottlerocket has no setting"),
    ("br-decompressor", group(**{**BOTTLEROCKET, "tuning": {"parallel": {"decompressor": "none"}}}, instanceTypes=["m7g.xlarge"]), f"{P}.tuning.parallel.decompressor",
     "Bottlerocket has no setting"),
    ("br-root", group(**{**BOTTLEROCKET, "tuning": {"root": "/data"}}, instanceTypes=["m7g.xlarge"]), f"{P}.tuning", "only the parallel-pull knobs"),
    ("br-lazy", group(**{**BOTTLEROCKET, "pullMode": "lazy"}, instanceTypes=["m7g.xlarge"]), f"{P}.pullMode", "not available on Bottlerocket"),
    ("br-ecr", group(**{**BOTTLEROCKET, "credentials": ["ecr-credential-helper"]}, instanceTypes=["m7g.xlarge"]), f"{P}.credentials[0]", "does not exist on Bottlerocket"),
    ("br-release", group(**{**BOTTLEROCKET, "sociSource": RELEASE}, instanceTypes=["m7g.xlarge"]), f"{P}.sociSource", "Bottlerocket uses the SOCI it ships"),
    ("br-neuron", group(**{**BOTTLEROCKET, "ami": {"release": "1.57.0", "variant": "neuron"}}, instanceTypes=["m7g.xlarge"]), f"{P}.ami.variant", "Neuron runs on 'standard'"),
    ("near-miss-namespace", at("soci_eks:tags", {"a": "b"}), "soci_eks:tags", "did you mean 'soci-eks:tags'?"),
    ("neuron-on-gpu", group(ami={"release": "v20260714", "variant": "neuron"}, instanceTypes=["g5.xlarge"]), f"{P}.ami.variant", "no NVIDIA driver"),
    ("gate-needs-cri", group(pullMode="parallel", credentials=["ecr-credential-helper"], tuning={}, instanceTypes=["m7i.2xlarge"]), f"{P}.credentials", "add 'cri-proxy'"),
    # 6. wrong types never give a traceback
    ("labels-int", group(labels=5), f"{P}.labels", "expected a mapping"),
    ("labels-list", group(labels=["a"]), f"{P}.labels", "expected a mapping"),
    ("labels-bool", group(labels=True), f"{P}.labels", "expected a mapping"),
    ("label-value-int", group(labels={"team": 5}), f"{P}.labels.team", "expected a string label value"),
    ("label-value-null", group(labels={"team": None}), f"{P}.labels.team", "got null"),
    ("tags-list", at("soci-eks:tags", ["a"]), "tags", "expected a mapping"),
    ("tags-int", at("soci-eks:tags", 5), "tags", "expected a mapping"),
    ("node-groups-mapping", at(NG, {"name": "x"}), "nodeGroups", "expected a list"),
    ("node-group-string", at(NG, ["lazy"]), "nodeGroups[0]", "expected a mapping"),
    ("instance-types-string", group(instanceTypes="m7i.xlarge"), f"{P}.instanceTypes", "expected a list"),
    ("instance-type-int", group(instanceTypes=[5]), f"{P}.instanceTypes[0]", "expected a string"),
    ("credentials-string", group(credentials="cri-proxy"), f"{P}.credentials", "expected a list"),
    ("credential-int", group(credentials=[5]), f"{P}.credentials[0]", "expected a mapping"),
    ("tuning-list", group(tuning=[]), f"{P}.tuning", "expected a mapping"),
    ("disk-string", group(disk="big"), f"{P}.disk", "expected a mapping"),
    ("scaling-string", group(scaling="3"), f"{P}.scaling", "expected a mapping"),
    ("ami-string", group(ami="v20260714"), f"{P}.ami", "expected a mapping"),
    ("ami-null", group(ami=None), f"{P}.ami", "got null"),
    ("soci-source-int", group(sociSource=5), f"{P}.sociSource", "expected a mapping"),
    ("taints-mapping", group(taints={"a": "b"}), f"{P}.taints", "expected a list"),
    ("demo-list", at("soci-eks:demo", []), "demo", "expected a mapping"),
    ("demo-replicas-str", at("soci-eks:demo.replicas", "1"), "demo.replicas", "expected an integer"),
    ("demo-replicas-21", at("soci-eks:demo.replicas", 21), "demo.replicas", "0..20"),
    ("vpc-string", at("soci-eks:vpc", "default"), "vpc", "expected a mapping"),
    ("cluster-null", at("soci-eks:cluster", None), "cluster", "got null"),
    ("name-int", group(name=5), f"{P}.name", "expected a string"),
    ("pull-mode-null", group(pullMode=None), f"{P}.pullMode", "is not accepted"),
    ("os-int", group(os=5), f"{P}.os", "is not accepted"),
    ("os-al2", group(os="al2"), f"{P}.os", "end of life"),
    ("unknown-key", group(pullMod="lazy"), f"{P}.pullMod", "did you mean 'pullMode'"),
    ("unknown-top", at("soci-eks:clusterr", {}), "clusterr", "did you mean 'cluster'"),
    ("missing-ami", drop("ami"), f"{P}.ami", "is required"),
    ("missing-name", drop("name"), f"{P}.name", "is required"),
    ("ami-both", group(ami={"release": "v20260714", "amiId": "ami-0123456789abcdef0"}), f"{P}.ami", "exactly one of"),
    ("ami-latest", group(ami={"release": "latest"}), f"{P}.ami.release", "moving targets"),
    ("ami-unknown-release", group(ami={"release": "v20990101"}), f"{P}.ami.release", "not in the AMI catalogue"),
    ("ami-refused", group(ami={"release": "v20260505"}), f"{P}.ami.release", "deadlocks"),
    ("ami-old-containerd", group(ami={"release": "v20240729"}, kubernetesVersion="1.30", sociSource=RELEASE), f"{P}.ami.release", "SOCI needs containerd >= 1.7.16"),
    ("verify-system-group", at("soci-eks:cluster.verifyGroups", ["system:masters"]), "cluster.verifyGroups[0]", "Kubernetes' own"),
    ("verify-group-twice", at("soci-eks:cluster.verifyGroups", ["sre", "sre"]), "cluster.verifyGroups", "lists a group twice"),
    # 7b. ports outside 1..65535, in every place a host or URL is written
    ("port-0-static", group(credentials=[{"type": "static", "registry": "r.example.com:0"}]), f"{P}.credentials[0].registry", "port 0 is not a TCP port"),
    ("port-65536-static", group(credentials=[{"type": "static", "registry": "r.example.com:65536"}]), f"{P}.credentials[0].registry", "not a TCP port"),
    ("port-0-mirror-host", group(tuning={"mirrors": [{"host": "docker.io:0", "mirrors": ["m.example.com"]}]}), f"{P}.tuning.mirrors[0].host", "not a TCP port"),
    ("port-99999-mirror", group(tuning={"mirrors": [{"host": "docker.io", "mirrors": ["m.example.com:99999"]}]}), f"{P}.tuning.mirrors[0].mirrors[0]", "not a TCP port"),
    ("port-0-url-base", group(sociSource={"type": "release", "urlBase": "https://m.example.com:0/soci"}), f"{P}.sociSource.urlBase", "port 0 is not a TCP port"),
    ("port-70000-url-base", group(sociSource={"type": "release", "urlBase": "https://m.example.com:70000/soci"}), f"{P}.sociSource.urlBase", "not a TCP port"),
    # 7c. accelerators with an AMI variant that has no driver for them (raw AMI IDs too)
    ("neuron-type-nvidia-ami", group(instanceTypes=["inf2.xlarge"], ami={"release": "v20260714", "variant": "nvidia"}), f"{P}.ami.variant", "no Neuron driver"),
    ("trn-raw-ami-nvidia", group(instanceTypes=["trn1.2xlarge"], ami={"amiId": "ami-0123456789abcdef0", "containerdVersion": "2.2.4", "variant": "nvidia"},
                                 sociSource=RELEASE), f"{P}.ami.variant", "no Neuron driver"),
    ("gpu-raw-ami-neuron", group(instanceTypes=["g5.xlarge"], ami={"amiId": "ami-0123456789abcdef0", "containerdVersion": "2.2.4", "variant": "neuron"},
                                 sociSource=RELEASE), f"{P}.ami.variant", "no NVIDIA driver"),
    ("amd-gpu-nvidia-ami", group(instanceTypes=["g4ad.xlarge"], ami={"release": "v20260714", "variant": "nvidia"}), f"{P}.ami.variant", "no NVIDIA GPU or Neuron"),
    ("br-neuron-nvidia", group(**{**BOTTLEROCKET, "instanceTypes": ["inf2.xlarge"], "ami": {"release": "1.57.0", "variant": "nvidia"}}), f"{P}.ami.variant",
     "Bottlerocket drives Neuron from its standard variant"),
    # 7d. image references no runtime would parse
    ("demo-image-uppercase", at("soci-eks:demo", {"image": "Registry.example.com/Team/App:1"}), "demo.image", "must be lowercase"),
    ("demo-image-bad-tag", at("soci-eks:demo", {"image": "public.ecr.aws/a/b:bad tag"}), "demo.image", "not an image reference"),
    ("demo-image-bad-digest", at("soci-eks:demo", {"image": "public.ecr.aws/a/b@sha256:1234"}), "demo.image", "is not a digest"),
    ("images-bad-ref", group(images=["public.ecr.aws/a/b", "registry.example.com/x:y:z"]), f"{P}.images[1]", "registry.example.com/x:y:z"),
    ("images-twice", group(images=["public.ecr.aws/a/b:1", "public.ecr.aws/a/b:1"]), f"{P}.images", "lists an image twice"),
    ("images-parallel", group(images=["public.ecr.aws/a/b:1"], **PARALLEL_AMI, instanceTypes=["m7i.2xlarge"]), f"{P}.images", "has no effect in pull mode 'parallel'"),
    # 7e. a refused release names the release as what to change, not the mode
    ("gate-missing-release", group(ami={"release": "v20241016"}, kubernetesVersion="1.31", **PARALLEL_AMI, instanceTypes=["m7i.2xlarge"]), f"{P}.ami.release",
     "does not have"),
    # 8. messages: a short prefix of huge values, never the value whole
    ("long-name", group(name=LONG), f"{P}.name", "(20000 characters)"),
    ("long-instance-type", group(instanceTypes=[LONG]), f"{P}.instanceTypes[0]", "(20000 characters)"),
    ("long-release", group(ami={"release": LONG}), f"{P}.ami.release", "(20000 characters)"),
]

OFFLINE = [
    ("yaml-duplicate-key", "config:\n  aws:region: us-west-2\n  aws:region: eu-west-1\n", "", "duplicate key 'aws:region'"),
    ("yaml-syntax", "config: [\n", "", "not valid YAML"),
    ("yaml-python-tag", "config: !!python/object/apply:os.system ['true']\n", "", "not valid YAML"),
    ("yaml-alias-bomb", "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
     "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
     "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\nj: &j [*i,*i,*i,*i,*i,*i,*i,*i,*i]\nk: &k [*j,*j,*j,*j,*j,*j,*j,*j,*j]\nl: &l [*k,*k,*k,*k,*k,*k,*k,*k,*k]\n", "", "aliases"),
    ("config-list", "config: [a, b]\n", "config", "expected a mapping"),
    ("plaintext-password", None, 'registryCredentials["registry.example.com"].password', "is in plain text"),
]


def config_for(mutation: Mutation) -> dict[str, Any]:
    c = copy.deepcopy(DEV)
    mutation(c)
    return c


def offline_error(config: dict[str, Any], tmp_path: Path) -> SpecError:
    f = tmp_path / "Pulumi.bad.yaml"
    f.write_text(yaml.safe_dump({"config": config}))
    with pytest.raises(SpecError) as e:
        render_stack(load_stack_file(f))
    return e.value


def check_message(path: str, text: str, message: str, full: str) -> None:
    assert text in message, f"{text!r} not in {message!r}"
    assert full.startswith(f"{path}: " if path else message[:20]), full[:200]
    assert len(full) < 1500, f"message of {len(full)} characters"


@pytest.mark.parametrize("mutation, path, text", [pytest.param(m, p, t, id=i) for i, m, p, t in CASES])
def test_offline_render(mutation: Mutation, path: str, text: str, tmp_path: Path) -> None:
    e = offline_error(config_for(mutation), tmp_path)
    assert e.path == path, str(e)[:300]
    check_message(path, text, e.message, str(e))


@pytest.mark.parametrize("mutation, path, text", [pytest.param(m, p, t, id=i) for i, m, p, t in CASES])
def test_program_under_mocks(mutation: Mutation, path: str, text: str) -> None:
    with pytest.raises(pulumi.RunError) as e:
        run_program(encode(config_for(mutation)))
    assert not isinstance(e.value, ValueError), "a ValueError inside apply is printed with a traceback"
    check_message(path, text, str(e.value), str(e.value))
    assert "Traceback" not in str(e.value) and "While processing" not in str(e.value)


@pytest.mark.parametrize("text, path, needle", [pytest.param(t, p, n, id=i) for i, t, p, n in OFFLINE])
def test_offline_only(text: str | None, path: str, needle: str, tmp_path: Path) -> None:
    f = tmp_path / "Pulumi.bad.yaml"
    if text is None:
        c = config_for(group(credentials=[{"type": "static", "registry": "registry.example.com"}]))
        c["soci-eks:registryCredentials"] = {"registry.example.com": {"username": "u", "password": "hunter2-plain"}}
        text = yaml.safe_dump({"config": c})
    f.write_text(text)
    with pytest.raises(SpecError) as e:
        render_stack(load_stack_file(f))
    assert e.value.path == path and needle in e.value.message, str(e.value)[:300]
    assert "hunter2" not in str(e.value)


def test_at_least_150_distinct_cases() -> None:
    ids = [c[0] for c in CASES] + [c[0] for c in OFFLINE]
    assert len(ids) == len(set(ids)) and len(ids) >= 150, len(ids)


def test_registry_credentials_that_are_not_json_are_never_echoed() -> None:
    c = config_for(group(credentials=[{"type": "static", "registry": "registry.example.com"}]))
    values = encode(c)
    values["soci-eks:registryCredentials"] = "not-json-hunter2"
    with pytest.raises(pulumi.RunError) as e:
        run_program(values, ["soci-eks:registryCredentials"])
    assert "hunter2" not in str(e.value) and str(e.value).startswith("registryCredentials: expected a mapping"), str(e.value)


def test_user_data_too_large_is_refused_at_preview_naming_the_group() -> None:
    """With maximal cluster values (the real ones are unknown at preview) the 16 KB limit fails the program before any resource exists."""
    import random

    rnd = random.Random(7)  # incompressible host names: gzip cannot bring them under 16 KB
    mirrors = [{"host": f"{rnd.getrandbits(64):x}.example.com", "mirrors": [f"{rnd.getrandbits(128):x}.example.com" for _ in range(10)]} for _ in range(80)]
    with pytest.raises(pulumi.RunError) as e:
        run_program(encode(config_for(group(tuning={"mirrors": mirrors}))))
    assert str(e.value).startswith(f"{P}: node group lazy: user data is "), str(e.value)[:200]


def test_json_roundtrip_of_the_table_is_possible() -> None:
    """Every case's config is plain JSON (what the Pulumi CLI hands the program)."""
    for i, m, _, _ in CASES:
        json.dumps(config_for(m)), i
