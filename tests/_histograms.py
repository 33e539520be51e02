"""Independent truths from the emulator's raw simulated series (numpy only, none of runwatch's
collectors): merged percentiles of distributions and aligned means of gauges."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np


def _minutes(fleet: Any, start: datetime, end: datetime) -> tuple[int, int]:
    spec = fleet.spec
    first = int((start - spec.start).total_seconds() // 60)
    last = int((end - spec.start).total_seconds() // 60)
    return first, last


def _wanted(
    s: Any,
    metric: str,
    service: str | None,
    revision: str | None,
    labels: dict[str, str] | None = None,
) -> bool:
    res = s.resource_labels
    return (
        s.metric_type == metric
        and (service is None or res["service_name"] == service)
        and (revision is None or res["revision_name"] == revision)
        and all(s.metric_labels.get(k) == v for k, v in (labels or {}).items())
    )


def merged_percentile(
    fleet: Any,
    service: str | None,
    start: datetime,
    end: datetime,
    q: float,
    metric: str = "run.googleapis.com/request_latencies",
    *,
    revision: str | None = None,
    labels: dict[str, str] | None = None,
) -> tuple[float, float]:
    """p-q of every sample of ``metric`` of ``service`` (None: every service; ``revision``: only
    it; ``labels``: only series with these metric labels) in [start, end) from the raw
    simulated histograms, and the width of its bucket."""
    first, last = _minutes(fleet, start, end)
    total = None
    bounds = None
    for s in fleet.series:
        if not _wanted(s, metric, service, revision, labels):
            continue
        counts = np.clip(s.values.bucket_counts[first:last], 0, None).sum(axis=0)
        total = counts if total is None else total + counts
        bounds = s.values.layout.upper_bounds()
    assert total is not None
    assert bounds is not None
    rank = q * total.sum()
    i = int(np.searchsorted(np.cumsum(total), rank))
    lo = 0.0 if i == 0 else bounds[i - 1]
    hi = bounds[min(i, len(bounds) - 1)]
    below = np.cumsum(total)[i - 1] if i else 0
    value = lo + (hi - lo) * (rank - below) / max(total[i], 1)
    return float(value), float(hi - lo)


def aligned_mean_sum(
    fleet: Any,
    revision: str,
    start: datetime,
    end: datetime,
    metric: str,
    labels: dict[str, str],
) -> float:
    """The mean over [start, end) of each of ``revision``'s ``metric`` series with ``labels``
    (the minutes with a point), summed over those series: ALIGN_MEAN then REDUCE_SUM."""
    first, last = _minutes(fleet, start, end)
    total = 0.0
    for s in fleet.series:
        if not _wanted(s, metric, None, revision, labels):
            continue
        part = np.asarray(s.values[first:last], dtype=float)
        if np.isfinite(part).any():
            total += float(np.nanmean(part))
    return total
