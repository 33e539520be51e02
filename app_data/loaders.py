"""The dashboard's loaders: what each view reads from Google (or the emulator), cached in
``st.cache_data`` (app_data.memory.cached: the settings' TTL, fixed ``max_entries``) and guarded
by app_data.memory.

The overview (and the fleet-wide cold starts) read collectors.fleet per project; a service's
pages read that service's per-minute series, logs and configuration (collectors.collect with a
service filter); the sidebar reads the Admin API's listing of services.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pandas as pd

from app_data import costview, views
from app_data.configuration import settings
from app_data.memory import (
    DataError,
    _keep_last_good,
    _stale,
    _stale_frames,
    _unless_partial,
    cached,
    guarded,
    remembered,
)
from app_data.runtime import clients, now, release_memory
from collectors import catalog, monitoring, schema, skus
from collectors import collect as collect_mod
from collectors import fleet as fleet_mod
from collectors import services as services_mod
from collectors.errors import RunwatchError
from collectors.schema import Result
from costmodel import prices, sku_book
from foundation.window import TimeWindow, floor_to
from scope import Scope, View


@cached
def _catalog_book() -> sku_book.CatalogBook:
    """Cloud Run's prices from the Cloud Billing Catalog (one or two ListSkus calls a TTL)."""
    read_at = sku_book.read_at(now())
    return sku_book.book_from_skus(skus.fetch_skus(clients()), prices.load(), read_at=read_at)


def price_book() -> sku_book.PriceSource:
    """The prices of every cost figure on every page: the catalog's, each line it could not
    give kept from the bundled book (and said); the bundled book, with why, when the catalog
    cannot be read (remembered for the error TTL, then tried again)."""
    try:
        got = guarded(("price_book",), _catalog_book, lambda v: v)
    except DataError as err:
        return sku_book.unreadable(str(err))
    return got.source


@cached
def _collect(
    projects: tuple[str, ...], regions: tuple[str, ...], service: str, w: TimeWindow
) -> dict[str, Result]:
    """Per-period frames, lifecycle events and configuration of one service (a service's pages;
    "" would read every service, which no page does any more: the fleet's pages read
    collectors.fleet)."""
    mscope = monitoring.MetricScope(services=(service,) if service else (), regions=regions)
    bundle = collect_mod.collect(
        clients(), list(projects), w, mscope, settings=settings(), metrics=catalog.SERVICE_VIEW
    )
    frames = dict(bundle.frames)
    if bundle.errors and all(r.frame.empty for r in frames.values()):
        raise RunwatchError(bundle.errors[0])
    return _unless_partial(frames)


@cached
def _fleet(
    project: str, regions: tuple[str, ...], w: TimeWindow
) -> tuple[dict[str, Result], views.FleetDigest]:
    """One project's overview data: Monitoring's aggregates (through the metrics scope's
    project when one is set) and the configuration (collectors.fleet), with the per-minute
    detail read into a digest and dropped (the cache keeps only what the overview shows)."""
    bundle = fleet_mod.collect_fleet(
        clients(), [project], w, regions, metrics_project=settings().metrics_scope_project
    )
    if bundle.errors and all(r.frame.empty for r in bundle.frames.values()):
        raise RunwatchError(bundle.errors[0])
    frames = dict(bundle.frames)
    detail = views.digest(frames, w, bundle.warm, price_book().book)
    for part in ("canary", "warm"):  # the raw series: read, not kept (their quality stays)
        frames[part] = replace(frames[part], frame=frames[part].frame.iloc[:0])
    del bundle
    release_memory()
    return _unless_partial((frames, detail))


@cached
def _trend(project: str, regions: tuple[str, ...], w: TimeWindow) -> Result:
    """One project's overview chart: each service's requests per period (collectors.fleet)."""
    got = fleet_mod.collect_trend(
        clients(), [project], w, regions, metrics_project=settings().metrics_scope_project
    )
    return _unless_partial(got)


@cached
def _totals(
    projects: tuple[str, ...], regions: tuple[str, ...], service: str, w: TimeWindow
) -> Result:
    """Distributions merged over the whole window (one period): exact window percentiles."""
    mscope = monitoring.MetricScope(services=(service,) if service else (), regions=regions)
    whole = w.whole()
    return _unless_partial(
        monitoring.fetch_metrics(clients(), list(projects), whole, mscope, catalog.WINDOW_TOTALS)
    )


@cached
def _canary(
    projects: tuple[str, ...], regions: tuple[str, ...], service: str, w: TimeWindow
) -> Result:
    """One service's request counts and p95/p99 per revision at the trend's alignment: what
    the canary verdict compares (the overview reads the same for its canary services)."""
    mscope = monitoring.MetricScope(services=(service,), regions=regions)
    return _unless_partial(
        monitoring.fetch_metrics(
            clients(),
            list(projects),
            w.trend(),
            mscope,
            catalog.CANARY_DETAIL,
            stats=catalog.CANARY_STATS,
        )
    )


@cached
def _minute_points(project: str, region: str, service: str, w: TimeWindow) -> Result:
    """One-minute points of one service: what the replay needs (the fleet view may be coarser)."""
    minute = TimeWindow(w.start, w.end, 60, w.end)
    mscope = monitoring.MetricScope(services=(service,), regions=(region,))
    return _unless_partial(
        monitoring.fetch_metrics(clients(), [project], minute, mscope, costview.COST_METRICS)
    )


@cached
def _service_regions(projects: tuple[str, ...], service: str, end: datetime) -> tuple[str, ...]:
    """Where ``service`` ran an instance in the 30 days before ``end`` (one Monitoring call per
    project, filtered to the service: the same cost whatever the fleet's size); () if nowhere."""
    metrics_project = settings().metrics_scope_project
    return fleet_mod.in_use(clients(), projects, end, metrics_project, service=service)


def _where_ran(projects: tuple[str, ...], service: str, end: datetime) -> tuple[str, ...]:
    """_service_regions at the hour of ``end``, guarded like every other load."""
    hour = floor_to(end, 3600)  # a 30-day look back: the hour is fine enough
    key = ("service-regions", projects, service, hour)
    return guarded(key, lambda: _service_regions(projects, service, hour), lambda v: v)


def regions_of(view: View) -> tuple[str, ...]:
    """The scope's regions, or, for a service with no region chosen, the regions it ran in
    lately (Monitoring, for that service alone), else those the Admin API's listing places it
    in (a service without an instance in 30 days), so its configuration is read there only,
    not in every region."""
    scope = view.scope
    if scope.regions or not scope.service:
        return scope.regions
    active = _where_ran(projects_of(scope), scope.service, view.window.end)
    if active:
        return active
    try:
        listed = service_list(view)
    except DataError:
        return ()
    return tuple(sorted(set(listed.loc[listed["service"] == scope.service, "location"])))


def service_project(view: View, service: str) -> str:
    """The project of ``service`` among the view's projects: the first where it ran an
    instance in the last 30 days (Monitoring, that service alone, one project at a time: the
    same calls whatever the fleet's size, and the ones its pages then reuse for its regions),
    else the first the Admin API's listing places it in (a service idle for 30 days); "" when
    neither knows it."""
    for project in projects_of(view.scope):
        try:
            if _where_ran((project,), service, view.window.end):
                return project
        except DataError:  # that project could not be read: its pages will say so
            continue
    try:
        listed = service_list(view)
    except DataError:
        return ""
    owners = listed.loc[listed["service"] == service, "project_id"]
    return str(owners.iloc[0]) if len(owners) else ""


def projects_of(scope: Scope) -> tuple[str, ...]:
    """The projects a scope covers: its own, or every watched one."""
    return (scope.project,) if scope.project else settings().watched_projects


def frames_of(view: View) -> dict[str, Result]:
    """Per-period frames for the scope's service (every service when it names none) in its
    project, regions and window."""
    scope, w = view.scope, view.window
    regions = regions_of(view)
    projects = projects_of(scope)
    key = ("frames", projects, regions, scope.service, w)
    lasting = (projects, regions, scope.service, w.span, w.alignment_s)
    frames = guarded(
        key,
        lambda: _collect(projects, regions, scope.service, w),
        _stale_frames,
        ("frames", *lasting),
    )
    # the last good frames per view (same project, regions, window length), whatever the end
    return _keep_last_good(("last", *lasting), frames)


def _fleet_keys(
    project: str, regions: tuple[str, ...], w: TimeWindow
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """One project's overview data's key (this very window) and view (its length)."""
    return ("fleet", project, regions, w), ("fleet", project, regions, w.span, w.alignment_s)


def _fleet_of(
    project: str, regions: tuple[str, ...], w: TimeWindow
) -> tuple[dict[str, Result], views.FleetDigest]:
    """One project's overview data, guarded: its failure is its own (served stale when it was
    loaded before), and a frame that failed keeps its last good value."""
    key, view = _fleet_keys(project, regions, w)

    def stale(value: tuple[dict[str, Result], views.FleetDigest]) -> Any:
        return _stale_frames(value[0]), value[1]

    frames, detail = guarded(key, lambda: _fleet(project, regions, w), stale, view)
    return _keep_last_good(("last-fleet", *view[1:]), frames), detail


def fleet(view: View) -> tuple[dict[str, Result], views.FleetDigest, dict[str, str]]:
    """The overview's data over the view's projects and regions (every service): the frames
    of every project that could be read, joined; what their per-minute detail gave; and, per
    project that could not be read at all, why."""
    scope, w = view.scope, view.window
    parts: list[dict[str, Result]] = []
    digests: list[views.FleetDigest] = []
    failed: dict[str, str] = {}
    projects = projects_of(scope)
    # one project after the other, each in its own guard: in parallel they saved little (the
    # decoding holds the interpreter) and raised the peak memory by half
    for project in projects:
        try:
            frames, detail = _fleet_of(project, scope.regions, w)
        except DataError as err:
            if len(projects) == 1:
                raise
            failed[project] = str(err)
            continue
        parts.append(frames)
        digests.append(detail)
    if not parts:
        raise DataError("; ".join(f"{p}: {m}" for p, m in failed.items()))
    joined = parts[0] if len(parts) == 1 else views.join_frames(parts)
    return joined, views.FleetDigest.joined(digests), failed


def _trend_of(project: str, regions: tuple[str, ...], w: TimeWindow) -> Result:
    """One project's overview chart, guarded: its failure is its own (served stale when it was
    loaded before)."""
    key = ("trend", project, regions, w)
    lasting = ("trend", project, regions, w.span, w.alignment_s)
    return guarded(key, lambda: _trend(project, regions, w), _stale, lasting)


def trend(view: View) -> tuple[Result, dict[str, str]]:
    """The overview's chart data over the view's projects and regions (every service), each
    project guarded on its own like ``fleet``'s: the projects' trends joined, and per project
    that could not be read, why."""
    scope, w = view.scope, view.window
    parts: list[Result] = []
    failed: dict[str, str] = {}
    projects = projects_of(scope)
    for project in projects:
        try:
            parts.append(_trend_of(project, scope.regions, w))
        except DataError as err:
            if len(projects) == 1:
                raise
            failed[project] = str(err)
    if not parts:
        raise DataError("; ".join(f"{p}: {m}" for p, m in failed.items()))
    if len(parts) == 1:
        return parts[0], failed
    return schema.joined(parts, schema.METRIC_POINTS), failed


def totals(view: View) -> Result:
    scope, w = view.scope, view.window
    projects = projects_of(scope)
    key = ("totals", projects, scope.regions, scope.service, w)
    lasting = ("totals", projects, scope.regions, scope.service, w.span, w.alignment_s)
    return guarded(key, lambda: _totals(projects, scope.regions, scope.service, w), _stale, lasting)


def canary_points(view: View) -> Result:
    """The view's service's canary series (see _canary), guarded like its other frames."""
    scope, w = view.scope, view.window
    regions = regions_of(view)
    projects = projects_of(scope)
    key = ("canary", projects, regions, scope.service, w)
    lasting = ("canary", projects, regions, scope.service, w.span, w.alignment_s)
    try:
        return guarded(key, lambda: _canary(projects, regions, scope.service, w), _stale, lasting)
    except DataError as err:  # the verdict says it is unknown; the rest of the page shows
        return schema.failed(schema.METRIC_POINTS, str(err))


def _fleet_view(view: View) -> View:
    """The view without its service (the fleet's data serves every service)."""
    return replace(view, scope=replace(view.scope, service="", revisions=()))


@cached
def _listing(projects: tuple[str, ...], regions: tuple[str, ...], end: datetime) -> Result:
    """The services of the projects (the Admin API's listing alone: no revisions, and one
    Monitoring call to learn where they run), for the sidebar: a service's own pages do not
    read the fleet's metrics."""
    metrics_project = settings().metrics_scope_project
    where = regions or fleet_mod.in_use(clients(), projects, end, metrics_project)
    listed = services_mod.fetch_config(
        clients(), list(projects), regions=where, with_revisions=False
    )
    if listed.services.frame.empty and not listed.services.quality.complete:
        raise RunwatchError("; ".join(listed.services.quality.reasons))
    return _unless_partial(listed.services)


def service_list(view: View) -> Any:
    """project/location/service of every service in the view's projects and regions, sorted,
    from the Admin API's listing (the overview's table also shows services that have metrics
    in the window but no configuration any more)."""
    scope = view.scope
    projects = projects_of(scope)
    end = view.window.end
    known = _listed_by_the_overview(view)
    if known is not None:
        frame = known
    else:
        key = ("listing", projects, scope.regions, end)
        lasting = ("listing", projects, scope.regions)
        listed = guarded(key, lambda: _listing(projects, scope.regions, end), _stale, lasting)
        frame = listed.frame
    frame = frame[["project_id", "location", "service"]]
    return frame.sort_values(["service", "location"]).reset_index(drop=True)


def _listed_by_the_overview(view: View) -> Any | None:
    """The services every project's overview data of this very view holds, when the overview
    read them (completely) in this run or less than the cache TTL ago: the sidebar's listing
    then asks the Admin API nothing more. None otherwise (never loads)."""
    scope, w = view.scope, view.window
    parts = []
    for project in projects_of(scope):
        got = remembered(*_fleet_keys(project, scope.regions, w))
        if got is None or not got[0]["services"].quality.complete:
            return None
        parts.append(got[0]["services"].frame)
    return pd.concat(parts, ignore_index=True) if parts else None
