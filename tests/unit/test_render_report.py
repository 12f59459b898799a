"""render/report.py: the facts a user reads in ``report.json`` and the components' ``report`` output, asserted by behaviour on
every containerd line, raw ``amiId`` pins included (not only as golden bytes).

Who imports the pause image into SOCI's store before the kubelet starts: from containerd 2.2.3 the CRI unpacks the pause image
through the runtime's snapshotter, SOCI (amazon-eks-ami#2710); nodeadm imports it itself under its parallel-pull gate from the
releases that carry amazon-eks-ami#2717, otherwise our boot script's drop-in does; below 2.2.3 nobody needs to.
"""

from __future__ import annotations

import json

import pytest

from soci_component import pipeline
from soci_component.render.paths import KUBELET_PAUSE_DROPIN
from soci_component.render.report import AMI_SOCI_VERSION_UNPUBLISHED
from soci_component.spec import AmiPin, CriProxy, NodeGroupSpec, OperatingSystem, PullMode, UpstreamRelease
from tests.support.scenarios import CLUSTER, SCENARIOS, SECRETS

RAW = "ami-0123456789abcdef0"


def raw(containerd: str, **kw: object) -> NodeGroupSpec:
    return NodeGroupSpec(name="raw", kubernetes_version="1.33", ami=AmiPin(ami_id=RAW, containerd_version=containerd), instance_types=("m7i.xlarge",),
                         soci_source=UpstreamRelease(), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("containerd, by", [("1.7.16", None), ("1.7.27", None), ("2.0.5", None), ("2.1.4", None), ("2.2.2", None), ("2.2.3", "boot-script"),
                                            ("2.2.4", "boot-script"), ("2.3.0", "boot-script")])
@pytest.mark.parametrize("mode", [PullMode.LAZY, PullMode.PARALLEL, PullMode.LAZY_WITH_PARALLEL_FALLBACK])
def test_pause_import_on_every_containerd_line_of_a_raw_ami(containerd: str, by: str | None, mode: PullMode) -> None:
    """A raw amiId runs our SOCI (a release): the boot script imports the pause image from 2.2.3, and the report says so."""
    p = pipeline.plan_node(raw(containerd, pull_mode=mode, credentials=(CriProxy(),)))
    assert p.report.pause_image_imported_into_soci_by == by
    assert p.report.to_json()["pauseImageImportedIntoSociBy"] == by
    assert (KUBELET_PAUSE_DROPIN in [f.path for f in p.files]) is (by == "boot-script")
    assert p.report.ami_id == RAW and p.report.ami_release is None and p.report.ssm_parameter is None


@pytest.mark.parametrize("name", sorted(n for n, s in SCENARIOS.items() if s.spec.os is OperatingSystem.AL2023))
def test_the_report_says_who_imports_the_pause_image_and_the_node_gets_that(name: str) -> None:
    """Every AL2023 golden scenario: 'nodeadm' exactly when nodeadm's gate wires SOCI on containerd >= 2.2.3 (then the boot script
    writes no import drop-in), 'boot-script' when our drop-in does it, None below 2.2.3."""
    s = SCENARIOS[name]
    r = s.plan.report
    files = [f.path for f in s.render().files]
    if s.profile.containerd_version < (2, 2, 3):
        assert r.pause_image_imported_into_soci_by is None and KUBELET_PAUSE_DROPIN not in files
    elif s.spec.uses_fast_image_pull:
        assert r.pause_image_imported_into_soci_by == "nodeadm" and s.profile.pause_import and KUBELET_PAUSE_DROPIN not in files
    else:
        assert r.pause_image_imported_into_soci_by == "boot-script" and KUBELET_PAUSE_DROPIN in files


def test_bottlerocket_reports_no_pause_import_no_schema_and_its_own_root() -> None:
    r = SCENARIOS["bottlerocket-parallel"].plan.report.to_json()
    assert r["pauseImageImportedIntoSociBy"] is None and r["containerdConfigSchema"] is None
    assert r["soci"] == {"source": "ami-package", "version": r["soci"]["version"], "root": "/var/lib/soci-snapshotter", "contentStore": None}
    assert [d["device"] for d in r["blockDevices"]] == ["/dev/xvda", "/dev/xvdb"]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_report_fields_are_the_specs_and_the_amis(name: str) -> None:
    s = SCENARIOS[name]
    r = s.render().report.to_json()
    spec, profile = s.spec, s.profile
    assert r["nodeGroup"] == spec.name and r["os"] == spec.os.value and r["pullMode"] == spec.pull_mode.value
    assert r["amiRelease"] == spec.ami.release and r["kubernetesVersion"] == spec.kubernetes_version and r["arch"] == spec.arch.value
    assert r["containerdVersion"] == ".".join(map(str, profile.containerd_version))
    assert r["credentialSources"] == [c.kind.value for c in spec.creds]
    assert r["labels"]["soci.snapshotter/enabled"] == "true" and r["labels"]["soci.snapshotter/pull-mode"] == spec.pull_mode.value
    assert r["taints"] == [t.flag for t in spec.taints]
    if spec.os is OperatingSystem.AL2023:
        assert r["containerdConfigSchema"] == (3 if profile.containerd_version >= (2, 0, 0) else 2)
        assert r["soci"]["root"] == spec.tuning.root and r["soci"]["contentStore"] == spec.content_store.value
        assert r["nodeadmFeatureGate"] == (profile.feature_gate if spec.uses_fast_image_pull else None)
    if isinstance(spec.soci_source, UpstreamRelease):
        assert r["soci"] == {**r["soci"], "source": "release", "version": spec.soci_source.version}
    elif spec.os is OperatingSystem.AL2023:
        assert r["soci"]["version"] is None and AMI_SOCI_VERSION_UNPUBLISHED in r["unconfirmed"]
    json.dumps(r)  # plain JSON data


def test_rendering_does_not_change_the_report() -> None:
    """The report is known at plan time (the components export it before the cluster exists)."""
    s = SCENARIOS["c22-lazy-ecr-ami"]
    planned = pipeline.plan_node(s.spec)
    assert pipeline.render_node(planned, CLUSTER, SECRETS).report == planned.report
