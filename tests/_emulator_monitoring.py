"""The monitoring emulator tests' independent references, computed straight from the raw
FleetData arrays (their fixtures: tests/_emulator_fixtures.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
from _emulator_helpers import END, PROJECT
from google.cloud import monitoring_v3

from emulator.sim.model import FleetData, RawSeries

RC = "run.googleapis.com/request_count"
LAT = "run.googleapis.com/request_latencies"
INST = "run.googleapis.com/container/instance_count"
BILL = "run.googleapis.com/container/billable_instance_time"
KIND = {"GAUGE": 1, "DELTA": 2}
VTYPE = {"INT64": 2, "DOUBLE": 3, "DISTRIBUTION": 5}


def query(
    client: monitoring_v3.MetricServiceClient,
    flt: str,
    minutes: int = 120,
    end: Any = END,
    **kw: Any,
) -> list[monitoring_v3.TimeSeries]:
    req: dict[str, Any] = {
        "name": f"projects/{PROJECT}",
        "filter": flt,
        "interval": {"start_time": end - timedelta(minutes=minutes), "end_time": end},
    }
    req.update(kw)
    return list(client.list_time_series(request=req))


def raw_ends(fleet: FleetData) -> np.ndarray:
    t0 = int(fleet.spec.start.timestamp())
    return t0 + 60 * (np.arange(fleet.spec.minutes) + 1)


def period_sums(
    fleet: FleetData, values: np.ndarray, minutes: int, period: int
) -> dict[int, float]:
    """Independent reference: sum of raw values per period end (only periods with a point)."""
    end = int(END.timestamp())
    start = end - minutes * 60
    out: dict[int, float] = {}
    for e, v in zip(raw_ends(fleet), values, strict=True):
        if not (start < e <= end) or np.isnan(v):
            continue
        k = (end - e) // period
        pe = int(end - k * period)
        out[pe] = out.get(pe, 0.0) + float(v)
    return out


def points_by_end(ts: monitoring_v3.TimeSeries) -> dict[int, Any]:
    out = {}
    for p in ts.points:
        v = p.value
        kind = monitoring_v3.TypedValue.pb(v).WhichOneof("value")
        out[int(p.interval.end_time.timestamp())] = getattr(v, kind)
    return out


def find(fleet: FleetData, mtype: str, rev: str, **metric_labels: str) -> RawSeries:
    for s in fleet.series:
        if (
            s.metric_type == mtype
            and s.resource_labels["revision_name"] == rev
            and all(s.metric_labels.get(k) == v for k, v in metric_labels.items())
        ):
            return s
    raise LookupError((mtype, rev, metric_labels))
