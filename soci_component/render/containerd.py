"""containerd configuration: the SOCI fragment, nodeadm's base for the pinned release, and nodeadm's merge.

Pure: plain values in, TOML text out, built as data with tomlkit.
"""

from __future__ import annotations

import tomlkit
from tomlkit.container import Container
from tomlkit.items import Table

from ..ami.profile import NodeProfile
from ..spec import Variant
from .paths import SOCI_SOCKET

CRI_V2 = "io.containerd.grpc.v1.cri"
"""containerd 1.x CRI plugin (config schema version 2)."""
CRI_V3_IMAGES = "io.containerd.cri.v1.images"
"""containerd 2.x CRI image plugin (config schema version 3)."""
CRI_V3_RUNTIME = "io.containerd.cri.v1.runtime"


def schema_version(profile: NodeProfile) -> int:
    """The config schema the node's containerd reads natively: 2 for 1.x, 3 for 2.x."""
    return profile.schema_version


def soci_fragment(profile: NodeProfile, root: str) -> str:
    """The SOCI part of containerd's config, in the schema of the node's containerd.

    No ``version`` line: nodeadm merges this over its own template (``spec.containerd.config``).
    ``disable_snapshot_annotations = false`` makes containerd pass the layer annotations SOCI needs;
    ``exports.root`` lets containerd >= 1.7.16 report SOCI's root to the kubelet (image GC and
    ephemeral-storage limits, containerd#10095).
    """
    doc = tomlkit.document()
    plugins = tomlkit.table(is_super_table=True)
    cri = tomlkit.table()
    cri.add("snapshotter", "soci")
    cri.add("disable_snapshot_annotations", False)
    if schema_version(profile) == 3:
        plugins.add(CRI_V3_IMAGES, cri)
    else:
        cri_plugin = tomlkit.table(is_super_table=True)
        cri_plugin.add("containerd", cri)
        plugins.add(CRI_V2, cri_plugin)
    doc.add("plugins", plugins)

    proxy = tomlkit.table(is_super_table=True)
    soci = tomlkit.table()
    soci.add("type", "snapshot")
    soci.add("address", SOCI_SOCKET)
    exports = tomlkit.table()
    exports.add("root", root)
    soci.add("exports", exports)
    proxy.add("soci", soci)
    doc.add("proxy_plugins", proxy)
    return tomlkit.dumps(doc)


def base_config(profile: NodeProfile) -> str:
    """nodeadm's own containerd config for this node (without SOCI): its template at the pinned release,
    filled as that release's nodeadm fills it (the catalogue's ``nodeadm`` facts, :mod:`soci_component.ami.nodeadm`).

    It is what our fragment is merged over on the node. ``tools/catalogue``'s sync checks at every release
    tag that this gives what the release's ``config.template.toml`` / ``config2.template.toml`` gives
    (and that every line nodeadm's parallel-pull gate adds is one our fragment sets too).
    """
    facts = profile.containerd_config
    if facts is None:
        raise ValueError(f"no nodeadm containerd facts for {profile.release or profile.ami_id}: the catalogue has no AL2023 release with them")
    schema = schema_version(profile)
    if schema not in facts.templates:
        raise ValueError(f"nodeadm {facts.release} has no schema {schema} config template for containerd {profile.containerd}")
    # nodeadm's one runtime mixin is NVIDIA's (runtime_config_nvidia.go: the NVIDIA AMI's binary; before
    # v20250501 runtime_config.go: GPU instance families); every other AMI (neuron included) gets runc.
    runtime, binary = facts.runtime(nvidia=profile.variant is Variant.NVIDIA)
    enable_cdi = facts.enable_cdi(profile.kubernetes_version)
    own = "" if facts.release == profile.release else f", assumed for {profile.release or 'a raw AMI'} (its nodeadm was not read)"
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"nodeadm {facts.release}'s base config for containerd {profile.containerd} (schema v{schema}{own})"))
    doc.add("version", schema)
    doc.add("root", "/var/lib/containerd")
    doc.add("state", "/run/containerd")
    doc.add(tomlkit.nl())
    doc.add("grpc", tomlkit.table().add("address", "/run/containerd/containerd.sock"))

    runtime_table = tomlkit.table()
    runtime_table.add("runtime_type", "io.containerd.runc.v2")
    runtime_table.add("base_runtime_spec", "/etc/containerd/base-runtime-spec.json")
    options = tomlkit.table()
    if binary is not None:
        options.add("BinaryName", binary)
    runtime_table.add("options", options.add("SystemdCgroup", True))
    cni = tomlkit.table().add("bin_dir", "/opt/cni/bin").add("conf_dir", "/etc/cni/net.d")
    registry = tomlkit.table().add("config_path", "/etc/containerd/certs.d:/etc/docker/certs.d")

    plugins = tomlkit.table(is_super_table=True)
    if schema == 3:
        images = tomlkit.table()
        images.add("discard_unpacked_layers", True)
        images.add("pinned_images", tomlkit.table().add("sandbox", facts.sandbox_reference))
        images.add("registry", registry)
        plugins.add(CRI_V3_IMAGES, images)
        rt = tomlkit.table()
        if enable_cdi is not None:
            rt.add("enable_cdi", enable_cdi)
        containerd = tomlkit.table()
        containerd.add("default_runtime_name", runtime)
        containerd.add("runtimes", tomlkit.table(is_super_table=True).add(runtime, runtime_table))
        rt.add("containerd", containerd)
        rt.add("cni", cni)
        plugins.add(CRI_V3_RUNTIME, rt)
    else:
        cri = tomlkit.table()
        cri.add("sandbox_image", facts.sandbox_reference)
        if enable_cdi is not None:
            cri.add("enable_cdi", enable_cdi)
        containerd = tomlkit.table()
        containerd.add("default_runtime_name", runtime)
        containerd.add("discard_unpacked_layers", True)
        containerd.add("runtimes", tomlkit.table(is_super_table=True).add(runtime, runtime_table))
        cri.add("containerd", containerd)
        cri.add("registry", registry)
        cri.add("cni", cni)
        plugins.add(CRI_V2, cri)
    doc.add("plugins", plugins)
    return tomlkit.dumps(doc)


def merge(base: str, fragment: str) -> str:
    """Merge a TOML fragment over a base config with nodeadm's semantics.

    Tables merge recursively; scalars and arrays from the fragment replace the base's. Comments
    and layout of the base are kept, and keys for a table the base already has are added to that
    table (never a second header for it).
    """
    doc = tomlkit.parse(base)
    _merge_into(doc, tomlkit.parse(fragment))
    return tomlkit.dumps(doc)


def _merge_into(target: Container | Table, source: Container | Table) -> None:
    for key, value in source.items():
        existing = target.get(key)
        if isinstance(value, Table) and isinstance(existing, Table):
            _merge_into(existing, value)
        else:
            target[key] = value
