"""Which cost figures the inputs cannot support: missing or partial metrics, configuration, logs.

A cost computed from incomplete inputs must never pass for a complete one. The collectors mark
each frame's quality (complete, truncated, partial, stale); ``assess`` turns the qualities of
the three inputs and the data itself into a decision per figure:

- a revision's observed cost needs its configuration (prices depend on its vCPU, memory and
  billing mode) and complete metric points of the service; a revision that was billed in the
  window but whose configuration is missing (ListRevisions failed, so only the latest revision
  of each service was described from its service template) has an unknown cost, and so has the
  service's total;
- the current monthly cost, the what-if grid and its calibration replay every revision's
  traffic with its configuration: unknown when any revision's cost is unknown;
- the 429 rejections come from the request logs: with the logs incomplete they are unknown,
  and so are the estimates that serve that demand under other settings; the what-if is then
  partial and gives no advice.

Stale data (the last good result of an earlier load) is complete for its own window: it is
shown, marked stale by the caller, not refused here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

from costmodel.observed import AMOUNTS

# The metrics the observed cost and the replay read (costmodel.traffic.from_metric_points).
METRICS = (
    "request_count",
    "request_latencies",
    "instance_count",
    "billable_instance_time",
    "cpu_allocation_time",
    "memory_allocation_time",
    "startup_latencies",
    "cpu_utilizations",
)
TRUSTED = ("complete", "stale")


class QualityLike(Protocol):
    """What ``assess`` reads of a collector's quality (collectors.schema.Quality)."""

    @property
    def status(self) -> str: ...

    @property
    def reasons(self) -> tuple[str, ...]: ...


def problem(quality: QualityLike, region: str = "") -> str:
    """Why an input cannot be trusted for a cost figure, in the collector's words ("" if it can).

    With ``region``, only the reasons about that region when some are (collectors.services
    starts each region's note with "<region>: "); a failure elsewhere is not this region's."""
    if quality.status in TRUSTED:
        return ""
    reasons = list(quality.reasons)
    mine = [r for r in reasons if region and r.startswith(f"{region}: ")]
    return "; ".join(mine or reasons) or f"the data is {quality.status}"


@dataclass(frozen=True)
class Gaps:
    """What cannot be known from the inputs, each with the reason ("" when known)."""

    metrics: str = ""  # the service's metric points are incomplete: why
    config: str = ""  # the revision configurations are incomplete: why
    logs: str = ""  # the request logs are incomplete: why
    unconfigured: tuple[str, ...] = ()  # revisions billed in the window without configuration
    revisions: dict[str, str] = field(default_factory=dict)  # revision -> why its cost is unknown

    @property
    def whatif(self) -> str:
        """Why the current cost and the what-if are unknown ("" when they can be estimated)."""
        if self.metrics:
            return f"the service's metrics are incomplete ({self.metrics})"
        if self.unconfigured:
            its = "its" if len(self.unconfigured) == 1 else "their"
            return (
                f"the configuration of {_names(self.unconfigured)} is unknown "
                f"({self.config or 'the Admin API did not list it'}), so {its} cost is unknown"
            )
        return ""

    @property
    def rejections(self) -> str:
        """Why the 429 rejections (and the advice built on them) are unknown ("" if known)."""
        if self.logs:
            return f"the request logs are incomplete ({self.logs})"
        return ""

    @property
    def complete(self) -> bool:
        return not (self.whatif or self.rejections or self.revisions)

    def failed(self) -> list[tuple[str, str]]:
        """The inputs that failed or are incomplete: (short name, the collector's reasons)."""
        named = (
            ("metrics", self.metrics),
            ("revision configuration", self.config),
            ("request logs", self.logs),
        )
        return [(name, why) for name, why in named if why]


def _names(revisions: tuple[str, ...]) -> str:
    return ("revision " if len(revisions) == 1 else "revisions ") + ", ".join(revisions)


def billed_revisions(points: pd.DataFrame, *, service: str, region: str) -> list[str]:
    """Revisions of the service with requests or billable time in ``points``, sorted."""
    if points.empty:
        return []
    sel = points[
        (points["service"] == service)
        & (points["location"] == region)
        & points["metric"].isin(("request_count", "billable_instance_time"))
        & (points["value"] > 0)
    ]
    return sorted(str(r) for r in set(sel["revision"]))


def assess(
    points: pd.DataFrame,
    revisions: pd.DataFrame,
    *,
    service: str,
    region: str,
    metrics: QualityLike,
    config: QualityLike,
    logs: QualityLike | None,
) -> Gaps:
    """The gaps of one service's cost inputs: ``points`` (its metric points), ``revisions``
    (REVISIONS, any services), and the qualities of the three (``logs`` None: not read)."""
    mine = revisions[(revisions["service"] == service) & (revisions["location"] == region)]
    known = {str(r) for r in mine["revision"]}
    unconfigured = tuple(
        r for r in billed_revisions(points, service=service, region=region) if r not in known
    )
    metrics_p, config_p = problem(metrics), problem(config, region)
    logs_p = problem(logs) if logs is not None else ""
    why: dict[str, str] = {}
    if metrics_p:
        for rev in sorted(known):
            why[rev] = f"unknown because the service's metrics are incomplete ({metrics_p})"
    for rev in unconfigured:
        why[rev] = (
            f"unknown because its configuration could not be read ({config_p})"
            if config_p
            else "unknown because the Admin API did not list this revision"
        )
    return Gaps(metrics_p, config_p, logs_p, unconfigured, why)


def mark_observed(
    table: pd.DataFrame, gaps: Gaps, *, project: str, service: str, region: str
) -> pd.DataFrame:
    """costmodel.observed.observed_costs' table with every cost the gaps make unknown blanked
    (NaN) and its reason in ``cannot_estimate``; revisions billed without configuration get a
    row of their own."""
    if not gaps.revisions:
        return table
    money = list(AMOUNTS)
    out = table.copy()
    listed = set(out["revision"].astype(str))
    for rev in gaps.revisions:
        if rev not in listed:
            row: dict[str, object] = dict.fromkeys(out.columns)
            row.update(project_id=project, location=region, service=service, revision=rev)
            row.update(billing="", tier="", unconfirmed="", cannot_estimate="")
            if len(out):
                row["window_days"] = out["window_days"].iloc[0]
            out = pd.concat([out, pd.DataFrame([row])], ignore_index=True)
    hit = out["revision"].astype(str).isin(list(gaps.revisions))
    out.loc[hit, money] = float("nan")
    out.loc[hit, "cannot_estimate"] = out.loc[hit, "revision"].astype(str).map(gaps.revisions)
    return out.astype(dict(table.dtypes))
