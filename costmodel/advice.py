"""Plain-words recommendations with the numbers behind them, from a what-if table.

Never advises from data too thin to support it: the caller gets CannotEstimate before this
module is reached (calibrate.check_enough); here, a calibration error above
``MAX_TRUSTED_ERROR`` turns advice into a warning, and savings below ``MIN_SAVING`` (dollars a
month and share of the bill) are not worth a recommendation.
"""

from __future__ import annotations

import pandas as pd

from costmodel.bill import money
from costmodel.whatif import WhatIf

MAX_TRUSTED_ERROR = 0.25
MIN_SAVING = 1.0  # dollars a month
MIN_SAVING_SHARE = 0.05


def _pct(x: float) -> str:
    return f"{x * 100:+.0f} %".replace("+-", "-")


def _settings(row: pd.Series) -> str:
    return (
        f"concurrency {int(row['concurrency'])}, min instances {int(row['min_instances'])}, "
        f"{row['billing']}-based billing"
    )


def advise(w: WhatIf, *, startup_s: float | None = None) -> list[str]:
    """Recommendations, most valuable first; each sentence carries its numbers."""
    cur = w.current
    t = w.table[w.table["allowed"] & ~w.table["current"]]
    out: list[str] = []
    err = w.calibration.billable_error
    if abs(err) > MAX_TRUSTED_ERROR:
        return [
            f"no recommendation: the model misses the observed billable time by {_pct(err)}, "
            f"more than the {MAX_TRUSTED_ERROR * 100:.0f} % it needs to be trusted"
        ]
    base = float(cur["monthly_cost"])
    cold = f" of ~{startup_s:.1f} s" if startup_s else ""

    def worth(saving: float) -> bool:
        return saving >= MIN_SAVING and saving >= MIN_SAVING_SHARE * max(base, 1e-9)

    same = t[
        (t["concurrency"] == cur["concurrency"]) & (t["min_instances"] == cur["min_instances"])
    ]
    other = same[same["billing"] != cur["billing"]]
    if not other.empty:
        row = other.iloc[0]
        saving = base - float(row["monthly_cost"])
        if worth(saving):
            busy = float(cur["busy_share"])
            out.append(
                f"switch to {row['billing']}-based billing: instances are busy {busy * 100:.0f} % "
                f"of the time; saves {money(saving)}/month ({_pct(-saving / base)})"
            )
    mins = t[
        (t["concurrency"] == cur["concurrency"])
        & (t["billing"] == cur["billing"])
        & (t["min_instances"] < cur["min_instances"])
    ]
    for _, row in mins.sort_values("min_instances").head(1).iterrows():
        saving = base - float(row["monthly_cost"])
        extra = float(row["cold_starts_per_day"]) - float(cur["cold_starts_per_day"])
        if worth(saving):
            out.append(
                f"min instances {int(cur['min_instances'])} → {int(row['min_instances'])} saves "
                f"{money(saving)}/month and adds about {max(extra, 0):.0f} cold starts a day{cold}"
            )
    conc = t[
        (t["min_instances"] == cur["min_instances"])
        & (t["billing"] == cur["billing"])
        & (t["concurrency"] != cur["concurrency"])
        & (t["rejected_per_day"] <= float(cur["rejected_per_day"]) + 1e-9)
    ]
    if not conc.empty:
        row = conc.sort_values(["monthly_cost", "concurrency"]).iloc[0]
        saving = base - float(row["monthly_cost"])
        if worth(saving):
            out.append(
                f"concurrency {int(cur['concurrency'])} → {int(row['concurrency'])} cuts cost "
                f"{saving / base * 100:.0f} % ({money(saving)}/month); check that latency holds "
                "at the higher concurrency before rolling it out"
            )
    rejected = float(cur["rejected_per_day"])
    if rejected >= 1.0:
        fix = t[
            (t["rejected_per_day"] < 0.1 * rejected)
            & (t["monthly_cost"] <= base * 1.05 + MIN_SAVING)
        ]
        if not fix.empty:
            row = fix.sort_values(["monthly_cost", "cold_starts_per_day"]).iloc[0]
            delta = float(row["monthly_cost"]) - base
            out.insert(
                0,
                (
                    f"{_settings(row)} would serve the ~{rejected:.0f} requests a day now refused "
                    f"with 429 (max instances {int(cur['max_instances'])} reached); cost "
                    f"{'+' if delta >= 0 else '-'}{money(abs(delta))}/month"
                ),
            )
    best = w.alternatives(1)
    if not best.empty and not out:
        row = best.iloc[0]
        saving = base - float(row["monthly_cost"])
        if worth(saving):
            out.append(f"{_settings(row)} saves {money(saving)}/month ({_pct(-saving / base)})")
    if not out:
        out.append(
            f"keep the current settings: no allowed alternative saves more than "
            f"{money(max(MIN_SAVING, MIN_SAVING_SHARE * base))}/month"
        )
    if w.unconfirmed:
        out.append("note: figures use unconfirmed rates (" + ", ".join(w.unconfirmed) + ")")
    return out
