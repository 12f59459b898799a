"""tools/catalogue/nodeadm_containerd.py: what fills nodeadm's containerd config template at a tag, the
template evaluator, and the check of the package's renderer against a template.

Every template and Go file here is a small excerpt written for these tests (the Go lines in the shape the
reader relies on); the templates the renderer check passes are derived from the package's own
``base_config`` output, so the check is shown to pass and to fail without a copy of nodeadm's files.
"""

from __future__ import annotations

import pytest

from soci_component.ami.nodeadm import NodeadmContainerd
from soci_component.ami.profile import NodeProfile
from soci_component.render import containerd
from soci_component.spec import Arch, OperatingSystem
from tools.catalogue.nodeadm_containerd import (
    CONFIG_GO,
    ECR_GO,
    INIT_GO,
    RUNTIME_GO,
    TEMPLATES,
    TemplateError,
    check_renderer,
    containerd_facts,
    execute,
    variables,
)

FILL_GO = """func generateContainerdConfig(cfg *api.NodeConfig) ([]byte, error) {
\topts := getRuntimeOptions(cfg)
\tvars := containerdTemplateVars{
\t\tSandboxImage:      cfg.Status.Defaults.SandboxImage,
\t\tRuntimeBinaryName: opts.RuntimeBinaryPath,
\t\tRuntimeName:       opts.RuntimeName,
\t\tEnableCDI:         semver.Compare(cfg.Status.KubeletVersion, "v1.32.0") >= 0,
\t}
"""
RUNTIMES_GO = """const (
\tdefaultRuntimeName       = "runc"
\tdefaultRuntimeBinaryPath = "/usr/sbin/runc"
)

var mixins = []runtimeConfigMixin{
\tNewNvidiaRuntimeConfigMixin(),
}
"""
NVIDIA_GO = 'const (\n\tnvidiaRuntimeName       = "nvidia"\n\tnvidiaRuntimeBinaryPath = "/usr/bin/nvidia-container-runtime"\n)\n'
ECR_SANDBOX_GO = 'func (r *ECRRegistry) GetSandboxImage() string {\n\treturn r.GetImageReference("eks/pause", "3.5")\n}\n'
SOCI_BLOCK = '\n{{if .UseSOCISnapshotter}}\n[proxy_plugins.soci]\ntype = "snapshot"\naddress = "/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock"\n{{- end}}\n'


def init_go(sandbox: str) -> str:
    return f"func enrichConfig(cfg *api.NodeConfig) error {{\n\tcfg.Status.Defaults = api.DefaultOptions{{\n\t\tSandboxImage: {sandbox},\n\t}}\n}}\n"


def renderer_template(schema: int) -> str:
    """A template in nodeadm's form made from the package's own base config (sentinel values -> template actions)."""
    facts = NodeadmContainerd(release="v1", templates=(2, 3), sandbox_image="SANDBOX-IMAGE", enable_cdi_from="1.32",
                              runtimes=(("RUNTIME-NAME", "/RUNTIME-BINARY"), ("nvidia", "/nvidia-binary")))
    profile = NodeProfile(os=OperatingSystem.AL2023, kubernetes_version="1.33", arch=Arch.X86_64, containerd_version=(2, 2, 4) if schema == 3 else (1, 7, 27),
                          release="v1", containerd_config=facts)
    text = "".join(line for line in containerd.base_config(profile).splitlines(keepends=True) if not line.startswith("#"))
    for sentinel, action in (('"SANDBOX-IMAGE"', '"{{.SandboxImage}}"'), ("enable_cdi = true", "enable_cdi = {{.EnableCDI}}"),
                             ("RUNTIME-NAME", "{{.RuntimeName}}"), ('"/RUNTIME-BINARY"', '"{{.RuntimeBinaryName}}"')):
        assert sentinel in text, sentinel
        text = text.replace(sentinel, action)
    return text + SOCI_BLOCK


def go_files(sandbox: str = '"localhost/kubernetes/pause"', *, schemas: tuple[int, ...] = (2, 3)) -> dict[str, str]:
    """The files the reader reads at a tag, for a nodeadm like the fixtures' (renderer-shaped templates)."""
    files = {TEMPLATES[s]: renderer_template(s) for s in schemas}
    files.update({CONFIG_GO: FILL_GO, INIT_GO: init_go(sandbox), RUNTIME_GO[0]: RUNTIMES_GO, RUNTIME_GO[1]: NVIDIA_GO, ECR_GO: ECR_SANDBOX_GO})
    return files


def read(files: dict[str, str], *, check: bool = False, release: str = "v20990101") -> tuple[dict, dict]:
    return containerd_facts(files.get, release, lambda path: f"https://example.invalid/{path}", check=check)


# --------------------------------------------------------------------------------------------
# the evaluator


def test_execute_trims_and_branches_as_go_does() -> None:
    t = 'a = "{{.S}}"\nb = true\n{{- if .On}}\nc = 1\n{{- else}}\nc = 2\n{{- end}}\n\n{{if .On -}}\n  d = {{.B}}\n{{- end}}'
    assert execute(t, {"S": "x", "On": True, "B": False}) == 'a = "x"\nb = true\nc = 1\n\nd = false'
    assert execute(t, {"S": "x", "On": False, "B": True}) == 'a = "x"\nb = true\nc = 2\n\n'
    assert variables(t) == {"S", "On", "B"}


@pytest.mark.parametrize("template, message", [
    ("{{.Missing}}", "uses .Missing, which the reader does not fill"),
    ("{{if .On}}x", "without {{end}}"),
    ("x{{end}}", "{{end}} without {{if}}"),
    ('{{printf "%s" .S}}', "is not a plain field"),
])
def test_execute_refuses_what_it_does_not_know(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match="t.toml: .*" + message.replace("{", r"\{").replace("}", r"\}").replace(".", r"\.")):
        execute(template, {"On": True, "S": "s"}, "t.toml")


# --------------------------------------------------------------------------------------------
# the facts at a tag


def test_facts_of_a_release_with_both_templates_and_a_literal_sandbox_image() -> None:
    facts, sources = read(go_files())
    assert facts == {"configTemplates": [2, 3], "sandboxImage": "localhost/kubernetes/pause", "enableCdiFrom": "1.32",
                     "runtimes": {"runc": "/usr/sbin/runc", "nvidia": "/usr/bin/nvidia-container-runtime"}}
    assert sources["sandboxImage"] == f"https://example.invalid/{INIT_GO}"
    assert sources["configTemplates"].split() == [f"https://example.invalid/{TEMPLATES[2]}", f"https://example.invalid/{TEMPLATES[3]}"]


def test_sandbox_image_taken_literally_with_or_without_a_tag() -> None:
    assert read(go_files('"localhost/kubernetes/pause:latest"'))[0]["sandboxImage"] == "localhost/kubernetes/pause:latest"
    assert read(go_files('"localhost/kubernetes/pause"'))[0]["sandboxImage"] == "localhost/kubernetes/pause"


def test_sandbox_image_from_the_regions_eks_registry() -> None:
    facts, sources = read(go_files("eksRegistry.GetSandboxImage()", schemas=(2,)))
    assert facts["sandboxImage"] == {"eksRegistry": "eks/pause:3.5"} and facts["configTemplates"] == [2]
    assert sources["sandboxImage"].split()[1] == f"https://example.invalid/{ECR_GO}"


def test_older_templates_without_cdi_or_runtime_variables() -> None:
    files = {TEMPLATES[2]: 'sandbox_image = "{{.SandboxImage}}"\n[runtimes.runc.options]\nSystemdCgroup = true\n',
             CONFIG_GO: "\t\tSandboxImage: cfg.Status.Defaults.SandboxImage,\n", INIT_GO: init_go('"localhost/kubernetes/pause"')}
    facts, sources = read(files)
    assert (facts["enableCdiFrom"], facts["runtimes"]) == (None, None)
    assert set(sources) == {"configTemplates", "sandboxImage"}


@pytest.mark.parametrize("change, message", [
    ({TEMPLATES[2]: "x = {{.HugePages}}\n"}, r"uses \['HugePages'\]"),
    ({INIT_GO: init_go('"a"') + init_go('"b"')}, "sets SandboxImage 2 times"),
    ({CONFIG_GO: FILL_GO.replace('"v1.32.0") >= 0', '"v1.32.0") > 0')}, "does not set EnableCDI"),
    ({RUNTIME_GO[0]: RUNTIMES_GO.replace("NewNvidiaRuntimeConfigMixin(),", "NewNvidiaRuntimeConfigMixin(),\n\tNewNeuronRuntimeConfigMixin(),")}, "mixins"),
    ({ECR_GO: "func (r *ECRRegistry) GetSandboxImage() string { return pause }\n", INIT_GO: init_go("eksRegistry.GetSandboxImage()")}, "GetImageReference"),
])
def test_reader_stops_on_what_it_does_not_know(change: dict[str, str], message: str) -> None:
    with pytest.raises(TemplateError, match=f"v20990101: .*{message}"):
        read({**go_files(), **change})


def test_no_schema_2_template() -> None:
    files = go_files()
    del files[TEMPLATES[2]]
    with pytest.raises(TemplateError, match="no nodeadm/internal/containerd/config.template.toml"):
        read(files)


# --------------------------------------------------------------------------------------------
# the package's renderer against a template


def test_renderer_check_passes_on_a_template_shaped_like_the_renderer() -> None:
    facts, _ = read(go_files(), check=True)
    assert facts["configTemplates"] == [2, 3]
    read(go_files("eksRegistry.GetSandboxImage()"), check=True)


@pytest.mark.parametrize("schema", [2, 3])
def test_renderer_check_names_a_key_the_renderer_does_not_write(schema: int) -> None:
    files = go_files()
    files[TEMPLATES[schema]] = files[TEMPLATES[schema]].replace("discard_unpacked_layers = true", "discard_unpacked_layers = true\nsnapshotter = \"overlayfs\"")
    with pytest.raises(TemplateError, match=r"snapshotter = 'overlayfs' where the package's renderer writes '<absent>'"):
        read(files, check=True)


def test_renderer_check_names_a_value_the_renderer_writes_otherwise() -> None:
    files = go_files()
    files[TEMPLATES[2]] = files[TEMPLATES[2]].replace('bin_dir = "/opt/cni/bin"', 'bin_dir = "/usr/libexec/cni"')
    with pytest.raises(TemplateError, match=r"cni\.bin_dir = '/usr/libexec/cni' where the package's renderer writes '/opt/cni/bin'"):
        read(files, check=True)


def test_renderer_check_catches_gate_lines_our_fragment_leaves_alone() -> None:
    files = go_files()
    files[TEMPLATES[3]] = files[TEMPLATES[3]].replace('type = "snapshot"', 'type = "snapshot"\nreconnect = true')
    with pytest.raises(TemplateError, match="under the parallel-pull gate the template adds lines our SOCI fragment does not set"):
        read(files, check=True)


def test_check_renderer_directly_on_each_runtime_and_cdi_side() -> None:
    """A template that hard-codes the runtime fails the NVIDIA side even though the default side matches."""
    t = renderer_template(2).replace("{{.RuntimeName}}", "runc")
    facts = {"configTemplates": [2], "sandboxImage": "p", "enableCdiFrom": "1.32", "runtimes": {"runc": "/usr/sbin/runc", "nvidia": "/usr/bin/nv"}}
    with pytest.raises(TemplateError, match=r"\(nvidia, Kubernetes 1.30\)"):
        check_renderer({2: t}, facts, "v20990101")
