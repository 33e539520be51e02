"""The series of a ListTimeSeries response (emulator/api/timeseries.py computes them): each
encoded once with its points' byte offsets (``encode_all`` encodes many at once), so a page is
a few slices of bytes (``points_page``), each series behind its TimeSeries header
(``header``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from google.cloud import monitoring_v3

from emulator.api import aggregate as agg
from emulator.api.wire import encode_dist_points_indexed, encode_points_indexed, length_delimited

MAX_PAGE_BYTES = 3_500_000
_TS = monitoring_v3.TimeSeries.pb()
_KIND = {"GAUGE": 1, "DELTA": 2, "CUMULATIVE": 3}
_VTYPE = {"BOOL": 1, "INT64": 2, "DOUBLE": 3, "STRING": 4, "DISTRIBUTION": 5}


@dataclass
class OutSeries:
    resource: Mapping[str, str]
    metric: Mapping[str, str]
    kind: str
    value_type: str
    unit: str
    ends: np.ndarray  # int64 epoch seconds, newest first
    starts: np.ndarray
    values: np.ndarray | None = None  # numeric
    dist: agg.Dist | None = None
    options: bytes = b""
    nanos: int = 0
    header: bytes = b""
    encoded: bytes = b""  # every point, encoded (filled when the result is cached)
    offsets: np.ndarray | None = None  # (len + 1,) byte offset of each point in ``encoded``

    def __len__(self) -> int:
        return len(self.ends)

    def encode(self) -> None:
        """Encode every point once; ``points`` then slices. The values are dropped."""
        if self.dist is not None:
            d = self.dist
            self.encoded, self.offsets = encode_dist_points_indexed(
                self.ends, self.starts, d.count, d.mean, d.ssd, d.buckets, self.options, self.nanos
            )
            self.dist = None
        else:
            assert self.values is not None
            self.encoded, self.offsets = encode_points_indexed(
                self.ends, self.starts, self.values, self.value_type, self.nanos
            )
            self.values = None

    def points(self, lo: int, hi: int) -> bytes:
        """The encoded points ``lo:hi`` (newest first)."""
        if self.offsets is None:
            self.encode()
        assert self.offsets is not None
        return self.encoded[int(self.offsets[lo]) : int(self.offsets[hi])]


def encode_all(series: list[OutSeries]) -> None:
    """``OutSeries.encode`` for many series at once: one encoding per kind of point (value
    type, bucket options and width, nanos), split back per series. A fleet's window totals
    are thousands of one-point series, where encoding them one by one cost most of a call."""
    kinds: dict[tuple[str, bytes, int, int], list[OutSeries]] = {}
    for s in series:
        if s.offsets is not None:
            continue
        width = s.dist.buckets.shape[1] if s.dist is not None else -1
        kinds.setdefault((s.value_type, s.options, s.nanos, width), []).append(s)
    for (value_type, options, nanos, width), members in kinds.items():
        if len(members) == 1:
            members[0].encode()
            continue
        ends = np.concatenate([s.ends for s in members])
        starts = np.concatenate([s.starts for s in members])
        if width >= 0:
            dists = [s.dist for s in members if s.dist is not None]
            data, offsets = encode_dist_points_indexed(
                ends,
                starts,
                np.concatenate([d.count for d in dists]),
                np.concatenate([d.mean for d in dists]),
                np.concatenate([d.ssd for d in dists]),
                np.vstack([d.buckets for d in dists]),
                options,
                nanos,
            )
        else:
            values = np.concatenate([s.values for s in members if s.values is not None])
            data, offsets = encode_points_indexed(ends, starts, values, value_type, nanos)
        first = 0
        for s in members:
            last = first + len(s)
            lo, hi = int(offsets[first]), int(offsets[last])
            s.encoded, s.offsets = data[lo:hi], offsets[first : last + 1] - lo
            s.values, s.dist = None, None
            first = last


def points_page(result: list[OutSeries], offset: int, size: int) -> tuple[list[bytes], int | None]:
    """One page of points: (the encoded TimeSeries chunks, the offset of the next page's first
    point or None). A page holds at most ``size`` points from point ``offset`` on (counted over
    the series in order; a series split across pages keeps its header) and at most about
    MAX_PAGE_BYTES."""
    chunks: list[bytes] = []
    nxt = None
    pos = 0
    nbytes = 0
    budget = size
    for s in result:
        n = len(s)
        if pos + n <= offset:
            pos += n
            continue
        lo = max(0, offset - pos)
        hi = min(n, lo + budget)
        pts = s.points(lo, hi)
        if nbytes + len(pts) > MAX_PAGE_BYTES and hi > lo:
            # keep pages under the 4 MiB gRPC default receive limit of clients
            fit = max(
                1 if not chunks else 0,
                (MAX_PAGE_BYTES - nbytes) * (hi - lo) // max(len(pts), 1),
            )
            hi = lo + fit
            pts = s.points(lo, hi)
            budget = hi - lo  # this page ends here
        if hi > lo:
            chunks.append(length_delimited(1, s.header + pts))
            nbytes += len(s.header) + len(pts) + 8
        budget -= hi - lo
        pos += n
        if budget == 0:
            taken = pos - n + hi
            total = sum(len(x) for x in result)
            if taken < total:
                nxt = taken
            break
    return chunks, nxt


def header(s: OutSeries, metric_type: str) -> bytes:
    ts = _TS()
    ts.metric.type = metric_type
    ts.resource.type = "cloud_run_revision"
    ts.resource.labels.update(dict(s.resource))
    ts.metric.labels.update(dict(s.metric))
    ts.metric_kind = _KIND[s.kind]
    ts.value_type = _VTYPE[s.value_type]
    ts.unit = s.unit
    out: bytes = ts.SerializeToString()
    return out
