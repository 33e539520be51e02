"""The one seam between the pages and everything else: the pages' API.

The only package importing both streamlit and the collectors. Pages receive view objects; they
never call Google or compute figures, and word what they show with ``presentation`` (this
package hands them data only). The package's rooms:

- ``runtime``: what lives as long as the process (the embedded emulator, the clients, the clock);
- ``configuration``: the settings, read from the environment on first use (not at import);
- ``loaders``: what each view reads, cached in ``st.cache_data`` (through ``memory.cached``);
- ``memory``: errors, last good values, partial results (one policy, outside Streamlit's caches)
  and ``cached``, the one decorator of every cached function;
- ``scoping`` (scope, window), ``views`` (the fleet's), ``service_views`` (one service's)
  and ``costview``: pure builders;
- here: the run's view (``resolve``, from one clock reading) and the cached views per page.

Window ends are rounded to the TTL so reruns hit the cache: a repeated view within the TTL
costs no API call, and concurrent sessions on the same scope share one computation (Streamlit
holds a per-key compute lock).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import scope as scope_mod
from actions.traffic import TrafficCommand as TrafficCommand
from app_data import costview, scoping, service_views, views
from app_data.configuration import Configuration as Configuration
from app_data.configuration import configured as configured
from app_data.configuration import settings as settings
from app_data.costview import CPU_CHOICES as CPU_CHOICES
from app_data.costview import CUD_CHOICES as CUD_CHOICES
from app_data.costview import MEMORY_CHOICES_GIB as MEMORY_CHOICES_GIB
from app_data.costview import CostView as CostView
from app_data.costview import apply_lines as apply_lines
from app_data.loaders import (
    _fleet_view,
    _minute_points,
    canary_points,
    fleet,
    frames_of,
    price_book,
    regions_of,
    totals,
    trend,
)
from app_data.loaders import service_list as service_list
from app_data.loaders import service_project as service_project
from app_data.memory import DataError as DataError
from app_data.memory import _keep, _stale, _view, cached, guarded
from app_data.memory import _memory as _memory
from app_data.memory import expire as expire
from app_data.memory import forget as forget
from app_data.runtime import _EMULATORS as _EMULATORS
from app_data.runtime import Source as Source
from app_data.runtime import clients as clients
from app_data.runtime import emulator_handle as emulator_handle
from app_data.runtime import freeze_heap_once as freeze_heap_once
from app_data.runtime import now as now
from app_data.runtime import source as source
from app_data.service_views import ColdStartsView as ColdStartsView
from app_data.service_views import RevisionsView as RevisionsView
from app_data.views import FleetColdStartsView as FleetColdStartsView
from app_data.views import OverviewView as OverviewView
from app_data.views import TrendView as TrendView
from app_data.views import matching as matching
from collectors import schema
from collectors.schema import Quality as Quality
from costmodel.whatif import SETTING as SETTING  # a what-if setting's keys, the controls' order
from foundation.window import PRESETS, TimeWindow, preset_label
from insights.revisions import Verdict as Verdict
from insights.tuning import labelled as labelled  # the what-if grid's lookups
from insights.tuning import options as options
from insights.tuning import pick as pick
from scope import Scope as Scope
from scope import View as View

WIDGET_KEYS = scope_mod.WIDGET_KEYS
# The window choices with their labels: every preset, then a custom window.
WINDOW_LABELS = {**{name: preset_label(name) for name in PRESETS}, scope_mod.CUSTOM: "custom"}

# ------------------------------------------------------------------ clients, clock, source


def scope_from_query(
    params: Mapping[str, Any], at: datetime | None = None
) -> tuple[Scope, list[str]]:
    return scoping.scope_from_query(params, now() if at is None else at)


def rescope(scope: Scope, at: datetime | None = None, **changes: Any) -> Scope:
    return scoping.rescope(scope, now() if at is None else at, **changes)


def to_query(scope: Scope) -> dict[str, str]:
    return scope_mod.to_query(scope)


def resolve(scope: Scope, at: datetime | None = None) -> View:
    """The run's view: ``scope`` with its window, from one clock reading (``at``, else now)."""
    t = now() if at is None else at
    return View(scope, scoping.window_for(scope, t), t)


def window_of(scope: Scope) -> TimeWindow:
    return resolve(scope).window


def window_label(view: View) -> str:
    return scoping.window_text(view.window)


# ------------------------------------------------------------------ negative cache & stale


# -------------------------------------------------------------------------------- loaders


# ------------------------------------------------------------------------ cached views
# Views are small, so caching them makes a warm rerun cheap (no unpickling of the fleet's
# frames, no recomputation). A view built from stale data is carried out of the cached function
# by an exception, so it is shown but not cached, and the next rerun tries again.


def _view_of(key: tuple[Any, ...]) -> View:
    """The view a cache key (View.key) stands for; its ``at`` is the window's end (the clock
    reading is no part of a key)."""
    project, regions, service, window, w = key
    custom = window == scope_mod.CUSTOM
    s = Scope(
        project=project,
        window=window,
        regions=regions,
        service=service,
        start=w.start if custom else None,
        end=w.end if custom else None,
    )
    return View(s, w, w.end)


@cached
def _overview_trend(key: tuple[Any, ...]) -> views.TrendView:
    v = _view_of(key)
    got, failed = trend(v)
    return _keep(views.build_trend(v.scope, got, v.window, failed))


@cached
def _overview(key: tuple[Any, ...]) -> views.OverviewView:
    v = _view_of(key)
    frames, detail, failed = fleet(v)
    try:
        chart = _view(lambda: _overview_trend(key))
    except DataError as err:  # the table still shows, without its sparklines
        chart = views.build_trend(v.scope, schema.failed(schema.METRIC_POINTS, str(err)), v.window)
    price = price_book()
    return _keep(views.build_overview(v.scope, frames, v.window, detail, chart, price, failed))


@cached
def _revisions(
    key: tuple[Any, ...], selected: tuple[str, ...], stable: str, candidate: str
) -> service_views.RevisionsView:
    v = _view_of(key)
    return _keep(
        service_views.build_revisions(
            v.scope,
            frames_of(v),
            totals(v),
            canary_points(v),
            v.window,
            selected=list(selected),
            book=price_book().book,
            stable=stable,
            candidate=candidate,
        )
    )


@cached
def _cold_starts(key: tuple[Any, ...]) -> service_views.ColdStartsView:
    v = _view_of(key)
    return _keep(
        service_views.build_cold_starts(
            v.scope, frames_of(v), totals(v), v.window, regions=regions_of(v)
        )
    )


def overview_trend(view: View) -> views.TrendView:
    """The overview's chart: read first (one query per project), drawn before the table."""
    return _view(lambda: _overview_trend(_fleet_view(view).key))


def overview(view: View) -> views.OverviewView:
    """The overview's table, "Needs a look" and CSV (with the trend's sparklines)."""
    return _view(lambda: _overview(_fleet_view(view).key))


def revisions(
    view: View, selected: list[str] | None = None, stable: str = "", candidate: str = ""
) -> service_views.RevisionsView | None:
    """The comparison for the view's service; None when the view names no service."""
    if not view.scope.service:
        return None
    sel = tuple(selected or ())
    return _view(lambda: _revisions(view.key, sel, stable, candidate))


@cached
def _fleet_cold_starts(key: tuple[Any, ...]) -> views.FleetColdStartsView:
    v = _view_of(key)
    frames, _detail, failed = fleet(v)
    return _keep(views.build_fleet_cold_starts(v.scope, frames, v.window, failed))


def cold_starts(view: View) -> service_views.ColdStartsView:
    """One service's cold starts, from its logs and metrics (the view names a service)."""
    return _view(lambda: _cold_starts(view.key))


def fleet_cold_starts(view: View) -> views.FleetColdStartsView:
    """Every service's cold starts, from Monitoring alone (the overview's data)."""
    return _view(lambda: _fleet_cold_starts(_fleet_view(view).key))


# ------------------------------------------------------------------------- cost & tuning


@cached
def _whatif(
    key: tuple[Any, ...], region: str, options: costview.Options
) -> tuple[Any, list[str]] | str:
    """The what-if grid and advice, or the reason it cannot be estimated (a cached answer)."""
    v = _view_of(key)
    s, w = v.scope, v.window
    points = _view(lambda: _minute_points(s.project, region, s.service, w)).frame
    try:
        return costview.evaluate(
            frames_of(v),
            points,
            region=region,
            service=s.service,
            start=w.start,
            end=views.observed_window(w).end,
            options=options,
            book=price_book().book,
        )
    except costview.CannotEstimate as exc:
        return str(exc)


@cached
def _cost(key: tuple[Any, ...], region: str, options: costview.Options) -> costview.CostView:
    v = _view_of(key)
    s, w = v.scope, v.window
    frames = frames_of(v)
    regions = costview.service_regions(frames, s.service)
    if not regions:
        failed = costview.config_failure(frames)
        if failed:  # the Admin API failed: say so, not that the service does not exist
            raise DataError(
                f"the cost of {s.service} is unknown because its configuration could not be "
                f"read: {failed}"
            )
        raise DataError(f"no configuration was found for {s.service} in this project")
    region = region if region in regions else regions[0]
    points = guarded(
        ("minute", s.project, region, s.service, w),
        lambda: _minute_points(s.project, region, s.service, w),
        _stale,
        ("minute", s.project, region, s.service, w.span),
    )
    unknown = costview.gaps_of(frames, points, service=s.service, region=region).whatif
    # no what-if from incomplete inputs: build_cost says why instead
    grid = unknown or guarded(
        ("whatif", key, region, options),
        lambda: _whatif(key, region, options),
        lambda v: v,
    )
    return _keep(
        costview.build_cost(
            s,
            frames,
            points,
            grid,
            region=region,
            regions=regions,
            history=s.window,
            start=w.start,
            end=views.observed_window(w).end,
            price=price_book(),
            free_tier=options.free_tier,
            cud=options.cud,
        )
    )


def price_regions() -> list[str]:
    """Every region the run's price book prices (the Cost page's "prices of" choice)."""
    return sorted(price_book().book.region_tiers)


def cost(
    view: View,
    *,
    region: str = "",
    cpu: float | None = None,
    memory_gib: float | None = None,
    free_tier: bool | None = None,
    cud: str = "",
    price_region: str = "",
    min_schedule: str = "",
    schedule_tz: str = "UTC",
    startup_cpu_boost: str = "",
) -> costview.CostView | None:
    """The cost and what-if view of the view's service; None when the view names no service.
    ``price_region``: price the what-if at another region's rates ("" for the service's own);
    ``min_schedule``, ``schedule_tz``, ``startup_cpu_boost``: the current settings with
    scheduled min instances or the boost changed (costview.Options)."""
    if not view.scope.service:
        return None
    hist = costview.cost_history(view.scope, view.window.span)
    learned = view if hist == view.scope else resolve(hist, view.at)  # the same clock reading
    options = costview.Options(
        cpu=cpu,
        memory_gib=memory_gib,
        free_tier=settings().free_tier if free_tier is None else free_tier,
        cud=cud,
        price_region=price_region,
        min_schedule=min_schedule,
        schedule_tz=schedule_tz,
        startup_cpu_boost=startup_cpu_boost,
        boost_startup_percent=settings().boost_startup_percent,
    )
    return _view(lambda: _cost(learned.key, region, options))
