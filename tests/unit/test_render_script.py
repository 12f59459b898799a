"""render/script.py: the boot script; every value on a shell line is one word."""

from __future__ import annotations

import shlex

from soci_component.render import render
from soci_component.spec import (
    AmiPin,
    NodeGroupSpec,
    UpstreamRelease,
)
from tests.support.scenarios import CLUSTER, SECRETS
from tests.unit.specs import group, planned


def _words(line: str) -> list[str]:
    lex = shlex.shlex(line, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    return list(lex)


def test_install_line_quotes_url_and_version() -> None:
    """Mutant script-install-unquoted: ';', '&', '|', '(' are valid in urlBase; unquoted they would run commands on the node."""
    url = "https://mirror.example.com/soci;reboot&x|y(z)"
    spec = group(soci_source=UpstreamRelease(version="0.15.0", url_base=url, sha256={"amd64": "a" * 64}))
    script = render(planned(spec), CLUSTER, SECRETS).script
    lines = [line for line in script.splitlines() if line.startswith("install_soci ")]
    assert len(lines) == 1
    assert _words(lines[0]) == ["install_soci", "0.15.0", url, "$SOCI_BINARY", "a" * 64, ""]


def test_every_generated_shell_line_keeps_the_node_group_name_one_word() -> None:
    """The node-group name on the log line is one shell word (issue 17: 'quoted on every shell line')."""
    spec = NodeGroupSpec(name="a-b-c", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",))
    script = render(planned(spec), CLUSTER, SECRETS).script
    log = [line for line in script.splitlines() if line.startswith("log 'node group")]
    assert len(log) == 1 and len(_words(log[0])) == 2 and _words(log[0])[1].startswith("node group a-b-c: ")


def test_log_line_quotes_the_node_group_name() -> None:
    spec = NodeGroupSpec(name="a-b", kubernetes_version="1.33", ami=AmiPin(release="v20260714"), instance_types=("m7i.xlarge",))
    script = render(planned(spec), CLUSTER, SECRETS).script
    assert "log 'node group a-b: SOCI lazy, from AMI package, containerd 2.2.4'" in script


def test_the_region_is_set_exactly_where_secrets_are_fetched() -> None:
    """Static credentials and the kubeconfig token are read from Secrets Manager at boot, in the cluster's region."""
    from soci_component.spec import CriProxy, KubernetesSecrets, StaticCredentials

    for creds, fetches in (((StaticCredentials("registry.example.com"),), True), ((KubernetesSecrets(),), True),
                           ((StaticCredentials("registry.example.com"), KubernetesSecrets()), True), ((CriProxy(),), False)):
        script = render(planned(group(credentials=creds)), CLUSTER, SECRETS).script
        header = script.split("\nlog ", 1)[0]
        assert ("REGION=us-west-2" in header) is fetches, creds


def test_a_file_holding_the_heredoc_delimiter_gets_another_one() -> None:
    """Every file goes into the script as a quoted heredoc: a line equal to the delimiter would end it early."""
    from soci_component.render.script import _heredoc_delimiter

    assert _heredoc_delimiter("a\nb\n") == "EOF"
    assert _heredoc_delimiter("EOF\n") == "EOF1"
    assert _heredoc_delimiter("EOF\nEOF1\nx\n") == "EOF2"
    assert _heredoc_delimiter("xEOF\n EOF\n") == "EOF"
