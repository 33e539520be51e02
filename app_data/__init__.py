"""The one seam between the pages and everything else, and the one place caching lives.

The only package importing both streamlit and the collectors. Clients (and, in demo mode, the
embedded emulator) live in this module, outside Streamlit's caches; frames and views in
``st.cache_data`` with fixed TTLs and ``max_entries``. Window ends are rounded to the TTL so
reruns hit the cache: a repeated view within the TTL costs no API call, and concurrent sessions
on the same scope share one computation (Streamlit holds a per-key compute lock). Streamlit
does not cache errors, so a short negative cache remembers them for RUNWATCH_ERROR_TTL_S, and
the last good result is served marked stale. Pages receive view objects; they never call Google
or compute figures.

Submodules: ``base`` (settings, scope, window), ``views`` and ``costview`` (pure builders).
"""

from __future__ import annotations

import gc
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import streamlit as st

import scope as scope_mod
from app_data import base, costview, views
from app_data.base import CONFIG_ERROR as CONFIG_ERROR
from app_data.base import SETTINGS as SETTINGS
from app_data.base import DataError as DataError
from app_data.base import Source as Source
from app_data.costview import CPU_CHOICES as CPU_CHOICES
from app_data.costview import CUD_CHOICES as CUD_CHOICES
from app_data.costview import MEMORY_CHOICES_GIB as MEMORY_CHOICES_GIB
from app_data.costview import CostView as CostView
from app_data.costview import calibration_caption as calibration_caption
from app_data.costview import observed_caption as observed_caption
from app_data.views import matching as matching
from collectors import collect as collect_mod
from collectors import fleet as fleet_mod
from collectors import monitoring, names
from collectors import services as services_mod
from collectors.calls import RunwatchError
from collectors.clients import Clients, from_settings
from collectors.schema import Quality as Quality
from collectors.schema import Result
from collectors.window import InvalidWindow, TimeWindow
from insights.revisions import CARD_METRICS as CARD_METRICS  # display helpers for the pages
from insights.revisions import VERDICT_METHOD as VERDICT_METHOD
from insights.revisions import card_caption as card_caption
from insights.revisions import card_header as card_header
from insights.revisions import card_value as card_value
from insights.tuning import delta_text as delta_text
from insights.tuning import dollars as dollars
from insights.tuning import labelled as labelled
from insights.tuning import options as options
from insights.tuning import per_day as per_day
from insights.tuning import pick as pick
from scope import Scope as Scope
from scope import View as View

T = TypeVar("T")
TTL = SETTINGS.cache_ttl_s
SCOPE_KEYS = scope_mod.WIDGET_KEYS
MAX = base.MAX_ENTRIES
MONEY_COLUMNS = {
    col: st.column_config.NumberColumn(col.replace("_", " "), format="$%.2f")
    for col in ("cpu", "memory", "requests_cost", "idle_min", "total", "monthly_total")
}

# ------------------------------------------------------------------ clients, clock, source


# Streamlit's caches are not the place for what must live as long as the process: any viewer
# can send Streamlit's clear-cache message over the websocket, which empties st.cache_data and
# st.cache_resource for every session. A cached emulator would then be started again (the old
# one kept serving, each a few hundred MB) and every view collected again. So the emulator, the
# clients, the error and last-good memory live in this module, created once under a lock.
_PROCESS_LOCK = threading.Lock()
_EMULATORS: dict[tuple[Any, ...], Any] = {}
_CLIENTS: dict[str, Clients] = {}


def _emulator(
    project: str,
    days: int,
    seed: int,
    services: int | None,
    projects: tuple[str, ...],
    scoping: str,
) -> Any:
    key = (project, days, seed, services, projects, scoping)
    with _PROCESS_LOCK:
        emu = _EMULATORS.get(key)
        if emu is None:
            import emulator  # demo mode only: the emulator is the embedded default data source

            with st.spinner("Starting the demo fleet (a few seconds, once)…"):
                emu = emulator.start(
                    now=datetime.now(UTC),
                    days=days,
                    seed=seed,
                    project=project,
                    services=services,
                    projects=projects or None,
                    scoping_project=scoping,
                )
            _EMULATORS[key] = emu
        return emu


def emulator_handle() -> Any | None:
    """The embedded emulator (demo mode without RUNWATCH_EMULATOR_ADDRESS), else None."""
    if SETTINGS.is_demo and not SETTINGS.emulator_address:
        s = SETTINGS
        home = s.demo_projects[0] if s.demo_projects else s.demo_project
        return _emulator(
            home,
            s.demo_days,
            s.demo_seed,
            s.demo_services,
            s.demo_projects,
            s.metrics_scope_project,
        )
    return None


_FROZEN = threading.Event()
_FREEZING = threading.Lock()


def freeze_heap_once() -> None:
    """After the first full run: collect, then move every object alive to the collector's
    permanent generation (gc.freeze), once per process.

    The modules, the clients and (in demo mode) the simulated fleet are ~0.4 million objects
    that live as long as the process. Left in the collector's oldest generation, each full
    collection walked them all: a 0.2-0.3 s pause holding the GIL about once per page load.
    Frozen, a collection walks only what runs allocate. Garbage made later is collected as
    usual.
    """
    if _FROZEN.is_set():
        return
    with _FREEZING:
        if _FROZEN.is_set():
            return
        gc.collect()
        gc.freeze()
        _FROZEN.set()


def _clients(address: str) -> Clients:
    with _PROCESS_LOCK:
        built = _CLIENTS.get(address)
        if built is None:
            built = _CLIENTS[address] = from_settings(SETTINGS, address)
        return built


def clients() -> Clients:
    emu = emulator_handle()
    return _clients(emu.address if emu is not None else SETTINGS.emulator_address)


def now() -> datetime:
    """The clock the dashboard reads (the only place): the demo fleet's end in demo mode."""
    emu = emulator_handle()
    if emu is not None:
        return emu.fleet.spec.end  # type: ignore[no-any-return]
    return datetime.now(UTC)


@st.cache_resource(ttl=3600)
def _identity() -> str:
    """Who the dashboard runs as (metadata server on Cloud Run), for tracing a missing role."""
    from collectors.identity import runtime_identity

    found = runtime_identity(timeout_s=1.0)
    return found.describe() if found else "identity: Application Default Credentials"


def source() -> Source:
    if SETTINGS.is_demo:
        where = SETTINGS.emulator_address or "embedded emulator"
        detail = f"simulated fleet ({where}), data until {now():%H:%M} UTC"
        return Source("Demo", detail, SETTINGS.watched_projects)
    return Source("Live", f"Google Cloud APIs · {_identity()}", SETTINGS.watched_projects)


def scope_from_query(
    params: Mapping[str, Any], at: datetime | None = None
) -> tuple[Scope, list[str]]:
    return base.scope_from_query(params, now() if at is None else at)


def rescope(scope: Scope, at: datetime | None = None, **changes: Any) -> Scope:
    return base.rescope(scope, now() if at is None else at, **changes)


def to_query(scope: Scope) -> dict[str, str]:
    return scope_mod.to_query(scope)


def resolve(scope: Scope, at: datetime | None = None) -> View:
    """The run's view: ``scope`` with its window, from one clock reading (``at``, else now)."""
    t = now() if at is None else at
    return View(scope, base.window_for(scope, t), t)


def window_of(scope: Scope) -> TimeWindow:
    return resolve(scope).window


def window_label(view: View) -> str:
    return base.window_text(view.window)


# ------------------------------------------------------------------ negative cache & stale


@dataclass
class _Memory:
    """Errors (negative cache), the last good value per view and when it was loaded, for the
    process (see above: a clear of Streamlit's caches must not forget them)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: dict[tuple[Any, ...], tuple[float, str]] = field(default_factory=dict)
    good: OrderedDict[tuple[Any, ...], Any] = field(default_factory=OrderedDict)
    # the exact key each view's last good value was loaded for, and when (time.monotonic())
    loaded: dict[tuple[Any, ...], tuple[tuple[Any, ...], float]] = field(default_factory=dict)
    # partial results (kept out of st.cache_data) by key, until the error TTL runs out
    partial: dict[tuple[Any, ...], tuple[float, Any]] = field(default_factory=dict)

    def forget(self) -> None:
        with self.lock:
            self.errors.clear()
            self.good.clear()
            self.loaded.clear()
            self.partial.clear()

    def expire(self) -> None:
        with self.lock:
            self.loaded.clear()
            self.partial.clear()


_MEMORY = _Memory()


def _memory() -> _Memory:
    return _MEMORY


def forget() -> None:
    """Forget every remembered error and result: the next view loads afresh (tests, and the
    only way to drop results that are still fresh; Streamlit's clear-cache does not)."""
    _MEMORY.forget()


def expire() -> None:
    """Treat every remembered result as older than the TTL (kept as the last good one)."""
    _MEMORY.expire()


def guarded(
    key: tuple[Any, ...],
    load: Callable[[], T],
    stale: Callable[[T], T],
    view: tuple[Any, ...] | None = None,
) -> T:
    """Run ``load``; on a RunwatchError remember it briefly and serve the last good value,
    passed through ``stale`` (which marks it stale), or raise DataError with the message.

    ``view`` keys the last good value (default ``key``): a window's length rather than its end,
    so a refresh that fails just after the window moved on still shows the previous one. A value
    loaded for this very ``key`` less than the cache TTL ago is returned without loading: when
    Streamlit's caches were cleared (by any viewer, over the websocket), nothing is fetched
    again before it would have expired anyway."""
    mem = _memory()
    view = key if view is None else view
    with mem.lock:
        loaded = mem.loaded.get(view)
        recent = loaded is not None and loaded[0] == key and time.monotonic() - loaded[1] < TTL
        if recent and view in mem.good:
            return mem.good[view]  # type: ignore[no-any-return]
        partial = mem.partial.get(key)
        if partial is not None and partial[0] > time.monotonic():
            return partial[1]  # type: ignore[no-any-return]
        failed = mem.errors.get(key)
        if failed and failed[0] > time.monotonic():
            last = mem.good.get(view)
            if last is not None:
                return stale(last)
            raise DataError(failed[1])
    try:
        value = load()
    except _Uncached as kept:  # a partial result: shown, retried once the error TTL ran out
        with mem.lock:
            mem.partial[key] = (time.monotonic() + SETTINGS.error_ttl_s, kept.value)
            for k in [k for k, (until, _) in mem.partial.items() if until <= time.monotonic()]:
                del mem.partial[k]
        return kept.value  # type: ignore[no-any-return]
    except (RunwatchError, InvalidWindow, names.InvalidName) as exc:
        with mem.lock:
            mem.errors[key] = (time.monotonic() + SETTINGS.error_ttl_s, str(exc))
            last = mem.good.get(view)
        if last is not None:
            return stale(last)
        raise DataError(str(exc)) from None
    with mem.lock:
        mem.good[view] = value
        mem.good.move_to_end(view)
        if _fresh(value):
            mem.loaded[view] = (key, time.monotonic())
        else:
            mem.loaded.pop(view, None)
        while len(mem.good) > MAX:
            dropped, _ = mem.good.popitem(last=False)
            mem.loaded.pop(dropped, None)
        mem.errors.pop(key, None)
    return value


def _statuses(value: Any) -> set[str]:
    """The quality statuses of a loaded value: a Result, a dict of them (alone or first in a
    tuple), or anything else (a grid, a list: complete)."""
    if isinstance(value, tuple) and value and isinstance(value[0], dict):
        value = value[0]
    results = value.values() if isinstance(value, dict) else (value,)
    return {getattr(getattr(r, "quality", None), "status", "complete") for r in results}


def _fresh(value: Any) -> bool:
    """Whether a loaded value is complete enough to serve again for the TTL without loading:
    neither partial nor stale (truncated is a setting's cap: the same query would be truncated
    again)."""
    return _statuses(value) <= {"complete", "truncated"}


def _stale(result: Result) -> Result:
    note = "showing the last good data: the latest refresh failed"
    return replace(result, quality=result.quality.merge(Quality("stale", (note,))))


def _stale_frames(frames: dict[str, Result]) -> dict[str, Result]:
    return {k: _stale(r) for k, r in frames.items()}


def _keep_last_good(key: tuple[Any, ...], frames: dict[str, Result]) -> dict[str, Result]:
    """Replace a frame whose collector failed outright (empty and partial) by its last good
    one for the same view, marked stale: a failed refresh loses nothing already shown."""
    mem = _memory()
    out = dict(frames)
    with mem.lock:
        last: dict[str, Result] = mem.good.get(key, {})
        for name, result in frames.items():
            failed = result.frame.empty and result.quality.status == "partial"
            if failed and name in last:
                note = f"showing earlier data: {'; '.join(result.quality.reasons)}"
                out[name] = replace(last[name], quality=Quality("stale", (note,)))
            elif not failed:
                last = {**last, name: result}
        mem.good[key] = last
    return out


# -------------------------------------------------------------------------------- loaders


@st.cache_data(ttl=TTL, max_entries=MAX, show_spinner=False)
def _collect(
    projects: tuple[str, ...], regions: tuple[str, ...], service: str, w: TimeWindow
) -> dict[str, Result]:
    """Per-period frames, lifecycle events and configuration of one service ("": every service,
    for the fleet-wide cold-start page)."""
    mscope = monitoring.MetricScope(services=(service,) if service else (), regions=regions)
    bundle = collect_mod.collect(
        clients(), list(projects), w, mscope, settings=SETTINGS, metrics=base.FLEET_METRICS
    )
    frames = dict(bundle.frames)
    if bundle.errors and all(r.frame.empty for r in frames.values()):
        raise RunwatchError(bundle.errors[0])
    return _unless_partial(frames)


@st.cache_data(ttl=TTL, max_entries=MAX, show_spinner=False)
def _fleet(
    project: str, regions: tuple[str, ...], w: TimeWindow
) -> tuple[dict[str, Result], views.FleetDigest]:
    """One project's overview data: Monitoring's aggregates (through the metrics scope's
    project when one is set) and the configuration (collectors.fleet), with the per-minute
    detail read into a digest and dropped (the cache keeps only what the overview shows)."""
    bundle = fleet_mod.collect_fleet(
        clients(), [project], w, regions, metrics_project=SETTINGS.metrics_scope_project
    )
    if bundle.errors and all(r.frame.empty for r in bundle.frames.values()):
        raise RunwatchError(bundle.errors[0])
    frames = dict(bundle.frames)
    detail = views.digest(frames, w, bundle.warm)
    for part in ("canary", "warm"):  # the raw series: read, not kept (their quality stays)
        frames[part] = replace(frames[part], frame=frames[part].frame.iloc[:0])
    return _unless_partial((frames, detail))


def _unless_partial(value: T) -> T:
    """``value``, or raise it out of the cached loader when partial: st.cache_data would keep a
    partial result for the whole TTL; guarded() keeps it for the error TTL instead."""
    if "partial" in _statuses(value):
        raise _Uncached(value)
    return value


@st.cache_data(ttl=TTL, max_entries=MAX, show_spinner=False)
def _totals(
    projects: tuple[str, ...], regions: tuple[str, ...], service: str, w: TimeWindow
) -> Result:
    """Distributions merged over the whole window (one period): exact window percentiles."""
    mscope = monitoring.MetricScope(services=(service,) if service else (), regions=regions)
    whole = w.whole()
    return _unless_partial(
        monitoring.fetch_metrics(clients(), list(projects), whole, mscope, base.TOTAL_METRICS)
    )


@st.cache_data(ttl=TTL, max_entries=MAX, show_spinner=False)
def _minute_points(project: str, region: str, service: str, w: TimeWindow) -> Result:
    """One-minute points of one service: what the replay needs (the fleet view may be coarser)."""
    minute = TimeWindow(w.start, w.end, 60, w.end)
    mscope = monitoring.MetricScope(services=(service,), regions=(region,))
    return _unless_partial(
        monitoring.fetch_metrics(clients(), [project], minute, mscope, costview.COST_METRICS)
    )


def _regions_of(view: View) -> tuple[str, ...]:
    """The scope's regions, or, for a service with no region chosen, the regions the fleet's
    data places it in (so its configuration is read there only, not in every region)."""
    scope = view.scope
    if scope.regions or not scope.service:
        return scope.regions
    try:
        listed = service_list(view)
    except DataError:
        return ()
    return tuple(sorted(set(listed.loc[listed["service"] == scope.service, "location"])))


def projects_of(scope: Scope) -> tuple[str, ...]:
    """The projects a scope covers: its own, or every watched one."""
    return (scope.project,) if scope.project else SETTINGS.watched_projects


def frames_of(view: View) -> dict[str, Result]:
    """Per-period frames for the scope's service (every service when it names none) in its
    project, regions and window."""
    scope, w = view.scope, view.window
    regions = _regions_of(view)
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


def _fleet_of(
    project: str, regions: tuple[str, ...], w: TimeWindow
) -> tuple[dict[str, Result], views.FleetDigest]:
    """One project's overview data, guarded: its failure is its own (served stale when it was
    loaded before), and a frame that failed keeps its last good value."""
    key = ("fleet", project, regions, w)
    view = ("fleet", project, regions, w.span, w.alignment_s)

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
    outcomes: list[Any] = []
    for project in projects:
        try:
            outcomes.append(_fleet_of(project, scope.regions, w))
        except DataError as err:
            if len(projects) == 1:
                raise
            outcomes.append(err)
    for project, outcome in zip(projects, outcomes, strict=True):
        if isinstance(outcome, DataError):
            failed[project] = str(outcome)
            continue
        frames, detail = outcome
        parts.append(frames)
        digests.append(detail)
    if not parts:
        raise DataError("; ".join(f"{p}: {m}" for p, m in failed.items()))
    joined = parts[0] if len(parts) == 1 else views.join_frames(parts)
    return joined, views.FleetDigest.joined(digests), failed


def totals(view: View) -> Result:
    scope, w = view.scope, view.window
    projects = projects_of(scope)
    key = ("totals", projects, scope.regions, scope.service, w)
    lasting = ("totals", projects, scope.regions, scope.service, w.span, w.alignment_s)
    return guarded(key, lambda: _totals(projects, scope.regions, scope.service, w), _stale, lasting)


# ------------------------------------------------------------------------ cached views
# Views are small, so caching them makes a warm rerun cheap (no unpickling of the fleet's
# frames, no recomputation). A view built from stale data is carried out of the cached function
# by an exception, so it is shown but not cached, and the next rerun tries again.


class _Uncached(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__("not cached")
        self.value = value


def _keep(view: T) -> T:
    if not views.fresh(view):
        raise _Uncached(view)
    return view


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


@st.cache_data(ttl=TTL, max_entries=MAX, show_spinner=False)
def _overview(key: tuple[Any, ...]) -> views.OverviewView:
    v = _view_of(key)
    frames, detail, failed = fleet(v)
    return _keep(views.build_overview(v.scope, frames, v.window, detail, failed))


@st.cache_data(ttl=TTL, max_entries=MAX, show_spinner=False)
def _revisions(
    key: tuple[Any, ...], selected: tuple[str, ...], stable: str, candidate: str
) -> views.RevisionsView:
    v = _view_of(key)
    return _keep(
        views.build_revisions(
            v.scope,
            frames_of(v),
            totals(v),
            v.window,
            selected=list(selected),
            stable=stable,
            candidate=candidate,
        )
    )


@st.cache_data(ttl=TTL, max_entries=MAX, show_spinner=False)
def _cold_starts(key: tuple[Any, ...]) -> views.ColdStartsView:
    v = _view_of(key)
    return _keep(views.build_cold_starts(v.scope, frames_of(v), totals(v), v.window))


def _view(load: Callable[[], T]) -> T:
    try:
        return load()
    except _Uncached as kept:
        return kept.value  # type: ignore[no-any-return]


def _fleet_view(view: View) -> View:
    """The view without its service (the fleet's data serves every service)."""
    return replace(view, scope=replace(view.scope, service="", revisions=()))


def overview(view: View) -> views.OverviewView:
    return _view(lambda: _overview(_fleet_view(view).key))


def revisions(
    view: View, selected: list[str] | None = None, stable: str = "", candidate: str = ""
) -> views.RevisionsView | None:
    """The comparison for the view's service; None when the view names no service."""
    if not view.scope.service:
        return None
    sel = tuple(selected or ())
    return _view(lambda: _revisions(view.key, sel, stable, candidate))


@st.cache_data(ttl=TTL, max_entries=MAX, show_spinner=False)
def _fleet_cold_starts(key: tuple[Any, ...]) -> views.FleetColdStartsView:
    v = _view_of(key)
    frames, _detail, failed = fleet(v)
    return _keep(views.build_fleet_cold_starts(v.scope, frames, v.window, failed))


def cold_starts(view: View) -> views.ColdStartsView:
    """One service's cold starts, from its logs and metrics (the view names a service)."""
    return _view(lambda: _cold_starts(view.key))


def fleet_cold_starts(view: View) -> views.FleetColdStartsView:
    """Every service's cold starts, from Monitoring alone (the overview's data)."""
    return _view(lambda: _fleet_cold_starts(_fleet_view(view).key))


# ------------------------------------------------------------------------- cost & tuning


@st.cache_data(ttl=TTL, max_entries=MAX, show_spinner=False)
def _whatif(
    key: tuple[Any, ...],
    region: str,
    cpu: float | None,
    memory_gib: float | None,
    free_tier: bool,
    cud: str,
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
            end=w.end,
            cpu=cpu,
            memory_gib=memory_gib,
            free_tier=free_tier,
            cud=cud,
        )
    except costview.CannotEstimate as exc:
        return str(exc)


@st.cache_data(ttl=TTL, max_entries=MAX, show_spinner=False)
def _cost(
    key: tuple[Any, ...],
    region: str,
    cpu: float | None,
    memory_gib: float | None,
    free_tier: bool,
    cud: str,
) -> costview.CostView:
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
        ("whatif", key, region, cpu, memory_gib, free_tier, cud),
        lambda: _whatif(key, region, cpu, memory_gib, free_tier, cud),
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
            end=w.end,
        )
    )


def cost(
    view: View,
    *,
    region: str = "",
    cpu: float | None = None,
    memory_gib: float | None = None,
    free_tier: bool | None = None,
    cud: str = "",
) -> costview.CostView | None:
    """The cost and what-if view of the view's service; None when the view names no service."""
    if not view.scope.service:
        return None
    hist = costview.cost_history(view.scope, view.window.span)
    learned = view if hist == view.scope else resolve(hist, view.at)  # the same clock reading
    free = SETTINGS.free_tier if free_tier is None else free_tier
    return _view(lambda: _cost(learned.key, region, cpu, memory_gib, free, cud))


@st.cache_data(ttl=TTL, max_entries=MAX, show_spinner=False)
def _listing(projects: tuple[str, ...], regions: tuple[str, ...]) -> Result:
    """The services of the projects (the Admin API's listing alone: no metrics, no revisions),
    for the sidebar: a service's own pages do not read the fleet's metrics."""
    listed = services_mod.fetch_config(
        clients(), list(projects), regions=regions, with_revisions=False
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
    key = ("listing", projects, scope.regions)
    listed = guarded(key, lambda: _listing(projects, scope.regions), _stale)
    frame = listed.frame[["project_id", "location", "service"]]
    return frame.sort_values(["service", "location"]).reset_index(drop=True)
