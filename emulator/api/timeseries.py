"""google.monitoring.v3.MetricService/ListTimeSeries over a FleetData.

Validates the request like Monitoring (filter, interval, aggregation, page size), aligns and
reduces in numpy (emulator.api.aggregate), pages by points (at most 100,000 a page; series split
across pages keep their header) and encodes the response bytes directly (emulator.api.wire).
Results are cached per query, each series encoded once with its points' byte offsets, so a page
is a few slices of bytes and later pages do not recompute.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from google.cloud import monitoring_v3
from google.protobuf.message import Message
from google.rpc import code_pb2, status_pb2

from emulator.api import aggregate as agg
from emulator.api.alignrules import _aligned_type, _check_aligner, _group, _reduced_type
from emulator.api.errors import invalid, not_found
from emulator.api.faults import Faults, _error_for
from emulator.api.monitoring_filter import parse
from emulator.api.outseries import OutSeries, encode_all, header, points_page
from emulator.api.paging import make_token, query_key, read_token
from emulator.api.series_index import KNOWN_METRICS, MetricGroup, MetricIndex, build_index
from emulator.api.wire import length_delimited
from emulator.sim.model import FleetData

SERVICE = "google.monitoring.v3.MetricService"
MAX_PAGE_POINTS = 100_000
_REQ = monitoring_v3.ListTimeSeriesRequest.pb()
_AGG = monitoring_v3.Aggregation.pb()
_ALIGNERS = {v.number: v.name[len("ALIGN_") :] for v in _AGG.Aligner.DESCRIPTOR.values}
_REDUCERS = {v.number: v.name[len("REDUCE_") :] for v in _AGG.Reducer.DESCRIPTOR.values}
_NUMERIC_ALIGNERS = {"DELTA", "RATE", "SUM", "MEAN", "MAX", "MIN", "COUNT"}
_SUPPORTED_REDUCERS = {"NONE", "SUM", "MEAN", "MAX", "MIN", "COUNT", *agg.PERCENTILES}


@dataclass(frozen=True)
class Query:
    project: str
    metric_type: str
    match: Callable[[str, Mapping[str, str], Mapping[str, str]], bool]
    start: int
    end: int
    end_nanos: int
    aligner: str
    reducer: str
    period: int
    group_by: tuple[tuple[str, str], ...]  # ("resource"|"metric", key)


def _ts(ts: Any) -> tuple[int, int]:
    return int(ts.seconds), int(ts.nanos)


def _group_field(text: str) -> tuple[str, str]:
    for prefix, where in (
        ("resource.labels.", "resource"),
        ("resource.label.", "resource"),
        ("metric.labels.", "metric"),
        ("metric.label.", "metric"),
    ):
        if text.startswith(prefix) and len(text) > len(prefix):
            return where, text[len(prefix) :]
    raise invalid(f'Field aggregation.groupByFields had an invalid value of "{text}".')


class MetricService:
    def __init__(self, fleet: FleetData, faults: Faults, scoping_project: str = "") -> None:
        self.index: MetricIndex = build_index(fleet, scoping_project)
        self.faults = faults
        self._cache: OrderedDict[str, list[OutSeries]] = OrderedDict()
        self._lock = threading.Lock()

    def handlers(self) -> dict[str, dict[str, tuple[Callable[[Any], bytes | Message], Any]]]:
        return {SERVICE: {"ListTimeSeries": (self.list_time_series, _REQ)}}

    # -- request validation -------------------------------------------------------------
    def _query(self, req: Any) -> Query:
        name = req.name
        if not name.startswith("projects/") or "/" in name[len("projects/") :]:
            raise invalid(f'Field name had an invalid value of "{name}": must be projects/ID.')
        project = name[len("projects/") :]
        if project not in self.index.scopes:
            raise _error_for("ListTimeSeries", "PERMISSION_DENIED")
        flt = parse(req.filter)
        if not req.HasField("interval") or not req.interval.HasField("end_time"):
            raise invalid("Field interval.endTime is required.")
        end, end_ns = _ts(req.interval.end_time)
        if req.interval.HasField("start_time"):
            start, start_ns = _ts(req.interval.start_time)
        else:
            start, start_ns = end, end_ns
        if (start, start_ns) > (end, end_ns):
            raise invalid("Field interval.startTime must not be later than interval.endTime.")
        a = req.aggregation
        aligner = _ALIGNERS.get(a.per_series_aligner, "?")
        reducer = _REDUCERS.get(a.cross_series_reducer, "?")
        period = int(a.alignment_period.seconds) if a.HasField("alignment_period") else 0
        if a.alignment_period.nanos:
            raise invalid("The alignment period must be a whole number of seconds.")
        if aligner != "NONE":
            if period == 0:
                raise invalid(
                    "The alignment period must be specified when a per-series aligner is used."
                )
            if period < 60 or period % 60:
                raise invalid(
                    f"The alignment period must be at least 60s and a multiple of 60s; "
                    f"got {period}s."
                )
        if aligner not in _NUMERIC_ALIGNERS | {"NONE", *agg.PERCENTILES}:
            raise invalid(f"The aligner ALIGN_{aligner} is not supported by this emulator.")
        if reducer not in _SUPPORTED_REDUCERS:
            raise invalid(f"The reducer REDUCE_{reducer} is not supported by this emulator.")
        if reducer != "NONE" and aligner == "NONE":
            raise invalid(
                "The cross-series reducer requires a per-series aligner other than ALIGN_NONE."
            )
        if a.group_by_fields and reducer == "NONE":
            raise invalid("Group-by fields require a cross-series reducer.")
        group_by = tuple(_group_field(f) for f in a.group_by_fields)
        if req.HasField("secondary_aggregation") or req.order_by:
            raise invalid("secondaryAggregation and orderBy are not supported by this emulator.")
        return Query(
            project,
            flt.metric_type,
            flt.matches,
            start,
            end,
            end_ns,
            aligner,
            reducer,
            period,
            group_by,
        )

    # -- computation --------------------------------------------------------------------
    def _compute(self, q: Query) -> list[OutSeries]:
        g = self.index.groups.get(q.metric_type)
        if g is None:
            if q.metric_type in KNOWN_METRICS:
                return []
            raise not_found(f'Cannot find metric(s) that match type = "{q.metric_type}".')
        scope = self.index.scopes[q.project]
        rows = [
            i
            for i, (s, pid) in enumerate(zip(g.series, g.projects, strict=True))
            if pid in scope and q.match("cloud_run_revision", s.resource_labels, s.metric_labels)
        ]
        _check_aligner(g, q.aligner, q.reducer)
        if q.aligner == "NONE":
            out = [self._raw(g, i, q) for i in rows]
        else:
            out = self._aligned(g, rows, q)
        return [s for s in out if len(s)]

    def _raw(self, g: MetricGroup, i: int, q: Query) -> OutSeries:
        t0, minutes = self.index.t0, self.index.minutes
        first, last = agg.raw_window(t0, minutes, q.start, q.end)
        cols = np.arange(first, last)[::-1]
        ends = t0 + 60 * (cols + 1)
        s = g.series[i]
        out = OutSeries(
            s.resource_labels,
            s.metric_labels,
            g.kind,
            g.value_type,
            g.unit,
            ends,
            ends - 60 if g.kind == "DELTA" else ends,
        )
        stored = g.dists[i] if g.is_distribution else None
        if isinstance(stored, agg.PackedDist):
            got, out.dist = stored.points(first, last)
            out.options = g.options[i]
            out.ends = t0 + 60 * (got + 1)
            out.starts = out.ends - 60 if g.kind == "DELTA" else out.ends
            return out
        if isinstance(stored, agg.Dist):
            d = stored.take(cols)
            keep = d.count >= 0
            out.dist, out.options = d.take(keep), g.options[i]
        else:
            assert g.matrix is not None
            v = g.matrix[i, cols]
            keep = ~np.isnan(v)
            out.values = v[keep]
        out.ends, out.starts = out.ends[keep], out.starts[keep]
        return out

    def _aligned(self, g: MetricGroup, rows: list[int], q: Query) -> list[OutSeries]:
        p = agg.periods(self.index.t0, self.index.minutes, q.start, q.end, q.period)
        ends = q.end - q.period * np.arange(p.n_periods, dtype=np.int64)
        kind, vtype, unit = _aligned_type(g, q.aligner)
        keep_dist = g.is_distribution and q.aligner in ("DELTA", "SUM")
        num: np.ndarray | None = None
        dists: list[agg.Dist] = []
        if g.is_distribution:
            aligned = [_align_stored(g.dists[i], p) for i in rows]
            if keep_dist:
                dists = aligned
            else:
                num = (
                    np.vstack(
                        [
                            self._dist_to_number(d, g, i, q.aligner)
                            for d, i in zip(aligned, rows, strict=True)
                        ]
                    )
                    if rows
                    else np.zeros((0, p.n_periods))
                )
        else:
            assert g.matrix is not None
            every = len(rows) == g.matrix.shape[0]  # (a metrics scope reads every series)
            num = agg.align_numeric(g.matrix if every else g.matrix[rows], p, q.aligner, q.period)
        series = [g.series[i] for i in rows]
        groups: list[tuple[tuple[Mapping[str, str], Mapping[str, str]], list[int]]]
        if q.reducer == "NONE":
            groups = [((s.resource_labels, s.metric_labels), [j]) for j, s in enumerate(series)]
        else:
            groups = _group(series, q.group_by, q.project)
            kind, vtype = _reduced_type(kind, vtype, q.reducer, keep_dist)
            if q.reducer == "COUNT":
                unit = "1"
        out: list[OutSeries] = []
        for (res, met), members in groups:
            starts = ends - q.period if kind == "DELTA" else ends
            o = OutSeries(res, met, kind, vtype, unit, ends, starts, nanos=q.end_nanos)
            if keep_dist and (q.reducer in ("NONE", "SUM")):
                d = (
                    dists[members[0]]
                    if q.reducer == "NONE"
                    else agg.merge_series([dists[j] for j in members])
                )
                has = d.count >= 0
                o.dist, o.options = d.take(has), g.options[rows[members[0]]]
                o.ends, o.starts = ends[has], starts[has]
            else:
                if keep_dist:
                    merged = agg.merge_series([dists[j] for j in members])
                    v = self._merged_number(
                        merged,
                        g,
                        rows[members[0]],
                        q.reducer,
                        len(members),
                        [dists[j] for j in members],
                    )
                else:
                    assert num is not None
                    block = num[members]
                    v = block[0] if q.reducer == "NONE" else agg.reduce_numeric(block, q.reducer)
                has = ~np.isnan(v)
                o.values, o.ends, o.starts = v[has], ends[has], starts[has]
            out.append(o)
        return out

    @staticmethod
    def _dist_to_number(d: agg.Dist, g: MetricGroup, i: int, aligner: str) -> np.ndarray:
        if aligner in agg.PERCENTILES:
            return agg.dist_percentile(d, g.layouts[i].upper_bounds(), agg.PERCENTILES[aligner])
        raise invalid(f"The aligner ALIGN_{aligner} is not valid for distributions.")

    @staticmethod
    def _merged_number(
        merged: agg.Dist, g: MetricGroup, i: int, reducer: str, n: int, parts: list[agg.Dist]
    ) -> np.ndarray:
        if reducer in agg.PERCENTILES:
            return agg.dist_percentile(
                merged, g.layouts[i].upper_bounds(), agg.PERCENTILES[reducer]
            )
        if reducer == "MEAN":
            return np.where(merged.count > 0, merged.mean, np.nan)
        counts = np.stack([p.count >= 0 for p in parts]).sum(axis=0).astype(float)  # COUNT
        return np.where(counts > 0, counts, np.nan)

    def _cached(self, key: str, q: Query) -> list[OutSeries]:
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        result = self._compute(q)
        for s in result:
            s.header = header(s, q.metric_type)
        encode_all(result)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > 32:
                self._cache.popitem(last=False)
        return result

    # -- the RPC ------------------------------------------------------------------------
    def list_time_series(self, req: Any) -> bytes:
        q = self._query(req)
        if req.page_size < 0:
            raise invalid("Field pageSize must not be negative.")
        headers_only = req.view == monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.HEADERS
        key = query_key(
            req.name,
            req.filter,
            req.interval.SerializeToString(),
            req.aggregation.SerializeToString(),
            headers_only,
        )
        page, offset = read_token(req.page_token, key)
        result = self._cached(key, q)
        size = min(req.page_size or MAX_PAGE_POINTS, MAX_PAGE_POINTS)
        if headers_only:
            chunks = [length_delimited(1, s.header) for s in result[offset : offset + size]]
            nxt = offset + size if offset + size < len(result) else None
        else:
            chunks, nxt = points_page(result, offset, size)
        if nxt is not None:
            chunks.append(length_delimited(2, make_token(page + 1, nxt, key).encode()))
        if self.faults.snapshot().exec_errors:
            err = status_pb2.Status(
                code=code_pb2.UNAVAILABLE,
                message="Some time series could not be read; the results may be incomplete.",
            )
            chunks.append(length_delimited(3, err.SerializeToString()))
        return b"".join(chunks)


def _align_stored(d: agg.Dist | agg.PackedDist, p: agg.Periods) -> agg.Dist:
    if isinstance(d, agg.PackedDist):
        return agg.align_packed(d, p)
    return agg.align_dist(d, p)
