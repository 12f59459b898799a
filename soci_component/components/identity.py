"""What a node group or pool is allowed to be: its IAM role, its boot secrets in Secrets Manager, and SOCI's
Kubernetes identity for the kubeconfig keychain. Wiring only; the documents come from :mod:`.keychain`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..errors import SpecError, join
from ..spec import CredentialKind, NodeSpec, StaticCredentials
from .attachment import AwsEnvironment
from .errors import failure, guarded
from .keychain import MissingToken, keychain_identity, registry_secret_string, token_from_secret_data

__all__ = ["NODE_POLICIES", "Identity", "build_identity"]

NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)
"""AWS managed policies of the node role, and nothing broader: join the cluster, run the VPC CNI,
pull from ECR (pull-only, narrower than ReadOnly), and SSM sessions for inspecting nodes."""


@dataclass
class Identity:
    """The node role and the boot secrets' ARNs; ``depends`` is what the nodes must wait for."""

    role: aws.iam.Role
    static_arns: dict[str, pulumi.Output[str]]
    """Registry host -> Secrets Manager ARN of its static credentials."""
    token_arn: pulumi.Output[str] | None
    """Secrets Manager ARN of the keychain's service-account token."""
    depends: list[pulumi.Resource]

    @property
    def secret_arns(self) -> list[pulumi.Output[str]]:
        return [*self.static_arns.values(), *([self.token_arn] if self.token_arn is not None else [])]


@dataclass
class Wiring:
    """What :func:`build_identity` needs from the component."""

    parent: pulumi.ComponentResource
    name: str
    """The component's name (resource names derive from it)."""
    kind: str
    """``node group`` or ``node pool`` (descriptions, keychain labels)."""
    spec: NodeSpec
    path: str
    env: AwsEnvironment
    tags: Mapping[str, str]
    registry_credentials: pulumi.Input[Mapping[str, Mapping[str, str]]] | None
    create_access_entry: bool
    cluster_name: pulumi.Input[str]
    kubernetes_provider: pulumi.ProviderResource | None


def build_identity(w: Wiring, role_name: str) -> Identity:
    """Node role with its policies, the boot secrets and their read policy, the access entry."""
    child = pulumi.ResourceOptions(parent=w.parent)
    role = aws.iam.Role(role_name, assume_role_policy=w.env.assume_role_policy(), description=f"SOCI {w.kind} {w.spec.name}: EKS worker nodes",
                        tags=dict(w.tags), opts=child)
    depends: list[pulumi.Resource] = [
        aws.iam.RolePolicyAttachment(f"{w.name}-{policy.lower().replace('_', '-')}", role=role.name, policy_arn=w.env.managed_policy_arn(policy), opts=child)
        for policy in NODE_POLICIES
    ]
    static_arns, versions = _static_secrets(w)
    token_arn = None
    if w.spec.credential(CredentialKind.KUBERNETES_SECRETS) is not None:
        token_arn, version = _kubernetes_identity(w)
        versions.append(version)
    identity = Identity(role, static_arns, token_arn, depends)
    arns = identity.secret_arns
    if arns:
        depends.append(aws.iam.RolePolicy(f"{w.name}-read-boot-secrets", role=role.id, policy=pulumi.Output.all(*arns).apply(_secrets_policy), opts=child))
    depends += versions
    if w.create_access_entry:
        depends.append(aws.eks.AccessEntry(f"{w.name}-access-entry", cluster_name=w.cluster_name, principal_arn=role.arn, type="EC2_LINUX",
                                           tags=dict(w.tags), opts=child))
    return identity


def _static_secrets(w: Wiring) -> tuple[dict[str, pulumi.Output[str]], list[pulumi.Resource]]:
    child = pulumi.ResourceOptions(parent=w.parent)
    statics = [c for c in w.spec.creds if isinstance(c, StaticCredentials)]
    if statics and w.registry_credentials is None:
        raise failure(SpecError(join(w.path, "credentials"),
                                f"static credentials for {', '.join(c.registry for c in statics)} need their values: "
                                f"pulumi config set --secret --path 'registryCredentials[\"{statics[0].registry}\"].username' ... (and .password)"))
    arns: dict[str, pulumi.Output[str]] = {}
    versions: list[pulumi.Resource] = []
    for i, cred in enumerate(statics):
        secret = aws.secretsmanager.Secret(
            f"{w.name}-registry-{i}",
            description=f"SOCI registry credentials for {cred.registry} ({w.kind} {w.spec.name}); read by the nodes at boot",
            tags={**w.tags, "soci-eks:registry": cred.registry},
            opts=child,
        )
        value = pulumi.Output.secret(w.registry_credentials).apply(
            guarded("", lambda creds, registry=cred.registry: registry_secret_string(creds, registry, w.path)))
        versions.append(aws.secretsmanager.SecretVersion(f"{w.name}-registry-{i}-value", secret_id=secret.id, secret_string=value, opts=child))
        arns[cred.registry] = secret.arn
    return arns, versions


def _kubernetes_identity(w: Wiring) -> tuple[pulumi.Output[str], pulumi.Resource]:
    """SOCI's kubeconfig keychain identity: a ServiceAccount allowed to list/watch secrets, its token in Secrets Manager.
    Every object is the document :func:`keychain_identity` defines, with the names Pulumi assigns."""
    import pulumi_kubernetes as k8s

    assert w.kubernetes_provider is not None
    k8s_opts = pulumi.ResourceOptions(parent=w.parent, provider=w.kubernetes_provider)
    ident = keychain_identity(w.kind, w.spec.name)
    sa_doc, role_doc = ident.service_account(), ident.cluster_role()
    sa = k8s.core.v1.ServiceAccount(f"{w.name}-soci", metadata=sa_doc["metadata"], automount_service_account_token=sa_doc["automountServiceAccountToken"],
                                    opts=k8s_opts)
    reader = k8s.rbac.v1.ClusterRole(f"{w.name}-soci-secret-reader", metadata=role_doc["metadata"], rules=role_doc["rules"], opts=k8s_opts)
    binding = pulumi.Output.all(reader.metadata.name, sa.metadata.name).apply(lambda n: ident.binding(role=n[0], service_account=n[1]))
    k8s.rbac.v1.ClusterRoleBinding(f"{w.name}-soci-secret-reader", metadata=ident.binding(role="", service_account="")["metadata"],
                                   role_ref=binding.apply(lambda d: d["roleRef"]), subjects=binding.apply(lambda d: d["subjects"]), opts=k8s_opts)
    token_doc = sa.metadata.name.apply(lambda n: ident.token(service_account=n))
    token = k8s.core.v1.Secret(f"{w.name}-soci-token", metadata=token_doc.apply(lambda d: d["metadata"]), type=token_doc.apply(lambda d: d["type"]),
                               opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[sa])))
    secret = aws.secretsmanager.Secret(
        f"{w.name}-kube-token",
        description=f"Service-account token of SOCI's kubeconfig keychain ({w.kind} {w.spec.name}); read by the nodes at boot",
        tags=dict(w.tags),
        opts=pulumi.ResourceOptions(parent=w.parent),
    )
    version = aws.secretsmanager.SecretVersion(f"{w.name}-kube-token-value", secret_id=secret.id,
                                               secret_string=pulumi.Output.secret(token.data).apply(_token), opts=pulumi.ResourceOptions(parent=w.parent))
    return secret.arn, version


def _token(data: Mapping[str, str] | None) -> str:
    try:
        return token_from_secret_data(data)
    except MissingToken as e:
        raise pulumi.RunError(str(e)) from None


def _secrets_policy(arns: list[str]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": sorted(arns)}]})
