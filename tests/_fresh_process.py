"""A script run in a fresh Python process with a bare environment: the dashboard's settings
come from that environment only (no credentials, no metadata server, the caller's variables)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BARE_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "NO_GCE_CHECK": "true"}


def run_script(
    script: str, *args: str, env: Mapping[str, str], timeout_s: float = 240
) -> subprocess.CompletedProcess[str]:
    """``python -c script args...`` in the repository, with BARE_ENV and ``env``."""
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env={**BARE_ENV, **env},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
