"""The AL2023 node the boot tests share: systemd 252 runs the AMI's boot sequence in a box of its own
(``node/systemd_box.py``), and a pod starts lazily through SOCI. The tests are split by what they prove:
``test_node_boot.py`` (the boot sequence), ``test_node_boot_credentials.py``, ``test_node_boot_faults.py`` and
``test_node_boot_reboot.py``; they share one booted node (the package-scoped ``node`` fixture in ``conftest.py``).

The node is the ``c17-lazy-ecr-ami`` scenario plus static credentials for a second registry: the
AMI's SOCI package (SOCI 0.15.0 built from its module, at /usr/bin with the package's units),
containerd 1.7.27 (built, with its module's own unit), nodeadm (the one the proxy serves,
cfab22a10647) with the AMI's units of that commit, kubelet 1.33.13 and the kubelet's ECR credential
provider (both built), Debian's docker-credential-ecr-login, the AWS CLI from PyPI. The user data is
the component's, served by amazon-ec2-metadata-mock (IMDSv2 only) at 169.254.169.254 in the box's
network. On that network only: moto (ECR ``GetAuthorizationToken`` with rotating, expiring tokens;
Secrets Manager) and distribution's registry on port 443 under two ECR names, the account's (the app
images, SOCI-indexed) and EKS's (``602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5``, the
sandbox image nodeadm pulls in its run phase), with htpasswd holding the token moto hands out; and a
second registry, ``registry.example.com`` on 127.0.0.2:443, whose credentials are the Secrets Manager
secret's.

The boot, as systemd runs it: nodeadm-config.service (``nodeadm init --skip run``: containerd and
kubelet configuration from the user data's NodeConfig parts) -> cloud-final (our shell part: SOCI's
config, containerd's drop-in, the docker config, SOCI started) -> nodeadm-run.service (``--skip
config``: containerd started through systemd's D-Bus API, the sandbox image pulled with an ECR token,
the kubelet started). The kubelet then runs the static pod: its ECR credential provider gets a token
from moto, containerd pulls through SOCI, SOCI lazily loads the layers with credentials from its own
docker config (the ECR helper, from moto), and the container prints a file of its last layer. The
faults (IMDS late, SOCI not starting, SOCI killed mid-read, registry down, SOCI's root full) and what
each measured are in README's "How a node boots".

Deviations from an EC2 node (each made here):
- nodeadm predates the catalogue's releases (the proxy serves no later one): it writes the NodeConfig's
  containerd config as an import drop-in, which containerd's import merge lets replace the template's
  whole CRI section; the box merges it into config.toml as nodeadm >= v20240514 does (``node/al2023.py``);
- nodeadm's parallel-pull gate (FastImagePull) is newer than that nodeadm as well: for the parallel boot
  the box does what v20251108's nodeadm does under it in each config phase (its SOCI config, containerd's
  SOCI lines, the kubelet's image service), without its size floor, and has the sandbox image in SOCI's
  snapshotter before the run phase, as the AMI has it cached (the box's nodeadm would pull it past
  SOCI's keychain) (``node/al2023.py``);
- no cloud-init: a stand-in for its final stage (``node/al2023.py``) runs the shell part once per instance;
- AWS credentials: static placeholder keys and ``AWS_ENDPOINT_URL_ECR`` (moto) for every unit, through
  systemd's ``DefaultEnvironment`` instead of the instance profile;
- no API server: the cluster endpoint in the user data does not resolve, so the kubelet cannot register
  the node (it runs the pod from ``staticPodPath``, which a NodeConfig part of the test's adds); the pod
  uses the host network (no CNI);
- containerd's unit is its module's with ``ExecStart=/usr/bin/containerd`` (Amazon Linux's package path)
  and no ``OOMScoreAdjust``, and its CRI has ``restrict_oom_score_adj = true``: lowering an OOM score
  (containerd's -999, the sandboxes' -998, the kubelet's own -999, which it only logs) needs
  CAP_SYS_RESOURCE, which this machine withholds;
- the kernel settings the kubelet's ``protectKernelDefaults`` checks are shown to the box as EKS's AMI
  sets them (``vm.overcommit_memory=1``, ``kernel.panic=10``, ``kernel.panic_on_oops=1``): the box may
  not change the machine's;
- the kubelet is 1.33.13 where the node group pins Kubernetes 1.30 (the one kubelet the suite builds);
  without an API server the eviction manager has no node to report on;
- nodeadm's IMDS client (cfab22a10647) gives up after 3 attempts, about 4 s; the pinned releases retry
  for about a minute (amazon-eks-ami #1699, #2112), so the late-IMDS test stays inside 4 s;
- cgroup v1 (this machine's hierarchy), where AL2023 uses v2.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

import boto3
import yaml

from soci_component import pipeline
from soci_component.render import render
from soci_component.render.types import Secrets
from soci_component.spec import DEFAULT_SOCI_ROOT as SOCI_ROOT
from soci_component.spec import NodeSpec, StaticCredentials
from tests.node import al2023
from tests.node.images import FileSpec, Image, LayerSpec, RegistryClient, build
from tests.node.lazy import CRI_CLIENT, Published, add_image, publish
from tests.node.systemd_box import SystemdBox
from tests.support.daemons import Process, cache_dir, daemon, go_index_path, make_tls
from tests.support.moto_server import PLACEHOLDER_KEYS, moto_server
from tests.support.scenarios import CLUSTER, SCENARIOS

SCENARIO = "c17-lazy-ecr-ami"
ECR_HOST = f"{CLUSTER.account_id}.dkr.ecr.{CLUSTER.region}.amazonaws.com"
EKS_REGISTRY = f"602401143452.dkr.ecr.{CLUSTER.region}.amazonaws.com"
"""nodeadm's sandbox image registry for us-west-2 (internal/aws/ecr/ecr.go: GetEKSRegistry)."""
SANDBOX_REPO, SANDBOX_TAG = "eks/pause", "3.5"
TOKEN_PASSWORD = f"{CLUSTER.account_id}-auth-token"
"""What moto's GetAuthorizationToken hands out to the node's account: base64("AWS:<account>-auth-token")."""
TOKEN_TTL = 20.0
"""Seconds an ECR token lives here (ECR's: 12 hours): the kubelet keeps one for half of that (the
provider's ``cacheDuration``), SOCI's ECR helper until it expires."""
ROTATED_PASSWORD = f"{TOKEN_PASSWORD}-1"
"""The token after rotation (tests/support/moto_server.py ROTATING, generation 1)."""
STATIC_HOST, STATIC_ADDRESS, STATIC_USER = "registry.example.com", "127.0.0.2", "soci-puller"
"""The private registry of the node group's static credentials (a second registry on port 443)."""
VENV = Path(sys.prefix)
"""The AWS CLI (awscli from PyPI) the boot script's ``aws secretsmanager get-secret-value`` runs."""
INSTANCE_ID, NODE_IP, MAC = "i-0a1b2c3d4e5f60718", "10.0.0.10", "0e:49:61:0f:c3:11"
KERNEL = {"vm/overcommit_memory": "1", "kernel/panic": "10", "kernel/panic_on_oops": "1"}
MARKER = "app/marker.txt"
BINARIES = tuple(sorted({cache_dir().parent, go_index_path().parent, VENV}))
BOX_NODECONFIG = """\
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  kubelet:
    config:
      staticPodPath: /etc/kubernetes/manifests
"""
"""The test's own NodeConfig part (merged by nodeadm with the component's): the pod comes from a file."""


@dataclass
class BootedNode:
    box: SystemdBox
    pub: Published
    user_data: bytes
    imds: Process
    moto: Process
    since: int
    """The registry log's offset before the first boot (what publishing fetched is not the node's)."""
    static: Published
    static_password: str
    generation: Path
    second: tuple[str, Image]
    """An image pushed but not yet run (the rotation test's pod)."""
    third: tuple[str, Image]
    """An image pushed but not yet pulled (the registry-outage test's)."""

    stack: ExitStack | None = None
    """What stops the node's processes (closed by :meth:`close`, or when :func:`booted_node` exits)."""

    def close(self) -> None:
        """Stop the box and every process of the boot now (idempotent)."""
        if self.stack is not None:
            self.stack.close()

    def path(self, path: str) -> Path:
        """A file of the running box, from the machine (through its init's root)."""
        assert self.box.init_pid is not None
        return Path(f"/proc/{self.box.init_pid}/root{path}")

    def cri(self, verb: str, *args: str, timeout: float = 120) -> tuple[int, dict]:
        """A CRI call to the box's containerd, as the kubelet makes it."""
        sock = self.path("/run/containerd/containerd.sock")
        r = subprocess.run([sys.executable, str(CRI_CLIENT), str(sock), verb, *args, "--timeout", str(timeout)], capture_output=True, text=True, timeout=timeout + 30, check=False)
        try:
            return r.returncode, json.loads(r.stdout)
        except json.JSONDecodeError:
            return r.returncode, {"error": "client", "message": r.stderr[-2000:]}

    def journal(self, unit: str, boot: str = "0") -> str:
        return self.box.run("journalctl", "-b", boot, "-u", unit, "--no-pager", "-o", "cat", timeout=60).stdout

    def usec(self, unit: str, prop: str) -> int:
        key = f"{prop}TimestampMonotonic"
        return int(self.box.show(unit, key)[key])

    def wait_for_marker(self, count: int = 1, timeout: float = 180, pod: str = "soci-app", image: Image | None = None) -> str:
        """The pod's log once the container has printed the marker ``count`` times (once per start)."""
        want = (image or self.pub.image).file(MARKER).content().decode()
        deadline = time.monotonic() + timeout
        out = ""
        while time.monotonic() < deadline:
            out = self.box.run("sh", "-c", f"cat /var/log/pods/default_{pod}-*/app/*.log 2>/dev/null", timeout=30).stdout
            if out.count(want.strip()) >= count:
                return out
            time.sleep(1)
        raise AssertionError(f"the pod did not print its marker {count}x in {timeout:.0f}s; kubelet:\n{self.journal('kubelet')[-6000:]}")

    def start_second_pod(self) -> None:
        """The second image's static pod (once), running."""
        ref, image = self.second
        manifest = self.path("/etc/kubernetes/manifests/second.yaml")
        if not manifest.exists():
            manifest.write_text(pod_manifest("soci-second", ref))
        self.wait_for_marker(pod="soci-second", image=image)

    def timeline(self) -> list[tuple[float, str]]:
        """(seconds since systemd started, event) of the boot, from systemd's own timestamps."""
        t0 = int(self.box.run("systemctl", "show", "-p", "UserspaceTimestampMonotonic", "--value").stdout.strip())
        events = [
            ("nodeadm-config.service", "ExecMainStart", "nodeadm init --skip run starts"), ("nodeadm-config.service", "ExecMainExit", "nodeadm config phase done"),
            ("cloud-final.service", "ExecMainStart", "cloud-final: our shell part starts"), ("soci-snapshotter.service", "ActiveEnter", "SOCI ready (sd_notify)"),
            ("cloud-final.service", "ExecMainExit", "our shell part done"), ("nodeadm-run.service", "ExecMainStart", "nodeadm init --skip config starts"),
            ("containerd.service", "ActiveEnter", "containerd ready"), ("kubelet.service", "ExecMainStart", "kubelet starts"),
            ("nodeadm-run.service", "ExecMainExit", "nodeadm run phase done (sandbox image pulled)"),
        ]
        return sorted(((self.usec(u, p) - t0) / 1e6, what) for u, p, what in events)

    def fuse_mounts(self) -> list[str]:
        return [line for line in self.box.run("findmnt", "-rn", "--source", "soci", "-o", "TARGET,FSTYPE").stdout.splitlines() if "fuse" in line]


def node_spec(scenario: str = SCENARIO) -> NodeSpec:
    """The scenario's node group plus static credentials for :data:`STATIC_HOST`."""
    s = SCENARIOS[scenario]
    return replace(s.spec, credentials=(*s.spec.credentials, StaticCredentials(STATIC_HOST)))


def render_user_data(cluster_ca: bytes, static_arn: str, scenario: str = SCENARIO) -> bytes:
    """The component's user data for the scenario plus static credentials for :data:`STATIC_HOST` in
    Secrets Manager (``static_arn``), for a cluster whose CA is ``cluster_ca`` (the kubelet refuses to
    start with a CA file that holds no certificate), with the test's NodeConfig part appended."""
    spec = node_spec(scenario)
    cluster = replace(CLUSTER, certificate_authority=base64.b64encode(cluster_ca).decode())
    rendered = render(pipeline.plan_node(spec), cluster, Secrets(static={STATIC_HOST: static_arn})).raw_user_data
    assert b'boundary="//"' in rendered and rendered.count(b"\n--//--") == 1, "the rendered MIME layout changed"
    ours = [BOX_NODECONFIG, *([al2023.GATE_NODECONFIG] if spec.uses_fast_image_pull else [])]
    extra = b"".join(b"\n--//\nContent-Type: application/node.eks.aws\n\n" + part.encode() for part in ours)
    return rendered.replace(b"\n--//--", extra + b"\n--//--")


def containerd_unit(key: str = "containerd-1.7") -> str:
    """containerd's own unit (of the build ``key``) as the AMI installs it: the binary in /usr/bin, no OOMScoreAdjust."""
    unit = (daemon(key).dir / "containerd.service").read_text()
    assert "ExecStart=/usr/local/bin/containerd" in unit and "OOMScoreAdjust=-999" in unit, "containerd's own unit changed: revisit the deviations"
    return unit.replace("ExecStart=/usr/local/bin/containerd", "ExecStart=/usr/bin/containerd").replace("OOMScoreAdjust=-999\n", "")


def pod_manifest(name: str, image: str) -> str:
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
        "spec": {"hostNetwork": True, "restartPolicy": "Always",
                 "containers": [{"name": "app", "image": image, "command": ["/pause", "cat", f"/{MARKER}"]}]},
    })


SOCI_ROOT_MOUNT = "var-lib-soci\\x2dsnapshotter\\x2dgrpc.mount"


def seed_soci_volume(box: SystemdBox, mib: int) -> None:
    """SOCI's root on a volume of its own of ``mib`` MiB (a tmpfs here), mounted before SOCI starts."""
    box.seed(f"/etc/systemd/system/{SOCI_ROOT_MOUNT}", f"""[Unit]
Description=SOCI's root volume ({mib} MiB)
Before=soci-snapshotter.service

[Mount]
What=tmpfs
Where={SOCI_ROOT}
Type=tmpfs
Options=size={mib}m,mode=0700

[Install]
RequiredBy=soci-snapshotter.service
WantedBy=local-fs.target
""")
    box.enable(SOCI_ROOT_MOUNT, "local-fs.target")


def seed_ami(box: SystemdBox, pub: Published, static: Published, moto_endpoint: str, soci_binary: str | None = None, gate: bool = False) -> None:
    """The AMI's files, the box's network names and trust, and the static pod. ``gate``: the node group
    runs under nodeadm's parallel-pull gate, which the box stands in for (``node/al2023.py``)."""
    ctd = daemon("containerd-1.7")
    for name in ("containerd", "ctr", "containerd-shim-runc-v2"):
        box.seed_link(f"/usr/bin/{name}", str(ctd.bin(name)))
    box.seed_link("/usr/bin/runc", str(daemon("runc").bin("runc")))
    box.seed_link("/usr/bin/soci-snapshotter-grpc", soci_binary or str(daemon("soci").bin("soci-snapshotter-grpc")))
    box.seed_link("/usr/bin/nodeadm", str(daemon("nodeadm-20240229").bin("nodeadm")))
    box.seed_link("/usr/bin/kubelet", str(daemon("kubelet-1.33").bin("kubelet")))
    box.seed_link("/etc/eks/image-credential-provider/ecr-credential-provider", str(daemon("ecr-credential-provider-1.33").bin("ecr-credential-provider")))
    box.seed_link("/usr/bin/docker-credential-ecr-login", str(daemon("ecr-login").bin("docker-credential-ecr-login")))
    box.seed_link("/usr/bin/aws", str(VENV / "bin" / "aws"))
    box.seed("/usr/lib/systemd/system/containerd.service", containerd_unit())
    box.seed("/etc/systemd/system/containerd.service.d/00-runtime-slice.conf", al2023.CONTAINERD_RUNTIME_SLICE)
    units = {
        "kubelet.service": al2023.KUBELET_SERVICE, "nodeadm-config.service": al2023.NODEADM_CONFIG_SERVICE, "nodeadm-run.service": al2023.NODEADM_RUN_SERVICE,
        "runtime.slice": al2023.RUNTIME_SLICE, "soci-snapshotter.service": al2023.AMI_SOCI_SERVICE, "soci-snapshotter.socket": al2023.AMI_SOCI_SOCKET,
        "cloud-final.service": al2023.CLOUD_FINAL_SERVICE,
    }
    for name, text in units.items():
        box.seed(f"/etc/systemd/system/{name}", text)
    for name in ("nodeadm-config.service", "nodeadm-run.service", "cloud-final.service"):
        box.enable(name)
    box.enable("soci-snapshotter.socket", "sockets.target")  # install-worker.sh: systemctl enable soci-snapshotter.socket
    box.seed(al2023.CLOUD_FINAL_SCRIPT_PATH, al2023.CLOUD_FINAL_SCRIPT, 0o755)
    box.seed(al2023.NODEADM_MERGE_PATH, al2023.NODEADM_MERGE_SCRIPT, 0o755)
    box.seed("/etc/systemd/system/nodeadm-config.service.d/90-box-merge.conf", al2023.NODEADM_MERGE_GATE_DROPIN if gate else al2023.NODEADM_MERGE_DROPIN)
    if gate:
        box.seed(al2023.GATE_SOCI_CONFIG_PATH, al2023.GATE_SOCI_CONFIG)
        box.seed(al2023.GATE_CONTAINERD_PATH, al2023.GATE_CONTAINERD)
        box.seed(al2023.GATE_PAUSE_CACHE_PATH, al2023.GATE_PAUSE_CACHE, 0o755)
        box.seed("/etc/systemd/system/nodeadm-run.service.d/90-box-pause-cache.conf", al2023.GATE_RUN_DROPIN)
    box.seed(al2023.BOX_CONTAINERD_PATH, al2023.BOX_CONTAINERD)
    env = {**PLACEHOLDER_KEYS, "AWS_ENDPOINT_URL_ECR": moto_endpoint, "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint}
    box.seed("/etc/systemd/system.conf.d/50-box-aws.conf", "[Manager]\nDefaultEnvironment=" + " ".join(f"{k}={v}" for k, v in env.items()) + "\n")
    box.seed("/etc/hosts", f"127.0.0.1 localhost\n::1 localhost\n127.0.0.1 {ECR_HOST} {EKS_REGISTRY}\n{STATIC_ADDRESS} {STATIC_HOST}\n")
    bundle = Path("/etc/ssl/certs/ca-certificates.crt").read_bytes() + pub.tls.ca.read_bytes() + static.tls.ca.read_bytes()
    box.seed("/etc/ssl/certs/ca-certificates.crt", bundle)
    box.seed("/etc/kubernetes/manifests/app.yaml", pod_manifest("soci-app", pub.ref))


@contextlib.contextmanager
def booted_node(base: Path, imds_delay: float = 0.0, soci_binary: str | None = None, soci_root_mib: int = 0, scenario: str = SCENARIO) -> Iterator[BootedNode]:
    """Publish the images, start moto and the mock IMDS in the box's network, seed the AMI, boot.
    ``imds_delay``: the IMDS answers only this many seconds after nodeadm's config phase has started
    (its process starts then: until then, connections to it are refused). ``soci_binary``: what the
    AMI's /usr/bin/soci-snapshotter-grpc is (default: SOCI 0.15.0 as built)."""
    pause = daemon("pause").bin("pause").read_bytes()
    box = SystemdBox(base / "box", binds=BINARIES, proc_sys=KERNEL, addresses=(NODE_IP,))
    generation = base / "ecr-generation"
    with ExitStack() as stack:
        stack.callback(box.close)
        with box.net():
            moto_endpoint, moto = stack.enter_context(moto_server(base, account=CLUSTER.account_id, token_generation=generation, token_ttl=TOKEN_TTL))
            static_password = "pw-" + hashlib.sha256(str(time.time_ns()).encode()).hexdigest()[:24]
            sm = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name=CLUSTER.region,
                              aws_access_key_id=PLACEHOLDER_KEYS["AWS_ACCESS_KEY_ID"], aws_secret_access_key=PLACEHOLDER_KEYS["AWS_SECRET_ACCESS_KEY"])
            arn = sm.create_secret(Name="soci-eks/box/registry", SecretString=json.dumps({"username": STATIC_USER, "password": static_password}))["ARN"]
            pub = publish(base / "published", layers_mib=(24, 16), name="boot", host=ECR_HOST, port=443, alt_names=(EKS_REGISTRY,),
                          user="AWS", password=TOKEN_PASSWORD, base_files=(FileSpec("pause", data=pause, mode=0o755),))
            stack.callback(pub.registry.stop)
            sandbox = build([LayerSpec((FileSpec("pause", data=pause, mode=0o755),))], name="eks-pause", cmd=("/pause",))
            RegistryClient("https://127.0.0.1:443", user="AWS", password=TOKEN_PASSWORD, cafile=pub.tls.ca).push_image(sandbox, SANDBOX_REPO, SANDBOX_TAG)
            second = add_image(pub, base / "second", "soci-eks/second", layers_mib=(14,), seed=11, user="AWS", password=TOKEN_PASSWORD,
                               base_files=(FileSpec("pause", data=pause, mode=0o755),))
            third = add_image(pub, base / "third", "soci-eks/third", layers_mib=(14,), seed=17, user="AWS", password=TOKEN_PASSWORD)
            static = publish(base / "static", layers_mib=(12,), name="static", host=STATIC_HOST, port=443, address=STATIC_ADDRESS,
                             user=STATIC_USER, password=static_password, seed=13, base_files=(FileSpec("pause", data=pause, mode=0o755),))
            stack.callback(static.registry.stop)
            user_data = render_user_data(make_tls(base / "cluster-ca").ca.read_bytes(), arn, scenario)
            cfg = base / "imds.json"
            cfg.write_text(al2023.dumps(al2023.imds_mock_config(user_data, instance_id=INSTANCE_ID, region=CLUSTER.region, az=f"{CLUSTER.region}a", local_ipv4=NODE_IP, mac=MAC)))
            argv = [daemon("ec2-metadata-mock").bin("ec2-metadata-mock"), "-c", cfg, "-n", "169.254.169.254", "-p", "80", "-I"]
            if imds_delay:
                wait = f"until pgrep -f '^/usr/bin/nodeadm init' >/dev/null; do sleep 0.05; done; sleep {imds_delay}"
                argv = ["sh", "-c", f'{wait}; exec "$@"', "imds", *argv]
            imds = Process("ec2-metadata-mock", argv, env={"PATH": "/usr/bin:/bin", "HOME": str(base)}, log=base / "imds.log")
            if not imds_delay:
                imds.start()
                stack.callback(imds.stop)
                imds.wait_until(lambda: imds_answers(), "the mock IMDS on 169.254.169.254:80", 30)
        seed_ami(box, pub, static, moto_endpoint, soci_binary, gate=SCENARIOS[scenario].spec.uses_fast_image_pull)
        if soci_root_mib:
            seed_soci_volume(box, soci_root_mib)
        since = pub.log_offset()
        if imds_delay:
            with box.net():
                imds.start()
            stack.callback(imds.stop)
        box.boot(timeout=300)
        yield BootedNode(box, pub, user_data, imds, moto, since, static, static_password, generation, second, third, stack)


def imds_answers() -> bool:
    import urllib.request

    try:
        req = urllib.request.Request("http://169.254.169.254/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        with urllib.request.urlopen(req, timeout=2) as r:
            return r.status == 200
    except OSError:
        time.sleep(0.2)
        return False


SLOW_READER = """
import sys, time
path, out = sys.argv[1], open(sys.argv[2], "w", buffering=1)
with open(path, "rb") as f:
    offset = 0
    while True:
        try:
            chunk = f.read(256 << 10)
        except OSError as e:
            out.write(f"error {offset} {e.errno} {e.strerror}\\n")
            break
        if not chunk:
            out.write(f"eof {offset}\\n")
            break
        offset += len(chunk)
        out.write(f"read {offset}\\n")
        time.sleep(0.2)
"""


def running_container(node: BootedNode, image_ref: str) -> tuple[str, str]:
    """(id, rootfs) of the running container of ``image_ref``."""
    for cid in node.box.run("ctr", "-n", "k8s.io", "containers", "ls", "-q", f"image=={image_ref}").stdout.split():
        if "RUNNING" in node.box.run("ctr", "-n", "k8s.io", "tasks", "ls").stdout.split(cid, 1)[-1].splitlines()[0]:
            return cid, f"/run/containerd/io.containerd.runtime.v2.task/k8s.io/{cid}/rootfs"
    raise AssertionError(f"no running container of {image_ref}: {node.box.run('ctr', '-n', 'k8s.io', 'tasks', 'ls').stdout}")


def until(what: str, check: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.5)


def running_container_or_none(node: BootedNode, ref: str, old: str) -> str | None:
    try:
        cid, _ = running_container(node, ref)
    except AssertionError:
        return None
    return cid if cid != old else None
