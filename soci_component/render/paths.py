"""Where things live on a node: every path the renderer writes or the boot script uses, once.

The boot script gets the ones it uses as a generated ``readonly`` header (:func:`shell_header`), so
the shell and the files agree by construction.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from ..spec import DEFAULT_SOCI_ROOT, SOCI_SOCKET

__all__ = [
    "AMI_BINARY",
    "CONTAINERD_CONFIG",
    "CONTAINERD_DROPIN",
    "CONTAINERD_SOCKET",
    "DEFAULT_SOCI_ROOT",
    "DOCKER_CONFIG",
    "KUBELET_PAUSE_DROPIN",
    "PAUSE_TAR",
    "NODEADM_CONFIG_UNIT",
    "RELEASE_BINARY",
    "SOCI_CONFIG",
    "SOCI_CONFIG_OURS",
    "SOCI_KUBECONFIG",
    "SOCI_SERVICE",
    "SOCI_SERVICE_DROPIN",
    "SOCI_SOCKET",
    "SOCI_SOCKET_UNIT",
    "shell_header",
]

SOCI_CONFIG = "/etc/soci-snapshotter-grpc/config.toml"
SOCI_CONFIG_OURS = "/etc/soci-eks/soci-snapshotter-grpc.toml"
"""Our SOCI config where nodeadm never writes: with nodeadm's parallel-pull gate, SOCI_CONFIG is
nodeadm's in every config phase, and our drop-in copies this over it before each SOCI start."""
SOCI_KUBECONFIG = "/etc/soci-snapshotter-grpc/kubeconfig"
CONTAINERD_CONFIG = "/etc/containerd/config.toml"
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
DOCKER_CONFIG = "/root/.docker/config.json"
SOCI_SERVICE = "/etc/systemd/system/soci-snapshotter.service"
SOCI_SOCKET_UNIT = "/etc/systemd/system/soci-snapshotter.socket"
SOCI_SERVICE_DROPIN = "/etc/systemd/system/soci-snapshotter.service.d/10-soci-eks.conf"
CONTAINERD_DROPIN = "/etc/systemd/system/containerd.service.d/10-soci-snapshotter.conf"
KUBELET_PAUSE_DROPIN = "/etc/systemd/system/kubelet.service.d/10-soci-pause-image.conf"
RELEASE_BINARY = "/usr/local/bin/soci-snapshotter-grpc"
AMI_BINARY = "/usr/bin/soci-snapshotter-grpc"
PAUSE_TAR = "/etc/eks/pause.tar"
"""The pause image tarball the AL2023 AMI pre-caches (nodeadm's sandbox image)."""
CTR = "/usr/bin/ctr"
INSTALL = "/usr/bin/install"
NODEADM_CONFIG_UNIT = "nodeadm-config.service"
"""The AL2023 AMI's unit of nodeadm's config phase (``nodeadm init --skip run``), run on every boot."""


def shell_header(values: Mapping[str, str]) -> str:
    """``readonly NAME=value`` lines (values shell-quoted), in the given order."""
    return "".join(f"readonly {name}={shlex.quote(value)}\n" for name, value in values.items())
