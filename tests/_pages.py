"""The dashboard's pages as AppTest switches to them (``at.switch_page(path)``), for every test
that visits each page: one list, checked against the app_pages folder."""

from __future__ import annotations

OVERVIEW = "app_pages/overview.py"
REVISIONS = "app_pages/revisions.py"
COLD_STARTS = "app_pages/cold_starts.py"
COST = "app_pages/cost.py"
PAGE_FILES = (OVERVIEW, REVISIONS, COLD_STARTS, COST)
