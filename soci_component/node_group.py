"""``SociNodeGroup``: an EKS managed node group whose nodes run SOCI from first boot.

Everything a node receives is computed by the pure renderer (:func:`render.bootstrap.plan`) from
plain values; this module only resolves Outputs and wires AWS resources (DESIGN.md, option B of
``notes/pulumi.md`` §1.5): a node IAM role, an ``aws.ec2.LaunchTemplate`` carrying our complete user
data and the pinned AMI, and an ``aws.eks.NodeGroup`` using it. No resource is created inside
``apply``.

A node group attaches to a cluster given as plain values (:class:`ClusterAttachment`): from a
:class:`~soci_component.cluster.SociCluster`, from any ``eks.Cluster``, or from an existing EKS
cluster looked up by name, so SOCI node groups can join clusters this package did not create.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from . import ami
from .render.bootstrap import NodeBootstrap, plan, profile_json, warnings
from .spec import (
    ClusterInfo,
    CredentialKind,
    LocalStorage,
    NodeGroupSpec,
    NodeProfile,
    OperatingSystem,
    PullMode,
    Secrets,
    SpecError,
    StaticCredentials,
)

if TYPE_CHECKING:
    import pulumi_eks as eks

    from .cluster import SociCluster

TOKEN = "soci-eks:index:SociNodeGroup"

NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)
"""AWS managed policies of the node role, and nothing broader: join the cluster, run the VPC CNI,
pull from ECR (pull-only, narrower than ReadOnly), and SSM sessions for inspecting nodes."""

BOTTLEROCKET_OS_VOLUME_GIB = 4
"""Bottlerocket's OS volume (``/dev/xvda``; images, logs and SOCI data live on ``/dev/xvdb``).
4 GiB as Karpenter's Bottlerocket default: room for the A/B OS partitions."""

SOCI_SERVICE_ACCOUNT_NAMESPACE = "kube-system"


class NodeGroupError(SpecError, pulumi.RunError):
    """A node group that cannot work. Pulumi reports it without a stack trace; ``path`` is the config key path."""


# ---------------------------------------------------------------------------------------------
# The cluster a node group joins


@dataclass
class ClusterAttachment:
    """The cluster a SOCI node group joins, as plain values (a custom AMI gets nothing injected by EKS)."""

    name: pulumi.Input[str]
    """EKS cluster name."""
    endpoint: pulumi.Input[str]
    """API server endpoint (``https://...eks.amazonaws.com``)."""
    certificate_authority: pulumi.Input[str]
    """Cluster CA, base64 PEM as EKS reports it (``certificateAuthority.data``)."""
    service_cidr: pulumi.Input[str]
    """Kubernetes service IPv4 CIDR (nodeadm ``cluster.cidr``; Bottlerocket derives the DNS IP from it)."""
    cluster_security_group_id: pulumi.Input[str] | None = None
    """The EKS-created cluster security group. Managed nodes get it automatically when the launch template
    names no security groups; it is listed explicitly only next to ``SociNodeGroupArgs.security_group_ids``."""
    kubeconfig: pulumi.Input[Any] | None = None
    """kubeconfig (JSON string or dict) for Kubernetes resources (the ``kubernetes-secrets`` credential
    source). Unset: an exec kubeconfig using ``aws eks get-token`` is built from the values above."""

    @classmethod
    def from_eks_cluster(cls, cluster: eks.Cluster) -> ClusterAttachment:
        """From a pulumi-eks ``eks.Cluster`` (its ``eksCluster`` child carries endpoint, CA, CIDR, SG)."""
        ec = cluster.eks_cluster
        return cls(
            name=ec.name,
            endpoint=ec.endpoint,
            certificate_authority=ec.certificate_authority.data,
            service_cidr=ec.kubernetes_network_config.service_ipv4_cidr,
            cluster_security_group_id=ec.vpc_config.cluster_security_group_id,
            kubeconfig=cluster.kubeconfig_json,
        )

    @classmethod
    def from_cluster(cls, cluster: SociCluster | eks.Cluster) -> ClusterAttachment:
        """From a :class:`SociCluster` or an ``eks.Cluster``."""
        attachment = getattr(cluster, "attachment", None)
        if isinstance(attachment, ClusterAttachment):
            return attachment
        return cls.from_eks_cluster(cluster)  # type: ignore[arg-type]

    @classmethod
    def from_existing(cls, name: pulumi.Input[str], opts: pulumi.InvokeOutputOptions | None = None) -> ClusterAttachment:
        """An existing EKS cluster looked up by name (``aws.eks.get_cluster``): no resource of it is managed here."""
        c = aws.eks.get_cluster_output(name=name, opts=opts)
        return cls(
            name=c.name,
            endpoint=c.endpoint,
            certificate_authority=c.certificate_authorities.apply(lambda cas: cas[0].data if cas else None),
            service_cidr=c.kubernetes_network_configs.apply(lambda n: n[0].service_ipv4_cidr if n else None),
            cluster_security_group_id=c.vpc_config.cluster_security_group_id,
        )


@dataclass
class AwsEnvironment:
    """Partition, region and account of the node group's resources (the renderer's ``ClusterInfo`` needs them)."""

    partition: pulumi.Input[str]
    """``aws``, ``aws-cn``, ``aws-us-gov`` ...: IAM policy ARNs are built with it."""
    dns_suffix: pulumi.Input[str]
    """``amazonaws.com`` (``amazonaws.com.cn`` in China): the EC2 service principal is ``ec2.<dns_suffix>``."""
    region: pulumi.Input[str]
    """Region of the cluster (ECR registry hosts, Secrets Manager calls at boot)."""
    account_id: pulumi.Input[str]
    """Account of the cluster (its ECR registry)."""

    @classmethod
    def lookup(cls, opts: pulumi.InvokeOutputOptions | None = None) -> AwsEnvironment:
        """From ``aws.get_partition`` / ``get_region`` / ``get_caller_identity`` (of the provider in ``opts``)."""
        partition = aws.get_partition_output(opts=opts)
        return cls(
            partition=partition.partition,
            dns_suffix=partition.dns_suffix,
            region=aws.get_region_output(opts=opts).region,
            account_id=aws.get_caller_identity_output(opts=opts).account_id,
        )


# ---------------------------------------------------------------------------------------------


@dataclass
class SociNodeGroupArgs:
    """Arguments of :class:`SociNodeGroup`."""

    cluster: ClusterAttachment
    """The cluster the nodes join (``ClusterAttachment.from_cluster(...)`` / ``.from_existing(name)``)."""
    spec: NodeGroupSpec
    """What the node group is: AMI pin, pull mode, credentials, SOCI source, sizes (validated)."""
    subnet_ids: pulumi.Input[Sequence[str]] | None = None
    """Subnets for the nodes when ``spec.subnet_ids`` is empty (normally the cluster's private subnets)."""
    registry_credentials: pulumi.Input[Mapping[str, Mapping[str, str]]] | None = None
    """Registry host -> ``{"username", "password"}`` for the spec's ``static`` credential sources; pass a Pulumi
    secret (``Config.get_secret_object``). Only the Secrets Manager secret version receives the values."""
    kubernetes_provider: pulumi.ProviderResource | None = None
    """Kubernetes provider for the ``kubernetes-secrets`` identity; unset: one is built from ``cluster.kubeconfig``."""
    security_group_ids: pulumi.Input[Sequence[str]] | None = None
    """Extra security groups for the nodes. With them the launch template lists the cluster security group plus
    these (EKS adds the cluster security group only when the launch template names none)."""
    max_unavailable_percentage: int = 33
    """Rolling updates (new AMI or user data = new launch template version) replace at most this share of nodes at once."""
    metadata_hop_limit: int = 2
    """IMDSv2 hop limit. 2 lets pods reach the instance metadata service, and so the node role (which can read
    this group's boot secrets); 1 keeps pods without host networking away from it."""
    create_access_entry: bool = False
    """Create an ``EC2_LINUX`` EKS access entry for the node role (clusters in API authentication mode;
    :class:`SociCluster` sets it). Leave off for existing clusters: EKS maps managed node group roles itself."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every AWS resource of the node group, its instances and volumes."""
    config_path: str = ""
    """Config key path of the spec (``nodeGroups[1]``), prefixed to error messages."""
    aws_environment: AwsEnvironment | None = None
    """Partition/region/account; unset: looked up through the node group's AWS provider
    (:class:`SociCluster` looks them up once for all its node groups)."""


class SociNodeGroup(pulumi.ComponentResource):
    """An EKS managed node group whose containerd uses the SOCI snapshotter from first boot."""

    role: aws.iam.Role
    """The node IAM role (worker node, CNI, ECR pull-only and SSM core policies)."""
    launch_template: aws.ec2.LaunchTemplate
    """Launch template with the pinned AMI and our complete user data."""
    node_group: aws.eks.NodeGroup
    """The EKS managed node group."""
    node_group_name: pulumi.Output[str]
    """EKS name of the node group."""
    role_arn: pulumi.Output[str]
    """ARN of the node IAM role."""
    image_id: pulumi.Output[str]
    """The pinned AMI ID (resolved from the release-pinned SSM parameter, or the raw ``amiId``)."""
    profile: pulumi.Output[dict[str, Any]]
    """What the nodes run: OS, AMI release, SSM parameter, Kubernetes, arch, containerd, pull mode, SOCI source, labels."""
    user_data_size: pulumi.Output[int]
    """Bytes of user data EC2 receives (before base64; gzipped when the document exceeds 16 KB)."""
    secret_arns: pulumi.Output[list[str]]
    """Secrets Manager secrets the nodes read at boot (static registry credentials, kubeconfig token)."""
    spec: NodeGroupSpec
    """The node group spec (plain value)."""
    node_profile: NodeProfile
    """The resolved AMI profile (plain value)."""
    profile_data: dict[str, Any]
    """``profile`` as a plain dict (known before deployment)."""

    def __init__(self, name: str, args: SociNodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        spec = args.spec
        path = args.config_path
        if args.metadata_hop_limit not in range(1, 65):
            raise NodeGroupError("metadataHopLimit", f"{args.metadata_hop_limit!r}: expected 1..64")
        try:
            profile = ami.resolve_profile(spec, path)
        except SpecError as e:
            raise NodeGroupError(e.path, e.message) from None
        self.spec = spec
        self.node_profile = profile
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        tags = {**dict(args.tags), "soci-eks:node-group": spec.name}
        for w in warnings(spec, profile):
            pulumi.log.warn(w, resource=self)

        env = args.aws_environment or AwsEnvironment.lookup(invoke)
        partition = pulumi.Output.from_input(env.partition)
        region = pulumi.Output.from_input(env.region)
        account = pulumi.Output.from_input(env.account_id)
        cluster = args.cluster

        # --- IAM ----------------------------------------------------------------------------
        self.role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=pulumi.Output.from_input(env.dns_suffix).apply(_assume_role_policy),
            description=f"SOCI node group {spec.name}: EKS worker nodes",
            tags=tags,
            opts=child,
        )
        attachments: list[pulumi.Resource] = [
            aws.iam.RolePolicyAttachment(
                f"{name}-{policy.lower().replace('_', '-')}",
                role=self.role.name,
                policy_arn=pulumi.Output.concat("arn:", partition, f":iam::aws:policy/{policy}"),
                opts=child,
            )
            for policy in NODE_POLICIES
        ]

        # --- boot-time secrets (values only in Secrets Manager; the renderer gets ARNs) --------
        static_arns: dict[str, pulumi.Output[str]] = {}
        secret_versions: list[pulumi.Resource] = []
        statics = [c for c in spec.credentials if isinstance(c, StaticCredentials)]
        if statics and args.registry_credentials is None:
            raise NodeGroupError(
                f"{path}.credentials" if path else "credentials",
                f"static credentials for {', '.join(c.registry for c in statics)} need their values: "
                f"pulumi config set --secret --path 'registryCredentials[\"{statics[0].registry}\"].username' ... (and .password)",
            )
        for i, cred in enumerate(statics):
            secret = aws.secretsmanager.Secret(
                f"{name}-registry-{i}",
                description=f"SOCI registry credentials for {cred.registry} (node group {spec.name}); read by the nodes at boot",
                tags={**tags, "soci-eks:registry": cred.registry},
                opts=child,
            )
            value = pulumi.Output.secret(args.registry_credentials).apply(
                lambda creds, registry=cred.registry: _registry_secret_string(creds, registry, path)
            )
            secret_versions.append(
                aws.secretsmanager.SecretVersion(f"{name}-registry-{i}-value", secret_id=secret.id, secret_string=value, opts=child)
            )
            static_arns[cred.registry] = secret.arn

        token_arn: pulumi.Output[str] | None = None
        if spec.credential(CredentialKind.KUBERNETES_SECRETS) is not None:
            token_arn, token_version = self._kubernetes_identity(name, args, region, tags)
            secret_versions.append(token_version)

        secret_arn_list = [*static_arns.values(), *([token_arn] if token_arn is not None else [])]
        self.secret_arns = pulumi.Output.all(*secret_arn_list).apply(list) if secret_arn_list else pulumi.Output.from_input([])
        if secret_arn_list:
            attachments.append(
                aws.iam.RolePolicy(
                    f"{name}-read-boot-secrets",
                    role=self.role.id,
                    policy=pulumi.Output.all(*secret_arn_list).apply(_secrets_policy),
                    opts=child,
                )
            )

        # --- AMI and instance sizes -----------------------------------------------------------
        if profile.ssm_parameter is not None:
            # A public AMI parameter is no secret; pulumi-aws marks every parameter value secret.
            self.image_id = pulumi.Output.unsecret(aws.ssm.get_parameter_output(name=profile.ssm_parameter, opts=invoke).value)
        else:
            assert profile.ami_id is not None
            self.image_id = pulumi.Output.from_input(profile.ami_id)
        size_check: pulumi.Output[Any] = pulumi.Output.from_input(True)
        if spec.uses_fast_image_pull or spec.local_storage is LocalStorage.RAID0:
            facts = [aws.ec2.get_instance_type_output(instance_type=t, opts=invoke) for t in spec.instance_types]
            size_check = pulumi.Output.all(*facts).apply(lambda results: self._check_sizes(results, path))

        # --- user data: the renderer's exact bytes ------------------------------------------
        def render(values: list[Any]) -> NodeBootstrap:
            c_name, endpoint, ca, cidr, region_name, account_id, part, token, *statics_resolved = values
            if not cidr:
                raise NodeGroupError("cluster", f"cluster {c_name} has no IPv4 service CIDR; IPv6 clusters are not supported by SOCI node groups")
            info = ClusterInfo(
                name=c_name, endpoint=endpoint, certificate_authority=ca, service_cidr=cidr, region=region_name, account_id=account_id, partition=part
            )
            secrets = Secrets(static=dict(zip(static_arns, statics_resolved, strict=True)), kubeconfig_token=token)
            try:
                return plan(spec, profile, info, secrets)
            except SpecError as e:
                raise NodeGroupError(_join(path, e.path), e.message) from None

        bootstrap = pulumi.Output.all(
            cluster.name,
            cluster.endpoint,
            cluster.certificate_authority,
            cluster.service_cidr,
            region,
            account,
            partition,
            token_arn,
            *static_arns.values(),
            size_check,
        ).apply(lambda values: render(values[:-1]))
        user_data = bootstrap.apply(lambda b: base64.b64encode(b.user_data).decode("ascii"))
        self.user_data_size = bootstrap.apply(lambda b: len(b.user_data))
        self.profile_data = profile_json(spec, profile)
        self.profile = pulumi.Output.from_input(self.profile_data)

        # --- launch template + node group ---------------------------------------------------
        security_groups = None
        if args.security_group_ids is not None:
            if cluster.cluster_security_group_id is None:
                raise NodeGroupError(_join(path, "securityGroupIds"), "extra security groups need the cluster security group (ClusterAttachment.cluster_security_group_id)")
            security_groups = pulumi.Output.all(cluster.cluster_security_group_id, args.security_group_ids).apply(lambda v: [v[0], *v[1]])
        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-launch-template",
            description=f"SOCI node group {spec.name}: {profile.os.value} {profile.release or profile.ami_id}, SOCI {spec.pull_mode.value}",
            image_id=self.image_id,
            user_data=user_data,
            update_default_version=True,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=args.metadata_hop_limit
            ),
            block_device_mappings=_block_devices(spec),
            vpc_security_group_ids=security_groups,
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags={**tags, "Name": f"{spec.name}-soci"}) for kind in ("instance", "volume")
            ],
            tags=tags,
            opts=child,
        )
        depends: list[pulumi.Resource] = [*attachments, *secret_versions]
        if args.create_access_entry:
            depends.append(
                aws.eks.AccessEntry(
                    f"{name}-access-entry",
                    cluster_name=cluster.name,
                    principal_arn=self.role.arn,
                    type="EC2_LINUX",
                    tags=tags,
                    opts=child,
                )
            )
        subnets = list(spec.subnet_ids) if spec.subnet_ids else args.subnet_ids
        if subnets is None:
            raise NodeGroupError(_join(path, "subnetIds"), "no subnets: set the node group's subnetIds or SociNodeGroupArgs.subnet_ids")
        self.node_group = aws.eks.NodeGroup(
            f"{name}-node-group",
            cluster_name=cluster.name,
            node_role_arn=self.role.arn,
            subnet_ids=subnets,
            instance_types=list(spec.instance_types),
            capacity_type=spec.capacity_type.value,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=spec.scaling.min_size, max_size=spec.scaling.max_size, desired_size=spec.scaling.desired_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable_percentage=args.max_unavailable_percentage),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=self.launch_template.id, version=self.launch_template.latest_version.apply(str)),
            labels=spec.node_labels,
            taints=[aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value or None, effect=t.effect.eks_api) for t in spec.taints],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends, ignore_changes=["scalingConfig.desiredSize"]),
        )
        self.node_group_name = self.node_group.node_group_name
        self.role_arn = self.role.arn
        self.register_outputs(
            {
                "roleArn": self.role_arn,
                "launchTemplateId": self.launch_template.id,
                "nodeGroupName": self.node_group_name,
                "imageId": self.image_id,
                "profile": self.profile,
                "userDataSize": self.user_data_size,
                "secretArns": self.secret_arns,
            }
        )

    def _check_sizes(self, results: list[Any], path: str) -> bool:
        facts = {r.instance_type: (int(r.default_vcpus), int(r.memory_size)) for r in results}
        try:
            ami.check_instance_sizes(self.spec, facts, path)
            ami.check_local_storage(self.spec, {r.instance_type: bool(r.instance_storage_supported) for r in results}, path)
        except SpecError as e:
            raise NodeGroupError(e.path, e.message) from None
        return True

    def _kubernetes_identity(
        self, name: str, args: SociNodeGroupArgs, region: pulumi.Output[str], tags: Mapping[str, str]
    ) -> tuple[pulumi.Output[str], pulumi.Resource]:
        """SOCI's kubeconfig keychain identity: a ServiceAccount allowed to list/watch secrets, its token in Secrets Manager."""
        import pulumi_kubernetes as k8s

        spec = self.spec
        provider = args.kubernetes_provider
        if provider is None:
            c = args.cluster
            kubeconfig = c.kubeconfig if c.kubeconfig is not None else pulumi.Output.all(c.name, c.endpoint, c.certificate_authority, region).apply(
                lambda v: exec_kubeconfig(*v)
            )
            provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig, opts=pulumi.ResourceOptions(parent=self))
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        labels = {"app.kubernetes.io/managed-by": "soci-eks", "soci-eks/node-group": spec.name}
        sa = k8s.core.v1.ServiceAccount(
            f"{name}-soci",
            metadata=k8s.meta.v1.ObjectMetaArgs(namespace=SOCI_SERVICE_ACCOUNT_NAMESPACE, labels=labels),
            automount_service_account_token=False,
            opts=k8s_opts,
        )
        # Kubernetes RBAC cannot restrict by secret type: this grants list/watch of all secrets, of which SOCI's
        # kubeconfig keychain only reads those of type kubernetes.io/dockerconfigjson.
        reader = k8s.rbac.v1.ClusterRole(
            f"{name}-soci-secret-reader",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                labels=labels,
                annotations={"soci-eks/purpose": "SOCI kubeconfig keychain: reads kubernetes.io/dockerconfigjson pull secrets (RBAC cannot filter by type)"},
            ),
            rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["secrets"], verbs=["list", "watch"])],
            opts=k8s_opts,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-soci-secret-reader",
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=reader.metadata.name),
            subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=sa.metadata.name, namespace=SOCI_SERVICE_ACCOUNT_NAMESPACE)],
            opts=k8s_opts,
        )
        token = k8s.core.v1.Secret(
            f"{name}-soci-token",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                namespace=SOCI_SERVICE_ACCOUNT_NAMESPACE,
                labels=labels,
                annotations={"kubernetes.io/service-account.name": sa.metadata.name},
            ),
            type="kubernetes.io/service-account-token",
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[sa])),
        )
        secret = aws.secretsmanager.Secret(
            f"{name}-kube-token",
            description=f"Service-account token of SOCI's kubeconfig keychain (node group {spec.name}); read by the nodes at boot",
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        version = aws.secretsmanager.SecretVersion(
            f"{name}-kube-token-value",
            secret_id=secret.id,
            secret_string=pulumi.Output.secret(token.data).apply(_token_from_secret_data),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return secret.arn, version


# ---------------------------------------------------------------------------------------------
# pure helpers


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path and key else path or key


def _assume_role_policy(dns_suffix: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": f"ec2.{dns_suffix}"}, "Action": "sts:AssumeRole"}],
        }
    )


def _secrets_policy(arns: list[str]) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": sorted(arns)}]}
    )


def _registry_secret_string(creds: Any, registry: str, path: str) -> str:
    where = "registryCredentials"
    if not isinstance(creds, Mapping) or registry not in creds:
        raise NodeGroupError(
            f"{where}.{registry}",
            f"no credentials for {registry}, which {path or 'the node group'} lists as a static credential source; "
            f"pulumi config set --secret --path '{where}[\"{registry}\"].username' ... (and .password)",
        )
    entry = creds[registry]
    if not isinstance(entry, Mapping) or not isinstance(entry.get("username"), str) or not isinstance(entry.get("password"), str):
        raise NodeGroupError(f"{where}.{registry}", "expected a mapping with string 'username' and 'password'")
    extra = sorted(set(entry) - {"username", "password"})
    if extra:
        raise NodeGroupError(f"{where}.{registry}.{extra[0]}", "unknown key; accepted: username, password")
    return json.dumps({"username": entry["username"], "password": entry["password"]})


def _token_from_secret_data(data: Mapping[str, str] | None) -> str:
    token = (data or {}).get("token")
    if not token:
        raise pulumi.RunError("the service-account token secret has no token yet; run `pulumi up` again once the token controller has filled it")
    return base64.b64decode(token).decode()


def _block_devices(spec: NodeGroupSpec) -> list[aws.ec2.LaunchTemplateBlockDeviceMappingArgs]:
    """Encrypted gp3 volumes: AL2023 root ``/dev/xvda``; Bottlerocket OS ``/dev/xvda`` + data ``/dev/xvdb``."""
    disk = spec.disk

    def ebs(size: int, iops: int | None = None, throughput: int | None = None) -> aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs:
        return aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
            volume_size=size, volume_type="gp3", iops=iops, throughput=throughput, encrypted="true", delete_on_termination="true"
        )

    data = ebs(disk.size_gib, disk.iops, disk.throughput_mibps)
    if spec.os is OperatingSystem.BOTTLEROCKET:
        return [
            aws.ec2.LaunchTemplateBlockDeviceMappingArgs(device_name="/dev/xvda", ebs=ebs(BOTTLEROCKET_OS_VOLUME_GIB)),
            aws.ec2.LaunchTemplateBlockDeviceMappingArgs(device_name="/dev/xvdb", ebs=data),
        ]
    return [aws.ec2.LaunchTemplateBlockDeviceMappingArgs(device_name="/dev/xvda", ebs=data)]


def exec_kubeconfig(cluster_name: str, endpoint: str, certificate_authority: str, region: str) -> str:
    """A kubeconfig that authenticates with ``aws eks get-token`` (the deployer's AWS identity)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": certificate_authority}}],
            "users": [
                {
                    "name": "aws",
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"],
                        }
                    },
                }
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": "aws"}}],
            "current-context": cluster_name,
        }
    )


def check_command(profile: Mapping[str, Any], node_group_name: str, region: str) -> str:
    """The shell command that shows SOCI at work on one running node of the group, over SSM."""
    if profile["os"] == OperatingSystem.BOTTLEROCKET.value:
        remote = "apiclient get settings.container-runtime.snapshotter settings.container-runtime-plugins.soci-snapshotter"
    elif profile["pullMode"] == PullMode.PARALLEL.value:
        remote = "sudo ctr -n k8s.io snapshots --snapshotter soci ls"
    else:
        remote = "findmnt --source soci"
    find = (
        f"aws ec2 describe-instances --region {region} --filters Name=tag:eks:nodegroup-name,Values={node_group_name} "
        "Name=instance-state-name,Values=running --query 'Reservations[0].Instances[0].InstanceId' --output text"
    )
    return (
        f'aws ssm start-session --region {region} --target "$({find})" '
        f"--document-name AWS-StartInteractiveCommand --parameters command='{remote}'"
    )


__all__ = ["AwsEnvironment", "ClusterAttachment", "NodeGroupError", "SociNodeGroup", "SociNodeGroupArgs", "NODE_POLICIES", "TOKEN", "check_command", "exec_kubeconfig"]
