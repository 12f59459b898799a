"""Values that stand in for a deployed cluster's before it exists.

- placeholders for the offline view (``render``): clearly marked, of realistic size, so sizes and layout
  match a real deployment;
- the largest values EKS can return, for the 16 KB user-data check at ``pulumi preview`` (a new cluster's
  endpoint and CA are unknown then), so a too-large group fails preview, not ``up`` after the cluster exists.

Pure.
"""

from __future__ import annotations

import base64

from .render.types import ClusterInfo, Secrets
from .spec import CredentialKind, NodeSpec, StackSpec, StaticCredentials

__all__ = ["LONGEST_REGION", "MAX_CA_BASE64", "PLACEHOLDER_ACCOUNT", "maximal_cluster", "maximal_secrets", "placeholder_cluster", "placeholder_secrets"]

PLACEHOLDER_ACCOUNT = "111122223333"


def placeholder_cluster(stack: StackSpec) -> ClusterInfo:
    # A real EKS CA is a ~1.1 KB PEM, ~1.5 KB once base64-encoded: keep the size honest.
    pem = "-----BEGIN CERTIFICATE-----\n" + ("PLACEHOLDER+CLUSTER+CA+KNOWN+AFTER+DEPLOY+" * 24)[:1000] + "\n-----END CERTIFICATE-----\n"
    return ClusterInfo(
        name=stack.cluster.name,
        endpoint=f"https://PLACEHOLDER0123456789ABCDEF012345.gr7.{stack.region}.eks.amazonaws.com",
        certificate_authority=base64.b64encode(pem.encode()).decode(),
        service_cidr=stack.cluster.service_cidr,
        region=stack.region,
        account_id=PLACEHOLDER_ACCOUNT,
    )


def placeholder_secrets(stack: StackSpec, spec: NodeSpec) -> Secrets:
    prefix = f"arn:aws:secretsmanager:{stack.region}:{PLACEHOLDER_ACCOUNT}:secret:soci-eks/{stack.cluster.name}/{spec.name}"
    static = {c.registry: f"{prefix}/registry-{i}-AbCdEf" for i, c in enumerate(spec.creds) if isinstance(c, StaticCredentials)}
    token = f"{prefix}/kubeconfig-token-AbCdEf" if spec.credential(CredentialKind.KUBERNETES_SECRETS) else None
    return Secrets(static=static, kubeconfig_token=token)


# The largest values EKS can hand a node group, for the 16 KB check at preview (when the new cluster's
# real values are still unknown). EKS endpoints are https://<32 hex>.<3-char shard>.<region>.eks.amazonaws.com;
# cluster CAs are RSA-2048 certificates (PEM ~1.1 KB, base64 ~1.5 KB): 2,048 base64 characters is above any.
MAX_CA_BASE64 = 2048
LONGEST_REGION = "ap-southeast-7"
SECRET_SUFFIX = "-AbCdEf"
"""Secrets Manager appends '-' and 6 random characters to a secret's name in its ARN."""


def maximal_cluster(name: str | None, region: str | None, partition: str = "aws") -> ClusterInfo:
    region = region or LONGEST_REGION
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return ClusterInfo(
        name=name or "c" * 100,
        endpoint=f"https://{'F' * 32}.gr7.{region}.eks.{suffix}",
        certificate_authority="Q" * MAX_CA_BASE64,
        service_cidr="172.20.0.0/16",
        region=region,
        account_id="123456789012",
        partition=partition,
    )


def maximal_secrets(spec: NodeSpec, region: str | None, resource_prefix: str) -> Secrets:
    """ARNs as long as Pulumi's auto-names make them (``<resource>-<7 hex>`` + Secrets Manager's suffix)."""
    arn = f"arn:aws-us-gov:secretsmanager:{region or LONGEST_REGION}:123456789012:secret:{resource_prefix}"
    static = {c.registry: f"{arn}-registry-{i}-abcdef0{SECRET_SUFFIX}" for i, c in enumerate(spec.creds) if isinstance(c, StaticCredentials)}
    token = f"{arn}-kube-token-abcdef0{SECRET_SUFFIX}" if spec.credential(CredentialKind.KUBERNETES_SECRETS) else None
    return Secrets(static=static, kubeconfig_token=token)
