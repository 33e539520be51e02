"""CPU and memory utilization, concurrency and instances: the revisions page's panels and the
overview's p99 columns, checked against the emulator's raw simulated series
(tests/_histograms.py), not against the collectors.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import pytest

from tests._histograms import aligned_mean_sum, merged_percentile

SERVICE = "checkout-api"
P = "run.googleapis.com/container/"


def _view(window: str = "24h") -> Any:
    import app_data

    scope, problems = app_data.scope_from_query({"service": SERVICE, "window": window})
    assert not problems
    run_view = app_data.resolve(scope)
    view = app_data.revisions(run_view)
    assert view is not None
    return view


def _settled(df: pd.DataFrame, n: int = 4) -> pd.DataFrame:
    """A few settled points of the revision with the most, spread over the window."""
    settled = df[~df["pending"]]
    busiest = settled["revision"].value_counts().index[0]
    mine = settled[settled["revision"] == busiest].sort_values("timestamp")
    step = max(len(mine) // n, 1)
    return mine.iloc[::step].head(n)


@pytest.mark.parametrize(
    ("field", "metric"),
    [("cpu", "cpu/utilizations"), ("memory", "memory/utilizations")],
)
def test_utilization_percentiles_match_the_raw_histograms(
    demo_emulator: Any, field: str, metric: str
) -> None:
    view = _view()
    df = getattr(view, field)
    assert set(df["stat"]) == {"p50", "p99"}
    assert set(df["revision"]) <= set(view.selected)
    checked = 0
    for row in _settled(df).itertuples():
        end = row.timestamp.to_pydatetime()
        start = end - timedelta(seconds=view.period_s)
        for stat, q in (("p50", 0.5), ("p99", 0.99)):
            got = df[
                (df["revision"] == row.revision)
                & (df["timestamp"] == row.timestamp)
                & (df["stat"] == stat)
            ]["value"]
            truth, width = merged_percentile(
                demo_emulator.fleet, SERVICE, start, end, q, P + metric, revision=row.revision
            )
            assert len(got) == 1
            assert got.iloc[0] == pytest.approx(100 * truth, abs=1e-6), (row.timestamp, stat)
            assert width > 0
            checked += 1
    assert checked >= 4


def test_instances_are_split_active_and_idle(demo_emulator: Any) -> None:
    view = _view()
    inst = view.instances
    assert set(inst["state"]) == {"active", "idle"}
    for row in _settled(inst[inst["state"] == "idle"]).itertuples():
        end = row.timestamp.to_pydatetime()
        start = end - timedelta(seconds=view.period_s)
        for state in ("active", "idle"):
            got = inst[
                (inst["revision"] == row.revision)
                & (inst["timestamp"] == row.timestamp)
                & (inst["state"] == state)
            ]["value"]
            truth = aligned_mean_sum(
                demo_emulator.fleet,
                row.revision,
                start,
                end,
                P + "instance_count",
                {"state": state},
            )
            assert got.sum() == pytest.approx(truth, rel=1e-9, abs=1e-9), (row.timestamp, state)


def test_max_concurrency_is_of_active_instances(demo_emulator: Any) -> None:
    view = _view()
    conc = view.concurrency
    assert set(conc["stat"]) == {"p50", "p99"}
    row = _settled(conc[conc["stat"] == "p99"], 1).iloc[0]
    end = row["timestamp"].to_pydatetime()
    start = end - timedelta(seconds=view.period_s)
    truth, _ = merged_percentile(
        demo_emulator.fleet,
        SERVICE,
        start,
        end,
        0.99,
        P + "max_request_concurrencies",
        revision=row["revision"],
        labels={"state": "active"},
    )
    assert row["value"] == pytest.approx(truth, abs=1e-6)


@pytest.mark.parametrize(
    ("column", "metric", "labels", "scale"),
    [
        ("cpu_p99_pct", "cpu/utilizations", None, 100.0),
        ("memory_p99_pct", "memory/utilizations", None, 100.0),
        ("concurrency_p99", "max_request_concurrencies", {"state": "active"}, 1.0),
    ],
)
def test_overview_p99s_match_the_raw_histograms(
    demo_emulator: Any, column: str, metric: str, labels: dict[str, str] | None, scale: float
) -> None:
    """Each service's p99 over the table's window (its settled periods), merged over its
    revisions (and, for the concurrency, its active instances): the raw histograms' own."""
    import app_data

    scope, _ = app_data.scope_from_query({"window": "24h"})
    run_view = app_data.resolve(scope)
    table = app_data.overview(run_view).table.set_index("service")
    w = run_view.window.settled()
    checked = 0
    for service in table.index:
        truth, width = merged_percentile(
            demo_emulator.fleet, service, w.start, w.end, 0.99, P + metric, labels=labels
        )
        got = table.loc[service, column]
        assert width > 0
        assert got == pytest.approx(scale * truth, abs=1e-6), service
        checked += 1
    assert checked == len(demo_emulator.fleet.spec.services)
