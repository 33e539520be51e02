"""The bulk point decoder (collectors.wirepoints) against protobuf's own parser.

Responses are real ``ListTimeSeriesResponse`` messages built with the protobuf classes
(Hypothesis draws the values, including negative int64, NaN, huge varints, nanos, exemplars,
missing fields and short bucket counts); the expectation is read from the same messages through
protobuf attribute access in this file. A real exported Monitoring response (fixtures) is
checked the same way, and then whole frames through ``to_frame``.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from google.api import distribution_pb2
from google.cloud import monitoring_v3
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors import catalog, monitoring, wirepoints
from foundation.window import TimeWindow
from tests._collect_logs_helpers import real_dir

FIXTURE = "monitoring_timeseries_aligned_checkmk_agent_gcp_run.json"  # in real_dir()
_RESP = monitoring_v3.ListTimeSeriesResponse.pb()
_TS = monitoring_v3.TimeSeries.pb()
MEMBERS = ("bool_value", "int64_value", "double_value", "string_value", "distribution_value")

int64s = st.integers(min_value=-(2**63), max_value=2**63 - 1)
counts = st.integers(min_value=0, max_value=2**40)
doubles = st.floats(allow_nan=True, allow_infinity=True)


def _layout(kind: int, opts: Any) -> None:
    if kind == 0:
        opts.linear_buckets.num_finite_buckets = 5
        opts.linear_buckets.width = 10.0
        opts.linear_buckets.offset = 0.0
    elif kind == 1:
        opts.exponential_buckets.num_finite_buckets = 6
        opts.exponential_buckets.growth_factor = 2.0
        opts.exponential_buckets.scale = 1.0
    else:
        opts.explicit_buckets.bounds.extend([1.0, 5.0, 25.0, 125.0])


@st.composite
def points(draw: Any, member: str, layout: int) -> list[Any]:
    out = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        p = monitoring_v3.Point.pb()()
        end = draw(st.integers(min_value=0, max_value=2**40))
        if end or draw(st.booleans()):
            p.interval.end_time.seconds = end
        if draw(st.booleans()):
            p.interval.end_time.nanos = draw(st.integers(min_value=0, max_value=999_999_999))
        if draw(st.booleans()):
            p.interval.start_time.seconds = max(0, end - 60)
        # mostly the series' member, sometimes another one (a oneof then reads 0)
        m = member if draw(st.integers(0, 5)) else draw(st.sampled_from(MEMBERS))
        if m == "bool_value":
            p.value.bool_value = draw(st.booleans())
        elif m == "int64_value":
            p.value.int64_value = draw(int64s)
        elif m == "double_value":
            p.value.double_value = draw(doubles)
        elif m == "string_value":
            p.value.string_value = draw(st.text(max_size=5))
        else:
            d = p.value.distribution_value
            d.count = draw(counts)
            d.mean = draw(doubles)
            d.sum_of_squared_deviation = draw(doubles)
            if draw(st.booleans()):
                d.range.min, d.range.max = 0.0, 1.0
            _layout(layout, d.bucket_options)
            d.bucket_counts.extend(draw(st.lists(counts, max_size=7)))
            for _ in range(draw(st.integers(0, 2))):
                ex = d.exemplars.add()
                ex.value = draw(doubles)
                ex.timestamp.seconds = end
        out.append(p)
    return out


@st.composite
def responses(draw: Any) -> Any:
    resp = _RESP()
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        ts = resp.time_series.add()
        ts.metric.type = "run.googleapis.com/request_count"
        ts.resource.type = "cloud_run_revision"
        ts.resource.labels["revision_name"] = draw(st.sampled_from(["a-1", "b-2"]))
        ts.unit = "1"
        member = draw(st.sampled_from(MEMBERS))
        ts.points.extend(draw(points(member, draw(st.integers(0, 2)))))
    return resp


def _expected_numeric(series: Any) -> tuple[list[int], list[float]] | None:
    if not series.points:
        return None
    which = series.points[0].value.WhichOneof("value")
    if which not in ("bool_value", "int64_value", "double_value"):
        return None
    return (
        [p.interval.end_time.seconds for p in series.points],
        [float(getattr(p.value, which)) for p in series.points],
    )


def _expected_dists(series: Any) -> list[dict[str, Any]]:
    pts = [p for p in series.points if p.value.WhichOneof("value") == "distribution_value"]
    if not pts:
        return []
    return [
        {
            "ends": [p.interval.end_time.seconds for p in pts],
            "count": [float(p.value.distribution_value.count) for p in pts],
            "mean": [p.value.distribution_value.mean for p in pts],
            "options": pts[0].value.distribution_value.bucket_options,
            "buckets": [list(p.value.distribution_value.bucket_counts) for p in pts],
        }
    ]


def _same_floats(a: np.ndarray, b: list[float]) -> bool:
    return len(a) == len(b) and all(
        (math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a.tolist(), b, strict=True)
    )


def _check_numeric(resp: Any) -> None:
    buf = wirepoints.Buffer.of_page(resp.SerializeToString())
    got = wirepoints.series_numeric(wirepoints.decode_points(buf))
    assert len(got) == len(resp.time_series)
    for decoded, series in zip(got, resp.time_series, strict=True):
        want = _expected_numeric(series)
        if want is None:
            assert decoded is None
            continue
        assert decoded is not None
        assert decoded[0].tolist() == want[0]
        assert _same_floats(decoded[1], want[1])


def _check_dists(resp: Any) -> None:
    buf = wirepoints.Buffer.of_page(resp.SerializeToString())
    got = wirepoints.series_distributions(wirepoints.decode_points(buf))
    for decoded, series in zip(got, resp.time_series, strict=True):
        want = _expected_dists(series)
        if not want:
            assert decoded is None
            continue
        assert decoded is not None
        w = want[0]
        assert decoded.ends.tolist() == w["ends"]
        assert _same_floats(decoded.count, w["count"])
        assert _same_floats(decoded.mean, w["mean"])
        opts = distribution_pb2.Distribution.BucketOptions.FromString(decoded.options)
        assert opts == w["options"]
        width = max([8, *(len(b) for b in w["buckets"])])
        expected = np.array([b + [0] * (width - len(b)) for b in w["buckets"]], dtype=np.int64)
        assert np.array_equal(decoded.matrix(width), expected.reshape(len(w["buckets"]), width))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(responses())
def test_decoded_points_equal_protobufs_reading(resp: Any) -> None:
    _check_numeric(resp)
    _check_dists(resp)


def test_a_real_monitoring_export() -> None:
    resp = _RESP()
    for item in json.loads((real_dir() / FIXTURE).read_text()):
        ts = resp.time_series.add()
        json_format.ParseDict(item, ts, ignore_unknown_fields=True)
    assert sum(len(ts.points) for ts in resp.time_series) > 0
    _check_numeric(resp)
    _check_dists(resp)


def _dist_series(layouts: list[int]) -> Any:
    resp = _RESP()
    ts = resp.time_series.add()
    for i, layout in enumerate(layouts):
        p = ts.points.add()
        p.interval.end_time.seconds = 1_800_000_000 - 60 * i
        d = p.value.distribution_value
        d.count = 3
        d.mean = 4.0
        _layout(layout, d.bucket_options)
        d.bucket_counts.extend([0, 1, 2])
    return resp


@pytest.mark.parametrize(
    "case",
    ["mixed_layouts", "unpacked_buckets", "group_wire_type", "truncated_varint", "wrong_wire_type"],
)
def test_what_it_does_not_read_is_unsupported_not_wrong(case: str) -> None:
    if case == "mixed_layouts":
        data = _dist_series([0, 1]).SerializeToString()
        with pytest.raises(wirepoints.Unsupported):
            wirepoints.series_distributions(
                wirepoints.decode_points(wirepoints.Buffer.of_page(data))
            )
        return
    # hand-made point bodies (valid protobuf for the first, odd encodings for the rest)
    if case == "unpacked_buckets":
        # distribution_value { count: 1, bucket_counts: 1 (unpacked), bucket_counts: 0 }
        dist = b"\x08\x01\x38\x01\x38\x00"
        value = b"\x2a" + bytes([len(dist)]) + dist
        point = b"\x12" + bytes([len(value)]) + value
        buf = wirepoints.Buffer([[point]])
        with pytest.raises(wirepoints.Unsupported):
            wirepoints.series_distributions(wirepoints.decode_points(buf))
        return
    point = {
        "group_wire_type": b"\x0b\x0c",  # start/end group
        "truncated_varint": b"\x0a\x02\x12\x80",  # an end_time length running out
        "wrong_wire_type": b"\x0a\x02\x15\x00",  # end_time as a fixed32
    }[case]
    with pytest.raises(wirepoints.Unsupported):
        wirepoints.decode_points(wirepoints.Buffer([[point]]))


def test_to_frame_falls_back_when_a_series_mixes_layouts() -> None:
    """Mixed layouts in one series: grouped by layout through protobuf, same as before."""
    resp = _dist_series([0, 1, 0])
    ts = resp.time_series[0]
    ts.resource.labels["revision_name"] = "a-1"
    window = TimeWindow(
        datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC), 60, None
    )
    frame = monitoring.to_frame([resp], catalog.spec("request_latencies"), "proj-123456", window)
    counts = frame[frame["stat"] == "count"]
    assert sorted(counts["timestamp"].astype("int64") // 10**9) == sorted(
        p.interval.end_time.seconds for p in ts.points
    )
    p50 = frame[frame["stat"] == "p50"]["value"].to_numpy()
    # rank 1.5 of counts [0, 1, 2]: in bucket 2, (1.5 - 1) / 2 = a quarter of the way in
    linear = 10.0 + 10.0 * 0.25  # bucket 2 of offset 0, width 10: [10, 20)
    exponential = 2.0 + 2.0 * 0.25  # bucket 2 of scale 1, growth 2: [2, 4)
    assert sorted(p50.tolist()) == sorted([linear, exponential, linear])
