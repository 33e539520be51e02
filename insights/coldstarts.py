"""Cold starts from the platform's own logs, cross-checked with the startup-latency metric.

An instance start (``Starting new instance. Reason: …``) is a cold start; its reason tells
whether demand caused it (AUTOSCALING), a rollout (DEPLOYMENT_ROLLOUT) or min instances
(MANUAL_OR_CUSTOMER_MIN_INSTANCE). Startup time comes from the ready probe joined on the
instance id (logs) and, exactly for every start, from ``container/startup_latencies``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from collectors.logparse import FAILURE_EVENTS, failure_counts
from insights.frames import bound, ratio, requests_by_class, safe_ratio, total

REASON_LABELS = {
    "AUTOSCALING": "demand (autoscaling)",
    "DEPLOYMENT_ROLLOUT": "rollout",
    "MANUAL_OR_CUSTOMER_MIN_INSTANCE": "min instances",
    "": "unknown",
}


# What each platform failure (collectors.logparse.FAILURE_EVENTS) is, and the log it is read from.
FAILURE_LABELS = {
    "oom": ("Out-of-memory kills", "system", "memory limit exceeded; the instance is killed"),
    "oom_request_5xx": (
        "Requests failed by an out-of-memory kill",
        "requests",
        "the instance serving the request used too much memory and was terminated (500/503)",
    ),
    "signal9": ("Killed on signal 9", "system", "the container was terminated on signal 9"),
    "exit": ("Container exits", "system", "the process called exit (the code is in the detail)"),
    "start_failed": (
        "Failed starts",
        "system",
        "the application failed to start (exec failed or terminated); one per start",
    ),
    "probe_failed": ("Startup probe failures", "system", "the startup probe failed"),
    "connection_error_5xx": (
        "Requests failed: connection to the instance",
        "requests",
        "the response was malformed or the connection broke: the instance crashed or was "
        "killed mid-request (503)",
    ),
    "no_instance_429": (
        "Rejected: max instances (429)",
        "requests",
        "no available instance: max instances reached",
    ),
    "no_instance_5xx": (
        "Rejected: no instance (5xx)",
        "requests",
        "no available instance: scaling could not keep up (500/503)",
    ),
    "start_failed_500": (
        "Requests failed: instance could not start",
        "requests",
        "the instance that was to serve the request could not start (500)",
    ),
    "readiness_503": (
        "Requests failed: readiness check",
        "requests",
        "the instance failed its readiness check (503)",
    ),
}
assert tuple(FAILURE_LABELS) == FAILURE_EVENTS


@dataclass(frozen=True)
class ColdStartSummary:
    starts: int  # from logs
    starts_metric: float  # startup_latencies sample count
    per_day: float
    per_1k_requests: float
    by_reason: dict[str, int]
    startup_p50_ms: float  # from the metric (exact per start)
    startup_p95_ms: float
    startup_p99_ms: float
    startup_p95_bound: str  # "<" / ">": the p95 lies beyond the layout (its value is the bound)
    oom_kills: int
    rejected_429: int
    agreement: float  # logs / metric (1.0 = perfect), NaN when the metric has none

    @property
    def logs_disagree(self) -> bool:
        """The logs and the metric count starts more than 5 % apart (log entries missing)."""
        return self.agreement == self.agreement and abs(self.agreement - 1) > 0.05


def summary(
    events: pd.DataFrame,
    points: pd.DataFrame,
    totals: pd.DataFrame,
    *,
    window_s: float,
    startup_metric: str = "startup_latencies_service",
) -> ColdStartSummary:
    """Figures for the frames given (already narrowed to a service or fleet by the caller).

    ``totals`` holds whole-window histograms; ``startup_metric`` names the one merged over what
    is shown (one service: "startup_latencies_service"; the fleet: "startup_latencies_fleet"),
    whose percentiles are exact. With more or fewer than one such row they are unknown (NaN)."""
    starts = events[events["event"] == "start"]
    metric = (
        float(total(points, "startup_latencies", [], "count").sum()) if not points.empty else 0.0
    )
    reqs = requests_by_class(points, ["project_id"])["all"].sum()
    svc = totals[totals["revision"] == ""] if not totals.empty else totals

    def pct(stat: str) -> float:
        v = total(svc, startup_metric, [], stat) if not svc.empty else pd.Series(dtype=float)
        return float(v.sum()) if len(v) == 1 else float("nan")

    p95_bound = str(bound(svc, startup_metric, [], "p95").iloc[0]) if not svc.empty else ""
    failed = failure_counts(events)  # the one count of each failure (the table, the export)

    return ColdStartSummary(
        starts=len(starts),
        starts_metric=metric,
        per_day=len(starts) * 86_400.0 / window_s,
        per_1k_requests=ratio(1000.0 * len(starts), float(reqs)),
        by_reason={
            REASON_LABELS.get(str(r), str(r)): int(n)
            for r, n in starts["reason"].fillna("").value_counts().items()
        },
        startup_p50_ms=pct("p50"),
        startup_p95_ms=pct("p95"),
        startup_p99_ms=pct("p99"),
        startup_p95_bound=p95_bound,
        oom_kills=failed["oom"],
        rejected_429=failed["no_instance_429"],
        agreement=ratio(float(len(starts)), metric),
    )


def starts_over_time(events: pd.DataFrame, *, bucket: str) -> pd.DataFrame:
    """Starts per time bucket (a pandas offset like "1h") and reason: timestamp, reason, count."""
    starts = events[events["event"] == "start"]
    if starts.empty:
        return pd.DataFrame(
            {
                "timestamp": pd.Series(dtype="datetime64[ns, UTC]"),
                "reason": pd.Series(dtype="string"),
                "count": pd.Series(dtype="int64"),
            }
        )
    labels = starts["reason"].fillna("").map(lambda r: REASON_LABELS.get(r, r))
    grouped = starts.assign(reason=labels, timestamp=starts["timestamp"].dt.floor(bucket))
    return (
        grouped.groupby(["timestamp", "reason"], as_index=False)
        .size()
        .rename(columns={"size": "count"})
    )


def bucket_for(window_s: float) -> str:
    """Bucket width that gives 24–170 bars across the window."""
    for seconds, label in ((3600 * 6, "5min"), (86_400 * 2, "1h"), (86_400 * 8, "6h")):
        if window_s <= seconds:
            return label
    return "1D"


def startup_samples(events: pd.DataFrame) -> pd.Series:
    """Startup durations (ms) measured from the logs (start joined to ready)."""
    s = events.loc[events["event"] == "start", "startup_ms"]
    return s[np.isfinite(s.astype("float64"))].astype("float64")


def per_revision(events: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """Cold starts and cold starts per 1k requests for each revision."""
    starts = events[events["event"] == "start"].groupby("revision").size()
    reqs = requests_by_class(points, ["revision"])["all"] if not points.empty else pd.Series()
    idx = starts.index.union(reqs.index)
    out = pd.DataFrame(index=idx)
    out["cold_starts"] = starts.reindex(idx).fillna(0).astype("int64")
    out["requests"] = reqs.reindex(idx).fillna(0.0)
    out["per_1k_requests"] = 1000 * safe_ratio(out["cold_starts"].astype(float), out["requests"])
    out.index.name = "revision"
    return out.reset_index().sort_values("per_1k_requests", ascending=False, ignore_index=True)


def recent(events: pd.DataFrame, kinds: tuple[str, ...], limit: int = 200) -> pd.DataFrame:
    """The newest events of the given kinds, newest first, with readable columns."""
    sel = events[events["event"].isin(kinds)].sort_values("timestamp", ascending=False)
    cols = [
        "timestamp",
        "service",
        "revision",
        "instance_id",
        "event",
        "reason",
        "startup_ms",
        "outcome",
        "detail",
    ]
    out = sel[cols].head(limit).copy()
    out["reason"] = out["reason"].fillna("").map(lambda r: REASON_LABELS.get(r, r))
    out["instance_id"] = out["instance_id"].fillna("").replace("", "(not in the log entry)")
    return out.reset_index(drop=True)


PER_SERVICE_COLUMNS = {
    "project_id": "string",
    "location": "string",
    "service": "string",
    "cold_starts": "float64",
    "per_day": "float64",
    "requests": "float64",
    "per_1k_requests": "float64",
    "startup_p50_bound": "string",  # "<" / ">": beyond the bucket layout (the value its bound)
    "startup_p50_ms": "float64",
    "startup_p95_bound": "string",
    "startup_p95_ms": "float64",
}


def per_service(totals: pd.DataFrame, *, window_s: float) -> pd.DataFrame:
    """Per service, from window totals alone (no logs): cold starts (the startup-latency sample
    count, one per instance start), a day's worth, per 1k requests, and startup p50/p95 from
    the service's merged histogram. Most cold starts first."""
    keys = ["project_id", "location", "service"]
    svc = totals[totals["revision"] == ""]

    def stat(name: str) -> pd.Series:
        return total(svc, "startup_latencies_service", keys, name)

    starts = stat("count")
    reqs = requests_by_class(totals, keys)["all"] if not totals.empty else pd.Series(dtype=float)
    index = starts.index.union(reqs.index)
    out = pd.DataFrame(index=index)
    out["cold_starts"] = starts.reindex(index).fillna(0.0)
    out["per_day"] = out["cold_starts"] * 86_400.0 / window_s
    out["requests"] = reqs.reindex(index).fillna(0.0)
    out["per_1k_requests"] = 1000 * safe_ratio(out["cold_starts"], out["requests"])
    for name in ("p50", "p95"):
        out[f"startup_{name}_ms"] = stat(name).reindex(index)
        beyond = bound(svc, "startup_latencies_service", keys, name)
        out[f"startup_{name}_bound"] = beyond.reindex(index).fillna("")
    if out.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in PER_SERVICE_COLUMNS.items()})
    out = out.reset_index()
    return (
        out[list(PER_SERVICE_COLUMNS)]
        .astype(PER_SERVICE_COLUMNS)
        .sort_values(["cold_starts", "service"], ascending=[False, True], ignore_index=True)
    )


def failures(events: pd.DataFrame) -> pd.DataFrame:
    """Platform failures by kind (every kind, zeros included): failure, event, log, count,
    meaning; the counts are collectors.logparse.failure_counts, as in the export."""
    counts = failure_counts(events)
    rows = [
        {"failure": label, "event": e, "log": log, "count": counts[e], "meaning": meaning}
        for e, (label, log, meaning) in FAILURE_LABELS.items()
    ]
    return pd.DataFrame(rows).astype({"count": "int64"})
