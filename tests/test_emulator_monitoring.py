"""MetricService/ListTimeSeries through the real MetricServiceClient over loopback gRPC; every
aggregation is checked against numpy computed straight from the raw FleetData arrays (paging,
time bounds, bad requests and faults: test_emulator_monitoring_requests.py)."""

from __future__ import annotations

from typing import Any

import _emulator_fixtures as fixtures
import numpy as np
import pytest
from _emulator_helpers import END, PROJECT
from _emulator_monitoring import (
    BILL,
    INST,
    KIND,
    LAT,
    RC,
    VTYPE,
    find,
    period_sums,
    points_by_end,
    query,
    raw_ends,
)
from google.cloud import monitoring_v3

from emulator.sim.model import DistributionSeries, FleetData, RawSeries

# the module-scoped fixtures every test here shares
fleet, emu, client = fixtures.fleet, fixtures.emu, fixtures.client


def test_every_metric_raw_with_exact_kinds_units_labels(fleet: FleetData, client: Any) -> None:
    for mtype in sorted({s.metric_type for s in fleet.series}):
        got = query(client, f'metric.type = "{mtype}"', minutes=30)
        expected = [s for s in fleet.series if s.metric_type == mtype]
        assert len(got) == len(expected), mtype
        for ts in got:
            ref = next(
                s
                for s in expected
                if dict(s.resource_labels) == dict(ts.resource.labels)
                and dict(s.metric_labels) == dict(ts.metric.labels)
            )
            assert ts.metric.type == mtype
            assert ts.resource.type == "cloud_run_revision"
            assert monitoring_v3.TimeSeries.pb(ts).metric_kind == KIND[ref.metric_kind]
            assert monitoring_v3.TimeSeries.pb(ts).value_type == VTYPE[ref.value_type]
            assert ts.unit == ref.unit
            ends = [int(p.interval.end_time.timestamp()) for p in ts.points]
            assert ends == sorted(ends, reverse=True), "points must come newest first"
            starts = [int(p.interval.start_time.timestamp()) for p in ts.points]
            if ref.metric_kind == "DELTA":
                assert all(e - s == 60 for s, e in zip(starts, ends, strict=True))
            # same values as the raw arrays, gaps left out
            idx = (np.asarray(ends) - raw_ends(fleet)[0]) // 60
            if isinstance(ref.values, DistributionSeries):
                assert all(ref.values.count[idx] >= 0)
                assert [p.value.distribution_value.count for p in ts.points] == list(
                    ref.values.count[idx]
                )
                tail = ref.values.count[-30:]
                assert len(ts.points) == int((tail >= 0).sum())
                first = ts.points[0].value.distribution_value
                nb = ref.values.bucket_counts.shape[1]
                full = list(first.bucket_counts) + [0] * (nb - len(first.bucket_counts))
                assert full == list(ref.values.bucket_counts[idx[0]])
            else:
                vals = [points_by_end(ts)[e] for e in ends]
                np.testing.assert_array_equal(np.asarray(vals, float), ref.values[idx])
                assert len(ts.points) == int((~np.isnan(ref.values[-30:])).sum())


@pytest.mark.parametrize(
    ("aligner", "period"), [("ALIGN_SUM", 300), ("ALIGN_DELTA", 60), ("ALIGN_RATE", 600)]
)
def test_delta_alignment_matches_numpy(
    fleet: FleetData, client: Any, aligner: str, period: int
) -> None:
    rev = "checkout-00002-def"
    got = query(
        client,
        f'metric.type = "{RC}" AND resource.labels.revision_name = "{rev}" '
        f'AND metric.labels.response_code_class = "5xx"',
        aggregation={"alignment_period": {"seconds": period}, "per_series_aligner": aligner},
    )
    assert len(got) == 1
    ref = period_sums(fleet, find(fleet, RC, rev, response_code_class="5xx").values, 120, period)
    if aligner == "ALIGN_RATE":
        ref = {k: v / period for k, v in ref.items()}
        assert monitoring_v3.TimeSeries.pb(got[0]).value_type == VTYPE["DOUBLE"]
        assert monitoring_v3.TimeSeries.pb(got[0]).metric_kind == KIND["GAUGE"]
    else:
        assert monitoring_v3.TimeSeries.pb(got[0]).metric_kind == KIND["DELTA"]
        assert monitoring_v3.TimeSeries.pb(got[0]).value_type == VTYPE["INT64"]
    assert points_by_end(got[0]) == pytest.approx(ref)
    assert len(got[0].points) == 120 * 60 // period


def test_reduce_sum_grouped_by_service_and_class(fleet: FleetData, client: Any) -> None:
    got = query(
        client,
        f'metric.type = "{RC}"',
        minutes=60,
        aggregation={
            "alignment_period": {"seconds": 60},
            "per_series_aligner": "ALIGN_RATE",
            "cross_series_reducer": "REDUCE_SUM",
            "group_by_fields": ["resource.label.service_name", "metric.label.response_code_class"],
        },
    )
    assert len(got) == 6  # 2 services x 3 classes
    for ts in got:
        svc = ts.resource.labels["service_name"]
        cls = ts.metric.labels["response_code_class"]
        assert dict(ts.resource.labels) == {"project_id": PROJECT, "service_name": svc}
        members = [
            s
            for s in fleet.series
            if s.metric_type == RC
            and s.resource_labels["service_name"] == svc
            and s.metric_labels["response_code_class"] == cls
        ]
        total = np.sum([s.values for s in members], axis=0).astype(float)
        ref = {k: v / 60 for k, v in period_sums(fleet, total, 60, 60).items()}
        assert points_by_end(ts) == pytest.approx(ref)


def test_gauge_mean_max_and_reduce_by_state(fleet: FleetData, client: Any) -> None:
    for aligner, fn in (
        ("ALIGN_MEAN", np.nanmean),
        ("ALIGN_MAX", np.nanmax),
        ("ALIGN_MIN", np.nanmin),
        ("ALIGN_COUNT", lambda a: np.sum(~np.isnan(a))),
    ):
        got = query(
            client,
            f'metric.type = "{INST}" AND metric.label.state = "active"',
            aggregation={
                "alignment_period": {"seconds": 600},
                "per_series_aligner": aligner,
                "cross_series_reducer": "REDUCE_SUM",
                "group_by_fields": ["metric.label.state"],
            },
        )
        assert len(got) == 1
        assert monitoring_v3.TimeSeries.pb(got[0]).metric_kind == KIND["GAUGE"]
        end = int(END.timestamp())
        ends = raw_ends(fleet)
        ref: dict[int, float] = {}
        for k in range(12):
            sel = (ends > end - (k + 1) * 600) & (ends <= end - k * 600)
            vals = [
                s.values[sel]
                for s in fleet.series
                if s.metric_type == INST and s.metric_labels["state"] == "active"
            ]
            parts = [fn(v) for v in vals if (~np.isnan(v)).any()]
            if parts:
                ref[end - k * 600] = float(np.sum(parts))
        assert points_by_end(got[0]) == pytest.approx(ref), aligner
        # a gauge's aligned point is a point in time
        p = got[0].points[0]
        assert p.interval.start_time == p.interval.end_time


def merged_reference(fleet: FleetData, series: list[RawSeries], minutes: int, period: int):
    end = int(END.timestamp())
    ends = raw_ends(fleet)
    out = {}
    for k in range(minutes * 60 // period):
        sel = (ends > end - (k + 1) * period) & (ends <= end - k * period)
        counts, buckets, sums = 0, 0, 0.0
        present = False
        for s in series:
            d = s.values
            assert isinstance(d, DistributionSeries)
            ok = sel & (d.count >= 0)
            present |= bool(ok.any())
            counts += int(d.count[ok].sum())
            sums += float((d.count[ok] * d.mean[ok]).sum())
            buckets = buckets + d.bucket_counts[ok].sum(axis=0)
        if present:
            out[end - k * period] = (counts, sums / counts if counts else 0.0, buckets)
    return out


def independent_percentile(buckets: np.ndarray, bounds: np.ndarray, pct: float) -> float:
    """Linear interpolation inside the bucket that holds the rank (np.interp on the CDF)."""
    cum = np.cumsum(buckets).astype(float)
    rank = pct / 100 * cum[-1]
    j = int(np.searchsorted(cum, rank, side="left"))
    if j == 0:
        return float(bounds[0])
    if j == len(buckets) - 1:
        return float(bounds[-1])
    return float(np.interp(rank, [cum[j - 1], cum[j]], [bounds[j - 1], bounds[j]]))


def test_distribution_delta_and_reduce_sum_merge(fleet: FleetData, client: Any) -> None:
    got = query(
        client,
        f'metric.type = "{LAT}" AND resource.labels.service_name = "checkout"',
        aggregation={
            "alignment_period": {"seconds": 300},
            "per_series_aligner": "ALIGN_DELTA",
            "cross_series_reducer": "REDUCE_SUM",
            "group_by_fields": ["resource.labels.service_name"],
        },
    )
    assert len(got) == 1
    members = [
        s
        for s in fleet.series
        if s.metric_type == LAT and s.resource_labels["service_name"] == "checkout"
    ]
    ref = merged_reference(fleet, members, 120, 300)
    pts = points_by_end(got[0])
    assert set(pts) == set(ref)
    for t, (count, mean, buckets) in ref.items():
        d = pts[t]
        assert d.count == count
        assert d.mean == pytest.approx(mean)
        full = list(d.bucket_counts) + [0] * (len(buckets) - len(d.bucket_counts))
        assert full == list(buckets)
        assert d.bucket_options.exponential_buckets.growth_factor == pytest.approx(1.4)


@pytest.mark.parametrize("pct", [99, 95, 50, 5])
def test_percentile_aligner_and_reducer_from_buckets(
    fleet: FleetData, client: Any, pct: int
) -> None:
    rev = "checkout-00001-abc"
    s = find(fleet, LAT, rev)
    got = query(
        client,
        f'metric.type = "{LAT}" AND resource.labels.revision_name = "{rev}"',
        aggregation={
            "alignment_period": {"seconds": 600},
            "per_series_aligner": f"ALIGN_PERCENTILE_{pct:02d}",
        },
    )
    bounds = s.values.layout.upper_bounds()  # type: ignore[union-attr]
    ref = {
        t: independent_percentile(b, bounds, pct)
        for t, (c, _, b) in merged_reference(fleet, [s], 120, 600).items()
        if c > 0
    }
    assert monitoring_v3.TimeSeries.pb(got[0]).value_type == VTYPE["DOUBLE"]
    assert points_by_end(got[0]) == pytest.approx(ref)
    # REDUCE_PERCENTILE over the merged histogram of a whole service
    members = [
        x
        for x in fleet.series
        if x.metric_type == LAT and x.resource_labels["service_name"] == "checkout"
    ]
    got = query(
        client,
        f'metric.type = "{LAT}"',
        aggregation={
            "alignment_period": {"seconds": 600},
            "per_series_aligner": "ALIGN_DELTA",
            "cross_series_reducer": f"REDUCE_PERCENTILE_{pct:02d}",
            "group_by_fields": ["resource.label.service_name"],
        },
    )
    ts = next(t for t in got if t.resource.labels["service_name"] == "checkout")
    ref = {
        t: independent_percentile(b, bounds, pct)
        for t, (c, _, b) in merged_reference(fleet, members, 120, 600).items()
        if c > 0
    }
    assert points_by_end(ts) == pytest.approx(ref)


def test_reduce_percentile_and_mean_across_numeric_series(fleet: FleetData, client: Any) -> None:
    for reducer, fn in (
        ("REDUCE_PERCENTILE_50", lambda v: np.percentile(v, 50)),
        ("REDUCE_MEAN", np.mean),
        ("REDUCE_MAX", np.max),
        ("REDUCE_COUNT", len),
    ):
        got = query(
            client,
            f'metric.type = "{BILL}"',
            minutes=30,
            aggregation={
                "alignment_period": {"seconds": 300},
                "per_series_aligner": "ALIGN_SUM",
                "cross_series_reducer": reducer,
            },
        )
        assert len(got) == 1
        per = [period_sums(fleet, s.values, 30, 300) for s in fleet.series if s.metric_type == BILL]
        ref = {t: float(fn([p[t] for p in per if t in p])) for t in set().union(*per)}
        assert points_by_end(got[0]) == pytest.approx(ref), reducer
