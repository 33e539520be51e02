"""The fleet overview's data: Monitoring aggregates, the configuration, and per-minute detail
only where a figure needs it.

``collect_trend`` reads the overview's chart: a per-service trend at a coarse alignment
(catalog.FLEET_TREND). ``collect_fleet`` reads its table, the same calls whatever the fleet's
size (per project, apart from pages): window totals (one point per revision or service,
catalog.FLEET_TOTALS), the Admin API's services and revisions, and then per-period,
per-revision series for two small sets of services (``detail_services``):

- ``canary``: services splitting traffic between revisions now; the canary verdict compares the
  revisions period by period (catalog.CANARY_DETAIL: request counts and p95/p99 only), at the
  trend's alignment (TimeWindow.trend: 5-min periods over 24 h, 1-hour over 7 d), as a
  service's revisions page reads them;
- ``warm``: services holding min instances; the idle share of their billed time is split minute
  by minute (catalog.COST_DETAIL, with only the rows the cost model reads).

Each set goes into one filter per metric, in groups that keep a filter under FILTER_BUDGET
characters. It reads no logs: cold starts come from the startup-latency sample count.

A part that fails comes back empty and ``partial`` with its message (``FleetBundle.errors``),
the others still show, as in collectors.collect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from collectors import catalog, filters, monitoring, schema, services
from collectors.errors import RunwatchError
from collectors.schema import Result
from foundation import names

if TYPE_CHECKING:
    from datetime import datetime

    from collectors.clients import Clients
    from foundation.window import TimeWindow

# Parts of a fleet collection, in the order FleetBundle.frames holds them.
PARTS = ("totals", "services", "revisions", "traffic", "canary", "warm")
CONFIG_PARTS = ("services", "revisions", "traffic")
DETAIL = {  # part -> (metrics, the rows kept of them)
    "canary": (catalog.CANARY_DETAIL, catalog.CANARY_STATS),
    "warm": (catalog.COST_DETAIL, catalog.COST_STATS),
}
# Characters of one ListTimeSeries filter when services are listed in it. Google publishes no
# limit for ListTimeSeries filters that we could confirm; 2,048 is the documented limit of an
# alert policy's filter, so a group of services stays under it.
FILTER_BUDGET = 2048


@dataclass(frozen=True)
class FleetBundle:
    """Every part of PARTS as a Result (METRIC_POINTS for totals, canary and warm)."""

    frames: dict[str, Result]
    canaries: tuple[str, ...]  # the services whose per-period series are in "canary"
    warm: tuple[str, ...]  # ... in "warm"
    errors: tuple[str, ...] = ()


def detail_services(
    services_: pd.DataFrame, revisions: pd.DataFrame, traffic: pd.DataFrame
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(canaries, warm): services with more than one revision taking traffic now, and services
    holding min instances (by a revision or the service)."""
    live = traffic[traffic["percent"].fillna(0) > 0]
    split = live.groupby("service", observed=True)["revision"].nunique()
    canaries = set(split[split > 1].index)
    warm = set(revisions.loc[revisions["min_instances"].fillna(0) > 0, "service"])
    warm |= set(services_.loc[services_["service_min_instances"].fillna(0) > 0, "service"])
    return tuple(sorted(canaries)), tuple(sorted(warm))


def service_groups(
    metric_type: str,
    services_: Sequence[str],
    regions: Sequence[str] = (),
    projects: Sequence[str] = (),
    budget: int = FILTER_BUDGET,
) -> list[tuple[str, ...]]:
    """``services_`` in groups whose ListTimeSeries filter stays within ``budget`` characters
    (a service whose filter alone is longer still gets its own group)."""
    groups: list[tuple[str, ...]] = []
    current: list[str] = []
    for service in sorted(set(services_)):
        trial = [*current, service]
        text = filters.monitoring_filter(
            metric_type, services=trial, regions=regions, projects=projects
        )
        if current and len(text) > budget:
            groups.append(tuple(current))
            current = [service]
        else:
            current = trial
    if current:
        groups.append(tuple(current))
    return groups


def _failed(names_: Sequence[str], message: str) -> dict[str, Result]:
    return {n: schema.failed(schema.FRAMES.get(n, schema.METRIC_POINTS), message) for n in names_}


def _detail(
    clients: Clients,
    projects: Sequence[str],
    window: TimeWindow,
    base: monitoring.MetricScope,
    wanted: tuple[str, ...],
    part: str,
) -> Result:
    if not wanted:
        return Result(schema.empty(schema.METRIC_POINTS))
    metrics, stats = DETAIL[part]
    longest = max((catalog.spec(m).metric_type for m in metrics), key=len)
    parts: list[Result] = []
    failures: list[str] = []
    for group in service_groups(longest, wanted, base.regions, base.projects):
        scope = monitoring.MetricScope(services=group, regions=base.regions, projects=base.projects)
        try:
            parts.append(
                monitoring.fetch_metrics(clients, projects, window, scope, metrics, stats=stats)
            )
        except RunwatchError as exc:
            failures.append(exc.message)
    if not parts:
        raise RunwatchError(failures[0])
    return schema.joined(parts, schema.METRIC_POINTS, failures)


def in_use(
    clients: Clients,
    projects: Sequence[str],
    end: datetime,
    metrics_project: str = "",
    service: str = "",
) -> tuple[str, ...]:
    """The regions where any of ``projects`` (``service`` of them, when named) ran an instance
    lately (monitoring.active_regions), or () (every region) when one of them shows none: its
    services may be anywhere."""
    found: set[str] = set()
    for project in projects:
        regions = monitoring.active_regions(
            clients, project, end, metrics_project=metrics_project, service=service
        )
        if not regions:
            return ()
        found.update(regions)
    return tuple(sorted(found))


def _metric_scope(
    projects: Sequence[str], regions: Sequence[str], metrics_project: str
) -> tuple[list[str], tuple[str, ...], list[str], monitoring.MetricScope]:
    """(project ids, region ids, the projects Monitoring is asked in, the scope of its queries):
    the scoping project, filtered to ``projects`` by their project_id label, when one is set.
    Bad names raise foundation.names.InvalidName before any call."""
    project_ids = [names.project(p) for p in dict.fromkeys(projects)]
    region_ids = tuple(sorted({names.region(r) for r in regions}))
    if metrics_project:
        scope = monitoring.MetricScope(regions=region_ids, projects=tuple(project_ids))
        return project_ids, region_ids, [names.project(metrics_project)], scope
    return project_ids, region_ids, project_ids, monitoring.MetricScope(regions=region_ids)


def collect_trend(
    clients: Clients,
    projects: Sequence[str],
    window: TimeWindow,
    regions: Sequence[str] = (),
    *,
    metrics_project: str = "",
) -> Result:
    """The overview's chart: each service's request count per period at the trend's alignment
    (TimeWindow.trend; catalog.FLEET_TREND), one query per project (or through the metrics
    scope's project): the first thing the overview draws, before its table is read."""
    _, _, metric_projects, mscope = _metric_scope(projects, regions, metrics_project)
    return monitoring.fetch_metrics(
        clients, metric_projects, window.trend(), mscope, catalog.FLEET_TREND
    )


def collect_fleet(
    clients: Clients,
    projects: Sequence[str],
    window: TimeWindow,
    regions: Sequence[str] = (),
    *,
    metrics_project: str = "",
) -> FleetBundle:
    """The overview's table data for ``projects`` and ``regions`` (empty: every region) in
    ``window`` (its chart: collect_trend).

    ``metrics_project``: a scoping project whose metrics scope holds ``projects``: Monitoring is
    asked there (filtered to ``projects`` by their project_id label), the Admin API per project.
    Bad names raise foundation.names.InvalidName before any call. The window totals are read
    while the configuration and then the detail it calls for are: the detail waits only for
    the configuration.
    """
    project_ids, region_ids, metric_projects, mscope = _metric_scope(
        projects, regions, metrics_project
    )

    def totals() -> dict[str, Result]:
        whole = window.settled().whole()  # complete periods only: totals that will not grow
        got = monitoring.fetch_metrics(
            clients, metric_projects, whole, mscope, catalog.FLEET_TOTALS
        )
        return {"totals": got}

    def config() -> dict[str, Result]:
        cfg = services.fetch_config(
            clients,
            project_ids,
            regions=region_ids or in_use(clients, project_ids, window.end, metrics_project),
        )
        return dict(cfg.frames())

    def detail(name: str, wanted: tuple[str, ...]) -> dict[str, Result]:
        w = window.trend() if name == "canary" else window
        return {name: _detail(clients, metric_projects, w, mscope, wanted, name)}

    frames: dict[str, Result] = {}
    errors: list[str] = []

    def settle(part: Sequence[str], job: Callable[[], dict[str, Result]]) -> None:
        try:
            frames.update(job())
        except RunwatchError as exc:
            errors.append(exc.message)
            frames.update(_failed(part, exc.message))

    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="runwatch-fleet") as pool:
        totals_future = pool.submit(totals)
        settle(CONFIG_PARTS, pool.submit(config).result)
        canaries, warm = detail_services(
            frames["services"].frame, frames["revisions"].frame, frames["traffic"].frame
        )
        details = {n: pool.submit(detail, n, s) for n, s in (("canary", canaries), ("warm", warm))}
        settle(("totals",), totals_future.result)
        for name, future in details.items():
            settle((name,), future.result)
    return FleetBundle({n: frames[n] for n in PARTS}, canaries, warm, tuple(errors))
