"""Small, pure selections over METRIC_POINTS shared by the insight modules.

METRIC_POINTS conventions (collectors/catalog.py): ``request_count`` rows carry the request
count of one aligned period per ``response_class``; distribution metrics carry ``count``,
``mean`` and ``p50/p95/p99`` rows per period (a percentile beyond the bucket layout is its
bound, flagged in the ``bound`` column, which ``bound`` reads); ``instance_count`` the mean
instances per period by ``state``. A *totals* frame has the same columns with one period
covering the whole window (merged histograms, so its percentiles are exact for the window).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

REV_KEYS = ["project_id", "location", "service", "revision"]
SVC_KEYS = ["project_id", "location", "service"]


def bound(points: pd.DataFrame, metric: str, keys: list[str], stat: str) -> pd.Series:
    """Per key, whether a percentile lies beyond its bucket layout (METRIC_POINTS.bound): "<"
    below the first bound, ">" at or above the last, "" inside (">" wins over "<" over "")."""
    sel = select(points, metric, stat)
    if not keys:
        found = sorted(set(sel["bound"].dropna()))
        return pd.Series([found[-1] if found else ""], dtype="string")
    return sel.groupby(keys, observed=True)["bound"].max().astype("string")


def select(points: pd.DataFrame, metric: str, stat: str | None = None) -> pd.DataFrame:
    mask = points["metric"] == metric
    if stat is not None:
        mask &= points["stat"] == stat
    return points.loc[mask]


def total(points: pd.DataFrame, metric: str, keys: list[str], stat: str = "value") -> pd.Series:
    """Sum of a metric's values over every period, per key (missing keys absent)."""
    sel = select(points, metric, stat)
    if not keys:
        return pd.Series([sel["value"].sum()] if len(sel) else [], dtype="float64")
    return sel.groupby(keys, observed=True)["value"].sum()


def requests_by_class(points: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Requests per key with columns all, 2xx, 4xx, 5xx (0 where a class had none)."""
    sel = select(points, "request_count", "value")
    if sel.empty:
        return pd.DataFrame(columns=["all", "2xx", "4xx", "5xx"], dtype="float64")
    table = sel.pivot_table(
        index=keys, columns="response_class", values="value", aggfunc="sum", observed=True
    )
    out = pd.DataFrame(index=table.index)
    for cls in ("2xx", "4xx", "5xx"):
        out[cls] = table[cls].fillna(0.0) if cls in table else 0.0
    out["all"] = table.sum(axis=1)
    return out.astype("float64")


def per_period(points: pd.DataFrame, metric: str, stat: str, keys: list[str]) -> pd.DataFrame:
    """One row per (keys, timestamp) with the summed value and the pending flag."""
    sel = select(points, metric, stat)
    if sel.empty:
        return pd.DataFrame(columns=[*keys, "timestamp", "value", "pending"])
    return sel.groupby([*keys, "timestamp"], observed=True, as_index=False).agg(
        value=("value", "sum"), pending=("pending", "any")
    )


def safe_ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den with NaN (unknown), never inf or a fake 0, where den is 0."""
    return num / den.where(den > 0)


def ratio(num: float, den: float) -> float:
    """num / den, NaN when den is 0."""
    return num / den if den else float("nan")


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    ok = np.isfinite(values) & np.isfinite(weights) & (weights > 0)
    return float(np.average(values[ok], weights=weights[ok])) if ok.any() else float("nan")
