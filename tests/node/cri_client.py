"""A minimal CRI ImageService client (what the kubelet sends), for tests: ``runtime.v1`` (or the
older ``runtime.v1alpha2``, same field numbers for these messages) over a unix socket.

Debian has no ``crictl`` package, so this speaks the CRI directly with grpcio (already a dependency
of pulumi). The messages are declared here with the field numbers of k8s.io/cri-api
``pkg/apis/runtime/v1/api.proto`` (golang-k8s-cri-api-dev 0.36); only the fields used are declared
(a protobuf reader skips the others).

Run as a separate process (``python cri_client.py SOCKET VERB ...``): grpc starts threads, and the
tests' mount namespaces need a single-threaded test process. Prints one JSON object; exit status 0
on success, 1 with ``{"error": code, "message": ...}`` on an RPC error.

    cri_client.py SOCK pull IMAGE [--user U --password P] [--timeout S] [--api v1|v1alpha2]
    cri_client.py SOCK status IMAGE
    cri_client.py SOCK list
    cri_client.py SOCK remove IMAGE
    cri_client.py SOCK runp NAME [--cgroup-parent P]     RunPodSandbox (host network), prints the id
    cri_client.py SOCK podstatus ID | stopp ID | rmp ID
    cri_client.py SOCK imagefs                           ImageFsInfo: the filesystems the kubelet's image GC watches
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_FIELDS: dict[str, list[tuple[str, int, int, str | None, bool]]] = {
    # message: [(field, number, type, message type, repeated)]
    "ImageSpec": [("image", 1, _F.TYPE_STRING, None, False)],
    "AuthConfig": [
        ("username", 1, _F.TYPE_STRING, None, False),
        ("password", 2, _F.TYPE_STRING, None, False),
        ("auth", 3, _F.TYPE_STRING, None, False),
        ("server_address", 4, _F.TYPE_STRING, None, False),
        ("identity_token", 5, _F.TYPE_STRING, None, False),
        ("registry_token", 6, _F.TYPE_STRING, None, False),
    ],
    "PullImageRequest": [("image", 1, _F.TYPE_MESSAGE, "ImageSpec", False), ("auth", 2, _F.TYPE_MESSAGE, "AuthConfig", False)],
    "PullImageResponse": [("image_ref", 1, _F.TYPE_STRING, None, False)],
    "ImageStatusRequest": [("image", 1, _F.TYPE_MESSAGE, "ImageSpec", False), ("verbose", 2, _F.TYPE_BOOL, None, False)],
    "Image": [
        ("id", 1, _F.TYPE_STRING, None, False),
        ("repo_tags", 2, _F.TYPE_STRING, None, True),
        ("repo_digests", 3, _F.TYPE_STRING, None, True),
        ("size", 4, _F.TYPE_UINT64, None, False),
    ],
    "ImageStatusResponse": [("image", 1, _F.TYPE_MESSAGE, "Image", False)],
    "ImageFilter": [("image", 1, _F.TYPE_MESSAGE, "ImageSpec", False)],
    "ListImagesRequest": [("filter", 1, _F.TYPE_MESSAGE, "ImageFilter", False)],
    "ListImagesResponse": [("images", 1, _F.TYPE_MESSAGE, "Image", True)],
    "RemoveImageRequest": [("image", 1, _F.TYPE_MESSAGE, "ImageSpec", False)],
    "RemoveImageResponse": [],
    "ImageFsInfoRequest": [],
    "FilesystemIdentifier": [("mountpoint", 1, _F.TYPE_STRING, None, False)],
    "FilesystemUsage": [("timestamp", 1, _F.TYPE_INT64, None, False), ("fs_id", 2, _F.TYPE_MESSAGE, "FilesystemIdentifier", False)],
    "ImageFsInfoResponse": [("image_filesystems", 1, _F.TYPE_MESSAGE, "FilesystemUsage", True), ("container_filesystems", 2, _F.TYPE_MESSAGE, "FilesystemUsage", True)],
    # RuntimeService (a host-network pod sandbox, as the kubelet creates one for a hostNetwork pod)
    "PodSandboxMetadata": [("name", 1, _F.TYPE_STRING, None, False), ("uid", 2, _F.TYPE_STRING, None, False), ("namespace", 3, _F.TYPE_STRING, None, False), ("attempt", 4, _F.TYPE_UINT32, None, False)],
    "NamespaceOption": [("network", 1, _F.TYPE_INT32, None, False), ("pid", 2, _F.TYPE_INT32, None, False), ("ipc", 3, _F.TYPE_INT32, None, False)],
    "LinuxSandboxSecurityContext": [("namespace_options", 1, _F.TYPE_MESSAGE, "NamespaceOption", False)],
    "LinuxPodSandboxConfig": [("cgroup_parent", 1, _F.TYPE_STRING, None, False), ("security_context", 2, _F.TYPE_MESSAGE, "LinuxSandboxSecurityContext", False)],
    "PodSandboxConfig": [
        ("metadata", 1, _F.TYPE_MESSAGE, "PodSandboxMetadata", False),
        ("hostname", 2, _F.TYPE_STRING, None, False),
        ("log_directory", 3, _F.TYPE_STRING, None, False),
        ("linux", 8, _F.TYPE_MESSAGE, "LinuxPodSandboxConfig", False),
    ],
    "RunPodSandboxRequest": [("config", 1, _F.TYPE_MESSAGE, "PodSandboxConfig", False), ("runtime_handler", 2, _F.TYPE_STRING, None, False)],
    "RunPodSandboxResponse": [("pod_sandbox_id", 1, _F.TYPE_STRING, None, False)],
    "PodSandboxStatusRequest": [("pod_sandbox_id", 1, _F.TYPE_STRING, None, False), ("verbose", 2, _F.TYPE_BOOL, None, False)],
    "PodSandboxStatus": [("id", 1, _F.TYPE_STRING, None, False), ("state", 3, _F.TYPE_INT32, None, False)],
    "PodSandboxStatusResponse": [("status", 1, _F.TYPE_MESSAGE, "PodSandboxStatus", False)],
    "StopPodSandboxRequest": [("pod_sandbox_id", 1, _F.TYPE_STRING, None, False)],
    "StopPodSandboxResponse": [],
    "RemovePodSandboxRequest": [("pod_sandbox_id", 1, _F.TYPE_STRING, None, False)],
    "RemovePodSandboxResponse": [],
}
NODE_NETWORK = 2
"""NamespaceMode NODE: the sandbox shares the host's network namespace (no CNI needed)."""


def _messages(api: str) -> dict[str, Any]:
    fd = descriptor_pb2.FileDescriptorProto(name=f"soci_eks_test_cri_{api}.proto", package=f"runtime.{api}", syntax="proto3")
    for name, fields in _FIELDS.items():
        m = fd.message_type.add(name=name)
        for fname, number, ftype, mtype, repeated in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL)
            if mtype:
                f.type_name = f".runtime.{api}.{mtype}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"runtime.{api}.{name}")) for name in _FIELDS}


def main(argv: list[str]) -> int:
    import grpc  # imported here: the module is also imported (for its docstring/paths) by tests

    p = argparse.ArgumentParser()
    p.add_argument("socket")
    p.add_argument("verb", choices=["pull", "status", "list", "remove", "runp", "podstatus", "stopp", "rmp", "imagefs"])
    p.add_argument("--cgroup-parent", default="")
    p.add_argument("--log-directory", default="")
    p.add_argument("image", nargs="?")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--api", choices=["v1", "v1alpha2"], default="v1", help="CRI API version (soci 0.4.1's proxy serves only v1alpha2)")
    a = p.parse_args(argv)
    M = _messages(a.api)  # noqa: N806
    channel = grpc.insecure_channel(f"unix://{a.socket}")

    def call(method: str, req: Any, resp: str, service: str = "ImageService") -> Any:
        rpc = channel.unary_unary(f"/runtime.{a.api}.{service}/{method}", request_serializer=lambda m: m.SerializeToString(), response_deserializer=M[resp].FromString)
        return rpc(req, timeout=a.timeout)

    try:
        if a.verb == "pull":
            req = M["PullImageRequest"](image=M["ImageSpec"](image=a.image))
            if a.user:
                req.auth.CopyFrom(M["AuthConfig"](username=a.user, password=a.password or ""))
            out: dict[str, Any] = {"image_ref": call("PullImage", req, "PullImageResponse").image_ref}
        elif a.verb == "status":
            r = call("ImageStatus", M["ImageStatusRequest"](image=M["ImageSpec"](image=a.image)), "ImageStatusResponse")
            out = {"image": _image(r.image) if r.HasField("image") else None}
        elif a.verb == "list":
            r = call("ListImages", M["ListImagesRequest"](), "ListImagesResponse")
            out = {"images": [_image(i) for i in r.images]}
        elif a.verb == "remove":
            call("RemoveImage", M["RemoveImageRequest"](image=M["ImageSpec"](image=a.image)), "RemoveImageResponse")
            out = {}
        elif a.verb == "imagefs":
            r = call("ImageFsInfo", M["ImageFsInfoRequest"](), "ImageFsInfoResponse")
            out = {"image_filesystems": [f.fs_id.mountpoint for f in r.image_filesystems], "container_filesystems": [f.fs_id.mountpoint for f in r.container_filesystems]}
        elif a.verb == "runp":
            cfg = M["PodSandboxConfig"](
                metadata=M["PodSandboxMetadata"](name=a.image, uid=f"uid-{a.image}", namespace="default", attempt=0),
                log_directory=a.log_directory,
                linux=M["LinuxPodSandboxConfig"](cgroup_parent=a.cgroup_parent, security_context=M["LinuxSandboxSecurityContext"](namespace_options=M["NamespaceOption"](network=NODE_NETWORK))),
            )
            r = call("RunPodSandbox", M["RunPodSandboxRequest"](config=cfg), "RunPodSandboxResponse", "RuntimeService")
            out = {"pod_sandbox_id": r.pod_sandbox_id}
        elif a.verb == "podstatus":
            r = call("PodSandboxStatus", M["PodSandboxStatusRequest"](pod_sandbox_id=a.image), "PodSandboxStatusResponse", "RuntimeService")
            out = {"id": r.status.id, "state": r.status.state}
        elif a.verb == "stopp":
            call("StopPodSandbox", M["StopPodSandboxRequest"](pod_sandbox_id=a.image), "StopPodSandboxResponse", "RuntimeService")
            out = {}
        else:
            call("RemovePodSandbox", M["RemovePodSandboxRequest"](pod_sandbox_id=a.image), "RemovePodSandboxResponse", "RuntimeService")
            out = {}
    except grpc.RpcError as e:
        print(json.dumps({"error": e.code().name, "message": e.details()}))
        return 1
    finally:
        channel.close()
    print(json.dumps(out))
    return 0


def _image(i: Any) -> dict[str, Any]:
    return {"id": i.id, "repo_tags": list(i.repo_tags), "repo_digests": list(i.repo_digests), "size": i.size}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
