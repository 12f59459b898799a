"""tools/catalogue/eks_ami_source.py: nodeadm facts read at each release tag of a (fixture) amazon-eks-ami clone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.tools.test_nodeadm_containerd import FILL_GO, go_files
from tools.catalogue.eks_ami_source import CONFIG_GO, INSTALL_WORKER, SANDBOX_GO, TYPES_GO, EksAmiSourceError, nodeadm_facts
from tools.catalogue.nodeadm_containerd import INIT_GO, TEMPLATES

CONFIG_WITH_GATE = """package containerd

""" + FILL_GO.replace("{", "{{").replace("}", "}}") + """
func UseSOCISnapshotter(cfg *api.NodeConfig, resources system.Resources) bool {{
\tif !api.IsFeatureEnabled(api.{const}, cfg.Spec.FeatureGates) {{
\t\treturn false
\t}}
\treturn totalMemory >= {gib}*gibibyte && totalCPUMillicores >= {milli}
}}
"""
TYPES = 'package api\n\nconst (\n\tSomethingElse Feature = "SomethingElse"\n\t{const} Feature = "{name}"\n)\n'


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def commit(repo: Path, files: dict[str, str], tag: str) -> None:
    for path, text in files.items():
        p = repo / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", tag)
    git(repo, "tag", tag)


def make_repo(r: Path, broken: bool = True) -> Path:
    git(r, "init", "-q")
    commit(r, {**go_files("eksRegistry.GetSandboxImage()", schemas=(2,)), CONFIG_GO: "package containerd\n\n" + FILL_GO, TYPES_GO: "package api\n",
               INSTALL_WORKER: "sudo dnf install -y runc\n"}, "v20990101")
    commit(r, {CONFIG_GO: CONFIG_WITH_GATE.format(const="AggressiveImagePull", gib=8, milli=8000),
               TYPES_GO: TYPES.format(const="AggressiveImagePull", name="AggressiveImagePull"),
               INSTALL_WORKER: "sudo dnf install -y --downloadonly soci-snapshotter\n"}, "v20990201")
    commit(r, {CONFIG_GO: CONFIG_WITH_GATE.format(const="FastImagePull", gib=7, milli=4000),
               TYPES_GO: TYPES.format(const="FastImagePull", name="FastImagePull"),
               SANDBOX_GO: 'args := []string{"images", "import", "--snapshotter", "soci"}\n',
               **{k: v for k, v in go_files('"localhost/kubernetes/pause:latest"').items() if k != CONFIG_GO},
               "templates/shared/runtime/bin/setup-local-disks": "mount /var/lib/soci-snapshotter-grpc\n"}, "v20990301")
    commit(r, {CONFIG_GO: CONFIG_WITH_GATE.format(const="FastImagePull", gib=7, milli=4000) + "func Other() { api.IsFeatureEnabled(api.X, f) }\n"}, "v20990315")
    if broken:
        commit(r, {CONFIG_GO: CONFIG_WITH_GATE.format(const="Renamed", gib=7, milli=4000)}, "v20990401")
        commit(r, {CONFIG_GO: CONFIG_WITH_GATE.format(const="FastImagePull", gib=7, milli=4000),
                   TEMPLATES[3]: go_files()[TEMPLATES[3]].replace('bin_dir = "/opt/cni/bin"', 'bin_dir = "/usr/libexec/cni"')}, "v20990501")
    return r


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("eks-ami"))


def test_no_soci_release(repo: Path) -> None:
    f = nodeadm_facts(repo, "v20990101")
    assert f is not None
    assert (f.feature_gate, f.size_floor, f.pause_import, f.soci_package, f.soci_on_instance_store) == (None, None, False, False, False)
    assert f.sources["sociPackage"].endswith(f"/{f.commit}/{INSTALL_WORKER}")


def test_aggressive_gate_release(repo: Path) -> None:
    f = nodeadm_facts(repo, "v20990201")
    assert f is not None and (f.feature_gate, f.size_floor, f.soci_package) == ("AggressiveImagePull", (8000, 8), True)
    assert f.sources["featureGate"] == f"https://github.com/awslabs/amazon-eks-ami/blob/{f.commit}/{TYPES_GO}"


def test_fast_gate_release(repo: Path) -> None:
    f = nodeadm_facts(repo, "v20990301")
    assert f is not None and (f.feature_gate, f.size_floor, f.pause_import, f.soci_on_instance_store) == ("FastImagePull", (4000, 7), True, True)


def test_facts_come_from_the_tag_not_head(repo: Path) -> None:
    """The v20990201 facts must be that tag's (8 vCPU), not HEAD's (4 vCPU)."""
    assert nodeadm_facts(repo, "v20990201").size_floor == (8000, 8)  # type: ignore[union-attr]


def test_only_use_soci_function_counts(repo: Path) -> None:
    assert nodeadm_facts(repo, "v20990315").feature_gate == "FastImagePull"  # type: ignore[union-attr]


def test_undefined_gate_constant(repo: Path) -> None:
    with pytest.raises(EksAmiSourceError, match="does not define the Feature constant Renamed"):
        nodeadm_facts(repo, "v20990401")


def test_unknown_tag(repo: Path) -> None:
    assert nodeadm_facts(repo, "v20000101") is None


def test_containerd_config_facts_per_tag(repo: Path) -> None:
    """The base containerd config's facts come from each tag: the EKS registry's pause image and one template
    at v20990101, both templates and the tagged literal from v20990301 on; sources at the tag's commit."""
    old, new = nodeadm_facts(repo, "v20990101"), nodeadm_facts(repo, "v20990301")
    assert old is not None and new is not None
    assert (old.containerd["configTemplates"], old.containerd["sandboxImage"]) == ([2], {"eksRegistry": "eks/pause:3.5"})
    assert (new.containerd["configTemplates"], new.containerd["sandboxImage"]) == ([2, 3], "localhost/kubernetes/pause:latest")
    assert new.containerd["enableCdiFrom"] == "1.32" and new.containerd["runtimes"] == {"runc": "/usr/sbin/runc", "nvidia": "/usr/bin/nvidia-container-runtime"}
    assert new.sources["sandboxImage"] == f"https://github.com/awslabs/amazon-eks-ami/blob/{new.commit}/{INIT_GO}"


def test_template_the_renderer_does_not_match_stops_the_read(repo: Path) -> None:
    with pytest.raises(EksAmiSourceError, match=r"v20990501: nodeadm/internal/containerd/config2.template.toml .*cni.bin_dir = '/usr/libexec/cni'"):
        nodeadm_facts(repo, "v20990501")
    assert nodeadm_facts(repo, "v20990501", check_renderer=False) is not None
