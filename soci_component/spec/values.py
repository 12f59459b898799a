"""Value checks shared by every spec: whole-string patterns, ranges, versions, label and tag rules.

Each check raises :class:`SpecError` with the path it is given and says what is accepted. Pure.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

from ..errors import SpecError, key, owned, short


class Checked:
    """A spec that checks its own values when it is built (``_check``, paths relative to itself). Built directly in
    Python, its errors name it (:func:`~soci_component.errors.owned`); read from a stack file or inside a component,
    they carry the full key path instead."""

    def __post_init__(self) -> None:
        with owned(self._label()):
            self._check()

    def _label(self) -> str:
        return type(self).__name__

    def _check(self) -> None:
        """The spec's own value checks."""

Version = tuple[int, int, int]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
VERSION_RE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
K8S_VERSION_RE = re.compile(r"1\.[0-9]{2}")
NAME_RE = re.compile(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?")
HOST_RE = re.compile(r"(?=.{1,253}(:|$))[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(:[0-9]{1,5})?")
ECR_HOST_RE = re.compile(r"[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z]{2}(-[a-z]+)+-[0-9]\.amazonaws\.com(\.cn)?|\{account\}\.dkr\.ecr\.\{region\}\.amazonaws\.com")
INSTANCE_TYPE_RE = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9-]+")
SIZE_RE = re.compile(r"[0-9]+(b|kb|mb|gb)")
SHA256_RE = re.compile(r"[0-9a-f]{64}")
AMI_ID_RE = re.compile(r"ami-([0-9a-f]{8}|[0-9a-f]{17})")
AL2023_RELEASE_RE = re.compile(r"v[0-9]{8}")
BOTTLEROCKET_RELEASE_RE = re.compile(r"v?([0-9]+\.[0-9]+\.[0-9]+)")
SUBNET_ID_RE = re.compile(r"subnet-([0-9a-f]{8}|[0-9a-f]{17})")
VPC_ID_RE = re.compile(r"vpc-([0-9a-f]{8}|[0-9a-f]{17})")
REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]")
CLUSTER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
K8S_GROUP_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/-]{0,252}")

INT64_MAX = 2**63 - 1


def parse_version(value: str) -> Version:
    """``"1.7.27"`` -> ``(1, 7, 27)``; raises ValueError for anything else."""
    if not isinstance(value, str) or not VERSION_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a MAJOR.MINOR.PATCH version")
    a, b, c = value.split(".")
    return int(a), int(b), int(c)


def version_text(version: Version) -> str:
    return ".".join(str(p) for p in version)


def k8s_minor(version: str) -> int:
    """``"1.33"`` -> 33."""
    return int(version.split(".")[1])


def check_text(path: str, value: object, what: str = "a string") -> str:
    """A string without control characters (a newline in a value would reach kubelet flags, shell lines, AWS names)."""
    if not isinstance(value, str):
        raise SpecError(path, f"expected {what}; got {short(value)}")
    if _CONTROL.search(value):
        raise SpecError(path, f"{short(value)} contains a control character (newline, tab ...); expected {what}")
    return value


def check_match(path: str, value: object, pattern: re.Pattern[str], what: str) -> str:
    """``value`` matches ``pattern`` as a whole (never ``re.match`` with ``$``: it accepts a trailing newline)."""
    text = check_text(path, value, what)
    if not pattern.fullmatch(text):
        raise SpecError(path, f"{short(value)} is not {what}")
    return text


def check_int(path: str, value: object, low: int, high: int, what: str = "") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SpecError(path, f"{short(value)}: expected {what or f'an integer from {low} to {high}'}")
    return value


def check_image(path: str, value: object) -> str:
    """An image reference containerd and the Docker CLI would parse (``[host[:port]/]path[:tag][@digest]``)."""
    from ..images.reference import ReferenceError, parse

    text = check_text(path, value, "an image reference such as 'registry.example.com/team/app:1.2'")
    try:
        parse(text)
    except ReferenceError as e:
        raise SpecError(path, str(e)) from None
    return text


def check_port(path: str, value: object, port: int) -> None:
    """A TCP port: 1..65535 (0 is no port a registry listens on; above 65535 no client can dial)."""
    if not 1 <= port <= 65535:
        raise SpecError(path, f"{short(value)}: port {port} is not a TCP port (1..65535)")


def check_host(path: str, value: object) -> str:
    text = check_match(path, value, HOST_RE, "a registry host such as 'registry.example.com' or 'registry.example.com:5000' (no scheme, no path)")
    if ":" in text:
        check_port(path, value, int(text.rsplit(":", 1)[1]))
    return text


def check_url_base(path: str, value: object) -> str:
    """An ``https://`` (or ``http://``) URL with a host, no credentials, no query or fragment."""
    from urllib.parse import urlsplit

    what = "a URL 'https://host/path' (no spaces or shell characters)"
    text = check_match(path, value, re.compile(r"https?://[^\s'\"$`\\]+"), what)
    try:
        u = urlsplit(text)
        port = u.port
    except ValueError:  # urllib refuses ports above 65535 (and non-numeric ones)
        raise SpecError(path, f"{short(value)} is not {what}: its port is not a TCP port (1..65535)" if ":" in u.netloc else f"{short(value)} is not {what}") from None
    if port is not None:
        check_port(path, value, port)
    if "@" in u.netloc:
        raise SpecError(path, "contains credentials ('user:password@'): they would be written into the user data, which anyone who can describe the "
                              "instance reads; serve the mirror without credentials on a private network, or pin sha256 and use an authenticated proxy")
    if not u.hostname or not HOST_RE.fullmatch(u.hostname if port is None else f"{u.hostname}:{port}"):
        raise SpecError(path, f"{short(value)} has no valid host; expected {what}")
    if u.query or u.fragment or text.endswith("?") or "#" in text:
        raise SpecError(path, f"{short(value)}: a query or fragment would break '<urlBase>/v<version>/<tarball>'; expected {what}")
    return text


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(w.capitalize() for w in rest)


_LABEL_NAME_RE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE_RE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_DNS_SUBDOMAIN_RE = re.compile(r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def check_label_key(path: str, key: object) -> str:
    """A Kubernetes qualified name: ``[prefix/]name``, prefix a DNS subdomain (<= 253), name <= 63."""
    what = "a Kubernetes label key ('name' or 'prefix/name': name <= 63 letters, digits, '-', '_', '.'; prefix a DNS subdomain), e.g. 'team' or 'example.com/tier'"
    text = check_text(path, key, what)
    prefix, _, name = text.rpartition("/")
    if not _LABEL_NAME_RE.fullmatch(name) or ("/" in text and not _DNS_SUBDOMAIN_RE.fullmatch(prefix)):
        raise SpecError(path, f"{short(key)} is not {what}")
    return text


KUBELET_LABELS = frozenset({
    "kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/arch",
    "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type", "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
})
"""Labels in the kubernetes.io / k8s.io namespaces the kubelet may set with --node-labels (k8s.io/kubelet pkg/apis/well_known_labels.go)."""
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")


def check_kubelet_label(path: str, key: str) -> None:
    """The kubelet refuses to start with --node-labels in the kubernetes.io / k8s.io namespaces, except its own set:
    the node would never join (cmd/kubelet/app/options: "unknown 'kubernetes.io' or 'k8s.io' labels")."""
    ns = key.split("/", 1)[0] if "/" in key else ""
    restricted = any(ns == d or ns.endswith("." + d) for d in ("kubernetes.io", "k8s.io"))
    allowed = key in KUBELET_LABELS or any(ns == d or ns.endswith("." + d) for d in KUBELET_LABEL_NAMESPACES)
    if restricted and not allowed:
        raise SpecError(path, f"{short(key)} is in a namespace the kubelet reserves (kubernetes.io, k8s.io): the kubelet would refuse to start and the node "
                              f"never joins; allowed there: {', '.join(sorted(KUBELET_LABELS))} and keys under {' or '.join(KUBELET_LABEL_NAMESPACES)}; "
                              "use your own prefix (example.com/role)")


def check_label_value(path: str, value: object) -> str:
    what = "a Kubernetes label value (<= 63 letters, digits, '-', '_', '.', starting and ending with a letter or digit, or empty)"
    text = check_text(path, value, what)
    if not _LABEL_VALUE_RE.fullmatch(text):
        raise SpecError(path, f"{short(value)} is not {what}")
    return text


def check_cidr(path: str, value: object) -> str:
    text = check_text(path, value, "a CIDR block such as '10.0.0.0/16'")
    try:
        ipaddress.ip_network(text)
    except ValueError:
        raise SpecError(path, f"{short(value)} is not a CIDR block (network address + prefix, e.g. '10.0.0.0/16')") from None
    return text


def check_ipv4_cidr(path: str, value: object) -> str:
    text = check_cidr(path, value)
    if ipaddress.ip_network(text).version != 4:
        raise SpecError(path, f"{short(value)} is IPv6; this component builds IPv4 clusters (SOCI node groups need an IPv4 service CIDR)")
    return text


_TAG_RE = re.compile(r"[\w\s.:/=+\-@]*")


def check_tags(path: str, tags: Mapping[str, str], reserved: int = 0) -> None:
    """AWS tag rules: keys 1-128, values 0-256 characters of letters, digits, spaces and ``_ . : / = + - @``, no ``aws:`` prefix,
    at most 50 per resource (``reserved`` of them are the component's own)."""
    if not isinstance(tags, Mapping):
        raise SpecError(path, f"expected a mapping of tag key -> value; got {short(tags)}")
    if len(tags) > 50 - reserved:
        raise SpecError(path, f"{len(tags)} tags; AWS allows 50 per resource and the component adds {reserved} of its own")
    for k, v in tags.items():
        where = key(path, k) if isinstance(k, str) else path
        check_text(where, k, "a tag key")
        check_text(where, v, "a string tag value")
        if not 1 <= len(k) <= 128 or not _TAG_RE.fullmatch(k):
            raise SpecError(where, f"{short(k)} is not an AWS tag key: 1-128 letters, digits, spaces and _ . : / = + - @")
        # "Don't use aws:, AWS:, or any upper or lowercase combination of such as a prefix for either keys or values"
        # (EC2 User Guide, tag restrictions).
        if k.lower().startswith("aws:"):
            raise SpecError(where, "tag keys starting with 'aws:' (in any letter case) are reserved for AWS")
        if isinstance(v, str) and v.lower().startswith("aws:"):
            raise SpecError(where, f"{short(v)}: tag values starting with 'aws:' (in any letter case) are reserved for AWS")
        if len(v) > 256 or not _TAG_RE.fullmatch(v):
            raise SpecError(where, f"{short(v)} is not an AWS tag value: at most 256 letters, digits, spaces and _ . : / = + - @")
