"""Collector frames -> the what-if's input for one service (pure pandas, no Google clients)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from costmodel.calibrate import RevisionInput
from costmodel.errors import CannotEstimate, refuse_gpus
from costmodel.traffic import Config, from_metric_points, rejections_per_minute
from costmodel.whatif import ServiceInput


def service_input(
    points: pd.DataFrame,
    revisions: pd.DataFrame,
    *,
    region: str,
    service: str,
    start: datetime,
    end: datetime,
    events: pd.DataFrame | None = None,
) -> ServiceInput:
    """Per-revision traffic (trimmed to each revision's active span) and the serving config.

    The serving configuration is that of the newest revision that served requests in the last
    hour of the window (else the newest revision): what a settings change would start from.
    Raises CannotEstimate when configuration is missing or a revision uses GPUs.
    """
    revs = revisions[(revisions["service"] == service) & (revisions["location"] == region)]
    if revs.empty:
        raise CannotEstimate(
            f"no configuration was found for service {service!r} in {region} (the Admin API "
            "listed no revisions)"
        )
    revs = revs.sort_values("create_time")
    inputs: list[RevisionInput] = []
    recent: list[tuple[object, Config]] = []
    for row in revs.to_dict("records"):
        config = Config.from_row({str(k): v for k, v in row.items()})
        refuse_gpus(config.gpu, f"revision {row['revision']}")
        rejected = (
            None
            if events is None or events.empty
            else rejections_per_minute(events, revision=str(row["revision"]), start=start, end=end)
        )
        traffic = from_metric_points(
            points,
            revision=str(row["revision"]),
            service=service,
            start=start,
            end=end,
            config=config,
            rejected=rejected,
        )
        lo, hi = traffic.active_span()
        if hi > lo:
            inputs.append(RevisionInput(str(row["revision"]), traffic.trimmed(lo, hi), config))
        if traffic.requests[-60:].sum() > 0:
            recent.append((row["create_time"], config))
    serving = (
        recent[-1][1]
        if recent
        else Config.from_row({str(k): v for k, v in revs.to_dict("records")[-1].items()})
    )
    return ServiceInput(
        region=region,
        service=service,
        revisions=inputs,
        serving=serving,
        window_days=(end - start).total_seconds() / 86_400.0,
    )
