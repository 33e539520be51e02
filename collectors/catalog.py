"""MetricSpec table: every Cloud Run metric runwatch reads, and how it is queried.

Metric types, kinds and units: docs/facts.md, Metrics. Every query aligns per series and
reduces across series on the server, grouped by location, service and revision (plus the metric
label that matters: ``response_code_class`` for request counts, ``state`` for instance counts
and concurrencies), so one request per metric per project covers every service.

Distributions are fetched with ALIGN_DELTA + REDUCE_SUM: Monitoring merges the histograms of a
revision's series per period, and collectors.distributions computes percentiles, mean and count
from the buckets (one request gives every percentile, instead of one request per percentile).

Short names (METRIC_POINTS.metric) are the metric type after ``run.googleapis.com/`` with
``container/`` dropped and ``/`` turned into ``_`` (``container/cpu/allocation_time`` ->
``cpu_allocation_time``).

``stats`` are the rows produced per aligned point (METRIC_POINTS.stat):
numeric metrics give ``value``; distributions give any of count, mean, p50, p95, p99, max.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.cloud.monitoring_v3 import Aggregation

Aligner = Aggregation.Aligner
Reducer = Aggregation.Reducer

PREFIX = "run.googleapis.com/"
BY_REVISION = (
    "resource.label.location",
    "resource.label.service_name",
    "resource.label.revision_name",
)


@dataclass(frozen=True)
class MetricSpec:
    short: str  # METRIC_POINTS.metric
    metric_type: str
    kind: str  # DELTA | GAUGE (of the raw metric)
    value_type: str  # INT64 | DOUBLE | DISTRIBUTION (of the raw metric)
    unit: str  # METRIC_POINTS.unit
    aligner: int  # Aggregation.Aligner (an IntEnum)
    reducer: int  # Aggregation.Reducer
    group_by: tuple[str, ...]
    stats: tuple[str, ...]
    state_label: str = ""  # metric label copied to METRIC_POINTS.state
    class_label: str = ""  # metric label copied to METRIC_POINTS.response_class
    default: bool = True  # part of ALL (the dashboard's standard fetch)

    @property
    def is_distribution(self) -> bool:
        return self.value_type == "DISTRIBUTION"


def _sum(short: str, suffix: str, kind: str, value_type: str, unit: str) -> MetricSpec:
    return MetricSpec(
        short,
        PREFIX + suffix,
        kind,
        value_type,
        unit,
        Aligner.ALIGN_DELTA,
        Reducer.REDUCE_SUM,
        BY_REVISION,
        ("value",),
    )


def _dist(short: str, suffix: str, unit: str, stats: tuple[str, ...], **kw: str) -> MetricSpec:
    label = kw.get("state_label", "")
    group = (*BY_REVISION, f"metric.label.{label}") if label else BY_REVISION
    return MetricSpec(
        short,
        PREFIX + suffix,
        "DELTA",
        "DISTRIBUTION",
        unit,
        Aligner.ALIGN_DELTA,
        Reducer.REDUCE_SUM,
        group,
        stats,
        state_label=label,
    )


PCTS = ("p50", "p95", "p99")

CATALOG: tuple[MetricSpec, ...] = (
    MetricSpec(
        "request_count",
        PREFIX + "request_count",
        "DELTA",
        "INT64",
        "1",
        Aligner.ALIGN_DELTA,
        Reducer.REDUCE_SUM,
        (*BY_REVISION, "metric.label.response_code_class"),
        ("value",),
        class_label="response_code_class",
    ),
    _dist("request_latencies", "request_latencies", "ms", (*PCTS, "mean", "count")),
    # Mean instances per period (instance-seconds / period); per state, summed over series.
    MetricSpec(
        "instance_count",
        PREFIX + "container/instance_count",
        "GAUGE",
        "INT64",
        "1",
        Aligner.ALIGN_MEAN,
        Reducer.REDUCE_SUM,
        (*BY_REVISION, "metric.label.state"),
        ("value",),
        state_label="state",
    ),
    _sum("billable_instance_time", "container/billable_instance_time", "DELTA", "DOUBLE", "s"),
    _sum("cpu_allocation_time", "container/cpu/allocation_time", "DELTA", "DOUBLE", "s"),
    _sum("memory_allocation_time", "container/memory/allocation_time", "DELTA", "DOUBLE", "GiBy.s"),
    _dist("cpu_utilizations", "container/cpu/utilizations", "1", (*PCTS, "mean")),
    _dist("memory_utilizations", "container/memory/utilizations", "1", (*PCTS, "mean")),
    _dist(
        "max_request_concurrencies",
        "container/max_request_concurrencies",
        "1",
        (*PCTS, "max", "mean"),
        state_label="state",
    ),
    _dist("startup_latencies", "container/startup_latencies", "ms", ("count", *PCTS, "mean")),
)

# Service-level histograms (merged across revisions), for exact service percentiles; fetched
# over the whole window by the dashboard, not part of the standard per-period fetch. A metric
# with an instance state keeps it apart (max concurrent requests: an idle instance serves none,
# and its zeros would pull an active instance's percentiles down).
BY_SERVICE = BY_REVISION[:2]
SERVICE_LEVEL = (
    "request_latencies",
    "startup_latencies",
    "cpu_utilizations",
    "memory_utilizations",
    "max_request_concurrencies",
)
CATALOG += tuple(
    MetricSpec(
        f"{base.short}_service",
        base.metric_type,
        base.kind,
        base.value_type,
        base.unit,
        base.aligner,
        base.reducer,
        (*BY_SERVICE, f"metric.label.{base.state_label}") if base.state_label else BY_SERVICE,
        base.stats,
        state_label=base.state_label,
        default=False,
    )
    for base in CATALOG
    if base.short in SERVICE_LEVEL
)

# Fleet-level startup histogram (all services in the query's scope merged), for exact fleet
# startup percentiles on the cold-start page.
CATALOG += (
    MetricSpec(
        "startup_latencies_fleet",
        PREFIX + "container/startup_latencies",
        "DELTA",
        "DISTRIBUTION",
        "ms",
        Aligner.ALIGN_DELTA,
        Reducer.REDUCE_SUM,
        (),
        ("count", *PCTS, "mean"),
        default=False,
    ),
)

# Fleet-level queries (the overview): Monitoring sums per service, or gives one point per
# revision over the whole window, so the overview's data grows with the number of revisions,
# never with their minutes.
CATALOG += (
    # requests per service (every response class summed), at the trend's coarse alignment
    MetricSpec(
        "request_count_service",
        PREFIX + "request_count",
        "DELTA",
        "INT64",
        "1",
        Aligner.ALIGN_DELTA,
        Reducer.REDUCE_SUM,
        BY_SERVICE,
        ("value",),
        default=False,
    ),
    # the sum of a revision's once-a-minute instance samples: instance-minutes per state (a
    # minute without a sample had no instance), so the window's mean counts idle stretches as 0
    MetricSpec(
        "instance_minutes",
        PREFIX + "container/instance_count",
        "GAUGE",
        "INT64",
        "1",
        Aligner.ALIGN_SUM,
        Reducer.REDUCE_SUM,
        (*BY_REVISION, "metric.label.state"),
        ("value",),
        state_label="state",
        default=False,
    ),
    # the most instances a revision had in any minute, per state
    MetricSpec(
        "instance_peak",
        PREFIX + "container/instance_count",
        "GAUGE",
        "INT64",
        "1",
        Aligner.ALIGN_MAX,
        Reducer.REDUCE_SUM,
        (*BY_REVISION, "metric.label.state"),
        ("value",),
        state_label="state",
        default=False,
    ),
)

# Where a project runs services: the most instances per location over a long lookback (one
# point per region). The Admin API is then asked in those regions only, not in every region
# Cloud Run offers.
CATALOG += (
    MetricSpec(
        "instance_regions",
        PREFIX + "container/instance_count",
        "GAUGE",
        "INT64",
        "1",
        Aligner.ALIGN_MAX,
        Reducer.REDUCE_MAX,
        ("resource.label.location",),
        ("value",),
        default=False,
    ),
)

BY_SHORT: dict[str, MetricSpec] = {spec.short: spec for spec in CATALOG}
ALL: tuple[str, ...] = tuple(spec.short for spec in CATALOG if spec.default)


def spec(short: str) -> MetricSpec:
    try:
        return BY_SHORT[short]
    except KeyError:
        raise KeyError(f"unknown metric {short!r}: known are {', '.join(BY_SHORT)}") from None


# The dashboard's fleet fetch: what its fleet pages chart (utilization and concurrency
# distributions are fetched per service for the cost model only: they would double the fleet
# frame's size for no chart).
FLEET_VIEW: tuple[str, ...] = (
    "request_count",
    "request_latencies",
    "instance_count",
    "billable_instance_time",
    "cpu_allocation_time",
    "memory_allocation_time",
    "startup_latencies",
)
# A service's pages: the above, and the utilization and concurrency distributions its revisions
# page charts (one service's series: a few more queries, each filtered by the service).
SERVICE_VIEW: tuple[str, ...] = (
    *FLEET_VIEW,
    "cpu_utilizations",
    "memory_utilizations",
    "max_request_concurrencies",
)
# Distributions merged over a whole window (one period), per revision and per service: exact
# window percentiles.
WINDOW_TOTALS: tuple[str, ...] = (
    "request_latencies",
    "startup_latencies",
    "request_latencies_service",
    "startup_latencies_service",
    "startup_latencies_fleet",
)

# The overview's window totals: one point per revision (or per service) over the whole window.
# Requests, billed and allocated time per revision (the cost of a revision without min
# instances is linear in them), instance-minutes and peaks, service-level and fleet-level merged
# histograms (the fleet's cold-start page reads them too).
FLEET_TOTALS: tuple[str, ...] = (
    "request_count",
    "billable_instance_time",
    "cpu_allocation_time",
    "memory_allocation_time",
    "instance_minutes",
    "instance_peak",
    "request_latencies_service",
    "startup_latencies_service",
    "startup_latencies_fleet",
    "cpu_utilizations_service",
    "memory_utilizations_service",
    "max_request_concurrencies_service",
)
# The overview's trend: requests per service at a coarse alignment (window.trend_alignment).
FLEET_TREND: tuple[str, ...] = ("request_count_service",)

# Per-minute detail the overview reads for a few services only (collectors.fleet), with only
# the rows its figures use: the canary verdict compares request counts and tail latencies; the
# idle share of a min-instance revision's cost is split from its billed and allocated time,
# requests, instances, mean latency and startups.
CANARY_DETAIL: tuple[str, ...] = ("request_count", "request_latencies")
CANARY_STATS: dict[str, tuple[str, ...]] = {"request_latencies": ("p95", "p99")}
COST_DETAIL: tuple[str, ...] = FLEET_VIEW
COST_STATS: dict[str, tuple[str, ...]] = {
    "request_latencies": ("mean",),
    "startup_latencies": ("count", "mean"),
}
