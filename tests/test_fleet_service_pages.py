"""A service's pages cost the same calls whatever the fleet's size: its own series, logs and
configuration, in the regions it runs in, learnt from Monitoring for that service alone (not
from the fleet's listing). The dashboard's data layer runs in a fresh process (it reads its
settings once per process) against emulators of 10 and 300 services."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from _fresh_process import run_script

import emulator

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "pages-home"
SCRIPT = """
import sys
import app_data
scope, problems = app_data.scope_from_query({"service": "checkout-api", "project": sys.argv[1]})
assert not problems, problems
view = app_data.resolve(scope)
shown = app_data.revisions(view)
assert shown is not None and not shown.cards.empty, "no revisions shown"
assert not app_data.cold_starts(view).quality.reasons, "cold starts partial"
print("ok")
"""


@pytest.fixture(scope="module")
def fleets() -> Iterator[dict[int, Any]]:
    now = datetime.now(UTC)
    with (
        emulator.start(now=now, days=1, seed=3, services=10, projects=(PROJECT,)) as small,
        emulator.start(
            now=now, days=1, seed=3, services=300, projects=(PROJECT, "pages-two")
        ) as big,
    ):
        yield {10: small, 300: big}


def _page_calls(emu: Any) -> dict[str, int]:
    env = {
        "RUNWATCH_SOURCE": "demo",
        "RUNWATCH_EMULATOR_ADDRESS": emu.address,
        "RUNWATCH_DEMO_PROJECTS": PROJECT,
    }
    emu.calls.reset()
    out = run_script(SCRIPT, PROJECT, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
    return {m.rsplit("/", 1)[1]: n for m, n in emu.calls.snapshot().items()}


def test_a_service_page_costs_the_same_calls_for_10_or_300_services(
    fleets: dict[int, Any],
) -> None:
    small, big = _page_calls(fleets[10]), _page_calls(fleets[300])
    assert small == big, (small, big)
    # its regions come from one Monitoring query for the service, not from listing the fleet
    assert "ListServices" not in big
    assert "ListLocations" not in big
    assert big["GetService"] == 1  # checkout-api runs in one region
    spec = fleets[300].fleet.spec
    assert sum(spec.project_of(s) == PROJECT for s in spec.services) > 100
