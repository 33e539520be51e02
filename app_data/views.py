"""The fleet pages' view objects (the overview, its chart, the fleet's cold starts) and what
every view shares, built from collector frames (pure: no streamlit, no API calls); one
service's pages are in app_data.service_views.

Each builder takes the scope, the frames of its window, the window-wide distribution totals and
the window, narrows them to the scope, and hands the computing to insights/ and costmodel/.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

import presentation
from app_data.scoping import scoped
from collectors.schema import FRAMES, METRIC_POINTS, Quality, Result, joined
from costmodel import observed
from costmodel.prices import PriceBook
from costmodel.sku_book import PriceSource
from foundation.window import TimeWindow
from insights import coldstarts as cs
from insights import console_links as console
from insights import overview as ov
from scope import Scope


def quality_of(frames: Mapping[str, Result], *names: str) -> Quality:
    """The merged quality of the named frames (of all of them when none is named)."""
    q = Quality()
    for n in names or tuple(frames):
        q = q.merge(frames[n].quality)
    return q


@dataclass(frozen=True)
class OverviewView:
    # insights.overview.COLUMNS, a "trend" column (lists, for a chart) and "console" (the
    # service's page in the Cloud Run console)
    table: pd.DataFrame
    csv: str  # the table without the trend lists
    attention: list[ov.Flagged]  # what needs a look (presentation.attention_lines)
    quality: Quality
    window_s: float  # the settled part of the window the table's totals cover
    failed_projects: dict[str, str]  # project -> why it could not be read (the others show)
    prices: str  # where the costs' prices come from (PriceSource.text)


@dataclass(frozen=True)
class TrendView:
    """The overview's chart, read before its table (collectors.fleet.collect_trend)."""

    chart: pd.DataFrame  # per series (top services, the rest summed) and period: req/s
    lines: pd.Series  # (project, location, service) -> its sparkline (a list)
    period_s: int  # the trend's alignment
    note: str  # what the chart leaves out ("" when it shows every service)
    quality: Quality
    failed_projects: dict[str, str]  # project -> why its trend could not be read


TREND_TOP = 10  # services drawn one by one in the overview's chart; the rest are summed


def join_frames(parts: list[dict[str, Result]]) -> dict[str, Result]:
    """Frames of several projects joined per name, their qualities merged."""
    return {
        name: joined([p[name] for p in parts], FRAMES.get(name, METRIC_POINTS)) for name in parts[0]
    }


def narrow(frames: Mapping[str, Result], scope: Scope) -> dict[str, pd.DataFrame]:
    return {k: scoped(r.frame, scope) for k, r in frames.items()}


def observed_window(w: TimeWindow) -> TimeWindow:
    """The window an observed cost covers, on every page: ``w`` without its pending periods
    (TimeWindow.settled). Their points may still grow; left in, they would count as traffic
    that stopped while the month's projection divided by the whole window."""
    return w.settled()


def costs(f: Mapping[str, pd.DataFrame], w: TimeWindow, book: PriceBook) -> pd.DataFrame:
    """Per revision, the observed cost of ``f``'s per-period series over the settled window."""
    settled = observed_window(w)
    return observed.observed_costs(
        f["metric_points"],
        f["revisions"],
        start=settled.start,
        end=settled.end,
        period_s=w.alignment_s,
        book=book,
    )


@dataclass(frozen=True)
class FleetDigest:
    """What the overview keeps of its per-minute detail (collectors.fleet's "canary" and "warm"
    parts), which is dropped once read: the canary verdict lines, and the observed cost of every
    revision of a service holding min instances (its idle share needs per-minute series)."""

    notes: dict[tuple[str, str, str], str]
    costs: pd.DataFrame  # costmodel.observed.COLUMNS, one row per revision of a warm service

    @classmethod
    def joined(cls, parts: list[FleetDigest]) -> FleetDigest:
        notes = {k: v for d in parts for k, v in d.notes.items()}
        shown = [d.costs for d in parts if not d.costs.empty]
        costs = pd.concat(shown, ignore_index=True) if shown else parts[0].costs
        return cls(notes, costs)


def digest(
    frames: Mapping[str, Result], w: TimeWindow, warm: tuple[str, ...], book: PriceBook
) -> FleetDigest:
    """The detail's figures (see FleetDigest)."""
    revs = frames["revisions"].frame
    canaries = ov.canary_regressions(
        frames["canary"].frame, revs, frames["traffic"].frame, period_s=w.trend().alignment_s
    )
    notes = {key: presentation.canary_note(v) for key, v in canaries.items()}
    settled = observed_window(w)
    warm_costs = observed.observed_costs(
        frames["warm"].frame,
        revs[revs["service"].isin(warm)],
        start=settled.start,
        end=settled.end,
        period_s=w.alignment_s,
        book=book,
    )
    return FleetDigest(notes, warm_costs)


def fleet_costs(
    f: Mapping[str, pd.DataFrame], w: TimeWindow, known: pd.DataFrame, book: PriceBook
) -> pd.DataFrame:
    """Per revision, the observed cost in the window: ``known`` (the digest's, from per-minute
    series), and for every other revision from window totals (the cost of a revision without
    min instances is linear in its requests and billed time: the same figure, summed once)."""
    revs = f["revisions"]
    done = pd.MultiIndex.from_frame(known[["service", "revision"]]) if len(known) else None
    keys = pd.MultiIndex.from_frame(revs[["service", "revision"]]) if len(revs) else None
    rest = revs[~keys.isin(done)] if keys is not None and done is not None else revs
    settled = observed_window(w)  # also the totals' own window (collectors.fleet)
    totals = observed.window_costs(
        f["totals"], rest, start=settled.start, end=settled.end, book=book
    )
    shown = [c for c in (known, totals) if not c.empty]
    return pd.concat(shown, ignore_index=True) if shown else totals


def _top_trend(trend: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The chart's series: the TREND_TOP busiest services (most requests in the trend) by name,
    the rest summed as one."""
    svc = ["project_id", "location", "service"]
    busy = trend.groupby(svc, observed=True)["value"].sum().reset_index()
    busy = busy.sort_values(["value", *svc], ascending=[False, True, True, True])
    keys = list(busy[svc].itertuples(index=False, name=None))
    top = set(keys[:TREND_TOP])
    several = busy["project_id"].nunique() > 1  # a name may then be in two projects

    def label(project: str, service: str) -> str:
        return f"{service} ({project})" if several else service

    rest = len(keys) - len(top)
    other = f"{rest:,} other services"
    # one label per service, joined onto the trend's rows (a trend has ~100k rows)
    uniq = busy[svc].copy()
    uniq["series"] = [
        label(p, s) if (p, loc, s) in top else other for p, loc, s in uniq.itertuples(index=False)
    ]
    named = trend.merge(uniq, on=svc, how="left")
    if not rest:
        return named, ""
    summed = named.groupby(["series", "timestamp"], observed=True, as_index=False).agg(
        value=("value", "sum"), pending=("pending", "any")
    )
    return summed, f"the {len(top)} busiest services, the other {rest:,} summed"


def build_trend(
    scope: Scope, trend: Result, w: TimeWindow, failed: Mapping[str, str] | None = None
) -> TrendView:
    """The overview's chart and sparklines from the per-service trend (``failed``: projects
    whose trend could not be read, and why)."""
    trend_w = w.trend()
    rate = ov.trend(scoped(trend.frame, scope), "request_count_service")
    rate = rate.assign(value=rate["value"] / trend_w.alignment_s)
    lines = ov.sparklines(rate, trend_w)
    chart, note = _top_trend(rate)
    return TrendView(chart, lines, trend_w.alignment_s, note, trend.quality, dict(failed or {}))


def build_overview(
    scope: Scope,
    frames: Mapping[str, Result],
    w: TimeWindow,
    detail: FleetDigest,
    trend: TrendView,
    price: PriceSource,
    failed: Mapping[str, str] | None = None,
) -> OverviewView:
    """``frames``: collectors.fleet.PARTS (window totals, the configuration; the per-minute
    parts already read into ``detail``); ``trend``: the chart's view, whose sparklines the
    table carries; ``failed``: projects that could not be read, and why."""
    f = narrow(frames, scope)
    settled = w.settled()
    window_s = settled.span.total_seconds()
    table = ov.service_table(
        f["totals"],
        f["revisions"],
        f["traffic"],
        observed.service_costs(fleet_costs(f, w, scoped(detail.costs, scope), price.book)),
        window_s=window_s,
        notes=detail.notes,
    )
    keys = list(zip(table["project_id"], table["location"], table["service"], strict=True))
    table["console"] = [console.service_url(*k) for k in keys]
    csv = table.to_csv(index=False)
    table.insert(3, "trend", [trend.lines.get(k, []) for k in keys])
    quality = quality_of(frames).merge(trend.quality)
    failed_projects = {**trend.failed_projects, **(failed or {})}
    return OverviewView(
        table, csv, ov.attention(table), quality, window_s, failed_projects, price.text
    )


def matching(table: pd.DataFrame, text: str) -> pd.DataFrame:
    """The rows whose service (or project) contains ``text``, case-insensitively (all rows
    when it is blank): the overview's name filter."""
    needle = text.strip().lower()
    if not needle:
        return table
    hit = table["service"].str.lower().str.contains(needle, regex=False)
    hit |= table["project_id"].str.lower().str.contains(needle, regex=False)
    return table[hit.fillna(False).astype(bool)].reset_index(drop=True)


@dataclass(frozen=True)
class FleetColdStartsView:
    """Cold starts of every service in scope, from Monitoring alone (the instance events, from
    logs, are read one service at a time)."""

    starts: float  # startup-latency samples: one per instance start
    per_day: float
    per_1k_requests: float
    startup_p50_ms: float  # the fleet's merged histogram (NaN over several projects)
    startup_p95_ms: float
    startup_p95_bound: str  # "<" / ">": beyond the bucket layout (the value is the bound)
    per_service: pd.DataFrame  # insights.coldstarts.PER_SERVICE_COLUMNS
    quality: Quality
    failed_projects: dict[str, str]


def build_fleet_cold_starts(
    scope: Scope, frames: Mapping[str, Result], w: TimeWindow, failed: Mapping[str, str]
) -> FleetColdStartsView:
    """From collectors.fleet's window totals (the same data as the overview), which were read
    for the scope's regions already: the fleet-level histogram has no location to narrow by."""
    tot = frames["totals"].frame
    window_s = w.settled().span.total_seconds()
    table = cs.per_service(tot, window_s=window_s)
    fleet_rows = tot[tot["metric"] == "startup_latencies_fleet"]

    def pct(stat: str) -> float:  # one merged histogram, or unknown (several projects)
        rows = fleet_rows[fleet_rows["stat"] == stat]["value"]
        return float(rows.iloc[0]) if len(rows) == 1 else float("nan")

    p95_rows = fleet_rows[fleet_rows["stat"] == "p95"]["bound"]
    p95_bound = str(p95_rows.iloc[0]) if len(p95_rows) == 1 else ""

    starts = float(table["cold_starts"].sum())
    requests = float(table["requests"].sum())
    return FleetColdStartsView(
        starts=starts,
        per_day=starts * 86_400.0 / window_s,
        per_1k_requests=1000 * starts / requests if requests else float("nan"),
        startup_p50_ms=pct("p50"),
        startup_p95_ms=pct("p95"),
        startup_p95_bound=p95_bound,
        per_service=table,
        quality=quality_of(frames, "totals"),
        failed_projects=dict(failed),
    )


def fresh(view: Any) -> bool:
    """A view is worth caching unless it was built from stale or partial data (partial data is
    retried once the error TTL ran out, not kept for the cache's TTL)."""
    quality = getattr(view, "quality", None)
    return quality is None or quality.status not in ("stale", "partial")
