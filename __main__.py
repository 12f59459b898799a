"""The soci-eks demo project: stack config -> VPC -> SociCluster -> demo workload -> stack outputs.

``pulumi up -s dev`` runs this with ``stacks/Pulumi.dev.yaml``. Every key of the ``soci-eks``
namespace is parsed by :func:`soci_component.config.parse`; an invalid or unknown key fails the
preview with its key path (``nodeGroups[1].instanceTypes[0]``) and what is accepted.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import Any

import pulumi

from soci_component import SOCI_LABEL, SOCI_LABEL_VALUE, SociCluster, SociClusterArgs, StackSpec, read_stack_config

# A short-lived program: the AWS SDK's modules are ~100k long-lived objects the cyclic GC would re-scan on
# every full collection, and Pulumi's Outputs allocate heavily. Freezing the imports and collecting the young
# generation less often cut the per-node-group cost from ~33 to ~18 ms (benchmarks/mock_scaling.py, `--gc program`).
gc.freeze()
gc.set_threshold(5000, 10, 10)


def network(name: str, stack: StackSpec, tags: dict[str, str]) -> tuple[pulumi.Input[str], pulumi.Input[Sequence[str]], pulumi.Input[Sequence[str]] | None]:
    """The VPC: existing IDs as given, or a new awsx VPC (public + private subnets per AZ, tagged for load balancers)."""
    vpc = stack.vpc
    if vpc.vpc_id is not None:
        return vpc.vpc_id, list(vpc.private_subnet_ids), list(vpc.public_subnet_ids) or None
    import pulumi_awsx as awsx

    strategy = awsx.ec2.NatGatewayStrategy.ONE_PER_AZ if vpc.nat_gateways.value == "one-per-az" else awsx.ec2.NatGatewayStrategy.SINGLE
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
    config = read_stack_config()
    stack, creds = config.stack, config.registry_credentials
    name = stack.cluster.name
    tags = {"soci-eks:stack": pulumi.get_stack(), **stack.tags}
    vpc_id, private, public = network(name, stack, tags)
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
            node_pools=stack.node_pools,
            karpenter=stack.karpenter,
        ),
    )
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export("clusterName", cluster.cluster_name)
    pulumi.export("region", stack.region)
    pulumi.export("vpcId", vpc_id)
    # Run from this project's directory after `pulumi up`: proves through the Kubernetes API that every node of every group
    # and pool runs SOCI as rendered (README: "Verify your cluster").
    pulumi.export("verify", f"python -m soci_component verify --stack {pulumi.get_stack()}")

    def describe(name: str) -> dict[str, Any]:
        group = cluster.node_groups[name]
        r = group.report_data
        return {
            "eksNodeGroup": group.node_group_name,
            "os": r.os,
            "release": r.ami_release or r.ami_id,
            "kubernetesVersion": r.kubernetes_version,
            "containerd": r.containerd_version,
            "pullMode": r.pull_mode,
            "soci": r.soci.source + (f" {r.soci.version}" if r.soci.version else ""),
            "instanceTypes": list(group.spec.instance_types),
            "capacityType": group.spec.capacity_type.value,
            "checkSoci": group.check_soci,
        }

    pulumi.export("nodeGroups", {spec.name: describe(spec.name) for spec in stack.node_groups})
    if stack.node_pools:
        pulumi.export("nodePools", {
            spec.name: {
                "release": cluster.node_pools[spec.name].report_data.ami_release,
                "amiAlias": cluster.node_pools[spec.name].ami_alias,
                "pullMode": spec.pull_mode.value,
                "requirements": cluster.node_pools[spec.name].node_pool_spec["spec"]["template"]["spec"]["requirements"],
                "check": f"kubectl get nodes -l karpenter.sh/nodepool={spec.name},soci.snapshotter/enabled=true",
            }
            for spec in stack.node_pools
        })
    if stack.demo.enabled:
        pulumi.export("demo", demo_workload(name, stack, cluster))


main()
