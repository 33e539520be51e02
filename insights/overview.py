"""The fleet overview: one row per service with the figures an on-call engineer scans first.

Inputs are window totals (METRIC_POINTS with one period covering the window: requests per
revision and response class, instance-minutes and peak instances per revision and state,
service-level merged latency and startup histograms), REVISIONS, TRAFFIC and the cost model's
per-service costs; the trend is a per-service request series at a coarse alignment. Nothing
here needs a service's per-minute series. Unknown stays unknown: a figure that cannot be
computed is NaN and shown as "—", never as 0.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from foundation.window import TimeWindow
from insights.frames import (
    REV_KEYS,
    SVC_KEYS,
    bound,
    requests_by_class,
    safe_ratio,
    select,
    total,
)
from insights.revisions import Verdict, judge, verdict_cells

COLUMNS = {
    "project_id": "string",
    "location": "string",
    "service": "string",
    "flags": "string",
    "requests_per_s": "float64",
    "error_5xx_pct": "float64",
    "p95_bound": "string",  # "<" / ">": p95_ms is the layout's bound, the p95 beyond it
    "p95_ms": "float64",
    "instances_active": "float64",
    "instances_idle": "float64",
    "peak_active": "float64",
    "cold_starts_per_day": "float64",
    "cpu_p99_pct": "float64",  # CPU utilization p99, % of the vCPU limit (every instance)
    "memory_p99_pct": "float64",  # memory utilization p99, % of the limit
    "concurrency_p99": "float64",  # max concurrent requests per active instance, p99
    "billing": "string",
    "min_instances": "Int64",
    "max_instances": "Int64",
    "observed_cost": "float64",
    "monthly_cost": "float64",
}


def _serving_config(revisions: pd.DataFrame, traffic: pd.DataFrame) -> pd.DataFrame:
    """Per service, the configuration of the revision taking the most traffic now."""
    if revisions.empty:
        return pd.DataFrame(columns=[*SVC_KEYS, "billing", "min_instances", "max_instances"])
    share = traffic.groupby(REV_KEYS, observed=True)["percent"].sum().rename("percent")
    revs = revisions.join(share, on=REV_KEYS).fillna({"percent": 0})
    revs = revs.sort_values(["percent", "create_time"], ascending=False)
    first = revs.drop_duplicates(SVC_KEYS).set_index(SVC_KEYS)
    # Min instances of a service = sum over revisions with traffic (each keeps its own warm).
    live = revs[revs["percent"] > 0].groupby(SVC_KEYS, observed=True)["min_instances"].sum()
    out = first[["billing", "max_instances"]].copy()
    out["min_instances"] = live.reindex(out.index).fillna(first["min_instances"]).astype("Int64")
    return out.reset_index()


def _flag_texts(
    table: pd.DataFrame, notes: dict[tuple[str, str, str], str], peaks: pd.DataFrame
) -> list[str]:
    """Each row's flags: the given notes (canary verdicts...), at max instances, then the
    table's own flags (``_flags``), joined by "; "."""
    notes = dict(notes)
    for key, line in _at_max(peaks).items():
        notes[key] = "; ".join(n for n in (notes.get(key, ""), line) if n)
    return [
        "; ".join(
            f
            for f in (
                notes.get((r["project_id"], r["location"], r["service"]), ""),
                _flags({str(k): v for k, v in r.items()}),
            )
            if f
        )
        for r in table.to_dict("records")
    ]


def service_table(
    totals: pd.DataFrame,
    revisions: pd.DataFrame,
    traffic: pd.DataFrame,
    costs: pd.DataFrame,
    *,
    window_s: float,
    notes: dict[tuple[str, str, str], str] | None = None,
) -> pd.DataFrame:
    """One row per service seen in the configuration or in the totals.

    ``totals``: METRIC_POINTS with one period covering the window (collectors.catalog's
    FLEET_TOTALS). Rows with ``revision == ""`` are service-level (histograms merged across
    revisions), so ``p95_ms`` and the utilization and concurrency p99s are exact within their
    buckets; cold starts are the startup-latency sample count.
    Instances are the window's mean (instance-minutes / minutes), a stretch without instances
    counting as 0. ``notes``: extra flags per (project, location, service), e.g. canary verdicts.
    ``costs``: costmodel.observed.service_costs output (``total``, ``monthly_total``,
    ``idle_min``, ``monthly_idle_min``, ``cannot_estimate`` per service).
    """
    keys = SVC_KEYS
    totals = totals[totals["service"] != ""]  # fleet-level rows belong to no service
    seen = [revisions[keys], totals[keys]] if not totals.empty else [revisions[keys]]
    index = (
        pd.MultiIndex.from_frame(pd.concat(seen).drop_duplicates())
        if not (revisions.empty and totals.empty)
        else pd.MultiIndex.from_tuples([], names=keys)
    )
    out = pd.DataFrame(index=index)
    req = requests_by_class(totals, keys).reindex(index)
    out["requests_per_s"] = req["all"].fillna(0.0) / window_s
    out["error_5xx_pct"] = 100 * safe_ratio(req["5xx"], req["all"])
    svc_level = totals[totals["revision"] == ""]
    out["p95_ms"] = total(svc_level, "request_latencies_service", keys, stat="p95").reindex(index)
    p95_bound = bound(svc_level, "request_latencies_service", keys, "p95")
    out["p95_bound"] = p95_bound.reindex(index).fillna("")
    minutes = window_s / 60.0
    inst = select(totals, "instance_minutes", "value")
    for state in ("active", "idle"):
        per = inst[inst["state"] == state].groupby(keys, observed=True)["value"].sum()
        out[f"instances_{state}"] = (per / minutes).reindex(index)
    peaks = _peaks(totals, revisions)
    out["peak_active"] = peaks.groupby(keys, observed=True)["peak"].max().reindex(index)
    starts = total(svc_level, "startup_latencies_service", keys, stat="count").reindex(index)
    out["cold_starts_per_day"] = starts.fillna(0.0) * 86_400.0 / window_s
    for col, metric in (("cpu_p99_pct", "cpu"), ("memory_p99_pct", "memory")):
        p99 = total(svc_level, f"{metric}_utilizations_service", keys, stat="p99")
        out[col] = 100.0 * p99.reindex(index)
    active = svc_level[svc_level["state"] == "active"]
    conc = total(active, "max_request_concurrencies_service", keys, stat="p99")
    out["concurrency_p99"] = conc.reindex(index)
    out = out.reset_index()
    out = out.merge(_serving_config(revisions, traffic), on=keys, how="left")
    cost_cols = ["total", "monthly_total", "idle_min", "monthly_idle_min", "cannot_estimate"]
    if costs.empty:
        costs = pd.DataFrame(columns=[*keys, *cost_cols])
    out = out.merge(costs[[*keys, *cost_cols]], on=keys, how="left")
    out["observed_cost"] = out["total"]
    out["monthly_cost"] = out["monthly_total"]
    out["flags"] = _flag_texts(out, notes or {}, peaks)
    for col, dtype in COLUMNS.items():
        if col not in out:
            out[col] = pd.Series(dtype=dtype)
    return (
        out[list(COLUMNS)]
        .astype(COLUMNS)
        .sort_values(["requests_per_s", "service"], ascending=[False, True], ignore_index=True)
    )


def _peaks(totals: pd.DataFrame, revisions: pd.DataFrame) -> pd.DataFrame:
    """Per revision: the most active instances in any minute of the window, with its max."""
    sel = select(totals, "instance_peak", "value")
    sel = sel[sel["state"] == "active"]
    peak = sel.groupby(REV_KEYS, observed=True)["value"].max().rename("peak").reset_index()
    limits = revisions[[*REV_KEYS, "max_instances"]] if not revisions.empty else None
    if limits is None:
        return peak.assign(max_instances=pd.Series(dtype="Int64"))
    return peak.merge(limits, on=REV_KEYS, how="left")


def _at_max(peaks: pd.DataFrame) -> dict[tuple[str, str, str], str]:
    """Services with a revision whose active instances reached its max instances: requests
    beyond it queue and are then rejected with 429 (the rejections themselves are only in the
    request logs: the service's cold-starts page counts them)."""
    out: dict[tuple[str, str, str], str] = {}
    hit = peaks[peaks["max_instances"].notna() & (peaks["peak"] >= peaks["max_instances"])]
    for r in hit.sort_values("revision").to_dict("records"):
        key = (str(r["project_id"]), str(r["location"]), str(r["service"]))
        line = (
            f"hits max instances: {r['revision']} peaked at {float(r['peak']):.0f} of "
            f"{float(r['max_instances']):.0f} active instances (once all are busy, further "
            "requests rejected with 429)"
        )
        out[key] = "; ".join(x for x in (out.get(key, ""), line) if x)
    return out


def _flags(row: dict[str, object]) -> str:
    flags = []
    idle, monthly = row.get("idle_min"), row.get("monthly_idle_min")
    if isinstance(idle, float) and np.isfinite(idle) and idle > 0.005:
        flags.append(f"idle min instances cost ${monthly:,.2f}/month")
    err = row.get("error_5xx_pct")
    if isinstance(err, float) and np.isfinite(err) and err >= 1.0:
        flags.append(f"{err:.1f} % 5xx")
    reason = row.get("cannot_estimate")
    if isinstance(reason, str) and reason:
        flags.append(f"cost unknown: {reason}")
    return "; ".join(flags)


def trend(points: pd.DataFrame, metric: str, stat: str = "value") -> pd.DataFrame:
    """Per service and period, the summed value (for the overview's small trend charts)."""
    sel = select(points, metric, stat)
    if sel.empty:
        return pd.DataFrame(columns=[*SVC_KEYS, "timestamp", "value", "pending"])
    return sel.groupby([*SVC_KEYS, "timestamp"], observed=True, as_index=False).agg(
        value=("value", "sum"), pending=("pending", "any")
    )


def canary_regressions(
    points: pd.DataFrame, revisions: pd.DataFrame, traffic: pd.DataFrame, *, period_s: int
) -> dict[tuple[str, str, str], Verdict]:
    """For every service splitting traffic between revisions now, the canary verdict when the
    candidate (newest revision with traffic) is worse than the stable one (most traffic);
    ``points`` per ``period_s`` period. presentation.canary_note words it as a flag."""
    live = traffic[traffic["percent"] > 0]
    out: dict[tuple[str, str, str], Verdict] = {}
    created = revisions.set_index("revision")["create_time"]
    cells = verdict_cells(points, SVC_KEYS)  # every canary's figures, in one pass
    levels: list[Hashable] = list(SVC_KEYS)
    by_service: dict[tuple[str, ...], pd.DataFrame] = {
        tuple(str(k) for k in key): part.droplevel(levels)
        for key, part in cells.groupby(level=levels, observed=True, sort=False)
    }
    empty = cells.iloc[:0].droplevel(levels)
    for key, group in live.groupby(SVC_KEYS, observed=True):
        if group["revision"].nunique() < 2:
            continue
        project, location, service = (str(k) for k in key)
        by_share = group.sort_values("percent", ascending=False)["revision"].tolist()
        stable = by_share[0]
        others = sorted(by_share[1:], key=lambda r: created.get(r, pd.Timestamp(0, tz="UTC")))
        candidate = others[-1]
        mine = by_service.get((project, location, service), empty)
        verdict = judge(mine, candidate=candidate, stable=stable, period_s=period_s)
        if verdict.status == "regression":
            out[(project, location, service)] = verdict
    return out


@dataclass(frozen=True)
class Flagged:
    """A service with flags (the overview's "needs a look" list)."""

    service: str
    location: str
    project: str  # named only when the table holds several projects ("" otherwise)
    flags: str  # the table's flags column


def attention(table: pd.DataFrame) -> list[Flagged]:
    """Every service with flags, most traffic first (the table's order)."""
    flagged = table[table["flags"] != ""]
    several = table["project_id"].nunique() > 1
    return [
        Flagged(str(r.service), str(r.location), str(r.project_id) if several else "", str(r.flags))
        for r in flagged.itertuples()
    ]


def sparklines(trend_frame: pd.DataFrame, w: TimeWindow, *, points: int = 48) -> pd.Series:
    """Per (project, location, service), the trend over ``w`` (the trend's window: its periods,
    ending at ``w.start + k * alignment``) as ``points`` bucket means (a list each, for a table's
    line-chart column). The trend is a count: a period without a point had none, so it counts
    as 0 (the table's line cells draw no gaps; a NaN made a cell unreadable). Every line spans
    the whole window, whatever periods the fleet happened to have points in."""
    if trend_frame.empty or w.periods < 1:
        return pd.Series(dtype=object)
    step = pd.Timedelta(seconds=w.alignment_s)
    grid = pd.date_range(pd.Timestamp(w.start) + step, periods=w.periods, freq=step)
    wide = trend_frame.pivot_table(
        index="timestamp", columns=SVC_KEYS, values="value", aggfunc="sum", observed=True
    )
    wide = wide.reindex(grid, fill_value=0.0).fillna(0.0)
    points = max(1, min(points, len(wide)))  # no bucket without a period in it
    bucket = np.arange(len(wide)) * points // len(wide)
    means = wide.groupby(bucket).mean().T
    return pd.Series([row.tolist() for row in means.to_numpy()], index=means.index)
