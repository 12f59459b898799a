"""ami/profile.py: facts derived from the pinned AMI (pause image through SOCI from containerd 2.2.3, config schema per major)."""

from __future__ import annotations

import pytest

from soci_component.render.paths import KUBELET_PAUSE_DROPIN
from soci_component.spec import (
    AmiPin,
    NodeGroupSpec,
    UpstreamRelease,
)
from tests.unit.specs import planned


def raw_ami(containerd: str, **kw: object) -> NodeGroupSpec:
    return NodeGroupSpec(name="raw", kubernetes_version="1.33", ami=AmiPin(ami_id="ami-0123456789abcdef0", containerd_version=containerd),
                         instance_types=("m7i.xlarge",), soci_source=UpstreamRelease(), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("containerd, imported", [("2.2.2", False), ("2.2.3", True), ("2.2.4", True), ("2.3.0", True), ("1.7.29", False)])
def test_pause_import_boundary(containerd: str, imported: bool) -> None:
    """From containerd 2.2.3 the pause unpack goes through SOCI: without the import a raw AMI's node never becomes Ready."""
    paths = [f.path for f in planned(raw_ami(containerd)).files]
    assert (KUBELET_PAUSE_DROPIN in paths) is imported


@pytest.mark.parametrize("containerd, schema", [("1.7.16", 2), ("1.7.99", 2), ("2.0.0", 3), ("2.0.5", 3), ("2.1.0", 3)])
def test_schema_boundary(containerd: str, schema: int) -> None:
    p = planned(raw_ami(containerd))
    assert p.profile.schema_version == schema
    fragment = p.node_spec["containerd"]["config"]  # type: ignore[index]
    assert ("io.containerd.cri.v1.images" in fragment) is (schema == 3)
    assert ("io.containerd.grpc.v1.cri" in fragment) is (schema == 2)

