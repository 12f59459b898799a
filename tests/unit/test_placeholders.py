"""placeholders.py: offline stand-ins for a cluster that does not exist yet, and preview's largest values for the 16 KB check."""

from __future__ import annotations

import base64

from soci_component.config import parse
from soci_component.placeholders import LONGEST_REGION, MAX_CA_BASE64, maximal_cluster, maximal_secrets, placeholder_cluster, placeholder_secrets
from soci_component.render.render import check_cluster
from soci_component.spec import AmiPin, EcrCredentialHelper, KubernetesSecrets, NodeGroupSpec, StaticCredentials

STACK = parse({"aws:region": "eu-central-1", "soci-eks:cluster": {"name": "demo", "kubernetesVersion": "1.33"},
               "soci-eks:nodeGroups": [{"name": "g", "ami": {"release": "v20260714"}, "instanceTypes": ["m7i.xlarge"]}]})


def spec(*creds: object) -> NodeGroupSpec:
    return NodeGroupSpec(name="g", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",), credentials=creds)  # type: ignore[arg-type]


def test_placeholder_cluster_is_marked_valid_and_realistically_sized() -> None:
    c = placeholder_cluster(STACK)
    check_cluster(c)  # the renderer accepts it
    assert "PLACEHOLDER" in c.endpoint and c.region == "eu-central-1" and c.name == "demo" and c.service_cidr == "172.20.0.0/16"
    pem = base64.b64decode(c.certificate_authority).decode()
    assert "PLACEHOLDER" in pem and 1000 <= len(pem) <= 1300, "a real EKS CA PEM is about 1.1 KB"


def test_placeholder_secrets_only_for_the_sources_that_need_them() -> None:
    assert placeholder_secrets(STACK, spec(EcrCredentialHelper())).static == {} and placeholder_secrets(STACK, spec(EcrCredentialHelper())).kubeconfig_token is None
    s = placeholder_secrets(STACK, spec(StaticCredentials("registry.example.com"), KubernetesSecrets()))
    assert list(s.static) == ["registry.example.com"] and s.static["registry.example.com"].startswith("arn:aws:secretsmanager:eu-central-1:")
    assert s.kubeconfig_token is not None and "kubeconfig-token" in s.kubeconfig_token


def test_maximal_values_are_the_largest_eks_returns() -> None:
    c = maximal_cluster(None, None)
    check_cluster(c)
    assert c.region == LONGEST_REGION and len(c.name) == 100 and len(c.certificate_authority) == MAX_CA_BASE64
    assert maximal_cluster("x", "cn-north-1", "aws-cn").endpoint.endswith(".eks.amazonaws.com.cn")
    big = maximal_secrets(spec(StaticCredentials("registry.example.com"), KubernetesSecrets()), None, "c" * 60)
    small = placeholder_secrets(STACK, spec(StaticCredentials("registry.example.com"), KubernetesSecrets()))
    assert len(big.static["registry.example.com"]) > len(small.static["registry.example.com"])
    assert big.kubeconfig_token is not None and small.kubeconfig_token is not None and len(big.kubeconfig_token) > len(small.kubeconfig_token)
