"""Series of a FleetData indexed by metric type, stacked into numpy once at start."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from google.api import distribution_pb2

from emulator.api.aggregate import Dist, PackedDist
from emulator.sim.model import (
    BucketLayout,
    DistributionSeries,
    FleetData,
    PackedDistributionSeries,
    RawSeries,
    derived_project_number,
)

# Every metric of docs/facts.md, Metrics: (kind, value type, unit). Types outside this table and
# the fleet are unknown to the emulator (NOT_FOUND).
KNOWN_METRICS: dict[str, tuple[str, str, str]] = {
    "run.googleapis.com/request_count": ("DELTA", "INT64", "1"),
    "run.googleapis.com/request_latencies": ("DELTA", "DISTRIBUTION", "ms"),
    "run.googleapis.com/container/instance_count": ("GAUGE", "INT64", "1"),
    "run.googleapis.com/container/billable_instance_time": ("DELTA", "DOUBLE", "s"),
    "run.googleapis.com/container/cpu/allocation_time": ("DELTA", "DOUBLE", "s"),
    "run.googleapis.com/container/memory/allocation_time": ("DELTA", "DOUBLE", "GiBy.s"),
    "run.googleapis.com/container/cpu/utilizations": ("DELTA", "DISTRIBUTION", "1"),
    "run.googleapis.com/container/memory/utilizations": ("DELTA", "DISTRIBUTION", "1"),
    "run.googleapis.com/container/max_request_concurrencies": ("DELTA", "DISTRIBUTION", "1"),
    "run.googleapis.com/container/startup_latencies": ("DELTA", "DISTRIBUTION", "ms"),
    "run.googleapis.com/container/network/received_bytes_count": ("DELTA", "INT64", "By"),
    "run.googleapis.com/container/network/sent_bytes_count": ("DELTA", "INT64", "By"),
}


def bucket_options(layout: BucketLayout) -> distribution_pb2.Distribution.BucketOptions:
    opts = distribution_pb2.Distribution.BucketOptions()
    if layout.kind == "linear":
        opts.linear_buckets.num_finite_buckets = layout.num_finite_buckets
        opts.linear_buckets.width = layout.width
        opts.linear_buckets.offset = layout.offset
    elif layout.kind == "exponential":
        opts.exponential_buckets.num_finite_buckets = layout.num_finite_buckets
        opts.exponential_buckets.growth_factor = layout.growth_factor
        opts.exponential_buckets.scale = layout.scale
    else:
        opts.explicit_buckets.bounds.extend(layout.bounds)
    return opts


@dataclass
class MetricGroup:
    """All raw series of one metric type (same kind, value type and unit)."""

    metric_type: str
    kind: str
    value_type: str
    unit: str
    series: list[RawSeries]
    matrix: np.ndarray | None = None  # (n, minutes) float64, NaN = no point (numeric types)
    dists: list[Dist | PackedDist] = field(default_factory=list)  # per series (distributions)
    layouts: list[BucketLayout] = field(default_factory=list)
    options: list[bytes] = field(default_factory=list)  # serialized BucketOptions per series
    projects: list[str] = field(default_factory=list)  # project_id of each series

    @property
    def is_distribution(self) -> bool:
        return self.value_type == "DISTRIBUTION"


@dataclass
class MetricIndex:
    project: str
    project_number: int
    t0: int  # epoch seconds of the window start; raw point i ends at t0 + 60 (i + 1)
    minutes: int
    groups: dict[str, MetricGroup]
    locations: tuple[str, ...]
    # project id or number (as text) -> the project ids whose series a query on it reads (the
    # project itself, or every monitored project for a scoping project)
    scopes: dict[str, frozenset[str]] = field(default_factory=dict)


def metrics_scopes(fleet: FleetData, scoping_project: str = "") -> dict[str, frozenset[str]]:
    """Who sees which series: every project its own; ``scoping_project`` (one of the fleet's
    or another one) every project of the fleet, as a Cloud Monitoring metrics scope does."""
    spec = fleet.spec
    scopes: dict[str, frozenset[str]] = {}
    for pid in spec.projects:
        own = frozenset({pid})
        scopes[pid] = scopes[str(spec.number_of(pid))] = own
    if scoping_project:
        every = frozenset(spec.projects)
        number = (
            spec.number_of(scoping_project)
            if scoping_project in spec.projects
            else derived_project_number(scoping_project)
        )
        scopes[scoping_project] = scopes[str(number)] = every
    return scopes


def build_index(fleet: FleetData, scoping_project: str = "") -> MetricIndex:
    spec = fleet.spec
    by_type: dict[str, list[RawSeries]] = {}
    for s in fleet.series:
        by_type.setdefault(s.metric_type, []).append(s)
    groups: dict[str, MetricGroup] = {}
    for mtype, lst in by_type.items():
        first = lst[0]
        for s in lst:
            if (s.metric_kind, s.value_type, s.unit) != (
                first.metric_kind,
                first.value_type,
                first.unit,
            ):
                raise ValueError(f"series of {mtype} disagree on kind, value type or unit")
        lst = sorted(
            lst, key=lambda s: (sorted(s.resource_labels.items()), sorted(s.metric_labels.items()))
        )
        g = MetricGroup(mtype, first.metric_kind, first.value_type, first.unit, lst)
        g.projects = [s.resource_labels.get("project_id", spec.project) for s in lst]
        if g.is_distribution:
            for s in lst:
                d = s.values
                if isinstance(d, PackedDistributionSeries):
                    g.dists.append(
                        PackedDist(
                            d.rows,
                            d.count,
                            d.mean,
                            d.sum_of_squared_deviation,
                            d.band_lo,
                            d.band,
                            d.layout.num_buckets,
                        )
                    )
                    g.layouts.append(d.layout)
                    g.options.append(bucket_options(d.layout).SerializeToString())
                    continue
                if not isinstance(d, DistributionSeries):
                    raise ValueError(f"{mtype} is DISTRIBUTION but a series holds numbers")
                g.dists.append(
                    Dist(
                        np.asarray(d.count, dtype=np.int64),
                        np.asarray(d.mean, dtype=float),
                        np.asarray(d.sum_of_squared_deviation, dtype=float),
                        np.asarray(d.bucket_counts, dtype=np.int64),
                    )
                )
                g.layouts.append(d.layout)
                g.options.append(bucket_options(d.layout).SerializeToString())
        else:
            rows = []
            for s in lst:
                if not isinstance(s.values, np.ndarray):
                    raise ValueError(f"{mtype} is numeric but a series holds distributions")
                rows.append(np.asarray(s.values, dtype=float))
            g.matrix = np.vstack(rows) if rows else np.zeros((0, spec.minutes))
            for j, s in enumerate(lst):  # share the matrix's memory (same values)
                if isinstance(s.values, np.ndarray) and s.values.dtype == np.float64:
                    s.values = g.matrix[j]
        groups[mtype] = g
    regions = sorted({sv.region for sv in spec.services})
    return MetricIndex(
        project=spec.project,
        project_number=spec.project_number,
        t0=int(spec.start.timestamp()),
        minutes=spec.minutes,
        groups=groups,
        locations=tuple(regions),
        scopes=metrics_scopes(fleet, scoping_project),
    )
