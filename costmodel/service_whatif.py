"""The what-if of one running service, as the Cost page and ``python -m costmodel whatif``
both give it: the service's input from its frames, the grid under the chosen prices and free
tier, and the advice. One pipeline, so the page and the command line print the same numbers for
the same window (tests/test_cost_cli_page.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pandas as pd

from costmodel import advice, inputs, whatif
from costmodel.prices import PriceBook
from foundation.min_schedule import InvalidSchedule, MinSchedule


def startup_s(events: pd.DataFrame, service: str) -> float | None:
    """The service's observed startup time the advice weighs a cold start with: the median of
    its logged starts' startup latencies (None when none was logged)."""
    if events.empty:
        return None
    mine = events[(events["service"] == service) & (events["event"] == "start")]
    startup = mine["startup_ms"].dropna()
    return float(startup.median()) / 1000 if len(startup) else None


def evaluate(
    points: pd.DataFrame,
    revisions: pd.DataFrame,
    events: pd.DataFrame,
    *,
    region: str,
    service: str,
    start: datetime,
    end: datetime,
    book: PriceBook,
    free_tier: bool,
    cud: str = "",
    cpu: float | None = None,
    memory_gib: float | None = None,
    price_region: str = "",
    advise: bool = True,
    min_schedule: str = "",
    schedule_tz: str = "UTC",
    startup_cpu_boost: str = "",
    boost_startup_percent: int = 60,
) -> tuple[whatif.WhatIf, list[str]]:
    """The grid (``cpu``/``memory_gib``: a size to price besides the current one;
    ``price_region``: another region's prices) and its advice (none when ``advise`` is False:
    the inputs cannot support it; none either at another region's prices, which only say what
    the same traffic would cost there); ``min_schedule`` (foundation/min_schedule.py, its base
    the serving min instances unless it says one, in ``schedule_tz``) and
    ``startup_cpu_boost`` ("on", "off", "flip": the other of the serving revision's, "": no
    change; a boosted start taking ``boost_startup_percent`` % of an unboosted one): the
    current settings so changed, in the result's variants (a schedule
    that cannot be carried out: none, and why in ``schedule_refused``). Raises
    CannotEstimate."""
    data = inputs.service_input(
        points, revisions, region=region, service=service, start=start, end=end, events=events
    )
    schedule, refused = None, ""
    if min_schedule:
        try:
            schedule = MinSchedule.parse(
                min_schedule,
                base=data.serving.min_instances,
                tz=schedule_tz,
                max_instances=data.serving.max_instances,
            )
        except InvalidSchedule as exc:
            refused = str(exc)
    result = whatif.evaluate(
        data,
        cpus=(cpu,) if cpu else None,
        memories=(memory_gib,) if memory_gib else None,
        free_tier="all" if free_tier else "none",
        cud=cud or None,
        book=book,
        price_region=price_region or None,
        schedule=schedule,
        startup_cpu_boost=_boost(startup_cpu_boost, data.serving.startup_cpu_boost),
        boost_factor=boost_startup_percent / 100.0,
    )
    if refused:
        result = replace(result, schedule_refused=refused)
    if not advise or result.price_region:
        return result, []
    return result, advice.advise(result, startup_s=startup_s(events, service))


def no_advice_elsewhere(price_region: str, region: str, service: str) -> str:
    """Why there is no advice at another region's prices (the page and the command line say
    it alike)."""
    return (
        f"the estimates use {price_region}'s prices, and the advice is for {region}, where "
        f"{service} runs"
    )


def _boost(asked: str, serving: bool) -> bool | None:
    """The boost the variant runs with: "on", "off", "flip" (the other of ``serving``) or ""
    (none asked: None)."""
    if asked not in {"", "on", "off", "flip"}:
        raise ValueError(f"startup CPU boost must be on, off or flip, got {asked!r}")
    return None if not asked else (not serving if asked == "flip" else asked == "on")
