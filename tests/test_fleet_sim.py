"""The simulated demo fleet: determinism, metric contract, consistency identities, stories."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import numpy as np
import pytest

from emulator.sim.events import CONNECTION_ERROR_TEXT, COULD_NOT_START_TEXT, OOM_REQUEST_TEXT
from emulator.sim.fleet import simulate
from emulator.sim.model import FleetData
from emulator.sim.scenarios import demo_fleet, with_services
from tests._fleet_helpers import NOW, dist, numeric, one, quantile_from_buckets, revisions_of

METRICS = {
    # metric: (kind, value type, unit)
    "request_count": ("DELTA", "INT64", "1"),
    "request_latencies": ("DELTA", "DISTRIBUTION", "ms"),
    "container/instance_count": ("GAUGE", "INT64", "1"),
    "container/billable_instance_time": ("DELTA", "DOUBLE", "s"),
    "container/cpu/allocation_time": ("DELTA", "DOUBLE", "s{vCPU}"),
    "container/memory/allocation_time": ("DELTA", "DOUBLE", "GiBy.s"),
    "container/cpu/utilizations": ("DELTA", "DISTRIBUTION", "10^2.%"),
    "container/memory/utilizations": ("DELTA", "DISTRIBUTION", "10^2.%"),
    "container/max_request_concurrencies": ("DELTA", "DISTRIBUTION", "1"),
    "container/startup_latencies": ("DELTA", "DISTRIBUTION", "ms"),
    "container/network/received_bytes_count": ("DELTA", "INT64", "By"),
    "container/network/sent_bytes_count": ("DELTA", "INT64", "By"),
}


@pytest.fixture(scope="module")
def week() -> FleetData:
    return simulate(demo_fleet(NOW, days=7))


def test_demo_fleet_shape() -> None:
    spec = demo_fleet(NOW, days=7)
    assert spec.end == NOW.replace(second=0, microsecond=0)
    assert spec.end - spec.start == timedelta(days=7)
    assert len(spec.services) >= 6
    assert sum(len(s.revisions) for s in spec.services) >= 15
    assert {s.region for s in spec.services} == {"europe-west1", "asia-southeast1"}
    revs = [r for s in spec.services for r in s.revisions]
    assert any(r.cpu < 1 and r.concurrency == 1 and r.cpu_idle for r in revs)
    for svc in spec.services:
        assert 2 <= len(svc.revisions) <= 4
        assert any(spec.start < r.create_time < spec.end for r in svc.revisions)
    with pytest.raises(ValueError, match="days"):
        demo_fleet(NOW, days=31)
    with pytest.raises(ValueError, match="timezone"):
        demo_fleet(NOW.replace(tzinfo=None))


def test_same_seed_same_data_other_seed_differs() -> None:
    spec = with_services(demo_fleet(NOW, days=1), {"runwatch", "webhook-relay", "admin-tool"})
    a, b = simulate(spec, workers=1), simulate(spec, workers=2)
    assert a.instance_events == b.instance_events
    assert a.request_events == b.request_events
    assert a.truth == b.truth
    assert len(a.series) == len(b.series)
    for x, y in zip(a.series, b.series, strict=True):
        assert (x.metric_type, dict(x.metric_labels)) == (y.metric_type, dict(y.metric_labels))
        if isinstance(x.values, np.ndarray):
            np.testing.assert_array_equal(x.values, numeric(y))
        else:
            np.testing.assert_array_equal(x.values.bucket_counts, dist(y).bucket_counts)
    other = simulate(demo_fleet(NOW, days=1, seed=7))
    assert other.truth != simulate(demo_fleet(NOW, days=1)).truth


def test_every_metric_with_its_kind_unit_and_labels(week: FleetData) -> None:
    spec = week.spec
    for svc in spec.services:
        for rev in svc.revisions:
            mine = [s for s in week.series if s.resource_labels["revision_name"] == rev.name]
            assert {s.metric_type.removeprefix("run.googleapis.com/") for s in mine} == set(METRICS)
            for s in mine:
                kind, vtype, unit = METRICS[s.metric_type.removeprefix("run.googleapis.com/")]
                assert (s.metric_kind, s.value_type, s.unit) == (kind, vtype, unit)
                assert dict(s.resource_labels) == {
                    "project_id": spec.project,
                    "service_name": svc.name,
                    "revision_name": rev.name,
                    "location": svc.region,
                    "configuration_name": svc.name,
                }
                n = s.values.count if not isinstance(s.values, np.ndarray) else s.values
                assert len(n) == spec.minutes
    codes = {
        s.metric_labels["response_code"]
        for s in week.series
        if s.metric_type.endswith("request_count")
    }
    assert {"200", "404", "500", "503"} <= codes
    assert "429" not in codes  # rejected before a container: not counted
    kinds = {dist(s).layout.kind for s in week.series if s.value_type == "DISTRIBUTION"}
    assert kinds == {"linear", "exponential", "explicit"}


def test_request_count_equals_requests_served(week: FleetData) -> None:
    for svc in week.spec.services:
        total = 0.0
        for rev in revisions_of(week, svc.name):
            counts = [
                numeric(s)
                for s in week.series
                if s.resource_labels["revision_name"] == rev
                and s.metric_type.endswith("request_count")
            ]
            total += float(sum(np.nansum(c) for c in counts))
            lat = [
                dist(s)
                for s in week.series
                if s.resource_labels["revision_name"] == rev
                and s.metric_type.endswith("request_latencies")
            ]
            n_lat = sum(int(np.clip(d.count, 0, None).sum()) for d in lat)
            assert n_lat == int(sum(np.nansum(c) for c in counts))
            for d in lat:
                np.testing.assert_array_equal(np.clip(d.count, 0, None), d.bucket_counts.sum(1))
        assert total == week.truth[(svc.region, svc.name)].requests


def test_billing_and_instance_identities(week: FleetData) -> None:
    for svc in week.spec.services:
        billable_total = boost_total = 0.0
        for rev in svc.revisions:
            active = numeric(one(week, rev.name, "container/instance_count", state="active"))
            idle = numeric(one(week, rev.name, "container/instance_count", state="idle"))
            bill = numeric(one(week, rev.name, "container/billable_instance_time"))
            cpu = numeric(one(week, rev.name, "container/cpu/allocation_time"))
            mem = numeric(one(week, rev.name, "container/memory/allocation_time"))
            present = np.isfinite(active)
            assert (np.isfinite(idle) == present).all()
            assert (np.isfinite(bill) == present).all()  # no instance, no point
            assert (active[present] >= 0).all()
            assert (idle[present] >= 0).all()
            instances = active[present] + idle[present]
            assert (instances >= 1).all()
            assert (bill[present] <= instances * 60.0 + 1e-6).all()
            assert (bill[present] >= 0).all()
            # cpu allocation: billable time x vCPU, plus the startup CPU boost's extra vCPU
            # (UNCONFIRMED billing, emulator/sim/instances.py) for boosted revisions
            boost = cpu[present] - bill[present] * rev.cpu
            if rev.startup_cpu_boost:
                assert (boost >= -1e-9).all()
                boost_total += float(boost.sum())
            else:
                np.testing.assert_allclose(cpu[present], bill[present] * rev.cpu)
            np.testing.assert_allclose(mem[present], bill[present] * rev.memory_gib)
            billable_total += float(np.nansum(bill))
        truth = week.truth[(svc.region, svc.name)]
        assert billable_total == pytest.approx(truth.billable_instance_seconds, rel=0.01)
        assert boost_total == pytest.approx(truth.boost_vcpu_seconds, rel=1e-9, abs=1e-6)


def test_startup_samples_match_start_events(week: FleetData) -> None:
    """Every start that did not fail has its startup-latency sample; a failed start (its
    instance wrote start-failure lines) has none and is no instance of the ground truth."""
    failed = {e.instance_id for e in week.instance_events if e.kind == "exec_failed"}
    assert failed
    starts = Counter()
    ms: dict[str, list[float]] = {}
    for e in week.instance_events:
        if e.kind == "start" and e.instance_id not in failed:
            minute = int((e.timestamp - week.spec.start).total_seconds() // 60)
            starts[(e.revision, minute)] += 1
        if e.kind == "ready":
            assert e.startup_ms is not None
            ms.setdefault(e.revision, []).append(e.startup_ms)
    for svc in week.spec.services:
        for rev in svc.revisions:
            d = dist(one(week, rev.name, "container/startup_latencies"))
            expected = np.zeros(week.spec.minutes, dtype=np.int64)
            for (r, m), k in starts.items():
                if r == rev.name:
                    expected[m] = k
            np.testing.assert_array_equal(np.clip(d.count, 0, None), expected)
            got = d.mean[d.count > 0] @ d.count[d.count > 0]
            assert got == pytest.approx(sum(ms.get(rev.name, [])), rel=0.02, abs=1.0)
    per_service = Counter(
        e.service for e in week.instance_events if e.kind == "start" and e.instance_id not in failed
    )
    for (region, name), truth in week.truth.items():
        assert per_service[name] == truth.cold_starts, (region, name)


def test_events_sorted_in_window_with_realistic_ids(week: FleetData) -> None:
    for events in (week.instance_events, week.request_events):
        stamps = [e.timestamp for e in events]
        assert stamps == sorted(stamps)
        assert all(week.spec.start <= t <= week.spec.end + timedelta(seconds=1) for t in stamps)
    autoscaling = [e for e in week.instance_events if e.reason == "AUTOSCALING"]
    missing = sum(e.instance_id is None for e in autoscaling) / len(autoscaling)
    assert 0.04 < missing < 0.2
    others = [e for e in week.instance_events if e.reason != "AUTOSCALING"]
    assert all(e.instance_id is not None for e in others)
    ids = {e.instance_id for e in week.instance_events if e.instance_id}
    assert all(len(i) >= 100 and int(i, 16) >= 0 for i in ids)
    kinds = Counter(e.kind for e in week.instance_events)
    assert {"start", "ready", "shutdown", "oom", "signal9"} <= set(kinds)
    assert kinds["oom"] == kinds["signal9"]
    reasons = {e.reason for e in week.instance_events if e.kind == "start"}
    assert reasons == {"AUTOSCALING", "DEPLOYMENT_ROLLOUT", "MANUAL_OR_CUSTOMER_MIN_INSTANCE"}
    for e in week.instance_events:
        if e.kind == "oom":
            assert e.memory_used_mib is not None
            assert e.memory_limit_mib is not None
            assert e.memory_used_mib > e.memory_limit_mib


def test_canary_has_p99_regression_and_more_errors(week: FleetData) -> None:
    stable, canary = revisions_of(week, "checkout-api")[1:]
    last_day = slice(week.spec.minutes - 1440, None)
    p99 = {
        r: quantile_from_buckets(
            dist(one(week, r, "request_latencies", response_code_class="2xx")), last_day, 0.99
        )
        for r in (stable, canary)
    }
    p50 = {
        r: quantile_from_buckets(
            dist(one(week, r, "request_latencies", response_code_class="2xx")), last_day, 0.5
        )
        for r in (stable, canary)
    }
    assert p99[canary] > 2 * p99[stable]
    assert p50[canary] < 2 * p50[stable]  # the median barely moves: a tail regression

    def error_rate(rev: str) -> float:
        counts = {
            s.metric_labels["response_code"]: np.nansum(numeric(s)[last_day])
            for s in week.series
            if s.resource_labels["revision_name"] == rev and s.metric_type.endswith("request_count")
        }
        total = sum(counts.values())
        return float(sum(v for k, v in counts.items() if k.startswith("5")) / total)

    assert error_rate(canary) > 5 * error_rate(stable)
    requests = {
        r: sum(
            np.nansum(numeric(s)[last_day])
            for s in week.series
            if s.resource_labels["revision_name"] == r and s.metric_type.endswith("request_count")
        )
        for r in (stable, canary)
    }
    share = requests[canary] / (requests[canary] + requests[stable])
    assert 0.08 < share < 0.12  # the 10 % canary


def test_admin_tool_mostly_idles_on_instance_billing(week: FleetData) -> None:
    active = idle = 0.0
    for rev in revisions_of(week, "admin-tool"):
        active += np.nansum(numeric(one(week, rev, "container/instance_count", state="active")))
        idle += np.nansum(numeric(one(week, rev, "container/instance_count", state="idle")))
    assert idle / (active + idle) > 0.7
    truth = week.truth[("europe-west1", "admin-tool")]
    assert not truth.cpu_idle
    assert truth.billable_instance_seconds >= truth.instance_seconds
    # two min instances all week: at least 2 x the window billed
    assert truth.billable_instance_seconds > 1.9 * week.spec.minutes * 60


def test_webhook_hits_max_instances_and_rejects(week: FleetData) -> None:
    rejections = [e for e in week.request_events if e.status == 429]
    assert rejections
    assert all(e.service == "webhook-relay" for e in rejections)
    assert all(
        e.platform_text and e.platform_text.startswith("The request was aborted because there")
        for e in rejections
    )
    assert all(e.latency_s >= 10.0 for e in rejections)
    assert len(rejections) == week.truth[("asia-southeast1", "webhook-relay")].rejected_requests
    for e in week.request_events:
        if e.status != 429:
            # an application's 5xx carries no platform text; a request an out-of-memory kill
            # broke, or whose instance failed to start, carries the platform's
            assert e.platform_text in (
                None,
                OOM_REQUEST_TEXT,
                CONNECTION_ERROR_TEXT,
                COULD_NOT_START_TEXT,
            )
            assert e.status >= 500
    peak = 0.0
    for rev in revisions_of(week, "webhook-relay"):
        a = numeric(one(week, rev, "container/instance_count", state="active"))
        i = numeric(one(week, rev, "container/instance_count", state="idle"))
        peak = max(peak, float(np.nanmax(a + i)))
    assert peak == 3  # max_instances reached, never exceeded


def test_image_resizer_cold_starts_per_request_high(week: FleetData) -> None:
    def per_request(region: str, name: str) -> float:
        t = week.truth[(region, name)]
        return t.cold_starts / t.requests

    resizer = per_request("asia-southeast1", "image-resizer")
    assert resizer > 20 * per_request("europe-west1", "checkout-api")
    assert resizer > 20 * per_request("europe-west1", "web-frontend")
    t = week.truth[("asia-southeast1", "image-resizer")]
    assert t.requests_meeting_cold_start > 0.5 * t.cold_starts


def test_web_frontend_daily_cycle(week: FleetData) -> None:
    per_minute = np.zeros(week.spec.minutes)
    for rev in revisions_of(week, "web-frontend"):
        for s in week.series:
            if s.resource_labels["revision_name"] == rev and s.metric_type.endswith(
                "request_count"
            ):
                per_minute += np.nan_to_num(numeric(s))
    hourly = per_minute[: (len(per_minute) // 60) * 60].reshape(-1, 60).sum(1) / 3600
    assert hourly.max() > 4 * max(hourly.min(), 1e-9)
    assert 12 < hourly.max() < 80  # peak rps


def test_gaps_when_revision_has_no_instances(week: FleetData) -> None:
    rev = revisions_of(week, "runwatch")[-1]
    inst = numeric(one(week, rev, "container/instance_count", state="active"))
    bill = numeric(one(week, rev, "container/billable_instance_time"))
    cpu = dist(one(week, rev, "container/cpu/utilizations"))
    assert np.isnan(inst).mean() > 0.2  # scales to zero at night
    assert (np.isnan(bill) == np.isnan(inst)).all()
    assert ((cpu.count == -1) == np.isnan(inst)).all()
