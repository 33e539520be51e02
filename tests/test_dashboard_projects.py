"""Several projects in one overview: RUNWATCH_DEMO_PROJECTS watched over an emulator that serves
only some of them (the others answer PERMISSION_DENIED, as Google does for a project the
identity cannot read). The dashboard runs in a fresh process (settings are read at import)
through Streamlit's AppTest; what it shows comes back as JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from _fresh_process import run_script

import emulator

ROOT = Path(__file__).resolve().parent.parent
SERVED = ("team-a-prod", "team-c-prod")
WATCHED = ("team-a-prod", "team-b-prod", "team-c-prod")  # team-b-prod: not readable

SCRIPT = """
import json, sys
from streamlit.testing.v1 import AppTest
params = json.loads(sys.argv[1])
at = AppTest.from_file("dashboard.py", default_timeout=120)
for k, v in params.items():
    at.query_params[k] = v
at.run()
assert not at.exception, [e.value for e in at.exception]
table = at.dataframe[0].value if at.dataframe else None
project = at.selectbox(key="scope_project")
print(json.dumps({
    "rows": [] if table is None else table[["project_id", "service", "flags"]].to_dict("records"),
    "warnings": [w.value for w in at.warning],
    "errors": [e.value for e in at.error],
    "markdown": [m.value for m in at.markdown],
    "project_options": [project.format_func(o) for o in project.options],
    "project": project.value,
}))
"""


@pytest.fixture(scope="module")
def served() -> Iterator[Any]:
    with emulator.start(now=datetime.now(UTC), days=1, seed=5, services=16, projects=SERVED) as emu:
        yield emu


def _shown(script: str, emu: Any, params: dict[str, str], **settings: str) -> dict[str, Any]:
    """What ``script`` printed last, as JSON: the dashboard in a fresh process (AppTest)."""
    env = {
        "RUNWATCH_SOURCE": "demo",
        **(
            {"RUNWATCH_EMULATOR_ADDRESS": emu.address, "RUNWATCH_DEMO_PROJECTS": ",".join(WATCHED)}
            if emu is not None
            else {}
        ),
        **settings,
    }
    out = run_script(script, json.dumps(params), env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    shown: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return shown


def _show(emu: Any, params: dict[str, str], **settings: str) -> dict[str, Any]:
    shown = _shown(SCRIPT, emu, params, **settings)
    for kind in ("warnings", "errors", "markdown"):  # as read: untrusted text comes escaped
        shown[kind] = [_read(t) for t in shown[kind]]
    return shown


def _read(markdown: str) -> str:
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")


def test_one_overview_over_every_project_and_one_unreadable(served: Any) -> None:
    shown = _show(served, {})
    spec = served.fleet.spec
    expected = {(spec.project_of(s), s.name) for s in spec.services}
    assert {(r["project_id"], r["service"]) for r in shown["rows"]} == expected
    assert {r["project_id"] for r in shown["rows"]} == set(SERVED)
    # the sidebar offers every project and all of them, all chosen by default
    assert shown["project_options"][0] == "All projects (3)"
    assert shown["project_options"][1:] == list(WATCHED)
    assert shown["project"] == ""
    # the project that cannot be read says so, with the role to grant; the others still show
    denied = [w for w in shown["warnings"] if "team-b-prod" in w]
    assert denied, shown["warnings"]
    assert "could not be read" in denied[0]
    assert "roles/monitoring.viewer" in denied[0]
    assert not shown["errors"]
    # "Needs a look" names the project of each service when several are shown
    lines = [m for m in shown["markdown"] if m.startswith("- **")]
    assert lines
    assert all("-prod, " in line for line in lines)


def test_a_project_filter_shows_that_project_only(served: Any) -> None:
    shown = _show(served, {"project": "team-c-prod"})
    assert {r["project_id"] for r in shown["rows"]} == {"team-c-prod"}
    assert shown["project"] == "team-c-prod"
    assert not any("team-b-prod" in w for w in shown["warnings"])


def test_the_embedded_demo_fleet_takes_its_size_and_projects_from_the_settings() -> None:
    shown = _show(
        None,
        {},
        RUNWATCH_DEMO_SERVICES="20",
        RUNWATCH_DEMO_PROJECTS="shop-prod,shop-staging",
        RUNWATCH_DEMO_DAYS="1",
    )
    assert len(shown["rows"]) == 20
    assert {r["project_id"] for r in shown["rows"]} == {"shop-prod", "shop-staging"}
    assert shown["project_options"] == ["All projects (2)", "shop-prod", "shop-staging"]


PAGE_SCRIPT = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("dashboard.py", default_timeout=120)
at.switch_page("app_pages/revisions.py")
for k, v in json.loads(sys.argv[1]).items():
    at.query_params[k] = v
at.run()
assert not at.exception, [e.value for e in at.exception]
print(json.dumps({
    "errors": [e.value for e in at.error],
    "project": at.selectbox(key="scope_project").value,
    "service": at.selectbox(key="scope_service").value,
    "services": list(at.selectbox(key="scope_service").options),
    "revisions": list(at.multiselect(key="rev_pick").options),
}))
"""


def test_a_service_link_without_a_project_finds_its_project_and_lists_the_fleet_after_the_page(
    served: Any,
) -> None:
    spec = served.fleet.spec
    theirs = sorted(s.name for s in spec.services if spec.project_of(s) == "team-c-prod")
    service = theirs[0]
    served.calls.reset()
    shown = _shown(PAGE_SCRIPT, served, {"service": service})
    # the service's project, learnt from Monitoring for that service (the link named none)
    assert shown["project"] == "team-c-prod"
    assert shown["service"] == service
    assert not shown["errors"], shown["errors"]
    assert shown["revisions"]
    assert all(r.startswith(f"{service}-") for r in shown["revisions"])
    # the sidebar still offers that project's services, from the listing read after the page:
    # the page's own calls (its configuration, its logs) all came before any ListServices
    assert set(theirs) <= set(shown["services"])
    calls = served.calls.sequence()
    assert "ListServices" in calls
    first_listing = calls.index("ListServices")
    page_calls = [i for i, m in enumerate(calls) if m in ("GetService", "ListLogEntries")]
    assert page_calls
    assert max(page_calls) < first_listing, calls
