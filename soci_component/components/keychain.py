"""Pure values of the node components: SOCI's kubeconfig-keychain identity as Kubernetes API objects, the boot
secrets' contents and the exec kubeconfig. No pulumi import: ``tests/node/test_kube_keychain.py`` creates these very
objects in a real API server, and the component creates its Pulumi resources from the same documents."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import SpecError

__all__ = ["SOCI_SERVICE_ACCOUNT_NAMESPACE", "KeychainIdentity", "MissingToken", "exec_kubeconfig", "keychain_identity", "registry_secret_string",
           "token_from_secret_data"]

SOCI_SERVICE_ACCOUNT_NAMESPACE = "kube-system"
SERVICE_ACCOUNT_TOKEN_TYPE = "kubernetes.io/service-account-token"
SERVICE_ACCOUNT_NAME_ANNOTATION = "kubernetes.io/service-account.name"


class MissingToken(Exception):
    """The service-account token Secret has no token yet (the token controller fills it shortly after creation)."""


@dataclass(frozen=True)
class KeychainIdentity:
    """SOCI's kubeconfig-keychain identity in the cluster, as Kubernetes API objects: the component creates its Pulumi
    resources from these documents (Pulumi auto-names them: the names are passed in once known), and
    tests/node/test_kube_keychain.py creates the same documents in a real API server."""

    namespace: str
    labels: Mapping[str, str]
    role_annotations: Mapping[str, str]
    rules: tuple[Mapping[str, Any], ...]
    """The ClusterRole's rules as the API takes them (``rbac.authorization.k8s.io/v1`` PolicyRule JSON)."""

    def _meta(self, name: str, namespaced: bool = False, annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name} if name else {}
        if namespaced:
            meta["namespace"] = self.namespace
        meta["labels"] = dict(self.labels)
        if annotations:
            meta["annotations"] = dict(annotations)
        return meta

    def service_account(self, name: str = "") -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": self._meta(name, True), "automountServiceAccountToken": False}

    def cluster_role(self, name: str = "") -> dict[str, Any]:
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": self._meta(name, annotations=self.role_annotations),
                "rules": [dict(r) for r in self.rules]}

    def binding(self, *, role: str, service_account: str, name: str = "") -> dict[str, Any]:
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": self._meta(name),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": self.namespace}]}

    def token(self, *, service_account: str, name: str = "") -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Secret", "type": SERVICE_ACCOUNT_TOKEN_TYPE,
                "metadata": self._meta(name, True, {SERVICE_ACCOUNT_NAME_ANNOTATION: service_account})}

    def objects(self, *, service_account: str, role: str, binding: str, token: str) -> list[dict[str, Any]]:
        """The ServiceAccount, ClusterRole, ClusterRoleBinding and token Secret, with the names given."""
        return [self.service_account(service_account), self.cluster_role(role), self.binding(role=role, service_account=service_account, name=binding),
                self.token(service_account=service_account, name=token)]


def keychain_identity(kind: str, spec_name: str) -> KeychainIdentity:
    """The identity of ``kind`` (``node group``/``node pool``) ``spec_name``.

    SOCI 0.15's kubeconfig keychain lists and watches secrets in all namespaces with the field selector
    ``type=kubernetes.io/dockerconfigjson`` (github.com/awslabs/soci-snapshotter@v0.15.0,
    service/keychain/kubeconfig/kubeconfig.go, ``startSyncSecrets``): a cluster-wide list/watch, nothing
    else. RBAC cannot restrict by secret type, so the rule grants list/watch of all secrets; the filter is SOCI's."""
    return KeychainIdentity(
        namespace=SOCI_SERVICE_ACCOUNT_NAMESPACE,
        labels={"app.kubernetes.io/managed-by": "soci-eks", f"soci-eks/{kind.replace(' ', '-')}": spec_name},
        role_annotations={"soci-eks/purpose": "SOCI kubeconfig keychain: reads kubernetes.io/dockerconfigjson pull secrets (RBAC cannot filter by type)"},
        rules=({"apiGroups": [""], "resources": ["secrets"], "verbs": ["list", "watch"]},),
    )


def registry_secret_string(creds: Any, registry: str, path: str) -> str:
    """The Secrets Manager value for one registry: ``{"username", "password"}`` JSON. Never puts a value into a message."""
    where = "registryCredentials"
    if not isinstance(creds, Mapping) or registry not in creds:
        raise SpecError(f"{where}.{registry}", f"no credentials for {registry}, which {path or 'the node group'} lists as a static credential source; "
                                               f"pulumi config set --secret --path '{where}[\"{registry}\"].username' ... (and .password)")
    entry = creds[registry]
    if not isinstance(entry, Mapping) or not isinstance(entry.get("username"), str) or not isinstance(entry.get("password"), str):
        raise SpecError(f"{where}.{registry}", "expected a mapping with string 'username' and 'password' (values not shown)")
    extra = sorted(set(entry) - {"username", "password"})
    if extra:
        raise SpecError(f"{where}.{registry}.{extra[0]}", "unknown key; accepted: username, password")
    return json.dumps({"username": entry["username"], "password": entry["password"]})


def token_from_secret_data(data: Mapping[str, str] | None) -> str:
    token = (data or {}).get("token")
    if not token:
        raise MissingToken("the service-account token secret has no token yet; run `pulumi up` again once the token controller has filled it")
    return base64.b64decode(token).decode()


def exec_kubeconfig(cluster_name: str, endpoint: str, certificate_authority: str, region: str) -> str:
    """A kubeconfig that authenticates with ``aws eks get-token`` (the deployer's AWS identity)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": certificate_authority}}],
            "users": [{"name": "aws", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
                                                         "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"]}}}],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": "aws"}}],
            "current-context": cluster_name,
        }
    )


