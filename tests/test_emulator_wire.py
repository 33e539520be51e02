"""The emulator's column-wise point encoder against protobuf's own serializer.

Points are drawn by Hypothesis (int64 extremes, negative values, NaN doubles, large bucket
counts, trailing zero buckets, nanos); the expected bytes come from building the same
``TimeSeries.points`` with the protobuf classes. The byte offsets of each point must cut the
encoding into exactly the points ``lo:hi``.
"""

from __future__ import annotations

import numpy as np
from google.api import distribution_pb2
from google.cloud import monitoring_v3
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.api.wire import (
    encode_dist_points,
    encode_dist_points_indexed,
    encode_points,
    encode_points_indexed,
)

_TS = monitoring_v3.TimeSeries.pb()
OPTIONS = distribution_pb2.Distribution.BucketOptions()
OPTIONS.exponential_buckets.num_finite_buckets = 4
OPTIONS.exponential_buckets.growth_factor = 2.0
OPTIONS.exponential_buckets.scale = 1.0
NB = 6

seconds = st.integers(min_value=0, max_value=2**40)
nanos_ = st.sampled_from([0, 1, 250_000_000, 999_999_999])


def _times(draw: st.DrawFn, n: int) -> tuple[np.ndarray, np.ndarray]:
    ends = np.array(draw(st.lists(seconds, min_size=n, max_size=n)), dtype=np.int64)
    return ends, np.maximum(ends - 60, 0)


def _expected(ends: np.ndarray, starts: np.ndarray, nanos: int, fill: object) -> bytes:
    ts = _TS()
    for i in range(len(ends)):
        p = ts.points.add()
        p.interval.end_time.seconds = int(ends[i])
        p.interval.end_time.nanos = nanos
        p.interval.start_time.seconds = int(starts[i])
        p.interval.start_time.nanos = nanos
        fill(p.value, i)  # type: ignore[operator]
    out: bytes = ts.SerializeToString()
    return out


def _check_offsets(data: bytes, offsets: np.ndarray, expected_points: list[bytes]) -> None:
    assert offsets[0] == 0
    assert offsets[-1] == len(data)
    for i, want in enumerate(expected_points):
        piece = data[offsets[i] : offsets[i + 1]]
        ts = _TS.FromString(piece)
        assert len(ts.points) == 1
        assert ts.points[0].SerializeToString() == want


@settings(max_examples=80, deadline=None)
@given(st.data(), st.sampled_from(["INT64", "DOUBLE", "BOOL"]), nanos_)
def test_numeric_points_encode_like_protobuf(data: st.DataObject, vtype: str, nanos: int) -> None:
    n = data.draw(st.integers(min_value=0, max_value=12))
    ends, starts = _times(data.draw, n)
    if vtype == "INT64":
        values = np.array(
            data.draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n)),
            dtype=np.int64,
        )
    elif vtype == "DOUBLE":
        values = np.array(data.draw(st.lists(st.floats(), min_size=n, max_size=n)), dtype=float)
    else:
        values = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=int)

    def fill(v: object, i: int) -> None:
        if vtype == "INT64":
            v.int64_value = int(values[i])  # type: ignore[attr-defined]
        elif vtype == "DOUBLE":
            v.double_value = float(values[i])  # type: ignore[attr-defined]
        else:
            v.bool_value = bool(values[i])  # type: ignore[attr-defined]

    want = _expected(ends, starts, nanos, fill)
    got = encode_points(ends, starts, values, vtype, nanos)
    assert _TS.FromString(got) == _TS.FromString(want)
    data_, offsets = encode_points_indexed(ends, starts, values, vtype, nanos)
    assert data_ == got
    _check_offsets(got, offsets, [p.SerializeToString() for p in _TS.FromString(want).points])


@settings(max_examples=80, deadline=None)
@given(st.data(), nanos_)
def test_distribution_points_encode_like_protobuf(data: st.DataObject, nanos: int) -> None:
    n = data.draw(st.integers(min_value=0, max_value=10))
    ends, starts = _times(data.draw, n)
    big = st.integers(min_value=0, max_value=2**45)
    small = st.integers(min_value=0, max_value=3)
    buckets = np.array(
        data.draw(
            st.lists(
                st.lists(st.one_of(small, big), min_size=NB, max_size=NB), min_size=n, max_size=n
            )
        ),
        dtype=np.int64,
    ).reshape(n, NB)
    count = buckets.sum(axis=1)
    mean = np.array(data.draw(st.lists(st.floats(0, 1e6), min_size=n, max_size=n)), dtype=float)
    ssd = np.array(data.draw(st.lists(st.floats(0, 1e9), min_size=n, max_size=n)), dtype=float)
    opts = OPTIONS.SerializeToString()

    def fill(v: object, i: int) -> None:
        d = v.distribution_value  # type: ignore[attr-defined]
        d.count = int(count[i])
        d.mean = float(mean[i])
        d.sum_of_squared_deviation = float(ssd[i])
        d.bucket_options.CopyFrom(OPTIONS)
        row = buckets[i].tolist()
        while row and row[-1] == 0:  # trailing zero counts are left out
            row.pop()
        d.bucket_counts.extend(row)

    want = _expected(ends, starts, nanos, fill)
    got = encode_dist_points(ends, starts, count, mean, ssd, buckets, opts, nanos)
    assert _TS.FromString(got) == _TS.FromString(want)
    data_, offsets = encode_dist_points_indexed(
        ends, starts, count, mean, ssd, buckets, opts, nanos
    )
    assert data_ == got
    _check_offsets(got, offsets, [p.SerializeToString() for p in _TS.FromString(want).points])
