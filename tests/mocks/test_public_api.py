"""The package a platform engineer imports: complete, documented, the demo's only door, clean errors.

- ``soci_component.__all__`` holds every component, argument, spec and error a program needs (Karpenter and
  pools included) and none of the internals;
- every exported class, every field of its arguments and specs and every output of its components has a
  docstring (read from the source, as an IDE shows it);
- the demo program and the examples import only ``soci_component``'s top level and no Pulumi runtime internals;
- a bad spec built in Python is a one-line ``pulumi.RunError`` naming the spec and the key, as the same mistake
  in a stack file is;
- a spec may leave its name and Kubernetes version to the component and the cluster; names that disagree are refused.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pulumi
import pytest

import soci_component
from soci_component import AmiPin, ClusterAttachment, NodeGroupSpec, SociNodeGroup, SociNodeGroupArgs, SpecError
from tests.mocks.test_node_group import LT, SUBNETS, user_data_of
from tests.support.pulumi_mocks import FakeCluster, SociMocks, mocked, run

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NEEDED = {
    "SociCluster", "SociClusterArgs", "SociNodeGroup", "SociNodeGroupArgs", "SociNodePool", "SociNodePoolArgs", "Karpenter", "KarpenterArgs",
    "ClusterAttachment", "NodeGroupSpec", "NodePoolSpec", "KarpenterSpec", "ClusterSpec", "StackSpec", "Requirement", "RequirementOperator",
    "PoolLimits", "Disruption", "ConsolidationPolicy", "AmiPin", "PullMode", "SociTuning", "ParallelTuning", "UpstreamRelease", "AmiPackage",
    "EcrCredentialHelper", "CriProxy", "StaticCredentials", "KubernetesSecrets", "Taint", "TaintEffect", "Disk", "Scaling", "LocalStorage",
    "NodeReport", "SpecError", "ComponentError", "parse", "load_stack_file", "read_stack_config",
}
INTERNAL = {"ClusterInfo", "Secrets", "NodeProfile", "AwsEnvironment", "VpcSpec", "DemoSpec", "NatGateways", "Membership", "NodePlan"}


def test_the_public_api_is_complete_and_holds_no_internals() -> None:
    exported = set(soci_component.__all__)
    assert NEEDED <= exported, f"missing: {sorted(NEEDED - exported)}"
    assert not exported & INTERNAL, f"internals exported: {sorted(exported & INTERNAL)}"
    for name in exported:
        assert getattr(soci_component, name) is not None, name


def _attribute_docs(cls: type) -> tuple[set[str], set[str]]:
    """(annotated attributes of the class body, those followed by a docstring), from the source."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    annotated, documented = set(), set()
    for i, node in enumerate(body):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            annotated.add(node.target.id)
            nxt = body[i + 1] if i + 1 < len(body) else None
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
                documented.add(node.target.id)
    return annotated, documented


def _public_classes() -> list[type]:
    return [v for k in soci_component.__all__ if inspect.isclass(v := getattr(soci_component, k))]


@pytest.mark.parametrize("cls", _public_classes(), ids=lambda c: c.__name__)
def test_every_public_type_field_and_output_has_a_docstring(cls: type) -> None:
    assert (cls.__doc__ or "").strip(), f"{cls.__name__} has no docstring"
    if issubclass(cls, BaseException) or inspect.isclass(cls) and issubclass(cls, str):
        return
    missing = []
    for klass in cls.__mro__:
        if klass.__module__.startswith("soci_component") and klass is not object:
            annotated, documented = _attribute_docs(klass)
            public = {a for a in annotated if not a.startswith("_") and a.isidentifier() and a not in ("KIND",)}
            missing += [f"{klass.__name__}.{a}" for a in sorted(public - documented)]
    if dataclasses.is_dataclass(cls):
        fields = {f.name for f in dataclasses.fields(cls)}
        missing = [m for m in missing if m.split(".")[1] in fields or not dataclasses.is_dataclass(cls)]
    assert not missing, f"undocumented: {missing}"


def _imports(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return out


@pytest.mark.parametrize("program", [ROOT / "__main__.py", *sorted((ROOT / "examples").glob("*/__main__.py"))], ids=lambda p: str(p.relative_to(ROOT)))
def test_programs_use_only_the_public_api(program: Path) -> None:
    imports = _imports(program)
    deep = [m for m in imports if m.startswith("soci_component.")]
    internals = [m for m in imports if m.startswith("pulumi.runtime") or m.startswith("pulumi._")]
    assert not deep and not internals, f"{program.name} imports {deep + internals}: a user's program would need only `from soci_component import ...`"


BAD_SPEC = """
import pulumi{components}
from soci_component import AmiPin, NodeGroupSpec, Taint, TaintEffect
try:
    {statement}
except pulumi.RunError as e:
    print("RunError:", e)
"""


@pytest.mark.parametrize("components", ["", "\nimport soci_component.components"], ids=["pulumi-first", "components-loaded"])
@pytest.mark.parametrize(("statement", "expected"), [
    ("NodeGroupSpec(name='lazy', ami=AmiPin(release='v20260714'), instance_types=('m7i_xlarge',))",
     "NodeGroupSpec(name='lazy').instanceTypes[0]: 'm7i_xlarge' is not an EC2 instance type such as 'm7i.xlarge'"),
    ("Taint('Bad Key', TaintEffect.NO_SCHEDULE)", "Taint.key: 'Bad Key' is not a Kubernetes label key"),
    ("AmiPin(release='latest')", "AmiPin.release: 'latest' is not a pinned release"),
])
def test_a_bad_spec_built_in_python_is_a_clean_one_line_error(components: str, statement: str, expected: str) -> None:
    """The Pulumi language host prints a RunError as its message alone and anything else with a traceback
    (pulumi/pulumi sdk/python/cmd/pulumi-language-python-exec): the spec's error must be a RunError."""
    code = BAD_SPEC.format(components=components, statement=statement)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith(f"RunError: {expected}"), r.stdout + r.stderr
    assert r.stdout.count("\n") == 1, r.stdout


@pytest.fixture
def m() -> Any:
    mocks = SociMocks(clusters={"team": FakeCluster(name="team", kubernetes_version="1.32")})
    with mocked(mocks):
        yield mocks


def test_the_spec_takes_the_components_name_and_the_clusters_version(m: SociMocks) -> None:
    spec = NodeGroupSpec(ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",))
    assert spec.name == "" and spec.kubernetes_version == ""
    made: dict[str, Any] = {}

    def program() -> Any:
        made["ng"] = SociNodeGroup("soci", SociNodeGroupArgs(cluster=ClusterAttachment.from_existing("team", subnet_ids=SUBNETS), spec=spec))
        return made["ng"].node_group_name

    run(program)
    ng = made["ng"]
    assert (ng.spec.name, ng.spec.kubernetes_version) == ("soci", "1.32")
    assert ng.report_data.kubernetes_version == "1.32" and "/1.32/" in (ng.report_data.ssm_parameter or "")
    assert b"node group soci:" in user_data_of(m.one(LT))


@pytest.mark.parametrize(("spec_kw", "path", "text"), [
    ({"name": "other"}, "SociNodeGroup('soci').name", "differs from the component's name 'soci'"),
    ({"kubernetes_version": "1.33"}, "SociNodeGroup('soci').kubernetesVersion", "newer than the control plane (1.32)"),
    ({"kubernetes_version": "1.28"}, "SociNodeGroup('soci').kubernetesVersion", "more than 3 minor versions older"),
])
def test_names_that_disagree_and_versions_the_cluster_cannot_run_are_refused(m: SociMocks, spec_kw: dict[str, str], path: str, text: str) -> None:
    spec = NodeGroupSpec(ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",), **spec_kw)

    def program() -> Any:
        SociNodeGroup("soci", SociNodeGroupArgs(cluster=ClusterAttachment.from_existing("team", subnet_ids=SUBNETS), spec=spec))

    with pytest.raises(pulumi.RunError) as e:
        run(program)
    assert str(e.value).startswith(f"{path}: ") and text in str(e.value), str(e.value)
    assert m.of_type(LT) == []


def test_a_cluster_that_does_not_exist_is_a_clean_error(m: SociMocks) -> None:
    def program() -> Any:
        ClusterAttachment.from_existing("nope")

    with pytest.raises(Exception, match="cluster nope not found"):
        run(program)


def test_spec_errors_keep_their_path_and_message() -> None:
    with pytest.raises(SpecError) as e:
        NodeGroupSpec(name="lazy", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge", "m7i.xlarge"))
    assert (e.value.path, e.value.message) == ("NodeGroupSpec(name='lazy').instanceTypes", "lists a type twice")


def _readme_programs() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Using the component in another program"):].split("\n## ", 1)[0]
    return [block.split("```", 1)[0] for block in section.split("```python\n")[1:]]


@pytest.mark.parametrize("index", range(len(_readme_programs())))
def test_the_readme_programs_run(index: int) -> None:
    """The README's examples are programs: each runs under mocks against the public API."""
    code = _readme_programs()[index]
    mocks = SociMocks(clusters={"team-cluster": FakeCluster(name="team-cluster"), "platform": FakeCluster(name="platform")})
    config = {"net:vpcId": "vpc-0123456789abcdef0", "net:privateSubnetIds": '["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]'}
    with mocked(mocks, config) as m:
        run(lambda: exec(compile(code.replace("subnet-...", "subnet-0aaaaaaaaaaaaaaa1"), f"README[{index}]", "exec"), {}))  # noqa: S102
    assert m.of_type("aws:ec2/launchTemplate:LaunchTemplate") or m.of_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")
