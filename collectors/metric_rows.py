"""ListTimeSeriesResponse pages -> METRIC_POINTS rows (no I/O; collectors/monitoring.py
fetches the pages).

- numeric metrics give one ``value`` row per aligned point; negative values (counter-reset
  artefacts of DELTA metrics) are dropped, never clipped to zero; missing periods stay missing
  (no interpolation, no zero fill);
- distributions give count / mean / percentiles computed from the merged buckets by
  collectors.distributions (percentile and mean rows are omitted where the count is 0); a
  percentile in an edge bucket is that bucket's finite bound, with ``bound`` "<" or ">";
- a point whose period ends after ``window.pending_after`` is flagged ``pending``.

Pages are decoded from their wire bytes in bulk (collectors.wirepoints) when they can be, else
point by point through the protobuf objects.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from google.api import distribution_pb2
from google.cloud import monitoring_v3

from collectors import distributions, wirepoints
from collectors.catalog import MetricSpec
from collectors.schema import METRIC_POINTS, conform, empty
from foundation.window import TimeWindow


@dataclass
class _Rows:
    """METRIC_POINTS under construction, as chunks: (labels, timestamps, values, pending).

    Label columns are built once at the end from chunk codes (a categorical turned into
    strings), which is much cheaper than converting one Python string per row.
    """

    labels: list[dict[str, str]] = field(default_factory=list)
    ends: list[np.ndarray] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    pending: list[np.ndarray] = field(default_factory=list)
    edges: list[np.ndarray] = field(default_factory=list)  # -1 / 0 / +1 (METRIC_POINTS.bound)

    def extend(
        self,
        fixed: dict[str, str],
        ends: np.ndarray,
        values: np.ndarray,
        pending: np.ndarray,
        edges: np.ndarray | None = None,
    ) -> None:
        if ends.size:
            self.labels.append(fixed)
            self.ends.append(np.asarray(ends, dtype=np.int64))
            self.values.append(np.asarray(values, dtype=np.float64))
            self.pending.append(np.asarray(pending, dtype=bool))
            self.edges.append(
                np.zeros(ends.size, np.int8) if edges is None else np.asarray(edges, np.int8)
            )

    def frame(self) -> pd.DataFrame:
        if not self.labels:
            return empty(METRIC_POINTS)
        sizes = np.fromiter((e.size for e in self.ends), np.int64, len(self.ends))
        chunk = np.repeat(np.arange(len(self.labels)), sizes)
        cols: dict[str, Any] = {
            "timestamp": pd.to_datetime(np.concatenate(self.ends), unit="s", utc=True),
            "value": np.concatenate(self.values),
            "pending": np.concatenate(self.pending),
            "bound": pd.array(["<", "", ">"], dtype="string").take(np.concatenate(self.edges) + 1),
        }
        for col in METRIC_POINTS:
            if col in cols:
                continue
            per_chunk = [lab[col] for lab in self.labels]
            cats = sorted(set(per_chunk))
            index = {v: i for i, v in enumerate(cats)}
            codes = np.fromiter((index[v] for v in per_chunk), np.int64, len(per_chunk))
            cols[col] = pd.array(cats, dtype="string").take(codes[chunk])
        df = pd.DataFrame(cols)
        return conform(df, METRIC_POINTS)


def _series_labels(series: Any, spec: MetricSpec, project: str) -> dict[str, str]:
    res = series.resource.labels
    met = series.metric.labels
    return {
        "project_id": res.get("project_id", "") or project,
        "location": res.get("location", ""),
        "service": res.get("service_name", ""),
        "revision": res.get("revision_name", ""),
        "metric": spec.short,
        "state": met.get(spec.state_label, "") if spec.state_label else "",
        "response_class": met.get(spec.class_label, "") if spec.class_label else "",
        "unit": spec.unit,
    }


def _pending(ends: np.ndarray, window: TimeWindow) -> np.ndarray:
    if window.pending_after is None:
        return np.zeros(ends.size, dtype=bool)
    cutoff = int(window.pending_after.timestamp())
    result: np.ndarray = ends > cutoff
    return result


def _numeric(
    decoded: tuple[np.ndarray, np.ndarray] | None,
    fixed: dict[str, str],
    window: TimeWindow,
    rows: _Rows,
) -> None:
    if decoded is None:
        return
    ends, values = decoded
    keep = np.isfinite(values) & (values >= 0)
    ends, values = ends[keep], values[keep]
    rows.extend({**fixed, "stat": "value"}, ends, values, _pending(ends, window))


def _numeric_per_point(series: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """End times and values through protobuf objects (the type of the first point rules)."""
    points = series.points
    if not points:
        return None
    which = points[0].value.WhichOneof("value")
    if which not in ("int64_value", "double_value", "bool_value"):
        return None
    ends = np.fromiter((p.interval.end_time.seconds for p in points), np.int64, len(points))
    values = np.fromiter((getattr(p.value, which) for p in points), np.float64, len(points))
    return ends, values


@dataclass
class _DistGroup:
    """Distribution points of one series sharing one bucket layout."""

    ends: np.ndarray
    count: np.ndarray
    mean: np.ndarray
    options: Callable[[], Any]  # the BucketOptions message
    counts: Callable[[int], np.ndarray]  # (points, buckets) counts, short rows padded


def _dist_groups(d: wirepoints.Distributions | None) -> list[_DistGroup]:
    if d is None:
        return []
    return [
        _DistGroup(
            d.ends,
            d.count,
            d.mean,
            functools.partial(distribution_pb2.Distribution.BucketOptions.FromString, d.options),
            d.matrix,
        )
    ]


def _bulk(raw_page: Any, spec: MetricSpec) -> list[Any] | None:
    """Every series of a page decoded from its wire bytes, or None to read point by point."""
    try:
        buf = wirepoints.Buffer.of_page(raw_page.SerializeToString())
        pts = wirepoints.decode_points(buf)
        if spec.is_distribution:
            return [_dist_groups(d) for d in wirepoints.series_distributions(pts)]
        return list(wirepoints.series_numeric(pts))
    except wirepoints.Unsupported:
        return None


def _dist_per_point(series: Any) -> list[_DistGroup]:
    points = [p for p in series.points if p.value.WhichOneof("value") == "distribution_value"]
    # Points of one series nearly always share a layout; group by it to be safe.
    by_layout: dict[bytes, list[Any]] = {}
    for p in points:
        key = p.value.distribution_value.bucket_options.SerializeToString(deterministic=True)
        by_layout.setdefault(key, []).append(p)
    out: list[_DistGroup] = []
    for group in by_layout.values():
        dists = [p.value.distribution_value for p in group]
        out.append(
            _DistGroup(
                np.fromiter((p.interval.end_time.seconds for p in group), np.int64, len(group)),
                np.fromiter((d.count for d in dists), np.float64, len(dists)),
                np.fromiter((d.mean for d in dists), np.float64, len(dists)),
                functools.partial(_first_options, dists),
                functools.partial(_padded, dists),
            )
        )
    return out


def _first_options(dists: list[Any]) -> Any:
    return dists[0].bucket_options


def _padded(dists: list[Any], num_buckets: int) -> np.ndarray:
    return distributions.pad_counts([d.bucket_counts for d in dists], num_buckets)


def _dist_rows(
    g: _DistGroup, spec: MetricSpec, fixed: dict[str, str], window: TimeWindow, rows: _Rows
) -> None:
    count, mean, ends = g.count, g.mean, g.ends
    pending = _pending(ends, window)
    pct_names = [s for s in spec.stats if s in distributions.PERCENTILES]
    pcts = np.empty((len(count), 0))
    edge = np.zeros((len(count), 0), dtype=np.int8)
    if pct_names and np.any(count > 0):
        bounds = distributions.finite_bounds(g.options())
        pcts, edge = distributions.percentiles_with_edges(
            bounds, g.counts(bounds.size + 1), [distributions.PERCENTILES[s] for s in pct_names]
        )
    for stat in spec.stats:
        edges = None
        if stat == "count":
            values, keep = count, np.ones(count.size, dtype=bool)
        elif stat == "mean":
            values, keep = mean, count > 0
        elif stat in pct_names and pcts.shape[1]:
            values = pcts[:, pct_names.index(stat)]
            edges = edge[:, pct_names.index(stat)]
            keep = np.isfinite(values)
            edges = edges[keep]
        else:
            continue
        rows.extend({**fixed, "stat": stat}, ends[keep], values[keep], pending[keep], edges)


def to_frame(
    pages: Iterable[Any], spec: MetricSpec, project: str, window: TimeWindow
) -> pd.DataFrame:
    """METRIC_POINTS rows from ListTimeSeriesResponse pages (proto-plus or raw protobuf)."""
    rows = _Rows()
    for page in pages:
        raw = _raw(page)
        bulk = _bulk(raw, spec)
        for i, series in enumerate(raw.time_series):
            fixed = _series_labels(series, spec, project)
            if spec.is_distribution:
                groups = bulk[i] if bulk is not None else _dist_per_point(series)
                for group in groups:
                    _dist_rows(group, spec, fixed, window, rows)
            else:
                decoded = bulk[i] if bulk is not None else _numeric_per_point(series)
                _numeric(decoded, fixed, window, rows)
    return rows.frame()


def _raw(page: Any) -> Any:
    if isinstance(page, monitoring_v3.ListTimeSeriesResponse):
        return monitoring_v3.ListTimeSeriesResponse.pb(page)
    return page


def execution_errors(pages: Iterable[Any], what: str) -> tuple[str, ...]:
    reasons: list[str] = []
    for page in pages:
        for status in _raw(page).execution_errors:
            reasons.append(
                f"{what}: Monitoring says the data may be incomplete: {status.message or status}"
            )
    return tuple(dict.fromkeys(reasons))
