"""A custom window from a link that no query could serve is refused with a warning.

Sub-minute ranges made TimeWindow.custom raise outside any handler (every page crashed); a
year-1 start reached the API filters. Both are refused where the link is read (scope.from_query)
and the default window is shown instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import scope
from foundation.window import TimeWindow
from tests._pages import PAGE_FILES

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def parse(start: str, end: str) -> tuple[scope.Scope, list[str]]:
    return scope.from_query(
        {"window": "custom", "start": start, "end": end},
        projects=("runwatch-demo",),
        default_window="24h",
        now=NOW,
    )


@pytest.mark.parametrize(
    ("start", "end", "why"),
    [
        ("2026-11-28T10:00:00+00:00", "2026-11-28T10:00:30+00:00", "at least a minute"),
        ("2026-11-28T10:00:10+00:00", "2026-11-28T10:00:50+00:00", "at least a minute"),
        ("0001-01-01T00:00:00+00:00", "0001-01-01T06:00:00+00:00", "before 2006"),
        ("2005-12-31T20:00:00+00:00", "2006-01-01T02:00:00+00:00", "before 2006"),
        ("2026-11-29T10:00:00+00:00", "2026-11-29T11:00:00+00:00", "in the future"),
        ("2026-11-28T11:00:00+00:00", "2026-11-28T10:00:00+00:00", "before the end"),
        ("2026-11-28T10:00:00", "2026-11-28T11:00:00", "timezone"),
    ],
)
def test_unqueryable_custom_ranges_are_refused(start: str, end: str, why: str) -> None:
    s, warnings = parse(start, end)
    assert s.window == "24h"
    assert s.start is None
    assert s.end is None
    assert len(warnings) == 1
    assert why in warnings[0]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-11-28T10:00:00+00:00", "2026-11-28T10:01:00+00:00"),  # one minute
        ("2026-11-28T10:00:45+00:00", "2026-11-28T10:01:50+00:00"),  # off the minute
        ("2006-01-01T00:00:00+00:00", "2006-01-02T00:00:00+00:00"),
        ("2026-11-28T11:00:00+00:00", "2026-11-28T12:04:00+00:00"),  # ends within the slack
    ],
)
def test_every_accepted_custom_range_is_a_window(start: str, end: str) -> None:
    s, warnings = parse(start, end)
    assert warnings == []
    assert s.window == "custom"
    assert s.start is not None
    assert s.end is not None
    TimeWindow.custom(s.start, s.end)  # would raise InvalidWindow


@pytest.fixture
def app_data(demo_emulator: Any) -> Iterator[Any]:
    import app_data as module

    assert module.settings().emulator_address == demo_emulator.address, "settings read too early"
    st.cache_data.clear()
    module.forget()
    return module


@pytest.mark.parametrize(
    "page",
    PAGE_FILES,
)
def test_a_thirty_second_link_shows_the_default_window_with_a_warning(
    app_data: Any, page: str
) -> None:
    end = app_data.now().replace(second=40, microsecond=0) - timedelta(hours=1)
    start = end - timedelta(seconds=30)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    for key, value in {
        "service": "checkout-api",
        "window": "custom",
        "start": start.isoformat(),
        "end": end.isoformat(),
    }.items():
        at.query_params[key] = value
    at.switch_page(page).run()  # the link opens this page
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="scope_window").value == "24h"
    assert any("custom time range" in str(w.value) for w in at.warning)
