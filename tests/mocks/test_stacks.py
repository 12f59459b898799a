"""The demo project under Pulumi mocks: every ``stacks/Pulumi.*.yaml`` runs ``__main__.py`` and gets the
resources and outputs its config asks for; bad config fails with the key path; the example program
adds a SOCI node group to an existing cluster."""

from __future__ import annotations

import base64
import json
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from soci_component import pipeline, rules
from soci_component.__main__ import main as cli
from soci_component.config import PROJECT, load_stack_file
from soci_component.render.types import Secrets
from soci_component.spec import CapacityType, OperatingSystem, PullMode
from tests.support.pulumi_mocks import FakeCluster, SociMocks, exports, mocked, run, secret_and_value, unwrap

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ROOT = Path(__file__).resolve().parents[2]
STACKS = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
PROJECT_FILE = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


def cli_config(stack_file: Path) -> tuple[dict[str, str], list[str]]:
    """The config the Pulumi CLI hands the program: stack values (objects as JSON text) plus the
    project defaults of Pulumi.yaml for keys the stack does not set; required keys must be present."""
    values = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    for key, decl in PROJECT_FILE["config"].items():
        full = f"{PROJECT}:{key}"
        if full not in values:
            assert "default" in decl, f"{stack_file.name} lacks {full}, which Pulumi.yaml declares without a default"
            values[full] = decl["default"]
    secret_keys = []
    for key, value in list(values.items()):
        if isinstance(value, dict) and set(value) == {"secure"}:
            pytest.skip(f"{stack_file.name}: {key} is encrypted; these tests need plain stack files")
    stack = load_stack_file(stack_file)
    if stack.static_registries:  # what `pulumi config set --secret --path` would hold
        values[f"{PROJECT}:registryCredentials"] = {r: {"username": "mock-user", "password": "mock-password"} for r in stack.static_registries}
        secret_keys.append(f"{PROJECT}:registryCredentials")
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}, secret_keys


def run_program(config: dict[str, str], secret_keys: list[str] | None = None) -> tuple[SociMocks, dict[str, Any]]:
    mocks = SociMocks()
    result: dict[str, Any] = {}
    with mocked(mocks, config, secret_keys or []) as m:

        def program() -> Any:
            runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
            outs = exports()
            return pulumi.Output.all(kubeconfig=secret_and_value(outs.pop("kubeconfig")), **outs).apply(result.update)

        run(program)
    return m, result


@pytest.mark.parametrize("stack_file", STACKS, ids=[p.name for p in STACKS])
def test_every_stack_deploys_what_its_config_says(stack_file: Path) -> None:
    stack = load_stack_file(stack_file)
    config, secret_keys = cli_config(stack_file)
    m, out = run_program(config, secret_keys)

    # network
    vpcs = m.of_type("awsx:ec2:Vpc")
    if stack.vpc.existing:
        assert vpcs == []
        assert m.one("eks:index:Cluster").inputs["vpcId"] == stack.vpc.vpc_id
    else:
        (vpc,) = vpcs
        assert vpc.inputs["cidrBlock"] == stack.vpc.cidr
        assert vpc.inputs["numberOfAvailabilityZones"] == stack.vpc.az_count
        assert vpc.inputs["natGateways"]["strategy"] == {"single": "Single", "one-per-az": "OnePerAz"}[stack.vpc.nat_gateways]
        eks_inputs = m.one("eks:index:Cluster").inputs
        assert eks_inputs["privateSubnetIds"] == [f"subnet-0priv{i:012d}" for i in range(stack.vpc.az_count)]

    # cluster and one SOCI node group per config entry, each launched with the renderer's bytes
    eks = m.one("eks:index:Cluster").inputs
    assert eks["name"] == stack.cluster.name and eks["version"] == stack.cluster.kubernetes_version
    assert eks["authenticationMode"] == "API" and eks["skipDefaultNodeGroup"] is True
    assert len(m.of_type("soci-eks:index:SociNodeGroup")) == len(stack.node_groups)
    for spec in stack.node_groups:
        component = f"{stack.cluster.name}-{spec.name}"
        lt = m.one("aws:ec2/launchTemplate:LaunchTemplate", f"{component}-launch-template")
        statics = [c for c in spec.creds if getattr(c, "registry", None)]
        secrets = Secrets(static={c.registry: m.arn("secretsmanager", f"secret:{component}-registry-{i}-AbCdEf") for i, c in enumerate(statics)})
        expected = pipeline.render_node(pipeline.plan_node(spec), m.cluster_info(stack.cluster.name), secrets).user_data
        assert base64.b64decode(unwrap(lt.inputs["userData"])) == expected
        ng = m.one("aws:eks/nodeGroup:NodeGroup", f"{component}-node-group").inputs
        assert ng["capacityType"] == spec.capacity_type.value and ng["instanceTypes"] == list(spec.instance_types)
        assert ng["labels"]["soci.snapshotter/enabled"] == "true"
        assert {**stack.tags, "soci-eks:node-group": spec.name}.items() <= unwrap(ng["tags"]).items()

    # demo workload, pinned to SOCI nodes
    deployments = m.of_type("kubernetes:apps/v1:Deployment")
    if stack.demo.enabled:
        (d,) = deployments
        pod = d.inputs["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == {"soci.snapshotter/enabled": "true"}
        assert pod["containers"][0]["image"] == stack.demo.image
        assert d.inputs["spec"]["replicas"] == stack.demo.replicas
    else:
        assert deployments == []

    # stack outputs
    is_secret, kubeconfig = out["kubeconfig"]
    assert is_secret and json.loads(kubeconfig)["clusters"][0]["name"] == stack.cluster.name
    assert out["clusterName"] == stack.cluster.name and out["region"] == stack.region
    assert out["verify"] == "python -m soci_component verify --stack test", "the exact verify command for this stack"
    assert set(out["nodeGroups"]) == {s.name for s in stack.node_groups}
    for spec in stack.node_groups:
        got = out["nodeGroups"][spec.name]
        profile = rules.profile(spec)
        assert got["release"] == (profile.release or profile.ami_id)
        assert got["containerd"] == profile.containerd and got["pullMode"] == spec.pull_mode.value
        assert got["eksNodeGroup"] in got["checkSoci"] and got["checkSoci"].startswith("aws ssm start-session")
        if spec.pull_mode.lazy:
            assert "findmnt --source soci" in got["checkSoci"]
    assert ("demo" in out) is stack.demo.enabled


def test_dev_and_prod_are_what_the_readme_says() -> None:
    dev = load_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")
    assert dev.vpc.nat_gateways == "single" and dev.vpc.az_count == 2 and dev.demo.enabled
    assert sum(s.scaling.desired_size for s in dev.node_groups) == 2
    prod = load_stack_file(ROOT / "stacks" / "Pulumi.prod.yaml")
    assert prod.vpc.nat_gateways == "one-per-az" and prod.vpc.az_count == 3 and not prod.demo.enabled
    assert {s.capacity_type for s in prod.node_groups} == {CapacityType.ON_DEMAND, CapacityType.SPOT}
    modes = {(s.os, s.pull_mode) for s in prod.node_groups}
    assert (OperatingSystem.AL2023, PullMode.LAZY_WITH_PARALLEL_FALLBACK) in modes
    assert (OperatingSystem.AL2023, PullMode.PARALLEL) in modes and (OperatingSystem.BOTTLEROCKET, PullMode.PARALLEL) in modes
    assert any(s.uses_fast_image_pull for s in prod.node_groups)


@pytest.mark.parametrize("stack", [p.name.split(".")[1] for p in STACKS])
def test_render_command_works_offline(stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["render", "--stack", stack, "--out", str(tmp_path)]) == 0
    names = [s.name for s in load_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml").nodes]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    assert all((tmp_path / n / "user-data").stat().st_size > 0 for n in names)


def dev_config() -> dict[str, Any]:
    values = (yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text()) or {})["config"]
    return values


def encode(values: dict[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda c: c.__setitem__("soci-eks:tag", {"a": "b"}), r"^tag: unknown key \(did you mean 'tags'\?\)"),
        (lambda c: c["soci-eks:nodeGroups"][0].__setitem__("instanceType", ["m7i.xlarge"]), r"^nodeGroups\[0\]\.instanceType: unknown key \(did you mean 'instanceTypes'\?\)"),
        (lambda c: c["soci-eks:nodeGroups"][0]["scaling"].__setitem__("minSize", "1"), r"^nodeGroups\[0\]\.scaling\.minSize: expected an integer; got a string '1'"),
        (lambda c: c.__setitem__("soci-eks:cluster", "soci-dev"), r"^cluster: expected a mapping"),
        (lambda c: c["soci-eks:nodeGroups"][0]["instanceTypes"].__setitem__(0, "m7i_xlarge"), r"^nodeGroups\[0\]\.instanceTypes\[0\]: 'm7i_xlarge' is not an EC2 instance type"),
        (lambda c: c["soci-eks:vpc"].__setitem__("natGateways", "two"), r"^vpc\.natGateways: 'two' is not accepted; expected one of: single, one-per-az"),
    ],
    ids=["typo-top-level", "typo-node-group-key", "wrong-type", "string-for-mapping", "bad-instance-type", "bad-enum"],
)
def test_invalid_stack_config_fails_with_the_key_path(mutate: Any, message: str) -> None:
    values = dev_config()
    mutate(values)
    with pytest.raises(pulumi.RunError, match=message):
        run_program(encode(values))


def test_plaintext_registry_credentials_are_refused() -> None:
    values = dev_config()
    values["soci-eks:nodeGroups"][0]["credentials"] = [{"type": "static", "registry": "registry.example.com"}]
    values["soci-eks:registryCredentials"] = {"registry.example.com": {"username": "u", "password": "p"}}
    with pytest.raises(pulumi.RunError, match=r"^registryCredentials: holds registry credentials in plain text"):
        run_program(encode(values))


def test_secret_registry_credentials_reach_secrets_manager_only() -> None:
    values = dev_config()
    values["soci-eks:nodeGroups"][0]["credentials"] = [{"type": "ecr-credential-helper"}, {"type": "static", "registry": "registry.example.com"}]
    values["soci-eks:registryCredentials"] = {"registry.example.com": {"username": "stack-user", "password": "stack-password-4711"}}
    m, out = run_program(encode(values), [f"{PROJECT}:registryCredentials"])
    (version,) = m.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert json.loads(unwrap(version.inputs["secretString"])) == {"username": "stack-user", "password": "stack-password-4711"}
    leaks = [r.name for r in m.resources if r is not version and "stack-password-4711" in json.dumps(unwrap(r.inputs), default=str)]
    assert leaks == []
    assert "stack-password-4711" not in json.dumps(out["nodeGroups"])


def test_example_adds_a_node_group_to_an_existing_cluster() -> None:
    mocks = SociMocks(clusters={"team-cluster": FakeCluster(name="team-cluster", service_cidr="10.100.0.0/16")})
    config = {
        "soci-existing-cluster:clusterName": "team-cluster",
        "soci-existing-cluster:subnetIds": json.dumps(["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]),
    }
    result: dict[str, Any] = {}
    with mocked(mocks, config, project="soci-existing-cluster") as m:

        def program() -> Any:
            runpy.run_path(str(ROOT / "examples" / "existing-cluster" / "__main__.py"), run_name="__main__")
            return pulumi.Output.all(**exports()).apply(result.update)

        run(program)
    assert m.calls_to("aws:eks/getCluster:getCluster") == [{"name": "team-cluster"}]
    ng = m.one("aws:eks/nodeGroup:NodeGroup")
    assert ng.inputs["clusterName"] == "team-cluster" and ng.inputs["subnetIds"] == ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
    user_data = base64.b64decode(unwrap(m.one("aws:ec2/launchTemplate:LaunchTemplate").inputs["userData"]))
    assert b"apiServerEndpoint: " + m.clusters["team-cluster"].endpoint.encode() in user_data and b"cidr: 10.100.0.0/16" in user_data
    assert result["nodeGroupName"] and result["report"]["amiRelease"] == "v20260714"
