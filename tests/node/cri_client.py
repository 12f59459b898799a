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
}


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
    p.add_argument("verb", choices=["pull", "status", "list", "remove"])
    p.add_argument("image", nargs="?")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--api", choices=["v1", "v1alpha2"], default="v1", help="CRI API version (soci 0.4.1's proxy serves only v1alpha2)")
    a = p.parse_args(argv)
    M = _messages(a.api)  # noqa: N806
    channel = grpc.insecure_channel(f"unix://{a.socket}")

    def call(method: str, req: Any, resp: str) -> Any:
        rpc = channel.unary_unary(f"/runtime.{a.api}.ImageService/{method}", request_serializer=lambda m: m.SerializeToString(), response_deserializer=M[resp].FromString)
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
        else:
            call("RemoveImage", M["RemoveImageRequest"](image=M["ImageSpec"](image=a.image)), "RemoveImageResponse")
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
