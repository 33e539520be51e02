"""Every page under every kind of API failure (AppTest against the session's demo emulator):
the page draws its title, shows no traceback and no exception, and says what failed in plain
words instead of showing figures it could not compute."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests._pages import PAGE_FILES

DASHBOARD = str(Path(__file__).resolve().parent.parent / "dashboard.py")
OVERVIEW, REVISIONS, COLD, COST = PAGE_FILES
SERVICE_PAGES = {REVISIONS, COLD, COST}  # opened with service=checkout-api
EVERY = {OVERVIEW, *SERVICE_PAGES}
# fault -> the pages that read what it breaks, and so must say so (an error or a banner); the
# others must merely stay readable. The overview reads no logs and no single service; the
# revisions and cost pages read their service with GetService and its revisions; a service's
# cold starts need neither (logs and metrics); ListLocations is asked only when Monitoring
# cannot say where services run.
FAULTS = {
    "ListTimeSeries:UNAVAILABLE": EVERY,
    "ListTimeSeries:PERMISSION_DENIED": EVERY,
    "ListLogEntries:UNAVAILABLE": SERVICE_PAGES,
    "ListLogEntries:RESOURCE_EXHAUSTED": SERVICE_PAGES,
    "ListServices:UNAVAILABLE": {OVERVIEW},
    "GetService:PERMISSION_DENIED": {REVISIONS, COST},
    "ListRevisions:UNAVAILABLE": {OVERVIEW, REVISIONS, COST},
    "ListLocations:UNAVAILABLE": set(),
    "*:DEADLINE_EXCEEDED": EVERY,
    "exec_errors=1": EVERY,
}


def _shown(at: AppTest) -> str:
    kinds = ("title", "markdown", "caption", "info", "warning", "error", "metric")
    return "\n".join(str(getattr(e, "value", "")) for k in kinds for e in getattr(at, k))


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("page", sorted(EVERY))
def test_a_failing_api_leaves_every_page_readable(emu: Any, page: str, fault: str) -> None:
    emu.faults.set(fault)
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    if page in SERVICE_PAGES:
        at.query_params["service"] = "checkout-api"
    at.run()
    if page != OVERVIEW:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, "the page drew no title"
    text = _shown(at)
    assert "Traceback" not in text
    if page in FAULTS[fault]:
        assert at.error or at.warning, f"{fault} on {page} is not named:\n{text[:2000]}"
