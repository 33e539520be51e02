"""ListTimeSeries at its edges, through the real client over loopback gRPC: paging, the
headers view, unaligned time bounds, requests Monitoring refuses, filter operators and faults."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import _emulator_fixtures as fixtures
import pytest
from _emulator_helpers import END, PROJECT
from _emulator_monitoring import (
    INST,
    LAT,
    RC,
    find,
    query,
    raw_ends,
)
from google.api_core import exceptions

import emulator
from emulator.sim.model import FleetData

# the module-scoped fixtures every test here shares
fleet, emu, client = fixtures.fleet, fixtures.emu, fixtures.client


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
