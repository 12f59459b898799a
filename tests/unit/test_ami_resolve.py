"""ami/resolve.py: the release-pinned SSM parameter each OS / architecture / variant resolves to, as AWS documents the paths.

- AL2023: "Retrieve recommended Amazon Linux AMI IDs" (docs.aws.amazon.com/eks/latest/userguide/retrieve-ami-id.html):
  ``/aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/<x86_64|arm64>/<standard|nvidia|neuron>/recommended/image_id``,
  where ``recommended`` can be replaced by a release's AMI name, ``amazon-eks-node-al2023-<arch>-<variant>-<k8s>-v<YYYYMMDD>``
  (the names the amazon-eks-ami CHANGELOG's AMI tables list).
- Bottlerocket: "Retrieve recommended Bottlerocket AMI IDs" (docs.aws.amazon.com/eks/latest/userguide/retrieve-ami-id-bottlerocket.html):
  ``/aws/service/bottlerocket/aws-k8s-<k8s>[-nvidia]/<x86_64|arm64>/latest/image_id``, ``latest`` replaced by the release's
  version (``1.57.0``).

Never ``recommended`` or ``latest``: a moving parameter rolls every node when AWS publishes.
"""

from __future__ import annotations

import pytest

from soci_component import pipeline
from soci_component.errors import SpecError
from soci_component.spec import AmiPin, CriProxy, NodeGroupSpec, NodePoolSpec, OperatingSystem, PullMode, UpstreamRelease, Variant


def group(release: str, types: tuple[str, ...], variant: str = "standard", os: OperatingSystem = OperatingSystem.AL2023, k8s: str = "1.33") -> NodeGroupSpec:
    extra = {"os": os, "pull_mode": PullMode.PARALLEL, "credentials": (CriProxy(),)} if os is OperatingSystem.BOTTLEROCKET else {}
    return NodeGroupSpec(name="g", kubernetes_version=k8s, ami=AmiPin(release=release, variant=Variant(variant)), instance_types=types, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize("types, variant, path", [
    (("m7i.xlarge",), "standard", "/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/standard/amazon-eks-node-al2023-x86_64-standard-1.33-v20260714/image_id"),
    (("m7g.xlarge",), "standard", "/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/arm64/standard/amazon-eks-node-al2023-arm64-standard-1.33-v20260714/image_id"),
    (("g5.xlarge",), "nvidia", "/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/nvidia/amazon-eks-node-al2023-x86_64-nvidia-1.33-v20260714/image_id"),
    (("g5g.xlarge",), "nvidia", "/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/arm64/nvidia/amazon-eks-node-al2023-arm64-nvidia-1.33-v20260714/image_id"),
    (("inf2.xlarge",), "neuron", "/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/neuron/amazon-eks-node-al2023-x86_64-neuron-1.33-v20260714/image_id"),
])
def test_al2023_release_pinned_ssm_parameter(types: tuple[str, ...], variant: str, path: str) -> None:
    plan = pipeline.plan_node(group("v20260714", types, variant))
    assert plan.profile.ssm_parameter == path
    assert plan.report.ssm_parameter == path and plan.report.to_json()["ssmParameter"] == path


@pytest.mark.parametrize("types, variant, path", [
    (("m7i.xlarge",), "standard", "/aws/service/bottlerocket/aws-k8s-1.33/x86_64/1.57.0/image_id"),
    (("m7g.xlarge",), "standard", "/aws/service/bottlerocket/aws-k8s-1.33/arm64/1.57.0/image_id"),
    (("g5.xlarge",), "nvidia", "/aws/service/bottlerocket/aws-k8s-1.33-nvidia/x86_64/1.57.0/image_id"),
    (("g5g.xlarge",), "nvidia", "/aws/service/bottlerocket/aws-k8s-1.33-nvidia/arm64/1.57.0/image_id"),
])
def test_bottlerocket_release_pinned_ssm_parameter(types: tuple[str, ...], variant: str, path: str) -> None:
    plan = pipeline.plan_node(group("1.57.0", types, variant, OperatingSystem.BOTTLEROCKET))
    assert plan.profile.ssm_parameter == path and plan.report.ssm_parameter == path


@pytest.mark.parametrize("release", ["v1.57.0", "1.57.0"])
def test_bottlerocket_release_spelled_with_or_without_v_gives_one_parameter(release: str) -> None:
    assert pipeline.plan_node(group(release, ("m7g.xlarge",), os=OperatingSystem.BOTTLEROCKET)).profile.ssm_parameter.endswith("/arm64/1.57.0/image_id")


def test_no_parameter_for_a_raw_ami_and_never_a_moving_one() -> None:
    raw = NodeGroupSpec(name="g", kubernetes_version="1.33", ami=AmiPin(ami_id="ami-0123456789abcdef0", containerd_version="2.2.4"), instance_types=("m7i.xlarge",),
                        soci_source=UpstreamRelease())
    plan = pipeline.plan_node(raw)
    assert plan.profile.ssm_parameter is None and plan.report.ami_id == "ami-0123456789abcdef0"
    for spec in (group("v20260714", ("m7i.xlarge",)), group("1.57.0", ("m7g.xlarge",), os=OperatingSystem.BOTTLEROCKET)):
        p = pipeline.plan_node(spec).profile.ssm_parameter
        assert "/recommended/" not in p and "/latest/" not in p


def test_a_pool_pins_the_release_as_a_karpenter_alias() -> None:
    """Karpenter's EC2NodeClass alias (karpenter.sh docs, amiSelectorTerms: 'al2023@v20240807', 'bottlerocket@v1.20.0'), never @latest."""
    al = NodePoolSpec(name="p", kubernetes_version="1.33", ami=AmiPin(release="v20260714"))
    br = NodePoolSpec(name="b", kubernetes_version="1.33", ami=AmiPin(release="1.57.0"), os=OperatingSystem.BOTTLEROCKET, pull_mode=PullMode.PARALLEL,
                      credentials=(CriProxy(),))
    assert pipeline.plan_node(al).profile.karpenter_alias == "al2023@v20260714"
    assert pipeline.plan_node(br).profile.karpenter_alias == "bottlerocket@v1.57.0"


def test_a_variant_the_release_does_not_publish_is_refused_at_ami_variant() -> None:
    with pytest.raises(SpecError) as e:
        pipeline.plan_node(group("1.57.0", ("inf2.xlarge",), "neuron", OperatingSystem.BOTTLEROCKET))
    assert e.value.path == "ami.variant"
