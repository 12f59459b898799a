"""The package as a user installs it: the wheel built from this checkout, installed into a fresh virtual environment
outside the checkout, runs the example program under Pulumi mocks, ``render --config`` on a stack file, and the
CLI's other commands. A subpackage or data file missing from the packaging, or a path that only works inside a
checkout, fails here.

The fresh environment gets the third-party dependencies from ``.venv`` through a ``.pth`` file (``.venv`` never
holds ``soci_component``: the tests import it from the checkout by ``pythonpath``), so nothing is downloaded, and
``soci_component`` can only come from the wheel: each run asserts where it was imported from.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DRIVER = """
import json, runpy, sys
import pulumi
import soci_component
sys.path.insert(0, {support!r})
from pulumi_mocks import FakeCluster, SociMocks, exports, mocked, run
assert soci_component.__file__.startswith({site!r}), soci_component.__file__
mocks = SociMocks(clusters={{"team-cluster": FakeCluster(name="team-cluster", kubernetes_version="1.32")}})
config = {{"soci-existing-cluster:clusterName": "team-cluster",
          "soci-existing-cluster:subnetIds": json.dumps(["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"])}}
out = {{}}
with mocked(mocks, config, project="soci-existing-cluster") as m:
    def program():
        runpy.run_path({example!r}, run_name="__main__")
        return pulumi.Output.all(**exports()).apply(out.update)
    run(program)
print(json.dumps({{"types": sorted({{r.typ for r in m.resources}}), "release": out["report"]["amiRelease"], "k8s": out["report"]["kubernetesVersion"]}}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Path]]:
    """(python of the fresh environment, its site-packages, a work directory outside the checkout)."""
    base = tmp_path_factory.mktemp("installed")
    src = base / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".cache", ".git", "tests", "out", "__pycache__", "*.egg-info", "build"))
    wheels = base / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(src)], check=True,
                   capture_output=True, timeout=300)
    (wheel,) = wheels.glob("soci_eks-*.whl")
    env = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=300)
    python = env / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True,
                               text=True).stdout.strip())
    (site / "deps-from-dotvenv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True, capture_output=True, timeout=300)
    work = base / "work"
    work.mkdir()
    yield python, site, work


def _wheel_names(site: Path) -> set[str]:
    return {str(p.relative_to(site)) for p in (site / "soci_component").rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def _missing(installed_names: set[str]) -> list[str]:
    """Files of the package in the checkout that the installed wheel lacks."""
    source = {str(p.relative_to(ROOT)) for p in (ROOT / "soci_component").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    return sorted(source - installed_names)


def test_the_wheel_holds_every_module_and_data_file_and_nothing_else(installed: tuple[Path, Path, Path]) -> None:
    _, site, _ = installed
    names = _wheel_names(site)
    assert not _missing(names), f"not in the wheel: {_missing(names)}"
    assert not (site / "tools").exists() and not (site / "tests").exists(), "maintainers' tooling and tests stay out of the wheel"
    assert "soci_component/py.typed" in names and "soci_component/ami/releases.json" in names


def test_render_and_the_other_commands_work_outside_the_checkout(installed: tuple[Path, Path, Path]) -> None:
    python, site, work = installed
    stack = work / "Pulumi.staging.yaml"
    shutil.copy(ROOT / "stacks" / "Pulumi.prod.yaml", stack)
    r = subprocess.run([str(python), "-m", "soci_component", "render", "--config", str(stack), "--out", str(work / "out")], cwd=work,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    reports = sorted((work / "out").glob("*/report.json"))
    assert reports and all(json.loads(p.read_text())["os"] for p in reports)
    assert (work / "out" / reports[0].parent.name / "user-data").stat().st_size > 1000
    r = subprocess.run([str(python), "-m", "soci_component", "ami", "list"], cwd=work, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "v20260714" in r.stdout, r.stdout + r.stderr
    for command in (["images", "check", "--help"], ["verify", "--help"], ["--help"]):
        r = subprocess.run([str(python), "-m", "soci_component", *command], cwd=work, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"{command}: {r.stdout}{r.stderr}"
    r = subprocess.run([str(python), "-c", "import soci_component, sys; print(soci_component.__file__)"], cwd=work, capture_output=True, text=True)
    assert r.stdout.startswith(str(site)), r.stdout


def test_the_example_program_runs_under_mocks_from_the_installed_package(installed: tuple[Path, Path, Path]) -> None:
    python, site, work = installed
    support = work / "support"
    support.mkdir()
    shutil.copy(ROOT / "tests" / "support" / "pulumi_mocks.py", support / "pulumi_mocks.py")
    example = work / "existing-cluster"
    shutil.copytree(ROOT / "examples" / "existing-cluster", example)
    driver = work / "driver.py"
    driver.write_text(textwrap.dedent(DRIVER.format(support=str(support), site=str(site), example=str(example / "__main__.py"))))
    r = subprocess.run([str(python), str(driver)], cwd=work, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert {"soci-eks:index:SociNodeGroup", "aws:ec2/launchTemplate:LaunchTemplate", "aws:eks/nodeGroup:NodeGroup"} <= set(result["types"])
    assert (result["release"], result["k8s"]) == ("v20260714", "1.32"), "the cluster's version, read from EKS"


def test_a_missing_subpackage_would_be_caught(installed: tuple[Path, Path, Path]) -> None:
    """The comparison can fail: a wheel without ``soci_component/rules`` (an explicit package list that forgot it) lacks files."""
    _, site, _ = installed
    names = {n for n in _wheel_names(site) if not n.startswith("soci_component/rules/")}
    assert "soci_component/rules/__init__.py" in _missing(names)
