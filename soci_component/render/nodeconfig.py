"""nodeadm ``NodeConfig`` (``node.eks.aws/v1alpha1``) for an AL2023 SOCI node. Pure; YAML from data."""

from __future__ import annotations

from typing import Any

import yaml

from ..spec import SOCI_SOCKET, ClusterInfo, CredentialKind, LocalStorage, NodeGroupSpec


class _Literal(str):
    """A string dumped as a YAML literal block (keeps embedded TOML readable)."""


class _Dumper(yaml.SafeDumper):
    pass


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


_Dumper.add_representer(_Literal, _literal)


def kubelet_flags(spec: NodeGroupSpec) -> list[str]:
    """``--node-labels`` (user labels + the SOCI labels) and ``--register-with-taints``."""
    flags = ["--node-labels=" + ",".join(f"{k}={v}" for k, v in spec.node_labels.items())]
    if spec.taints:
        flags.append("--register-with-taints=" + ",".join(t.flag for t in spec.taints))
    return flags


def nodeconfig(spec: NodeGroupSpec, cluster: ClusterInfo, containerd_fragment: str | None) -> dict[str, Any]:
    """The NodeConfig as data.

    The launch template uses a custom AMI, so EKS injects nothing: ``spec.cluster`` is complete.
    ``containerd_fragment`` is None when nodeadm's ``FastImagePull`` writes the SOCI lines itself.
    """
    node_spec: dict[str, Any] = {
        "cluster": {
            "name": cluster.name,
            "apiServerEndpoint": cluster.endpoint,
            "certificateAuthority": cluster.certificate_authority,
            "cidr": cluster.service_cidr,
        },
    }
    if containerd_fragment is not None:
        node_spec["containerd"] = {"config": _Literal(containerd_fragment)}
    kubelet: dict[str, Any] = {}
    if spec.credential(CredentialKind.CRI_PROXY) is not None and not spec.uses_fast_image_pull:
        kubelet["config"] = {"imageServiceEndpoint": f"unix://{SOCI_SOCKET}"}
    kubelet["flags"] = kubelet_flags(spec)
    node_spec["kubelet"] = kubelet
    if spec.local_storage is LocalStorage.RAID0:
        node_spec["instance"] = {"localStorage": {"strategy": "RAID0"}}
    if spec.uses_fast_image_pull:
        node_spec["featureGates"] = {"FastImagePull": True}
    return {"apiVersion": "node.eks.aws/v1alpha1", "kind": "NodeConfig", "spec": node_spec}


def dump(doc: dict[str, Any]) -> str:
    return "---\n" + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)
