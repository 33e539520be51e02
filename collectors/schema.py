"""Column names and dtypes of every frame the collectors return.

Declared once here; ``empty(FRAME)`` gives a zero-row frame with the same columns and dtypes,
and ``conform(df, FRAME)`` orders and casts a built frame. Timestamps are tz-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

TS = "datetime64[ns, UTC]"

Schema = Mapping[str, str]

# One row per (minute or alignment period, revision, metric, stat, state, response class).
METRIC_POINTS: Schema = {
    "timestamp": TS,  # end of the aligned period
    "project_id": "string",
    "location": "string",
    "service": "string",
    "revision": "string",
    "metric": "string",  # short name from collectors.catalog, e.g. "request_count"
    "stat": "string",  # value | p50 | p95 | p99 | mean | count | ...
    "state": "string",  # active | idle | "" (instance_count, max_request_concurrencies)
    "response_class": "string",  # 2xx | 4xx | 5xx | "" (request_count)
    "value": "float64",
    "unit": "string",
    "pending": "bool",  # inside the ingestion delay: may still grow, never a real zero
    # percentiles: "<" below the layout's first bound, ">" at or above its last (``value`` is
    # that bound, never an interpolation); "" inside the finite buckets and for other stats
    "bound": "string",
}

INSTANCE_EVENTS: Schema = {
    "timestamp": TS,
    "project_id": "string",
    "location": "string",
    "service": "string",
    "revision": "string",
    "instance_id": "string",  # "" when the entry carries none
    "event": "string",  # start | ready | collectors.logparse.FAILURE_EVENTS | shutdown
    "reason": "string",  # AUTOSCALING | DEPLOYMENT_ROLLOUT | MANUAL_OR_CUSTOMER_MIN_INSTANCE | ""
    "startup_ms": "float64",  # NaN when unknown
    "outcome": "string",  # start rows: ready | failed | "" (unknown); "" on other rows
    "detail": "string",  # exit code, memory figures, probe text
    "log_name": "string",
    "insert_id": "string",
}

SERVICES: Schema = {
    "project_id": "string",
    "location": "string",
    "service": "string",
    "latest_ready_revision": "string",
    "latest_created_revision": "string",
    "service_min_instances": "Int64",  # service-level scaling; <NA> when unset
    "service_max_instances": "Int64",
    "scaling_mode": "string",  # AUTOMATIC | MANUAL
    "manual_instance_count": "Int64",
    "ingress": "string",
    "uri": "string",
    "create_time": TS,
    "update_time": TS,
}

REVISIONS: Schema = {
    "project_id": "string",
    "location": "string",
    "service": "string",
    "revision": "string",
    "cpu": "float64",  # vCPU
    "memory_gib": "float64",
    "gpu": "Int64",  # nvidia.com/gpu count, 0 when none
    "concurrency": "Int64",  # effective: 80 when unset and cpu >= 1, else 1
    "concurrency_set": "bool",  # False when the default was applied
    "min_instances": "Int64",
    "max_instances": "Int64",
    "billing": "string",  # request | instance (from cpu_idle)
    "startup_cpu_boost": "bool",
    "timeout_s": "float64",
    "execution_environment": "string",
    "create_time": TS,
}

TRAFFIC: Schema = {
    "project_id": "string",
    "location": "string",
    "service": "string",
    "revision": "string",  # resolved revision ("" only if unresolvable)
    "tag": "string",
    "percent": "Int64",
    "latest": "bool",  # the entry follows the latest ready revision
}

FRAMES: Mapping[str, Schema] = {
    "metric_points": METRIC_POINTS,
    "instance_events": INSTANCE_EVENTS,
    "services": SERVICES,
    "revisions": REVISIONS,
    "traffic": TRAFFIC,
}


def empty(schema: Schema) -> pd.DataFrame:
    """A zero-row frame with the schema's columns and dtypes."""
    return pd.DataFrame({col: pd.Series(dtype=dtype) for col, dtype in schema.items()})


def conform(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Select, order and cast the schema's columns; a missing column is an error."""
    missing = [c for c in schema if c not in df.columns]
    if missing:
        raise KeyError(f"frame lacks columns {missing}")
    if df.empty:
        return empty(schema)
    return df.loc[:, list(schema)].astype(dict(schema)).reset_index(drop=True)


@dataclass(frozen=True)
class Quality:
    """How complete a result is. The UI shows anything other than complete as a banner."""

    status: str = "complete"  # complete | partial | truncated | stale
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    def merge(self, other: Quality) -> Quality:
        order = {"complete": 0, "truncated": 1, "partial": 2, "stale": 3}
        status = max(self.status, other.status, key=order.__getitem__)
        return Quality(status, tuple(dict.fromkeys(self.reasons + other.reasons)))


@dataclass(frozen=True)
class Result:
    """A frame with its data quality."""

    frame: pd.DataFrame
    quality: Quality = field(default_factory=Quality)


def joined(results: Sequence[Result], schema: Schema, failures: Sequence[str] = ()) -> Result:
    """Results of the same frame (projects, service groups) as one: the frames concatenated and
    conformed to ``schema``, the qualities merged, and ``failures`` (messages of the parts that
    failed outright) making it partial."""
    quality = Quality()
    for r in results:
        quality = quality.merge(r.quality)
    if failures:
        quality = quality.merge(Quality("partial", tuple(dict.fromkeys(failures))))
    frames = [r.frame for r in results if not r.frame.empty]
    if not frames:
        return Result(empty(schema), quality)
    return Result(conform(pd.concat(frames, ignore_index=True), schema), quality)


def failed(schema: Schema, message: str) -> Result:
    """An empty frame of ``schema`` marked partial with ``message``: a part that failed."""
    return Result(empty(schema), Quality("partial", (message,)))
