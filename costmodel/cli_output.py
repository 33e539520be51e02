"""What ``python -m costmodel`` prints: an estimate's lines, a what-if's figures as plain values
(its --json output) and their text."""

from __future__ import annotations

import math
from typing import Any

from costmodel.bill import money
from costmodel.service_whatif import no_advice_elsewhere
from costmodel.whatif import SETTING, VARIANT_COLUMNS, WhatIf


def print_estimate(out: dict[str, Any]) -> None:
    print(f"{'line':44s} {'quantity':>16s} {'unit':18s} {'unit price':>12s} {'cost':>10s}")
    for ln in out["lines"]:
        print(
            f"{ln['name']:44s} {ln['quantity']:16,.2f} {ln['unit']:18s} "
            f"{ln['unit_price']:12.8g} {money(ln['cost']):>10s}"
        )
    print(
        f"{'total a month (' + out['region'] + ', Tier ' + out['tier'] + ')':44s} "
        f"{'':16s} {'':18s} {'':12s} {money(out['total']):>10s}"
    )
    if out["unconfirmed_rates"]:
        print("unconfirmed rates used: " + ", ".join(out["unconfirmed_rates"]))
    print(f"prices: {out['price_source']} (as of {out['prices_as_of']})")


_SETTING_KEYS = (
    *SETTING,
    "monthly_cost",
    "cold_starts_per_day",
    "cold_start_share",
    "rejected_per_day",
)


def _setting(row: Any, unknown_429: bool) -> dict[str, Any]:
    """One what-if row as plain values; 429s unknown when the logs are incomplete."""
    values = {k: (row[k].item() if hasattr(row[k], "item") else row[k]) for k in _SETTING_KEYS}
    if unknown_429:
        values["rejected_per_day"] = None  # unknown: the logs are incomplete
    return values


def whatif_figures(w: WhatIf, tips: list[str], rejections_unknown: str) -> dict[str, Any]:
    """The what-if's part of the output: current, alternatives, calibration error, unconfirmed
    rates, and either the advice or why the figures are partial (``rejections_unknown``: why
    the 429s are unknown, "" when they are known)."""
    unknown_429 = bool(rejections_unknown)
    out: dict[str, Any] = {
        "current": _setting(w.current, unknown_429),
        "alternatives": [_setting(r, unknown_429) for _, r in w.alternatives(5).iterrows()],
        "calibration_error": w.calibration.billable_error,
        "price_region": w.price_region,  # "" for the service's own region
        "home_cost": w.home_cost,  # the current setting where it runs
        "unconfirmed_rates": list(w.unconfirmed),
        "advice": tips,
        "variants": [
            {k: (r[k].item() if hasattr(r[k], "item") else r[k]) for k in VARIANT_COLUMNS}
            | ({"rejected_per_day": None} if unknown_429 else {})
            for _, r in w.variants.iterrows()
        ],
    }
    if unknown_429:
        out["partial"] = (
            f"requests refused with 429 are unknown because {rejections_unknown}; settings "
            "that would serve them may cost more than shown, and no advice is given"
        )
    return out


def print_whatif(out: dict[str, Any]) -> None:
    print(f"{out['service']} ({out['region']}), {out['window']['start']} .. {out['window']['end']}")
    print(f"prices: {out['prices']}")
    if "free_tier" in out:
        print(f"monthly free tier: {'applied' if out['free_tier'] else 'not applied'}")
    for failed in out["quality"]["failed"]:
        print(f"partial data, {failed}")
    if out["unknown"]:
        print(f"current cost: unknown because {out['unknown']}")
        print("no estimate, no alternatives and no advice from partial data")
        return
    print(f"model error against observed billable time: {out['calibration_error'] * 100:+.1f} %")
    if out["price_region"]:
        print(
            f"at {out['price_region']}'s prices (the same traffic; latency not modelled); "
            f"current settings in {out['region']}: {money(out['home_cost'])}/month"
        )

    def line(r: dict[str, Any]) -> str:
        shown = _rejected(r, 7)
        return (
            f"concurrency {r['concurrency']:>4}  min {r['min_instances']}  "
            f"max {r['max_instances']:>4}  {r['billing']:8s}"
            f"  {money(r['monthly_cost']):>10s}/month  {r['cold_starts_per_day']:7.1f} cold "
            f"starts/day  {shown:>7s} rejected/day"
        )

    print("current:      " + line(out["current"]))
    for r in out["alternatives"]:
        print("alternative:  " + line(r))
        if r.get("command"):
            print("  apply with: " + r["command"])
    if out["partial"]:
        print(f"partial: {out['partial']}")
    for tip in out["advice"]:
        print("advice: " + tip)
    _print_variants(out)
    if out["price_region"]:
        why = no_advice_elsewhere(out["price_region"], out["region"], out["service"])
        print(f"advice: none, because {why} (leave out --price-region for it)")


def _rejected(row: dict[str, Any], width: int = 0) -> str:
    """A row's 429s a day, "unknown" when the logs could not tell."""
    rejected = row["rejected_per_day"]
    return "unknown" if rejected is None else f"{rejected:{width}.0f}"


def _startup(seconds: float) -> str:
    """A variant's mean startup; none where no instance starts in the replay (NaN there)."""
    return "no instance starts" if math.isnan(seconds) else f"startup {seconds:.2f} s"


def _print_variants(out: dict[str, Any]) -> None:
    """The current settings with a scheduled min or the startup CPU boost changed, and the
    commands that put a schedule in place."""
    if len(out["variants"]) <= 1:
        return
    print("the current settings changed:")
    for v in out["variants"]:
        shown = _rejected(v)
        print(
            f"  {v['variant']}: {money(v['monthly_cost'])}/month, "
            f"{v['cold_starts_per_day']:.1f} cold starts/day "
            f"({v['cold_start_share'] * 100:.2f} % of requests meet one), "
            f"{shown} rejected/day, {_startup(v['startup_s'])}"
        )
    for line in out.get("schedule_commands", []):
        print(line)
