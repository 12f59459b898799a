"""``plan(spec, profile) -> NodePlan``: everything a node group's nodes get, before any cluster value exists.

A plan holds the files whose content is already known, the NodeConfig or Bottlerocket settings
without the cluster section, the boot script's steps, the disk layout, the preview warnings and the
report. It applies no rule: :func:`soci_component.pipeline.plan_node` resolves the AMI and applies every
rule first (the one owner of the order), and hands the rules' warnings in. :func:`render.render.render` adds the cluster values and secret ARNs and produces the bytes.
Because nothing here needs a deployed cluster, the components compute plans (and so the report and
warnings) at construction time, and Karpenter pools use the same plan with Karpenter's own cluster part.

Pure.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from ..ami.profile import NodeProfile
from ..spec import (
    DEFAULT_SOCI_ROOT,
    CredentialKind,
    EcrCredentialHelper,
    NodeSpec,
    OperatingSystem,
    StaticCredentials,
    UpstreamRelease,
)
from . import bottlerocket, containerd, nodeconfig, paths, systemd
from .report import NodeReport, report
from .script import Auth, Install, ScriptPlan
from .soci import soci_config
from .types import BlockDevice, NodeFile, Writer

__all__ = ["BOTTLEROCKET_OS_VOLUME_GIB", "BlockDevice", "NodeFile", "NodePlan", "Writer", "docker_config_key", "plan"]

BOTTLEROCKET_OS_VOLUME_GIB = 4
"""Bottlerocket's OS volume (``/dev/xvda``; images, logs and SOCI data live on ``/dev/xvdb``).
4 GiB as Karpenter's Bottlerocket default: room for the A/B OS partitions."""


@dataclass(frozen=True)
class DockerPlan:
    """``/root/.docker/config.json``: ECR helper hosts (placeholders resolved at render) and whether static auths are added at boot."""

    ecr_registries: tuple[str, ...] = ()
    static: bool = False


@dataclass(frozen=True)
class NodePlan:
    """What one node group's nodes receive, minus the cluster values."""

    spec: NodeSpec
    profile: NodeProfile
    files: tuple[NodeFile, ...]
    """Files whose content is known now (AL2023), in the order the boot script writes them."""
    report: NodeReport
    """What the nodes run (``report.json``, the components' ``report`` output)."""
    docker: DockerPlan | None = None
    kubeconfig: bool = False
    """SOCI's kubeconfig (needs the cluster endpoint and CA) is written at boot."""
    node_spec: dict[str, Any] | None = None
    """AL2023: the NodeConfig spec without ``cluster``."""
    script: ScriptPlan | None = None
    bottlerocket: bottlerocket.Settings | None = None
    block_devices: tuple[BlockDevice, ...] = ()
    warnings: tuple[str, ...] = ()
    """What a careful operator wants to know at preview (from :func:`soci_component.rules.warnings`)."""

    @property
    def name(self) -> str:
        return self.spec.name


# Docker Hub is keyed like docker/cli does it: SOCI's docker keychain asks for "https://index.docker.io/v1/"
# when the image host is docker.io or registry-1.docker.io (service/keychain/dockerconfig/dockerconfig.go, v0.15.0).
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
DOCKER_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")


def docker_config_key(registry: str) -> str:
    """The docker config ``auths`` key under which SOCI looks up credentials for ``registry``."""
    return DOCKER_HUB_KEY if registry in DOCKER_HUB_HOSTS else registry


@functools.lru_cache(maxsize=64)
def _effective_containerd(profile: NodeProfile, root: str) -> str:
    """nodeadm's base for this containerd with our fragment merged (pure; cached: tomlkit is slow)."""
    return containerd.merge(containerd.base_config(profile), containerd.soci_fragment(profile, root))


def _service_unit(binary: str, root: str) -> str:
    return systemd.unit(
        [
            ("Unit", [("Description", "SOCI snapshotter (containerd proxy snapshotter)"), ("Documentation", "https://github.com/awslabs/soci-snapshotter"),
                      ("After", "network-online.target"), ("Wants", "network-online.target"), ("Before", "containerd.service")]),
            ("Service", [("Type", "notify"), ("Environment", "HOME=/root DOCKER_CONFIG=/root/.docker"),
                         ("ExecStart", f"{binary} --address fd:// --config {paths.SOCI_CONFIG} --root {root}"), ("Restart", "always"), ("RestartSec", "5")]),
            ("Install", [("WantedBy", "multi-user.target")]),
        ],
        blank_line_between_sections=True,
    )


def _socket_unit() -> str:
    return systemd.unit(
        [
            ("Unit", [("Description", "SOCI snapshotter socket")]),
            ("Socket", [("ListenStream", paths.SOCI_SOCKET), ("SocketMode", "0660")]),
            ("Install", [("WantedBy", "sockets.target")]),
        ]
    )


def _restore_after_nodeadm() -> str:
    """SOCI's unit, with nodeadm's parallel-pull gate: start after nodeadm's config phase, which writes
    the gate's SOCI config on every boot (internal/containerd/config.go at v20251108, commit 0f5c129a:
    ``Configure`` -> ``writeSnapshotterConfig``), and put ours in its place first. Without it our tuning
    holds on the first boot only (our shell part runs once per instance) and a reboot silently runs
    SOCI on nodeadm's settings: the node group's ``tuning`` (parallel-pull concurrency, chunk size,
    decompressor, content store, minimum layer size) gone, nothing logged."""
    return systemd.unit([
        ("Unit", [("After", paths.NODEADM_CONFIG_UNIT)]),
        ("Service", [("ExecStartPre", f"{paths.INSTALL} -m 0644 -D {paths.SOCI_CONFIG_OURS} {paths.SOCI_CONFIG}")]),
    ])


def _al2023_files(spec: NodeSpec, profile: NodeProfile) -> list[NodeFile]:
    root = spec.tuning.root
    config = soci_config(spec)
    effective = NodeFile(paths.CONTAINERD_CONFIG, _effective_containerd(profile, root), writer=Writer.NODEADM,
                         note="nodeadm's own config for this containerd with the SOCI lines merged in (base: the release's nodeadm template, as the catalogue records it)")
    requires_soci = NodeFile(paths.CONTAINERD_DROPIN, systemd.unit([("Unit", [("Requires", "soci-snapshotter.service"), ("After", "soci-snapshotter.service")])]))
    if spec.uses_fast_image_pull:
        # containerd requires SOCI here too: v20251108's nodeadm orders nothing (from amazon-eks-ami#2717
        # it writes this same drop-in, internal/containerd/sandbox_image.go), and a SOCI that cannot
        # start must keep containerd and the kubelet down, not leave a node whose every pull fails.
        return [
            NodeFile(paths.SOCI_CONFIG_OURS, config),
            NodeFile(paths.SOCI_SERVICE_DROPIN, _restore_after_nodeadm()),
            requires_soci,
            NodeFile(paths.SOCI_CONFIG, config, writer=Writer.SOCI_UNIT,
                     note=f"copied from {paths.SOCI_CONFIG_OURS} before every SOCI start, over the one nodeadm's gate writes in each config phase"),
            effective,
        ]
    files = [NodeFile(paths.SOCI_CONFIG, config), effective]
    if isinstance(spec.soci_source, UpstreamRelease):
        files += [NodeFile(paths.SOCI_SERVICE, _service_unit(paths.RELEASE_BINARY, root)), NodeFile(paths.SOCI_SOCKET_UNIT, _socket_unit())]
    elif root != DEFAULT_SOCI_ROOT:
        # The AMI's own units stay; only the root changes.
        exec_start = f"{paths.AMI_BINARY} --address fd:// --config {paths.SOCI_CONFIG} --root {root}"
        files.append(NodeFile(paths.SOCI_SERVICE_DROPIN, systemd.unit([("Service", [("ExecStart", ""), ("ExecStart", exec_start)])])))
    files.append(requires_soci)
    if profile.pause_through_soci:
        import_cmd = f"{paths.CTR} -n k8s.io images import --snapshotter soci --discard-unpacked-layers=false --local {paths.PAUSE_TAR}"
        files.append(NodeFile(paths.KUBELET_PAUSE_DROPIN, systemd.unit([("Service", [("ExecStartPre", import_cmd)])])))
    return files


def _block_devices(spec: NodeSpec) -> tuple[BlockDevice, ...]:
    d = spec.disk
    if spec.os is OperatingSystem.BOTTLEROCKET:
        return (
            BlockDevice("/dev/xvda", BOTTLEROCKET_OS_VOLUME_GIB, purpose="Bottlerocket OS (A/B partitions)"),
            BlockDevice("/dev/xvdb", d.size_gib, d.iops, d.throughput_mibps, purpose="data: images, containers, SOCI"),
        )
    return (BlockDevice("/dev/xvda", d.size_gib, d.iops, d.throughput_mibps, purpose="root: images, containers, SOCI"),)


def plan(spec: NodeSpec, profile: NodeProfile, warnings: tuple[str, ...] = ()) -> NodePlan:
    """The plan of one node group or pool whose AMI is ``profile``. Checks nothing: call it through
    :func:`soci_component.pipeline.plan_node`, which applies the rules first and hands their warnings in."""
    devices = _block_devices(spec)
    if spec.os is OperatingSystem.BOTTLEROCKET:
        return NodePlan(spec=spec, profile=profile, files=(), bottlerocket=bottlerocket.settings(spec, profile), block_devices=devices,
                        warnings=warnings, report=report(spec, profile, devices))
    files = _al2023_files(spec, profile)
    docker = None
    helper = spec.credential(CredentialKind.ECR_CREDENTIAL_HELPER)
    static = tuple(c for c in spec.creds if isinstance(c, StaticCredentials))
    if helper is not None or static:
        docker = DockerPlan(ecr_registries=helper.registries if isinstance(helper, EcrCredentialHelper) else (), static=bool(static))
    kube = spec.credential(CredentialKind.KUBERNETES_SECRETS) is not None
    fragment = None if spec.uses_fast_image_pull else containerd.soci_fragment(profile, spec.tuning.root)
    source = spec.soci_source
    src = f"release {source.version}" if isinstance(source, UpstreamRelease) else "AMI package"
    script_files = [f.path for f in files if f.writer is Writer.BOOT_SCRIPT]
    script_files += [paths.DOCKER_CONFIG] if docker else []
    script_files += [paths.SOCI_KUBECONFIG] if kube else []
    script = ScriptPlan(
        log=f"node group {spec.name}: SOCI {spec.pull_mode.value}, from {src}, containerd {profile.containerd}",
        install=Install(source.version, source.url_base, source.sha256.get("amd64", ""), source.sha256.get("arm64", "")) if isinstance(source, UpstreamRelease) else None,
        check_ami_binary=not isinstance(source, UpstreamRelease) and not spec.uses_fast_image_pull,
        ecr_helper=helper is not None,
        files=tuple(script_files),
        auths=tuple(Auth(c.registry, docker_config_key(c.registry)) for c in static),
        token=kube,
    )
    return NodePlan(spec=spec, profile=profile, files=tuple(files), docker=docker, kubeconfig=kube,
                    node_spec=nodeconfig.node_spec(spec, profile, fragment), script=script, block_devices=devices,
                    warnings=warnings, report=report(spec, profile, devices))
