"""Shared helpers for the fleet simulation tests (test_fleet_*.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from emulator.sim.model import DistributionSeries, FleetData, RawSeries

NOW = datetime(2026, 3, 10, 12, 34, 56, tzinfo=UTC)
PREFIX = "run.googleapis.com/"


def series_of(data: FleetData, revision: str, metric: str, **labels: str) -> list[RawSeries]:
    return [
        s
        for s in data.series
        if s.resource_labels["revision_name"] == revision
        and s.metric_type == PREFIX + metric
        and all(s.metric_labels.get(k) == v for k, v in labels.items())
    ]


def one(data: FleetData, revision: str, metric: str, **labels: str) -> RawSeries:
    found = series_of(data, revision, metric, **labels)
    assert len(found) == 1, (revision, metric, labels, len(found))
    return found[0]


def numeric(s: RawSeries) -> np.ndarray:
    assert isinstance(s.values, np.ndarray)
    return s.values


def dist(s: RawSeries) -> DistributionSeries:
    assert isinstance(s.values, DistributionSeries)
    return s.values


def quantile_from_buckets(d: DistributionSeries, rows: slice, q: float) -> float:
    """Upper bound of the bucket holding quantile q of the merged minutes (numpy only)."""
    counts = d.bucket_counts[rows].sum(axis=0)
    cum = np.cumsum(counts)
    k = int(np.searchsorted(cum, q * cum[-1]))
    bounds = d.layout.upper_bounds()
    return float(bounds[min(k, len(bounds) - 1)])


def revisions_of(data: FleetData, service: str) -> list[str]:
    for svc in data.spec.services:
        if svc.name == service:
            return [r.name for r in svc.revisions]
    raise KeyError(service)
