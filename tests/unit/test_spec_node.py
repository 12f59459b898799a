"""spec/node.py: the node spec shared by groups and pools, and the managed node group's own settings."""

from __future__ import annotations

from typing import Any

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


def group(**kw: Any) -> NodeGroupSpec:
    return NodeGroupSpec(name="g", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",), **kw)



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
