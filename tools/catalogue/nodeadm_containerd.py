"""nodeadm's base containerd config at a release tag: what fills its template, and a check that the
package's renderer gives what the template gives.

nodeadm (``nodeadm/internal/containerd/config.go`` ``generateContainerdConfig``) executes
``config.template.toml`` (schema 2) or ``config2.template.toml`` (schema 3) with Go's ``text/template``
and these variables, each read here from the Go code at the tag:

- ``SandboxImage``: ``cfg.Status.Defaults.SandboxImage``, set in ``nodeadm/cmd/nodeadm/init/init.go``
  (``enrichConfig``): a literal, or before v20241115 ``eksRegistry.GetSandboxImage()``, a repository
  and tag of the EKS ECR registry of the node's region (``nodeadm/internal/aws/ecr/ecr.go``);
- ``EnableCDI``: ``semver.Compare(cfg.Status.KubeletVersion, "v1.32.0") >= 0`` (from v20250317);
- ``RuntimeName`` / ``RuntimeBinaryName``: runc, or NVIDIA's runtime from nodeadm's one mixin
  (``runtime_config.go``; ``runtime_config_nvidia.go`` from v20250501);
- ``UseSOCISnapshotter``: the parallel-pull gate (not a release fact: the check below renders both ways).

The facts go into the catalogue row (:mod:`soci_component.ami.nodeadm` reads them), and
:func:`check_renderer` renders the tag's templates with them — a small evaluator for the template
actions nodeadm's files use (``{{.Var}}``, ``{{if .Var}}``/``{{else}}``/``{{end}}``, ``{{-``/``-}}``
trimming) — and compares the parsed TOML with the package's ``base_config``: a template key the
renderer does not write, or a variable or action the reader does not know, stops the sync with the tag,
the file and what to extend.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

TEMPLATES = {2: "nodeadm/internal/containerd/config.template.toml", 3: "nodeadm/internal/containerd/config2.template.toml"}
CONFIG_GO = "nodeadm/internal/containerd/config.go"
INIT_GO = "nodeadm/cmd/nodeadm/init/init.go"
ECR_GO = "nodeadm/internal/aws/ecr/ecr.go"
RUNTIME_GO = ("nodeadm/internal/containerd/runtime_config.go", "nodeadm/internal/containerd/runtime_config_nvidia.go")

KNOWN_VARS = {"SandboxImage", "EnableCDI", "RuntimeName", "RuntimeBinaryName", "UseSOCISnapshotter"}

_ACTION = re.compile(r"\{\{(- )?(.*?)( -)?\}\}", re.S)
_SANDBOX_FROM_DEFAULTS = re.compile(r"SandboxImage:\s*cfg\.Status\.Defaults\.SandboxImage\b")
_SANDBOX_LITERAL = re.compile(r"SandboxImage:\s*\"([^\"]+)\"")
_SANDBOX_ECR = re.compile(r"SandboxImage:\s*\w+\.GetSandboxImage\(\)")
_ECR_PAUSE = re.compile(r"func \(r \*ECRRegistry\) GetSandboxImage\(\) string \{\s*return r\.GetImageReference\(\"([^\"]+)\",\s*\"([^\"]+)\"\)")
_ENABLE_CDI = re.compile(r"EnableCDI:\s*semver\.Compare\(cfg\.Status\.KubeletVersion,\s*\"v(1\.[0-9]+)\.0\"\)\s*>=\s*0")
_RUNTIME_VARS = re.compile(r"\bRuntimeName:\s*\w+\.RuntimeName\b|\bRuntimeBinaryName:\s*\w+\.RuntimeBinary(?:Name|Path)\b")
_CONST = re.compile(r"\b(default|nvidia)Runtime(Name|BinaryName|BinaryPath)\s*=\s*\"([^\"]+)\"")
_MIXINS = re.compile(r"\bmixins\s*=\s*\[\][\w.]+\{(.*?)\}\s*\n", re.S)


class TemplateError(ValueError):
    """A template or Go file with a shape the reader does not know (the message names the file and what to extend)."""


# --------------------------------------------------------------------------------------------
# Go text/template, the subset nodeadm's containerd templates use


def _tokens(text: str) -> list[tuple[str, str]]:
    """("text", s) and ("action", body) in order, with Go's trim markers applied to the neighbouring text."""
    out: list[tuple[str, str]] = []
    pos, trim_next = 0, False
    for m in _ACTION.finditer(text):
        chunk = text[pos:m.start()]
        if trim_next:
            chunk = chunk.lstrip()
        if m.group(1):
            chunk = chunk.rstrip()
        out.append(("text", chunk))
        out.append(("action", m.group(2).strip()))
        pos, trim_next = m.end(), bool(m.group(3))
    tail = text[pos:]
    out.append(("text", tail.lstrip() if trim_next else tail))
    return out


def variables(template: str) -> set[str]:
    """The ``.Var`` names a template refers to."""
    return {name for kind, body in _tokens(template) if kind == "action" for name in re.findall(r"(?<![\w)])\.(\w+)", body)}


def execute(template: str, values: Mapping[str, Any], where: str = "template") -> str:
    """Render ``template`` as Go's text/template does for the actions nodeadm's templates use."""

    def show(v: Any) -> str:
        return ("true" if v else "false") if isinstance(v, bool) else str(v)

    def value(expr: str) -> Any:
        m = re.fullmatch(r"\.(\w+)", expr)
        if not m:
            raise TemplateError(f"{where}: action {{{{{expr}}}}} is not a plain field; extend tools/catalogue/nodeadm_containerd.py")
        if m.group(1) not in values:
            raise TemplateError(f"{where}: the template uses .{m.group(1)}, which the reader does not fill; read config.go and extend it")
        return values[m.group(1)]

    out: list[str] = []
    stack: list[tuple[bool, bool]] = []  # (this branch is taken, the enclosing output is on)
    on = True
    for kind, body in _tokens(template):
        if kind == "text":
            if on:
                out.append(body)
        elif body.startswith("if "):
            cond = bool(value(body[3:].strip()))
            stack.append((cond, on))
            on = on and cond
        elif body == "else":
            if not stack:
                raise TemplateError(f"{where}: {{{{else}}}} outside {{{{if}}}}")
            cond, outer = stack[-1]
            stack[-1] = (not cond, outer)
            on = outer and not cond
        elif body == "end":
            if not stack:
                raise TemplateError(f"{where}: {{{{end}}}} without {{{{if}}}}")
            on = stack.pop()[1]
        else:
            if on:
                out.append(show(value(body)))
    if stack:
        raise TemplateError(f"{where}: {{{{if}}}} without {{{{end}}}}")
    return "".join(out)


# --------------------------------------------------------------------------------------------
# the facts at a tag


def containerd_facts(show: Callable[[str], str | None], release: str, url: Callable[[str], str], *,
                     check: bool = True) -> tuple[dict[str, Any], dict[str, str]]:
    """The catalogue's ``nodeadm`` keys for the containerd config (``configTemplates``, ``sandboxImage``,
    ``enableCdiFrom``, ``runtimes``) and their sources. ``show(path)``: the file at the tag or None;
    ``url(path)``: its URL at the tag's commit; ``check``: run :func:`check_renderer` on the tag's templates.
    Raises TemplateError naming the release and file."""
    templates = {schema: text for schema, path in TEMPLATES.items() if (text := show(path)) is not None}
    if 2 not in templates:
        raise TemplateError(f"{release}: no {TEMPLATES[2]}")
    used = set().union(*(variables(t) for t in templates.values()))
    unknown = used - KNOWN_VARS
    if unknown:
        raise TemplateError(f"{release}: the containerd config template uses {sorted(unknown)}; read {CONFIG_GO} and extend the reader")
    config = show(CONFIG_GO) or ""
    sources = {"configTemplates": " ".join(url(TEMPLATES[s]) for s in sorted(templates))}
    facts: dict[str, Any] = {"configTemplates": sorted(templates)}

    if "SandboxImage" not in used or not _SANDBOX_FROM_DEFAULTS.search(config):
        raise TemplateError(f"{release}: {CONFIG_GO} does not fill SandboxImage from cfg.Status.Defaults.SandboxImage; extend the reader")
    init = show(INIT_GO) or ""
    literal = _SANDBOX_LITERAL.findall(init)
    if len(literal) == 1:
        facts["sandboxImage"] = literal[0]
        sources["sandboxImage"] = url(INIT_GO)
    elif not literal and _SANDBOX_ECR.search(init):
        m = _ECR_PAUSE.search(show(ECR_GO) or "")
        if m is None:
            raise TemplateError(f"{release}: {ECR_GO} GetSandboxImage does not return GetImageReference(repository, tag); extend the reader")
        facts["sandboxImage"] = {"eksRegistry": f"{m.group(1)}:{m.group(2)}"}
        sources["sandboxImage"] = f"{url(INIT_GO)} {url(ECR_GO)}"
    else:
        raise TemplateError(f"{release}: {INIT_GO} sets SandboxImage {len(literal)} times as a literal and not from the EKS registry; extend the reader")

    cdi = _ENABLE_CDI.findall(config)
    if "EnableCDI" in used:
        if len(cdi) != 1:
            raise TemplateError(f"{release}: {CONFIG_GO} does not set EnableCDI from one kubelet version comparison; extend the reader")
        facts["enableCdiFrom"] = cdi[0]
        sources["enableCdiFrom"] = url(CONFIG_GO)
    else:
        facts["enableCdiFrom"] = None

    if {"RuntimeName", "RuntimeBinaryName"} & used:
        if {"RuntimeName", "RuntimeBinaryName"} - used or len(_RUNTIME_VARS.findall(config)) != 2:
            raise TemplateError(f"{release}: the template or {CONFIG_GO} fills RuntimeName/RuntimeBinaryName otherwise than from the runtime options; extend the reader")
        texts = {p: t for p in RUNTIME_GO if (t := show(p)) is not None}
        consts: dict[tuple[str, str], str] = {}
        for t in texts.values():
            for who, what, v in _CONST.findall(t):
                consts[(who, "Name" if what == "Name" else "Binary")] = v
        mixins = _MIXINS.search(texts.get(RUNTIME_GO[0], ""))
        names = re.findall(r"\w*Nvidia\w*|\w*Neuron\w*|\w*Mixin\w*", mixins.group(1)) if mixins else []
        if len(consts) != 4 or not names or any("Nvidia" not in n for n in names):
            raise TemplateError(f"{release}: {RUNTIME_GO[0]} does not have exactly the default and the NVIDIA runtime (name and binary constants, "
                                f"one NVIDIA mixin); found {sorted(consts)}, mixins {names}; extend the reader")
        facts["runtimes"] = {consts[("default", "Name")]: consts[("default", "Binary")], consts[("nvidia", "Name")]: consts[("nvidia", "Binary")]}
        sources["runtimes"] = " ".join(url(p) for p in texts)
    else:
        facts["runtimes"] = None
    if check:
        check_renderer(templates, facts, release)
    return facts, sources


# --------------------------------------------------------------------------------------------
# the package's renderer against the template


def check_renderer(templates: Mapping[int, str], facts: Mapping[str, Any], release: str) -> None:
    """For each template, runtime and side of the CDI version: the package's ``base_config`` parses to what
    the template gives with these facts (no gate), and merging our SOCI fragment over what the template
    gives under the parallel-pull gate gives the same as over the base (every line the gate adds is one
    our fragment sets). Raises TemplateError naming what differs."""
    from soci_component.ami.nodeadm import containerd_from_row
    from soci_component.render import containerd

    c = containerd_from_row(release, facts, release)
    assert c is not None
    for schema, template in sorted(templates.items()):
        profile = _profile(schema)
        kubernetes = ["1.30"] if c.enable_cdi_from is None else ["1.30", c.enable_cdi_from]
        for nvidia in (False, True):
            for k8s in kubernetes:
                p = replace(profile, kubernetes_version=k8s, variant=_variant(nvidia), release=release, containerd_config=c)
                runtime, binary = c.runtime(nvidia)
                values = {"SandboxImage": c.sandbox_reference, "EnableCDI": bool(c.enable_cdi(k8s)), "RuntimeName": runtime,
                          "RuntimeBinaryName": binary or "", "UseSOCISnapshotter": False}
                where = f"{release}: {TEMPLATES[schema]}"
                nodeadm = _parse(execute(template, values, where), where)
                ours = tomllib.loads(containerd.base_config(p))
                if nodeadm != ours:
                    raise TemplateError(f"{where} ({runtime}, Kubernetes {k8s}) gives {_diff(nodeadm, ours)}; "
                                        "extend soci_component/render/containerd.py base_config (and the catalogue's nodeadm facts)")
                gated = execute(template, {**values, "UseSOCISnapshotter": True}, where)
                fragment = tomllib.loads(containerd.soci_fragment(p, "/var/lib/soci-snapshotter-grpc"))
                if _merged(_parse(gated, where), fragment) != _merged(ours, fragment):
                    raise TemplateError(f"{where}: under the parallel-pull gate the template adds lines our SOCI fragment does not set; "
                                        "extend soci_component/render/containerd.py soci_fragment")


def _merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """nodeadm's merge of the NodeConfig's containerd config over its template, on parsed TOML (util.Merge:
    tables merge key by key, anything else from ``over`` replaces)."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise TemplateError(f"{where}: the rendered template is not TOML ({e}); extend the evaluator") from None


def _diff(nodeadm: Mapping[str, Any], ours: Mapping[str, Any], path: str = "") -> str:
    for key in sorted(set(nodeadm) | set(ours)):
        here = f"{path}.{key}" if path else key
        a, b = nodeadm.get(key, "<absent>"), ours.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            if a != b:
                return _diff(a, b, here)
        elif a != b:
            return f"{here} = {a!r} where the package's renderer writes {b!r}"
    return "the same keys"


def _profile(schema: int) -> Any:
    from soci_component.ami.profile import NodeProfile
    from soci_component.spec import Arch, OperatingSystem

    return NodeProfile(os=OperatingSystem.AL2023, kubernetes_version="1.30", arch=Arch.X86_64, containerd_version=(2, 2, 4) if schema == 3 else (1, 7, 27),
                       release=None)


def _variant(nvidia: bool) -> Any:
    from soci_component.spec import Variant

    return Variant.NVIDIA if nvidia else Variant.STANDARD
