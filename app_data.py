"""The one seam between the pages and everything else: cached loaders and their TTLs.

The only module importing both streamlit and the collectors. Clients (and, in demo mode, the
embedded emulator) live in ``st.cache_resource``; frames in ``st.cache_data`` with fixed TTLs
and ``max_entries``. Windows are rounded so reruns hit the cache, so a repeated view within the
TTL costs no API call and concurrent sessions on the same scope share one computation
(Streamlit holds a per-key compute lock). Errors are not cached by Streamlit, so a short negative
cache remembers them for RUNWATCH_ERROR_TTL_S, and the last good result is served marked stale.
Pages receive plain frames and view objects; they never call Google or compute figures.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

import config
import scope as scope_mod
from collectors import collect as collect_mod
from collectors import names
from collectors.calls import RunwatchError
from collectors.clients import Clients, from_settings
from collectors.schema import Quality, Result
from collectors.window import InvalidWindow, TimeWindow, floor_to
from insights.revisions import CARD_METRICS as CARD_METRICS  # display helpers for the pages
from insights.revisions import VERDICT_METHOD as VERDICT_METHOD
from insights.revisions import card_caption as card_caption
from insights.revisions import card_header as card_header
from insights.revisions import card_value as card_value
from insights.tuning import delta_text as delta_text
from insights.tuning import dollars as dollars
from insights.tuning import labelled as labelled
from insights.tuning import options as options
from insights.tuning import pick as pick
from scope import Scope

T = TypeVar("T")

try:
    SETTINGS = config.load()
    CONFIG_ERROR = ""
except config.ConfigError as exc:  # shown on every page; the defaults keep the app drawable
    SETTINGS = config.load({})
    CONFIG_ERROR = str(exc)

MAX_ENTRIES = 32
# What the fleet pages use (utilization and concurrency distributions are left to the cost
# page's one-service fetch: they would double the fleet frame's size for no chart).
FLEET_METRICS = (
    "request_count",
    "request_latencies",
    "instance_count",
    "billable_instance_time",
    "cpu_allocation_time",
    "memory_allocation_time",
    "startup_latencies",
)


class DataError(Exception):
    """A load failed and there is no earlier result to show; the message is for the user."""


# ------------------------------------------------------------------------- clients & source


@st.cache_resource(show_spinner="Starting the demo fleet (a few seconds, once)…")
def _emulator(project: str, days: int, seed: int) -> Any:
    import emulator  # demo mode only: the emulator is the embedded default data source

    return emulator.start(now=datetime.now(UTC), days=days, seed=seed, project=project)


def emulator_handle() -> Any | None:
    """The embedded emulator (demo mode without RUNWATCH_EMULATOR_ADDRESS), else None."""
    if SETTINGS.is_demo and not SETTINGS.emulator_address:
        return _emulator(SETTINGS.demo_project, SETTINGS.demo_days, SETTINGS.demo_seed)
    return None


@st.cache_resource
def _clients(address: str) -> Clients:
    return from_settings(SETTINGS, address)


def clients() -> Clients:
    emu = emulator_handle()
    return _clients(emu.address if emu is not None else SETTINGS.emulator_address)


def now() -> datetime:
    """The clock the dashboard reads (the only place): the demo fleet's end in demo mode."""
    emu = emulator_handle()
    if emu is not None:
        return emu.fleet.spec.end  # type: ignore[no-any-return]
    return datetime.now(UTC)


@dataclass(frozen=True)
class Source:
    label: str  # "Demo" | "Live"
    detail: str
    projects: tuple[str, ...]


@st.cache_resource(ttl=3600)
def _identity() -> str:
    """Who the dashboard runs as (metadata server on Cloud Run), for tracing a missing role."""
    from collectors.identity import runtime_identity

    found = runtime_identity(timeout_s=1.0)
    return found.describe() if found else "identity: Application Default Credentials"


def source() -> Source:
    if SETTINGS.is_demo:
        where = SETTINGS.emulator_address or "embedded emulator"
        return Source(
            "Demo",
            f"simulated fleet ({where}), data until {now():%H:%M} UTC",
            SETTINGS.watched_projects,
        )
    return Source("Live", f"Google Cloud APIs · {_identity()}", SETTINGS.watched_projects)


# --------------------------------------------------------------------------- scope & window


def scope_from_query(params: Mapping[str, Any]) -> tuple[Scope, list[str]]:
    return scope_mod.from_query(
        params,
        projects=SETTINGS.watched_projects,
        default_window=SETTINGS.default_window,
        now=now(),
    )


def to_query(scope: Scope) -> dict[str, str]:
    return scope_mod.to_query(scope)


def window_of(scope: Scope) -> TimeWindow:
    """The scope's window, its end rounded down to the metrics TTL so reruns share a cache key."""
    clock = now()
    if scope.window == scope_mod.CUSTOM and scope.start and scope.end:
        return TimeWindow.custom(scope.start, scope.end)
    step = max(60, min(SETTINGS.metrics_ttl_s, 3600) // 60 * 60)
    rounded = floor_to(clock, step)
    return TimeWindow.preset(scope.window, rounded)


def valid_service(name: str) -> str:
    return names.service(name)


# ------------------------------------------------------------------ negative cache & stale


@dataclass
class _Memory:
    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: dict[tuple[Any, ...], tuple[float, str]] = field(default_factory=dict)
    good: OrderedDict[tuple[Any, ...], Any] = field(default_factory=OrderedDict)


@st.cache_resource
def _memory() -> _Memory:
    return _Memory()


def guarded(key: tuple[Any, ...], load: Callable[[], T], stale: Callable[[T], T]) -> T:
    """Run ``load``; on a RunwatchError remember it briefly and serve the last good value,
    passed through ``stale`` (which marks it stale), or raise DataError with the message."""
    mem = _memory()
    with mem.lock:
        failed = mem.errors.get(key)
        if failed and failed[0] > time.monotonic():
            message = failed[1]
            last = mem.good.get(key)
            if last is not None:
                return stale(last)
            raise DataError(message)
    try:
        value = load()
    except (RunwatchError, InvalidWindow, names.InvalidName) as exc:
        with mem.lock:
            mem.errors[key] = (time.monotonic() + SETTINGS.error_ttl_s, str(exc))
            last = mem.good.get(key)
        if last is not None:
            return stale(last)
        raise DataError(str(exc)) from None
    with mem.lock:
        mem.good[key] = value
        mem.good.move_to_end(key)
        while len(mem.good) > MAX_ENTRIES:
            mem.good.popitem(last=False)
        mem.errors.pop(key, None)
    return value


def _stale_bundle(frames: dict[str, Result]) -> dict[str, Result]:
    note = "showing the last good data: the latest refresh failed"
    return {
        k: replace(r, quality=r.quality.merge(Quality("stale", (note,)))) for k, r in frames.items()
    }


# -------------------------------------------------------------------------------- loaders


@st.cache_data(ttl=SETTINGS.metrics_ttl_s, max_entries=MAX_ENTRIES, show_spinner=False)
def _collect(
    project: str,
    regions: tuple[str, ...],
    start: datetime,
    end: datetime,
    alignment_s: int,
    pending_after: datetime | None,
) -> dict[str, Result]:
    window = TimeWindow(start, end, alignment_s, pending_after)
    scope = collect_mod.monitoring.MetricScope(regions=regions)
    bundle = collect_mod.collect(
        clients(), [project], window, scope, settings=SETTINGS, metrics=FLEET_METRICS
    )
    frames = dict(bundle.frames)
    if bundle.errors and all(r.frame.empty for r in frames.values()):
        raise RunwatchError(bundle.errors[0])
    return frames


TOTAL_METRICS = (
    "request_latencies",
    "startup_latencies",
    "request_latencies_service",
    "startup_latencies_service",
)


@st.cache_data(ttl=SETTINGS.metrics_ttl_s, max_entries=MAX_ENTRIES, show_spinner=False)
def _totals(project: str, regions: tuple[str, ...], start: datetime, end: datetime) -> Result:
    """Distributions merged over the whole window (one period): exact window percentiles."""
    window = TimeWindow(start, end, 60).whole()
    scope = collect_mod.monitoring.MetricScope(regions=regions)
    return collect_mod.monitoring.fetch_metrics(clients(), [project], window, scope, TOTAL_METRICS)


def totals(scope: Scope) -> Result:
    w = window_of(scope)
    key = ("totals", scope.project, scope.regions, w.start, w.end)
    return guarded(
        key,
        lambda: _totals(scope.project, scope.regions, w.start, w.end),
        lambda r: _stale_bundle({"t": r})["t"],
    )


def fleet_frames(scope: Scope) -> dict[str, Result]:
    """Every frame for the scope's project, regions and window (all services: one cached
    result serves every service and revision selection, so switching costs no call).

    A collector that failed outright (an empty, partial frame) is replaced by its last good
    frame for the same key, marked stale: a failed refresh loses nothing already shown."""
    w = window_of(scope)
    key = ("fleet", scope.project, scope.regions, w.start, w.end, w.alignment_s)
    frames = guarded(
        key,
        lambda: _collect(
            scope.project, scope.regions, w.start, w.end, w.alignment_s, w.pending_after
        ),
        _stale_bundle,
    )
    # last good per view (same project, regions, window length), whatever its end time
    return _keep_last_good(("frames", scope.project, scope.regions, w.span, w.alignment_s), frames)


def _keep_last_good(key: tuple[Any, ...], frames: dict[str, Result]) -> dict[str, Result]:
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


def quality_of(frames: Mapping[str, Result], *names_: str) -> Quality:
    q = Quality()
    for n in names_ or tuple(frames):
        q = q.merge(frames[n].quality)
    return q


def services_in(frames: Mapping[str, Result]) -> pd.DataFrame:
    """project/location/service of every service in the configuration or the metrics."""
    cfg = frames["services"].frame[["project_id", "location", "service"]]
    seen = frames["metric_points"].frame[["project_id", "location", "service"]]
    both = pd.concat([cfg, seen]).drop_duplicates().sort_values(["service", "location"])
    return both.reset_index(drop=True)


def window_seconds(scope: Scope) -> float:
    w = window_of(scope)
    return (w.end - w.start).total_seconds()


def window_label(scope: Scope) -> str:
    w = window_of(scope)
    return (
        f"{w.start:%Y-%m-%d %H:%M} – {w.end:%Y-%m-%d %H:%M} UTC, {w.alignment_s // 60}-min points"
    )


def period_s(scope: Scope) -> int:
    return window_of(scope).alignment_s


def timedelta_label(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


def rescope(scope: Scope, **changes: Any) -> Scope:
    """The scope with sidebar choices applied, validated like a deep link (bad input dropped)."""
    merged = {**to_query(scope), **{k: v for k, v in changes.items() if k not in ("start", "end")}}
    merged["region"] = ",".join(changes.get("regions", scope.regions))
    merged.pop("regions", None)
    if changes.get("service", scope.service) != scope.service:
        merged.pop("rev", None)  # a new service: its own revisions by default
    if merged.get("window") == scope_mod.CUSTOM:
        for k in ("start", "end"):
            t = changes.get(k) or getattr(scope, k)
            if t is not None:
                merged[k] = t.isoformat()
    new, _ = scope_from_query({k: v for k, v in merged.items() if v})
    return new


# ------------------------------------------------------------------------------- views


@dataclass(frozen=True)
class OverviewView:
    table: pd.DataFrame  # insights.overview.COLUMNS
    attention: list[str]  # plain lines: what needs a look
    request_trend: pd.DataFrame  # per service and period: requests/s
    quality: Quality
    window_s: float
    period_s: int


def _scoped(df: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    if df.empty:
        return df
    mask = pd.Series(True, index=df.index)
    if scope.service and "service" in df:
        mask &= df["service"] == scope.service
    if scope.regions and "location" in df:
        mask &= df["location"].isin(scope.regions)
    return df.loc[mask]


def _build_overview(scope: Scope) -> OverviewView:
    from costmodel import observed
    from insights import overview as ov

    frames = fleet_frames(scope)
    w = window_of(scope)
    f = {k: _scoped(r.frame, scope) for k, r in frames.items()}
    costs = observed.service_costs(
        observed.observed_costs(
            f["metric_points"], f["revisions"], start=w.start, end=w.end, period_s=w.alignment_s
        )
    )
    window_s = (w.end - w.start).total_seconds()
    tot = _scoped(totals(scope).frame, scope)
    table = ov.service_table(
        f["metric_points"],
        tot,
        f["revisions"],
        f["traffic"],
        f["instance_events"],
        costs,
        window_s=window_s,
        notes=ov.canary_notes(f["metric_points"], f["revisions"], f["traffic"]),
    )
    trend = ov.trend(f["metric_points"], "request_count")
    trend = trend.assign(value=trend["value"] / w.alignment_s)
    return OverviewView(
        table, ov.attention(table), trend, quality_of(frames), window_s, w.alignment_s
    )


@dataclass(frozen=True)
class RevisionsView:
    service: str
    all_revisions: list[str]  # oldest first: fixes each revision's colour
    colors: dict[str, str]
    selected: list[str]
    cards: pd.DataFrame
    stable: str
    candidate: str
    verdict: Any  # insights.revisions.Verdict | None
    request_rate: pd.DataFrame  # revision, timestamp, value (req/s), pending
    latency: pd.DataFrame  # revision, stat (p50/p95/p99), timestamp, value (ms), pending
    instances: pd.DataFrame  # revision, timestamp, value (mean instances), pending
    errors: pd.DataFrame  # revision, timestamp, value (5xx/s), pending
    markers: list[tuple[datetime, str]]
    quality: Quality
    period_s: int


def _series(
    points: pd.DataFrame,
    metric: str,
    stat: str,
    revs: list[str],
    *,
    per_s: int = 0,
    response_class: str = "",
    keep_stat: bool = False,
) -> pd.DataFrame:
    sel = points[(points["metric"] == metric) & points["revision"].isin(revs)]
    sel = sel[sel["stat"].isin(stat.split(","))]
    if response_class:
        sel = sel[sel["response_class"] == response_class]
    keys = ["revision", "stat", "timestamp"] if keep_stat else ["revision", "timestamp"]
    out = sel.groupby(keys, observed=True, as_index=False).agg(
        value=("value", "sum"), pending=("pending", "any")
    )
    return out.assign(value=out["value"] / per_s) if per_s else out


def _build_revisions(
    scope: Scope, selected: list[str] | None = None, stable: str = "", candidate: str = ""
) -> RevisionsView | None:
    """The comparison for ``scope.service``; None when the scope names no service."""
    import charts
    from costmodel import observed
    from insights import revisions as rv

    if not scope.service:
        return None
    frames = fleet_frames(scope)
    f = {k: _scoped(r.frame, scope) for k, r in frames.items()}
    w = window_of(scope)
    pts, cfg, tr = f["metric_points"], f["revisions"], f["traffic"]
    every = rv.revisions_of(cfg, pts, scope.service)
    chosen = [r for r in (selected or []) if r in every] or rv.default_selection(
        cfg, tr, scope.service
    )
    costs = observed.observed_costs(pts, cfg, start=w.start, end=w.end, period_s=w.alignment_s)
    tot = _scoped(totals(scope).frame, scope)
    cards = rv.cards(pts, tot, cfg, tr, costs, service=scope.service, selected=chosen)
    by_traffic = cards.sort_values(["traffic_pct", "request_share_pct"], ascending=False)
    stable = stable if stable in chosen else (by_traffic["revision"].iloc[0] if len(cards) else "")
    serving = set(
        cards.loc[(cards["traffic_pct"] > 0) | (cards["request_share_pct"] > 0), "revision"]
    )
    newest = sorted(
        (r for r in reversed(chosen) if r != stable), key=lambda r: r not in serving
    )  # newest serving revision first
    candidate = (
        candidate if candidate in chosen and candidate != stable else (newest[0] if newest else "")
    )
    verdict = (
        rv.canary_verdict(pts, service=scope.service, candidate=candidate, stable=stable)
        if stable and candidate
        else None
    )
    p = w.alignment_s
    return RevisionsView(
        service=scope.service,
        all_revisions=every,
        colors=charts.revision_colors(every),
        selected=chosen,
        cards=cards,
        stable=stable,
        candidate=candidate,
        verdict=verdict,
        request_rate=_series(pts, "request_count", "value", chosen, per_s=p),
        latency=_series(pts, "request_latencies", "p50,p95,p99", chosen, keep_stat=True),
        instances=_series(pts, "instance_count", "value", chosen),
        errors=_series(pts, "request_count", "value", chosen, per_s=p, response_class="5xx"),
        markers=rv.markers(cfg, pts, service=scope.service, start=w.start),
        quality=quality_of(frames),
        period_s=p,
    )


@dataclass(frozen=True)
class ColdStartsView:
    summary: Any  # insights.coldstarts.ColdStartSummary
    over_time: pd.DataFrame  # timestamp, reason, count
    bucket: str
    startup_ms: pd.Series
    per_revision: pd.DataFrame
    recent_starts: pd.DataFrame
    failures: pd.DataFrame  # oom, signal9, exit, probe_failed, no_instance_429, ...
    quality: Quality


def _build_cold_starts(scope: Scope) -> ColdStartsView:
    from insights import coldstarts as cs

    frames = fleet_frames(scope)
    f = {k: _scoped(r.frame, scope) for k, r in frames.items()}
    tot = _scoped(totals(scope).frame, scope)
    window_s = window_seconds(scope)
    ev, pts = f["instance_events"], f["metric_points"]
    bucket = cs.bucket_for(window_s)
    failures = (
        "oom",
        "signal9",
        "exit",
        "probe_failed",
        "no_instance_429",
        "no_instance_5xx",
        "start_failed_500",
        "readiness_503",
    )
    return ColdStartsView(
        summary=cs.summary(ev, pts, tot if scope.service else tot.iloc[0:0], window_s=window_s),
        over_time=cs.starts_over_time(ev, bucket=bucket),
        bucket=bucket,
        startup_ms=cs.startup_samples(ev),
        per_revision=cs.per_revision(ev, pts),
        recent_starts=cs.recent(ev, ("start",)),
        failures=cs.recent(ev, failures),
        quality=quality_of(frames, "instance_events", "metric_points"),
    )


# ------------------------------------------------------------------------- cost & tuning

COST_METRICS = (
    "request_count",
    "request_latencies",
    "instance_count",
    "billable_instance_time",
    "cpu_allocation_time",
    "memory_allocation_time",
    "startup_latencies",
    "cpu_utilizations",
)
MIN_COST_HISTORY = timedelta(hours=24)
CPU_CHOICES = (0.5, 1.0, 2.0, 4.0)
MEMORY_CHOICES_GIB = (0.25, 0.5, 1.0, 2.0, 4.0)


@st.cache_data(ttl=SETTINGS.metrics_ttl_s, max_entries=MAX_ENTRIES, show_spinner=False)
def _minute_points(
    project: str, region: str, service: str, start: datetime, end: datetime
) -> Result:
    """One-minute points of one service: what the replay needs (the fleet view may be coarser)."""
    window = TimeWindow(start, end, 60, end)
    scope = collect_mod.monitoring.MetricScope(services=(service,), regions=(region,))
    return collect_mod.monitoring.fetch_metrics(clients(), [project], window, scope, COST_METRICS)


def cost_history(scope: Scope) -> Scope:
    """The scope whose window the cost model learns from: the chosen one, at least 24 h."""
    w = window_of(scope)
    if w.end - w.start >= MIN_COST_HISTORY:
        return scope
    return replace(scope, window="24h", start=None, end=None)


@dataclass(frozen=True)
class CostView:
    service: str
    region: str
    regions: list[str]  # every region the service runs in
    history: str  # e.g. "24h" (window the model learned from)
    current: pd.Series  # the current setting's row of the what-if table
    observed: pd.DataFrame  # observed cost per revision (costmodel.observed.COLUMNS)
    table: pd.DataFrame  # the what-if grid (costmodel.whatif.COLUMNS)
    calibration_error: float  # signed fraction of observed billable time
    calibration_notes: tuple[str, ...]
    advice: list[str]
    unconfirmed: tuple[str, ...]
    price_source: str
    cannot_estimate: str  # the reason, when no estimate can be given ("" otherwise)
    quality: Quality


@st.cache_data(ttl=SETTINGS.metrics_ttl_s, max_entries=MAX_ENTRIES, show_spinner=False)
def _whatif(
    project: str,
    regions: tuple[str, ...],
    region: str,
    service: str,
    start: datetime,
    end: datetime,
    alignment_s: int,
    pending_after: datetime | None,
    cpu: float | None,
    memory_gib: float | None,
    free_tier: bool,
    cud: str,
) -> Any:
    from costmodel import advice, inputs, whatif

    frames = _collect(project, regions, start, end, alignment_s, pending_after)
    pts = _minute_points(project, region, service, start, end).frame
    data = inputs.service_input(
        pts,
        frames["revisions"].frame,
        region=region,
        service=service,
        start=start,
        end=end,
        events=frames["instance_events"].frame,
    )
    result = whatif.evaluate(
        data,
        cpus=(cpu,) if cpu else None,
        memories=(memory_gib,) if memory_gib else None,
        free_tier="all" if free_tier else "none",
        cud=cud or None,
    )
    starts = frames["instance_events"].frame
    startup = starts.loc[
        (starts["service"] == service) & (starts["event"] == "start"), "startup_ms"
    ].dropna()
    tips = advice.advise(result, startup_s=float(startup.median()) / 1000 if len(startup) else None)
    return result, tips


def cost(
    scope: Scope,
    *,
    region: str = "",
    cpu: float | None = None,
    memory_gib: float | None = None,
    free_tier: bool | None = None,
    cud: str = "",
) -> CostView | None:
    """The cost and what-if view of ``scope.service``; None when the scope names no service."""
    from costmodel import observed, prices
    from costmodel.errors import CannotEstimate

    if not scope.service:
        return None
    hist = cost_history(scope)
    w = window_of(hist)
    frames = fleet_frames(hist)
    revs = frames["revisions"].frame
    regions = sorted(set(revs.loc[revs["service"] == scope.service, "location"]))
    if not regions:
        raise DataError(f"no configuration was found for {scope.service} in this project")
    region = region if region in regions else regions[0]
    free = SETTINGS.free_tier if free_tier is None else free_tier
    book = prices.load()
    pts = guarded(
        ("minute", scope.project, region, scope.service, w.start, w.end),
        lambda: _minute_points(scope.project, region, scope.service, w.start, w.end),
        lambda r: _stale_bundle({"t": r})["t"],
    )
    mine = revs[(revs["service"] == scope.service) & (revs["location"] == region)]
    seen = observed.observed_costs(pts.frame, mine, start=w.start, end=w.end, book=book)
    empty = pd.Series(dtype=object)
    try:
        result, tips = guarded(
            (
                "whatif",
                scope.project,
                region,
                scope.service,
                w.start,
                w.end,
                cpu,
                memory_gib,
                free,
                cud,
            ),
            lambda: _whatif(
                scope.project,
                hist.regions,
                region,
                scope.service,
                w.start,
                w.end,
                w.alignment_s,
                w.pending_after,
                cpu,
                memory_gib,
                free,
                cud,
            ),
            lambda v: v,
        )
    except CannotEstimate as exc:
        return CostView(
            scope.service,
            region,
            regions,
            hist.window,
            empty,
            seen,
            pd.DataFrame(),
            float("nan"),
            (),
            [],
            (),
            book.source,
            str(exc),
            pts.quality,
        )
    return CostView(
        service=scope.service,
        region=region,
        regions=regions,
        history=hist.window,
        current=result.current,
        observed=seen,
        table=result.table,
        calibration_error=result.calibration.billable_error,
        calibration_notes=result.calibration.notes,
        advice=tips,
        unconfirmed=result.unconfirmed,
        price_source=book.source,
        cannot_estimate="",
        quality=pts.quality.merge(quality_of(frames, "revisions", "instance_events")),
    )


def _cud_choices() -> dict[str, str]:
    from costmodel import prices

    return {"": "none", **{k: c.label for k, c in prices.load().cuds.items()}}


CUD_CHOICES = _cud_choices()
MONEY_COLUMNS = {
    col: st.column_config.NumberColumn(col.replace("_", " "), format="$%.2f")
    for col in ("cpu", "memory", "requests_cost", "idle_min", "total", "monthly_total")
}


def observed_caption(view: CostView) -> str:
    t = view.observed
    known = t[t["cannot_estimate"] == ""]
    month = known["monthly_total"].sum()
    idle = known["idle_min"].sum()
    note = f" · idle min instances ${idle:,.2f} of it" if idle >= 0.01 else ""
    unknown = t.loc[t["cannot_estimate"] != "", "revision"].tolist()
    missing = f" · cost unknown for {', '.join(unknown)}" if unknown else ""
    return (
        f"From billable instance time, CPU/memory allocation and requests; without the free "
        f"tier (it belongs to the billing account). Projected: ${month:,.2f}/month{note}"
        f"{missing}. Prices: {view.price_source}"
    )


def calibration_caption(view: CostView) -> str:
    err = view.calibration_error
    return (
        f"Replaying the current settings reproduces the observed billable time within "
        f"{100 * err:+.1f} %; estimates carry this error. Learned from the last "
        f"{view.history} of traffic."
        + (" " + " ".join(view.calibration_notes) if view.calibration_notes else "")
    )


# ------------------------------------------------------------------ cached derived views
# The views are small (tables of a few hundred rows, series of one service), so caching them
# makes a warm rerun cheap: no unpickling of the fleet's frames, no recomputation. A view built
# from stale data is not cached (it is raised out of the cached function and returned), so the
# next rerun tries again once the negative cache expires.


class _Uncached(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__("not cached")
        self.value = value


def _key(scope: Scope) -> tuple[Any, ...]:
    w = window_of(scope)
    return (scope.project, scope.regions, scope.service, scope.window, w.start, w.end)


def _scope_of(key: tuple[Any, ...]) -> Scope:
    project, regions, service, window, start, end = key
    custom = window == scope_mod.CUSTOM
    return Scope(
        project=project,
        window=window,
        regions=regions,
        service=service,
        start=start if custom else None,
        end=end if custom else None,
    )


def _fresh(view: T) -> T:
    quality = getattr(view, "quality", None)
    if quality is not None and quality.status == "stale":
        raise _Uncached(view)
    return view


@st.cache_data(ttl=SETTINGS.metrics_ttl_s, max_entries=MAX_ENTRIES, show_spinner=False)
def _overview_cached(key: tuple[Any, ...]) -> OverviewView:
    return _fresh(_build_overview(_scope_of(key)))


@st.cache_data(ttl=SETTINGS.metrics_ttl_s, max_entries=MAX_ENTRIES, show_spinner=False)
def _revisions_cached(
    key: tuple[Any, ...], selected: tuple[str, ...], stable: str, candidate: str
) -> RevisionsView | None:
    return _fresh(_build_revisions(_scope_of(key), list(selected), stable, candidate))


@st.cache_data(ttl=SETTINGS.metrics_ttl_s, max_entries=MAX_ENTRIES, show_spinner=False)
def _cold_starts_cached(key: tuple[Any, ...]) -> ColdStartsView:
    return _fresh(_build_cold_starts(_scope_of(key)))


def overview(scope: Scope) -> OverviewView:
    try:
        return _overview_cached(_key(scope))
    except _Uncached as kept:
        return kept.value  # type: ignore[no-any-return]


def revisions(
    scope: Scope, selected: list[str] | None = None, stable: str = "", candidate: str = ""
) -> RevisionsView | None:
    """The comparison for ``scope.service``; None when the scope names no service."""
    try:
        return _revisions_cached(_key(scope), tuple(selected or ()), stable, candidate)
    except _Uncached as kept:
        return kept.value  # type: ignore[no-any-return]


def cold_starts(scope: Scope) -> ColdStartsView:
    try:
        return _cold_starts_cached(_key(scope))
    except _Uncached as kept:
        return kept.value  # type: ignore[no-any-return]
