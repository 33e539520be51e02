"""The per-minute model of background services (emulator.sim.fluid) against the request model,
its packed series against dense ones through Google's real client over loopback gRPC, and a fleet
simulated in child processes against one simulated here."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from _emulator_helpers import (
    monitoring_client,
    series_key,
    series_values,
)
from google.cloud import monitoring_v3

import emulator
from emulator.sim.fleet import simulate
from emulator.sim.fleetgen import build_fleet
from emulator.sim.model import (
    DistributionSeries,
    FleetData,
    FleetSpec,
    PackedDistributionSeries,
    RawSeries,
)
from emulator.sim.scenarios import demo_fleet

NOW = datetime(2026, 3, 10, 12, 34, 56, tzinfo=UTC)
PROJECTS = ("scale-home", "scale-two")
LAT = "run.googleapis.com/request_latencies"
A = monitoring_v3.Aggregation


def _background(spec: FleetSpec) -> FleetSpec:
    return replace(spec, services=tuple(replace(s, background=True) for s in spec.services))


def test_per_minute_model_agrees_with_the_request_model() -> None:
    """The demo's services simulated both ways over one day: the per-minute model keeps the
    request model's totals (requests, 429s, billable time) and its order of cold starts."""
    spec = demo_fleet(NOW, days=1, seed=3)
    exact, fluid = simulate(spec), simulate(_background(spec))
    for key, t in exact.truth.items():
        f = fluid.truth[key]
        assert f.requests == pytest.approx(t.requests, abs=4 * t.requests**0.5 + 5), key  # Poisson
        assert f.rejected_requests == pytest.approx(t.rejected_requests, rel=0.15, abs=5), key
        assert f.billable_instance_seconds == pytest.approx(
            t.billable_instance_seconds, rel=0.15, abs=60
        ), key
        assert f.idle_vcpu_seconds == pytest.approx(t.idle_vcpu_seconds, rel=0.05, abs=60), key
        assert t.cold_starts / 2.5 - 3 <= f.cold_starts <= t.cold_starts * 2.5 + 3, key
    # the latency distributions: same percentiles within a bucket or so
    for name in ("checkout-api", "web-frontend"):
        p = [_p95(d, name) for d in (exact, fluid)]
        assert p[1] == pytest.approx(p[0], rel=0.25), name
    assert all(
        isinstance(s.values, PackedDistributionSeries)
        for s in fluid.series
        if s.value_type == "DISTRIBUTION"
    )


def _p95(data: FleetData, service: str) -> float:
    total: np.ndarray | None = None
    for s in data.series:
        if s.metric_type == LAT and s.resource_labels["service_name"] == service:
            v = s.values
            d = v.dense() if isinstance(v, PackedDistributionSeries) else v
            assert isinstance(d, DistributionSeries)
            b = d.bucket_counts.sum(axis=0)
            total = b if total is None else total + b
            layout = d.layout
    assert total is not None
    cum = np.cumsum(total)
    k = int(np.searchsorted(cum, 0.95 * cum[-1]))
    return float(layout.upper_bounds()[k])


def _densified(data: FleetData) -> FleetData:
    def dense(s: RawSeries) -> RawSeries:
        v = s.values
        return replace(s, values=v.dense()) if isinstance(v, PackedDistributionSeries) else s

    return replace(data, series=[dense(s) for s in data.series])


@pytest.mark.parametrize(
    "aggregation",
    [
        None,
        {"alignment_period": {"seconds": 60}, "per_series_aligner": A.Aligner.ALIGN_DELTA},
        {
            "alignment_period": {"seconds": 3600},
            "per_series_aligner": A.Aligner.ALIGN_DELTA,
            "cross_series_reducer": A.Reducer.REDUCE_SUM,
            "group_by_fields": ["resource.label.service_name"],
        },
        {
            "alignment_period": {"seconds": 1800},
            "per_series_aligner": A.Aligner.ALIGN_PERCENTILE_99,
            "cross_series_reducer": A.Reducer.REDUCE_MEAN,
            "group_by_fields": ["resource.label.location"],
        },
    ],
)
def test_packed_series_answer_like_dense_ones(aggregation: dict[str, Any] | None) -> None:
    spec = build_fleet(NOW, days=1, seed=4, services=30)
    data = simulate(replace(spec, services=spec.services[7:]))
    req: dict[str, Any] = {
        "interval": {"start_time": spec.end - timedelta(hours=5), "end_time": spec.end},
    }
    if aggregation:
        req["aggregation"] = aggregation
    answers = []
    for fleet in (data, _densified(data)):
        with emulator.start(fleet) as emu:
            mc = monitoring_client(emu.address)
            got = []
            for metric in (LAT, "run.googleapis.com/container/cpu/utilizations"):
                request = {
                    **req,
                    "name": f"projects/{spec.project}",
                    "filter": f'metric.type = "{metric}"',
                }
                got += [monitoring_v3.TimeSeries.pb(ts) for ts in mc.list_time_series(request)]
            answers.append(got)
    packed, dense = answers
    assert len(packed) == len(dense) > 10
    for a, b in zip(packed, dense, strict=True):
        assert a.resource.labels == b.resource.labels
        assert a.metric.labels == b.metric.labels
        assert len(a.points) == len(b.points)
        for pa, pb in zip(a.points, b.points, strict=True):
            assert pa.interval == pb.interval
            if pa.value.HasField("distribution_value"):
                da, db = pa.value.distribution_value, pb.value.distribution_value
                assert da.count == db.count
                assert list(da.bucket_counts) == list(db.bucket_counts)
                assert da.mean == pytest.approx(db.mean, rel=1e-9)
                assert da.sum_of_squared_deviation == pytest.approx(
                    db.sum_of_squared_deviation, rel=1e-6, abs=1e-6
                )
            else:
                assert pa.value.double_value == pytest.approx(pb.value.double_value, rel=1e-9)


def test_child_processes_give_the_same_fleet() -> None:
    spec = build_fleet(NOW, days=1, seed=9, services=40, projects=PROJECTS[:2])
    spec = replace(spec, services=spec.services[5:])  # two request-by-request services, 33 more
    here, split = simulate(spec), simulate(spec, processes=2)
    assert [series_key(s) for s in here.series] == [series_key(s) for s in split.series]
    for a, b in zip(here.series, split.series, strict=True):
        va = a.values.dense() if isinstance(a.values, PackedDistributionSeries) else a
        vb = b.values.dense() if isinstance(b.values, PackedDistributionSeries) else b
        for x, y in zip(
            series_values(replace(a, values=va) if va is not a else a),
            series_values(replace(b, values=vb) if vb is not b else b),
            strict=True,
        ):
            np.testing.assert_array_equal(x, y)
    assert here.instance_events == split.instance_events
    assert here.request_events == split.request_events
    assert here.truth == split.truth
