"""Tests against real AWS (opt-in): what they need, as skip marks that say why."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def aws_credentials() -> bool:
    """Whether the AWS SDK's usual sources could give credentials (without asking AWS)."""
    env = os.environ
    if env.get("AWS_ACCESS_KEY_ID") or env.get("AWS_PROFILE") or env.get("AWS_WEB_IDENTITY_TOKEN_FILE") or env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        return True
    return Path(env.get("AWS_SHARED_CREDENTIALS_FILE", Path.home() / ".aws/credentials")).is_file()


NEEDS_PULUMI = pytest.mark.skipif(shutil.which("pulumi") is None, reason="needs the Pulumi CLI (not on PyPI or Debian; https://www.pulumi.com/docs/install/)")
NEEDS_CREDENTIALS = pytest.mark.skipif(not aws_credentials(), reason="needs AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, or ~/.aws/credentials)")
