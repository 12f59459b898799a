"""The README's "Preparing images" recipe, run as written: skopeo (Debian's) copies the image CI built into
an OCI layout, the built ``soci convert --standalone`` adds a v2 index, skopeo pushes the result,
``images check --require lazy`` says ready; then a node in the box (SOCI 0.15 as the AMIs ship it,
containerd 2.2, the rendered configs) pulls that image lazily: a FUSE mount per indexed layer, range reads."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.images import support
from tests.images.conftest import ROOT, Box
from tests.node.lazy import lazy_node

MARKER = "<!-- images-recipe:"


def readme_recipe() -> str:
    text = (ROOT / "README.md").read_text()
    after = text[text.index(MARKER):]
    m = re.search(r"```sh\n(.*?)```", after, re.S)
    assert m, "the recipe block after the marker"
    return m.group(1)


def test_readme_recipe_then_a_node_pulls_lazily(box: Box, tmp_path: Path) -> None:
    skopeo = shutil.which("skopeo")
    assert skopeo, "skopeo is not installed: scripts/fetch-daemons installs it (Debian's package)"
    recipe = readme_recipe()
    assert "soci convert --standalone" in recipe and "images check --require lazy" in recipe

    image = support.build((14,), seed=71, name="images-recipe")
    box.client.push_image(image, "recipe/app", "built")  # what CI built and pushed

    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "python").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')  # this venv's interpreter as `python`
    (shims / "python").chmod(0o755)
    work = tmp_path / "ci"
    work.mkdir()
    env = {
        "PATH": f"{shims}:{support.soci_binary().parent}:/usr/bin:/bin", "HOME": str(work), "TMPDIR": str(tmp_path),
        "REGISTRY": box.host, "REPO": "recipe/app", "TAG": "built",
        "REGISTRY_AUTH_FILE": str(box.docker_config), "DOCKER_CONFIG": str(box.docker_config.parent), "SSL_CERT_FILE": str(box.ca),
        "PYTHONPATH": str(ROOT),
    }
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", recipe], cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    assert "ready: every image loads lazily" in r.stdout
    out = r.stdout
    for layer in image.layers:  # every layer of what we built is reported with a zTOC (all >= 10 MiB)
        assert re.search(rf"{layer.digest} +\S+ \S+ +zTOC sha256:[0-9a-f]{{64}}", out), (layer.digest, out)
    assert "without its artifactType" in out  # skopeo 1.9 drops it; SOCI does not need it

    pub = box.pub
    ref = f"{pub.registry.host}/recipe/app:built-soci"  # the same registry, as the node names it
    with lazy_node(tmp_path / "node", pub, "c22-lazy-ecr-ami") as ln:
        before = pub.log_offset()
        rc, res = ln.pull(ref)
        assert rc == 0, res
        mounts = ln.fuse_mounts()
        assert len(mounts) == len(image.layers) and {(t, s) for _, t, s in mounts} == {("fuse.rawBridge", "soci")}, mounts
        assert pub.bytes_served(before) < 0.05 * image.total_size
        marker = image.file("app/marker.txt")
        assert (ln.layer_dir(marker.path) / marker.path).read_bytes() == marker.content()
        big = image.file("data/layer1.bin")
        with open(ln.layer_dir(big.path) / big.path, "rb") as f:
            f.seek(5 * support.MiB + 17)
            assert f.read(support.MiB) == big.range(5 * support.MiB + 17, support.MiB)
        reads = [status for method, path, status, _ in pub.served(before) if method == "GET" and path.rsplit("/", 1)[-1] in {x.digest for x in image.layers}]
        assert reads and set(reads) == {206}, f"a layer was fetched whole, not by ranges: {reads}"
    assert os.listdir(work) and not (ROOT / "image-oci").exists()
