"""Structural tests: re-parse everything the renderer produced and check what a node relies on."""

from __future__ import annotations

import email
import gzip
import json
import shlex
import shutil
import subprocess
import tomllib
from dataclasses import replace

import pytest
import yaml

from soci_component import rules
from soci_component.errors import SpecError
from soci_component.render import Writer, containerd, mime, plan, render
from soci_component.render.paths import CONTAINERD_CONFIG as CONTAINERD_CONFIG_PATH
from soci_component.render.paths import DOCKER_CONFIG as DOCKER_CONFIG_PATH
from soci_component.render.paths import SOCI_CONFIG as SOCI_CONFIG_PATH
from soci_component.spec import (
    SOCI_LABEL,
    SOCI_SOCKET,
    AmiPin,
    CredentialKind,
    NodeGroupSpec,
    OperatingSystem,
    PullMode,
    RegistryMirror,
    SociTuning,
    UpstreamRelease,
)
from tests.support.scenarios import CLUSTER, SCENARIOS, SECRETS, al2023_scenarios
from tests.support.units import unit_values

AL = [s.name for s in al2023_scenarios()]


def dict_merge(base: dict, over: dict) -> dict:
    """The reference semantics of containerd.merge on plain dicts (nodeadm's mergo WithOverride):
    tables merge recursively, scalars and arrays from ``over`` replace."""
    out = dict(base)
    for k, v in over.items():
        out[k] = dict_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def parts(user_data: bytes) -> list[tuple[str, str]]:
    msg = email.message_from_bytes(user_data)
    assert msg.is_multipart()
    return [(p.get_content_type(), p.get_payload()) for p in msg.get_payload()]


@pytest.mark.parametrize("name", AL)
def test_mime_nodeconfig_first_then_script(name: str) -> None:
    b = SCENARIOS[name].render()
    got = parts(b.user_data)
    assert [t for t, _ in got] == ["application/node.eks.aws", "text/x-shellscript"]
    assert got[1][1].startswith("#!/bin/bash\n")
    assert b.user_data.endswith(f"--{mime.BOUNDARY}--\n".encode())


@pytest.mark.parametrize("name", AL)
def test_nodeconfig(name: str) -> None:
    s = SCENARIOS[name]
    b = s.render()
    nc = yaml.safe_load(parts(b.user_data)[0][1])
    assert nc == b.nodeconfig
    assert nc["apiVersion"] == "node.eks.aws/v1alpha1" and nc["kind"] == "NodeConfig"
    assert nc["spec"]["cluster"] == {
        "name": CLUSTER.name,
        "apiServerEndpoint": CLUSTER.endpoint,
        "certificateAuthority": CLUSTER.certificate_authority,
        "cidr": CLUSTER.service_cidr,
    }
    flags = nc["spec"]["kubelet"]["flags"]
    assert f"{SOCI_LABEL}=true" in flags[0]
    fast = s.spec.uses_fast_image_pull
    assert nc["spec"].get("featureGates") == ({s.profile.feature_gate: True} if fast else None)
    cri = s.spec.credential(CredentialKind.CRI_PROXY) is not None
    endpoint = nc["spec"]["kubelet"].get("config", {}).get("imageServiceEndpoint")
    # With FastImagePull nodeadm sets the endpoint itself; otherwise we set it exactly when the CRI proxy is used.
    assert endpoint == (f"unix://{SOCI_SOCKET}" if cri and not fast else None)
    if fast:
        assert "containerd" not in nc["spec"], "nodeadm writes the SOCI containerd lines itself with FastImagePull"
    else:
        fragment = tomllib.loads(nc["spec"]["containerd"]["config"])
        assert "version" not in fragment, "a version line would be merged into nodeadm's template"
        assert fragment["proxy_plugins"]["soci"] == {"type": "snapshot", "address": SOCI_SOCKET, "exports": {"root": s.spec.tuning.root}}
        text = nc["spec"]["containerd"]["config"]
        if s.profile.containerd_major == 1:
            assert fragment["plugins"]["io.containerd.grpc.v1.cri"]["containerd"] == {"snapshotter": "soci", "disable_snapshot_annotations": False}
            assert "io.containerd.cri.v1" not in text, "v3 keys on containerd 1.x make nodeadm fail"
        else:
            assert fragment["plugins"]["io.containerd.cri.v1.images"] == {"snapshotter": "soci", "disable_snapshot_annotations": False}
            assert "io.containerd.grpc.v1.cri" not in text, "v2 keys on containerd 2.x make nodeadm migrate (and can lose them)"


@pytest.mark.parametrize("name", AL)
def test_effective_containerd_config(name: str) -> None:
    s = SCENARIOS[name]
    b = s.render()
    eff = tomllib.loads(b.file(CONTAINERD_CONFIG_PATH).content)
    base = tomllib.loads(containerd.base_config(s.profile))
    fragment = tomllib.loads(containerd.soci_fragment(s.profile, s.spec.tuning.root))
    assert eff == dict_merge(base, fragment)
    assert eff["version"] == (2 if s.profile.containerd_major == 1 else 3)
    assert eff["proxy_plugins"]["soci"]["exports"]["root"] == s.spec.tuning.root


@pytest.mark.parametrize("name", AL)
def test_soci_config(name: str) -> None:
    s = SCENARIOS[name]
    cfg = tomllib.loads(s.render().file(SOCI_CONFIG_PATH).content)
    mode = s.spec.pull_mode
    ppu = cfg["pull_modes"]["parallel_pull_unpack"]
    assert cfg["pull_modes"]["soci_v2"]["enable"] is mode.lazy
    assert cfg["pull_modes"].get("soci_v1", {}).get("enable", False) is (mode.lazy and s.spec.tuning.v1_indexes)
    assert ppu["enable"] is (mode is PullMode.PARALLEL)
    assert ppu.get("experimental_parallel_pull_as_fallback", False) is (mode is PullMode.LAZY_WITH_PARALLEL_FALLBACK)
    if mode.parallel:  # the constraint SOCI enforces at start-up (fs/fs.go)
        assert cfg["content_store"]["type"] == "containerd" or ppu["discard_unpacked_layers"] is True
    cri = s.spec.credential(CredentialKind.CRI_PROXY) is not None
    assert cfg.get("cri_keychain", {}).get("enable_keychain", False) is cri
    assert ("image_service_path" in cfg.get("cri_keychain", {})) is cri
    kube = s.spec.credential(CredentialKind.KUBERNETES_SECRETS) is not None
    assert cfg.get("kubeconfig_keychain", {}).get("enable_keychain", False) is kube
    assert ("kubeconfig_path" in cfg.get("kubeconfig_keychain", {})) is kube
    assert cfg["snapshotter"]["min_layer_size"] == s.spec.tuning.min_layer_size


@pytest.mark.parametrize("name", AL)
def test_script_writes_exactly_the_files(name: str) -> None:
    b = SCENARIOS[name].render()
    for f in b.files:
        marker = f"put {f.path} {f.mode:04o} <<'"
        if f.writer is Writer.BOOT_SCRIPT:
            start = b.script.index(marker) + len(marker)
            delim = b.script[start : b.script.index("'", start)]
            body = b.script[b.script.index("\n", start) + 1 :]
            assert body.startswith(f.content) and body[len(f.content) :].startswith(delim + "\n")
        else:
            assert marker not in b.script


@pytest.mark.parametrize("name", AL)
def test_script_syntax(name: str) -> None:
    script = SCENARIOS[name].render().script
    subprocess.run(["bash", "-n"], input=script.encode(), check=True)


def test_scripts_shellcheck_clean(tmp_path) -> None:
    checker = shutil.which("shellcheck")
    assert checker, "shellcheck is installed by scripts/fetch-daemons (the README test command runs it)"
    paths = []
    for name in AL:
        p = tmp_path / f"{name}.sh"
        p.write_text(SCENARIOS[name].render().script)
        paths.append(str(p))
    r = subprocess.run([checker, "--severity=style", *paths], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[:4000]


def test_only_secret_references_in_user_data() -> None:
    """The renderer never receives secret values, only Secrets Manager ARNs; check what it emits."""
    for s in SCENARIOS.values():
        b = s.render()
        ud = b.raw_user_data.decode()
        static = s.spec.credential(CredentialKind.STATIC) is not None
        kube = s.spec.credential(CredentialKind.KUBERNETES_SECRETS) is not None
        assert (SECRETS.static["registry.example.com"] in ud) is static, s.name
        assert (SECRETS.kubeconfig_token in ud) is kube, s.name
        docker = next((f for f in b.files if f.path == DOCKER_CONFIG_PATH), None)
        if docker is not None:
            assert json.loads(docker.content).get("auths", {}) == {}, "static auths are fetched at boot, never rendered"


def test_pause_import_only_where_needed() -> None:
    for s in al2023_scenarios():
        dropin = "kubelet.service.d/10-soci-pause-image.conf" in "".join(s.render().paths)
        assert dropin is (s.profile.containerd_version >= (2, 2, 3) and not s.spec.uses_fast_image_pull), s.name
        assert s.plan.report.pause_image_imported_into_soci_by == (None if s.profile.containerd_version < (2, 2, 3) else "nodeadm" if s.spec.uses_fast_image_pull else "boot-script")


def test_checksum_really_verified() -> None:
    script = SCENARIOS["c22-lazy-ecr-release"].render().script
    assert "sha256sum --check --strict" in script
    pinned = SCENARIOS["c22-lazy-ecr+static-release-pinned"].render().script
    assert f"https://mirror.example.com/soci \"$SOCI_BINARY\" {'a' * 64} {'b' * 64}\n" in pinned


def test_bottlerocket_settings() -> None:
    s = SCENARIOS["bottlerocket-parallel"]
    b = s.render()
    settings = tomllib.loads(b.user_data.decode())["settings"]
    assert settings["container-runtime"] == {"snapshotter": "soci"}
    assert settings["container-runtime-plugins"]["soci-snapshotter"]["pull-mode"] == "parallel-pull-unpack"
    k8s = settings["kubernetes"]
    assert k8s["cluster-dns-ip"] == "172.20.0.10" and k8s["api-server"] == CLUSTER.endpoint
    assert k8s["node-labels"][SOCI_LABEL] == "true"
    assert k8s["node-taints"] == {"dedicated": ["soci:NoSchedule"], "gpu": [":NoExecute"]}
    raid = tomllib.loads(SCENARIOS["bottlerocket-parallel-arm64-raid0"].render().user_data.decode())["settings"]
    assert "/var/lib/soci-snapshotter" in raid["bootstrap-commands"]["000-mount-instance-storage"]["commands"][1]


# --- merge semantics -----------------------------------------------------------------------------

BASE = """\
# nodeadm base (comment kept)
version = 2

[plugins."io.containerd.grpc.v1.cri"]
sandbox_image = "pause"  # inline comment kept

[plugins."io.containerd.grpc.v1.cri".containerd]
default_runtime_name = "runc"
snapshotter = "overlayfs"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".registry]
config_path = "/etc/containerd/certs.d"
mirrors = ["a", "b"]
"""
FRAGMENT = """\
[plugins."io.containerd.grpc.v1.cri".containerd]
snapshotter = "soci"
disable_snapshot_annotations = false

[plugins."io.containerd.grpc.v1.cri".registry]
mirrors = ["c"]

[proxy_plugins.soci]
type = "snapshot"
"""


def test_merge_follows_nodeadm_semantics() -> None:
    merged = containerd.merge(BASE, FRAGMENT)
    assert tomllib.loads(merged) == dict_merge(tomllib.loads(BASE), tomllib.loads(FRAGMENT))
    got = tomllib.loads(merged)
    assert got["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["snapshotter"] == "soci"  # scalar replaced
    assert got["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["mirrors"] == ["c"]  # array replaced
    assert got["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["runc"]["runtime_type"] == "io.containerd.runc.v2"  # table kept
    assert "# nodeadm base (comment kept)" in merged and "# inline comment kept" in merged
    assert merged.count('[plugins."io.containerd.grpc.v1.cri".containerd]\n') == 1, "keys go into the existing table"


def test_merge_into_empty_and_idempotent() -> None:
    once = containerd.merge(BASE, FRAGMENT)
    assert containerd.merge(once, FRAGMENT) == once
    assert tomllib.loads(containerd.merge("", FRAGMENT)) == tomllib.loads(FRAGMENT)


# --- size limits -----------------------------------------------------------------------------------


def test_gzip_when_over_16k_and_refuse_when_still_too_big() -> None:
    s = SCENARIOS["c22-lazy-ecr-ami"]
    many = tuple(RegistryMirror(f"r{i}.example.com", tuple(f"m{i}-{j}.example.com" for j in range(8))) for i in range(40))
    big = replace(s.spec, tuning=SociTuning(mirrors=many))
    b = render(plan(big, s.profile), CLUSTER, SECRETS)
    assert len(b.raw_user_data) > mime.USER_DATA_LIMIT >= len(b.user_data)
    assert gzip.decompress(b.user_data) == b.raw_user_data
    import random

    rnd = random.Random(1)
    noisy = tuple(RegistryMirror(f"{rnd.getrandbits(64):x}.example.com", tuple(f"{rnd.getrandbits(128):x}.example.com" for _ in range(10))) for _ in range(120))
    with pytest.raises(SpecError, match=r"user data is \d+ bytes \(\d+ bytes gzipped\); EC2 accepts at most 16384"):
        render(plan(replace(s.spec, tuning=SociTuning(mirrors=noisy)), s.profile), CLUSTER, SECRETS)


def test_below_fix_containerd_refused_before_any_file() -> None:
    spec = NodeGroupSpec(name="old", kubernetes_version="1.30", ami=AmiPin(release="v20240729"), instance_types=("m7i.xlarge",), soci_source=UpstreamRelease())
    old = replace(rules.profile(spec), containerd_version=(1, 6, 20))
    with pytest.raises(SpecError, match=r"containerd 1\.6\.20 .*1\.7\.16"):
        rules.check_node_group(spec, old)


def test_os_mismatch_refused() -> None:
    s = SCENARIOS["c22-lazy-ecr-ami"]
    with pytest.raises(SpecError, match="AMI is bottlerocket"):
        rules.check_node_group(s.spec, replace(s.profile, os=OperatingSystem.BOTTLEROCKET))


def test_preview_warnings() -> None:
    lazy_cri = SCENARIOS["c22-lazy-cri-ami"].render().warnings
    assert any("never rotate" in w for w in lazy_cri)
    assert not SCENARIOS["c22-lazy-ecr-ami"].render().warnings
    slow = SCENARIOS["c22-parallel-cri-ami"].render().warnings
    assert any("250 MiB/s" in w and ">= 600 MiB/s" in w for w in slow)
    assert not SCENARIOS["c22-parallel-cri-ami-raid0"].render().warnings, "instance store: no EBS throughput warning"
    s = SCENARIOS["c22-parallel-cri-ami-raid0"]
    old = replace(s.profile, release="v20251209", soci_on_instance_store=False)
    assert any("SOCI stays on EBS" in w for w in rules.warnings(s.spec, old))


def test_default_ecr_registry_follows_account_region_and_partition() -> None:
    s = SCENARIOS["c22-lazy-ecr-ami"]
    docker = json.loads(s.render().file(DOCKER_CONFIG_PATH).content)
    assert docker == {"credHelpers": {"111122223333.dkr.ecr.us-west-2.amazonaws.com": "ecr-login"}}
    china = replace(CLUSTER, region="cn-north-1", partition="aws-cn", account_id="444455556666")
    cn = json.loads(render(s.plan, china, SECRETS).file(DOCKER_CONFIG_PATH).content)
    assert cn == {"credHelpers": {"444455556666.dkr.ecr.cn-north-1.amazonaws.com.cn": "ecr-login"}}


FAST_PULL = [n for n in AL if SCENARIOS[n].spec.uses_fast_image_pull]


@pytest.mark.parametrize("name", FAST_PULL)
def test_our_soci_config_survives_nodeadms_gate_on_every_boot(name: str, tmp_path) -> None:
    """nodeadm's parallel-pull gate writes its own SOCI config in every config phase
    (internal/containerd/config.go: ``writeSnapshotterConfig``, called from ``Configure``), and our
    shell part runs on the first boot only. Second boot, replayed on a directory: the files the script
    wrote stay, nodeadm overwrites SOCI's config, then systemd starts SOCI with our drop-ins' commands.
    SOCI must read our config, and must start only after nodeadm's config phase."""
    b = SCENARIOS[name].render()
    root = tmp_path / "node"
    for f in b.files:
        if f.writer is Writer.BOOT_SCRIPT:
            dest = root / f.path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(f.content)
    ours = b.file(SOCI_CONFIG_PATH).content
    (root / SOCI_CONFIG_PATH.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
    (root / SOCI_CONFIG_PATH.lstrip("/")).write_text("[content_store]\ntype = 'containerd'\n")  # what the gate wrote
    dropins = sorted((root / "etc/systemd/system/soci-snapshotter.service.d").glob("*.conf"))
    for d in dropins:
        text = d.read_text()
        assert "nodeadm-config.service" in " ".join(unit_values(text, "Unit", "After")), text
        for cmd in unit_values(text, "Service", "ExecStartPre"):
            argv = [a if not a.startswith("/etc/") else str(root) + a for a in shlex.split(cmd.lstrip("-"))]
            subprocess.run(argv, check=True)
    assert (root / SOCI_CONFIG_PATH.lstrip("/")).read_text() == ours, f"{name}: after a reboot SOCI starts with nodeadm's config, not ours"


@pytest.mark.parametrize("name", AL)
def test_containerd_requires_soci_on_every_al2023_node(name: str) -> None:
    """containerd's unit requires and follows SOCI's on every AL2023 node group, nodeadm's gate included
    (v20251108's nodeadm writes no such drop-in): a SOCI that cannot start keeps containerd, and with it
    the kubelet, down."""
    b = SCENARIOS[name].render()
    dropins = [f for f in b.files if f.path.startswith("/etc/systemd/system/containerd.service.d/") and f.writer is Writer.BOOT_SCRIPT]
    assert any("soci-snapshotter.service" in unit_values(f.content, "Unit", "Requires") and "soci-snapshotter.service" in unit_values(f.content, "Unit", "After")
               for f in dropins), f"{name}: {[f.path for f in dropins]}"
