"""Add a SOCI node group to an existing EKS cluster, looked up by name.

    pulumi config set clusterName my-cluster
    pulumi config set --path 'subnetIds[0]' subnet-0123456789abcdef0
    pulumi config set --path 'subnetIds[1]' subnet-0fedcba9876543210
    pulumi up

The cluster's Kubernetes version is read from EKS: the node group runs it (set kubernetesVersion to run an older
kubelet, at most 3 minors behind) and is checked against it.
"""

import pulumi

from soci_component import AmiPin, ClusterAttachment, EcrCredentialHelper, NodeGroupSpec, PullMode, SociNodeGroup, SociNodeGroupArgs

config = pulumi.Config()
cluster = ClusterAttachment.from_existing(config.require("clusterName"), subnet_ids=config.require_object("subnetIds"))
spec = NodeGroupSpec(
    kubernetes_version=config.get("kubernetesVersion") or "",
    ami=AmiPin(release=config.get("amiRelease") or "v20260714"),
    instance_types=("m7i.xlarge",),
    pull_mode=PullMode.LAZY,
    credentials=(EcrCredentialHelper(),),
    labels={"team": "example"},
)
node_group = SociNodeGroup("soci", SociNodeGroupArgs(cluster=cluster, spec=spec))

pulumi.export("nodeGroupName", node_group.node_group_name)
pulumi.export("nodeRoleArn", node_group.role_arn)
pulumi.export("report", node_group.report)
pulumi.export("checkSoci", node_group.check_soci)
