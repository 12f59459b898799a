"""instances.py: the facts rules need about EC2 instance types, against EC2's own instance-type data.

The data: moto's ``ec2/resources/instance_types.json.gz`` (moto 5.2.5, pinned in requirements.txt: test-only), DescribeInstanceTypes
output as AWS returns it (``GpuInfo``, ``NeuronInfo``, ``InferenceAcceleratorInfo``, ``FpgaInfo``, ``MediaAcceleratorInfo``, ``VCpuInfo``,
``MemoryInfo``, ``ProcessorInfo``, ``InstanceStorageSupported``), kept up to date by moto's maintainers from the EC2 API. Cross-check:
AWS's accelerated-computing list (docs.aws.amazon.com/ec2/latest/instancetypes/ac.html).
"""

from __future__ import annotations

import gzip
import json
from importlib import resources
from typing import Any

import pytest

from soci_component.instances import AMD, NEURON, NVIDIA, OTHER, estimate, instance_accelerator
from soci_component.spec import Arch, arch_of

EC2: dict[str, Any] = json.loads(gzip.decompress(resources.files("moto.ec2.resources").joinpath("instance_types.json.gz").read_bytes()))


DATA_GAPS = {"trn2u.48xlarge": NEURON}
"""Types this data describes without their accelerator: trn2u (Trn2 UltraServer nodes) has Trainium2 devices (ac.html, Trn2)
but no NeuronInfo here."""


def accelerator(info: dict[str, Any]) -> str | None:
    """What EC2 says a type carries: NVIDIA or AMD GPUs, AWS Neuron devices (Inferentia/Trainium), or another accelerator."""
    gpus = (info.get("GpuInfo") or {}).get("Gpus") or []
    if any(g.get("Manufacturer") == "NVIDIA" for g in gpus):
        return NVIDIA
    if any(g.get("Manufacturer") == "AMD" for g in gpus):
        return AMD
    if info.get("NeuronInfo") or any(a.get("Manufacturer") == "AWS" for a in (info.get("InferenceAcceleratorInfo") or {}).get("Accelerators") or []):
        return NEURON
    if gpus or info.get("InferenceAcceleratorInfo") or info.get("FpgaInfo") or info.get("MediaAcceleratorInfo"):
        return OTHER
    return None


def test_the_data_is_there() -> None:
    assert len(EC2) > 1000 and "m7i.xlarge" in EC2 and "g5.xlarge" in EC2 and "trn1.2xlarge" in EC2


def test_every_instance_types_accelerator_is_ec2s() -> None:
    """Which AMI variant drives a type (rules/node.py, rules/warnings.py) depends on this: NVIDIA -> nvidia, Neuron -> neuron
    (Bottlerocket: standard), anything else -> no driver in any EKS AMI."""
    wrong = {t: (instance_accelerator(t), accelerator(info)) for t, info in sorted(EC2.items())
             if instance_accelerator(t) != accelerator(info) and t not in DATA_GAPS}
    assert wrong == {}
    assert all(instance_accelerator(t) == want for t, want in DATA_GAPS.items())


@pytest.mark.parametrize("family, expected", [("g5", NVIDIA), ("g6e", NVIDIA), ("gr6", NVIDIA), ("p5", NVIDIA), ("p4d", NVIDIA), ("g5g", NVIDIA), ("g4dn", NVIDIA),
                                              ("g4ad", AMD), ("inf1", NEURON), ("inf2", NEURON), ("trn1", NEURON), ("trn2", NEURON), ("dl1", OTHER),
                                              ("dl2q", OTHER), ("f1", OTHER), ("f2", OTHER), ("vt1", OTHER), ("m7i", None), ("c7gn", None)])
def test_accelerated_computing_families(family: str, expected: str | None) -> None:
    """AWS's accelerated computing families (ac.html), including the ones the data in this moto release lacks (g4ad, dl1, f1)."""
    assert instance_accelerator(f"{family}.xlarge") == expected


def test_every_instance_types_architecture_is_ec2s() -> None:
    wrong = {}
    for t, info in EC2.items():
        archs = info["ProcessorInfo"]["SupportedArchitectures"]
        want = Arch.ARM64 if "arm64" in archs else Arch.X86_64
        if arch_of(t) is not want:
            wrong[t] = (arch_of(t).value, archs)
    assert wrong == {}


def test_estimates_of_current_types_agree_with_ec2() -> None:
    """Offline, nodeadm's size floor and RAID0's instance store are checked with estimated facts: vCPUs exact, memory a lower bound,
    instance store exact. An estimate above EC2's would pass render and fail at preview; an instance store missed would refuse in render
    what preview accepts. Current-generation types (previous generations' names do not follow today's size rule: c4.8xlarge has 36 vCPUs)."""
    wrong = {}
    for t, info in EC2.items():
        f = estimate(t)
        if f is None or not info.get("CurrentGeneration"):
            continue
        vcpus, mib, store = info["VCpuInfo"]["DefaultVCpus"], info["MemoryInfo"]["SizeInMiB"], bool(info.get("InstanceStorageSupported"))
        if f.vcpus != vcpus or f.memory_mib > mib or f.instance_store != store:
            wrong[t] = {"estimate": (f.vcpus, f.memory_mib, f.instance_store), "ec2": (vcpus, mib, store)}
    assert wrong == {}
