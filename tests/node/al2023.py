"""What an AL2023 EKS AMI brings to the boot, for the node in a box (``node/systemd_box.py``).

The unit files are our own text, equivalent to the AMI's as built from awslabs/amazon-eks-ami at
commit cfab22a10647 (``templates/al2023/runtime/rootfs/etc/systemd/system/``: kubelet.service,
nodeadm-config.service, nodeadm-run.service, runtime.slice, containerd.service.d/00-runtime-slice.conf)
— the commit of the only nodeadm the Go module proxy serves (scripts/build-go-daemons), so units and
program match. The SOCI package's units are those the AMI installs with ``soci-snapshotter`` from its
package (binary in /usr/bin, socket-activated).

cloud-init is not on the machine: :data:`CLOUD_FINAL_SERVICE` stands in for cloud-init's final stage
on the ordering that matters (after nodeadm's config phase, before its run phase) and does what its
``scripts_user`` module does with our user data: fetch it from IMDS (IMDSv2 token), run every
``text/x-shellscript`` part once per instance (a semaphore under /var/lib/cloud/instances/<id>/).
"""

from __future__ import annotations

import json
from typing import Any

from soci_component.spec import SOCI_SOCKET

# -- the AMI's units (amazon-eks-ami cfab22a10647, templates/al2023/runtime/rootfs) -----------------
KUBELET_SERVICE = """\
[Unit]
Description=Kubernetes Kubelet (AL2023 AMI unit)
After=containerd.service
Requires=containerd.service

[Service]
Slice=runtime.slice
EnvironmentFile=/etc/eks/kubelet/environment
ExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5
ExecStart=/usr/bin/kubelet $NODEADM_KUBELET_ARGS
Restart=on-failure
RestartForceExitStatus=SIGPIPE
RestartSec=5
KillMode=process
CPUAccounting=true
MemoryAccounting=true

[Install]
WantedBy=multi-user.target
"""

NODEADM_CONFIG_SERVICE = """\
[Unit]
Description=EKS nodeadm config phase (AL2023 AMI unit)
Before=cloud-init.service

[Service]
Type=oneshot
ExecStart=/usr/bin/nodeadm init --skip run

[Install]
WantedBy=multi-user.target
"""

NODEADM_RUN_SERVICE = """\
[Unit]
Description=EKS nodeadm run phase (AL2023 AMI unit)
After=nodeadm-config.service cloud-final.service
Requires=nodeadm-config.service

[Service]
Type=oneshot
ExecStart=/usr/bin/nodeadm init --skip config

[Install]
WantedBy=multi-user.target
"""

RUNTIME_SLICE = """\
[Unit]
Description=Kubernetes and container runtime slice (AL2023 AMI unit)
Before=slices.target
"""

CONTAINERD_RUNTIME_SLICE = "[Service]\nSlice=runtime.slice\n"

# -- the AMI's SOCI package (soci_package: binary in /usr/bin, socket-activated, Restart=no) ----------
# As v20251108 (0f5c129a, the release the c17 node groups pin) installs them:
# templates/al2023/runtime/rootfs/etc/systemd/system/soci-snapshotter.{service,socket}, and
# install-worker.sh enables the socket only. The service has no ordering against containerd of its own:
# containerd's first call on the socket starts it, or a drop-in's Requires=/After= does.
AMI_SOCI_SERVICE = """\
[Unit]
Description=SOCI Snapshotter (AMI package)

[Service]
Type=notify
ExecStart=/usr/bin/soci-snapshotter-grpc --address fd://
Restart=no

[Install]
WantedBy=multi-user.target
"""

AMI_SOCI_SOCKET = f"""\
[Unit]
Description=SOCI Snapshotter socket (AMI package)

[Socket]
ListenStream={SOCI_SOCKET}
SocketMode=0660

[Install]
WantedBy=sockets.target
"""

# -- nodeadm's parallel-pull gate, stood in for --------------------------------------------------------
# The proxy's nodeadm predates the gate (FastImagePull, v20250821). What v20251108's nodeadm does under
# it, on a node with >= 4 CPUs and >= 7 GiB (nodeadm/internal/containerd/config.go, kubelet/config.go at
# 0f5c129a), in every config phase: write its own SOCI config (embedded
# snapshotter/soci-snapshotter.config.toml), render containerd's config with the SOCI snapshotter and
# proxy plugin, and point the kubelet's imageServiceEndpoint at SOCI's socket. The box does the first two
# as ExecStartPost= of nodeadm-config.service (:data:`NODEADM_MERGE_GATE_DROPIN`), ignoring
# the size floor (this machine has 2 CPUs); the third is a NodeConfig part of the test's own.
GATE_SOCI_CONFIG_PATH = "/usr/lib/soci-eks-box/gate-soci-snapshotter.toml"
GATE_SOCI_CONFIG = """\
# nodeadm's FastImagePull SOCI config (v20251108), the same settings
[content_store]
type = "containerd"

[cri_keychain]
enable_keychain = true
image_service_path = "/run/containerd/containerd.sock"

[pull_modes.parallel_pull_unpack]
enable = true
max_concurrent_downloads = -1
max_concurrent_downloads_per_image = 20
concurrent_download_chunk_size = "16mb"
max_concurrent_unpacks = -1
max_concurrent_unpacks_per_image = 12
discard_unpacked_layers = true

[pull_modes.parallel_pull_unpack.decompress_streams.gzip]
path = "/usr/bin/unpigz"
args = ["-d", "-c"]
"""
GATE_CONTAINERD_PATH = "/usr/lib/soci-eks-box/gate-containerd.toml"
GATE_CONTAINERD = f"""\
[plugins."io.containerd.grpc.v1.cri".containerd]
snapshotter = "soci"
disable_snapshot_annotations = false

[proxy_plugins.soci]
type = "snapshot"
address = "{SOCI_SOCKET}"

[proxy_plugins.soci.exports]
root = "/var/lib/soci-snapshotter-grpc"
"""
GATE_PAUSE_CACHE_PATH = "/usr/lib/soci-eks-box/gate-pause-cache"
GATE_PAUSE_CACHE = """\
#!/bin/sh
# box: the AMI's cached pause image, unpacked into SOCI's snapshotter before nodeadm's run phase.
# v20251108's nodeadm does not pull the sandbox image (the AMI has it); the box's older one does, with
# its own ECR token straight to containerd, and under the gate that pull reaches SOCI with no
# credentials (SOCI's CRI keychain sees only the kubelet's pulls). ctr unpacks it locally instead.
set -eu
image=$(containerd config dump | sed -n 's/^ *sandbox_image = "\\(.*\\)"$/\\1/p')
region=$(echo "$image" | cut -d. -f4)
systemctl start containerd.service
password=$(aws ecr get-login-password --region "$region")
ctr -n k8s.io images pull --snapshotter soci --user "AWS:$password" "$image" >/dev/null
echo "gate-pause-cache: $image unpacked into SOCI's snapshotter"
"""
GATE_RUN_DROPIN = f"[Service]\nExecStartPre={GATE_PAUSE_CACHE_PATH}\n"
GATE_NODECONFIG = f"""\
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  kubelet:
    config:
      imageServiceEndpoint: unix://{SOCI_SOCKET}
"""


# -- cloud-init's final stage, stood in for ---------------------------------------------------------
CLOUD_FINAL_SCRIPT_PATH = "/usr/lib/soci-eks-box/cloud-final"
CLOUD_FINAL_SERVICE = f"""\
[Unit]
Description=cloud-init final stage (box stand-in: the user data's shell parts, once per instance)
# on AL2023: nodeadm-config.service (Before=cloud-init.service) -> cloud-init -> cloud-config -> cloud-final
After=nodeadm-config.service

[Service]
Type=oneshot
ExecStart={CLOUD_FINAL_SCRIPT_PATH}
RemainAfterExit=yes
TimeoutSec=0

[Install]
WantedBy=multi-user.target
"""

CLOUD_FINAL_SCRIPT = '''\
#!/usr/bin/python3
"""cloud-init scripts_user, for the box: run the user data's text/x-shellscript parts once per instance."""
import email, gzip, os, subprocess, sys, time, urllib.request

IMDS = "http://169.254.169.254"


def imds(path, token=None, method="GET", max_wait=120):
    """As cloud-init's EC2 data source waits for the metadata service (max_wait 120 s), retrying."""
    headers = {"X-aws-ec2-metadata-token": token} if token else {"X-aws-ec2-metadata-token-ttl-seconds": "21600"}
    deadline = time.monotonic() + max_wait
    while True:
        try:
            with urllib.request.urlopen(urllib.request.Request(IMDS + path, method=method, headers=headers), timeout=10) as r:
                return r.read()
        except OSError as e:
            if time.monotonic() > deadline:
                raise
            print(f"scripts_user: IMDS {path}: {e}; retrying", flush=True)
            time.sleep(1)


token = imds("/latest/api/token", method="PUT").decode()
iid = imds("/latest/meta-data/instance-id", token).decode()
user_data = imds("/latest/user-data", token)
if user_data[:2] == b"\\x1f\\x8b":
    user_data = gzip.decompress(user_data)
instance = f"/var/lib/cloud/instances/{iid}"
sem = f"{instance}/sem/config_scripts_user"
if os.path.exists(sem):
    print(f"scripts_user: already ran for instance {iid}", flush=True)
    sys.exit(0)
os.makedirs(os.path.dirname(sem), exist_ok=True)
with open(sem, "w") as f:  # cloud-init keeps the semaphore when a script fails (clear_on_fail=False)
    f.write(f"{os.getpid()}\\n")
parts = [p for p in email.message_from_bytes(user_data).walk() if p.get_content_type() == "text/x-shellscript"]
os.makedirs(f"{instance}/scripts", mode=0o700, exist_ok=True)
failed = []
for i, part in enumerate(parts):
    path = f"{instance}/scripts/part-{i + 1:03d}"
    with open(path, "wb") as f:
        f.write(part.get_payload(decode=True))
    os.chmod(path, 0o700)
    print(f"scripts_user: running {path}", flush=True)
    rc = subprocess.run([path]).returncode
    print(f"scripts_user: {path} exited {rc}", flush=True)
    if rc:
        failed.append(path)
sys.exit(1 if failed else 0)
'''


# -- nodeadm's in-process containerd config merge, for the proxy's older nodeadm ---------------------
# The only nodeadm the Go module proxy serves (cfab22a10647, Feb 2024) writes the NodeConfig's
# containerd config as an import drop-in, /etc/containerd/config.d/00-nodeadm.toml, and containerd's
# import merge replaces whole plugin sections: the AMI template's CRI section (SystemdCgroup = true,
# the EKS sandbox image, certs.d) is lost. nodeadm itself fixed that in v20240514 (#1780, "rework
# containerd config merging": internal/containerd/config.go merges the user's TOML into the template
# with mergo WithOverride and writes one config.toml). Every release in our catalogue is newer, so the
# box applies that merge after the config phase, as an ExecStartPost of nodeadm-config.service.
NODEADM_MERGE_PATH = "/usr/lib/soci-eks-box/nodeadm-merge"
BOX_CONTAINERD_PATH = "/etc/soci-eks-box/containerd.toml"
BOX_CONTAINERD = '[plugins."io.containerd.grpc.v1.cri"]\nrestrict_oom_score_adj = true\n'
"""Merged last, the box's one containerd deviation: the kubelet gives pod sandboxes oom_score_adj -998,
and lowering it needs CAP_SYS_RESOURCE, which this machine withholds (runc's init would die)."""
NODEADM_MERGE_DROPIN = f"[Service]\nExecStartPost={NODEADM_MERGE_PATH} {BOX_CONTAINERD_PATH}\n"
NODEADM_MERGE_GATE_DROPIN = (f"[Service]\nExecStartPost=/usr/bin/install -m 0644 -D {GATE_SOCI_CONFIG_PATH} /etc/soci-snapshotter-grpc/config.toml\n"
                             f"ExecStartPost={NODEADM_MERGE_PATH} {GATE_CONTAINERD_PATH} {BOX_CONTAINERD_PATH}\n")
"""In place of :data:`NODEADM_MERGE_DROPIN` on a node under the gate: the gate's stand-in (its SOCI
config, its containerd lines) then the merge."""
NODEADM_MERGE_SCRIPT = '''\
#!/usr/bin/python3
"""nodeadm >= v20240514's containerd config merge: the NodeConfig's TOML over the template, tables
merged recursively, the user's values (scalars and arrays) replacing the template's; then the
box's own fragments given as arguments, the same way."""
import json, os, re, sys, tomllib

CONFIG, DROPIN = "/etc/containerd/config.toml", "/etc/containerd/config.d/00-nodeadm.toml"


def merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            merge(dst[k], v)
        else:
            dst[k] = v


def key(k):
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    raise SystemExit(f"nodeadm-merge: cannot write {type(v).__name__} values")


def dump(table, path=()):
    out = []
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    if path and (scalars or not table):
        out.append("[" + ".".join(key(p) for p in path) + "]")
    out += [f"{key(k)} = {value(v)}" for k, v in scalars.items()]
    if out:
        out.append("")
    for k, v in table.items():
        if isinstance(v, dict):
            out += dump(v, (*path, k))
    return out


# A node group under nodeadm's parallel-pull gate has no containerd part in its NodeConfig (no drop-in).
sources = ([DROPIN] if os.path.exists(DROPIN) else []) + sys.argv[1:]
with open(CONFIG, "rb") as f:
    config = tomllib.load(f)
for path in sources:
    with open(path, "rb") as f:
        merge(config, tomllib.load(f))
with open(CONFIG + ".tmp", "w") as f:
    f.write("\\n".join(dump(config)))
os.chmod(CONFIG + ".tmp", 0o644)
os.replace(CONFIG + ".tmp", CONFIG)
if os.path.exists(DROPIN):
    os.remove(DROPIN)
print(f"nodeadm-merge: merged {' '.join(sources)} into {CONFIG}", flush=True)
'''


def imds_mock_config(user_data: bytes, *, instance_id: str, region: str, az: str, local_ipv4: str, mac: str, instance_type: str = "m5.large") -> dict[str, Any]:
    """amazon-ec2-metadata-mock's config (``-c``): the values nodeadm and the stand-in read."""
    import base64

    return {
        "metadata": {"values": {"instance-id": instance_id, "local-ipv4": local_ipv4, "mac": mac, "services-domain": "amazonaws.com", "instance-type": instance_type}},
        "dynamic": {"values": {"instance-identity-document": {
            "accountId": "111122223333", "architecture": "x86_64", "availabilityZone": az, "imageId": "ami-0123456789abcdef0",
            "instanceId": instance_id, "instanceType": instance_type, "privateIp": local_ipv4, "region": region, "version": "2017-09-30",
            "pendingTime": "2026-12-01T00:00:00Z", "devpayProductCodes": None, "marketplaceProductCodes": None, "billingProducts": None,
            "kernelId": None, "ramdiskId": None,
        }}},
        "userdata": {"values": {"userdata": base64.b64encode(user_data).decode()}},
    }


def dumps(config: dict[str, Any]) -> str:
    return json.dumps(config, indent=1)
