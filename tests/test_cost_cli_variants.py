"""The what-if command line's variant lines: a variant whose replay starts no instance has no
mean startup, and the line says so instead of printing NaN."""

from __future__ import annotations

from typing import Any

import pytest

from costmodel import cli_output


def _variant(name: str, starts_per_day: float, startup_s: float) -> dict[str, Any]:
    return {
        "variant": name,
        "monthly_cost": 12.5,
        "cold_starts_per_day": starts_per_day,
        "cold_start_share": 0.0,
        "rejected_per_day": 0.0,
        "startup_s": startup_s,
    }


def test_a_variant_without_starts_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    out = {
        "variants": [_variant("current", 3.0, 1.25), _variant("min 2 always", 0.0, float("nan"))]
    }
    cli_output._print_variants(out)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].endswith("startup 1.25 s")
    assert lines[2].endswith("no instance starts")
    assert "nan" not in "\n".join(lines).lower()
