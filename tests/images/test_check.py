"""``check_image`` against the suite's real registry (distribution 2.8, TLS, htpasswd basic auth).

Every image was made here: v2 by ``soci convert`` (through containerd, and ``--standalone`` with every built SOCI:
0.15.0 and 0.16.1), v1 only by
``soci create`` + ``soci push``, unindexed, multi-arch indexed for one platform, small layers. The
expected layer digests, sizes and byte shares come from the images we built (``tests/node/images.py``)
and the SOCI indexes from raw registry reads, never from the code under test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from soci_component.images import Attachment, Checker, IndexKind, NoZtoc, Platform, check_image
from tests.images import support
from tests.images.conftest import PLAIN_REPO, REPO, V1_REPO, Box

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64", "v8")


def _layers(image: support.Image) -> list[tuple[str, int]]:
    return [(layer.digest, layer.size) for layer in image.layers]


def test_v2_index_made_by_soci_convert(box: Box) -> None:
    report = check_image(box.ref(REPO), auth=box.auth())
    raw = support.raw_json(box.client, REPO, "v1")
    soci_entry = next(e for e in raw["manifests"] if e.get("artifactType") == support.SOCI_V2)
    image_entry = next(e for e in raw["manifests"] if "artifactType" not in e)
    assert report.multi_platform and report.digest == support.raw_digest(box.client, REPO, "v1")
    (p,) = report.platforms
    assert p.platform == AMD64 and p.manifest_digest == image_entry["digest"]
    assert p.index is IndexKind.V2 and p.soci_index is not None
    assert p.soci_index.digest == soci_entry["digest"] and p.soci_index.attachment is Attachment.IMAGE_INDEX
    image = box.images["app"]
    assert [(x.digest, x.size) for x in p.layers] == _layers(image)
    ztocs = support.ztoc_map(box.client, REPO, soci_entry["digest"])
    assert {x.digest: x.ztoc for x in p.layers} == {layer.digest: ztocs[layer.digest] for layer in image.layers}
    assert p.lazy() and p.lazy_share() == pytest.approx(support.expected_share(image)) == 1.0
    assert p.notes == ()


def test_v1_only_is_ignored_unless_v1_indexes(box: Box) -> None:
    (p,) = check_image(box.ref(V1_REPO), auth=box.auth()).platforms
    image = box.images["app"]
    assert p.manifest_digest == image.manifest_digest  # soci create indexes the image as pushed
    assert p.index is IndexKind.V1 and p.soci_index is not None
    # distribution 2.8 has no Referrers API: soci push (oras-go) wrote the referrers tag, and SOCI reads it there
    tag = support.raw_json(box.client, V1_REPO, image.manifest_digest.replace(":", "-"))
    (v1,) = [e for e in tag["manifests"] if e.get("artifactType") == support.SOCI_V1]
    assert p.soci_index.digest == v1["digest"] and p.soci_index.attachment is Attachment.REFERRERS_TAG
    assert [x.digest for x in p.layers if x.ztoc] == [layer.digest for layer in image.layers]
    assert not p.lazy() and p.lazy_share() == 0.0
    assert p.lazy(v1_indexes=True) and p.lazy_share(v1_indexes=True) == pytest.approx(support.expected_share(image))


@pytest.mark.parametrize(("repo", "tag", "name"), [(REPO, "unindexed", "app"), (PLAIN_REPO, "v1", "plain")])
def test_unindexed(box: Box, repo: str, tag: str, name: str) -> None:
    report = check_image(box.ref(repo, tag), auth=box.auth())
    image = box.images[name]
    assert not report.multi_platform and report.digest == image.manifest_digest
    (p,) = report.platforms
    assert p.platform == AMD64  # from the image config: a single manifest has no platform of its own
    assert p.index is IndexKind.NONE and p.soci_index is None and not p.lazy()
    assert [(x.digest, x.size, x.ztoc, x.reason) for x in p.layers] == [(d, s, None, NoZtoc.NO_INDEX) for d, s in _layers(image)]


def test_small_layers_get_no_ztoc(box: Box) -> None:
    """The same image converted by every built SOCI (0.15.0, 0.16.1): the 2 MiB layer has no zTOC, the share is exact."""
    image = box.images["small"]
    small = [layer for layer in image.layers if layer.size < support.MIN_LAYER_SIZE]
    assert len(small) == 1 and len(image.layers) == 3
    expected = sum(layer.size for layer in image.layers if layer not in small) / sum(layer.size for layer in image.layers)
    assert set(box.small) >= {"soci-0.15", "soci-0.16"}
    for key, (repo, soci_index) in sorted(box.small.items()):
        (p,) = check_image(box.ref(repo), auth=box.auth()).platforms
        assert p.index is IndexKind.V2 and p.soci_index is not None and p.soci_index.digest == soci_index, key
        ztocs = support.ztoc_map(box.client, repo, soci_index)
        for x, layer in zip(p.layers, image.layers, strict=True):
            assert (x.digest, x.size) == (layer.digest, layer.size)
            if layer.size < support.MIN_LAYER_SIZE:
                assert (x.ztoc, x.reason) == (None, NoZtoc.BELOW_MIN_LAYER_SIZE), key
            else:
                assert (x.ztoc, x.reason) == (ztocs[layer.digest], None), key
        assert p.lazy_share() == pytest.approx(expected) == pytest.approx(support.expected_share(image)) and 0.5 < expected < 1.0


def test_attached_by_the_manifest_annotation_alone(box: Box) -> None:
    """A single image manifest whose annotation names a SOCI index pushed by digest: SOCI needs nothing else."""
    report = check_image(box.ref("check/annotated"), auth=box.auth())
    assert not report.multi_platform and report.digest == box.digests["small-manifest"]
    (p,) = report.platforms
    assert p.index is IndexKind.V2 and p.soci_index is not None
    assert (p.soci_index.digest, p.soci_index.attachment) == (box.digests["small-soci-index"], Attachment.MANIFEST_ANNOTATION)
    assert p.lazy_share() == pytest.approx(support.expected_share(box.images["small"]))


def test_annotation_naming_a_missing_index_is_broken(box: Box) -> None:
    (p,) = check_image(box.ref("check/broken"), auth=box.auth()).platforms
    assert p.index is IndexKind.BROKEN and not p.lazy() and p.lazy_share() == 0.0
    assert p.soci_index is not None and p.soci_index.digest == box.digests["small-soci-index"]
    assert any("pulls the image whole" in n for n in p.notes)
    assert all(x.ztoc is None for x in p.layers)


def test_multi_arch_indexed_for_one_platform(box: Box) -> None:
    image = box.images["multi-amd64"]
    raw = support.raw_json(box.client, "check/multi", "v1")
    arm_entry = next(e for e in raw["manifests"] if e.get("platform", {}).get("architecture") == "arm64")
    report = Checker(box.auth()).check(box.ref("check/multi"))
    assert report.multi_platform and {str(p.platform) for p in report.platforms} == {"linux/amd64", "linux/arm64/v8"}
    amd, arm = report.for_platform(AMD64), report.for_platform(Platform("linux", "arm64"))
    assert amd is not None and arm is not None and arm.platform == ARM64
    assert amd.index is IndexKind.V2 and amd.lazy() and amd.lazy_share() == pytest.approx(support.expected_share(image))
    assert arm.index is IndexKind.NONE and arm.manifest_digest == arm_entry["digest"] and not arm.lazy()
    assert [(x.digest, x.size) for x in arm.layers] == _layers(image)  # same layers, pulled whole on arm64
    # only the platform asked for: one manifest fetched, the other platform not reported
    only = check_image(box.ref("check/multi"), platform="linux/arm64", auth=box.auth())
    assert [p.platform for p in only.platforms] == [ARM64] and only.missing_platforms == ()
    gone = check_image(box.ref("check/multi"), platform="linux/s390x", auth=box.auth())
    assert gone.platforms == () and gone.missing_platforms == (Platform("linux", "s390x"),)


def test_cli_json_and_require_lazy(box: Box, tmp_path: Path) -> None:
    ok = box.cli("--json", "--require", "lazy", box.ref(REPO), box.ref("check/small"), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert [i["platforms"][0]["index"] for i in doc["images"]] == ["v2", "v2"] and doc["lazyRequirementUnmet"] == []
    small = doc["images"][1]["platforms"][0]
    assert [x["reason"] for x in small["layers"]] == [None if layer.size >= support.MIN_LAYER_SIZE else "below-min-layer-size" for layer in box.images["small"].layers]
    v1 = box.cli("--require", "lazy", box.ref(V1_REPO), cwd=tmp_path)
    assert v1.returncode == 1 and "only a SOCI v1 index" in v1.stdout and "tuning.v1Indexes" in v1.stdout and "NOT READY (1)" in v1.stdout
    assert box.cli("--require", "lazy", "--v1-indexes", box.ref(V1_REPO), cwd=tmp_path).returncode == 0
    multi = box.cli("--require", "lazy", "--no-layers", box.ref("check/multi"), cwd=tmp_path)
    assert multi.returncode == 1 and "linux/arm64/v8" in multi.stdout.split("NOT READY")[1]
    assert box.cli("--require", "lazy", "--platform", "linux/amd64", box.ref("check/multi"), cwd=tmp_path).returncode == 0
    assert list(tmp_path.iterdir()) == []


STACK = """\
config:
  aws:region: us-west-2
  soci-eks:cluster:
    name: images-check
    kubernetesVersion: "1.33"
  soci-eks:nodeGroups:
    - name: amd
      ami: {{release: v20260714}}
      instanceTypes: [m7i.xlarge]
      pullMode: lazy
    - name: graviton
      ami: {{release: v20260714}}
      instanceTypes: [m7g.xlarge]
      pullMode: lazy
      tuning: {{v1Indexes: true}}
    - name: bulk
      ami: {{release: v20260714}}
      instanceTypes: [m7i.2xlarge]
      pullMode: parallel
  soci-eks:demo:
    image: {image}
"""


def test_cli_stack_per_group_platform(box: Box, tmp_path: Path) -> None:
    """--config: the demo image as each group's nodes pull it (their arch, their v1Indexes, their pull mode)."""
    stack = tmp_path / "stack" / "Pulumi.x.yaml"
    stack.parent.mkdir()
    stack.write_text(STACK.format(image=box.ref("check/multi")))
    r = box.cli("--json", "--require", "lazy", "--config", str(stack), cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    targets = {t["name"]: t for t in doc["targets"]}
    assert set(targets) == {"nodeGroups.amd", "nodeGroups.graviton", "nodeGroups.bulk"}
    share = support.expected_share(box.images["multi-amd64"])
    assert (targets["nodeGroups.amd"]["platform"], targets["nodeGroups.amd"]["lazy"]) == ("linux/amd64", True)
    assert targets["nodeGroups.amd"]["lazyShare"] == pytest.approx(share, abs=1e-6)
    assert (targets["nodeGroups.graviton"]["platform"], targets["nodeGroups.graviton"]["lazy"]) == ("linux/arm64", False)
    assert (targets["nodeGroups.bulk"]["lazyMode"], targets["nodeGroups.bulk"]["lazy"]) == (False, False)
    assert len(doc["lazyRequirementUnmet"]) == 1 and "nodeGroups.graviton" in doc["lazyRequirementUnmet"][0]
    text = box.cli("--no-layers", "--config", str(stack), cwd=tmp_path)
    assert text.returncode == 0 and "nodeGroups.bulk (linux/amd64) pulls" in text.stdout and "pull mode parallel" in text.stdout
    bad = tmp_path / "stack" / "Pulumi.bad.yaml"
    bad.write_text(STACK.format(image=box.ref("check/multi")).replace("m7g.xlarge", "m7g_xlarge"))
    r = box.cli("--config", str(bad), cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == "" and "nodeGroups[1].instanceTypes[0]" in r.stderr and "Traceback" not in r.stderr
