"""Cloud Monitoring ListTimeSeries -> METRIC_POINTS frames, with server-side aggregation.

Pure half: ``build_request(spec, project, window, scope)`` turns a catalog entry, a project, a
TimeWindow and a MetricScope into a typed ``ListTimeSeriesRequest`` (no I/O).

Thin half: ``fetch_metrics`` sends one request per metric per project (the scope's services,
revisions and regions go into the filter, never into more calls), in parallel on a small thread
pool, pages through each response with collectors.rpc (a failure on page N keeps pages
1..N-1), collects every page's ``execution_errors``, and converts points to rows
(collectors/metric_rows.py: how numeric and distribution points, missing periods and pending
points become METRIC_POINTS rows).

If every request fails, the first error is raised (a RunwatchError with a user-facing
message, so the caller can serve stale data); if some fail, the result is ``partial``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from google.cloud import monitoring_v3

from collectors import catalog, filters, rpc
from collectors.catalog import MetricSpec
from collectors.clients import Clients
from collectors.errors import RunwatchError
from collectors.metric_rows import execution_errors, to_frame
from collectors.schema import METRIC_POINTS, Quality, Result, empty, joined
from foundation import names
from foundation.window import TimeWindow, floor_to

MAX_WORKERS = 8


@dataclass(frozen=True)
class MetricScope:
    """What to restrict a metric query to; empty tuples mean "all"."""

    services: tuple[str, ...] = ()
    revisions: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    # monitored projects to keep, when the query names a scoping project (a metrics scope)
    projects: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "projects", tuple(sorted({names.project(p) for p in self.projects}))
        )
        object.__setattr__(
            self, "services", tuple(sorted({names.service(s) for s in self.services}))
        )
        object.__setattr__(
            self, "revisions", tuple(sorted({names.revision(r) for r in self.revisions}))
        )
        object.__setattr__(self, "regions", tuple(sorted({names.region(r) for r in self.regions})))

    @classmethod
    def of(cls, scope: object | None) -> MetricScope:
        """From a MetricScope, None (everything) or a dashboard ``scope.Scope``.

        A dashboard Scope contributes its service and regions; its ``revisions`` are a page's
        selection for display and deliberately do not narrow the query (one cached result
        serves every selection).
        """
        if scope is None:
            return cls()
        if isinstance(scope, MetricScope):
            return scope
        service = getattr(scope, "service", "") or ""
        regions = tuple(getattr(scope, "regions", ()) or ())
        return cls(services=(service,) if service else (), regions=regions)


# --------------------------------------------------------------------------------- pure half


def build_request(
    spec: MetricSpec,
    project: str,
    window: TimeWindow,
    scope: MetricScope | None = None,
    *,
    page_size: int = 0,
) -> monitoring_v3.ListTimeSeriesRequest:
    """The ListTimeSeriesRequest for one metric, one project, one window and scope.

    ``page_size`` 0 lets Monitoring choose (up to 100,000 points a page).
    """
    scope = scope or MetricScope()
    names.project(project)
    return monitoring_v3.ListTimeSeriesRequest(
        name=f"projects/{project}",
        filter=filters.monitoring_filter(
            spec.metric_type,
            services=scope.services,
            revisions=scope.revisions,
            regions=scope.regions,
            projects=scope.projects,
        ),
        interval=monitoring_v3.TimeInterval(start_time=window.start, end_time=window.end),
        aggregation=monitoring_v3.Aggregation(
            alignment_period=timedelta(seconds=window.alignment_s),
            per_series_aligner=spec.aligner,
            cross_series_reducer=spec.reducer,
            group_by_fields=list(spec.group_by),
        ),
        view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL,
        page_size=page_size,
    )


# --------------------------------------------------------------------------------- thin half


def fetch_one(
    clients: Clients,
    spec: MetricSpec,
    project: str,
    window: TimeWindow,
    scope: MetricScope,
    *,
    page_size: int = 0,
) -> Result:
    """One metric for one project: all its pages, converted; partial if a page failed."""
    what = f"{spec.short} in {project}"
    request = build_request(spec, project, window, scope, page_size=page_size)
    paged = clients.pages(
        rpc.LIST_TIME_SERIES, clients.monitoring.list_time_series, request, what=what
    )
    if paged.error is not None and not paged.pages:
        raise paged.error
    quality = paged.quality()
    errors = execution_errors(paged.pages, what)
    if errors:
        quality = quality.merge(Quality("partial", errors))
    try:
        frame = to_frame(paged.pages, spec, project, window)
    except ValueError as exc:  # a malformed response (e.g. a distribution without buckets)
        raise RunwatchError(f"{what}: the response could not be read: {exc}") from None
    return Result(frame, quality)


def fetch_metrics(
    clients: Clients,
    projects: Sequence[str],
    window: TimeWindow,
    scope: object | None = None,
    metrics: Sequence[str] = catalog.ALL,
    *,
    max_workers: int = MAX_WORKERS,
    page_size: int = 0,
    stats: Mapping[str, tuple[str, ...]] | None = None,
) -> Result:
    """METRIC_POINTS for ``metrics`` x ``projects``: one request chain each, run in parallel.

    ``stats``: per metric, the rows to keep of each point (a subset of its spec's stats, e.g.
    only the mean of a distribution): the same query, fewer rows.

    Names are validated up front (InvalidName before any call). Raises the first RunwatchError
    when nothing at all came back; otherwise failures make the result partial.
    """
    mscope = MetricScope.of(scope)
    project_ids = [names.project(p) for p in dict.fromkeys(projects)]
    specs = [catalog.spec(m) for m in dict.fromkeys(metrics)]
    for i, spec in enumerate(specs):
        wanted = (stats or {}).get(spec.short)
        if wanted is not None:
            unknown = set(wanted) - set(spec.stats)
            if unknown:
                raise ValueError(f"{spec.short} has no stats {sorted(unknown)}")
            specs[i] = replace(spec, stats=tuple(wanted))
    jobs = [(spec, project) for project in project_ids for spec in specs]
    if not jobs:
        return Result(empty(METRIC_POINTS))
    for spec, project in jobs:  # fail fast on bad input, before any RPC
        build_request(spec, project, window, mscope)
    workers = max(1, min(max_workers, len(jobs)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="runwatch-mon") as pool:
        futures = [
            pool.submit(fetch_one, clients, s, p, window, mscope, page_size=page_size)
            for s, p in jobs
        ]
        outcomes: list[Result | RunwatchError] = []
        for future in futures:
            try:
                outcomes.append(future.result())
            except RunwatchError as exc:
                outcomes.append(exc)
    results = [o for o in outcomes if isinstance(o, Result)]
    failures = [o for o in outcomes if isinstance(o, RunwatchError)]
    if not results:
        raise failures[0]
    return joined(results, METRIC_POINTS, [f.message for f in failures])


REGION_LOOKBACK = timedelta(days=30)


def active_regions(
    clients: Clients,
    project: str,
    end: datetime,
    *,
    metrics_project: str = "",
    service: str = "",
) -> tuple[str, ...]:
    """The regions where ``project`` (``service`` of it, when named) had an instance in the
    REGION_LOOKBACK before ``end`` (one ListTimeSeries call, one point per region); () when none
    or when the call failed (the caller then lists every region). A service that ran no
    instance in that time is not seen: its region is found only if another service ran there
    (or, for a named service, not at all)."""
    names.project(project)
    services = (names.service(service),) if service else ()
    start = end - REGION_LOOKBACK
    span_s = int(REGION_LOOKBACK.total_seconds())
    lookback = TimeWindow(floor_to(start, 60), floor_to(start, 60) + REGION_LOOKBACK, span_s)
    scope = MetricScope(services=services, projects=(project,) if metrics_project else ())
    try:
        found = fetch_metrics(
            clients, [metrics_project or project], lookback, scope, ("instance_regions",)
        )
    except RunwatchError:
        return ()
    if not found.quality.complete:
        return ()
    regions = {str(r) for r in found.frame["location"] if r}
    return tuple(sorted(names.region(r) for r in regions))


__all__ = [
    "MetricScope",
    "RunwatchError",
    "active_regions",
    "build_request",
    "fetch_metrics",
    "fetch_one",
    "to_frame",
]
