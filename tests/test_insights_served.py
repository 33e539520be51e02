"""A revision that served no requests in the window: the 5xx series and the Revisions page.

``errors_where_served`` merges two per-revision series; frames built by a groupby of zero rows
(a revision with no point in the window) carry an Arrow string column without chunks, which a
plain merge refuses (ArrowInvalid). The page must draw such a selection and say why its figures
are empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from insights.revisions import errors_where_served

ROOT = Path(__file__).resolve().parent.parent
T0 = pd.Timestamp("2026-01-05 10:00", tz="UTC")


def _series(rows: list[tuple[str, int, float, bool]]) -> pd.DataFrame:
    """revision, timestamp, value, pending as the dashboard builds them: a groupby of points."""
    points = pd.DataFrame(
        {
            "revision": pd.array([r[0] for r in rows], dtype="string"),
            "timestamp": pd.Series([T0 + pd.Timedelta(minutes=r[1]) for r in rows], dtype=object),
            "value": [r[2] for r in rows],
            "pending": [r[3] for r in rows],
        }
    ).astype({"timestamp": "datetime64[ns, UTC]"})
    return points.groupby(["revision", "timestamp"], observed=True, as_index=False).agg(
        value=("value", "sum"), pending=("pending", "any")
    )


def _nothing() -> pd.DataFrame:
    """The series of a revision with no point in the window (groupby of zero rows)."""
    return (
        _series([("r1", 0, 1.0, False)])
        .iloc[0:0]
        .pipe(
            lambda df: df.groupby(["revision", "timestamp"], observed=True, as_index=False).agg(
                value=("value", "sum"), pending=("pending", "any")
            )
        )
    )


@pytest.mark.parametrize(
    ("errors", "requests"),
    [
        ("none", "none"),
        ("none", "some"),
        ("some", "none"),
    ],
)
def test_empty_series_merge_into_typed_empty_or_zero_rates(errors: str, requests: str) -> None:
    some = _series([("r1", 0, 2.0, False), ("r1", 1, 3.0, True)])
    err = _nothing() if errors == "none" else _series([("r1", 1, 0.5, False)])
    req = _nothing() if requests == "none" else some
    out = errors_where_served(err, req)
    assert list(out.columns) == ["revision", "timestamp", "value", "pending"]
    assert str(out["revision"].dtype) == "string"
    assert str(out["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert out["value"].dtype == np.float64
    assert out["pending"].dtype == bool
    if requests == "some":  # every served minute has a rate: 0 where no 5xx point was written
        assert out["value"].tolist() == [0.0, 0.0]
        assert out["pending"].tolist() == [False, True]
    elif errors == "some":
        assert out["value"].tolist() == [0.5]
    else:
        assert out.empty


def test_keys_of_other_dtypes_merge_too() -> None:
    req = _series([("r1", 0, 2.0, False), ("r2", 0, 1.0, False)])
    err = pd.DataFrame(
        {
            "revision": pd.Series(["r2"], dtype=object),  # object strings
            "timestamp": pd.Series([T0]).astype("datetime64[us, UTC]"),  # another resolution
            "value": [0.25],
            "pending": [False],
        }
    )
    out = errors_where_served(err, req)
    assert out[["revision", "value"]].values.tolist() == [["r1", 0.0], ["r2", 0.25]]
    assert str(out["timestamp"].dtype) == "datetime64[ns, UTC]"


# ------------------------------------------------------------------ the page, on the demo fleet


@pytest.fixture(scope="module")
def app_data(demo_emulator: Any) -> Iterator[Any]:
    import app_data as module

    assert module.settings().emulator_address == demo_emulator.address, "settings read too early"
    return module


@pytest.fixture(autouse=True)
def _fresh_caches(request: pytest.FixtureRequest) -> Iterator[None]:
    if "app_data" in request.fixturenames:
        st.cache_data.clear()
        request.getfixturevalue("app_data").forget()
    return


def _requests_by_revision(fleet: Any, service: str, start: Any, end: Any) -> dict[str, float]:
    """Requests each revision of ``service`` served in [start, end), from the raw simulation."""
    first = int((start - fleet.spec.start).total_seconds() // 60)
    last = int((end - fleet.spec.start).total_seconds() // 60)
    served: dict[str, float] = {}
    for s in fleet.series:
        if s.metric_type != "run.googleapis.com/request_count":
            continue
        if s.resource_labels["service_name"] != service:
            continue
        rev = s.resource_labels["revision_name"]
        served[rev] = served.get(rev, 0.0) + float(np.nansum(s.values[max(first, 0) : last]))
    return served


def _page(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    return at.switch_page("app_pages/revisions.py").run()


def test_revisions_page_draws_a_revision_that_served_no_requests(
    app_data: Any, demo_emulator: Any
) -> None:
    service = "checkout-api"
    scope, _ = app_data.scope_from_query({"service": service})
    w = app_data.window_of(scope)
    spec = next(s for s in demo_emulator.fleet.spec.services if s.name == service)
    every = [r.name for r in spec.revisions]
    served = _requests_by_revision(demo_emulator.fleet, service, w.start, w.end)
    idle = [r for r in every if served.get(r, 0.0) == 0]
    assert idle, f"the demo's {service} should have a revision without traffic in the window"
    busiest = max(served, key=served.__getitem__)

    for picked in ([idle[0]], [idle[0], busiest]):
        at = _page({"service": service, "rev": ",".join(picked)})
        assert not at.exception, [e.value for e in at.exception]
        assert at.multiselect(key="rev_pick").value == picked
        captions = [c.value for c in at.caption]
        assert sum("served no requests in this window" in c for c in captions) == 1, captions
        assert at.get("plotly_chart"), "the time series are drawn"
    verdict = " ".join(i.value for i in at.info)
    assert "served no requests in this window" in verdict
