"""Settings, scope and window helpers shared by the dashboard's loaders (no streamlit here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pandas as pd

import config
import scope as scope_mod
from collectors import catalog
from collectors.schema import Quality, Result
from foundation.window import INGESTION_DELAY, TimeWindow, floor_to
from scope import Scope


def _load() -> tuple[config.Settings, str, bool]:
    """The settings, a configuration problem to show on every page ("" when none), and whether
    that problem stops the dashboard.

    When the environment asks for live data, a bad setting stops it: every page shows the error
    and no data (the settings returned watch no project and are never the demo). Only when
    nothing asked for live data do the defaults (the demo) keep the app drawable."""
    try:
        settings = config.load()
        if settings.source == "gcp" and not settings.projects:
            from collectors.identity import runtime_identity  # the metadata server, on Cloud Run

            found = runtime_identity(timeout_s=1.0)
            settings = config.with_discovered_project(settings, found and found.project_id)
        return settings, "", False
    except config.ConfigError as exc:
        if config.live_requested():
            return replace(config.load({}), source="gcp", projects=()), str(exc), True
        return config.load({}), str(exc), False


SETTINGS, CONFIG_ERROR, CONFIG_STOPS = _load()

MAX_ENTRIES = 32
FLEET_METRICS = catalog.FLEET_VIEW
TOTAL_METRICS = catalog.WINDOW_TOTALS


class DataError(Exception):
    """A load failed and there is no earlier result to show; the message is for the user."""


@dataclass(frozen=True)
class Source:
    label: str  # "Demo" | "Live"
    detail: str
    projects: tuple[str, ...]


def scope_from_query(params: Mapping[str, Any], now: datetime) -> tuple[Scope, list[str]]:
    return scope_mod.from_query(
        params,
        projects=SETTINGS.watched_projects,
        default_window=SETTINGS.default_window,
        now=now,
    )


def rescope(scope: Scope, now: datetime, **changes: Any) -> Scope:
    """The scope with sidebar choices applied, validated like a deep link (bad input dropped)."""
    merged = {**scope_mod.to_query(scope)}
    merged.update({k: v for k, v in changes.items() if k not in ("start", "end", "regions")})
    merged["region"] = ",".join(changes.get("regions", scope.regions))
    if changes.get("service", scope.service) != scope.service:
        merged.pop("rev", None)  # a new service: its own revisions by default
    if merged.get("window") == scope_mod.CUSTOM:
        for k in ("start", "end"):
            t = changes.get(k) or getattr(scope, k)
            if t is not None:
                merged[k] = t.isoformat()
    new, _ = scope_from_query({k: v for k, v in merged.items() if v}, now)
    return new


def window_for(scope: Scope, now: datetime) -> TimeWindow:
    """The scope's window. ``now`` is rounded down to the metrics TTL first, so reruns share a
    cache key; a custom window marks the points inside the ingestion delay of that time as
    pending, as a preset does."""
    step = max(60, min(SETTINGS.cache_ttl_s, 3600) // 60 * 60)
    at = floor_to(now, step)
    if scope.window == scope_mod.CUSTOM and scope.start and scope.end:
        w = TimeWindow.custom(scope.start, scope.end)
        pending = at - INGESTION_DELAY
        return replace(w, pending_after=pending) if pending < w.end else w
    return TimeWindow.preset(scope.window, at)


def window_text(w: TimeWindow) -> str:
    return (
        f"{w.start:%Y-%m-%d %H:%M} – {w.end:%Y-%m-%d %H:%M} UTC, {w.alignment_s // 60}-min points"
    )


def scoped(df: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """Rows of the scope's service and regions (the fleet frames hold every service)."""
    if df.empty:
        return df
    mask = pd.Series(True, index=df.index)
    if scope.service and "service" in df:
        mask &= df["service"] == scope.service
    if scope.regions and "location" in df:
        mask &= df["location"].isin(scope.regions)
    return df.loc[mask]


def quality_of(frames: Mapping[str, Result], *names: str) -> Quality:
    q = Quality()
    for n in names or tuple(frames):
        q = q.merge(frames[n].quality)
    return q
