"""nodeadm ``NodeConfig`` (``node.eks.aws/v1alpha1``) for an AL2023 SOCI node. Pure; YAML from data.

:func:`node_spec` is everything of ours except the cluster section (known only after deploy, and
supplied by Karpenter itself on Karpenter nodes); :func:`document` adds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from ..ami.profile import NodeProfile
from ..spec import SOCI_SOCKET, CredentialKind, LocalStorage, NodeSpec
from .types import ClusterInfo

API_VERSION = "node.eks.aws/v1alpha1"


class _Literal(str):
    """A string dumped as a YAML literal block (keeps embedded TOML readable)."""


class _Dumper(yaml.SafeDumper):
    pass


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


_Dumper.add_representer(_Literal, _literal)


def kubelet_flags(spec: NodeSpec) -> list[str]:
    """``--node-labels`` (user labels + the SOCI labels) and ``--register-with-taints``."""
    flags = ["--node-labels=" + ",".join(f"{k}={v}" for k, v in spec.node_labels.items())]
    if spec.taints:
        flags.append("--register-with-taints=" + ",".join(t.flag for t in spec.taints))
    return flags


def node_spec(spec: NodeSpec, profile: NodeProfile, containerd_fragment: str | None, *, kubelet_flags_too: bool = True) -> dict[str, Any]:
    """The NodeConfig ``spec`` without ``cluster``.

    ``containerd_fragment`` is None when nodeadm's parallel-pull gate writes the SOCI lines itself; the
    gate is the one the pinned release's nodeadm knows (``profile.feature_gate``: ``AggressiveImagePull``
    in v20250813/v20250819, ``FastImagePull`` later), because nodeadm ignores a gate it does not know.
    ``kubelet_flags_too=False`` leaves labels and taints to the provisioner (Karpenter sets them)."""
    out: dict[str, Any] = {}
    if containerd_fragment is not None:
        out["containerd"] = {"config": _Literal(containerd_fragment)}
    kubelet: dict[str, Any] = {}
    if spec.credential(CredentialKind.CRI_PROXY) is not None and not spec.uses_fast_image_pull:
        kubelet["config"] = {"imageServiceEndpoint": f"unix://{SOCI_SOCKET}"}
    if kubelet_flags_too:
        kubelet["flags"] = kubelet_flags(spec)
    if kubelet:
        out["kubelet"] = kubelet
    if spec.local_storage is LocalStorage.RAID0:
        out["instance"] = {"localStorage": {"strategy": "RAID0"}}
    if spec.uses_fast_image_pull:
        assert profile.feature_gate is not None, "rules refuse a parallel AMI-SOCI group on a release without the gate"
        out["featureGates"] = {profile.feature_gate: True}
    return out


def cluster_section(cluster: ClusterInfo) -> dict[str, str]:
    """The launch template uses a custom AMI, so EKS injects nothing: the cluster section is complete."""
    return {
        "name": cluster.name,
        "apiServerEndpoint": cluster.endpoint,
        "certificateAuthority": cluster.certificate_authority,
        "cidr": cluster.service_cidr,
    }


def document(spec_part: Mapping[str, Any], cluster: ClusterInfo | None) -> dict[str, Any]:
    node: dict[str, Any] = {"cluster": cluster_section(cluster)} if cluster is not None else {}
    node.update(spec_part)
    return {"apiVersion": API_VERSION, "kind": "NodeConfig", "spec": node}


def dump(doc: Mapping[str, Any]) -> str:
    return "---\n" + yaml.dump(dict(doc), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)
