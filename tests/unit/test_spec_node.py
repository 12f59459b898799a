"""spec/node.py: the node spec shared by groups and pools, and the managed node group's own settings."""

from __future__ import annotations

import pytest

from soci_component import pipeline
from soci_component.errors import SpecError
from soci_component.spec import (
    AmiPin,
    CriProxy,
    NodeGroupSpec,
    NodePoolSpec,
    PullMode,
    UpstreamRelease,
)
from tests.unit.specs import group


def test_eks_label_key_63_accepted_64_refused() -> None:
    """Mutant eks-label-key-64: EKS's CreateNodegroup refuses label keys over 63 characters (the deploy would fail at `up`)."""
    k63 = "example.com/" + "a" * 51
    k64 = "example.com/" + "a" * 52
    assert (len(k63), len(k64)) == (63, 64)
    assert group(labels={k63: "x"}).labels == {k63: "x"}
    with pytest.raises(SpecError) as e:
        group(labels={k64: "x"})
    assert "64 characters" in e.value.message and "at most 63" in e.value.message
    # Karpenter pools have no such EKS limit
    NodePoolSpec(name="p", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), labels={k64: "x"})


@pytest.mark.parametrize("mode, store", [(PullMode.LAZY, "soci"), (PullMode.LAZY_WITH_PARALLEL_FALLBACK, "soci"), (PullMode.PARALLEL, "containerd")])
def test_default_content_store_per_pull_mode(mode: PullMode, store: str) -> None:
    """Mutant content-store-default-fallback-containerd: lazy loading (also in fallback mode) needs SOCI's own content store;
    only 'parallel' defaults to containerd's, as nodeadm does."""
    spec = group(pull_mode=mode, soci_source=UpstreamRelease(), credentials=(CriProxy(),))
    assert spec.content_store.value == store
    import tomllib

    soci = next(f for f in pipeline.plan_node(spec).files if f.path == "/etc/soci-snapshotter-grpc/config.toml")
    assert tomllib.loads(soci.content)["content_store"]["type"] == store


@pytest.mark.parametrize("field", ["min_size", "max_size", "desired_size"])
def test_scaling_is_an_int32_on_both_sides(field: str) -> None:
    """EKS's scalingConfig fields are int32: 2**31 - 1 is the largest a node group can be created with."""
    from soci_component.spec import Scaling

    top = 2**31 - 1
    Scaling(min_size=top, max_size=top, desired_size=top)
    with pytest.raises(SpecError) as e:
        Scaling(**{"min_size": top, "max_size": top, "desired_size": top, field: top + 1})  # type: ignore[arg-type]
    assert "a non-negative integer" in e.value.message


def test_every_spec_and_render_value_is_frozen_and_hashable() -> None:
    """Specs are values compared and reused across plans: a mutable one could change under a plan, and a class with eq but without
    frozen has no hash (the credential sources, the AMI pin and the tuning are hashed; labels and sha256 maps make the node specs not)."""
    import dataclasses

    from soci_component import spec as spec_package
    from soci_component.render import karpenter, plan, report, types
    from tests.support.scenarios import SCENARIOS

    classes = [c for m in (spec_package, karpenter, plan, report, types) for c in vars(m).values() if isinstance(c, type) and dataclasses.is_dataclass(c)]
    assert len(classes) > 25
    for c in classes:
        assert c.__dataclass_params__.frozen, f"{c.__name__} is not frozen"  # type: ignore[attr-defined]
    for s in SCENARIOS.values():
        hash((s.spec.ami, s.spec.disk, s.spec.taints, s.spec.tuning.parallel))
        for c in s.spec.creds:
            hash(c)
        with pytest.raises(dataclasses.FrozenInstanceError):
            s.spec.name = "x"  # type: ignore[misc]


def test_at_most_50_images() -> None:
    imgs = tuple(f"public.ecr.aws/team/app{i}:1" for i in range(51))
    assert len(group(images=imgs[:50]).images) == 50
    with pytest.raises(SpecError, match="at most 50"):
        group(images=imgs)


def test_nodeadms_gate_wires_soci_only_for_al2023_parallel_with_the_amis_soci() -> None:
    from soci_component.spec import CriProxy, OperatingSystem, PullMode, UpstreamRelease

    gate = group(pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),))
    assert gate.uses_fast_image_pull
    assert not group(pull_mode=PullMode.PARALLEL, soci_source=UpstreamRelease()).uses_fast_image_pull
    assert not group().uses_fast_image_pull and not group(pull_mode=PullMode.LAZY_WITH_PARALLEL_FALLBACK, soci_source=UpstreamRelease()).uses_fast_image_pull
    br = NodeGroupSpec(name="b", kubernetes_version="1.33", ami=AmiPin(release="1.57.0"), instance_types=("m7g.xlarge",), os=OperatingSystem.BOTTLEROCKET,
                       pull_mode=PullMode.PARALLEL, credentials=(CriProxy(),))
    assert not br.uses_fast_image_pull, "Bottlerocket has no nodeadm"
