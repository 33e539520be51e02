"""What every command shares: the service's flags and shell quoting."""

from __future__ import annotations

import shlex

from foundation import names


def where(project: str, region: str) -> str:
    """``--project=P --region=R`` of validated names (InvalidName otherwise)."""
    return f"--project={names.project(project)} --region={names.region(region)}"


def quote(value: str) -> str:
    return shlex.quote(value)
