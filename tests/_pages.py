"""The dashboard's pages as AppTest switches to them (``at.switch_page(path)``), for every test
that visits each page: one list, checked against the app_pages folder; and a page opened on a
link's query, as a fresh visit does."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.testing.v1 import AppTest

import app_data

DASHBOARD = str(Path(__file__).resolve().parent.parent / "dashboard.py")

OVERVIEW = "app_pages/overview.py"
REVISIONS = "app_pages/revisions.py"
COLD_STARTS = "app_pages/cold_starts.py"
COST = "app_pages/cost.py"
PAGE_FILES = (OVERVIEW, REVISIONS, COLD_STARTS, COST)


def visit(page: str, query: Mapping[str, str]) -> AppTest:
    """``page`` opened from a link with ``query``, the caches empty (a first visit), run once."""
    st.cache_data.clear()
    app_data.forget()
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    return at.switch_page(page).run()


def pinned_window(days: float) -> tuple[datetime, datetime]:
    """A custom window of ``days`` ending an hour before the last whole hour: the demo's clock
    is real, so two runs of a page (or a page and a command line) agree only on a pinned
    window."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    return end - timedelta(days=days), end


def window_query(service: str, start: datetime, end: datetime) -> dict[str, str]:
    """A link's query for ``service`` over the custom window ``start`` .. ``end``."""
    return {
        "service": service,
        "window": "custom",
        "start": start.isoformat(),
        "end": end.isoformat(),
    }


def cost_view(query: Mapping[str, str], **asked: Any) -> app_data.CostView:
    """The Cost page's view of a link's query (``asked``: app_data.cost's options), the caches
    empty; it must give an estimate."""
    st.cache_data.clear()
    app_data.forget()
    scope, warnings = app_data.scope_from_query(dict(query))
    assert not warnings, warnings
    shown = app_data.cost(app_data.resolve(scope), **asked)
    assert shown is not None
    assert not shown.cannot_estimate, shown.cannot_estimate
    return shown
