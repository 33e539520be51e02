"""The cost & tuning view: observed cost, the what-if grid and its advice (no streamlit)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import pandas as pd

from actions.min_schedule import min_schedule_commands
from actions.service_update import Setting, update_command, yaml_changes
from app_data.views import quality_of
from collectors.schema import Quality, Result
from costmodel import gaps, observed, prices, service_whatif, whatif
from costmodel.errors import CannotEstimate as CannotEstimate
from costmodel.sku_book import PriceSource
from presentation.cost import CurrentVsObserved, ObservedTotals, RegionPrices
from scope import Scope

COST_METRICS = gaps.METRICS  # what the observed cost and the replay read
MIN_COST_HISTORY = timedelta(hours=24)
CPU_CHOICES = (0.5, 1.0, 2.0, 4.0)
MEMORY_CHOICES_GIB = (0.25, 0.5, 1.0, 2.0, 4.0)
CUD_CHOICES = {"": "none", **{k: c.label for k, c in prices.load().cuds.items()}}


@dataclass(frozen=True)
class Options:
    """What the Cost page's options ask of the what-if (hashable: a cache key)."""

    cpu: float | None = None  # a vCPU to price besides the current one
    memory_gib: float | None = None
    free_tier: bool = False
    cud: str = ""
    price_region: str = ""  # another region's prices ("" for the service's own)
    min_schedule: str = ""  # scheduled min instances (foundation/min_schedule.py), "" for none
    schedule_tz: str = "UTC"
    startup_cpu_boost: str = ""  # the current settings with the boost "on", "off" or "flip"
    boost_startup_percent: int = 60  # a boosted start's time, % of an unboosted one


def cost_history(scope: Scope, span: timedelta) -> Scope:
    """The scope whose window the cost model learns from: the chosen one, at least 24 h."""
    if span >= MIN_COST_HISTORY:
        return scope
    return replace(scope, window="24h", start=None, end=None)


@dataclass(frozen=True)
class Variants:
    """The current settings with scheduled min instances or the startup CPU boost changed."""

    table: pd.DataFrame  # costmodel.whatif.VARIANT_COLUMNS, the current settings first
    schedule_commands: tuple[str, ...] = ()  # what puts the schedule in place
    schedule_refused: str = ""  # why the schedule asked for cannot be carried out
    boost_on: bool = False  # the serving revision has startup CPU boost
    boost_factor: float = 0.6  # the boost variant's assumption: a boosted start's share


def variants_of(
    result: whatif.WhatIf, scope: Scope, region: str, end: datetime, unknown_429: bool
) -> Variants:
    """The what-if's variants, their 429s unknown when the request logs are incomplete, with
    the commands for the service's schedule (its floor at ``end`` set now)."""
    table = result.variants
    if unknown_429:
        table = table.assign(rejected_per_day=float("nan"))
    commands = (
        min_schedule_commands(
            result.schedule,
            project=scope.project,
            region=region,
            service=scope.service,
            revision_min=int(result.current["min_instances"]),
            now=end,
        )
        if result.schedule is not None
        else []
    )
    return Variants(
        table,
        tuple(commands),
        result.schedule_refused,
        result.startup_cpu_boost,
        result.boost_factor,
    )


@dataclass(frozen=True)
class CostView:
    service: str
    region: str
    regions: list[str]  # every region the service runs in
    history: str  # e.g. "24h" (window the model learned from)
    current: pd.Series  # the current setting's row of the what-if table
    observed: pd.DataFrame  # observed cost per revision (costmodel.observed.COLUMNS)
    table: pd.DataFrame  # the what-if grid (costmodel.whatif.COLUMNS)
    calibration_error: float  # signed fraction of observed billable time
    calibration_notes: tuple[str, ...]
    advice: list[str]
    unconfirmed: tuple[str, ...]
    price_source: str
    cannot_estimate: str  # the reason, when no estimate can be given ("" otherwise)
    quality: Quality
    totals: ObservedTotals  # of ``observed``, for its caption
    partial: str = ""  # why the estimates shown are partial ("" when they are not)
    advice_withheld: str = ""  # why no advice is given ("" when advice is given)
    vs_observed: CurrentVsObserved | None = None  # the current estimate against the observed
    elsewhere: RegionPrices | None = None  # the what-if at another region's prices
    variants: Variants = field(default_factory=lambda: Variants(pd.DataFrame()))
    project: str = ""  # the service's (the commands name it)

    @classmethod
    def refused(
        cls,
        service: str,
        region: str,
        regions: list[str],
        history: str,
        observed: pd.DataFrame,
        price_source: str,
        reason: str,
        quality: Quality,
    ) -> CostView:
        """No estimate (``reason``): the observed costs only."""
        return cls(
            service,
            region,
            regions,
            history,
            current=pd.Series(dtype=object),
            observed=observed,
            table=pd.DataFrame(),
            calibration_error=float("nan"),
            calibration_notes=(),
            advice=[],
            unconfirmed=(),
            price_source=price_source,
            cannot_estimate=reason,
            quality=quality,
            totals=observed_totals(observed),
        )


def evaluate(
    frames: Mapping[str, Result],
    minute_points: pd.DataFrame,
    *,
    region: str,
    service: str,
    start: datetime,
    end: datetime,
    options: Options,
    book: prices.PriceBook,
) -> tuple[whatif.WhatIf, list[str]]:
    """The what-if grid of one service and its advice (costmodel.service_whatif, as the
    command line gives it). Raises CannotEstimate with the reason."""
    return service_whatif.evaluate(
        minute_points,
        frames["revisions"].frame,
        frames["instance_events"].frame,
        region=region,
        service=service,
        start=start,
        end=end,
        book=book,
        free_tier=options.free_tier,
        cud=options.cud,
        cpu=options.cpu,
        memory_gib=options.memory_gib,
        price_region=options.price_region,
        min_schedule=options.min_schedule,
        schedule_tz=options.schedule_tz,
        startup_cpu_boost=options.startup_cpu_boost,
        boost_startup_percent=options.boost_startup_percent,
    )


def gaps_of(
    frames: Mapping[str, Result], minute_points: Result, *, service: str, region: str
) -> gaps.Gaps:
    """What the cost inputs of one service cannot tell (costmodel.gaps): its metric points,
    the revision configurations and the request logs, with their qualities."""
    return gaps.assess(
        minute_points.frame,
        frames["revisions"].frame,
        service=service,
        region=region,
        metrics=minute_points.quality,
        config=frames["revisions"].quality,
        logs=frames["instance_events"].quality,
    )


def build_cost(
    scope: Scope,
    frames: Mapping[str, Result],
    minute_points: Result,
    grid: tuple[whatif.WhatIf, list[str]] | str,
    *,
    region: str,
    regions: list[str],
    history: str,
    start: datetime,
    end: datetime,
    price: PriceSource,
    free_tier: bool,
    cud: str,
) -> CostView:
    """The view; ``grid`` is the what-if and its advice, or the reason it cannot be given.

    Figures the inputs cannot support (``gaps_of``) are not shown as if complete: a revision's
    cost is blanked with the reason, the what-if is refused while any revision's cost is
    unknown, and with the request logs incomplete the what-if is marked partial, its 429
    figures are unknown and no advice is given."""
    book = price.book
    revs = frames["revisions"].frame
    mine = revs[(revs["service"] == scope.service) & (revs["location"] == region)]
    seen = observed.observed_costs(minute_points.frame, mine, start=start, end=end, book=book)
    holes = gaps_of(frames, minute_points, service=scope.service, region=region)
    project = scope.project
    seen = gaps.mark_observed(seen, holes, project=project, service=scope.service, region=region)
    quality = minute_points.quality.merge(quality_of(frames, "revisions", "instance_events"))
    if holes.whatif:
        grid = holes.whatif
    if isinstance(grid, str):
        return CostView.refused(
            scope.service, region, regions, history, seen, price.text, grid, quality
        )
    result, tips = grid
    table, current = result.table, result.current
    partial = withheld = ""
    if holes.rejections:
        # The 429s are unknown, and so are the estimates of settings that would serve them.
        table = table.assign(rejected_per_day=float("nan"))
        current = current.copy()
        current["rejected_per_day"] = float("nan")
        partial = (
            f"requests refused with 429 are unknown because {holes.rejections}; settings "
            "that would serve them may cost more than shown"
        )
        withheld = f"{holes.rejections}: advice built on partial data could mislead"
        tips = []
    elsewhere = None
    if result.price_region:
        there = float(current["monthly_cost"])
        elsewhere = RegionPrices(region, result.home_cost, result.price_region, there)
        withheld = withheld or service_whatif.no_advice_elsewhere(
            result.price_region, region, scope.service
        )
    return CostView(
        service=scope.service,
        region=region,
        regions=regions,
        history=history,
        current=current,
        observed=seen,
        table=table,
        calibration_error=result.calibration.billable_error,
        calibration_notes=result.calibration.notes,
        advice=tips,
        unconfirmed=result.unconfirmed,
        price_source=price.text,
        cannot_estimate="",
        quality=quality,
        totals=observed_totals(seen),
        partial=partial,
        advice_withheld=withheld,
        vs_observed=current_vs_observed(
            observed_totals(seen), result, free_tier=free_tier, cud=cud
        ),
        elsewhere=elsewhere,
        variants=variants_of(result, scope, region, end, bool(holes.rejections)),
        project=scope.project,
    )


def apply_lines(view: CostView, chosen: Mapping[str, object]) -> tuple[str, list[str]]:
    """The command that applies the ``chosen`` setting (SETTING keys) to the view's service and
    the YAML lines it changes ("" and [] when it is the current setting)."""
    current, new = Setting.of(view.current), Setting.of(chosen)
    command = update_command(
        current, new, project=view.project, region=view.region, service=view.service
    )
    return command, yaml_changes(current, new)


def observed_totals(observed_cost: pd.DataFrame) -> ObservedTotals:
    """What the observed-cost caption sums up (presentation.observed_caption words it): the
    projected month of the revisions whose cost is known, its idle min instances (the same
    figure as the overview's flag), and the revisions whose cost is unknown, per reason."""
    known = observed_cost[observed_cost["cannot_estimate"] == ""]
    unknown = observed_cost[observed_cost["cannot_estimate"] != ""]
    return ObservedTotals(
        monthly=float(known["monthly_total"].sum()),
        idle_monthly=float(known["monthly_idle_min"].sum()),
        any_known=len(known) > 0,
        unknown=tuple(
            (str(reason), tuple(g["revision"].astype(str)))
            for reason, g in unknown.groupby("cannot_estimate", sort=False)
        ),
    )


def current_vs_observed(
    totals: ObservedTotals, result: whatif.WhatIf, *, free_tier: bool, cud: str
) -> CurrentVsObserved | None:
    """The current estimate against the observed projection (None while a revision's observed
    cost is unknown: there is no projection to compare with)."""
    if totals.unknown or not totals.any_known:
        return None
    estimate = result.home_cost  # where the service runs, as observed (whatever the table's prices)
    discount = CUD_CHOICES.get(cud, "") if cud else ""
    return CurrentVsObserved(
        observed=totals.monthly,
        replayed=result.current_list_cost,
        estimate=estimate,
        model_error=result.current_list_cost - totals.monthly,
        adjustments=estimate - result.current_list_cost,
        free_tier=free_tier,
        discount=discount,
    )


def config_failure(frames: Mapping[str, Result]) -> str:
    """Why the revision configurations are incomplete, in the collector's words ("" if not)."""
    return gaps.problem(frames["revisions"].quality)


def service_regions(frames: Mapping[str, Result], service: str) -> list[str]:
    revs = frames["revisions"].frame
    return sorted(set(revs.loc[revs["service"] == service, "location"]))
