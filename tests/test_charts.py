"""charts.py draws what it is given: gaps stay gaps, pending points are marked, colours stable."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

import charts

BASE_MS = pd.Timestamp("2026-11-28T10:00:00Z").value // 1_000_000


def _xy(trace: object) -> tuple[list[float], list[float]]:
    """A trace's points as (epoch ms, value), whether it carries x or x0/dx."""
    y = [float("nan") if v is None else float(v) for v in trace.y]  # type: ignore[attr-defined]
    if trace.x is not None:  # type: ignore[attr-defined]
        return [float(v) for v in trace.x], y  # type: ignore[attr-defined]
    x0, dx = float(trace.x0), float(trace.dx)  # type: ignore[attr-defined]
    return [x0 + i * dx for i in range(len(y))], y


def _minute(ms: float) -> float:
    return (ms - BASE_MS) / 60_000


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
    x, y = _xy(fig.data[0])
    by_minute = dict(zip(map(_minute, x), y, strict=True))
    assert {m: v for m, v in by_minute.items() if not math.isnan(v)} == {
        0: 3,
        1: 4,
        2: 5,
        5: 6,
        6: 7,
    }
    assert math.isnan(by_minute[3])
    assert math.isnan(by_minute[4])
    assert fig.data[0].connectgaps is False


def test_a_missing_period_of_a_count_is_zero_but_pending_points_are_not_filled() -> None:
    df = _points([0, 1, 4, 5, 6], [3, 4, 6, 7, 8], pending=[False, False, False, True, True])
    fig = charts.time_series(df, title="t", unit="req/s", missing_is_zero=True)
    settled, tail = fig.data
    x, y = _xy(settled)
    by_minute = dict(zip(map(_minute, x), y, strict=True))
    assert [by_minute[m] for m in (0, 1, 2, 3, 4)] == [3, 4, 0, 0, 6]
    assert all(math.isnan(by_minute[m]) for m in (5, 6) if m in by_minute)
    tx, ty = _xy(tail)
    assert dict(zip(map(_minute, tx), ty, strict=True)) == {4: 6, 5: 7, 6: 8}


def test_a_regular_series_ships_no_x_array_and_irregular_points_keep_theirs() -> None:
    regular = charts.time_series(_points([0, 1, 2, 5], [1, 2, 3, 4]), title="t", unit="x")
    assert regular.data[0].x is None
    assert regular.data[0].dx == 60_000
    assert len(regular.data[0].y) == 6  # minutes 0..5 in one dense array
    base = pd.Timestamp("2026-11-28T10:00:00Z")
    odd = pd.DataFrame(
        {
            "timestamp": [base, base + pd.Timedelta(seconds=90), base + pd.Timedelta(minutes=9)],
            "revision": "r",
            "value": [1.0, 2.0, 3.0],
        }
    )
    fig = charts.time_series(odd, title="t", unit="x", missing_is_zero=True)
    x, y = _xy(fig.data[0])
    expected = [(t.value // 1_000_000) for t in odd["timestamp"]]
    assert [v for v in x if v in expected] == expected
    assert any(math.isnan(v) for v in y), "points 7.5 minutes apart are drawn with a gap"


def test_pending_tail_is_drawn_dotted_and_not_as_settled() -> None:
    df = _points([0, 1, 2, 3], [5, 5, 2, 1], pending=[False, False, True, True])
    fig = charts.time_series(df, title="t", unit="req/s")
    settled, tail = fig.data
    assert [v for v in _xy(settled)[1] if not math.isnan(v)] == [5, 5]
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
    assert _xy(fig.data[0])[0] == expected
    assert np.isclose(fig.data[0].x0, expected[0])


def test_without_a_colour_map_each_line_and_its_pending_tail_share_one_colour() -> None:
    parts = [
        _points([0, 1, 2], [1, 2, 3], pending=[False, False, True]).assign(revision=f"s-{i}")
        for i in range(6)
    ]
    fig = charts.time_series(pd.concat(parts), title="t", unit="x")
    by_line: dict[str, set[str]] = {}
    for trace in fig.data:
        by_line.setdefault(trace.legendgroup, set()).add(trace.line.color)
    assert all(len(c) == 1 for c in by_line.values()), by_line
    assert len({next(iter(c)) for c in by_line.values()}) == 6, "six lines, six colours"


def test_panels_share_one_time_axis_with_one_legend_entry_per_revision() -> None:
    a = _points([0, 1, 2], [1, 2, 3]).assign(revision="svc-00001-abc")
    b = _points([0, 1, 2], [2, 3, 4]).assign(revision="svc-00002-def")
    stats = pd.concat([a.assign(stat=s) for s in ("p50", "p99")])
    when = pd.Timestamp("2026-11-28T10:01:00Z").to_pydatetime()
    fig = charts.panels_over_time(
        [
            charts.Panel(pd.concat([a, b]), "Request rate", "req/s", missing_is_zero=True),
            charts.Panel(stats, "Latency", "ms", "stat"),
            charts.Panel(a.iloc[0:0], "5xx", "errors/s"),
        ],
        title="t",
        colors=charts.revision_colors(["svc-00001-abc", "svc-00002-def"]),
        markers=[(when, "deployed svc-00002-def")],
    )
    layout = fig.layout
    assert [layout.yaxis.title.text, layout.yaxis2.title.text, layout.yaxis3.title.text] == [
        "req/s",
        "ms",
        "errors/s",
    ]
    assert layout.xaxis2.matches == "x"
    assert layout.xaxis3.matches == "x"  # zoom one panel, zoom all
    tops = [layout.yaxis.domain[1], layout.yaxis2.domain[1], layout.yaxis3.domain[1]]
    assert tops == sorted(tops, reverse=True)
    assert layout.yaxis2.domain[1] < layout.yaxis.domain[0], "panels do not overlap"
    assert sorted(t.name for t in fig.data if t.showlegend) == ["svc-00001-abc", "svc-00002-def"]
    latency = [t for t in fig.data if t.yaxis == "y2"]
    assert {t.line.dash for t in latency} == {"solid", "dash"}  # p50 and p99 of one revision
    assert {t.line.color for t in latency} == {charts.PALETTE[0]}
    texts = [a.text for a in layout.annotations]
    assert {"Request rate", "Latency", "5xx", "no data in this window"} <= set(texts)
    (marker,) = layout.shapes
    assert (marker.yref, marker.y0, marker.y1) == ("paper", 0, 1)  # crosses every panel
    assert marker.x0 == when.timestamp() * 1000
