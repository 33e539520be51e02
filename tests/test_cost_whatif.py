"""What-if grid, Pareto front, advice, observed cost and the refusals, on hand-made data."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from collectors.schema import METRIC_POINTS, REVISIONS, conform
from costmodel.advice import advise
from costmodel.calibrate import Calibration, RevisionInput, calibrate, check_enough
from costmodel.errors import CannotEstimate
from costmodel.inputs import service_input
from costmodel.observed import observed_costs
from costmodel.replay import Params
from costmodel.traffic import Config, Traffic
from costmodel.whatif import ServiceInput, evaluate, pareto_front

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 5, tzinfo=UTC)


def _traffic(minutes: int, seed: int = 1, rps: float = 2.0, latency: float = 0.3) -> Traffic:
    rng = np.random.default_rng(seed)
    t = np.arange(minutes)
    rate = rps * (1 + 0.8 * np.sin(2 * np.pi * t / 1440)) * rng.lognormal(0, 0.2, minutes)
    req = rng.poisson(rate * 60).astype(float)
    inst = np.where(req > 0, np.ceil(req / 60 * latency / 0.6 + 0.5), 0.0)
    billable = np.minimum(req * latency + 0.05 * req, inst * 60)
    return Traffic(
        start=T0,
        requests=req,
        latency_s=np.where(req > 0, latency, np.nan),
        instances=inst,
        instances_active=inst,
        billable_s=billable,
        starts=np.zeros(minutes),
        has_observations=True,
    )


def _service(config: Config, minutes: int = 3 * 1440) -> ServiceInput:
    tr = _traffic(minutes)
    return ServiceInput("europe-west1", "svc", [RevisionInput("svc-1", tr, config)], config, 3.0)


def test_forbidden_settings_are_listed_with_reasons() -> None:
    cfg = Config(cpu=0.5, memory_gib=0.5, concurrency=1, billing="request")
    w = evaluate(_service(cfg), concurrencies=[1, 8], min_instances=[0, 1])
    bad = w.table[~w.table["allowed"]]
    assert set(bad["reason"]) == {
        "concurrency 8 needs at least 1 vCPU (cpu is 0.5)",
        "instance-based billing needs at least 1 vCPU (cpu is 0.5)",
    }
    assert bad["monthly_cost"].isna().all()
    assert (w.table.loc[w.table["allowed"], "monthly_cost"] > 0).all()


def test_pareto_front_and_current_marked() -> None:
    cfg = Config(cpu=1, memory_gib=0.5, concurrency=80, billing="request", min_instances=1)
    w = evaluate(_service(cfg), concurrencies=[1, 10, 80], min_instances=[0, 1, 3])
    t = w.table[w.table["allowed"]]
    assert w.current["current"]
    assert int(w.table["current"].sum()) == 1
    # the front is of the settings refusing no more requests than the current one
    fair = t[~(t["rejected_per_day"] > float(w.current["rejected_per_day"]) + 0.5)]
    assert not t.loc[~t.index.isin(fair.index), "pareto"].any()
    cost, starts = fair["monthly_cost"].to_numpy(), fair["cold_starts_per_day"].to_numpy()
    for i in np.flatnonzero(fair["pareto"].to_numpy()):  # nobody dominates a front point
        dominated = (
            (cost <= cost[i]) & (starts <= starts[i]) & ((cost < cost[i]) | (starts < starts[i]))
        )
        assert not dominated.any()
    # More min instances: more cost and no more cold starts (request billing, concurrency 80).
    same_max = t["max_instances"] == cfg.max_instances
    row = t[(t["concurrency"] == 80) & (t["billing"] == "request") & same_max & ~t["current"]]
    row = row.sort_values("min_instances")
    assert np.all(np.diff(row["monthly_cost"].to_numpy()) > 0)
    assert np.all(np.diff(row["cold_starts_per_day"].to_numpy()) <= 1e-9)


def test_max_instances_trade_refused_requests_for_cost() -> None:
    """Fewer max instances: more requests refused (429), never more cost; enough of them refuse
    none, and every max above what the traffic needs gives the same figures."""
    cfg = Config(cpu=1, memory_gib=0.5, concurrency=4, billing="request", max_instances=100)
    tr = _traffic(3 * 1440, rps=40.0)  # ~12 requests in flight on average, ~25 at the peak
    data = ServiceInput("europe-west1", "svc", [RevisionInput("svc-1", tr, cfg)], cfg, 3.0)
    w = evaluate(data, concurrencies=[4], min_instances=[0], billings=["request"])
    t = w.table[w.table["allowed"] & ~w.table["current"]].sort_values("max_instances")
    assert list(t["max_instances"]) == [1, 2, 5, 10, 20, 50, 100]
    refused = t["rejected_per_day"].to_numpy()
    cost = t["monthly_cost"].to_numpy()
    assert refused[0] > 100  # one instance of concurrency 4 cannot serve this traffic
    assert np.all(np.diff(refused) <= 1e-9)
    assert np.all(np.diff(cost) >= -1e-9)
    assert refused[-1] == 0
    enough = t[t["rejected_per_day"] == 0]
    assert len(enough) >= 2
    for col in ("monthly_cost", "cold_starts_per_day"):  # the same, to levels never reached
        assert enough[col].to_numpy() == pytest.approx(enough[col].iloc[-1], rel=1e-4)


def test_pareto_front_small_case() -> None:
    cost = np.array([1.0, 2.0, 3.0, 1.5, 2.0])
    starts = np.array([10.0, 5.0, 1.0, 10.0, 6.0])
    assert pareto_front(cost, starts).tolist() == [True, True, True, False, False]


def test_advice_carries_numbers() -> None:
    cfg = Config(cpu=1, memory_gib=1, concurrency=80, billing="instance", min_instances=2)
    tr = _traffic(3 * 1440, rps=0.01, latency=0.15)
    tr = Traffic(
        **{
            **tr.__dict__,
            "instances": np.maximum(tr.instances, 2.0),
            "billable_s": np.full(tr.minutes, 120.0),
        }
    )
    data = ServiceInput("europe-west1", "admin", [RevisionInput("admin-1", tr, cfg)], cfg, 3.0)
    tips = advise(evaluate(data), startup_s=3.0)
    assert any(t.startswith("switch to request-based billing") and "$" in t for t in tips)
    assert any(
        t.startswith("min instances 2 → 0 saves $") and "cold starts a day of ~3.0 s" in t
        for t in tips
    )


def test_calibration_reports_signed_error() -> None:
    cfg = Config(cpu=1, memory_gib=0.5, concurrency=80, billing="request")
    cal = calibrate(_service(cfg).revisions)
    assert np.isfinite(cal.billable_error)
    assert cal.billable_error == pytest.approx(
        (cal.replayed_billable_s - cal.observed_billable_s) / cal.observed_billable_s
    )


@pytest.mark.parametrize(
    ("traffic", "message"),
    [
        (None, "no revision of the service had traffic"),
        (Traffic(start=T0, requests=np.zeros(600), latency_s=np.full(600, np.nan)), "no traffic"),
        (
            Traffic(start=T0, requests=np.full(120, 30.0), latency_s=np.full(120, 0.1)),
            "only 2.0 hours of traffic",
        ),
        (
            Traffic(
                start=T0, requests=np.r_[np.ones(10), np.zeros(590)], latency_s=np.full(600, 0.1)
            ),
            "only 10 requests",
        ),
    ],
)
def test_thin_data_cannot_be_estimated(traffic: Traffic | None, message: str) -> None:
    cfg = Config(cpu=1, memory_gib=0.5, concurrency=80)
    inputs = [] if traffic is None else [RevisionInput("r", traffic, cfg)]
    with pytest.raises(CannotEstimate, match=message):
        check_enough(inputs)


def _revisions(**over: object) -> pd.DataFrame:
    row = {
        "project_id": "runwatch-demo",
        "location": "europe-west1",
        "service": "svc",
        "revision": "svc-00001-abc",
        "cpu": 1.0,
        "memory_gib": 0.5,
        "gpu": 0,
        "concurrency": 80,
        "concurrency_set": True,
        "min_instances": 1,
        "max_instances": 10,
        "billing": "request",
        "startup_cpu_boost": False,
        "timeout_s": 300.0,
        "execution_environment": "gen2",
        "create_time": T0 - timedelta(days=30),
    }
    row.update(over)
    return conform(pd.DataFrame([row]), REVISIONS)


def _points(minutes: int) -> pd.DataFrame:
    rows = []
    for i in range(minutes):
        ts = T0 + timedelta(minutes=i + 1)
        base = {
            "timestamp": ts,
            "project_id": "runwatch-demo",
            "location": "europe-west1",
            "service": "svc",
            "revision": "svc-00001-abc",
            "state": "",
            "response_class": "",
            "unit": "",
            "pending": False,
            "bound": "",
        }
        busy = i % 2 == 0  # 120 requests x 0.5 s every other minute; idle min instance else
        rows += [
            {
                **base,
                "metric": "request_count",
                "stat": "value",
                "response_class": "2xx",
                "value": 120.0 if busy else 0.0,
            },
            {**base, "metric": "request_latencies", "stat": "mean", "value": 500.0},
            {
                **base,
                "metric": "instance_count",
                "stat": "value",
                "state": "active",
                "value": 2.0 if busy else 0.0,
            },
            {
                **base,
                "metric": "instance_count",
                "stat": "value",
                "state": "idle",
                "value": 0.0 if busy else 1.0,
            },
            {
                **base,
                "metric": "billable_instance_time",
                "stat": "value",
                "value": 70.0 if busy else 60.0,
            },
        ]
    return conform(pd.DataFrame(rows), METRIC_POINTS)


def test_observed_cost_split() -> None:
    minutes = 60
    df = observed_costs(
        _points(minutes), _revisions(), start=T0, end=T0 + timedelta(minutes=minutes)
    )
    row = df.iloc[0]
    # Busy minutes: 2 instances, 120 requests of 0.5 s (1 in flight on average, 2 arrivals a
    # second) at concurrency 80: each instance busy with probability 1 - exp(-1/2), busy
    # periods starting at 2 exp(-1/2) a second, each rounded up by 0.05 s on average; at least
    # the 10 s above the min instance's 60 s floor. Idle minutes: the 1 min instance billed 60 s,
    # no requests -> idle. (1 vCPU, 0.5 GiB.)
    busy = 60.0 * (2 * (1 - np.exp(-0.5)) + 2 * np.exp(-0.5) * 0.05)
    per_busy_minute = min(max(busy, 70.0 - 60.0), 70.0)
    active = 30 * per_busy_minute
    idle = 30 * (70.0 - per_busy_minute) + 30 * 60.0
    assert row["idle_min_s"] == pytest.approx(idle)
    assert row["cpu"] == pytest.approx(active * 0.000024)
    assert row["memory"] == pytest.approx(active * 0.5 * 0.0000025)
    assert row["idle_min"] == pytest.approx(idle * (0.0000025 + 0.5 * 0.0000025))
    assert row["requests_cost"] == pytest.approx(30 * 120 / 1e6 * 0.40)
    assert row["total"] == pytest.approx(
        row["cpu"] + row["memory"] + row["idle_min"] + row["requests_cost"]
    )
    assert row["monthly_total"] == pytest.approx(row["total"] * 30.4375 * 24)


def test_observed_cost_refuses_gpu_and_unknown_region() -> None:
    end = T0 + timedelta(minutes=60)
    revs = pd.concat([_revisions(gpu=1), _revisions(location="mars-north1", revision="svc-2")])
    df = observed_costs(_points(60), revs, start=T0, end=end)
    assert df["cannot_estimate"].str.contains("GPU").iloc[0]
    assert "mars-north1" in df["cannot_estimate"].iloc[1]
    assert df["total"].isna().all()  # never a silent $0


def test_service_input_refusals() -> None:
    end = T0 + timedelta(minutes=60)
    with pytest.raises(CannotEstimate, match="no configuration"):
        service_input(
            _points(60),
            _revisions().iloc[0:0],
            region="europe-west1",
            service="svc",
            start=T0,
            end=end,
        )
    with pytest.raises(CannotEstimate, match="GPUs"):
        service_input(
            _points(60), _revisions(gpu=1), region="europe-west1", service="svc", start=T0, end=end
        )
    with pytest.raises(CannotEstimate, match="lacks cpu"):
        service_input(
            _points(60),
            _revisions(cpu=None),
            region="europe-west1",
            service="svc",
            start=T0,
            end=end,
        )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "costmodel", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_estimate_json_worked_example() -> None:
    out = _cli(
        "estimate",
        "--requests-per-month",
        "10000000",
        "--latency-ms",
        "200",
        "--cpu",
        "0.167",
        "--memory",
        "256Mi",
        "--concurrency",
        "1",
        "--billing",
        "request",
        "--region",
        "europe-west1",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert round(doc["total"], 2) == 7.25
    assert {"name", "unit", "quantity", "unit_price", "cost"} <= set(doc["lines"][0])


def test_cli_refusals_are_one_line() -> None:
    out = _cli(
        "estimate",
        "--requests-per-month",
        "1e6",
        "--latency-ms",
        "100",
        "--cpu",
        "0.5",
        "--memory",
        "512Mi",
        "--concurrency",
        "4",
        "--billing",
        "request",
        "--region",
        "europe-west1",
    )
    assert out.returncode == 3
    assert out.stderr.startswith("cannot estimate because Cloud Run does not allow this setting")
    assert "Traceback" not in out.stderr
    bad = _cli(
        "estimate",
        "--requests-per-month",
        "1e6",
        "--latency-ms",
        "100",
        "--cpu",
        "1",
        "--memory",
        "lots",
        "--concurrency",
        "4",
        "--billing",
        "request",
        "--region",
        "europe-west1",
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert "256Mi" in bad.stderr


def test_advice_raises_max_instances_to_serve_refused_requests() -> None:
    """Requests refused at max instances: the first advice is the max that serves them, all else
    equal, with its cost from the grid (webhook-relay's story)."""
    cfg = Config(cpu=1, memory_gib=0.5, concurrency=4, billing="request", max_instances=3)
    tr = _traffic(3 * 1440, rps=40.0)
    data = ServiceInput("europe-west1", "svc", [RevisionInput("svc-1", tr, cfg)], cfg, 3.0)
    trusted = Calibration(Params(), 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0)  # the traffic is made up
    w = evaluate(data, calibration=trusted)
    refused = float(w.current["rejected_per_day"])
    assert refused > 1000
    tips = advise(w)
    t = w.table[~w.table["current"]]
    fixed = t[
        (t["concurrency"] == 4)
        & (t["min_instances"] == 0)
        & (t["billing"] == "request")
        & (t["rejected_per_day"] < 0.1 * refused)
    ].sort_values("max_instances")
    row = fixed.iloc[0]
    delta = float(row["monthly_cost"]) - float(w.current["monthly_cost"])
    assert delta > 0  # serving them costs more
    assert tips[0] == (
        f"max instances 3 → {int(row['max_instances'])} would serve the ~{refused:.0f} requests "
        f"a day now refused with 429; cost +${delta:,.2f}/month"
    )
