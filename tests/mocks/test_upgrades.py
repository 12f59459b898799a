"""What a user's ``pulumi up`` changes for each kind of settings change — the evidence behind the README's table
"What `pulumi up` changes".

The dev stack runs under mocks once as deployed and once per change; the registered inputs are compared:

- the cluster (``eks:index:Cluster``) never changes for a node setting;
- a managed node group is replaced only when an input EKS cannot update changes (``UpdateNodegroupConfig`` updates
  labels, taints, scaling and the update config; ``UpdateNodegroupVersion`` the launch template version; everything
  else — instance types, capacity type, subnets, the node role — means a new node group, which Pulumi creates
  before it deletes the old one, as the group is auto-named);
- anything a node receives (user data, AMI, disks, metadata options) is a new version of the launch template, which
  the node group then rolls out (``max_unavailable_percentage`` at a time);
- the URNs never change (``test_urns.py``), so no change renames anything.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.mocks.test_stacks import ROOT, cli_config, run_program
from tests.support.pulumi_mocks import SociMocks, unwrap

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
DEV = ROOT / "stacks" / "Pulumi.dev.yaml"
NG_KEY = "soci-eks:nodeGroups"
REPLACES_NODE_GROUP = ("clusterName", "nodeRoleArn", "subnetIds", "instanceTypes", "capacityType", "amiType", "diskSize", "remoteAccess")
"""aws.eks.NodeGroup inputs EKS cannot update in place (not in UpdateNodegroupConfig / UpdateNodegroupVersion)."""


def _program(mutate: Any = None) -> SociMocks:
    config, secret_keys = cli_config(DEV)
    if mutate is not None:
        groups = json.loads(config[NG_KEY])
        cluster = json.loads(config["soci-eks:cluster"])
        mutate(groups[0], cluster)
        config = {**config, NG_KEY: json.dumps(groups), "soci-eks:cluster": json.dumps(cluster)}
    m, _ = run_program(config, secret_keys)
    return m


def _inputs(m: SociMocks, typ: str) -> dict[str, Any]:
    (r,) = m.of_type(typ)
    return unwrap(copy.deepcopy(r.inputs))


def effect(before: SociMocks, after: SociMocks) -> str:
    """``replaces the cluster`` | ``replaces the node group`` | ``rolls the nodes`` | ``updates in place`` | ``nothing``."""
    if _inputs(before, "eks:index:Cluster") != _inputs(after, "eks:index:Cluster"):
        return "changes the cluster"
    ng0, ng1 = _inputs(before, "aws:eks/nodeGroup:NodeGroup"), _inputs(after, "aws:eks/nodeGroup:NodeGroup")
    if any(ng0.get(k) != ng1.get(k) for k in REPLACES_NODE_GROUP):
        return "replaces the node group"
    if _inputs(before, "aws:ec2/launchTemplate:LaunchTemplate") != _inputs(after, "aws:ec2/launchTemplate:LaunchTemplate"):
        return "rolls the nodes"
    return "updates in place" if ng0 != ng1 else "nothing"


def _set(**kw: Any) -> Any:
    return lambda g, c: g.update(kw)


CHANGES: list[tuple[str, Any, str]] = [
    ("ami.release", _set(ami={"release": "v20260625"}), "rolls the nodes"),
    ("pullMode", _set(pullMode="lazy-with-parallel-fallback", sociSource={"type": "release"}), "rolls the nodes"),
    ("credentials", _set(credentials=["ecr-credential-helper", "cri-proxy"]), "rolls the nodes"),
    ("sociSource", _set(sociSource={"type": "release", "version": "0.15.0"}), "rolls the nodes"),
    ("tuning", _set(tuning={"v1Indexes": True, "minLayerSize": 0}), "rolls the nodes"),
    ("labels", _set(labels={"team": "ml"}), "rolls the nodes"),
    ("taints", _set(taints=[{"key": "dedicated", "value": "soci", "effect": "NoSchedule"}]), "rolls the nodes"),
    ("disk", _set(disk={"preset": "parallel"}), "rolls the nodes"),
    ("scaling", _set(scaling={"minSize": 1, "maxSize": 5, "desiredSize": 2}), "updates in place"),
    ("instanceTypes", _set(instanceTypes=["m7i.2xlarge"]), "replaces the node group"),
    ("capacityType", _set(capacityType="SPOT"), "replaces the node group"),
    ("subnetIds", _set(subnetIds=["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]), "replaces the node group"),
    ("cluster.kubernetesVersion", lambda g, c: c.update(kubernetesVersion="1.34") or g.update(kubernetesVersion="1.33"), "changes the cluster"),
]


@pytest.fixture(scope="module")
def deployed() -> SociMocks:
    return _program()


def test_the_same_config_changes_nothing(deployed: SociMocks) -> None:
    assert effect(deployed, _program()) == "nothing"


@pytest.mark.parametrize(("setting", "mutate", "expected"), CHANGES, ids=[c[0] for c in CHANGES])
def test_what_pulumi_up_changes(deployed: SociMocks, setting: str, mutate: Any, expected: str) -> None:
    after = _program(mutate)
    assert effect(deployed, after) == expected, setting
    # the cluster itself is never replaced by a node setting, and nothing is renamed
    assert {r.urn for r in deployed.resources} == {r.urn for r in after.resources} or setting in ("credentials", "sociSource", "pullMode")
