"""The Cost page's and the overview's cost wording: observed totals and their caption, the current
estimate against the observed projection, the price source, the calibration, an estimate's
figures, the heatmap's title, and the scheduled-min and startup-boost variants' table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from costmodel import boost
from presentation import CostChange, Figure, delta_text, dollars, per_day, percent
from presentation.columns import ColumnFormat


@dataclass(frozen=True)
class ObservedTotals:
    """What the observed-cost caption says (app_data.costview.observed_totals)."""

    monthly: float  # the projected month of the revisions whose cost is known
    idle_monthly: float  # of which idle min instances (the overview's flag)
    any_known: bool
    unknown: tuple[tuple[str, tuple[str, ...]], ...]  # (reason, revisions) per reason


@dataclass(frozen=True)
class CurrentVsObserved:
    """The current setting's estimate against the observed projection, and what parts them
    (app_data.costview.current_vs_observed): the model's error, the free tier, a discount."""

    observed: float  # the projected month of the observed cost, at list price
    replayed: float  # the current setting replayed, at list price
    estimate: float  # the current setting's estimate as shown (free tier, discount applied)
    model_error: float  # replayed - observed
    adjustments: float  # estimate - replayed (<= 0)
    free_tier: bool
    discount: str  # the committed use discount's label, "" for none


def current_vs_observed_caption(c: CurrentVsObserved) -> str:
    """Why the current setting's estimate differs from the observed projection, in dollars."""
    applied = [
        n for n, on in (("the free tier", c.free_tier), (c.discount, bool(c.discount))) if on
    ]
    parts = [f"the model's error {c.model_error:+,.2f} $"]
    if applied:
        parts.append(f"{' and '.join(applied)} {c.adjustments:+,.2f} $")
    return (
        f"The current setting's estimate, {dollars(c.estimate)}/month, against the observed "
        f"{dollars(c.observed)}/month at list price: {', '.join(parts)} (replayed at list "
        f"price: {dollars(c.replayed)}/month)."
    )


@dataclass(frozen=True)
class RegionPrices:
    """The current setting at the service's own region's prices and at another region's."""

    here: str  # where the service runs
    here_cost: float  # a month there
    there: str  # the region whose prices the what-if uses
    there_cost: float  # a month at its prices (the same replayed traffic)


def region_caption(r: RegionPrices) -> str:
    """What pricing the what-if at another region says, and what it leaves out."""
    change = (
        f" ({(r.there_cost - r.here_cost) / r.here_cost * 100:+.0f} %)"
        if r.here_cost > 0 and math.isfinite(r.there_cost)
        else ""
    )
    return (
        f"At {r.there}'s prices the current settings would cost {dollars(r.there_cost)}/month, "
        f"against {dollars(r.here_cost)}/month in {r.here}{change}. The same traffic replayed: "
        "only the prices change; latency, traffic between regions and where the data lives "
        "are not modelled."
    )


def prices_caption(price_source: str) -> str:
    """Where the cost columns' prices come from (views.PriceSource.text)."""
    return f"Costs at list prices without the free tier. Prices: {price_source}"


def observed_caption(t: ObservedTotals, price_source: str) -> str:
    note = (
        f" · idle min instances ${t.idle_monthly:,.2f}/month of it"
        if t.idle_monthly >= 0.01
        else ""
    )
    head = (
        "From billable instance time, CPU/memory allocation and requests; without the free "
        "tier (it belongs to the billing account). "
    )
    prices_note = f". Prices: {price_source}"
    if not t.unknown:
        return f"{head}Projected: ${t.monthly:,.2f}/month{note}{prices_note}"
    why = "; ".join(f"{', '.join(revs)}: {reason}" for reason, revs in t.unknown)
    rest = (
        f" The revisions whose cost is known add up to ${t.monthly:,.2f}/month{note} (partial)."
        if t.any_known
        else ""
    )
    return f"{head}Projected total: unknown, the cost of {why}.{rest}{prices_note.lstrip('.')}"


def calibration_caption(error: float, notes: Sequence[str], history: str) -> str:
    extra = (" " + " ".join(notes)) if notes else ""
    return (
        f"Replaying the current settings reproduces the observed billable time within "
        f"{100 * error:+.1f} %; estimates carry this error. Learned from the last "
        f"{history} of traffic.{extra}"
    )


class Estimate(CostChange, Protocol):
    """A what-if estimate (insights.tuning.Pick, allowed)."""

    @property
    def monthly_cost(self) -> float: ...

    @property
    def error_band(self) -> float: ...

    @property
    def cold_starts_per_day(self) -> float: ...

    @property
    def cold_starts_delta(self) -> float: ...

    @property
    def cold_start_share(self) -> float: ...

    @property
    def rejected_per_day(self) -> float: ...


def estimate_figures(p: Estimate) -> list[Figure]:
    """The what-if estimate's four figures."""
    return [
        Figure(
            "Monthly cost",
            dollars(p.monthly_cost),
            delta_text(p),
            help=f"± ${p.error_band:,.2f} from the model's error",
            inverse=True,
        ),
        Figure(
            "Cold starts / day",
            f"{p.cold_starts_per_day:,.1f}",
            f"{p.cold_starts_delta:+,.1f}",
            inverse=True,
        ),
        Figure("Requests meeting a cold start", percent(p.cold_start_share)),
        Figure("Rejected (429) / day", per_day(p.rejected_per_day)),
    ]


def heatmap_title(
    billing: str, cpu: float, memory_gib: float, max_instances: int, price_region: str = ""
) -> str:
    at = f", at {price_region}'s prices" if price_region else ""
    return (
        f"Monthly cost, {billing}-based billing, {cpu:g} vCPU, {memory_gib:g} GiB, "
        f"max {max_instances} instances{at}"
    )


VARIANT_FORMATS = {
    "monthly_cost": ColumnFormat("monthly cost", "$%.2f"),
    "vs_current": ColumnFormat("vs current ($/month)", "%+.2f"),
    "cold_starts_per_day": ColumnFormat("cold starts / day", "%.1f"),
    "cold_start_share": ColumnFormat("requests meeting a cold start (%)", "%.3f"),
    "rejected_per_day": ColumnFormat("rejected (429) / day", "%.0f"),
    "startup_s": ColumnFormat("mean startup (s)", "%.2f"),
}


def variants_table(variants: pd.DataFrame) -> pd.DataFrame:
    """The current settings and their scheduled-min and boost variants, for a table: the
    change against the current row (the first), shares as percentages."""
    if variants.empty:
        return pd.DataFrame(columns=["variant", *VARIANT_FORMATS])
    base = float(variants["monthly_cost"].iloc[0])
    return pd.DataFrame(
        {
            "variant": variants["variant"],
            "monthly_cost": variants["monthly_cost"],
            "vs_current": variants["monthly_cost"] - base,
            "cold_starts_per_day": variants["cold_starts_per_day"],
            "cold_start_share": variants["cold_start_share"] * 100.0,
            "rejected_per_day": variants["rejected_per_day"],
            "startup_s": variants["startup_s"],
        }
    )


def boost_label(current_on: bool) -> str:
    """The boost toggle's words: the change from the current settings."""
    return f"Compare with startup CPU boost {'off' if current_on else 'on'}"


SCHEDULE_HELP = (
    "Min instances only at given hours and days, e.g. 2@mon-fri 08:00-20:00; 0 otherwise "
    "(days mon..sun, ranges, lists or daily; a window past midnight ends the next day; "
    "without 'N otherwise' the current min holds outside the windows)"
)


APPLY_NOTE = (
    "It deploys a new revision with these settings, which takes the traffic unless the "
    "service pins its traffic to a revision; runwatch never runs it (its identity is "
    "read-only)."
)


def boost_note(factor: float) -> str:
    """The boost variant's assumptions (``factor``: a boosted start's share of an unboosted
    one, the setting RUNWATCH_BOOST_STARTUP_PERCENT)."""
    return (
        f"Startup CPU boost: a boosted start is assumed to take {factor:.0%} of the time of an "
        f"unboosted one (RUNWATCH_BOOST_STARTUP_PERCENT) and its extra vCPU to be billed "
        f"during the start and {boost.AFTER_READY_S:g} s after; Google publishes neither "
        "(unconfirmed)."
    )
