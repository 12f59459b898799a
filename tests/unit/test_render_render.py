"""render/render.py: the bytes with the cluster values and secret ARNs: credential files, ECR hosts per partition, refused cluster values."""

from __future__ import annotations

import tomllib
from dataclasses import replace

import pytest

from soci_component.errors import SpecError
from soci_component.render import render
from soci_component.render.paths import DOCKER_CONFIG
from soci_component.render.types import ClusterInfo
from soci_component.spec import (
    AmiPin,
    CredentialKind,
    EcrCredentialHelper,
    KubernetesSecrets,
    NodeGroupSpec,
    PullMode,
    StaticCredentials,
    UpstreamRelease,
)
from tests.support.scenarios import CLUSTER, SECRETS
from tests.unit.specs import group, planned


def test_credential_files_are_root_only() -> None:
    """Mutant docker-config-world-readable: the docker config gets registry passwords at boot, the kubeconfig a token."""
    spec = group(credentials=(EcrCredentialHelper(), StaticCredentials("registry.example.com"), KubernetesSecrets()))
    node = render(planned(spec), CLUSTER, SECRETS)
    modes = {f.path: f.mode for f in node.files}
    assert modes["/root/.docker/config.json"] == 0o600
    assert modes["/etc/soci-snapshotter-grpc/kubeconfig"] == 0o600
    puts = {line.split()[1]: line.split()[2] for line in node.script.splitlines() if line.startswith("put ")}
    assert puts["/root/.docker/config.json"] == "0600" and puts["/etc/soci-snapshotter-grpc/kubeconfig"] == "0600"
    assert spec.credential(CredentialKind.STATIC) is not None


def test_fallback_without_credentials_gets_the_rotating_ecr_helper_on_the_node() -> None:
    """Mutant fallback-default-credentials-cri-proxy, in the node's files: fallback lazily loads, so its default is the rotating
    ECR helper for the cluster's own registry, not cri-proxy (whose credentials expire after ~12 h on ECR, soci#1084)."""
    import json

    spec = group(pull_mode=PullMode.LAZY_WITH_PARALLEL_FALLBACK, soci_source=UpstreamRelease())
    node = render(planned(spec), CLUSTER, SECRETS)
    docker = json.loads(node.file("/root/.docker/config.json").content)
    assert docker == {"credHelpers": {"111122223333.dkr.ecr.us-west-2.amazonaws.com": "ecr-login"}}
    assert "cri_keychain" not in tomllib.loads(node.file("/etc/soci-snapshotter-grpc/config.toml").content)
    assert "config" not in node.nodeconfig["spec"].get("kubelet", {})  # no imageServiceEndpoint: the kubelet talks to containerd


def test_china_partition_keeps_explicit_hosts() -> None:
    spec = NodeGroupSpec(name="cn", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",),
                         credentials=(EcrCredentialHelper(("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "{account}.dkr.ecr.{region}.amazonaws.com")),))
    china = replace(CLUSTER, region="cn-north-1", partition="aws-cn", account_id="444455556666")
    import json

    docker = json.loads(render(planned(spec), china, SECRETS).file(DOCKER_CONFIG).content)
    assert docker == {"credHelpers": {"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn": "ecr-login", "444455556666.dkr.ecr.cn-north-1.amazonaws.com.cn": "ecr-login"}}


def test_cluster_values_are_refused_when_malformed() -> None:
    spec = NodeGroupSpec(name="c", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",))
    for bad in (replace(CLUSTER, endpoint="https://x\n"), replace(CLUSTER, account_id="1234"), replace(CLUSTER, certificate_authority="a'b")):
        with pytest.raises(SpecError, match="refusing to put it into user data"):
            render(planned(spec), bad, SECRETS)
    assert isinstance(CLUSTER, ClusterInfo)


def test_a_pools_user_data_budget_counts_what_karpenter_adds_for_labels_and_taints() -> None:
    """Karpenter merges its own NodeConfig (about 4096 bytes) plus --node-labels and registerWithTaints: each label 'k=v,' and each
    taint's flag with its YAML (about 40 bytes) come off EC2's 16384 bytes before ours."""
    import random

    from soci_component.errors import SpecError
    from soci_component.spec import NodePoolSpec, RegistryMirror, SociTuning, Taint, TaintEffect

    rnd = random.Random(5)
    mirrors = tuple(RegistryMirror(f"{rnd.getrandbits(64):x}.example.com", tuple(f"{rnd.getrandbits(96):x}.example.com" for _ in range(6))) for _ in range(40))
    taints = tuple(Taint(f"k{i}", TaintEffect.NO_SCHEDULE, "v" * 20) for i in range(10))
    spec = NodePoolSpec(name="p", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), labels={"team": "ml"}, taints=taints, tuning=SociTuning(mirrors=mirrors))
    with pytest.raises(SpecError) as e:
        render(planned(spec), CLUSTER, SECRETS, karpenter=True)
    labels = sum(len(k) + len(v) + 2 for k, v in spec.node_labels.items())
    flags = sum(len(f"k{i}={'v' * 20}:NoSchedule") + 40 for i in range(10))
    assert f"(about {4096 + labels + flags} bytes)" in e.value.message, e.value.message
