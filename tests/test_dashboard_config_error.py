"""A bad setting must not turn a live deployment into the demo.

When the environment asks for live data (projects given, or a source other than demo) and any
setting is invalid, every page shows the configuration error, naming the variable, and no data.
Only when nothing asked for live data do the defaults (the demo) stay usable.

Settings are read once per process, so each case runs the dashboard in a fresh process with
only its environment.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import config
from tests._pages import PAGE_FILES

ROOT = Path(__file__).resolve().parent.parent
PAGES = list(PAGE_FILES)

_VISIT = """
import json, sys
from streamlit.testing.v1 import AppTest
pages = json.loads(sys.argv[1])
out = []
at = AppTest.from_file("dashboard.py", default_timeout=120)
at.query_params["service"] = "checkout-api"
at.run()
for page in pages:
    if page != "app_pages/overview.py":
        at.switch_page(page).run()
    kinds = ("error", "warning", "info", "markdown", "caption", "success", "metric", "dataframe")
    out.append({
        "page": page,
        "exceptions": [str(e.value) for e in at.exception],
        "errors": [str(e.value) for e in at.error],
        "text": [str(getattr(e, "value", "")) for k in kinds[:6] for e in getattr(at, k)],
        "metrics": len(at.metric),
        "tables": len(at.dataframe),
        "charts": len(at.get("plotly_chart")),
        "selects": [list(s.options) for s in at.selectbox],
    })
import app_data
out.append({"source": app_data.settings().source, "emulators": len(app_data._EMULATORS)})
print(json.dumps(out))
"""


def _read(markdown: str) -> str:
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")


def _visit(env: dict[str, str], pages: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    base = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "NO_GCE_CHECK": "true"}
    done = subprocess.run(
        [sys.executable, "-c", _VISIT, json.dumps(pages)],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    *views, state = json.loads(done.stdout.strip().splitlines()[-1])
    return views, state


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        (
            {"RUNWATCH_PROJECTS": "prod-app-123", "RUNWATCH_FREE_TIER": "maybe"},
            "RUNWATCH_FREE_TIER",
        ),
        ({"RUNWATCH_SOURCE": "gcp", "RUNWATCH_CACHE_TTL_S": "5"}, "RUNWATCH_CACHE_TTL_S"),
        ({"RUNWATCH_PROJECTS": "Prod App"}, "RUNWATCH_PROJECTS"),
    ],
)
def test_a_bad_setting_stops_live_mode_on_every_page(env: dict[str, str], variable: str) -> None:
    views, state = _visit(env, PAGES)
    for view in views:
        assert not view["exceptions"], view
        errors = [_read(e) for e in view["errors"]]
        assert any("Configuration problem" in e and variable in e for e in errors), view
        shown = " ".join(_read(t) for t in view["text"])
        assert "runwatch-demo" not in shown, view
        assert "Demo" not in shown, view
        assert "checkout-api" not in shown, view
        assert view["metrics"] == view["tables"] == view["charts"] == 0, view
        assert view["selects"] == [], view  # no project or service to pick
    assert state["emulators"] == 0, "the demo fleet must not even be started"
    assert state["source"] != "demo"


def test_a_bad_setting_without_live_data_keeps_the_demo() -> None:
    views, state = _visit(
        {"RUNWATCH_FREE_TIER": "maybe", "RUNWATCH_DEMO_DAYS": "1"}, ["app_pages/overview.py"]
    )
    (view,) = views
    assert not view["exceptions"], view
    errors = " ".join(_read(e) for e in view["errors"])
    assert "RUNWATCH_FREE_TIER" in errors
    assert "Using the defaults instead" in errors
    assert view["tables"], "the demo overview"
    assert state["source"] == "demo"


@pytest.mark.parametrize(
    ("env", "live"),
    [
        ({}, False),
        ({"RUNWATCH_SOURCE": "demo", "RUNWATCH_FREE_TIER": "maybe"}, False),
        ({"RUNWATCH_SOURCE": " DEMO "}, False),
        ({"RUNWATCH_PROJECTS": "prod-app-123"}, True),
        ({"RUNWATCH_PROJECTS": "not a project"}, True),
        ({"RUNWATCH_SOURCE": "gcp"}, True),
        ({"RUNWATCH_SOURCE": "prod"}, True),
    ],
)
def test_live_requested(env: dict[str, str], live: bool) -> None:
    assert config.live_requested(env) is live
