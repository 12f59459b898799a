"""The pipeline's properties through the program under Pulumi mocks (the pure ones: tests/unit/test_pipeline_properties.py):

- no secret in any output: registry credentials given as a secret, well-formed and malformed, reach only the Secrets Manager
  secret version (and there as a Pulumi secret); never an error, a log line (warnings included), a stack output or another
  resource's inputs, for node groups and pools;
- no setting silently ignored: the keys that reach only the AWS resources (tests/unit/properties.py ``AWS_RESOURCES_ONLY``)
  change what the managed node group is created with.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from soci_component.config import PROJECT
from tests.mocks.test_stacks import encode, run_program
from tests.support.pulumi_mocks import SECRET_SIG, SIG_KEY, unwrap
from tests.unit.properties import AWS_RESOURCES_ONLY, TOGGLES, put

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ROOT = Path(__file__).resolve().parents[2]
DEV = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())["config"]
SECRET = "S3cr3t-Pa55w0rd-do-not-print"
KEY = f"{PROJECT}:registryCredentials"


def with_static(pool: bool) -> dict[str, Any]:
    c = copy.deepcopy(DEV)
    group = c["soci-eks:nodeGroups"][0]
    group["credentials"] = [{"type": "ecr-credential-helper"}, {"type": "static", "registry": "registry.example.com"}]
    group.update(pullMode="lazy")
    if pool:
        entry = {k: v for k, v in group.items() if k not in ("capacityType", "scaling", "subnetIds")}
        c["soci-eks:nodePools"] = [{**entry, "name": "pool"}]
        c["soci-eks:nodeGroups"][0]["credentials"] = [{"type": "ecr-credential-helper"}]
    return c


def run_logged(values: dict[str, Any], caplog: pytest.LogCaptureFixture) -> tuple[Any, dict[str, Any], str]:
    with caplog.at_level(logging.DEBUG):
        m, out = run_program(encode(values), [KEY])
    return m, out, "\n".join(r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("pool", [False, True], ids=["group", "pool"])
def test_a_valid_secret_reaches_secrets_manager_only(pool: bool, caplog: pytest.LogCaptureFixture) -> None:
    values = with_static(pool)
    values[KEY] = {"registry.example.com": {"username": "robot", "password": SECRET}}
    m, out, logs = run_logged(values, caplog)
    (version,) = m.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    raw = version.inputs["secretString"]
    assert isinstance(raw, dict) and raw.get(SIG_KEY) == SECRET_SIG, "the secret string must be a Pulumi secret"
    assert json.loads(unwrap(raw)) == {"username": "robot", "password": SECRET}
    leaks = [r.name for r in m.resources if r is not version and SECRET in json.dumps(unwrap(r.inputs), default=str)]
    assert leaks == []
    assert SECRET not in json.dumps(out, default=str)
    assert SECRET not in logs
    assert logs, "the program logs (warnings at least): the log check must see something"


MALFORMED: list[Any] = [
    {"registry.example.com": SECRET},
    {"registry.example.com": [SECRET]},
    {"registry.example.com": {"username": "robot", "password": [SECRET]}},
    {"registry.example.com": {"username": "robot", "password": SECRET, "token": SECRET}},
    {"registry.example.com": {"username": SECRET}},
    {"other.example.com": {"username": "robot", "password": SECRET}},
    SECRET,
]


@pytest.mark.parametrize("shape", range(len(MALFORMED)))
def test_a_malformed_secret_is_refused_without_showing_it(shape: int, caplog: pytest.LogCaptureFixture) -> None:
    values = with_static(False)
    values[KEY] = copy.deepcopy(MALFORMED[shape])
    with caplog.at_level(logging.DEBUG), pytest.raises(pulumi.RunError) as e:
        run_program(encode(values), [KEY])
    assert SECRET not in str(e.value), str(e.value)
    assert str(e.value).startswith("registryCredentials"), str(e.value)[:200]
    assert SECRET not in "\n".join(r.getMessage() for r in caplog.records)


def _group_inputs(values: dict[str, Any]) -> dict[str, Any]:
    m, _ = run_program(encode(values))
    inputs = unwrap(m.one("aws:eks/nodeGroup:NodeGroup", "lazy").inputs)
    return {k: v for k, v in inputs.items() if k in ("capacityType", "scalingConfig", "subnetIds", "instanceTypes")}


def test_settings_that_reach_only_the_aws_resources_change_them() -> None:
    """Each key of AWS_RESOURCES_ONLY, toggled on the dev stack's group, changes the EKS node group it is created with."""
    base_values = copy.deepcopy(DEV)
    base = _group_inputs(base_values)
    unchanged = []
    for key in AWS_RESOURCES_ONLY:
        for value in TOGGLES[key]:
            values = copy.deepcopy(DEV)
            values["soci-eks:nodeGroups"][0] = put(values["soci-eks:nodeGroups"][0], key, value)
            if key == "instanceTypes" and value[0].startswith(("m7g", "m6id")):
                continue  # another architecture or instance store: rules and user data change too (the unit property covers them)
            if _group_inputs(values) == base:
                unchanged.append(f"{key}={json.dumps(value)}")
    assert unchanged == []
