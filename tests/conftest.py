"""Shared test options. Golden files: `pytest --update-goldens` rewrites them; review the diff."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))  # scenarios.py, daemons.py


def pytest_report_header(config: pytest.Config) -> str:
    import daemons  # noqa: PLC0415 - tests/ is on sys.path only from here

    return daemons.versions_line()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", help="rewrite tests/golden from the renderer")


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))
