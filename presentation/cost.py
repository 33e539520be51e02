"""The Cost page's and the overview's cost wording: observed totals and their caption, the current
estimate against the observed projection, the price source, the calibration, an estimate's
figures and the heatmap's title."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from presentation import CostChange, Figure, delta_text, dollars, per_day, percent


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
