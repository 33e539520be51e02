"""charts.py draws what it is given: gaps stay gaps, pending points are marked, colours stable."""

from __future__ import annotations

import math

import pandas as pd

import charts


def _points(
    minutes: list[int], values: list[float], pending: list[bool] | None = None
) -> pd.DataFrame:
    base = pd.Timestamp("2026-11-28T10:00:00Z")
    return pd.DataFrame(
        {
            "timestamp": [base + pd.Timedelta(minutes=m) for m in minutes],
            "revision": "svc-00001-abc",
            "value": values,
            "pending": pending or [False] * len(minutes),
        }
    )


def test_a_missing_minute_is_a_gap_not_a_zero() -> None:
    fig = charts.time_series(_points([0, 1, 2, 5, 6], [3, 4, 5, 6, 7]), title="t", unit="req/s")
    y = list(fig.data[0].y)
    assert len(y) == 6  # one NaN inserted between minute 2 and minute 5
    assert sum(1 for v in y if v is None or (isinstance(v, float) and math.isnan(v))) == 1
    assert 0 not in y
    assert fig.data[0].connectgaps is False


def test_pending_tail_is_drawn_dotted_and_not_as_settled() -> None:
    df = _points([0, 1, 2, 3], [5, 5, 2, 1], pending=[False, False, True, True])
    fig = charts.time_series(df, title="t", unit="req/s")
    settled, tail = fig.data
    assert [v for v in settled.y if not (isinstance(v, float) and math.isnan(v))] == [5, 5]
    assert tail.line.dash == "dot"
    assert list(tail.y) == [5, 2, 1]


def test_revision_colours_are_stable_whatever_is_selected() -> None:
    all_revs = ["a-1", "a-2", "a-3"]
    colors = charts.revision_colors(all_revs)
    fig = charts.time_series(
        _points([0, 1], [1, 2]).assign(revision="a-3"), title="t", unit="x", colors=colors
    )
    assert fig.data[0].line.color == colors["a-3"] == charts.PALETTE[2]
    assert len(set(colors.values())) == 3


def test_units_on_axes_and_empty_state_says_why() -> None:
    empty = _points([], [])
    fig = charts.time_series(empty, title="Requests", unit="req/s")
    assert fig.layout.yaxis.title.text == "req/s"
    assert any("no data" in a.text for a in fig.layout.annotations)


def test_pareto_marks_the_current_setting() -> None:
    grid = pd.DataFrame(
        {
            "cost": [10.0, 20.0, 15.0],
            "cold": [50.0, 5.0, 60.0],
            "label": ["c80 m0", "c80 m2", "c10 m0"],
            "pareto": [True, True, False],
            "current": [False, False, True],
        }
    )
    fig = charts.pareto(
        grid,
        x="cost",
        y="cold",
        x_unit="$/month",
        y_unit="cold starts/day",
        label="label",
        title="p",
    )
    names = [t.name for t in fig.data]
    assert names == ["other settings", "best trade-offs", "current setting"]
    assert list(fig.data[2].text) == ["c10 m0"]
    assert list(fig.data[1].x) == [10.0, 20.0]


def test_time_axis_carries_epoch_milliseconds_on_a_date_axis() -> None:
    df = _points([0, 1], [1.0, 2.0])
    fig = charts.time_series(df, title="t", unit="x")
    assert fig.layout.xaxis.type == "date"
    expected = [ts.value // 1_000_000 for ts in df["timestamp"]]  # ns -> ms since the epoch
    assert list(fig.data[0].x) == expected
