"""The dashboard's pages as AppTest switches to them (``at.switch_page(path)``), for every test
that visits each page: one list, checked against the app_pages folder; and a page opened on a
link's query, as a fresh visit does."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

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
