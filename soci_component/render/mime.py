"""MIME multipart user data for AL2023 (nodeadm + cloud-init), and the EC2 size limit. Pure."""

from __future__ import annotations

import gzip
from dataclasses import dataclass

BOUNDARY = "//"
USER_DATA_LIMIT = 16384
"""EC2: "User data is limited to 16 KB, in raw form, before it is base64-encoded"."""

NODECONFIG = "application/node.eks.aws"
SHELL = "text/x-shellscript"


class UserDataTooLarge(ValueError):
    def __init__(self, size: int, compressed: int) -> None:
        super().__init__(
            f"user data is {size} bytes ({compressed} bytes gzipped); EC2 accepts at most {USER_DATA_LIMIT} bytes "
            "before base64. Shorten labels/taints/mirrors, or move files to an S3 object the boot script fetches."
        )
        self.size = size
        self.compressed = compressed


@dataclass(frozen=True)
class Part:
    content_type: str
    body: str


def multipart(parts: list[Part]) -> bytes:
    """A ``multipart/mixed`` document, parts in the given order (NodeConfig first, then scripts).

    nodeadm merges ``application/node.eks.aws`` parts in order; cloud-init runs the shell parts.
    Deterministic: fixed boundary, LF line ends, no dates.
    """
    if not parts:
        raise ValueError("no parts")
    lines = ["MIME-Version: 1.0", f'Content-Type: multipart/mixed; boundary="{BOUNDARY}"', ""]
    for part in parts:
        if f"--{BOUNDARY}" in part.body:
            raise ValueError("a part contains the MIME boundary")
        lines += [f"--{BOUNDARY}", f"Content-Type: {part.content_type}", ""]
        lines.append(part.body if part.body.endswith("\n") else part.body + "\n")
    lines.append(f"--{BOUNDARY}--")
    return ("\n".join(lines) + "\n").encode("ascii")


def fit(user_data: bytes) -> bytes:
    """Return user data that fits EC2's limit: as is, or gzipped whole when larger.

    nodeadm (>= v20240531), cloud-init and Bottlerocket all accept a gzipped document.
    Raises :class:`UserDataTooLarge` with the sizes when even the gzip does not fit.
    """
    if len(user_data) <= USER_DATA_LIMIT:
        return user_data
    packed = gzip.compress(user_data, compresslevel=9, mtime=0)
    if len(packed) > USER_DATA_LIMIT:
        raise UserDataTooLarge(len(user_data), len(packed))
    return packed
