"""The pure half of monitoring.py: whole ListTimeSeriesRequest objects, and the catalog."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from google.cloud import monitoring_v3
from google.protobuf import duration_pb2, timestamp_pb2

from collectors import catalog, monitoring
from foundation import names
from foundation.window import TimeWindow

NOW = datetime(2026, 11, 28, 12, 7, 31, tzinfo=UTC)
A = monitoring_v3.Aggregation


def ts(text: str) -> timestamp_pb2.Timestamp:
    t = timestamp_pb2.Timestamp()
    t.FromJsonString(text)
    return t


def test_request_count_request_whole_object() -> None:
    window = TimeWindow.preset("24h", NOW)
    scope = monitoring.MetricScope(services=("web", "api"), regions=("europe-west1",))
    got = monitoring.build_request(catalog.spec("request_count"), "runwatch-demo", window, scope)
    want = monitoring_v3.ListTimeSeriesRequest.pb()(
        name="projects/runwatch-demo",
        filter=(
            'metric.type = "run.googleapis.com/request_count"'
            ' AND resource.type = "cloud_run_revision"'
            ' AND resource.labels.service_name = one_of("api", "web")'
            ' AND (resource.labels.location = "europe-west1")'
        ),
        interval=monitoring_v3.TimeInterval.pb()(
            start_time=ts("2026-11-27T12:07:00Z"), end_time=ts("2026-11-28T12:07:00Z")
        ),
        aggregation=monitoring_v3.Aggregation.pb()(
            alignment_period=duration_pb2.Duration(seconds=60),
            per_series_aligner=A.Aligner.ALIGN_DELTA,
            cross_series_reducer=A.Reducer.REDUCE_SUM,
            group_by_fields=[
                "resource.label.location",
                "resource.label.service_name",
                "resource.label.revision_name",
                "metric.label.response_code_class",
            ],
        ),
        view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL,
    )
    assert monitoring_v3.ListTimeSeriesRequest.pb(got) == want


def test_instance_count_request_uses_mean_by_state_and_window_alignment() -> None:
    window = TimeWindow.preset("7d", NOW)
    got = monitoring.build_request(catalog.spec("instance_count"), "runwatch-demo", window)
    want = monitoring_v3.ListTimeSeriesRequest(
        name="projects/runwatch-demo",
        filter=(
            'metric.type = "run.googleapis.com/container/instance_count"'
            ' AND resource.type = "cloud_run_revision"'
        ),
        interval={"start_time": ts("2026-11-21T12:05:00Z"), "end_time": ts("2026-11-28T12:05:00Z")},
        aggregation={
            "alignment_period": duration_pb2.Duration(seconds=300),
            "per_series_aligner": A.Aligner.ALIGN_MEAN,
            "cross_series_reducer": A.Reducer.REDUCE_SUM,
            "group_by_fields": [
                "resource.label.location",
                "resource.label.service_name",
                "resource.label.revision_name",
                "metric.label.state",
            ],
        },
        view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL,
    )
    assert got == want


def test_same_inputs_same_request_bytes() -> None:
    window = TimeWindow.preset("1h", NOW)
    spec = catalog.spec("request_latencies")
    a = monitoring.build_request(spec, "runwatch-demo", window, monitoring.MetricScope(("b", "a")))
    b = monitoring.build_request(spec, "runwatch-demo", window, monitoring.MetricScope(("a", "b")))
    ser = monitoring_v3.ListTimeSeriesRequest.serialize
    assert ser(a) == ser(b)


def test_bad_names_never_reach_a_request() -> None:
    window = TimeWindow.preset("1h", NOW)
    with pytest.raises(names.InvalidName):
        monitoring.build_request(catalog.spec("request_count"), "Bad Project", window)
    with pytest.raises(names.InvalidName):
        monitoring.MetricScope(services=('x" OR metric.type="y',))


def test_scope_from_a_dashboard_scope() -> None:
    import scope

    s = scope.Scope(
        project="runwatch-demo", service="web", regions=("us-central1",), revisions=("web-1",)
    )
    m = monitoring.MetricScope.of(s)
    assert m == monitoring.MetricScope(services=("web",), regions=("us-central1",))
    assert monitoring.MetricScope.of(None) == monitoring.MetricScope()


def test_catalog_matches_the_facts_sheet() -> None:
    # metric types, kinds, value types and units of the table in docs/facts.md, Metrics
    facts = {
        "request_count": ("request_count", "DELTA", "INT64", "1"),
        "request_latencies": ("request_latencies", "DELTA", "DISTRIBUTION", "ms"),
        "instance_count": ("container/instance_count", "GAUGE", "INT64", "1"),
        "billable_instance_time": ("container/billable_instance_time", "DELTA", "DOUBLE", "s"),
        "cpu_allocation_time": ("container/cpu/allocation_time", "DELTA", "DOUBLE", "s"),
        "memory_allocation_time": (
            "container/memory/allocation_time",
            "DELTA",
            "DOUBLE",
            "GiBy.s",
        ),
        "cpu_utilizations": ("container/cpu/utilizations", "DELTA", "DISTRIBUTION", "1"),
        "memory_utilizations": ("container/memory/utilizations", "DELTA", "DISTRIBUTION", "1"),
        "max_request_concurrencies": (
            "container/max_request_concurrencies",
            "DELTA",
            "DISTRIBUTION",
            "1",
        ),
        "startup_latencies": ("container/startup_latencies", "DELTA", "DISTRIBUTION", "ms"),
    }
    assert set(catalog.ALL) == set(facts)
    for short, (suffix, kind, vtype, unit) in facts.items():
        s = catalog.spec(short)
        assert (s.metric_type, s.kind, s.value_type, s.unit) == (
            "run.googleapis.com/" + suffix,
            kind,
            vtype,
            unit,
        )
        assert s.aligner != A.Aligner.ALIGN_NONE  # a reducer needs an aligner
        assert "resource.label.revision_name" in s.group_by
    with pytest.raises(KeyError, match="unknown metric"):
        catalog.spec("nope")
