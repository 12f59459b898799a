"""Every rendered AL2023 scenario against the real daemons (issue 6).

For each scenario of ``tests/scenarios.py`` (containerd line x pull mode x credential source x SOCI
source, plus the special cases), the renderer's ``/etc/containerd/config.toml`` runs in the real
containerd of that line and its ``/etc/soci-snapshotter-grpc/config.toml`` in the real
soci-snapshotter, on a throwaway node (``tests/support/daemons.py``). What is asserted comes from the
daemons themselves: ``containerd config dump``, ``ctr plugins ls``, the CRI plugin's own start-up
lines, and a snapshot prepared through containerd that soci has to make.

The daemons are built from their Go modules (``scripts/build-go-daemons``): containerd 1.7.27 for the
1.7 AMIs, 2.2.4 for the 2.x ones (2.1.4, 2.2.4), and the SOCI the scenario's node runs
(``tests.node.lazy.soci_key``): the pinned release (0.16.1 by default, 0.15.0 where pinned) or, for
the AMI's package, 0.15.0. SOCI ignores keys it does not know without a word, so for soci the test is
"starts, serves, and containerd reaches it through the rendered wiring"; that every rendered key is a
field SOCI knows is ``tests/node/test_lazy_e2e.py``'s test.
Bottlerocket scenarios render settings, not files: not exercised here.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from soci_component import pipeline, rules
from soci_component.ami import NodeProfile
from soci_component.errors import SpecError
from soci_component.spec import SOCI_SOCKET, AmiPin
from tests.containerd.test_harness import V2_SOCI
from tests.node.lazy import soci_key
from tests.support.daemons import Containerd, CriView, DaemonFailed, Node, Soci, containerd_daemon, cri_images
from tests.support.scenarios import PINS, SCENARIOS, al2023_scenarios

CONTAINERD_CONFIG = "/etc/containerd/config.toml"
SOCI_CONFIG = "/etc/soci-snapshotter-grpc/config.toml"
# Not laid out: with it, soci's kubeconfig keychain would dial the (fake) cluster endpoint.
SOCI_KUBECONFIG = "/etc/soci-snapshotter-grpc/kubeconfig"

# Warnings containerd 2.x gives for every rendered v3 config, and why they are accepted:
ACCEPTED_2X = (
    # disable_snapshot_annotations = false (needed for lazy loading) means CRI pulls without the
    # transfer service on >= 2.1: the documented trade-off (shared/notes/soci-snapshotter.md §3.3).
    re.compile(r"^msg=Found 'DisableSnapshotAnnotations' in CRI config which is incompatible with transfer service"),
    # the nodeadm base config's [plugins."io.containerd.cri.v1.runtime".cni] bin_dir: still honoured.
    re.compile(r"^msg=`bin_dir` is deprecated, please use `bin_dirs` instead$"),
)


def line_of(profile: NodeProfile) -> str:
    major, minor, _ = profile.containerd_version
    if major == 2:
        return "2"
    if (major, minor) == (1, 7):
        return "1.7"
    raise AssertionError(f"no real containerd for {profile.containerd}")


def check_containerd(ctd: Containerd, soci: Soci) -> None:
    """What a SOCI node's containerd must do with its config, asked of the daemon. Raises AssertionError."""
    images = cri_images(ctd.config_dump().data)
    assert (images.get("snapshotter"), images.get("disable_snapshot_annotations")) == ("soci", False), (
        f"config dump: CRI snapshotter={images.get('snapshotter')!r} disable_snapshot_annotations={images.get('disable_snapshot_annotations')!r}"
    )
    proxy = ctd.config_dump().data.get("proxy_plugins", {}).get("soci", {})
    assert proxy.get("type") == "snapshot" and proxy.get("address") == str(soci.address), f"proxy_plugins.soci = {proxy}"
    assert proxy.get("exports", {}).get("root") == str(soci.root), f"proxy_plugins.soci.exports = {proxy.get('exports')}, soci runs with --root {soci.root}"
    assert ctd.unknown_keys() == []
    complaints = [c for c in ctd.config_complaints() if not (ctd.daemon.upstream_tuple >= (2,) and any(p.search(c) for p in ACCEPTED_2X))]
    assert complaints == [], complaints
    # the running daemon
    assert ("io.containerd.snapshotter.v1", "soci", "ok") in ctd.plugin_rows()
    assert ctd.cri_view() == CriView(snapshotter="soci", image_fs_path=str(soci.root), snapshot_annotations=True)
    assert re.search(rf"^\s*root\s+{re.escape(str(soci.root))}\s*$", ctd.plugin_detail("soci"), re.M)
    mounts = ctd.probe_snapshotter("soci")
    assert f"{soci.root}/snapshotter/snapshots/" in mounts, mounts


def start_node_daemons(node: Node, containerd_config: str, soci_config: str, line: str, soci_root: str, soci: str = "soci") -> tuple[Containerd, Soci]:
    """containerd, then SOCI (the ``daemon()`` key ``soci``) as a node starts them."""
    # containerd first: with [content_store] type = "containerd" SOCI dials containerd at start
    ctd = Containerd(node, line, containerd_config, start=False)
    ctd.start()
    soci = Soci(node, soci_config, root=soci_root, key=soci)
    soci.start()
    return ctd, soci


@pytest.mark.parametrize("name", [s.name for s in al2023_scenarios()])
def test_rendered_node_runs_soci(node, name):
    scenario = SCENARIOS[name]
    rendered = scenario.render()
    files = {f.path: f.content for f in rendered.files}
    containerd_config = files.pop(CONTAINERD_CONFIG)
    soci_config = files.pop(SOCI_CONFIG)
    files.pop(SOCI_KUBECONFIG, None)
    node.install_tree(files)  # docker config (soci's HOME is the node's /root), units: inert here

    ctd, soci = start_node_daemons(node, containerd_config, soci_config, line_of(scenario.profile), scenario.spec.tuning.root, soci_key(rendered))
    assert ctd.node.socket(SOCI_SOCKET) == soci.address
    assert soci.process.running(), soci.process.log_tail()
    assert [e for e in soci.log_problems() if e.get("level") in ("error", "fatal", "panic")] == []
    check_containerd(ctd, soci)


# --------------------------------------------------------------------------- negative cases


SEED_V2 = 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\nsnapshotter = "soci"\n'
DOCUMENTED_V2 = V2_SOCI  # the documented 1.x snippet (soci-snapshotter.md §3.1), as in the harness tests


@pytest.mark.parametrize("config", [SEED_V2, DOCUMENTED_V2], ids=["seed-snippet", "documented-1.x-snippet"])
def test_v2_snippet_on_containerd2_fails_the_check(node, config):
    """The documented silent loss: the check that passes for every rendered config fails here on the
    CRI snapshotter (containerd 2.x migrated the file to v3 with overlayfs), while containerd reports
    no unknown key."""
    ctd, soci = start_node_daemons(node, config, "", "2", "/var/lib/soci-snapshotter-grpc")
    with pytest.raises(AssertionError, match="CRI snapshotter='overlayfs' disable_snapshot_annotations=True"):
        check_containerd(ctd, soci)
    assert ctd.unknown_keys() == []


def test_v3_rendering_on_containerd17_is_refused_by_containerd(node):
    v3 = SCENARIOS["c22-lazy-ecr-ami"].render().file(CONTAINERD_CONFIG).content
    assert re.search(r"^version = 3$", v3, re.M)
    ctd = Containerd(node, "1.7", v3, start=False)
    with pytest.raises(DaemonFailed, match="unsupported config version `3`"):
        ctd.start()


def test_v2_rendering_on_containerd16_reports_the_wrong_image_fs(node):
    """Why the component refuses 1.6.20: with our own (1.7) config, the real 1.6.20 takes the CRI keys
    but drops exports.root and tells the kubelet a non-existent image filesystem."""
    v2 = SCENARIOS["c17-lazy-ecr-ami"].render().file(CONTAINERD_CONFIG).content
    ctd, soci = start_node_daemons(node, v2, "", "1.6", "/var/lib/soci-snapshotter-grpc")
    with pytest.raises(AssertionError, match="exports"):
        check_containerd(ctd, soci)
    assert ctd.cri_view().image_fs_path == str(node.path("/var/lib/containerd/io.containerd.snapshotter.v1.soci"))


def test_containerd16_is_refused_before_anything_is_rendered():
    """The real below-the-fix daemon's version, stated for a raw AMI or carried by a profile: refused by
    the component itself (the rules refuse it before plan() runs: nothing is written)."""
    version = containerd_daemon("1.6").upstream  # e.g. 1.6.20
    scenario = SCENARIOS["c17-lazy-ecr-ami"]
    profile = dataclasses.replace(scenario.profile, containerd_version=containerd_daemon("1.6").upstream_tuple)
    with pytest.raises(SpecError, match=rf"containerd {re.escape(version)} .*1\.7\.16"):
        rules.check_node_group(scenario.spec, profile)
    raw = dataclasses.replace(scenario.spec, ami=AmiPin(ami_id="ami-0123456789abcdef0", containerd_version=version))
    with pytest.raises(SpecError, match=rf"containerd {re.escape(version)}") as e:
        pipeline.plan_node(raw)
    assert e.value.path.endswith("containerdVersion")


def test_every_containerd_line_of_the_matrix_has_a_real_daemon():
    lines = {line_of(s.profile) for s in al2023_scenarios()}
    assert lines == {"1.7", "2"}
    assert len(PINS) == 3  # c17, c21, c22: every pinned line is a scenario's
