"""Rules that need each instance type's facts (EC2 at preview, estimated from the name offline). Pure."""

from __future__ import annotations

from collections.abc import Mapping

from ..ami import NodeProfile
from ..errors import SpecError, at
from ..instances import InstanceFacts
from ..spec import (
    LocalStorage,
    NodeSpec,
)
from .catalogue import release_name

MEMORY_MARGIN = 0.03
"""nodeadm compares the memory the kernel reports online with its floor; that is below the EC2
figure (a c6a.2xlarge with 16 GiB showed 15.75 GiB: nodeadm/internal/containerd/config.go at
v20251016). An EC2 memory size must exceed the floor by this share to count as enough."""


def check_instance_types(spec: NodeSpec, p: NodeProfile, facts: Mapping[str, InstanceFacts | None], path: str = "") -> list[str]:
    """Rules that need each instance type's facts (``aws.ec2.get_instance_type`` at preview, :func:`instances.estimate` offline).

    Raises for types below nodeadm's size floor of the pinned release (the gate would be silently
    ignored) and for ``raid0`` on types without instance store; returns the types whose facts were
    unknown (``facts[t] is None``), which could not be checked."""
    missing = [t for t in spec.instance_types if t not in facts]
    if missing:
        raise ValueError(f"check_instance_types: no facts for {', '.join(missing)}; look every instance type up first")
    unknown = [t for t in spec.instance_types if facts[t] is None]
    known = {t: f for t, f in facts.items() if f is not None}
    with at(path):
        if spec.uses_fast_image_pull and p.size_floor is not None:
            floor = p.size_floor
            need_mib = floor.memory_gib * 1024 * (1 + MEMORY_MARGIN)
            small = []
            for i, t in enumerate(spec.instance_types):
                f = known.get(t)
                if f is None:
                    continue
                if f.vcpus * 1000 < floor.milli_cpu or f.memory_mib < need_mib:
                    memory = f"{f.memory_mib / 1024:g} GiB" if f.memory_mib % 512 == 0 else f"{f.memory_mib} MiB"
                    small.append(f"{t} (instanceTypes[{i}]: {f.vcpus} vCPU, {memory})")
            if small:
                raise SpecError("instanceTypes", f"pull mode 'parallel' with the AMI's SOCI uses nodeadm's {p.feature_gate} gate, which in {release_name(p)} turns SOCI on "
                                                 f"only with >= {floor.vcpus} vCPU and >= {floor.memory_gib} GiB of online memory (the kernel reports less than "
                                                 f"EC2's figure, so EC2 memory must exceed {floor.memory_gib} GiB by {MEMORY_MARGIN:.0%}); below that the node "
                                                 f"comes up without SOCI. Too small: {', '.join(small)}; use larger types, or an upstream SOCI release as "
                                                 "sociSource (configured by this component, no size floor)")
        if spec.local_storage is LocalStorage.RAID0:
            without = [f"{t} (instanceTypes[{i}])" for i, t in enumerate(spec.instance_types) if t in known and not known[t].instance_store]
            if without:
                raise SpecError("localStorage", f"'raid0' puts containerd and SOCI on the instance-store NVMe, but these types have none: {', '.join(without)}; "
                                                "use types with local NVMe (e.g. m6id, c6id, r6id, m7gd) or localStorage: none")
    return unknown
