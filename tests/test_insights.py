"""insights/: derived views checked against hand computations on synthetic frames."""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import pandas as pd
import pytest

import presentation
from collectors import schema
from foundation.window import TimeWindow
from insights import coldstarts, overview
from insights import revisions as rv

T0 = pd.Timestamp("2026-11-27T00:00:00Z")
KEYS = {"project_id": "p-demo-1", "location": "europe-west1"}


def points(rows: list[dict[str, object]]) -> pd.DataFrame:
    base = {
        "state": "",
        "response_class": "",
        "unit": "1",
        "pending": False,
        "stat": "value",
        "bound": "",
    }
    return schema.conform(pd.DataFrame([{**KEYS, **base, **r} for r in rows]), schema.METRIC_POINTS)


def minute(i: int) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=i + 1)


def traffic_rows(
    service: str, revision: str, n: int, ok: float, err: float, p99: float
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i in range(n):
        common = {"timestamp": minute(i), "service": service, "revision": revision}
        rows.append({**common, "metric": "request_count", "response_class": "2xx", "value": ok})
        rows.append({**common, "metric": "request_count", "response_class": "5xx", "value": err})
        for stat, factor in (("p50", 0.3), ("p95", 0.7), ("p99", 1.0)):
            rows.append(
                {**common, "metric": "request_latencies", "stat": stat, "value": p99 * factor}
            )
    return rows


API_CONFIG = {
    "service": "api",
    "revision": "api-001",
    "max_instances": 3,
    "min_instances": 0,
    "billing": "request",
    "concurrency_set": True,
    "startup_cpu_boost": False,
}


def _api_totals() -> pd.DataFrame:
    """An hour of api-001: 600 requests a minute (10 of them 5xx), 4 cold starts, 90 active
    instance-minutes and 30 idle, peaks of 3 active and 2 idle."""
    at_end = {"timestamp": minute(59), "service": "api", "revision": "api-001"}
    return points(
        [
            *traffic_rows("api", "api-001", 60, ok=590.0, err=10.0, p99=200.0),
            {
                **at_end,
                "revision": "",
                "metric": "startup_latencies_service",
                "stat": "count",
                "value": 4.0,
            },
            *(
                {**at_end, "metric": metric, "state": state, "value": value}
                for metric, state, value in (
                    ("instance_minutes", "active", 90.0),
                    ("instance_minutes", "idle", 30.0),
                    ("instance_peak", "active", 3.0),
                    ("instance_peak", "idle", 2.0),
                )
            ),
        ]
    )


def _api_revisions() -> pd.DataFrame:
    """api-001's configuration: request billing, max 3 instances; the other columns unknown."""
    unknown = {c: None for c in schema.REVISIONS if c not in (*KEYS, *API_CONFIG)}
    return schema.conform(pd.DataFrame([{**KEYS, **API_CONFIG, **unknown}]), schema.REVISIONS)


def _api_row(totals: pd.DataFrame) -> pd.Series:
    table = overview.service_table(
        totals,
        _api_revisions(),
        schema.empty(schema.TRAFFIC),
        pd.DataFrame(),
        window_s=3600.0,
    )
    return table.set_index("service").loc["api"]


def test_service_table_rates_and_instances() -> None:
    row = _api_row(_api_totals())
    assert row["requests_per_s"] == pytest.approx(60 * 600 / 3600)
    assert row["error_5xx_pct"] == pytest.approx(100 * 10 / 600)
    assert row["cold_starts_per_day"] == pytest.approx(4 * 24)
    assert row["instances_active"] == pytest.approx(90 / 60)  # instance-minutes / minutes
    assert row["instances_idle"] == pytest.approx(30 / 60)
    assert row["peak_active"] == 3


def test_service_table_unknowns_stay_unknown() -> None:
    row = _api_row(_api_totals())
    assert math.isnan(row["p95_ms"])  # no merged histogram: unknown, not 0
    assert math.isnan(row["monthly_cost"])  # no cost: unknown, not $0


def test_service_table_flags_errors_and_max_instances() -> None:
    totals = _api_totals()
    row = _api_row(totals)
    assert "% 5xx" in row["flags"]
    assert "hits max instances: api-001 peaked at 3 of 3" in row["flags"]
    # one active instance fewer at the peak: not at max
    below = totals.assign(value=totals["value"].where(totals["metric"] != "instance_peak", 2.0))
    assert "max instances" not in _api_row(below)["flags"]


def test_sign_test_matches_brute_force_binomial() -> None:
    for n in (1, 5, 12):
        for wins in range(n + 1):
            outcomes = list(product([0, 1], repeat=n))
            k = min(wins, n - wins)
            extreme = sum(1 for o in outcomes if min(sum(o), n - sum(o)) <= k)
            assert rv._sign_test_p(wins, n) == pytest.approx(min(1.0, extreme / 2**n))
    assert 0 < rv._sign_test_p(900, 1500) < 1e-10  # large n: no overflow


def test_canary_regression_is_called_with_its_figures() -> None:
    rows = traffic_rows("api", "api-stable", 120, ok=900.0, err=2.0, p99=200.0)
    rows += traffic_rows("api", "api-canary", 120, ok=95.0, err=5.0, p99=400.0)
    v = rv.canary_verdict(
        points(rows), service="api", candidate="api-canary", stable="api-stable", period_s=60
    )
    assert v.status == "regression"
    assert v.p99_ratio == pytest.approx(2.0)
    assert v.error_candidate_pct == pytest.approx(5.0)
    assert v.error_stable_pct == pytest.approx(100 * 2 / 902)
    assert v.shared_periods == 120
    assert "p99 +100 %" in presentation.verdict_headline(v)


def test_identical_revisions_show_no_difference() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for rev in ("a-1", "a-2"):
        for i in range(100):
            p99 = float(rng.normal(200, 20))
            rows += [
                {
                    "timestamp": minute(i),
                    "service": "a",
                    "revision": rev,
                    "metric": "request_count",
                    "response_class": "2xx",
                    "value": 100.0,
                },
                {
                    "timestamp": minute(i),
                    "service": "a",
                    "revision": rev,
                    "metric": "request_latencies",
                    "stat": "p99",
                    "value": p99,
                },
                {
                    "timestamp": minute(i),
                    "service": "a",
                    "revision": rev,
                    "metric": "request_latencies",
                    "stat": "p95",
                    "value": p99 * 0.8,
                },
            ]
    v = rv.canary_verdict(points(rows), service="a", candidate="a-2", stable="a-1", period_s=60)
    assert v.status == "no_difference", presentation.verdict_headline(v)


def test_thin_overlap_gives_no_verdict() -> None:
    rows = traffic_rows("api", "s", 5, ok=900.0, err=0.0, p99=100.0)
    rows += traffic_rows("api", "c", 5, ok=50.0, err=0.0, p99=300.0)
    v = rv.canary_verdict(points(rows), service="api", candidate="c", stable="s", period_s=300)
    assert v.status == "not_enough_data"
    assert "only 5 periods of 5 min" in presentation.verdict_headline(v)


def test_card_delta_text() -> None:
    card = pd.Series({"p99_ms": 300.0, "error_5xx_pct": 2.5})
    ref = pd.Series({"p99_ms": 200.0, "error_5xx_pct": 0.5})
    card_value = presentation.card_value
    assert card_value(card, ref, "p99_ms", "{:,.0f} ms") == ("300 ms", "+50 %")
    assert card_value(card, ref, "error_5xx_pct", "{:.2f} %") == ("2.50 %", "+2.00 pt")
    assert card_value(pd.Series({"p99_ms": float("nan")}), ref, "p99_ms", "{}") == ("—", None)


def test_cold_start_summary_by_reason() -> None:
    ev = []
    reasons = ["AUTOSCALING"] * 6 + ["MANUAL_OR_CUSTOMER_MIN_INSTANCE"] * 3 + ["DEPLOYMENT_ROLLOUT"]
    for i, reason in enumerate(reasons):
        ev.append(
            {
                **KEYS,
                "timestamp": minute(i),
                "service": "api",
                "revision": "api-001",
                "instance_id": f"i{i}",
                "event": "start",
                "reason": reason,
                "startup_ms": 1000.0 + i,
                "outcome": "ready",
                "detail": "",
                "log_name": "x",
                "insert_id": str(i),
            }
        )
    ev.append({**ev[0], "event": "oom", "reason": "", "insert_id": "oom"})
    events = schema.conform(pd.DataFrame(ev), schema.INSTANCE_EVENTS)
    pts = points(
        [
            *traffic_rows("api", "api-001", 10, ok=100.0, err=0.0, p99=50.0),
            {
                "timestamp": minute(0),
                "service": "api",
                "revision": "api-001",
                "metric": "startup_latencies",
                "stat": "count",
                "value": 10.0,
            },
        ]
    )
    s = coldstarts.summary(events, pts, schema.empty(schema.METRIC_POINTS), window_s=86_400.0)
    assert s.starts == 10
    assert s.by_reason == {"demand (autoscaling)": 6, "min instances": 3, "rollout": 1}
    assert s.per_1k_requests == pytest.approx(1000 * 10 / 1000)
    assert s.agreement == pytest.approx(1.0)
    assert s.oom_kills == 1
    over = coldstarts.starts_over_time(events, bucket="1h")
    assert int(over["count"].sum()) == 10


def test_pick_reads_the_grid_and_explains_refusals() -> None:
    from insights import tuning

    table = pd.DataFrame(
        {
            "concurrency": [80, 80, 1],
            "min_instances": [1, 0, 0],
            "max_instances": [10, 10, 10],
            "billing": ["request", "request", "instance"],
            "cpu": [1.0, 1.0, 0.5],
            "memory_gib": [0.5, 0.5, 0.5],
            "allowed": [True, True, False],
            "reason": ["", "", "instance-based billing needs at least 1 vCPU"],
            "monthly_cost": [50.0, 40.0, float("nan")],
            "cold_starts_per_day": [2.0, 9.0, float("nan")],
            "cold_start_share": [0.0, 0.001, float("nan")],
            "rejected_per_day": [0.0, 0.0, float("nan")],
            "current": [True, False, False],
        }
    )
    cur = table.iloc[0]
    same = tuning.pick(
        table,
        cur,
        0.05,
        concurrency=80,
        min_instances=1,
        max_instances=10,
        billing="request",
        cpu=1.0,
        memory_gib=0.5,
    )
    assert same.cost_delta == 0
    other = tuning.pick(
        table,
        cur,
        0.05,
        concurrency=80,
        min_instances=0,
        max_instances=10,
        billing="request",
        cpu=1.0,
        memory_gib=0.5,
    )
    assert (other.monthly_cost, other.cost_delta, other.cold_starts_delta) == (40.0, -10.0, 7.0)
    assert other.cost_delta_pct == pytest.approx(-20.0)
    assert other.error_band == pytest.approx(2.0)
    refused = tuning.pick(
        table,
        cur,
        0.05,
        concurrency=1,
        min_instances=0,
        max_instances=10,
        billing="instance",
        cpu=0.5,
        memory_gib=0.5,
    )
    assert not refused.allowed
    assert "1 vCPU" in refused.reason
    missing = tuning.pick(
        table,
        cur,
        0.05,
        concurrency=7,
        min_instances=0,
        max_instances=10,
        billing="request",
        cpu=1.0,
        memory_gib=0.5,
    )
    assert not missing.found
    assert math.isnan(missing.monthly_cost)
    assert presentation.delta_text(other) == "-10.00 $/month (-20 %)"
    assert presentation.dollars(-0.0001) == "$0.00"


def test_sparklines_are_bucket_means_counting_missing_periods_as_zero() -> None:
    rows = [
        {**KEYS, "service": "api", "timestamp": minute(i), "value": float(v), "pending": False}
        for i, v in [(0, 1), (1, 3), (2, 5), (3, 7), (6, 11), (7, 13)]
    ]
    eight = TimeWindow(T0, T0 + pd.Timedelta(minutes=8), 60)
    lines = overview.sparklines(pd.DataFrame(rows), eight, points=4)
    (line,) = lines.tolist()
    # 8 one-minute periods (0..7) in 4 buckets: [0,1] [2,3] [4,5] [6,7]; 4 and 5 had no request
    assert line == pytest.approx([2.0, 6.0, 0.0, 12.0])
    # the line spans the window, not the points: a quiet first half is a flat start
    sixteen = TimeWindow(T0 - pd.Timedelta(minutes=8), T0 + pd.Timedelta(minutes=8), 60)
    late = overview.sparklines(pd.DataFrame(rows), sixteen, points=4)
    assert late.tolist() == [pytest.approx([0.0, 0.0, 4.0, 6.0])]
    two = TimeWindow(T0, T0 + pd.Timedelta(minutes=2), 60)
    short = overview.sparklines(pd.DataFrame(rows[:2]), two, points=48)
    assert short.tolist() == [pytest.approx([1.0, 3.0])], "never more buckets than periods"
