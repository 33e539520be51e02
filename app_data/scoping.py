"""The run's scope and window: from a link's query parameters, with the sidebar's choices
applied, and the rows of the frames it covers (no streamlit)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import pandas as pd

import scope as scope_mod
from app_data.configuration import settings
from foundation.window import INGESTION_DELAY, TimeWindow, floor_to
from scope import Scope


def scope_from_query(params: Mapping[str, Any], now: datetime) -> tuple[Scope, list[str]]:
    s = settings()
    return scope_mod.from_query(
        params,
        projects=s.watched_projects,
        default_window=s.default_window,
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
    step = max(60, min(settings().cache_ttl_s, 3600) // 60 * 60)
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
