"""The real-daemon harness (tests/support/daemons.py) against real containerd 1.6/1.7/2.x, soci-snapshotter
and docker-registry, with hand-written configs (not the product's renderer).

These also pin down what the daemons themselves do with the documented SOCI snippets, so that a
later Debian upload that changes it shows up here first.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.daemons import (
    CONTAINERD_LINES,
    Containerd,
    CriView,
    DaemonFailed,
    Node,
    Registry,
    Soci,
    containerd_daemon,
    cri_images,
    daemon,
    make_tls,
    mount_namespace_id,
    mounts_under,
)

SOCI_SOCKET = "/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock"
SOCI_ROOT = "/var/lib/soci-snapshotter-grpc"

# shared/notes/soci-snapshotter.md §3.1 (containerd 1.x)
V2_SOCI = f"""
version = 2

[proxy_plugins.soci]
type = "snapshot"
address = "{SOCI_SOCKET}"
[proxy_plugins.soci.exports]
  root = "{SOCI_ROOT}"

[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "soci"
  disable_snapshot_annotations = false
"""

# the same in the v3 schema (containerd 2.x)
V3_SOCI = f"""
version = 3

[proxy_plugins.soci]
type = "snapshot"
address = "{SOCI_SOCKET}"
[proxy_plugins.soci.exports]
  root = "{SOCI_ROOT}"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "soci"
  disable_snapshot_annotations = false
"""

# the seed's minimal snippet (shared/notes/real-daemons-here.md)
V2_SEED = """
version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
snapshotter = "soci"
"""

TRANSFER_FALLBACK = "Found 'DisableSnapshotAnnotations' in CRI config which is incompatible with transfer service"
MIGRATED = "Configuration migrated from version 2"


def effective(ctd: Containerd) -> dict[str, object]:
    images = cri_images(ctd.config_dump().data)
    return {"snapshotter": images.get("snapshotter"), "disable_snapshot_annotations": images.get("disable_snapshot_annotations")}


def assert_soci_wired(ctd: Containerd, soci: Soci) -> None:
    """containerd lists soci as a loaded snapshotter exporting soci's real root, and a snapshot
    prepared through containerd is made by that soci (its mount source is under soci's root)."""
    assert ("io.containerd.snapshotter.v1", "soci", "ok") in ctd.plugin_rows()
    detail = ctd.plugin_detail("soci")
    assert re.search(rf"^\s*root\s+{re.escape(str(soci.root))}\s*$", detail, re.M), detail
    mounts = ctd.probe_snapshotter("soci")
    assert f"{soci.root}/snapshotter/snapshots/" in mounts, mounts


# --------------------------------------------------------------------------- the cache


def test_index_resolves_each_line(daemon_index):
    assert set(daemon_index) >= {"containerd-1.6", "containerd-1.7", "containerd-2", "soci", "registry", "runc"}
    assert containerd_daemon("1.6").upstream_tuple[:2] == (1, 6)
    assert containerd_daemon("1.6").upstream_tuple < (1, 6, 32), "the 1.6 case must stay below the fix"
    assert containerd_daemon("1.7").upstream_tuple[:2] == (1, 7)
    assert containerd_daemon("2").upstream_tuple[0] == 2
    for d in daemon_index.values():
        for name, path in d.bins.items():
            assert os.access(path, os.X_OK), f"{d.key}: {name} at {path}"


# --------------------------------------------------------------------------- containerd + soci


def test_containerd17_v2_config_uses_soci(node, soci, start_containerd):
    ctd = start_containerd("1.7", V2_SOCI)
    assert ctd.schema == 2
    assert effective(ctd) == {"snapshotter": "soci", "disable_snapshot_annotations": False}
    assert_soci_wired(ctd, soci)
    assert ctd.cri_view() == CriView(snapshotter="soci", image_fs_path=str(soci.root), snapshot_annotations=True)
    assert ctd.unknown_keys() == []
    assert ctd.config_complaints() == []
    assert ("io.containerd.grpc.v1", "cri", "ok") in ctd.plugin_rows()


def test_containerd2_v3_config_uses_soci(node, soci, start_containerd):
    ctd = start_containerd("2", V3_SOCI)
    assert effective(ctd) == {"snapshotter": "soci", "disable_snapshot_annotations": False}
    assert_soci_wired(ctd, soci)
    assert ctd.cri_view() == CriView(snapshotter="soci", image_fs_path=str(soci.root), snapshot_annotations=True)
    assert ctd.unknown_keys() == []
    # containerd >= 2.1 says that disable_snapshot_annotations = false means local (non-transfer) pulls
    complaints = ctd.config_complaints()
    assert len(complaints) == 1 and TRANSFER_FALLBACK in complaints[0], complaints
    assert {("io.containerd.cri.v1", "images", "ok"), ("io.containerd.grpc.v1", "cri", "ok")} <= ctd.plugin_rows()


def test_containerd2_silently_drops_seed_v2_snippet(node, start_containerd):
    """The seed's v2 snippet on containerd 2.x: migrated to v3 with overlayfs, no error, no unknown key."""
    ctd = start_containerd("2", V2_SEED)
    assert effective(ctd) == {"snapshotter": "overlayfs", "disable_snapshot_annotations": True}
    overlay_root = node.path("/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs")
    assert ctd.cri_view() == CriView(snapshotter="overlayfs", image_fs_path=str(overlay_root), snapshot_annotations=False)
    assert ctd.unknown_keys() == []  # nothing says the key was dropped...
    assert [c for c in ctd.config_complaints() if MIGRATED not in c] == []  # ...only that a migration happened
    assert ("io.containerd.grpc.v1", "cri", "ok") in ctd.plugin_rows()


def test_containerd2_drops_even_the_full_documented_v2_config(node, soci, start_containerd):
    """Upstream's 1.x snippet (proxy plugin + exports + CRI keys) fed to 2.x: the proxy plugin is
    registered, but CRI uses overlayfs. The keys migrate only when the file also has a
    [...containerd.runtimes.*] table, as a full default config does."""
    ctd = start_containerd("2", V2_SOCI)
    assert effective(ctd) == {"snapshotter": "overlayfs", "disable_snapshot_annotations": True}
    assert ("io.containerd.snapshotter.v1", "soci", "ok") in ctd.plugin_rows()
    ctd.stop()
    with_runtime = V2_SOCI + '\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n'
    assert effective(Containerd(node, "2", with_runtime, start=False)) == {"snapshotter": "soci", "disable_snapshot_annotations": False}


def test_containerd17_refuses_v3_config(node):
    ctd = Containerd(node, "1.7", V3_SOCI, start=False)
    with pytest.raises(DaemonFailed, match="unsupported config version `3`"):
        ctd.config_dump()
    with pytest.raises(DaemonFailed, match=r"exited \(status 1\)"):
        ctd.start()


def test_containerd16_below_the_fix_has_no_proxy_exports(node, soci, start_containerd):
    """1.6.20 takes the CRI keys but not [proxy_plugins.soci.exports] (added in 1.6.32 with the
    image-fs fix): the CRI plugin reports a path that does not exist as the image filesystem, which
    is what breaks kubelet image-fs stats, GC and ephemeral-storage limits (containerd#10095)."""
    ctd = start_containerd("1.6", V2_SOCI)
    assert effective(ctd) == {"snapshotter": "soci", "disable_snapshot_annotations": False}
    wrong = node.path("/var/lib/containerd/io.containerd.snapshotter.v1.soci")
    assert ctd.cri_view() == CriView(snapshotter="soci", image_fs_path=str(wrong), snapshot_annotations=True)
    assert not wrong.exists()
    assert ctd.unknown_keys() == ["not in config dump: proxy_plugins.soci.exports.root"]
    assert "root" not in ctd.plugin_detail("soci")


def test_proxy_plugin_is_listed_ok_without_soci_but_probe_fails(node, start_containerd):
    """`ctr plugins ls` cannot tell whether soci answers; the snapshot probe can."""
    ctd = start_containerd("1.7", V2_SOCI)
    assert ("io.containerd.snapshotter.v1", "soci", "ok") in ctd.plugin_rows()
    with pytest.raises(DaemonFailed, match="soci"):
        ctd.probe_snapshotter("soci", patience=0)  # nothing will ever listen: no retries


def test_unknown_keys_are_reported_on_each_line(node):
    typo = V2_SOCI.replace("disable_snapshot_annotations", "disable_snapshot_anotations")
    ctd17 = Containerd(node, "1.7", typo, start=False)
    assert ctd17.unknown_keys() == ["not in config dump: plugins.io.containerd.grpc.v1.cri.containerd.disable_snapshot_anotations"]
    typo3 = V3_SOCI.replace("disable_snapshot_annotations", "disable_snapshot_anotations")
    with Containerd(node, "2", typo3) as ctd2:
        found = ctd2.unknown_keys()
    assert "log: disable_snapshot_anotations (plugin io.containerd.cri.v1.images)" in found, found
    assert "not in config dump: plugins.io.containerd.cri.v1.images.disable_snapshot_anotations" in found, found


@pytest.mark.parametrize("line", CONTAINERD_LINES)
def test_config_paths_are_rewritten_into_the_node(node, line):
    schema = 3 if line == "2" else 2
    cri = "io.containerd.cri.v1.runtime" if schema == 3 else "io.containerd.grpc.v1.cri"
    registry = "io.containerd.cri.v1.images" if schema == 3 else "io.containerd.grpc.v1.cri"
    runtimes = f'plugins."{cri}".containerd.runtimes.runc'
    text = f"""
version = {schema}
root = "/var/lib/containerd"
[grpc]
address = "/run/containerd/containerd.sock"
[plugins."{cri}".cni]
bin_dir = "/opt/cni/bin"
conf_dir = "/etc/cni/net.d"
[plugins."{registry}".registry]
config_path = "/etc/containerd/certs.d"
[{runtimes}]
runtime_type = "io.containerd.runc.v2"
base_runtime_spec = "/etc/containerd/base-runtime-spec.json"
[{runtimes}.options]
BinaryName = "/usr/bin/runc"
"""
    with Containerd(node, line, text) as ctd:
        dump = ctd.config_dump().data
    assert dump["root"] == str(node.path("/var/lib/containerd"))
    assert dump["grpc"]["address"] == str(ctd.address) and str(ctd.address).startswith(str(node.sockdir))
    cni = dump["plugins"][cri]["cni"]
    assert (cni["bin_dir"], cni["conf_dir"]) == (str(node.path("/opt/cni/bin")), str(node.path("/etc/cni/net.d")))
    assert dump["plugins"][registry]["registry"]["config_path"] == str(node.path("/etc/containerd/certs.d"))
    rt = dump["plugins"][cri]["containerd"]["runtimes"]["runc"]
    assert rt["options"]["BinaryName"] == str(daemon("runc").bin("runc"))
    spec = Path(rt["base_runtime_spec"])
    assert spec == node.path("/etc/containerd/base-runtime-spec.json") and '"ociVersion"' in spec.read_text()


# --------------------------------------------------------------------------- the node itself

HOST_DEFAULTS = ("/run/containerd", "/run/nri", "/etc/cni", "/opt/containerd", "/run/soci-snapshotter-grpc", "/var/lib/soci-snapshotter-grpc")


def test_node_keeps_daemons_off_the_host(tmp_path):
    absent = [p for p in HOST_DEFAULTS if not os.path.exists(p)]
    outside = mount_namespace_id()
    with Node(tmp_path, hosts={"niab-registry.test": "127.0.0.1"}) as node:
        assert mount_namespace_id() != outside
        assert socket.gethostbyname("niab-registry.test") == "127.0.0.1"
        with Soci(node, "") as soci, Containerd(node, "2", V3_SOCI) as ctd:
            assert_soci_wired(ctd, soci)
            # containerd 2.x writes to its default paths whatever the config says (caught by the namespace)
            assert os.path.isdir("/run/nri")
            # SOCI 0.15 keeps its content store under --root (Debian's 0.4.1 did not: see below)
            assert (soci.root / "content").is_dir() or not os.path.isdir("/var/lib/soci-snapshotter-grpc/content")
        with Soci(node, "", key="debian-soci") as old:
            # Debian's soci 0.4.1 writes /var/lib/soci-snapshotter-grpc/content whatever --root says
            assert old.daemon.upstream == "0.4.1" and os.path.isdir("/var/lib/soci-snapshotter-grpc/content")
        assert not soci.process.running() and not ctd.process.running()
    assert mount_namespace_id() == outside
    assert [p for p in absent if os.path.exists(p)] == [], "a daemon wrote to the host"
    assert node.killed_leftovers == []
    with pytest.raises(OSError):
        socket.gethostbyname("niab-registry.test")


def test_leaving_a_node_kills_no_process_of_a_namespace_made_meanwhile(tmp_path, monkeypatch):
    """A freed mount namespace's inode number is reused at once by the next one made, so the leftover scan
    must hold the node's namespace until it is done: else it SIGKILLs whatever another test (another
    thread, or a container) unshared in between (seen: a pod sandbox of benchmarks/pod_start.py, exit 137)."""
    from tests.support import daemons

    made: list[subprocess.Popen[bytes]] = []
    listdir = os.listdir

    def scan(path: str) -> list[str]:  # the leftover scan starts: another test makes a mount namespace now
        if path == "/proc" and not made:
            made.append(subprocess.Popen(["unshare", "--mount", "sleep", "30"]))
            deadline = time.monotonic() + 5
            while mount_namespace_id(made[0].pid) == mount_namespace_id() and time.monotonic() < deadline:
                time.sleep(0.01)
        return listdir(path)

    monkeypatch.setattr(daemons.os, "listdir", scan)
    try:
        with Node(tmp_path) as node:
            pass
        assert made and node.killed_leftovers == [], f"another test's process was killed on leaving the node: {node.killed_leftovers}"
        with pytest.raises(subprocess.TimeoutExpired):
            made[0].wait(0.5)  # alive
    finally:
        for p in made:
            p.kill()
            p.wait()


def test_node_stops_daemons_when_the_test_fails(tmp_path):
    with pytest.raises(RuntimeError, match="boom"), Node(tmp_path) as node:
        soci = Soci(node, "")
        soci.start()
        ctd = Containerd(node, "1.7", V2_SOCI)
        ctd.start()
        raise RuntimeError("boom")
    assert not soci.process.running() and not ctd.process.running()
    assert mounts_under(node.root) == []


def test_soci_config_paths_are_rewritten(node):
    config = """
[cri_keychain]
enable_keychain = true
[kubeconfig_keychain]
enable_keychain = false
kubeconfig_path = "/etc/soci-snapshotter-grpc/kubeconfig"
"""
    with Soci(node, config) as soci:
        assert soci.process.running()
    rewritten = dict((k, new) for k, _, new in soci.rewrites)
    assert rewritten == {
        "cri_keychain.image_service_path": str(node.socket("/run/containerd/containerd.sock")),
        "kubeconfig_keychain.kubeconfig_path": str(node.path("/etc/soci-snapshotter-grpc/kubeconfig")),
    }
    assert soci.config_file == node.path("/etc/soci-snapshotter-grpc/config.toml")


# --------------------------------------------------------------------------- registry


def test_registry_tls_and_htpasswd_on_a_non_loopback_name(tmp_path):
    name = "niab-registry.test"
    with Node(tmp_path / "node", hosts={name: "127.0.0.1"}) as node:
        tls = make_tls(tmp_path / "tls", names=[name])
        with Registry(tmp_path / "registry", hostname=name, tls=tls, users={"soci": "s3cret"}, node=node) as reg:
            assert reg.url == f"https://{name}:{reg.port}"
            assert reg.status("/v2/") == 401
            assert reg.status("/v2/", auth=("soci", "s3cret")) == 200
            assert reg.status("/v2/", auth=("soci", "wrong")) == 401
            with socket.create_connection((name, reg.port), timeout=2):
                pass


def test_plain_registry(tmp_path):
    with Registry(tmp_path) as reg:
        assert reg.url.startswith("http://127.0.0.1:")
        assert reg.status("/v2/") == 200
    assert not reg.process.running()
