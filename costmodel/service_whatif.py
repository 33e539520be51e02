"""The what-if of one running service, as the Cost page and ``python -m costmodel whatif``
both give it: the service's input from its frames, the grid under the chosen prices and free
tier, and the advice. One pipeline, so the page and the command line print the same numbers for
the same window (tests/test_cost_cli_page.py)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from costmodel import advice, inputs, whatif
from costmodel.prices import PriceBook


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
) -> tuple[whatif.WhatIf, list[str]]:
    """The grid (``cpu``/``memory_gib``: a size to price besides the current one;
    ``price_region``: another region's prices) and its advice (none when ``advise`` is False:
    the inputs cannot support it; none either at another region's prices, which only say what
    the same traffic would cost there). Raises CannotEstimate."""
    data = inputs.service_input(
        points, revisions, region=region, service=service, start=start, end=end, events=events
    )
    result = whatif.evaluate(
        data,
        cpus=(cpu,) if cpu else None,
        memories=(memory_gib,) if memory_gib else None,
        free_tier="all" if free_tier else "none",
        cud=cud or None,
        book=book,
        price_region=price_region or None,
    )
    if not advise or result.price_region:
        return result, []
    return result, advice.advise(result, startup_s=startup_s(events, service))
