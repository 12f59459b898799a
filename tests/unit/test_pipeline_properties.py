"""Properties of the pure pipeline (stack config -> specs -> rules -> plan -> render), over the golden scenarios and over
generated configs:

- **same input, same bytes**: twice in one process, at another time (gzip headers carry an mtime), and in other processes
  with other hash seeds;
- **no setting silently ignored**: every settable key (found by probing the config reader, so a new key is covered) toggled
  on every class of scenario, as a node group and as a pool, either changes what the nodes receive, or is refused naming
  the key (its path, or the key or value in the message), or reaches only the AWS resources (checked under mocks) or
  another command (``images``);
- **no secret in any output**: registry credentials given as secrets, well-formed or not, never reach an error, a warning,
  a report, a rendered byte;
- **errors name the right place**: in stacks mixing several node groups and pools, a mistake in ``nodePools[1]`` is reported
  at ``nodePools[1]...`` with the same relative path as in a stack of its own; stack rules (names, lengths, tags) hold for
  pools as for groups.

Hypothesis runs derandomized with bounded examples (stable in CI, seconds).
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soci_component.config import parse
from soci_component.errors import SpecError
from soci_component.images.verdict import node_targets
from soci_component.offline import render_stack
from tests.support.scenarios import SCENARIOS
from tests.unit.properties import AWS_RESOURCES_ONLY, ELSEWHERE, TOGGLES, as_pool, node_config, outputs, put, representatives, settable_keys, stack

ROOT = Path(__file__).resolve().parents[2]
plan_module = sys.modules["soci_component.render.plan"]
REPS = list(representatives())
GROUPS = {name: node_config(SCENARIOS[name].spec) for name in REPS}
# The golden RAID0 scenarios' m7g.xlarge and m7i.xlarge have no instance store (the scenarios skip the instance rules; a stack file does not).
GROUPS["bottlerocket-parallel-arm64-raid0"]["instanceTypes"] = ["m7gd.xlarge"]
GROUPS["c22-parallel-cri-ami-raid0"]["instanceTypes"] = ["m6id.xlarge"]
POOL_REPS = ["c22-lazy-ecr-ami", "c22-parallel-ecr-ami", "c22-fallback-ecr-release", "c17-lazy-ecr-release", "bottlerocket-parallel"]
POOLS = {name: as_pool(GROUPS[name]) for name in POOL_REPS}
BOUNDED = settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def single(entry: dict[str, Any], pool: bool) -> dict[str, Any]:
    return stack(pools=[entry]) if pool else stack([entry])


# --------------------------------------------------------------------------------------------
# the scenarios as stack configs


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_is_the_config_a_user_writes(name: str) -> None:
    """The helpers' config of a scenario reads back to the scenario's spec (so the properties below test what users write)."""
    s = SCENARIOS[name]
    (got,) = parse(stack([node_config(s.spec)], k8s=s.spec.kubernetes_version)).node_groups
    assert got == s.spec


# --------------------------------------------------------------------------------------------
# same input, same bytes


def _digest(cfgs: list[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for cfg in cfgs:
        for k, v in sorted(outputs(cfg).items()):
            h.update(k.encode() + b"\0" + v + b"\0")
    return h.hexdigest()


def _scenario_configs() -> list[dict[str, Any]]:
    out = [stack([GROUPS.get(name) or node_config(s.spec)], k8s=s.spec.kubernetes_version) for name, s in SCENARIOS.items()]
    out.append(stack([GROUPS["c22-lazy-ecr-ami"], put(GROUPS["c22-parallel-ecr-release"], "name", "g2")],
                     [put(POOLS["c22-lazy-ecr-ami"], "name", "p1"), put(POOLS["bottlerocket-parallel"], "name", "p2")], tags={"team": "ml", "env": "dev"}))
    return out


def _big(name: str = "big") -> dict[str, Any]:
    """A group whose user data is over 16 KB, so it is gzipped."""
    mirrors = [{"host": f"r{i}.example.com", "mirrors": [f"m{i}-{j}.example.com" for j in range(8)]} for i in range(40)]
    return put(put(GROUPS["c22-lazy-ecr-ami"], "tuning.mirrors", mirrors), "name", name)


def test_gzipped_user_data_is_the_same_at_another_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A gzip header carries an mtime: the same group rendered a day later must still be the same bytes (a user data that
    changes between two `pulumi up`s rolls every node of the group)."""
    cfg = stack([_big()])
    first = outputs(cfg)
    assert first["big/user-data"][:2] == b"\x1f\x8b", "the test needs a gzipped user data"
    later = time.time() + 86400
    monkeypatch.setattr(time, "time", lambda: later)
    plan_module._effective_containerd.cache_clear()
    assert outputs(cfg) == first
    assert gzip.decompress(first["big/user-data"]) == first["big/raw-user-data"]


def test_same_bytes_twice_in_one_process() -> None:
    cfgs = [*_scenario_configs(), stack([_big()])]
    first = [outputs(c) for c in cfgs]
    plan_module._effective_containerd.cache_clear()
    assert [outputs(c) for c in cfgs] == first


_CHILD = """
import json, sys
from tests.unit.test_pipeline_properties import _digest
print(_digest(json.load(sys.stdin)))
"""


def test_same_bytes_in_other_processes_with_other_hash_seeds() -> None:
    """Set iteration order and str hashes differ per process (PYTHONHASHSEED): no byte may depend on them."""
    cfgs = [*_scenario_configs(), stack([_big()]), *[c for c in _generated_sample()]]
    here = _digest(cfgs)
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        r = subprocess.run([sys.executable, "-c", _CHILD], input=json.dumps(cfgs), capture_output=True, text=True, cwd=ROOT, env=env, check=False)
        assert r.returncode == 0, r.stderr[-2000:]
        assert r.stdout.strip() == here, f"PYTHONHASHSEED={seed}: other bytes"


@st.composite
def generated(draw: Any) -> dict[str, Any]:
    """A valid-or-refused stack: one or two node groups and pools from the scenario classes, each with a few keys toggled."""
    def entry(pool: bool, i: int) -> dict[str, Any]:
        base = POOLS[draw(st.sampled_from(POOL_REPS))] if pool else GROUPS[draw(st.sampled_from(REPS))]
        e = put(base, "name", f"{'p' if pool else 'g'}{i}")
        for _ in range(draw(st.integers(0, 3))):
            k = draw(st.sampled_from(sorted(k for k in TOGGLES if (not pool or k.split(".")[0].split("[")[0] not in ("capacityType", "scaling", "subnetIds"))
                                            and k != "name")))
            e = put(e, k, draw(st.sampled_from(TOGGLES[k])))
        return e

    groups = [entry(False, i) for i in range(draw(st.integers(0, 2)))]
    pools = [entry(True, i) for i in range(draw(st.integers(0 if groups else 1, 2)))]
    return stack(groups, pools)


def _generated_sample() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    @settings(max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(generated())
    def collect(cfg: dict[str, Any]) -> None:
        try:
            outputs(cfg)
        except SpecError:
            return
        out.append(cfg)

    collect()
    return out


@BOUNDED
@given(generated())
def test_generated_configs_render_the_same_bytes_twice(cfg: dict[str, Any]) -> None:
    try:
        first = outputs(cfg)
    except SpecError as e:
        with pytest.raises(SpecError) as again:
            outputs(cfg)
        assert str(again.value) == str(e)
        return
    plan_module._effective_containerd.cache_clear()
    assert outputs(copy.deepcopy(cfg)) == first


# --------------------------------------------------------------------------------------------
# no setting silently ignored


def _all_keys() -> list[str]:
    keys: dict[str, None] = {}
    for g in GROUPS.values():
        keys.update(dict.fromkeys(settable_keys(g)))
    for p in POOLS.values():
        keys.update(dict.fromkeys(settable_keys(p, pool=True)))
    return list(keys)


KEYS = _all_keys()


def test_every_settable_key_has_toggle_values() -> None:
    """A key the schema accepts and nobody says how to set would escape the property below."""
    assert len(KEYS) > 60, KEYS
    assert [k for k in KEYS if k not in TOGGLES] == []


def _node_path(pool: bool) -> str:
    return "nodePools[0]" if pool else "nodeGroups[0]"


def _check_toggle(base: dict[str, Any], key: str, value: Any, pool: bool, before: dict[str, bytes]) -> str | None:
    """None when toggling ``key`` to ``value`` is observable or refused naming the key; else what went wrong."""
    changed = put(base, key, value)
    cfg = single(changed, pool)
    where = f"{_node_path(pool)}.{key}"
    try:
        spec_before = parse(single(base, pool)).nodes[0]
        spec_after = parse(cfg).nodes[0]
    except SpecError as e:
        return None if _names(e, where, key, value) else f"refused at {e.path!r}, not naming {key}: {e.message[:160]}"
    if _effective(spec_after) == _effective(spec_before):
        return None  # the value was the default already: not a toggle
    try:
        after = outputs(cfg)
    except SpecError as e:
        return None if _names(e, where, key, value) else f"refused at {e.path!r}, not naming {key}: {e.message[:160]}"
    if after != before:
        return None
    head = key.split("[")[0].split(".")[0]
    if not pool and (key in AWS_RESOURCES_ONLY or head in AWS_RESOURCES_ONLY):
        return None
    if key in ELSEWHERE:
        return None if node_targets(parse(cfg), []) != node_targets(parse(single(base, pool)), []) else f"{key} reaches neither the nodes nor {ELSEWHERE[key]}"
    return f"accepted and nothing the nodes receive changed (spec differs: {spec_before != spec_after})"


def _effective(spec: Any) -> Any:
    """The spec with defaults that depend on other settings resolved (an explicit value equal to the default is no toggle)."""
    return replace(spec, tuning=replace(spec.tuning, content_store=spec.content_store))


def _names(e: SpecError, where: str, key: str, value: Any) -> bool:
    """The refusal names the setting: its path (or a path above or below it), or the key or the value in its message."""
    leaf = key.rsplit(".", 1)[-1].split("[")[0]
    shown = json.dumps(value) if not isinstance(value, str) else value
    return (e.path.startswith(where) or where.startswith(e.path + ".") or where.startswith(e.path + "[")
            or leaf in e.message or (isinstance(value, str) and value in e.message) or shown in e.message)


def _cases(pool: bool) -> list[Any]:
    reps = POOLS if pool else GROUPS
    return [pytest.param(name, pool, id=f"{'pool' if pool else 'group'}-{name}") for name in reps]


@pytest.mark.parametrize("name, pool", [*_cases(False), *_cases(True)])
def test_no_setting_is_silently_ignored(name: str, pool: bool) -> None:
    base = (POOLS if pool else GROUPS)[name]
    before = outputs(single(base, pool))
    problems = []
    for key in KEYS:  # every key of every scenario class: a key accepted where it does not apply must be refused there
        if pool and key.split(".")[0].split("[")[0] in ("capacityType", "scaling", "subnetIds"):
            continue
        for value in TOGGLES[key]:
            p = _check_toggle(base, key, value, pool, before)
            if p:
                problems.append(f"{key}={json.dumps(value)}: {p}")
    assert problems == []


# --------------------------------------------------------------------------------------------
# no secret in any output


SECRET = "S3cr3t-Pa55w0rd-do-not-print"


def _everything(cfg: dict[str, Any]) -> str:
    """Every string render produces for the stack, or the error it raises."""
    try:
        return "\n".join(v.decode("utf-8", "replace") for v in outputs(cfg).values())
    except SpecError as e:
        return str(e) + "\n" + e.path + "\n" + e.message


STATIC = put(GROUPS["c22-lazy-ecr-ami"], "credentials", [{"type": "static", "registry": "registry.example.com"}, "ecr-credential-helper"])
SHAPES: list[Any] = [
    {"registry.example.com": {"username": "robot", "password": SECRET}},
    {"registry.example.com": {"username": SECRET, "password": SECRET}},
    {"registry.example.com": SECRET},
    {"registry.example.com": [SECRET]},
    {"registry.example.com": {"username": "robot", "password": [SECRET]}},
    {"registry.example.com": {"username": "robot", "password": {"value": SECRET}}},
    {"registry.example.com": {"username": "robot", "password": SECRET, "token": SECRET}},
    {"registry.example.com": {"username": "robot"}, "other.example.com": {"password": SECRET}},
    {"registry.example.com": {"password": SECRET}},
    {"registry.example.com": {"username": "robot", "password": 12345, "x": SECRET}},
    {"quay.io": {"username": "robot", "password": SECRET}},
    SECRET,
    [SECRET],
]


@pytest.mark.parametrize("shape", range(len(SHAPES)))
@pytest.mark.parametrize("pool", [False, True])
def test_no_secret_in_any_output_of_render(shape: int, pool: bool) -> None:
    """Valid and malformed registry credentials (the value as the program receives it, and as a stack file holds it)."""
    entry = as_pool(STATIC) if pool else STATIC
    cfg = single(entry, pool)
    cfg["soci-eks:registryCredentials"] = copy.deepcopy(SHAPES[shape])
    assert SECRET not in _everything(cfg)
    for stack_file in (False, True):
        try:
            parse(cfg, stack_file=stack_file)
        except SpecError as e:
            assert SECRET not in str(e), str(e)


@BOUNDED
@given(st.recursive(st.one_of(st.just(SECRET), st.integers(), st.none(), st.booleans()),
                    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["username", "password", "registry.example.com", "x"]), inner,
                                                                                            max_size=3)), max_leaves=6))
def test_no_secret_in_errors_for_any_shape(value: Any) -> None:
    cfg = single(STATIC, False)
    cfg["soci-eks:registryCredentials"] = {"registry.example.com": value}
    for stack_file in (False, True):
        try:
            parse(cfg, stack_file=stack_file)
        except SpecError as e:
            assert SECRET not in str(e), str(e)


def test_no_secret_in_the_goldens() -> None:
    """The renderer never receives a secret value; the goldens hold ARNs only (and no credential the suite uses anywhere)."""
    for f in (ROOT / "tests" / "golden").rglob("*"):
        if f.is_file() and f.suffix != ".py":
            data = f.read_bytes()
            for marker in (b"mock-password", b"hunter2", SECRET.encode()):
                assert marker not in data, f"{f}: {marker!r}"


# --------------------------------------------------------------------------------------------
# errors name the right place, in stacks that mix node groups and pools

BAD = {"name": "Bad_Name", "kubernetesVersion": "1.99", "ami.release": "latest", "instanceTypes": ["m7i_xlarge"], "pullMode": "eager",
       "credentials": [], "tuning.root": "relative", "tuning.minLayerSize": -1, "labels": {"kubernetes.io/team": "x"},
       "taints": [{"key": "a", "effect": "Never"}], "disk.sizeGiB": 1, "localStorage": "raid5", "sociSource.type": "tarball",
       "tuning.mirrors": [{"host": "docker.io", "mirrors": []}], "images": ["a:b:c"], "weight": 0, "expireAfter": "forever",
       "requirements": [{"key": "karpenter.sh/nodepool", "operator": "In", "values": ["x"]}], "ami.variant": "gpu", "os": "al2"}


def _mixed(list_name: str, index: int, entry: dict[str, Any]) -> dict[str, Any]:
    groups = [put(GROUPS["c22-lazy-ecr-ami"], "name", f"g{i}") for i in range(3)]
    pools = [put(POOLS["c22-lazy-ecr-ami"], "name", f"p{i}") for i in range(3)]
    (pools if list_name == "nodePools" else groups)[index] = entry
    return stack(groups, pools)


POOL_ONLY = ("weight", "expireAfter", "requirements")


@pytest.mark.parametrize("key, list_name, index", [(k, n, i) for k in sorted(BAD) for n, i in (("nodeGroups", 1), ("nodeGroups", 2), ("nodePools", 1), ("nodePools", 2))
                                                   if n == "nodePools" or k not in POOL_ONLY])
def test_errors_name_the_member_and_the_key_in_a_mixed_stack(key: str, list_name: str, index: int) -> None:
    pool = list_name == "nodePools"
    base = POOLS["c22-lazy-ecr-ami"] if pool else GROUPS["c22-lazy-ecr-ami"]
    entry = put(put(base, key, BAD[key]), "name", f"{'p' if pool else 'g'}{index}") if key != "name" else put(base, "name", BAD[key])
    with pytest.raises(SpecError) as alone:
        outputs(single(entry, pool))
    relative = alone.value.path.removeprefix(_node_path(pool))
    assert alone.value.path.startswith(_node_path(pool) + ".") and key.split(".")[0].split("[")[0] in relative, alone.value.path
    with pytest.raises(SpecError) as mixed:
        outputs(_mixed(list_name, index, entry))
    assert mixed.value.path == f"{list_name}[{index}]{relative}", str(mixed.value)
    assert mixed.value.message == alone.value.message


@pytest.mark.parametrize("list_name, index", [("nodeGroups", 2), ("nodePools", 1), ("nodePools", 2)])
def test_duplicate_names_across_groups_and_pools_name_both(list_name: str, index: int) -> None:
    entry = put(POOLS["c22-lazy-ecr-ami"] if list_name == "nodePools" else GROUPS["c22-lazy-ecr-ami"], "name", "g0")
    with pytest.raises(SpecError) as e:
        outputs(_mixed(list_name, index, entry))
    assert e.value.path == f"{list_name}[{index}].name" and "already the name of nodeGroups[0]" in e.value.message


@pytest.mark.parametrize("pool", [False, True])
def test_derived_aws_names_fit_for_pools_as_for_groups(pool: bool) -> None:
    """A pool's IAM role is <cluster>-<name>-node-role-<7 random>: 64 characters at most, as for a group."""
    base = POOLS["c22-lazy-ecr-ami"] if pool else GROUPS["c22-lazy-ecr-ami"]
    cluster = {"name": "c" * 30, "kubernetesVersion": "1.33"}
    name = "n" * 40
    cfg = {**single(put(base, "name", name), pool), "soci-eks:cluster": cluster}
    with pytest.raises(SpecError) as e:
        outputs(cfg)
    assert e.value.path == f"{_node_path(pool)}.name" and "IAM role" in e.value.message
    ok = {**single(put(base, "name", "n" * 9), pool), "soci-eks:cluster": {**cluster, "name": "c" * 30}}
    outputs(ok)  # 30 + 1 + 9 + len("-node-role") = 50, + 8 = 58 <= 64


@pytest.mark.parametrize("tag", [{"aws:team": "x"}, {"AWS:team": "x"}, {"Aws:team": "x"}, {"team": "aws:x"}, {"team": "AWS:x"}, {"team": "aWs:x"}])
@pytest.mark.parametrize("pool", [False, True])
def test_aws_prefix_refused_in_tag_keys_and_values_in_every_letter_case(tag: dict[str, str], pool: bool) -> None:
    """EC2 tag restrictions: "Don't use aws:, AWS:, or any upper or lowercase combination of such as a prefix for either keys or
    values, as it is reserved for AWS use" (docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html#tag-restrictions)."""
    base = POOLS["c22-lazy-ecr-ami"] if pool else GROUPS["c22-lazy-ecr-ami"]
    cfg = stack(pools=[base], tags=tag) if pool else stack([base], tags=tag)
    with pytest.raises(SpecError) as e:
        outputs(cfg)
    (k,) = tag
    assert e.value.path.startswith("tags") and "reserved for AWS" in e.value.message, str(e.value)


@pytest.mark.parametrize("tag", ["karpenter.sh/nodepool", "karpenter.sh/nodeclaim", "karpenter.k8s.aws/ec2nodeclass", "eks:eks-cluster-name",
                                 "kubernetes.io/cluster/props"])
def test_tags_karpenter_refuses_on_an_ec2nodeclass_are_refused_for_pools(tag: str) -> None:
    """The EC2NodeClass CRD refuses these tag keys (karpenter-provider-aws v1.15.0 pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml,
    spec.tags x-kubernetes-validations: "tag contains a restricted tag matching ..."); the stack's tags go onto every pool's EC2NodeClass,
    so `up` would fail there. A stack without pools may use them."""
    with pytest.raises(SpecError) as e:
        outputs(stack(pools=[POOLS["c22-lazy-ecr-ami"]], tags={tag: "x"}))
    assert e.value.path.startswith("tags") and "EC2NodeClass" in e.value.message, str(e.value)
    outputs(stack([GROUPS["c22-lazy-ecr-ami"]], tags={tag: "x"}) if not tag.startswith("eks:") else stack([GROUPS["c22-lazy-ecr-ami"]]))


def test_generated_stacks_never_traceback_and_name_a_member() -> None:
    """Every refusal of a generated mixed stack starts with a config key; per-member ones with the member's own list and index."""
    @settings(max_examples=80, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(generated())
    def check(cfg: dict[str, Any]) -> None:
        try:
            render_stack(parse(cfg))
        except SpecError as e:
            head = e.path.split("[")[0].split(".")[0]
            assert head in ("nodeGroups", "nodePools", "cluster", "tags", "registryCredentials", "karpenter"), e.path
            if head in ("nodeGroups", "nodePools"):
                index = int(e.path.split("[")[1].split("]")[0])
                assert index < len(cfg.get(f"soci-eks:{head}", [])), e.path

    check()
