"""``python -m costmodel whatif`` run as a user runs it, for the tests of its output."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def whatif(service: str, *flags: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m costmodel whatif --service SERVICE FLAGS``, its status and output."""
    return subprocess.run(
        [sys.executable, "-m", "costmodel", "whatif", "--service", service, *flags],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def whatif_json(service: str, *flags: str, env: Mapping[str, str]) -> dict[str, Any]:
    """The command's --json output (it must succeed)."""
    out = whatif(service, "--json", *flags, env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]
