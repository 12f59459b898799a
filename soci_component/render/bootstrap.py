"""Plan a node's bootstrap: the files it gets, the boot script that writes them, the user data.

Pure: ``plan(spec, profile, cluster, secrets)`` takes plain values and returns a
:class:`NodeBootstrap` whose ``user_data`` is exactly the bytes EC2 receives (before base64).
"""

from __future__ import annotations

import functools
import json
import shlex
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .. import ami
from ..spec import (
    DEFAULT_SOCI_ROOT,
    SOCI_SOCKET,
    AmiPackage,
    ClusterInfo,
    CredentialKind,
    EcrCredentialHelper,
    LocalStorage,
    NodeGroupSpec,
    NodeProfile,
    OperatingSystem,
    Secrets,
    SpecError,
    StaticCredentials,
    UpstreamRelease,
)
from . import bottlerocket, containerd, mime, nodeconfig
from .soci import SOCI_CONFIG_PATH, SOCI_KUBECONFIG_PATH, soci_config

SCRIPT_WRITER = "boot-script"
NODEADM_WRITER = "nodeadm"
DOCKER_CONFIG_PATH = "/root/.docker/config.json"
CONTAINERD_CONFIG_PATH = "/etc/containerd/config.toml"
SOCI_SERVICE_PATH = "/etc/systemd/system/soci-snapshotter.service"
SOCI_SOCKET_UNIT_PATH = "/etc/systemd/system/soci-snapshotter.socket"
SOCI_SERVICE_DROPIN_PATH = "/etc/systemd/system/soci-snapshotter.service.d/10-soci-eks.conf"
CONTAINERD_DROPIN_PATH = "/etc/systemd/system/containerd.service.d/10-soci-snapshotter.conf"
KUBELET_PAUSE_DROPIN_PATH = "/etc/systemd/system/kubelet.service.d/10-soci-pause-image.conf"
RELEASE_BINARY = "/usr/local/bin/soci-snapshotter-grpc"
AMI_BINARY = "/usr/bin/soci-snapshotter-grpc"
PAUSE_TAR = "/etc/eks/pause.tar"


@dataclass(frozen=True)
class NodeFile:
    """A file the node ends up with because of our bootstrap."""

    path: str
    content: str
    mode: int = 0o644
    writer: str = SCRIPT_WRITER
    """``boot-script`` (written by our script) or ``nodeadm`` (nodeadm writes it from our NodeConfig)."""
    note: str = ""


@dataclass(frozen=True)
class NodeBootstrap:
    """Everything a node of the group receives, and what lands on its disk."""

    name: str
    files: tuple[NodeFile, ...]
    user_data: bytes
    """Exactly what EC2 receives, before base64 (gzipped when over 16 KB)."""
    raw_user_data: bytes
    """The uncompressed document."""
    nodeconfig: dict[str, Any] | None = None
    script: str | None = None
    warnings: tuple[str, ...] = ()
    profile: dict[str, Any] = field(default_factory=dict)

    def file(self, path: str) -> NodeFile:
        return next(f for f in self.files if f.path == path)

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]


def plan(spec: NodeGroupSpec, profile: NodeProfile, cluster: ClusterInfo, secrets: Secrets | None = None) -> NodeBootstrap:
    """The bootstrap of one node group. Raises :class:`SpecError` for combinations that cannot work."""
    secrets = secrets or Secrets()
    _check_profile(spec, profile)
    if spec.os is OperatingSystem.BOTTLEROCKET:
        settings = bottlerocket.user_data(spec, profile, cluster)
        raw = settings.encode()
        return NodeBootstrap(
            name=spec.name,
            files=(),
            user_data=mime.fit(raw),
            raw_user_data=raw,
            warnings=tuple(warnings(spec, profile)),
            profile=profile_json(spec, profile),
        )
    files = list(_al2023_files(spec, profile, cluster))
    script = boot_script(spec, profile, cluster, secrets, [f for f in files if f.writer == SCRIPT_WRITER])
    fragment = None if spec.uses_fast_image_pull else containerd.soci_fragment(profile, spec.tuning.root)
    nc = nodeconfig.nodeconfig(spec, cluster, fragment)
    raw = mime.multipart([mime.Part(mime.NODECONFIG, nodeconfig.dump(nc)), mime.Part(mime.SHELL, script)])
    try:
        fitted = mime.fit(raw)
    except mime.UserDataTooLarge as e:
        raise SpecError("", str(e)) from e
    return NodeBootstrap(
        name=spec.name,
        files=tuple(sorted(files, key=lambda f: f.path)),
        user_data=fitted,
        raw_user_data=raw,
        nodeconfig=nc,
        script=script,
        warnings=tuple(warnings(spec, profile)),
        profile=profile_json(spec, profile),
    )


def _check_profile(spec: NodeGroupSpec, profile: NodeProfile) -> None:
    if profile.os is not spec.os:
        raise SpecError("os", f"the node group says {spec.os.value} but its AMI is {profile.os.value}")
    problem = ami.containerd_problem(profile.containerd_version)
    if problem:
        # resolve_profile refuses these too; plan() checks again so no profile can bypass it.
        raise SpecError("ami", f"containerd {profile.containerd} {problem}")
    if spec.uses_fast_image_pull and not profile.fast_image_pull:
        raise SpecError(
            "pullMode",
            f"'parallel' with the AMI's SOCI needs nodeadm's FastImagePull, which AMI {profile.release or profile.ami_id} does not have (AL2023 >= v20250813)",
        )


PARALLEL_MIN_THROUGHPUT = 600
"""MiB/s of EBS throughput nodeadm's docs recommend for parallel pull."""
AL2023_SOCI_ON_RAID = "v20251217"
"""First AL2023 release that bind-mounts the SOCI root onto the instance-store RAID."""


def warnings(spec: NodeGroupSpec, profile: NodeProfile) -> list[str]:
    """Things that work but that a careful operator wants to know at preview time."""
    out = []
    ng = f"node group {spec.name}"
    if spec.credential(CredentialKind.CRI_PROXY) is not None and spec.pull_mode.lazy:
        out.append(
            f"{ng}: 'cri-proxy' credentials never rotate and are lost when SOCI restarts; lazily "
            "loaded images then fail to fetch data after ~12 h on ECR (soci#1084). Prefer 'ecr-credential-helper'."
        )
    if spec.pull_mode.parallel and spec.local_storage is LocalStorage.NONE and spec.disk.throughput_mibps < PARALLEL_MIN_THROUGHPUT:
        out.append(
            f"{ng}: parallel pull is bound by disk throughput; the root volume has {spec.disk.throughput_mibps} MiB/s, "
            f"nodeadm recommends >= {PARALLEL_MIN_THROUGHPUT} MiB/s (disk.preset: parallel) or instance store (localStorage: raid0)"
        )
    if (
        spec.os is OperatingSystem.AL2023
        and spec.local_storage is LocalStorage.RAID0
        and profile.release is not None
        and int(profile.release[1:]) < int(AL2023_SOCI_ON_RAID[1:])
    ):
        out.append(f"{ng}: {profile.release} puts containerd on the instance-store RAID but not SOCI's root (from {AL2023_SOCI_ON_RAID}); SOCI stays on EBS")
    return out


def _ecr_hosts(helper: EcrCredentialHelper, cluster: ClusterInfo) -> list[str]:
    """Registry hosts for the ECR helper; ``{account}``/``{region}`` are the cluster's (China: ``.com.cn``)."""
    hosts = []
    for h in helper.registries:
        host = h.format(account=cluster.account_id, region=cluster.region)
        if "{" in h and cluster.partition == "aws-cn":
            host += ".cn"
        hosts.append(host)
    return hosts


def _al2023_files(spec: NodeGroupSpec, profile: NodeProfile, cluster: ClusterInfo) -> list[NodeFile]:
    root = spec.tuning.root
    files = [
        NodeFile(SOCI_CONFIG_PATH, soci_config(spec)),
        NodeFile(
            CONTAINERD_CONFIG_PATH,
            _effective_containerd(profile, root),
            writer=NODEADM_WRITER,
            note="nodeadm's own config for this containerd with the SOCI lines merged in (representative base)",
        ),
    ]
    if not spec.uses_fast_image_pull:
        if isinstance(spec.soci_source, UpstreamRelease):
            files += [NodeFile(SOCI_SERVICE_PATH, _service_unit(RELEASE_BINARY, root)), NodeFile(SOCI_SOCKET_UNIT_PATH, _socket_unit())]
        elif root != DEFAULT_SOCI_ROOT:
            # The AMI's own units stay; only the root changes.
            exec_start = f"{AMI_BINARY} --address fd:// --config {SOCI_CONFIG_PATH} --root {root}"
            files.append(NodeFile(SOCI_SERVICE_DROPIN_PATH, _ini({"Service": [("ExecStart", ""), ("ExecStart", exec_start)]})))
        files.append(NodeFile(CONTAINERD_DROPIN_PATH, _ini({"Unit": [("Requires", "soci-snapshotter.service"), ("After", "soci-snapshotter.service")]})))
        if profile.needs_pause_import:
            import_cmd = f"/usr/bin/ctr -n k8s.io images import --snapshotter soci --discard-unpacked-layers=false --local {PAUSE_TAR}"
            files.append(NodeFile(KUBELET_PAUSE_DROPIN_PATH, _ini({"Service": [("ExecStartPre", import_cmd)]})))
    docker: dict[str, Any] = {}
    helper = spec.credential(CredentialKind.ECR_CREDENTIAL_HELPER)
    if isinstance(helper, EcrCredentialHelper):
        docker["credHelpers"] = {h: "ecr-login" for h in _ecr_hosts(helper, cluster)}
    if spec.credential(CredentialKind.STATIC) is not None:
        docker.setdefault("auths", {})
    if docker:
        note = "static registry credentials are merged into 'auths' at boot from Secrets Manager" if "auths" in docker else ""
        files.append(NodeFile(DOCKER_CONFIG_PATH, json.dumps(docker, sort_keys=True, separators=(",", ":")) + "\n", 0o600, note=note))
    if spec.credential(CredentialKind.KUBERNETES_SECRETS) is not None:
        files.append(NodeFile(SOCI_KUBECONFIG_PATH, _kubeconfig(cluster), 0o600, note="the service-account token is added at boot from Secrets Manager"))
    return files


@functools.lru_cache(maxsize=64)
def _effective_containerd(profile: NodeProfile, root: str) -> str:
    """nodeadm's base for this containerd with our fragment merged (pure; cached: tomlkit is slow)."""
    return containerd.merge(containerd.base_config(profile), containerd.soci_fragment(profile, root))


def _ini(sections: dict[str, list[tuple[str, str]]]) -> str:
    out: list[str] = []
    for name, items in sections.items():
        out.append(f"[{name}]")
        out += [f"{k}={v}" for k, v in items]
    return "\n".join(out) + "\n"


def _service_unit(binary: str, root: str) -> str:
    return (
        _ini(
            {
                "Unit": [
                    ("Description", "SOCI snapshotter (containerd proxy snapshotter)"),
                    ("Documentation", "https://github.com/awslabs/soci-snapshotter"),
                    ("After", "network-online.target"),
                    ("Wants", "network-online.target"),
                    ("Before", "containerd.service"),
                ],
                "Service": [
                    ("Type", "notify"),
                    ("Environment", "HOME=/root DOCKER_CONFIG=/root/.docker"),
                    ("ExecStart", f"{binary} --address fd:// --config {SOCI_CONFIG_PATH} --root {root}"),
                    ("Restart", "always"),
                    ("RestartSec", "5"),
                ],
                "Install": [("WantedBy", "multi-user.target")],
            }
        )
        .replace("[Service]", "\n[Service]")
        .replace("[Install]", "\n[Install]")
    )


def _socket_unit() -> str:
    return _ini(
        {
            "Unit": [("Description", "SOCI snapshotter socket")],
            "Socket": [("ListenStream", SOCI_SOCKET), ("SocketMode", "0660")],
            "Install": [("WantedBy", "sockets.target")],
        }
    )


def _kubeconfig(cluster: ClusterInfo) -> str:
    """kubeconfig for SOCI's kubeconfig keychain, as JSON (valid YAML); the token is added at boot."""
    cfg = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster.name, "cluster": {"server": cluster.endpoint, "certificate-authority-data": cluster.certificate_authority}}],
        "users": [{"name": "soci-snapshotter", "user": {"token": ""}}],
        "contexts": [{"name": "soci", "context": {"cluster": cluster.name, "user": "soci-snapshotter"}}],
        "current-context": "soci",
    }
    return json.dumps(cfg, indent=2) + "\n"


def _lib_blocks() -> dict[str, str]:
    blocks: dict[str, list[str]] = {}
    current = None
    for line in resources.files(__package__).joinpath("templates/lib.sh").read_text().splitlines():
        if line.startswith("#@ "):
            current = blocks.setdefault(line[3:].strip(), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(body) for name, body in blocks.items()}


_LIB = _lib_blocks()


def _heredoc_delimiter(content: str) -> str:
    n = 0
    while f"EOF{n or ''}" in content:
        n += 1
    return f"EOF{n or ''}"


def boot_script(spec: NodeGroupSpec, profile: NodeProfile, cluster: ClusterInfo, secrets: Secrets, files: list[NodeFile]) -> str:
    """The ``text/x-shellscript`` part. cloud-init runs it in cloud-final: after nodeadm's config
    phase wrote containerd/kubelet config, before nodeadm's run phase starts containerd and kubelet."""
    q = shlex.quote
    source = spec.soci_source
    src = f"release {source.version}" if isinstance(source, UpstreamRelease) else "AMI package"
    static = [c for c in spec.credentials if isinstance(c, StaticCredentials)]
    kube = spec.credential(CredentialKind.KUBERNETES_SECRETS) is not None
    blocks = ["core"]
    blocks += ["install"] if isinstance(source, UpstreamRelease) else []
    blocks += ["secret"] if static or kube else []
    blocks += ["auth"] if static else []
    blocks += ["token"] if kube else []
    blocks += ["start"]
    lines = [
        "#!/bin/bash",
        *(_LIB[b] for b in blocks),
        *([f"REGION={q(cluster.region)}"] if "secret" in blocks else []),
        f"SOCI_SOCKET={q(SOCI_SOCKET)}",
        f'log "node group {spec.name}: SOCI {spec.pull_mode.value}, from {src}, containerd {profile.containerd}"',
    ]
    if isinstance(source, UpstreamRelease):
        cases = " ".join(f"{arch}) echo {q(digest)} ;;" for arch, digest in sorted(source.sha256.items()))
        lines.append(f'sha256_pinned() {{ case "$1" in {cases} *) echo "" ;; esac; }}'.replace("in  *)", "in *)"))
        lines.append(f"install_soci {q(source.version)} {q(source.url_base)} {RELEASE_BINARY}")
    elif not spec.uses_fast_image_pull:
        lines.append(f'[ -x {AMI_BINARY} ] || fail "no SOCI in this AMI"')
    if spec.credential(CredentialKind.ECR_CREDENTIAL_HELPER) is not None:
        lines.append('command -v docker-credential-ecr-login >/dev/null || dnf install -y -q amazon-ecr-credential-helper || fail "no ECR credential helper"')
    for f in files:
        delim = _heredoc_delimiter(f.content)
        lines.append(f"put {f.path} {f.mode:04o} <<'{delim}'")
        lines.append(f.content.rstrip("\n"))
        lines.append(delim)
    for cred in spec.credentials:
        if isinstance(cred, StaticCredentials):
            arn = secrets.static.get(cred.registry)
            if not arn:
                raise SpecError("credentials", f"no Secrets Manager secret for static credentials of {cred.registry}")
            lines.append(f"add_auth {q(cred.registry)} {q(arn)}")
        elif cred.kind is CredentialKind.KUBERNETES_SECRETS:
            if not secrets.kubeconfig_token:
                raise SpecError("credentials", "no Secrets Manager secret for the kubernetes-secrets token")
            lines.append(f"add_token {SOCI_KUBECONFIG_PATH} {q(secrets.kubeconfig_token)}")
    lines.append("start_soci")
    return "\n".join(lines) + "\n"


def profile_json(spec: NodeGroupSpec, profile: NodeProfile) -> dict[str, Any]:
    source = spec.soci_source
    return {
        "nodeGroup": spec.name,
        "os": profile.os.value,
        "amiRelease": profile.release,
        "amiId": profile.ami_id,
        "ssmParameter": profile.ssm_parameter,
        "variant": profile.variant,
        "kubernetesVersion": profile.kubernetes_version,
        "arch": profile.arch.value,
        "containerdVersion": profile.containerd,
        "containerdConfigSchema": containerd.schema_version(profile) if spec.os is OperatingSystem.AL2023 else None,
        "pullMode": spec.pull_mode.value,
        "fastImagePull": spec.uses_fast_image_pull,
        "credentialSources": [c.kind.value for c in spec.credentials],
        "soci": {
            "source": "ami-package" if isinstance(source, AmiPackage) else "release",
            "version": source.version if isinstance(source, UpstreamRelease) else None,
            "root": spec.tuning.root,
            "contentStore": spec.content_store.value if spec.os is OperatingSystem.AL2023 else None,
        },
        "pauseImageImportedIntoSoci": profile.needs_pause_import and not spec.uses_fast_image_pull and spec.os is OperatingSystem.AL2023,
        "unconfirmed": list(profile.unconfirmed),
        "labels": spec.node_labels,
        "taints": [t.flag for t in spec.taints],
    }


__all__ = ["NodeBootstrap", "NodeFile", "boot_script", "plan", "profile_json", "warnings"]
