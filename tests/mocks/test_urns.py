"""Upgrades never replace what runs: every resource's URN, per stack and per golden scenario of the components,
against every generation recorded in ``tests/mocks/urns.json``.

A user upgrading this package runs ``pulumi up`` on a live cluster. A renamed type token or child resource
makes Pulumi delete and recreate it — the cluster, a node group, the Karpenter install — unless the
program registers an ``alias`` that maps the old URN to the new one. For each program below the test
replays the engine's lookup (:mod:`tests.support.urns`) from a state holding each recorded generation's
URNs: nothing may be deleted. A program whose URNs differ from the newest generation fails too, until
``pytest tests/mocks/test_urns.py --update-goldens`` appends the new generation (old generations are never
dropped: users may upgrade from any release).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pulumi
import pytest

from soci_component.components.cluster import SociCluster, SociClusterArgs
from soci_component.components.node_group import SociNodeGroup, SociNodeGroupArgs
from soci_component.components.node_pool import SociNodePool, SociNodePoolArgs
from soci_component.spec import AmiPin, Arch, ClusterSpec, CriProxy, KarpenterSpec, NodeGroupSpec, NodePoolSpec, OperatingSystem, PullMode, StaticCredentials
from tests.mocks.test_node_group import SUBNETS, attach
from tests.mocks.test_stacks import STACKS, cli_config
from tests.support import urns
from tests.support.pulumi_mocks import FakeCluster, SociMocks, mocked, run
from tests.support.scenarios import SCENARIOS

GOLDEN = Path(__file__).with_name("urns.json")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CREDS = pulumi.Output.secret({"registry.example.com": {"username": "u", "password": "p"}})


def _group(spec: NodeGroupSpec) -> Callable[[SociMocks], Any]:
    if spec.local_storage.value == "raid0":  # EC2's facts must show instance store (the golden scenarios are not checked for it)
        spec = replace(spec, instance_types=("m7gd.xlarge",) if spec.arch is Arch.ARM64 else ("m6id.2xlarge",))

    def program(m: SociMocks) -> Any:
        statics = any(isinstance(c, StaticCredentials) for c in spec.creds)
        return SociNodeGroup("ng", SociNodeGroupArgs(cluster=attach(m.clusters["soci-test"]), spec=replace(spec, name="ng"),
                                                     registry_credentials=CREDS if statics else None)).user_data_size
    return program


def _pool(spec: NodePoolSpec) -> Callable[[SociMocks], Any]:
    def program(m: SociMocks) -> Any:
        import pulumi_kubernetes as k8s

        provider = k8s.Provider("k8s", kubeconfig="{}")
        statics = any(isinstance(c, StaticCredentials) for c in spec.creds)
        return SociNodePool("np", SociNodePoolArgs(cluster=attach(m.clusters["soci-test"], subnet_ids=None), spec=replace(spec, name="np"), kubernetes_provider=provider,
                                                   registry_credentials=CREDS if statics else None)).user_data_size
    return program


def _cluster(m: SociMocks) -> Any:
    groups = [SCENARIOS["c22-lazy-kube-release"].spec, SCENARIOS["bottlerocket-parallel"].spec]
    pools = [NodePoolSpec(name="burst", kubernetes_version="1.33", ami=AmiPin(release="v20260714")),
             NodePoolSpec(name="arm", kubernetes_version="1.33", ami=AmiPin(release="1.57.0"), os=OperatingSystem.BOTTLEROCKET,
                          pull_mode=PullMode.PARALLEL, architecture=Arch.ARM64, credentials=(CriProxy(),))]
    c = SociCluster("soci", SociClusterArgs(cluster=ClusterSpec(name="soci-unit", kubernetes_version="1.33"), node_groups=groups, node_pools=pools,
                                            karpenter=KarpenterSpec(), vpc_id="vpc-0123456789abcdef0", private_subnet_ids=SUBNETS))
    return c.reports


POOLS = {
    "pool-al2023-lazy": NodePoolSpec(name="burst", kubernetes_version="1.33", ami=AmiPin(release="v20260714")),
    "pool-al2023-gate": NodePoolSpec(name="fast", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), pull_mode=PullMode.PARALLEL,
                                     credentials=(CriProxy(),)),
    "pool-kube-static": NodePoolSpec(name="kube", kubernetes_version="1.33", ami=AmiPin(release="v20260714"),
                                     credentials=(StaticCredentials("registry.example.com"), CriProxy())),
}
PROGRAMS: dict[str, Callable[[SociMocks], Any]] = {
    **{f"group-{name}": _group(s.spec) for name, s in sorted(SCENARIOS.items())},
    **{name: _pool(spec) for name, spec in POOLS.items()},
    "cluster": _cluster,
}


def _component_urns(program: Callable[[SociMocks], Any]) -> list[urns.Resource]:
    mocks = SociMocks(clusters={"soci-test": FakeCluster(), "soci-unit": FakeCluster(name="soci-unit")})
    with mocked(mocks) as m:
        run(lambda: program(m))
    return urns.registered(m)


def _stack_urns(stack_file: Path) -> list[urns.Resource]:
    from tests.mocks.test_stacks import run_program

    config, secret_keys = cli_config(stack_file)
    m, _ = run_program(config, secret_keys)
    return urns.registered(m)


CASES = [*((f"stack-{p.name.split('.')[1]}", lambda p=p: _stack_urns(p)) for p in STACKS), *((k, lambda f=f: _component_urns(f)) for k, f in PROGRAMS.items())]


def _golden() -> dict[str, list[list[str]]]:
    return json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}


@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_upgrade_replaces_nothing(case: str, update_goldens: bool) -> None:
    resources = dict(CASES)[case]()
    current = sorted(urns.short(r.urn) for r in resources)
    assert len(set(current)) == len(current), f"{case}: two resources share a URN"
    golden = _golden()
    generations = golden.get(case, [])
    if update_goldens and (not generations or generations[-1] != current):
        golden[case] = [*generations, current]
        GOLDEN.write_text(json.dumps(dict(sorted(golden.items())), indent=1) + "\n")
        generations = golden[case]
    assert generations, f"{case}: no recorded URNs; run pytest tests/mocks/test_urns.py --update-goldens and review the diff"
    prefix = "urn:pulumi:test::soci-eks::"
    for i, generation in enumerate(generations, 1):
        deleted, _ = urns.replaced(resources, [prefix + u for u in generation])
        assert not deleted, (f"{case}: upgrading a stack deployed with URN generation {i} would delete and recreate "
                             f"{[urns.short(u) for u in deleted]}: give the renamed resources Pulumi aliases to their old URNs")
    assert generations[-1] == current, (f"{case}: the URNs changed (old ones covered by aliases): record the new generation with "
                                        f"pytest tests/mocks/test_urns.py --update-goldens; new: {sorted(set(current) - set(generations[-1]))}")


def test_no_stale_golden_entries() -> None:
    stale = sorted(set(_golden()) - {c[0] for c in CASES})
    assert not stale, f"recorded URNs of programs no longer tested: {stale}"


# -- the replay itself can fail: renames without aliases are caught, aliases (own and inherited) are honoured --------


class _Box(pulumi.ComponentResource):
    def __init__(self, typ: str, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(typ, name, None, opts)
        import pulumi_aws as aws

        aws.iam.Role(f"{name}-role", assume_role_policy="{}", opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


def _registered(make: Callable[[], Any]) -> list[urns.Resource]:
    with mocked(SociMocks()) as m:
        run(make)
    return urns.registered(m)


OLD = ["urn:pulumi:test::soci-eks::soci-eks:index:Box::a", "urn:pulumi:test::soci-eks::soci-eks:index:Box$aws:iam/role:Role::a-role"]


@pytest.mark.parametrize(("make", "deleted"), [
    pytest.param(lambda: _Box("soci-eks:index:Box", "a"), [], id="unchanged"),
    pytest.param(lambda: _Box("soci-eks:index:Box", "b"), OLD, id="renamed-without-alias"),
    pytest.param(lambda: _Box("soci-eks:index:Box", "b", pulumi.ResourceOptions(aliases=[pulumi.Alias(name="a")])), [], id="renamed-with-alias"),
    pytest.param(lambda: _Box("soci-eks:index:Renamed", "a"), OLD, id="new-type-token"),
    pytest.param(lambda: _Box("soci-eks:index:Renamed", "a", pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="soci-eks:index:Box")])), [],
                 id="new-type-token-with-alias"),
])
def test_the_replay_finds_what_an_upgrade_would_replace(make: Callable[[], Any], deleted: list[str]) -> None:
    assert urns.replaced(_registered(make), OLD)[0] == sorted(deleted)
