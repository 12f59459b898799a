"""aws for the boot-script sandbox: ``secretsmanager get-secret-value`` from canned secrets.

``$NODE_SHIM_STATE/secrets.json`` maps secret id -> SecretString. The call is recorded (never
the value). Unknown ids fail like the real CLI does (exit 254, message on stderr).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

STATE = Path(os.environ["NODE_SHIM_STATE"])


def main(argv: list[str]) -> int:
    with open(STATE / "calls.jsonl", "a") as f:
        f.write(json.dumps({"cmd": "aws", "args": argv}) + "\n")
    if argv[:2] != ["secretsmanager", "get-secret-value"]:
        print(f"aws shim: unsupported command {argv[:2]}", file=sys.stderr)
        return 252
    opts = dict(zip(argv[2::2], argv[3::2], strict=False))
    if opts.get("--query") != "SecretString" or opts.get("--output") != "text" or "--region" not in opts:
        print(f"aws shim: expected --region R --secret-id ID --query SecretString --output text, got {argv[2:]}", file=sys.stderr)
        return 252
    secrets = json.loads((STATE / "secrets.json").read_text())
    sid = opts.get("--secret-id", "")
    if sid not in secrets:
        print(
            "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: "
            "Secrets Manager can't find the specified secret.",
            file=sys.stderr,
        )
        return 254
    sys.stdout.write(secrets[sid] + "\n")  # --output text prints the string and a newline
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
