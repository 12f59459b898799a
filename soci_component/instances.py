"""Facts about EC2 instance types that rules need: vCPUs, memory, instance store, accelerator.

At ``pulumi preview`` the components read the real facts (``aws.ec2.get_instance_type``). Offline
(``render``), :func:`estimate` derives them from the type's name where EC2's naming settles them —
vCPUs from the size (``large`` 2, ``xlarge`` 4, ``<n>xlarge`` 4n), a lower bound of memory from the
family class, instance store from the ``d`` attribute or a storage family — and returns None where it
does not (``metal``, unknown families); the offline report says which types were estimated.

Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["InstanceFacts", "estimate", "instance_accelerator"]


@dataclass(frozen=True)
class InstanceFacts:
    vcpus: int
    memory_mib: int
    instance_store: bool
    accelerator: str | None = None
    """``nvidia`` (GPU), ``neuron`` (Inferentia/Trainium), ``amd``, ``other`` or None."""
    estimated: bool = False
    """Derived from the type name (offline), not read from EC2."""


_TYPE = re.compile(r"([a-z]+)([0-9]+)([a-z0-9-]*)\.([a-z0-9-]+)")
_SIZE = re.compile(r"([0-9]*)xlarge")
# GiB of memory per vCPU, the smallest of the class's current families (EC2's DescribeInstanceTypes, as tests/unit/test_instances.py
# checks against every current type): d3en has 4, g5g and inf1 have 2.
_MEMORY_PER_VCPU = {"c": 1.875, "m": 4, "r": 8, "x": 15.25, "z": 8, "t": 4, "i": 7.625, "d": 4, "g": 2, "p": 7.625, "inf": 2, "trn": 4, "im": 4, "is": 6}
_STORE_FROM = {"g": 5, "p": 5, "trn": 1, "x": 1}
"""Accelerated (and x1) families with local NVMe without a 'd' in their name, from this generation on (g5, g6, g6e, g7, p5, p6-b200,
trn1, trn2, x1, x1e), except Graviton ones (g5g) and x2g/x8g, which have none (EC2's InstanceStorageSupported)."""


def _vcpus(size: str) -> int | None:
    if size == "large":
        return 2
    m = _SIZE.fullmatch(size)
    if m:
        return 4 * int(m.group(1) or 1)
    return None


NVIDIA = "nvidia"
NEURON = "neuron"
AMD = "amd"
OTHER = "other"
"""Accelerators no EKS AMI variant has a driver for: Habana Gaudi (dl1), Qualcomm AI 100 (dl2q), FPGAs (f1, f2), Xilinx (vt1)."""


def accelerator_of(family: str, attributes: str = "") -> str | None:
    """The accelerator of an instance family (EC2's accelerated computing families, docs.aws.amazon.com/ec2/latest/instancetypes/ac.html):
    NVIDIA GPUs in g*, gr*, p* except g4ad (AMD Radeon Pro V520); AWS Neuron in inf* and trn*."""
    if family == "g" and "a" in attributes and "d" in attributes:  # g4ad: AMD GPUs
        return AMD
    if family in ("g", "p", "gr"):
        return NVIDIA
    if family in ("inf", "trn"):
        return NEURON
    if family in ("dl", "f", "vt"):
        return OTHER
    return None


def instance_accelerator(instance_type: str) -> str | None:
    """``nvidia``, ``neuron``, ``amd`` or ``other`` (an accelerator no EKS AMI drives) from the type's family, else None."""
    m = _TYPE.fullmatch(instance_type)
    return accelerator_of(m.group(1), m.group(3)) if m else None


def estimate(instance_type: str) -> InstanceFacts | None:
    """Facts from the name alone, or None when the name does not settle them."""
    m = _TYPE.fullmatch(instance_type)
    if not m:
        return None
    family, generation, attributes, size = m.groups()
    vcpus = _vcpus(size)
    ratio = _MEMORY_PER_VCPU.get(family)
    if vcpus is None or ratio is None:
        return None
    store = "d" in attributes or family in ("i", "d", "im", "is") or (
        family in _STORE_FROM and int(generation) >= _STORE_FROM[family] and not attributes.startswith("g") and not (family == "x" and int(generation) > 1))
    return InstanceFacts(vcpus=vcpus, memory_mib=int(vcpus * ratio * 1024), instance_store=store, accelerator=accelerator_of(family, attributes), estimated=True)
