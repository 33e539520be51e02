"""Bulk decoding of ``TimeSeries.points`` from their wire bytes, in numpy.

Reading 100,000 points through the protobuf objects costs about a microsecond a point (each
``p.interval.end_time.seconds`` creates wrapper objects). Here a series is re-serialized (one C
call) and parsed as a look-alike message whose ``points`` are plain ``bytes``, so protobuf's C
code splits the points; the fields inside every point are then read column-wise: each loop turn
reads the next field of every point at once (tags and varints decoded in numpy), so the number
of turns is the number of fields in a point, not the number of points.

Only what ``collectors.monitoring`` needs is read: the end time of every point and its value
(bool, int64, double) or distribution (count, mean, bucket options, bucket counts). Anything
unexpected (groups, a repeated occurrence of a singular field, bucket counts written unpacked or
in several chunks, a varint running past its field, etc.) raises ``Unsupported`` and the caller
falls back to reading the points through protobuf, which defines the semantics: the decoded
values are the ones protobuf would give (absent fields are zero, a oneof reads its default when
another member is set).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_WIDTH = 10  # longest varint
MAX_FIELD_TURNS = 256  # fields read per message before giving up (exemplars can repeat)

# TypedValue oneof members by field number
VALUE_FIELDS = {1: "bool_value", 2: "int64_value", 3: "double_value", 4: "string_value"}
DIST_FIELD = 5


class Unsupported(Exception):
    """The bytes hold something this decoder does not read; use protobuf instead."""


def _lite_classes() -> tuple[Any, Any]:
    """Look-alikes of ListTimeSeriesResponse and TimeSeries: field 1 (time_series) and, in
    each series, field 5 (points) as ``repeated bytes``; every other field is skipped."""
    fdp = descriptor_pb2.FileDescriptorProto(
        name="runwatch_lite_timeseries.proto", package="runwatch.lite", syntax="proto3"
    )
    series = fdp.message_type.add(name="LiteTimeSeries")
    series.field.add(
        name="points",
        number=5,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_BYTES,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED,
    )
    page = fdp.message_type.add(name="LitePage")
    page.field.add(
        name="time_series",
        number=1,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
        type_name=".runwatch.lite.LiteTimeSeries",
        label=descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED,
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return (
        message_factory.GetMessageClass(pool.FindMessageTypeByName("runwatch.lite.LitePage")),
        message_factory.GetMessageClass(pool.FindMessageTypeByName("runwatch.lite.LiteTimeSeries")),
    )


_LITE_PAGE, _LITE_SERIES = _lite_classes()


class Buffer:
    """Points laid end to end, zero-padded so reads never overrun; ``sizes`` points a series."""

    def __init__(self, per_series: list[list[bytes]]) -> None:
        points = [p for pts in per_series for p in pts]
        self.sizes = np.fromiter(map(len, per_series), np.int64, len(per_series))
        lens = np.fromiter(map(len, points), np.int64, len(points))
        self.end = np.cumsum(lens)
        self.start = self.end - lens
        self.data = np.frombuffer(b"".join(points) + bytes(_WIDTH), dtype=np.uint8)

    @classmethod
    def of_page(cls, page_bytes: bytes) -> Buffer:
        """The points of every series of a serialized ListTimeSeriesResponse."""
        return cls([list(ts.points) for ts in _LITE_PAGE.FromString(page_bytes).time_series])

    @classmethod
    def of_series(cls, series_bytes: bytes) -> Buffer:
        return cls([list(_LITE_SERIES.FromString(series_bytes).points)])

    def __len__(self) -> int:
        return len(self.start)

    def varints(self, pos: np.ndarray, limit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Varints starting at ``pos`` (each ending before ``limit``): (uint64 values, lengths).

        One pass per byte of the longest varint, each over the varints still going on.
        """
        b = self.data[pos]
        values = (b & 0x7F).astype(np.uint64)
        lens = np.ones(pos.size, dtype=np.int64)
        more = np.flatnonzero(b & 0x80)
        j = 1
        while more.size:
            if j == _WIDTH:
                raise Unsupported("a varint longer than 10 bytes")
            b = self.data[pos[more] + j]
            values[more] |= (b & 0x7F).astype(np.uint64) << np.uint64(7 * j)
            lens[more] += 1
            more = more[(b & 0x80) != 0]
            j += 1
        if np.any(pos + lens > limit):
            raise Unsupported("a varint runs past its field")
        return values, lens

    def fixed64(self, pos: np.ndarray) -> np.ndarray:
        """Little-endian 8-byte values at ``pos`` as raw (n, 8) uint8 rows."""
        return self.data[pos[:, None] + np.arange(8)]


@dataclass
class Fields:
    """Where each wanted field of every message lies: value start and length (-1 = absent)."""

    start: dict[int, np.ndarray]
    length: dict[int, np.ndarray]

    def present(self, number: int) -> np.ndarray:
        result: np.ndarray = self.start[number] >= 0
        return result


def read_fields(buf: Buffer, start: np.ndarray, end: np.ndarray, wanted: dict[int, int]) -> Fields:
    """Walk the fields of the messages ``[start, end)`` (one per row) all at once.

    ``wanted`` maps field numbers to their wire type (0 varint, 1 fixed64, 2 length-delimited);
    a wanted field with another wire type raises Unsupported. A wanted field is recorded at the
    start of its payload: a varint's first byte, a fixed value's first byte, or a
    length-delimited field's content (with its length). A wanted field seen twice in one
    message raises Unsupported (singular fields here; repeated ones are expected as a single
    packed chunk).
    """
    n = len(start)
    found = {f: np.full(n, -1, dtype=np.int64) for f in wanted}
    length = {f: np.zeros(n, dtype=np.int64) for f in wanted}
    pos = start.astype(np.int64, copy=True)
    for _ in range(MAX_FIELD_TURNS):
        live = np.flatnonzero(pos < end)
        if live.size == 0:
            break
        p, lim = pos[live], end[live]
        tag, tag_len = buf.varints(p, lim)
        field = (tag >> np.uint64(3)).astype(np.int64)
        wire = (tag & np.uint64(7)).astype(np.int64)
        body = p + tag_len
        size = np.zeros(live.size, dtype=np.int64)  # payload bytes after ``body``
        skip = np.zeros(live.size, dtype=np.int64)  # bytes between ``body`` and the payload
        is_var = wire == 0
        if is_var.any():
            _, vlen = buf.varints(body[is_var], lim[is_var])
            size[is_var] = vlen
        size[wire == 1] = 8
        size[wire == 5] = 4
        is_len = wire == 2
        if is_len.any():
            ln, llen = buf.varints(body[is_len], lim[is_len])
            if np.any(ln > np.uint64(1 << 31)):
                raise Unsupported("a length-delimited field is implausibly long")
            skip[is_len] = llen
            size[is_len] = ln.astype(np.int64)
        if np.any((wire == 3) | (wire == 4) | (wire > 5)):
            raise Unsupported("groups or an unknown wire type")
        payload = body + skip
        nxt = payload + size
        if np.any(nxt > lim):
            raise Unsupported("a field runs past its message")
        for f, wire_type in wanted.items():
            hit = field == f
            if hit.any():
                if np.any(wire[hit] != wire_type):
                    raise Unsupported(f"field {f} has an unexpected wire type")
                rows = live[hit]
                if np.any(found[f][rows] >= 0):
                    raise Unsupported(f"field {f} occurs more than once")
                found[f][rows] = payload[hit]
                length[f][rows] = size[hit]
        pos[live] = nxt
    else:
        raise Unsupported("too many fields in a message")
    return Fields(found, length)


def _sub(fields: Fields, number: int) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) of a message field; absent ones are empty ranges (all defaults)."""
    s = fields.start[number]
    present = s >= 0
    start = np.where(present, s, 0)
    return start, start + np.where(present, fields.length[number], 0)


def _varint_field(buf: Buffer, fields: Fields, number: int, end: np.ndarray) -> np.ndarray:
    """A varint field as uint64 (0 where absent)."""
    out = np.zeros(len(end), dtype=np.uint64)
    has = fields.present(number)
    if has.any():
        out[has] = buf.varints(fields.start[number][has], end[has])[0]
    return out


def _double_field(buf: Buffer, fields: Fields, number: int) -> np.ndarray:
    out = np.zeros(len(fields.start[number]), dtype=np.float64)
    has = fields.present(number)
    if has.any():
        raw = np.ascontiguousarray(buf.fixed64(fields.start[number][has]))
        out[has] = raw.view("<f8").reshape(-1)
    return out


@dataclass
class Points:
    """The points of one series: end times, and which TypedValue member each one holds."""

    buf: Buffer
    ends: np.ndarray  # int64 epoch seconds of interval.end_time
    which: np.ndarray  # TypedValue field number set in each point (0 = none)
    value: Fields  # TypedValue fields
    value_end: np.ndarray


def decode_points(buf: Buffer) -> Points:
    """Read the points of a Buffer (raises Unsupported)."""
    point = read_fields(buf, buf.start, buf.end, {1: 2, 2: 2})
    i_start, i_end = _sub(point, 1)
    interval = read_fields(buf, i_start, i_end, {2: 2})
    t_start, t_end = _sub(interval, 2)
    stamp = read_fields(buf, t_start, t_end, {1: 0})
    ends = _varint_field(buf, stamp, 1, t_end).view(np.int64)
    v_start, v_end = _sub(point, 2)
    value = read_fields(buf, v_start, v_end, {1: 0, 2: 0, 3: 1, 4: 2, DIST_FIELD: 2})
    which = np.zeros(len(buf), dtype=np.int64)
    seen = np.zeros(len(buf), dtype=np.int64)
    for f in (1, 2, 3, 4, DIST_FIELD):
        has = value.present(f)
        which[has] = f
        seen += has
    if np.any(seen > 1):
        raise Unsupported("a TypedValue with several members set")
    return Points(buf, ends, which, value, v_end)


def _bounds(sizes: np.ndarray) -> np.ndarray:
    out = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=out[1:])
    return out


def series_numeric(pts: Points) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """(end times, float64 values) of every series; None for a series without points or whose
    first point is not a number. As protobuf reads them: the member set in a series' first
    point (bool, int64 or double) is read from every point, 0 where a point has another one."""
    sizes = pts.buf.sizes
    bounds = _bounds(sizes)
    first = np.zeros(len(sizes), dtype=np.int64)
    has = sizes > 0
    first[has] = pts.which[bounds[:-1][has]]
    member = np.repeat(first, sizes)
    values = np.zeros(len(member), dtype=np.float64)
    for m in (1, 2, 3):
        sel = member == m
        if not sel.any():
            continue
        if m == 3:
            values[sel] = _double_field(pts.buf, pts.value, 3)[sel]
        else:
            raw = _varint_field(pts.buf, pts.value, m, pts.value_end)[sel]
            values[sel] = (raw != 0) if m == 1 else raw.view(np.int64).astype(np.float64)
    return [
        (pts.ends[lo:hi], values[lo:hi]) if first[i] in (1, 2, 3) else None
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds))
    ]


@dataclass
class Distributions:
    """Distribution points of one series (only those whose value is a distribution)."""

    ends: np.ndarray  # int64 epoch seconds
    count: np.ndarray  # float64
    mean: np.ndarray
    options: bytes  # serialized BucketOptions, the same for every point
    values: np.ndarray  # every point's bucket counts, end to end (int64)
    per_point: np.ndarray  # how many bucket counts each point has (possibly fewer than buckets)

    def matrix(self, num_buckets: int) -> np.ndarray:
        """(points, num_buckets) int64 bucket counts, short rows padded with zeros."""
        n = len(self.per_point)
        out = np.zeros((n, num_buckets), dtype=np.int64)
        owner = np.repeat(np.arange(n), self.per_point)
        col = np.arange(self.values.size) - np.repeat(
            np.cumsum(self.per_point) - self.per_point, self.per_point
        )
        keep = col < num_buckets
        if not keep.all() and np.any(self.values[~keep] != 0):
            raise Unsupported("more bucket counts than the layout has buckets")
        out[owner[keep], col[keep]] = self.values[keep]
        return out


def series_distributions(pts: Points) -> list[Distributions | None]:
    """The distribution points of every series (None: it has none). Unsupported unless the
    points of each series share one bucket options encoding."""
    buf = pts.buf
    rows = np.flatnonzero(pts.which == DIST_FIELD)
    series_of = np.repeat(np.arange(len(buf.sizes)), buf.sizes)[rows]
    d_start, d_end = _sub(pts.value, DIST_FIELD)
    d_start, d_end = d_start[rows], d_end[rows]
    dist = read_fields(buf, d_start, d_end, {1: 0, 2: 1, 6: 2, 7: 2})
    count = _varint_field(buf, dist, 1, d_end).view(np.int64).astype(np.float64)
    mean = _double_field(buf, dist, 2)
    o_start, o_end = _sub(dist, 6)
    b_start, b_end = _sub(dist, 7)
    values, per_point = _packed(buf, b_start, b_end)
    # rows are in series order: [lo, hi) of each series among them
    lohi = np.searchsorted(series_of, np.arange(len(buf.sizes) + 1))
    value_bounds = _bounds(per_point)
    out: list[Distributions | None] = []
    for lo, hi in itertools.pairwise(lohi):
        if lo == hi:
            out.append(None)
            continue
        out.append(
            Distributions(
                pts.ends[rows[lo:hi]],
                count[lo:hi],
                mean[lo:hi],
                _same_options(buf, o_start[lo:hi], o_end[lo:hi]),
                values[value_bounds[lo] : value_bounds[hi]],
                per_point[lo:hi],
            )
        )
    return out


def _same_options(buf: Buffer, start: np.ndarray, end: np.ndarray) -> bytes:
    """The bucket options bytes shared by every point of a series (Unsupported if they differ)."""
    lens = end - start
    width = int(lens[0])
    if np.any(lens != width):
        raise Unsupported("bucket options differ between points")
    if width == 0:
        return b""
    block = buf.data[start[:, None] + np.arange(width)]
    if np.any(block != block[0]):
        raise Unsupported("bucket options differ between points")
    first: bytes = block[0].tobytes()
    return first


def _packed(buf: Buffer, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Packed varints of every range: all values (int64) and how many each range holds."""
    lens = end - start
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(len(start), dtype=np.int64)
    # every byte of every range, in order
    owner = np.repeat(np.arange(len(start)), lens)
    offs = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
    raw = buf.data[start[owner] + offs]
    last = (raw & 0x80) == 0
    ends_at = np.cumsum(lens)
    if not np.all(last[ends_at[lens > 0] - 1]):
        raise Unsupported("a packed varint runs past its field")
    # varint number of each byte, and the byte's place inside its varint
    vid = np.concatenate(([0], np.cumsum(last)[:-1]))
    first_of = np.flatnonzero(np.concatenate(([True], last[:-1])))
    place = np.arange(total) - first_of[vid]
    if np.any(place >= _WIDTH):
        raise Unsupported("a varint longer than 10 bytes")
    parts = (raw & 0x7F).astype(np.uint64) << (place.astype(np.uint64) * np.uint64(7))
    values = np.bitwise_or.reduceat(parts, first_of).view(np.int64)
    per_range = np.bincount(owner[last], minlength=len(start)).astype(np.int64)
    return values, per_range
