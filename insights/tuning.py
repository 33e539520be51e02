"""Reading the cost model's what-if grid for the tuning controls (pure lookups, no pricing)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from costmodel.whatif import SETTING, pareto_front, refusing_no_more


@dataclass(frozen=True)
class Pick:
    found: bool
    allowed: bool
    reason: str  # why Cloud Run refuses the setting ("" when allowed)
    monthly_cost: float
    cost_delta: float  # against the current setting, dollars a month
    cost_delta_pct: float
    cold_starts_per_day: float
    cold_starts_delta: float  # against the current setting
    cold_start_share: float  # share of requests meeting a cold start
    rejected_per_day: float
    error_band: float  # ± dollars from the calibration error


def pick(
    table: pd.DataFrame, current: pd.Series, calibration_error: float, **setting: object
) -> Pick:
    """The grid row for ``setting`` (its costmodel.whatif.SETTING keys) with its change
    against the current setting.

    The current setting itself comes from the current row (each revision replayed with its own
    configuration), so choosing it shows no change.
    """
    is_current = all(current[k] == setting[k] for k in SETTING)
    t = table[table["current"]] if is_current else table[~table["current"]]
    mask = pd.Series(True, index=t.index)
    for key in SETTING:
        mask &= t[key] == setting[key]
    rows = t[mask]
    nan = float("nan")
    if rows.empty:
        return Pick(False, False, "this setting was not evaluated", *[nan] * 8)
    row = rows.iloc[0]
    if not bool(row["allowed"]):
        return Pick(True, False, str(row["reason"]), *[nan] * 8)
    cost = float(row["monthly_cost"])
    base = float(current["monthly_cost"])
    err = abs(calibration_error) if math.isfinite(calibration_error) else nan
    return Pick(
        found=True,
        allowed=True,
        reason="",
        monthly_cost=cost,
        cost_delta=cost - base,
        cost_delta_pct=100 * (cost - base) / base if base else nan,
        cold_starts_per_day=float(row["cold_starts_per_day"]),
        cold_starts_delta=float(row["cold_starts_per_day"]) - float(current["cold_starts_per_day"]),
        cold_start_share=float(row["cold_start_share"]),
        rejected_per_day=float(row["rejected_per_day"]),
        error_band=cost * err,
    )


def options(table: pd.DataFrame, key: str) -> list[object]:
    """Values of ``key`` present in the grid, sorted."""
    return sorted(set(table[key].dropna().tolist()))


def labelled(
    table: pd.DataFrame,
    billing: str | None = None,
    *,
    plane: tuple[float, float, int] | None = None,
) -> pd.DataFrame:
    """The allowed rows (of one billing mode, if given) with a readable label per setting.

    ``plane``: (vCPU, GiB, max instances) to keep only that size and max, as the estimate card
    prices it: each (concurrency, min instances, billing) then has one row, and the current
    setting's is the current row (pick's figure), not the grid's replay of the same setting;
    ``pareto`` then marks the frontier within the plane (among the settings refusing no more
    requests than the current one, as the grid's)."""
    keep = table["allowed"] & ((table["billing"] == billing) if billing else True)
    if plane is not None:
        cpu, memory_gib, most = plane
        keep &= (
            (table["cpu"] == cpu)
            & (table["memory_gib"] == memory_gib)
            & (table["max_instances"] == most)
        )
        current = table[table["current"]]
        if not current.empty:
            same = pd.Series(True, index=table.index)
            for key in SETTING:
                same &= table[key] == current.iloc[0][key]
            keep &= ~(same & ~table["current"])
    ok = table[keep].copy()
    if plane is not None and not ok.empty:
        current = table[table["current"]]
        refused = float(current["rejected_per_day"].iloc[0]) if len(current) else 0.0
        fair = refusing_no_more(ok["rejected_per_day"], refused)
        ok["pareto"] = False
        ok.loc[fair, "pareto"] = pareto_front(
            ok.loc[fair, "monthly_cost"].to_numpy(float),
            ok.loc[fair, "cold_starts_per_day"].to_numpy(float),
        )
    ok["label"] = [
        f"concurrency {c:.0f}, min {m:.0f}, max {x:.0f}, {b}-based, {cpu:g} vCPU, {mem:g} GiB"
        + (" (current)" if cur else "")
        for c, m, x, b, cpu, mem, cur in zip(
            ok["concurrency"],
            ok["min_instances"],
            ok["max_instances"],
            ok["billing"],
            ok["cpu"],
            ok["memory_gib"],
            ok["current"],
            strict=True,
        )
    ]
    return ok
