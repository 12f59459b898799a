"""What managed node groups and Karpenter node pools share: the arguments about the cluster and the
environment, and the builders of the node IAM role, the boot secrets, SOCI's Kubernetes identity, the
instance-type checks and the rendered user data.

The rules and the plan run at construction (plain values, before any Output resolves), so preview
fails on a bad spec, logs the warnings and knows the report; the user data is the renderer's exact
bytes once the cluster values resolve. No resource is created inside ``apply``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .. import pipeline
from ..errors import SpecError, join
from ..instances import InstanceFacts
from ..placeholders import maximal_cluster, maximal_secrets
from ..render import NodePlan, NodeReport, RenderedNode
from ..render.types import ClusterInfo, Secrets
from ..spec import CredentialKind, LocalStorage, NodeSpec, StaticCredentials
from .attachment import AwsEnvironment, ClusterAttachment
from .errors import failure, guarded

NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)
"""AWS managed policies of the node role, and nothing broader: join the cluster, run the VPC CNI,
pull from ECR (pull-only, narrower than ReadOnly), and SSM sessions for inspecting nodes."""

SOCI_SERVICE_ACCOUNT_NAMESPACE = "kube-system"
SERVICE_ACCOUNT_TOKEN_TYPE = "kubernetes.io/service-account-token"
SERVICE_ACCOUNT_NAME_ANNOTATION = "kubernetes.io/service-account.name"


@dataclass(kw_only=True)
class NodeArgs:
    """Arguments every SOCI node component takes."""

    cluster: ClusterAttachment
    """The cluster the nodes join (``SociCluster.attachment``, ``ClusterAttachment.from_eks_cluster(...)`` / ``.from_existing(name)``)."""
    registry_credentials: pulumi.Input[Mapping[str, Mapping[str, str]]] | None = None
    """Registry host -> ``{"username", "password"}`` for the spec's ``static`` credential sources; pass a Pulumi
    secret. Only the Secrets Manager secret version receives the values."""
    kubernetes_provider: pulumi.ProviderResource | None = None
    """Kubernetes provider (the ``kubernetes-secrets`` identity; Karpenter's resources); unset: one is built from ``cluster.kubeconfig``."""
    metadata_hop_limit: int = 2
    """IMDSv2 hop limit. 2 lets pods reach the instance metadata service, and so the node role (which can read
    this group's boot secrets); 1 keeps pods without host networking away from it."""
    create_access_entry: bool = False
    """Create an ``EC2_LINUX`` EKS access entry for the node role (clusters in API authentication mode;
    :class:`SociCluster` sets it; Bottlerocket nodes use the same type). Leave off for existing managed node
    groups: EKS maps their roles itself."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every AWS resource of the nodes, their instances and volumes."""
    config_path: str = ""
    """Config key path of the spec (``nodeGroups[1]``), prefixed to error messages."""
    aws_environment: AwsEnvironment | None = None
    """Partition/region/account; unset: looked up through the component's AWS provider (:class:`SociCluster`
    looks them up once for all its node groups and pools)."""
    region_hint: str | None = None
    """The region when known as a plain value (the preview size check then uses it instead of the longest region)."""


class SociNodes(pulumi.ComponentResource):
    """Base of :class:`SociNodeGroup` and :class:`SociNodePool`."""

    role: aws.iam.Role
    """The node IAM role (worker node, CNI, ECR pull-only and SSM core policies; read access to its own boot secrets only)."""
    role_arn: pulumi.Output[str]
    report: pulumi.Output[dict[str, Any]]
    """What the nodes run (:meth:`NodeReport.to_json`): OS, AMI release, SSM parameter, Kubernetes, arch, containerd, pull mode,
    SOCI source, labels, disks."""
    user_data_size: pulumi.Output[int]
    """Bytes of our user data (before base64; a managed node group's is gzipped when the document exceeds 16 KB)."""
    secret_arns: pulumi.Output[list[str]]
    """Secrets Manager secrets the nodes read at boot (static registry credentials, kubeconfig token)."""
    spec: NodeSpec
    plan: NodePlan
    """What every node gets, minus cluster values (plain value): files, NodeConfig, disks, warnings, report."""

    KIND = "node group"

    def _prepare(self, name: str, spec: NodeSpec, args: NodeArgs, *, karpenter: bool) -> None:
        """Rules and plan (plain values) and the preview size check with the largest values EKS can return."""
        self.spec = spec
        path = args.config_path
        try:
            if not isinstance(args.metadata_hop_limit, int) or not 1 <= args.metadata_hop_limit <= 64:
                raise SpecError(join(path, "metadataHopLimit"), f"{args.metadata_hop_limit!r}: expected 1..64")
            self.plan = pipeline.plan_node(spec, path, control_plane=args.cluster.kubernetes_version)
            # The new cluster's endpoint and CA are unknown at preview: check the 16 KB limit with the largest
            # values EKS can return, so preview fails before `up` creates the cluster.
            pipeline.render_node(self.plan, maximal_cluster(None, args.region_hint), maximal_secrets(spec, args.region_hint, name), karpenter=karpenter, path=path)
        except SpecError as e:
            raise failure(e) from None
        for w in self.plan.warnings:
            pulumi.log.warn(w, resource=self)
        # One Output for the whole report (from_input on the dict would wrap every nested value in an Output of its own).
        self.report = pulumi.Output.from_input(json.dumps(self.plan.report.to_json())).apply(json.loads)

    @property
    def report_data(self) -> NodeReport:
        """What the nodes run, as a plain typed value (known before deployment)."""
        return self.plan.report

    def _identity(self, name: str, args: NodeArgs, env: AwsEnvironment, tags: Mapping[str, str], child: pulumi.ResourceOptions
                  ) -> tuple[dict[str, pulumi.Output[str]], pulumi.Output[str] | None, list[pulumi.Resource]]:
        """Node role with its policies, the boot secrets and their read policy; returns ARNs and what the nodes must wait for."""
        self.role, policies = self._node_role(name, env, tags, child)
        static_arns, token_arn, secret_resources = self._boot_secrets(name, args, env, tags, child)
        arns = [*static_arns.values(), *([token_arn] if token_arn is not None else [])]
        self.secret_arns = pulumi.Output.all(*arns).apply(list) if arns else pulumi.Output.from_input([])
        if arns:
            policies.append(aws.iam.RolePolicy(f"{name}-read-boot-secrets", role=self.role.id, policy=pulumi.Output.all(*arns).apply(_secrets_policy), opts=child))
        self.role_arn = self.role.arn
        depends: list[pulumi.Resource] = [*policies, *secret_resources]
        if args.create_access_entry:
            depends.append(aws.eks.AccessEntry(f"{name}-access-entry", cluster_name=args.cluster.name, principal_arn=self.role.arn,
                                               type="EC2_LINUX", tags=dict(tags), opts=child))
        return static_arns, token_arn, depends

    def _node_role(self, name: str, env: AwsEnvironment, tags: Mapping[str, str], child: pulumi.ResourceOptions) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=env.assume_role_policy(),
            description=f"SOCI {self.KIND} {self.spec.name}: EKS worker nodes",
            tags=dict(tags),
            opts=child,
        )
        attachments: list[pulumi.Resource] = [
            aws.iam.RolePolicyAttachment(
                f"{name}-{policy.lower().replace('_', '-')}",
                role=role.name,
                policy_arn=env.managed_policy_arn(policy),
                opts=child,
            )
            for policy in NODE_POLICIES
        ]
        return role, attachments

    def _boot_secrets(self, name: str, args: NodeArgs, env: AwsEnvironment, tags: Mapping[str, str], child: pulumi.ResourceOptions
                      ) -> tuple[dict[str, pulumi.Output[str]], pulumi.Output[str] | None, list[pulumi.Resource]]:
        spec, path = self.spec, args.config_path
        static_arns: dict[str, pulumi.Output[str]] = {}
        versions: list[pulumi.Resource] = []
        statics = [c for c in spec.creds if isinstance(c, StaticCredentials)]
        if statics and args.registry_credentials is None:
            raise failure(SpecError(join(path, "credentials"),
                                    f"static credentials for {', '.join(c.registry for c in statics)} need their values: "
                                    f"pulumi config set --secret --path 'registryCredentials[\"{statics[0].registry}\"].username' ... (and .password)"))
        for i, cred in enumerate(statics):
            secret = aws.secretsmanager.Secret(
                f"{name}-registry-{i}",
                description=f"SOCI registry credentials for {cred.registry} ({self.KIND} {spec.name}); read by the nodes at boot",
                tags={**tags, "soci-eks:registry": cred.registry},
                opts=child,
            )
            value = pulumi.Output.secret(args.registry_credentials).apply(guarded("", lambda creds, registry=cred.registry: registry_secret_string(creds, registry, path)))
            versions.append(aws.secretsmanager.SecretVersion(f"{name}-registry-{i}-value", secret_id=secret.id, secret_string=value, opts=child))
            static_arns[cred.registry] = secret.arn
        token_arn: pulumi.Output[str] | None = None
        if spec.credential(CredentialKind.KUBERNETES_SECRETS) is not None:
            token_arn, version = self._kubernetes_identity(name, args, pulumi.Output.from_input(env.region), tags)
            versions.append(version)
        return static_arns, token_arn, versions

    def _image_id(self, env: AwsEnvironment, invoke: pulumi.InvokeOutputOptions) -> pulumi.Output[str]:
        p = self.plan.profile
        if p.ssm_parameter is not None:
            return env.ssm_parameter(p.ssm_parameter, invoke)
        assert p.ami_id is not None
        return pulumi.Output.from_input(p.ami_id)

    def _instance_check(self, env: AwsEnvironment, path: str, invoke: pulumi.InvokeOutputOptions) -> pulumi.Output[bool]:
        """The rules that need EC2's facts of each listed instance type (nodeadm's size floor, instance store)."""
        spec = self.spec
        if not spec.instance_types or not ((spec.uses_fast_image_pull and self.plan.profile.size_floor is not None) or spec.local_storage is LocalStorage.RAID0):
            return pulumi.Output.from_input(True)
        lookups = [env.instance_type(t, invoke) for t in spec.instance_types]

        def check(results: list[Any]) -> bool:
            facts: dict[str, InstanceFacts | None] = {
                r.instance_type: InstanceFacts(vcpus=int(r.default_vcpus), memory_mib=int(r.memory_size), instance_store=bool(r.instance_storage_supported))
                for r in results
            }
            pipeline.check_instances(self.plan, facts, path)
            return True

        return pulumi.Output.all(*lookups).apply(guarded("", check))

    def _user_data(self, cluster: ClusterAttachment, env: AwsEnvironment, static_arns: Mapping[str, pulumi.Output[str]],
                   token_arn: pulumi.Output[str] | None, checked: pulumi.Output[bool], path: str, *, karpenter: bool = False) -> pulumi.Output[RenderedNode]:
        registries = list(static_arns)

        def rendered(v: list[Any]) -> RenderedNode:
            info, token, *statics = v[0], v[1], *v[2:-1]
            secrets = Secrets(static=dict(zip(registries, statics, strict=True)), kubeconfig_token=token)
            return pipeline.render_node(self.plan, info, secrets, karpenter=karpenter)

        return pulumi.Output.all(cluster_info(cluster, env), token_arn, *static_arns.values(), checked).apply(guarded(path, rendered))

    def _kubernetes_identity(self, name: str, args: NodeArgs, region: pulumi.Output[str], tags: Mapping[str, str]) -> tuple[pulumi.Output[str], pulumi.Resource]:
        """SOCI's kubeconfig keychain identity: a ServiceAccount allowed to list/watch secrets, its token in Secrets Manager."""
        import pulumi_kubernetes as k8s

        spec = self.spec
        provider = args.kubernetes_provider
        if provider is None:
            c = args.cluster
            kubeconfig = c.kubeconfig if c.kubeconfig is not None else pulumi.Output.all(c.name, c.endpoint, c.certificate_authority, region).apply(lambda v: exec_kubeconfig(*v))
            provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig, opts=pulumi.ResourceOptions(parent=self))
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        ident = keychain_identity(self.KIND, spec.name)
        sa = k8s.core.v1.ServiceAccount(
            f"{name}-soci",
            metadata=k8s.meta.v1.ObjectMetaArgs(namespace=ident.namespace, labels=dict(ident.labels)),
            automount_service_account_token=False,
            opts=k8s_opts,
        )
        reader = k8s.rbac.v1.ClusterRole(
            f"{name}-soci-secret-reader",
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=dict(ident.labels), annotations=dict(ident.role_annotations)),
            rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=list(r["apiGroups"]), resources=list(r["resources"]), verbs=list(r["verbs"])) for r in ident.rules],
            opts=k8s_opts,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-soci-secret-reader",
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=dict(ident.labels)),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=reader.metadata.name),
            subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=sa.metadata.name, namespace=ident.namespace)],
            opts=k8s_opts,
        )
        token = k8s.core.v1.Secret(
            f"{name}-soci-token",
            metadata=k8s.meta.v1.ObjectMetaArgs(namespace=ident.namespace, labels=dict(ident.labels), annotations={SERVICE_ACCOUNT_NAME_ANNOTATION: sa.metadata.name}),
            type=SERVICE_ACCOUNT_TOKEN_TYPE,
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[sa])),
        )
        secret = aws.secretsmanager.Secret(
            f"{name}-kube-token",
            description=f"Service-account token of SOCI's kubeconfig keychain ({self.KIND} {spec.name}); read by the nodes at boot",
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        version = aws.secretsmanager.SecretVersion(
            f"{name}-kube-token-value",
            secret_id=secret.id,
            secret_string=pulumi.Output.secret(token.data).apply(token_from_secret_data),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return secret.arn, version


def cluster_info(cluster: ClusterAttachment, env: AwsEnvironment) -> pulumi.Output[ClusterInfo]:
    """The renderer's ClusterInfo as one Output, shared by every node group and pool of the same cluster and environment."""

    def make(v: dict[str, Any]) -> ClusterInfo:
        if not v["cidr"]:
            raise SpecError("cluster", f"cluster {v['name']} has no IPv4 service CIDR; IPv6 clusters are not supported by SOCI node groups")
        return ClusterInfo(name=v["name"], endpoint=v["endpoint"], certificate_authority=v["ca"], service_cidr=v["cidr"], region=v["region"],
                           account_id=v["account"], partition=v["partition"])

    return env.shared(("cluster", id(cluster)), lambda: pulumi.Output.all(
        name=cluster.name, endpoint=cluster.endpoint, ca=cluster.certificate_authority, cidr=cluster.service_cidr,
        region=env.region, account=env.account_id, partition=env.partition,
    ).apply(guarded("", make)))


# ---------------------------------------------------------------------------------------------
# pure helpers


@dataclass(frozen=True)
class KeychainIdentity:
    """SOCI's kubeconfig-keychain identity in the cluster (pure): what ``_kubernetes_identity`` creates
    through the Kubernetes provider, and what tests/node/test_kube_keychain.py creates in a real API server."""

    namespace: str
    labels: Mapping[str, str]
    role_annotations: Mapping[str, str]
    rules: tuple[Mapping[str, Any], ...]
    """The ClusterRole's rules as the API takes them (``rbac.authorization.k8s.io/v1`` PolicyRule JSON)."""

    def objects(self, *, service_account: str, role: str, binding: str, token: str) -> list[dict[str, Any]]:
        """The ServiceAccount, ClusterRole, ClusterRoleBinding and token Secret as Kubernetes API objects,
        with the names given (Pulumi auto-names them)."""
        meta = {"labels": dict(self.labels)}
        return [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": service_account, "namespace": self.namespace, **meta},
             "automountServiceAccountToken": False},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": role, **meta, "annotations": dict(self.role_annotations)},
             "rules": [dict(r) for r in self.rules]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": binding, **meta},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
             "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": self.namespace}]},
            {"apiVersion": "v1", "kind": "Secret", "type": SERVICE_ACCOUNT_TOKEN_TYPE,
             "metadata": {"name": token, "namespace": self.namespace, **meta, "annotations": {SERVICE_ACCOUNT_NAME_ANNOTATION: service_account}}},
        ]


def keychain_identity(kind: str, spec_name: str) -> KeychainIdentity:
    """The identity of ``kind`` (``node group``/``node pool``) ``spec_name``.

    SOCI 0.15's kubeconfig keychain lists and watches secrets in all namespaces with the field selector
    ``type=kubernetes.io/dockerconfigjson`` (github.com/awslabs/soci-snapshotter@v0.15.0,
    service/keychain/kubeconfig/kubeconfig.go, ``startSyncSecrets``): a cluster-wide list/watch, nothing
    else. RBAC cannot restrict by secret type, so the rule grants list/watch of all secrets; the filter is SOCI's."""
    return KeychainIdentity(
        namespace=SOCI_SERVICE_ACCOUNT_NAMESPACE,
        labels={"app.kubernetes.io/managed-by": "soci-eks", f"soci-eks/{kind.replace(' ', '-')}": spec_name},
        role_annotations={"soci-eks/purpose": "SOCI kubeconfig keychain: reads kubernetes.io/dockerconfigjson pull secrets (RBAC cannot filter by type)"},
        rules=({"apiGroups": [""], "resources": ["secrets"], "verbs": ["list", "watch"]},),
    )


def _secrets_policy(arns: list[str]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": sorted(arns)}]})


def registry_secret_string(creds: Any, registry: str, path: str) -> str:
    """The Secrets Manager value for one registry: ``{"username", "password"}`` JSON. Never puts a value into a message."""
    where = "registryCredentials"
    if not isinstance(creds, Mapping) or registry not in creds:
        raise SpecError(f"{where}.{registry}", f"no credentials for {registry}, which {path or 'the node group'} lists as a static credential source; "
                                               f"pulumi config set --secret --path '{where}[\"{registry}\"].username' ... (and .password)")
    entry = creds[registry]
    if not isinstance(entry, Mapping) or not isinstance(entry.get("username"), str) or not isinstance(entry.get("password"), str):
        raise SpecError(f"{where}.{registry}", "expected a mapping with string 'username' and 'password' (values not shown)")
    extra = sorted(set(entry) - {"username", "password"})
    if extra:
        raise SpecError(f"{where}.{registry}.{extra[0]}", "unknown key; accepted: username, password")
    return json.dumps({"username": entry["username"], "password": entry["password"]})


def token_from_secret_data(data: Mapping[str, str] | None) -> str:
    token = (data or {}).get("token")
    if not token:
        raise pulumi.RunError("the service-account token secret has no token yet; run `pulumi up` again once the token controller has filled it")
    return base64.b64decode(token).decode()


def exec_kubeconfig(cluster_name: str, endpoint: str, certificate_authority: str, region: str) -> str:
    """A kubeconfig that authenticates with ``aws eks get-token`` (the deployer's AWS identity)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": certificate_authority}}],
            "users": [{"name": "aws", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
                                                         "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"]}}}],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": "aws"}}],
            "current-context": cluster_name,
        }
    )


