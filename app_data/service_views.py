"""One service's pages' view objects (revisions, cold starts), built from that service's
collector frames (pure: no streamlit, no API calls); the fleet's are in app_data.views.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

import charts
from actions.traffic import TrafficCommand, canary_commands
from app_data.scoping import scoped
from app_data.views import costs, narrow, quality_of
from collectors.logparse import FAILURE_EVENTS
from collectors.schema import Quality, Result
from costmodel.prices import PriceBook
from foundation.window import TimeWindow
from insights import coldstarts as cs
from insights import console_links as console
from insights import revisions as rv
from scope import Scope


@dataclass(frozen=True)
class RevisionsView:
    service: str
    all_revisions: list[str]  # oldest first: fixes each revision's colour
    colors: dict[str, str]
    selected: list[str]
    cards: pd.DataFrame
    stable: str
    candidate: str
    verdict: rv.Verdict | None
    request_rate: pd.DataFrame  # revision, timestamp, value (req/s), pending
    latency: pd.DataFrame  # revision, stat (p50/p95/p99), timestamp, value (ms), pending
    instances: pd.DataFrame  # revision, state (active/idle), timestamp, value (mean), pending
    errors: pd.DataFrame  # revision, timestamp, value (5xx/s), pending
    cpu: pd.DataFrame  # revision, stat (p50/p99), timestamp, value (% of the vCPU limit), pending
    memory: pd.DataFrame  # revision, stat (p50/p99), timestamp, value (% of the limit), pending
    concurrency: pd.DataFrame  # revision, stat (p50/p99), timestamp, value (requests), pending
    markers: list[tuple[datetime, str]]
    quality: Quality
    period_s: int
    # (label, URL) into Google's console: the service, each chart's metric in Metrics Explorer
    links: list[tuple[str, str]] = field(default_factory=list)
    # what the canary verdict leads to: rollback, next step, promotion (actions/traffic.py)
    traffic_commands: list[TrafficCommand] = field(default_factory=list)


# The revisions page's panels whose metric Metrics Explorer can chart, in the panels' order.
CHART_METRICS = (
    ("request count", "request_count"),
    ("latency", "request_latencies"),
    ("instances", "instance_count"),
    ("CPU utilization", "cpu_utilizations"),
    ("memory utilization", "memory_utilizations"),
    ("concurrency", "max_request_concurrencies"),
)


def _home(frames: Mapping[str, Result], service: str) -> tuple[str, str] | None:
    """(project, region) the service lives in, from its configuration (None when unknown)."""
    svc = frames["services"].frame
    mine = svc[svc["service"] == service]
    if mine.empty:
        return None
    row = mine.iloc[0]
    return str(row["project_id"]), str(row["location"])


def revision_links(
    frames: Mapping[str, Result], service: str, period_s: int
) -> list[tuple[str, str]]:
    """The service's page and each chart's metric in Metrics Explorer, as the page reads it."""
    home = _home(frames, service)
    if home is None:
        return []
    project, region = home
    links = [("Cloud Run console", console.service_url(project, region, service))]
    links += [
        (f"Metrics Explorer: {label}", console.metrics_url(project, region, service, m, period_s))
        for label, m in CHART_METRICS
    ]
    return links


def cold_start_links(
    frames: Mapping[str, Result], service: str, w: TimeWindow, regions: tuple[str, ...]
) -> list[tuple[str, str]]:
    """The service's logs tab, and Logs Explorer with each of the two filters the starts and
    failures shown were read with (``regions``: those the read was narrowed to)."""
    home = _home(frames, service)
    if home is None:
        return []
    project, region = home

    def logs(part: str) -> str:
        return console.lifecycle_logs_url(project, regions, service, w.start, w.end, (part,))

    return [
        ("Cloud Run console", console.service_url(project, region, service, tab="logs")),
        ("Logs Explorer: instance starts and exits", logs("system")),
        ("Logs Explorer: requests the platform failed", logs("requests")),
    ]


def _series(
    points: pd.DataFrame,
    metric: str,
    stat: str,
    revs: list[str],
    *,
    per_s: int = 0,
    response_class: str = "",
    state: str = "",
    keep: str = "",
    scale: float = 1.0,
) -> pd.DataFrame:
    """One metric's points of ``revs`` summed per revision and period (and per ``keep``, a
    column kept apart: "stat" or "state"), divided by ``per_s`` (a rate) or times ``scale``."""
    sel = points[(points["metric"] == metric) & points["revision"].isin(revs)]
    sel = sel[sel["stat"].isin(stat.split(","))]
    if response_class:
        sel = sel[sel["response_class"] == response_class]
    if state:
        sel = sel[sel["state"] == state]
    keys = ["revision", keep, "timestamp"] if keep else ["revision", "timestamp"]
    out = sel.groupby(keys, observed=True, as_index=False).agg(
        value=("value", "sum"), pending=("pending", "any")
    )
    return out.assign(value=out["value"] / per_s if per_s else out["value"] * scale)


def _roles(cards: pd.DataFrame, chosen: list[str], stable: str, candidate: str) -> tuple[str, str]:
    """Stable: the most traffic (unless chosen); candidate: the newest other revision that
    serves traffic (unless chosen)."""
    by_traffic = cards.sort_values(["traffic_pct", "request_share_pct"], ascending=False)
    if stable not in chosen:
        stable = str(by_traffic["revision"].iloc[0]) if len(cards) else ""
    serving = set(
        cards.loc[(cards["traffic_pct"] > 0) | (cards["request_share_pct"] > 0), "revision"]
    )
    newest = sorted((r for r in reversed(chosen) if r != stable), key=lambda r: r not in serving)
    if candidate not in chosen or candidate == stable:
        candidate = newest[0] if newest else ""
    return stable, candidate


def _verdict(
    canary: Result, scope: Scope, w: TimeWindow, stable: str, candidate: str
) -> rv.Verdict | None:
    """The canary verdict of ``candidate`` against ``stable`` (None without both), "unknown"
    when the series it compares could not be read at all."""
    if not (stable and candidate):
        return None
    if canary.frame.empty and not canary.quality.complete:
        why = "; ".join(canary.quality.reasons) or "no reason given"
        return rv.unknown_verdict(
            f"the request series it compares could not be read ({why})",
            candidate=candidate,
            stable=stable,
            period_s=w.trend().alignment_s,
        )
    return rv.canary_verdict(
        scoped(canary.frame, scope),
        service=scope.service,
        candidate=candidate,
        stable=stable,
        period_s=w.trend().alignment_s,
    )


def canary_actions(
    frames: Mapping[str, Result], traffic: pd.DataFrame, service: str, verdict: rv.Verdict | None
) -> list[TrafficCommand]:
    """The traffic commands of the verdict's candidate against its stable revision, with the
    service's configured split now (``traffic``: the TRAFFIC frame; none without a verdict or
    a known home)."""
    home = _home(frames, service)
    if verdict is None or home is None or not verdict.candidate or not verdict.stable:
        return []
    if verdict.candidate == verdict.stable:
        return []
    shares = traffic[traffic["service"] == service].groupby("revision")["percent"].sum()
    return canary_commands(
        service=service,
        project=home[0],
        region=home[1],
        stable=verdict.stable,
        candidate=verdict.candidate,
        shares={str(k): float(v) for k, v in shares.items()},
        status=verdict.status,
    )


def build_revisions(
    scope: Scope,
    frames: Mapping[str, Result],
    totals: Result,
    canary: Result,
    w: TimeWindow,
    *,
    selected: list[str],
    book: PriceBook,
    stable: str = "",
    candidate: str = "",
) -> RevisionsView:
    """``canary``: the service's request counts and p95/p99 at the trend's alignment, which the
    verdict compares (the overview's verdict reads the same periods)."""
    f = narrow(frames, scope)
    pts, cfg, tr = f["metric_points"], f["revisions"], f["traffic"]
    every = rv.revisions_of(cfg, pts, scope.service)
    chosen = [r for r in selected if r in every] or rv.default_selection(cfg, tr, scope.service)
    cards = rv.cards(
        pts,
        scoped(totals.frame, scope),
        cfg,
        tr,
        costs(f, w, book),
        service=scope.service,
        selected=chosen,
    )
    stable, candidate = _roles(cards, chosen, stable, candidate)
    verdict = _verdict(canary, scope, w, stable, candidate)
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
        request_rate=(rate := _series(pts, "request_count", "value", chosen, per_s=p)),
        latency=_series(pts, "request_latencies", "p50,p95,p99", chosen, keep="stat"),
        instances=_series(pts, "instance_count", "value", chosen, keep="state"),
        errors=rv.errors_where_served(
            _series(pts, "request_count", "value", chosen, per_s=p, response_class="5xx"), rate
        ),
        cpu=_series(pts, "cpu_utilizations", "p50,p99", chosen, keep="stat", scale=100.0),
        memory=_series(pts, "memory_utilizations", "p50,p99", chosen, keep="stat", scale=100.0),
        concurrency=_series(
            pts, "max_request_concurrencies", "p50,p99", chosen, state="active", keep="stat"
        ),
        markers=rv.markers(cfg, pts, service=scope.service, start=w.start),
        quality=quality_of(frames).merge(totals.quality).merge(canary.quality),
        period_s=p,
        links=revision_links(frames, scope.service, p),
        traffic_commands=canary_actions(frames, tr, scope.service, verdict),
    )


@dataclass(frozen=True)
class ColdStartsView:
    summary: cs.ColdStartSummary
    over_time: pd.DataFrame  # timestamp, reason, count
    bucket: str
    startup_ms: pd.Series
    per_revision: pd.DataFrame
    recent_starts: pd.DataFrame
    failures: pd.DataFrame  # the newest failure lines (collectors.logparse.FAILURE_EVENTS)
    failure_counts: pd.DataFrame  # insights.coldstarts.failures: every kind, with its count
    quality: Quality
    # why the instance events (logs) are unknown ("" when they were read): every figure from
    # them is then unknown, not 0; the startup-latency metric still counts the starts
    events_missing: str = ""
    metric_per_day: float = float("nan")  # starts a day by the startup-latency metric
    # (label, URL): the service's logs, and Logs Explorer with the filter the events were read by
    links: list[tuple[str, str]] = field(default_factory=list)

    @property
    def startup_percentiles(self) -> dict[str, float]:
        """The startup p50 and p95 by the metric, those known (for the histogram's marks)."""
        s = self.summary
        pairs = (("p50", s.startup_p50_ms), ("p95", s.startup_p95_ms))
        return {k: v for k, v in pairs if v == v}


def build_cold_starts(
    scope: Scope,
    frames: Mapping[str, Result],
    totals: Result,
    w: TimeWindow,
    regions: tuple[str, ...] = (),
) -> ColdStartsView:
    """One service's cold starts (``scope.service``), from its logs and metrics (read in
    ``regions``, all when empty)."""
    f = narrow(frames, scope)
    tot = scoped(totals.frame, scope)
    window_s = (w.end - w.start).total_seconds()
    ev, pts = f["instance_events"], f["metric_points"]
    bucket = cs.bucket_for(window_s)
    events = frames["instance_events"]
    missing = events.frame.empty and events.quality.status == "partial"
    summary = cs.summary(ev, pts, tot, window_s=window_s)
    return ColdStartsView(
        summary=summary,
        over_time=cs.starts_over_time(ev, bucket=bucket),
        bucket=bucket,
        startup_ms=cs.startup_samples(ev),
        per_revision=cs.per_revision(ev, pts),
        recent_starts=cs.recent(ev, ("start",)),
        failures=cs.recent(ev, FAILURE_EVENTS),
        failure_counts=cs.failures(ev),
        quality=quality_of(frames, "instance_events", "metric_points"),
        events_missing="; ".join(events.quality.reasons) if missing else "",
        metric_per_day=summary.starts_metric * 86_400.0 / window_s,
        links=cold_start_links(frames, scope.service, w, regions),
    )
