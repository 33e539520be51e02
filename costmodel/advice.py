"""Plain-words recommendations with the numbers behind them, from a what-if table.

Never advises from data too thin to support it: the caller gets CannotEstimate before this
module is reached (calibrate.check_enough); here, a calibration error above
``MAX_TRUSTED_ERROR`` turns advice into a warning, and savings below ``MIN_SAVING`` (dollars a
month and share of the bill) are not worth a recommendation.
"""

from __future__ import annotations

import pandas as pd

from costmodel.bill import money
from costmodel.whatif import SETTING, WhatIf

MAX_TRUSTED_ERROR = 0.25
MIN_SAVING = 1.0  # dollars a month
MIN_SAVING_SHARE = 0.05


def _pct(x: float) -> str:
    return f"{x * 100:+.0f} %".replace("+-", "-")


def _settings(row: pd.Series, cur: pd.Series) -> str:
    """The setting in words (its max instances when they differ from the current ones)."""
    most = int(row["max_instances"])
    also = f", max instances {most}" if most != int(cur["max_instances"]) else ""
    return (
        f"concurrency {int(row['concurrency'])}, min instances {int(row['min_instances'])}"
        f"{also}, {row['billing']}-based billing"
    )


def advise(w: WhatIf, *, startup_s: float | None = None) -> list[str]:
    """Recommendations, most valuable first; each sentence carries its numbers."""
    cur = w.current
    t = w.table[w.table["allowed"] & ~w.table["current"]]
    err = w.calibration.billable_error
    if abs(err) > MAX_TRUSTED_ERROR:
        return [
            f"no recommendation: the model misses the observed billable time by {_pct(err)}, "
            f"more than the {MAX_TRUSTED_ERROR * 100:.0f} % it needs to be trusted"
        ]
    base = float(cur["monthly_cost"])
    cold = f" of ~{startup_s:.1f} s" if startup_s else ""
    same_max = t[t["max_instances"] == cur["max_instances"]]  # one change at a time
    found = (
        _serve_rejections(cur, t, base),
        _switch_billing(cur, same_max, base),
        _fewer_min_instances(cur, same_max, base, cold),
        _other_concurrency(cur, same_max, base),
    )
    out = [tip for tip in found if tip]
    if not out:
        best = _best_alternative(w, base)
        out.append(best or _keep_current(base))
    if w.unconfirmed:
        out.append("note: figures use unconfirmed rates (" + ", ".join(w.unconfirmed) + ")")
    return out


def _worth(saving: float, base: float) -> bool:
    """A saving big enough to recommend, in dollars and as a share of the bill ``base``."""
    return saving >= MIN_SAVING and saving >= MIN_SAVING_SHARE * max(base, 1e-9)


def _switch_billing(cur: pd.Series, t: pd.DataFrame, base: float) -> str:
    """The other billing mode at the same concurrency and min instances, if it saves enough."""
    same = t[
        (t["concurrency"] == cur["concurrency"]) & (t["min_instances"] == cur["min_instances"])
    ]
    other = same[same["billing"] != cur["billing"]]
    if other.empty:
        return ""
    row = other.iloc[0]
    saving = base - float(row["monthly_cost"])
    if not _worth(saving, base):
        return ""
    busy = float(cur["busy_share"])
    return (
        f"switch to {row['billing']}-based billing: instances are busy {busy * 100:.0f} % "
        f"of the time; saves {money(saving)}/month ({_pct(-saving / base)})"
    )


def _fewer_min_instances(cur: pd.Series, t: pd.DataFrame, base: float, cold: str) -> str:
    """The fewest min instances, all else equal, if that saves enough (with its cold starts)."""
    mins = t[
        (t["concurrency"] == cur["concurrency"])
        & (t["billing"] == cur["billing"])
        & (t["min_instances"] < cur["min_instances"])
    ]
    for _, row in mins.sort_values("min_instances").head(1).iterrows():
        saving = base - float(row["monthly_cost"])
        extra = float(row["cold_starts_per_day"]) - float(cur["cold_starts_per_day"])
        if _worth(saving, base):
            return (
                f"min instances {int(cur['min_instances'])} → {int(row['min_instances'])} saves "
                f"{money(saving)}/month and adds about {max(extra, 0):.0f} cold starts a day{cold}"
            )
    return ""


def _other_concurrency(cur: pd.Series, t: pd.DataFrame, base: float) -> str:
    """The cheapest other concurrency refusing no more requests, if it saves enough."""
    conc = t[
        (t["min_instances"] == cur["min_instances"])
        & (t["billing"] == cur["billing"])
        & (t["concurrency"] != cur["concurrency"])
        & (t["rejected_per_day"] <= float(cur["rejected_per_day"]) + 1e-9)
    ]
    if conc.empty:
        return ""
    row = conc.sort_values(["monthly_cost", "concurrency"]).iloc[0]
    saving = base - float(row["monthly_cost"])
    if not _worth(saving, base):
        return ""
    return (
        f"concurrency {int(cur['concurrency'])} → {int(row['concurrency'])} cuts cost "
        f"{saving / base * 100:.0f} % ({money(saving)}/month); check that latency holds "
        "at the higher concurrency before rolling it out"
    )


def _serve_rejections(cur: pd.Series, t: pd.DataFrame, base: float) -> str:
    """With requests refused today: the max instances that serve them, all else equal, at what
    cost; else the cheapest setting that serves them for about the same cost (the most valuable
    advice: it comes first)."""
    rejected = float(cur["rejected_per_day"])
    if rejected < 1.0:
        return ""
    served = t["rejected_per_day"] < 0.1 * rejected
    same = pd.Series(True, index=t.index)
    for key in SETTING:
        if key != "max_instances":
            same &= t[key] == cur[key]
    more = t[served & same & (t["max_instances"] > cur["max_instances"])]
    if not more.empty:
        row = more.sort_values(["max_instances"]).iloc[0]
        delta = float(row["monthly_cost"]) - base
        return (
            f"max instances {int(cur['max_instances'])} → {int(row['max_instances'])} would "
            f"serve the ~{rejected:.0f} requests a day now refused with 429; cost "
            f"{'+' if delta >= 0 else '-'}{money(abs(delta))}/month"
        )
    fix = t[served & (t["monthly_cost"] <= base * 1.05 + MIN_SAVING)]
    if fix.empty:
        return ""
    row = fix.sort_values(["monthly_cost", "cold_starts_per_day"]).iloc[0]
    delta = float(row["monthly_cost"]) - base
    return (
        f"{_settings(row, cur)} would serve the ~{rejected:.0f} requests a day now refused "
        f"with 429 (max instances {int(cur['max_instances'])} reached); cost "
        f"{'+' if delta >= 0 else '-'}{money(abs(delta))}/month"
    )


def _best_alternative(w: WhatIf, base: float) -> str:
    """The best alternative on the Pareto front, when no other advice applies."""
    best = w.alternatives(1)
    if best.empty:
        return ""
    row = best.iloc[0]
    saving = base - float(row["monthly_cost"])
    if not _worth(saving, base):
        return ""
    return f"{_settings(row, w.current)} saves {money(saving)}/month ({_pct(-saving / base)})"


def _keep_current(base: float) -> str:
    return (
        f"keep the current settings: no allowed alternative saves more than "
        f"{money(max(MIN_SAVING, MIN_SAVING_SHARE * base))}/month"
    )
