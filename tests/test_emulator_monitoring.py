"""MetricService/ListTimeSeries through the real MetricServiceClient over loopback gRPC; every
aggregation is checked against numpy computed straight from the raw FleetData arrays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from _emulator_helpers import END, PROJECT, build_fleet, monitoring_client
from google.api_core import exceptions
from google.cloud import monitoring_v3

import emulator
from emulator.sim.model import DistributionSeries, FleetData, RawSeries

RC = "run.googleapis.com/request_count"
LAT = "run.googleapis.com/request_latencies"
INST = "run.googleapis.com/container/instance_count"
BILL = "run.googleapis.com/container/billable_instance_time"
KIND = {"GAUGE": 1, "DELTA": 2}
VTYPE = {"INT64": 2, "DOUBLE": 3, "DISTRIBUTION": 5}


@pytest.fixture(scope="module")
def fleet() -> FleetData:
    return build_fleet(minutes=360)


@pytest.fixture(scope="module")
def emu(fleet: FleetData) -> Iterator[emulator.Emulator]:
    with emulator.start(fleet) as e:
        yield e


@pytest.fixture(scope="module")
def client(emu: emulator.Emulator) -> monitoring_v3.MetricServiceClient:
    return monitoring_client(emu.address)


def query(
    client: monitoring_v3.MetricServiceClient,
    flt: str,
    minutes: int = 120,
    end: Any = END,
    **kw: Any,
) -> list[monitoring_v3.TimeSeries]:
    req: dict[str, Any] = {
        "name": f"projects/{PROJECT}",
        "filter": flt,
        "interval": {"start_time": end - timedelta(minutes=minutes), "end_time": end},
    }
    req.update(kw)
    return list(client.list_time_series(request=req))


def raw_ends(fleet: FleetData) -> np.ndarray:
    t0 = int(fleet.spec.start.timestamp())
    return t0 + 60 * (np.arange(fleet.spec.minutes) + 1)


def period_sums(
    fleet: FleetData, values: np.ndarray, minutes: int, period: int
) -> dict[int, float]:
    """Independent reference: sum of raw values per period end (only periods with a point)."""
    end = int(END.timestamp())
    start = end - minutes * 60
    out: dict[int, float] = {}
    for e, v in zip(raw_ends(fleet), values, strict=True):
        if not (start < e <= end) or np.isnan(v):
            continue
        k = (end - e) // period
        pe = int(end - k * period)
        out[pe] = out.get(pe, 0.0) + float(v)
    return out


def points_by_end(ts: monitoring_v3.TimeSeries) -> dict[int, Any]:
    out = {}
    for p in ts.points:
        v = p.value
        kind = monitoring_v3.TypedValue.pb(v).WhichOneof("value")
        out[int(p.interval.end_time.timestamp())] = getattr(v, kind)
    return out


def find(fleet: FleetData, mtype: str, rev: str, **metric_labels: str) -> RawSeries:
    for s in fleet.series:
        if (
            s.metric_type == mtype
            and s.resource_labels["revision_name"] == rev
            and all(s.metric_labels.get(k) == v for k, v in metric_labels.items())
        ):
            return s
    raise LookupError((mtype, rev, metric_labels))


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


def test_paging_returns_every_point_once(fleet: FleetData, client: Any) -> None:
    req = {
        "name": f"projects/{PROJECT}",
        "filter": f'metric.type = "{RC}"',
        "interval": {"start_time": END - timedelta(minutes=100), "end_time": END},
        "page_size": 77,
    }
    pages = list(client.list_time_series(request=req).pages)
    assert len(pages) > 5
    assert all(sum(len(ts.points) for ts in p.time_series) <= 77 for p in pages)
    seen: list[tuple[str, int]] = []
    for p in pages:
        for ts in p.time_series:
            key = ts.resource.labels["revision_name"] + ts.metric.labels["response_code"]
            seen.extend((key, int(pt.interval.end_time.timestamp())) for pt in ts.points)
    assert len(seen) == len(set(seen)) == 9 * 100


def test_headers_view_has_no_points(client: Any) -> None:
    got = query(client, f'metric.type = "{RC}"', view="HEADERS")
    assert len(got) == 9
    assert all(len(ts.points) == 0 for ts in got)


def test_unaligned_end_time_keeps_nanos_and_periods_count_back_from_end(
    fleet: FleetData, client: Any
) -> None:
    end = END - timedelta(seconds=90, microseconds=500)
    rev = "admin-00001-xyz"
    got = query(
        client,
        f'metric.type = "{RC}" AND resource.labels.revision_name = "{rev}" '
        'AND metric.labels.response_code = "200"',
        minutes=30,
        end=end,
        aggregation={"alignment_period": {"seconds": 300}, "per_series_aligner": "ALIGN_SUM"},
    )
    p = got[0].points[0]
    assert p.interval.end_time == end
    assert p.interval.start_time == end - timedelta(seconds=300)
    s = find(fleet, RC, rev, response_code="200")
    ends = raw_ends(fleet)
    e = end.timestamp()
    sel = (ends > e - 300) & (ends <= e)
    assert p.value.int64_value == int(s.values[sel].sum())


@pytest.mark.parametrize(
    ("flt", "agg"),
    [
        ('metric.type = "run.googleapis.com/request_count" AND (', None),
        ('resource.type = "cloud_run_revision"', None),
        ('metric.type = "a" AND metric.type = "b"', None),
        ('metric.type = "run.googleapis.com/request_count" AND foo.bar = "x"', None),
        (
            f'metric.type = "{RC}" AND resource.labels.x = "unterminated',
            None,
        ),
        (
            f'metric.type = "{RC}"',
            {"alignment_period": {"seconds": 30}, "per_series_aligner": "ALIGN_SUM"},
        ),
        (
            f'metric.type = "{RC}"',
            {"alignment_period": {"seconds": 90}, "per_series_aligner": "ALIGN_SUM"},
        ),
        (
            f'metric.type = "{RC}"',
            {"alignment_period": {"seconds": 60}, "cross_series_reducer": "REDUCE_SUM"},
        ),
        (f'metric.type = "{RC}"', {"per_series_aligner": "ALIGN_SUM"}),
        (
            f'metric.type = "{INST}"',
            {"alignment_period": {"seconds": 60}, "per_series_aligner": "ALIGN_RATE"},
        ),
        (
            f'metric.type = "{LAT}"',
            {"alignment_period": {"seconds": 60}, "per_series_aligner": "ALIGN_MAX"},
        ),
        (
            f'metric.type = "{RC}"',
            {"alignment_period": {"seconds": 60}, "per_series_aligner": "ALIGN_PERCENTILE_99"},
        ),
    ],
)
def test_bad_requests_are_invalid_argument(client: Any, flt: str, agg: Any) -> None:
    kw = {"aggregation": agg} if agg else {}
    with pytest.raises(exceptions.InvalidArgument) as info:
        query(client, flt, **kw)
    assert info.value.message


def test_other_errors(client: Any) -> None:
    with pytest.raises(exceptions.PermissionDenied, match=r"monitoring\.timeSeries\.list"):
        list(
            client.list_time_series(
                request={
                    "name": "projects/someone-else",
                    "filter": f'metric.type = "{RC}"',
                    "interval": {"end_time": END},
                }
            )
        )
    with pytest.raises(exceptions.NotFound):
        query(client, 'metric.type = "run.googleapis.com/no_such_metric"')
    with pytest.raises(exceptions.InvalidArgument):
        list(
            client.list_time_series(
                request={
                    "name": f"projects/{PROJECT}",
                    "filter": f'metric.type = "{RC}"',
                    "interval": {"end_time": END},
                    "page_token": "garbage",
                }
            )
        )
    # a metric of docs/facts.md (Metrics) with no data is an empty answer, not an error
    assert (
        query(client, 'metric.type = "run.googleapis.com/container/network/sent_bytes_count"') == []
    )


def test_filter_operators(fleet: FleetData, client: Any) -> None:
    base = f'metric.type = "{RC}"'
    cases = {
        'resource.labels.service_name = starts_with("check")': 6,
        'resource.label.revision_name = one_of("admin-00001-xyz", "checkout-00001-abc")': 6,
        'NOT resource.labels.location = "us-central1"': 6,
        '(metric.labels.response_code_class = "5xx" OR metric.label.response_code = "404")': 6,
        'resource.labels.location != "us-central1" '
        'AND metric.labels.response_code_class = "2xx"': 2,
        'resource.type = "cloud_run_revision" AND resource.labels.revision_name : "00002"': 3,
        'resource.labels.revision_name = monitoring.regex.full_match("checkout-.*-abc")': 3,
    }
    for extra, n in cases.items():
        assert len(query(client, f"{base} AND {extra}", minutes=5)) == n, extra


def test_execution_errors_fault_on_every_page(emu: emulator.Emulator, client: Any) -> None:
    emu.faults.update(exec_errors=True)
    try:
        req = {
            "name": f"projects/{PROJECT}",
            "filter": f'metric.type = "{RC}"',
            "interval": {"start_time": END - timedelta(minutes=10), "end_time": END},
            "page_size": 40,
        }
        pages = list(client.list_time_series(request=req).pages)
        assert len(pages) > 1
        assert all(len(p.execution_errors) == 1 for p in pages)
    finally:
        emu.faults.update(exec_errors=False)
