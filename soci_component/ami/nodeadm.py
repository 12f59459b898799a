"""What fills nodeadm's base containerd config in one AL2023 release: the catalogue's ``nodeadm`` facts
read from the release's own template and the Go code that fills it (``tools/catalogue``'s sync).

nodeadm renders ``nodeadm/internal/containerd/config.template.toml`` (schema 2) or
``config2.template.toml`` (schema 3, containerd 2.x) with ``text/template`` and merges the NodeConfig's
``containerd.config`` over it. The templates' keys are the same in every catalogued release; what
differs per release is what fills them, so that is what a row keeps (the sync checks, at every
release tag, that the package's renderer gives what the release's template gives for these facts):

- ``configTemplates``: the schemas nodeadm has a template for (``[2]`` until containerd 2.x support);
- ``sandboxImage``: ``cfg.Status.Defaults.SandboxImage`` as ``nodeadm init`` sets it — a literal
  (``localhost/kubernetes/pause`` from v20241115, ``…:latest`` from v20260625), or before v20241115 a
  repository of the EKS ECR registry of the node's region (``{"eksRegistry": "eks/pause:3.5"}``);
- ``enableCdiFrom``: the Kubernetes version from which ``enable_cdi = true`` (None: no such key);
- ``runtimes``: runtime name -> binary, the default first; None when the template names ``runc``
  itself and sets no ``BinaryName`` (before v20240904).

Pure: no pulumi, no network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["EKS_REGISTRY", "NodeadmContainerd", "containerd_from_row", "containerd_row"]

EKS_REGISTRY = "<account>.dkr.ecr.<region>.<services-domain>"
"""What stands for the EKS ECR registry of the node's region in an offline config (nodeadm asks IMDS at
boot; ``internal/aws/ecr/ecr.go`` ``getRegistry``), for releases whose sandbox image lives there."""


@dataclass(frozen=True)
class NodeadmContainerd:
    """The values one release's nodeadm fills its containerd config template with (see the module doc)."""

    release: str
    """The release whose nodeadm these facts are (named in the offline config)."""
    templates: tuple[int, ...]
    """Config schemas nodeadm has a template for (2; 3 from containerd 2.x support)."""
    sandbox_image: str | None
    """``sandbox_image`` / ``pinned_images.sandbox`` exactly as nodeadm writes it, or None (see ``sandbox_eks_repository``)."""
    sandbox_eks_repository: str | None = None
    """``eks/pause:3.5``: the sandbox image is this repository of the EKS ECR registry of the node's region."""
    enable_cdi_from: str | None = None
    """``enable_cdi = true`` from this Kubernetes version on (false below); None: the template has no ``enable_cdi``."""
    runtimes: tuple[tuple[str, str], ...] | None = None
    """(runtime name, binary), the default first; None: the template hard-codes ``runc`` without ``BinaryName``."""

    @property
    def sandbox_reference(self) -> str:
        """The image reference nodeadm writes (with :data:`EKS_REGISTRY` standing for the region's registry)."""
        if self.sandbox_image is not None:
            return self.sandbox_image
        return f"{EKS_REGISTRY}/{self.sandbox_eks_repository}"

    def enable_cdi(self, kubernetes: str) -> bool | None:
        """``enable_cdi`` for a kubelet of this Kubernetes version (nodeadm compares the kubelet's version); None: no key."""
        if self.enable_cdi_from is None:
            return None
        return _minor(kubernetes) >= _minor(self.enable_cdi_from)

    def runtime(self, nvidia: bool) -> tuple[str, str | None]:
        """(runtime name, ``BinaryName`` or None). nvidia: the NVIDIA AMI (nodeadm's NVIDIA mixin applies)."""
        if self.runtimes is None:
            return "runc", None
        named = dict(self.runtimes)
        if nvidia and "nvidia" in named:
            return "nvidia", named["nvidia"]
        return self.runtimes[0]


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def containerd_from_row(release: str, nodeadm: Mapping[str, Any], where: str) -> NodeadmContainerd | None:
    """The facts of a row's ``nodeadm`` mapping; None when the row predates them (no ``configTemplates``).
    Raises ValueError naming ``where`` and the key."""
    if "configTemplates" not in nodeadm:
        return None
    templates = nodeadm["configTemplates"]
    if not isinstance(templates, list) or 2 not in templates or not set(templates) <= {2, 3}:
        raise ValueError(f"{where}: nodeadm.configTemplates must list the schemas 2 (always) and 3; got {templates!r}")
    sandbox = nodeadm.get("sandboxImage")
    image = repository = None
    if isinstance(sandbox, str) and sandbox:
        image = sandbox
    elif isinstance(sandbox, dict) and set(sandbox) == {"eksRegistry"} and isinstance(sandbox["eksRegistry"], str):
        repository = sandbox["eksRegistry"]
    else:
        raise ValueError(f"{where}: nodeadm.sandboxImage must be an image reference or {{\"eksRegistry\": \"<repository>:<tag>\"}}; got {sandbox!r}")
    cdi = nodeadm.get("enableCdiFrom")
    if cdi is not None and (not isinstance(cdi, str) or not cdi.startswith("1.") or not cdi[2:].isdigit()):
        raise ValueError(f"{where}: nodeadm.enableCdiFrom must be a Kubernetes minor version like '1.32' or null; got {cdi!r}")
    runtimes = nodeadm.get("runtimes")
    if runtimes is not None and (not isinstance(runtimes, dict) or not runtimes or not all(isinstance(v, str) and v.startswith("/") for v in runtimes.values())):
        raise ValueError(f"{where}: nodeadm.runtimes must map runtime names to binary paths (the default first) or be null; got {runtimes!r}")
    return NodeadmContainerd(release=release, templates=tuple(sorted(templates)), sandbox_image=image, sandbox_eks_repository=repository,
                             enable_cdi_from=cdi, runtimes=None if runtimes is None else tuple(runtimes.items()))


def containerd_row(c: NodeadmContainerd) -> dict[str, Any]:
    """The row keys of :func:`containerd_from_row`'s result (its inverse)."""
    return {
        "configTemplates": list(c.templates),
        "sandboxImage": c.sandbox_image if c.sandbox_image is not None else {"eksRegistry": c.sandbox_eks_repository},
        "enableCdiFrom": c.enable_cdi_from,
        "runtimes": None if c.runtimes is None else dict(c.runtimes),
    }
