"""The commands on the pages: the revisions page's traffic commands after a canary verdict (the
demo's checkout-api canary regresses: roll back, suggested) and the Cost page's command for the
chosen setting, both equal to what actions/ builds for the same data."""

from __future__ import annotations

import shlex
from typing import Any

import app_data
from tests._pages import COST, REVISIONS, visit


def _codes(at: Any) -> list[str]:
    return [c.value for c in at.code]


def test_a_regressed_canary_leads_to_its_rollback(demo_emulator: Any) -> None:
    at = visit(REVISIONS, {"service": "checkout-api", "window": "24h"})
    assert not at.exception
    scope, _ = app_data.scope_from_query({"service": "checkout-api", "window": "24h"})
    view = app_data.revisions(app_data.resolve(scope), [])
    assert view is not None
    assert view.verdict is not None
    assert view.verdict.status == "regression", view.verdict
    shown = _codes(at)
    rollback = next(c for c in view.traffic_commands if c.action == "rollback")
    assert rollback.recommended
    assert rollback.command in shown
    argv = shlex.split(rollback.command)
    assert argv[:4] == ["gcloud", "run", "services", "update-traffic"]
    assert f"--to-revisions={view.verdict.stable}=100" in argv
    labels = [m.value for m in at.markdown]
    assert any(v.startswith(f"**{rollback.label}** (suggested)") for v in labels)


def test_the_chosen_setting_comes_with_its_update_command(demo_emulator: Any) -> None:
    at = visit(COST, {"service": "checkout-api", "window": "24h"})
    assert not at.exception
    assert not [c for c in _codes(at) if "gcloud run services update " in c]  # current: none
    slider = at.select_slider(key="cost_concurrency")
    current = int(slider.value)
    other = next(int(o) for o in slider.options if int(o) != current and int(o) >= 2)
    slider.set_value(str(other)).run()
    assert not at.exception
    command = next(c for c in _codes(at) if c.startswith("gcloud run services update "))
    argv = shlex.split(command)
    assert argv[4] == "checkout-api"
    assert f"--concurrency={other}" in argv
    assert not any(a.startswith("--min-instances") for a in argv)  # only what changes
    diff = next(c for c in _codes(at) if c.startswith("- containerConcurrency"))
    assert diff.splitlines() == [
        f"- containerConcurrency: {current}",
        f"+ containerConcurrency: {other}",
    ]
