"""Shared test options. Golden files: `pytest --update-goldens` rewrites them; review the diff."""

from __future__ import annotations

import pytest


def pytest_report_header(config: pytest.Config) -> str:
    from tests.support import daemons  # noqa: PLC0415 - keeps collection of the pure tests fast

    return daemons.versions_line()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", help="rewrite tests/golden from the renderer")


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))
