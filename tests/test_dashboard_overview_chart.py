"""The overview's chart is read on its own, before its table: one Monitoring query per project
and nothing else, so a big fleet's chart does not wait for its totals, configuration and
detail; the table carries the same trend's sparklines; each part's failure is its own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
from streamlit.testing.v1 import AppTest

DASHBOARD = str(Path(__file__).resolve().parent.parent / "dashboard.py")


def _read(markdown: str) -> str:
    """The text a reader sees (widgets.plain escapes ASCII punctuation)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def _new_calls(emu: Any, before: dict[str, int]) -> dict[str, int]:
    after = emu.calls.snapshot()
    return {
        m.rsplit("/", 1)[-1]: n - before.get(m, 0)
        for m, n in after.items()
        if n != before.get(m, 0)
    }


def test_the_chart_costs_one_monitoring_query_and_the_table_reuses_it(emu: Any) -> None:
    import app_data

    scope, _ = app_data.scope_from_query({"window": "24h"})
    view = app_data.resolve(scope)
    before = emu.calls.snapshot()
    trend = app_data.overview_trend(view)
    assert _new_calls(emu, before) == {"ListTimeSeries": 1}  # the demo's one project
    assert trend.period_s == view.window.trend().alignment_s
    assert not trend.chart.empty
    assert trend.note == ""
    # a request rate per period of the trend
    api = trend.chart[trend.chart["series"] == "checkout-api"]
    assert len(api) > 100
    assert (api["value"] >= 0).all()

    before = emu.calls.snapshot()
    table = app_data.overview(view).table
    assert "ListTimeSeries" in _new_calls(emu, before)  # the table's own queries, after
    before = emu.calls.snapshot()
    assert app_data.overview_trend(view) is not None
    assert _new_calls(emu, before) == {}  # the chart was not read twice
    # the sparkline is the chart's series in 48 equal buckets of periods (a period without a
    # point counted as 0): its mean is the series' mean over every period of the window
    periods = int(view.window.span.total_seconds() // trend.period_s)
    line = np.asarray(table.set_index("service").loc["checkout-api", "trend"], dtype=float)
    assert len(line) == 48
    assert np.isclose(line.mean(), api["value"].sum() / periods, rtol=1e-6)


def test_a_chart_that_cannot_be_read_leaves_the_table_and_says_so(emu: Any) -> None:
    emu.faults.set("ListTimeSeries:PERMISSION_DENIED")
    at = AppTest.from_file(DASHBOARD, default_timeout=120).run()
    assert not at.exception
    warnings = _read(" ".join(str(w.value) for w in at.warning))
    errors = _read(" ".join(str(e.value) for e in at.error))
    assert "Could not load the request-rate chart" in warnings
    assert "roles/monitoring.viewer" in warnings + errors
    assert not at.get("plotly_chart")
    # the table still lists every service, from the Admin API's configuration
    listed = set(at.dataframe[0].value["service"])
    assert listed == {s.name for s in emu.fleet.spec.services}


def test_the_sidebar_lists_the_services_the_overview_read(emu: Any) -> None:
    """On the overview, the sidebar's service list comes from the configuration the table was
    built from: one ListServices per region with services, not a second listing."""
    import scope

    before = emu.calls.snapshot()
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    at.run()
    assert not at.exception
    calls = _new_calls(emu, before)
    regions = {s.region for s in emu.fleet.spec.services}
    assert calls["ListServices"] == len(regions)
    offered = at.selectbox(key=scope.WIDGET_KEYS["service"]).options
    assert {s.name for s in emu.fleet.spec.services} <= set(offered)
