"""monitoring.fetch_metrics over real gRPC against the emulator, on a hand-built fleet.

Values are compared with numpy computed on the fleet's raw series (tests/_collect_mon_helpers),
percentiles with the emulator's own ALIGN_PERCENTILE_xx aligners and with the bucket holding the
true rank; faults are switched on the running emulator and counted on both sides.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from google.cloud import monitoring_v3

import emulator
from collectors import catalog, clients, distributions, errors, monitoring, rpc, schema
from collectors.rpc import CallPolicy
from foundation.window import TimeWindow
from tests._collect_mon_helpers import (
    NOW,
    PROJECT,
    REVISIONS,
    build_fleet,
    expected_sums,
    merged_buckets,
)

LTS = "google.monitoring.v3.MetricService/ListTimeSeries"
FAST = CallPolicy(
    timeout_s=5.0, attempts=3, deadline_s=20.0, backoff_initial_s=0.01, backoff_max_s=0.05
)


@pytest.fixture(scope="module")
def emu() -> Iterator[emulator.Emulator]:
    em = emulator.start(build_fleet())
    yield em
    em.stop()


@pytest.fixture
def cl(emu: emulator.Emulator) -> Iterator[clients.Clients]:
    emu.faults.clear()
    emu.calls.reset()
    c = clients.for_emulator(emu.address, policy=FAST)
    yield c
    c.close()
    emu.faults.clear()


@pytest.fixture(scope="module")
def full(emu: emulator.Emulator) -> schema.Result:
    c = clients.for_emulator(emu.address, policy=FAST)
    try:
        return monitoring.fetch_metrics(c, [PROJECT], TimeWindow.preset("24h", NOW))
    finally:
        c.close()


def assert_schema(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(schema.METRIC_POINTS)
    assert {c: str(t) for c, t in df.dtypes.items()} == {
        c: str(pd.Series(dtype=t).dtype) for c, t in schema.METRIC_POINTS.items()
    }


def test_full_result_has_every_metric_and_the_schema(full: schema.Result) -> None:
    assert full.quality.complete
    assert_schema(full.frame)
    df = full.frame
    assert set(df["metric"]) == set(catalog.ALL)
    for short in catalog.ALL:
        spec = catalog.spec(short)
        got = set(df.loc[df["metric"] == short, "stat"])
        assert got == set(spec.stats), short
        assert set(df.loc[df["metric"] == short, "unit"]) == {spec.unit}
    assert set(df["revision"]) == {r for _, _, r in REVISIONS}
    assert set(zip(df["location"], df["service"], df["revision"], strict=True)) == set(REVISIONS)
    assert (df["value"] >= 0).all()
    assert df["timestamp"].min() > NOW - timedelta(hours=24)
    assert df["timestamp"].max() <= NOW


def test_pending_marks_the_ingestion_delay(full: schema.Result) -> None:
    df = full.frame
    late = df["timestamp"] > NOW - timedelta(minutes=3)
    assert late.any()
    assert df.loc[late, "pending"].all()
    assert not df.loc[~late, "pending"].any()


@pytest.mark.parametrize(
    ("short", "label", "column"),
    [
        ("request_count", "response_code_class", "response_class"),
        ("instance_count", "state", "state"),
        ("billable_instance_time", "", ""),
        ("cpu_allocation_time", "", ""),
        ("memory_allocation_time", "", ""),
    ],
)
def test_numeric_values_equal_numpy_sums(
    full: schema.Result, short: str, label: str, column: str
) -> None:
    fleet = build_fleet()
    start = int((NOW - timedelta(hours=24)).timestamp())
    want = {
        k: v
        for k, v in expected_sums(fleet, catalog.spec(short).metric_type, label).items()
        if k[3] > start
    }
    df = full.frame[full.frame["metric"] == short]
    got = {
        (
            r.revision,
            getattr(r, column) if column else "",
            "",
            int(r.timestamp.timestamp()),
        ): r.value
        for r in df.itertuples()
    }
    assert got.keys() == want.keys()  # gaps stay gaps, nothing invented
    keys = sorted(want)
    np.testing.assert_allclose([got[k] for k in keys], [want[k] for k in keys], rtol=1e-12)


def test_distribution_count_mean_and_percentile_bucket(full: schema.Result) -> None:
    fleet = build_fleet()
    start = int((NOW - timedelta(hours=24)).timestamp())
    t0 = int(fleet.spec.start.timestamp())
    df = full.frame[full.frame["metric"] == "request_latencies"]
    merged = merged_buckets(fleet, catalog.spec("request_latencies").metric_type)
    checked = 0
    for (rev, _), (layout, cnt, mean, buckets) in merged.items():
        sub = df[df["revision"] == rev].pivot(index="timestamp", columns="stat", values="value")
        idx = ((sub.index.astype("int64") // 10**9) - t0) // 60 - 1
        sel = np.asarray(idx)
        expected_minutes = np.nonzero(cnt >= 0)[0]
        expected_minutes = expected_minutes[t0 + 60 * (expected_minutes + 1) > start]
        assert set(sel) == set(expected_minutes)
        np.testing.assert_array_equal(sub["count"].to_numpy(), cnt[sel])
        nz = cnt[sel] > 0
        np.testing.assert_allclose(sub["mean"].to_numpy()[nz], mean[sel][nz], rtol=1e-9)
        bounds = layout.upper_bounds()
        cum = np.cumsum(buckets[sel], axis=1)
        for stat, q in (("p50", 50), ("p95", 95), ("p99", 99)):
            vals = sub[stat].to_numpy()
            for row in np.nonzero(nz)[0]:
                # the bucket holding the sample of rank q% (numpy), as [lower, upper]
                b = int(np.searchsorted(cum[row], q / 100 * cum[row, -1] - 1e-9, side="left"))
                lo = bounds[b - 1] if b > 0 else 0.0
                hi = bounds[b] if b < bounds.size else bounds[-1]
                assert lo - 1e-9 <= vals[row] <= hi + 1e-9
                checked += 1
    assert checked > 1000


@pytest.mark.parametrize(
    ("short", "aligner", "stat"),
    [
        ("cpu_utilizations", "ALIGN_PERCENTILE_50", "p50"),
        ("cpu_utilizations", "ALIGN_PERCENTILE_99", "p99"),
        ("startup_latencies", "ALIGN_PERCENTILE_95", "p95"),
        ("memory_utilizations", "ALIGN_PERCENTILE_95", "p95"),
    ],
)
def test_percentiles_agree_with_the_emulators_aligners(
    full: schema.Result, cl: clients.Clients, short: str, aligner: str, stat: str
) -> None:
    spec = catalog.spec(short)
    window = TimeWindow.preset("24h", NOW)
    pager = cl.monitoring.list_time_series(
        request=monitoring_v3.ListTimeSeriesRequest(
            name=f"projects/{PROJECT}",
            filter=f'metric.type = "{spec.metric_type}"',
            interval={"start_time": window.start, "end_time": window.end},
            aggregation={
                "alignment_period": timedelta(seconds=60),
                "per_series_aligner": monitoring_v3.Aggregation.Aligner[aligner],
            },
        ),
        timeout=30,
        retry=None,
    )
    theirs = {
        (s.resource.labels["revision_name"], p.interval.end_time.timestamp()): p.value.double_value
        for s in pager
        for p in s.points
    }
    df = full.frame[(full.frame["metric"] == short) & (full.frame["stat"] == stat)]
    ours = {(r.revision, r.timestamp.timestamp()): r.value for r in df.itertuples()}
    common = ours.keys() & theirs.keys()
    assert len(common) > 100
    layout = next(
        s.values.layout for s in build_fleet().series if s.metric_type == spec.metric_type
    )
    bounds = layout.upper_bounds()
    for key in common:
        width = distributions.bucket_width_at(bounds, theirs[key])
        assert abs(ours[key] - theirs[key]) <= width + 1e-9, key


def test_empty_scope_keeps_columns_and_dtypes(cl: clients.Clients) -> None:
    r = monitoring.fetch_metrics(
        cl, [PROJECT], TimeWindow.preset("24h", NOW), monitoring.MetricScope(services=("nope",))
    )
    assert r.frame.empty
    assert r.quality.complete
    assert_schema(r.frame)


def test_rpc_count_is_the_same_for_one_service_and_for_all(
    cl: clients.Clients, emu: emulator.Emulator
) -> None:
    window = TimeWindow.preset("24h", NOW)
    monitoring.fetch_metrics(cl, [PROJECT], window, monitoring.MetricScope(services=("web",)))
    one = emu.calls.snapshot()
    emu.calls.reset()
    monitoring.fetch_metrics(cl, [PROJECT], window)
    every = emu.calls.snapshot()
    assert one == every == {LTS: len(catalog.ALL)}
    assert cl.counter.snapshot() == {LTS: 2 * len(catalog.ALL)}


def test_paging_gives_the_same_rows(
    cl: clients.Clients, emu: emulator.Emulator, full: schema.Result
) -> None:
    r = monitoring.fetch_metrics(
        cl, [PROJECT], TimeWindow.preset("24h", NOW), metrics=("request_count",), page_size=500
    )
    assert r.quality.complete
    assert emu.calls.snapshot()[LTS] > 5
    want = full.frame[full.frame["metric"] == "request_count"]
    key = ["revision", "response_class", "timestamp"]
    pd.testing.assert_frame_equal(
        r.frame.sort_values(key).reset_index(drop=True),
        want.sort_values(key).reset_index(drop=True),
    )


def test_failure_on_page_two_keeps_page_one(cl: clients.Clients, emu: emulator.Emulator) -> None:
    emu.faults.set("ListTimeSeries:UNAVAILABLE@page2")
    r = monitoring.fetch_metrics(cl, [PROJECT], TimeWindow.preset("24h", NOW), page_size=1000)
    assert r.quality.status == "partial"
    assert any("UNAVAILABLE" in reason for reason in r.quality.reasons)
    assert_schema(r.frame)
    assert set(r.frame["metric"]) == set(catalog.ALL)  # page 1 of every metric kept
    # page 1 once, page 2 three times (retried, then given up) per metric
    assert emu.calls.snapshot() == {LTS: 4 * len(catalog.ALL)}


def test_unavailable_fails_after_bounded_attempts(
    cl: clients.Clients, emu: emulator.Emulator
) -> None:
    emu.faults.set("ListTimeSeries:UNAVAILABLE@1.0")
    with pytest.raises(errors.CallFailed, match="after 3 attempts: UNAVAILABLE") as info:
        monitoring.fetch_metrics(
            cl, [PROJECT], TimeWindow.preset("1h", NOW), metrics=("request_count",)
        )
    assert info.value.attempts == 3
    assert emu.calls.snapshot() == {LTS: 3}
    assert cl.counter.snapshot() == {LTS: 3}


def test_client_side_timeout_is_retried_then_reported(emu: emulator.Emulator) -> None:
    emu.faults.clear()
    emu.calls.reset()
    emu.faults.set("latency=0.6")
    policy = CallPolicy(timeout_s=0.15, attempts=2, deadline_s=5.0, backoff_initial_s=0.01)
    c = clients.for_emulator(emu.address, policy=policy)
    try:
        with pytest.raises(errors.CallFailed, match="DEADLINE_EXCEEDED"):
            monitoring.fetch_metrics(
                c, [PROJECT], TimeWindow.preset("1h", NOW), metrics=("request_count",)
            )
        assert c.counter.snapshot() == {LTS: 2}
    finally:
        emu.faults.clear()
        c.close()


def test_permission_denied_names_the_role_and_is_not_retried(
    cl: clients.Clients, emu: emulator.Emulator
) -> None:
    emu.faults.set("ListTimeSeries:PERMISSION_DENIED")
    with pytest.raises(errors.PermissionDeniedError, match=r"roles/monitoring\.viewer") as info:
        monitoring.fetch_metrics(
            cl, [PROJECT], TimeWindow.preset("1h", NOW), metrics=("request_count",)
        )
    assert "monitoring.timeSeries.list" in str(info.value)
    assert emu.calls.snapshot() == {LTS: 1}


def test_invalid_argument_and_quota_are_not_retried(
    cl: clients.Clients, emu: emulator.Emulator
) -> None:
    emu.faults.set("ListTimeSeries:INVALID_ARGUMENT")
    with pytest.raises(errors.CallFailed, match="INVALID_ARGUMENT"):
        monitoring.fetch_metrics(
            cl, [PROJECT], TimeWindow.preset("1h", NOW), metrics=("request_count",)
        )
    assert emu.calls.snapshot() == {LTS: 1}
    emu.calls.reset()
    emu.faults.set("ListTimeSeries:RESOURCE_EXHAUSTED")
    with pytest.raises(errors.QuotaExceeded, match="Quota exceeded for ListTimeSeries"):
        monitoring.fetch_metrics(
            cl, [PROJECT], TimeWindow.preset("1h", NOW), metrics=("request_count",)
        )
    assert emu.calls.snapshot() == {LTS: 1}


def test_quota_error_names_the_quota_and_limit(cl: clients.Clients, emu: emulator.Emulator) -> None:
    # The emulator's Logging read quota answers with Google's ErrorInfo/QuotaFailure details.
    from google.cloud.logging_v2.types import ListLogEntriesRequest

    emu.faults.set("quota=1")
    req = ListLogEntriesRequest(
        resource_names=[f"projects/{PROJECT}"],
        filter='timestamp >= "2026-11-28T00:00:00Z"',
        page_size=10,
    )
    cl.call(rpc.LIST_LOG_ENTRIES, cl.logging.list_log_entries, req)
    with pytest.raises(errors.QuotaExceeded) as info:
        cl.call(rpc.LIST_LOG_ENTRIES, cl.logging.list_log_entries, req)
    assert info.value.quota == "ReadRequestsPerMinutePerProject"
    assert info.value.limit == 1
    assert "ReadRequestsPerMinutePerProject (limit 1)" in str(info.value)
    assert cl.counter.snapshot() == {rpc.LIST_LOG_ENTRIES.name: 2}


def test_partial_when_some_metrics_fail(cl: clients.Clients, emu: emulator.Emulator) -> None:
    # half the calls fail for good: whatever came back is kept and the result says partial
    emu.faults.set("ListTimeSeries:PERMISSION_DENIED@0.5;seed=3")
    try:
        r = monitoring.fetch_metrics(cl, [PROJECT], TimeWindow.preset("1h", NOW))
    except errors.PermissionDeniedError:
        pytest.skip("every call happened to fail with this seed")
    if r.quality.complete:
        pytest.skip("no call happened to fail with this seed")
    assert r.quality.status == "partial"
    assert any("roles/monitoring.viewer" in reason for reason in r.quality.reasons)
    assert_schema(r.frame)


def test_execution_errors_make_the_result_partial(
    cl: clients.Clients, emu: emulator.Emulator
) -> None:
    emu.faults.set("exec_errors=1")
    r = monitoring.fetch_metrics(
        cl, [PROJECT], TimeWindow.preset("1h", NOW), metrics=("request_count",)
    )
    assert r.quality.status == "partial"
    assert any("may be incomplete" in reason for reason in r.quality.reasons)
    assert not r.frame.empty


def test_list_locations_over_the_channel(cl: clients.Clients) -> None:
    from google.cloud.location import locations_pb2

    resp = cl.call(
        rpc.LIST_LOCATIONS,
        cl.list_locations,
        locations_pb2.ListLocationsRequest(name=f"projects/{PROJECT}"),
    )
    assert {loc.location_id for loc in resp.locations} == {r for r, _, _ in REVISIONS}
