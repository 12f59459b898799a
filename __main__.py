"""The soci-eks demo project: stack config -> VPC -> SociCluster -> demo workload -> stack outputs.

``pulumi up -s dev`` runs this with ``stacks/Pulumi.dev.yaml``. Every key of the ``soci-eks``
namespace is parsed by :func:`soci_component.config.parse`; an invalid or unknown key fails the
preview with its key path (``nodeGroups[1].instanceTypes[0]``) and what is accepted.
"""

from __future__ import annotations

import gc
import json
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from soci_component.components.cluster import SociCluster, SociClusterArgs
from soci_component.components.errors import failure
from soci_component.components.node_group import check_command
from soci_component.config import PROJECT, parse
from soci_component.errors import SpecError
from soci_component.spec import SOCI_LABEL, SOCI_LABEL_VALUE, NatGateways, StackSpec, VpcSpec

CREDENTIALS_KEY = "registryCredentials"

# A short-lived program: the AWS SDK's modules are ~100k long-lived objects the cyclic GC would re-scan on
# every full collection, and Pulumi's Outputs allocate heavily. Freezing the imports and collecting the young
# generation less often cut the per-node-group cost from ~33 to ~18 ms (benchmarks/mock_scaling.py, `--gc program`).
gc.freeze()
gc.set_threshold(5000, 10, 10)


def _decode(value: Any) -> Any:
    """Structured config arrives as JSON text; anything else is passed on for the parser to reject by path."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def read_stack_config() -> tuple[StackSpec, pulumi.Output[Any] | None]:
    """Every ``soci-eks:*`` key of the stack (unknown keys included, so typos fail), and the registry credentials."""
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    # Every key of every namespace: the parser ignores other projects' and providers' keys but refuses near misses (soci_eks:...).
    raw = {k: _decode(runtime_config.get_config(k)) for k in sorted(keys)}
    creds_key = f"{PROJECT}:{CREDENTIALS_KEY}"
    if raw.get(creds_key) not in (None, {}) and not runtime_config.is_config_secret(creds_key):
        raise failure(SpecError(
            CREDENTIALS_KEY,
            "holds registry credentials in plain text; remove it and set each value as a secret: "
            f"pulumi config set --secret --path '{CREDENTIALS_KEY}[\"registry.example.com\"].password' ...",
        ))
    try:
        stack = parse(raw, region=pulumi.Config("aws").get("region"))
    except SpecError as e:
        raise failure(e) from None
    # Not Config.get_secret_object: on a value that is not JSON its error message quotes the secret.
    creds = pulumi.Output.secret(raw[creds_key]) if stack.static_registries and creds_key in raw else None
    return stack, creds


def network(name: str, vpc: VpcSpec, tags: dict[str, str]) -> tuple[pulumi.Input[str], pulumi.Input[list[str]], pulumi.Input[list[str]] | None]:
    """The VPC: existing IDs as given, or a new awsx VPC (public + private subnets per AZ, tagged for load balancers)."""
    if vpc.existing:
        assert vpc.vpc_id is not None
        return vpc.vpc_id, list(vpc.private_subnet_ids), list(vpc.public_subnet_ids) or None
    import pulumi_awsx as awsx

    strategy = awsx.ec2.NatGatewayStrategy.ONE_PER_AZ if vpc.nat_gateways is NatGateways.ONE_PER_AZ else awsx.ec2.NatGatewayStrategy.SINGLE
    created = awsx.ec2.Vpc(
        f"{name}-vpc",
        cidr_block=vpc.cidr,
        number_of_availability_zones=vpc.az_count,
        nat_gateways=awsx.ec2.NatGatewayConfigurationArgs(strategy=strategy),
        subnet_strategy=awsx.ec2.SubnetAllocationStrategy.AUTO,
        subnet_specs=[
            awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.PUBLIC, tags={"kubernetes.io/role/elb": "1"}),
            awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.PRIVATE, tags={"kubernetes.io/role/internal-elb": "1"}),
        ],
        enable_dns_hostnames=True,
        tags={**tags, "Name": f"{name}-vpc"},
    )
    return created.vpc_id, created.private_subnet_ids, created.public_subnet_ids


def demo_workload(name: str, stack: StackSpec, cluster: SociCluster) -> dict[str, Any]:
    """A Deployment pinned to SOCI nodes by their label, with an image published with a SOCI index."""
    import pulumi_kubernetes as k8s

    demo = stack.demo
    provider = k8s.Provider(f"{name}-demo-k8s", kubeconfig=cluster.kubeconfig)
    labels = {"app.kubernetes.io/name": "soci-demo"}
    taints = {(t.key, t.effect.value) for spec in stack.nodes for t in spec.taints}
    k8s.apps.v1.Deployment(
        f"{name}-demo",
        metadata=k8s.meta.v1.ObjectMetaArgs(namespace="default", labels=labels),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=demo.replicas,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                spec=k8s.core.v1.PodSpecArgs(
                    node_selector={SOCI_LABEL: SOCI_LABEL_VALUE},
                    tolerations=[k8s.core.v1.TolerationArgs(key=key, operator="Exists", effect=effect) for key, effect in sorted(taints)],
                    containers=[
                        k8s.core.v1.ContainerArgs(
                            name="demo",
                            image=demo.image,
                            command=["sleep", "infinity"],
                            resources=k8s.core.v1.ResourceRequirementsArgs(requests={"cpu": "100m", "memory": "128Mi"}),
                        )
                    ],
                ),
            ),
        ),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[cluster]),
    )
    return {"image": demo.image, "replicas": demo.replicas, "check": "kubectl get pods -l app.kubernetes.io/name=soci-demo -o wide"}


def main() -> None:
    stack, creds = read_stack_config()
    name = stack.cluster.name
    tags = {"soci-eks:stack": pulumi.get_stack(), **stack.tags}
    vpc_id, private, public = network(name, stack.vpc, tags)
    cluster = SociCluster(
        name,
        SociClusterArgs(
            cluster=stack.cluster,
            node_groups=stack.node_groups,
            vpc_id=vpc_id,
            private_subnet_ids=private,
            public_subnet_ids=public,
            registry_credentials=creds,
            tags=tags,
            region=stack.region,
            node_pools=stack.node_pools,
            karpenter=stack.karpenter,
        ),
    )
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export("clusterName", cluster.cluster_name)
    pulumi.export("region", stack.region)
    pulumi.export("vpcId", vpc_id)

    def describe(eks_names: dict[str, str]) -> dict[str, Any]:
        out = {}
        for spec in stack.node_groups:
            p = cluster.node_groups[spec.name].report_data.to_json()
            out[spec.name] = {
                "eksNodeGroup": eks_names[spec.name],
                "os": p["os"],
                "release": p["amiRelease"] or p["amiId"],
                "kubernetesVersion": p["kubernetesVersion"],
                "containerd": p["containerdVersion"],
                "pullMode": p["pullMode"],
                "soci": p["soci"]["source"] + (f" {p['soci']['version']}" if p["soci"]["version"] else ""),
                "instanceTypes": list(spec.instance_types),
                "capacityType": spec.capacity_type.value,
                "checkSoci": check_command(p, eks_names[spec.name], stack.region),
            }
        return out

    pulumi.export("nodeGroups", cluster.node_group_names.apply(describe))
    if stack.node_pools:
        pulumi.export("nodePools", {
            spec.name: {
                "release": cluster.node_pools[spec.name].report_data.ami_release,
                "amiAlias": cluster.node_pools[spec.name].plan.profile.karpenter_alias,
                "pullMode": spec.pull_mode.value,
                "requirements": cluster.node_pools[spec.name].node_pool_spec["spec"]["template"]["spec"]["requirements"],
                "check": f"kubectl get nodes -l karpenter.sh/nodepool={spec.name},soci.snapshotter/enabled=true",
            }
            for spec in stack.node_pools
        })
    if stack.demo.enabled:
        pulumi.export("demo", demo_workload(name, stack, cluster))


main()
