"""METRIC_POINTS + REVISIONS -> per-minute arrays for one revision: the replay's input.

Metric short names and stats follow collectors.catalog (request_count/value,
request_latencies/mean, instance_count/value by state, billable_instance_time/value,
cpu_allocation_time, memory_allocation_time, cpu_utilizations/mean,
max_request_concurrencies/p99, startup_latencies/count+mean). The cost model does not import the
collectors: the names are the data contract, repeated here.

Conventions: METRIC_POINTS timestamps are the END of each one-minute period, so minute ``i``
covers ``[start + i min, start + (i + 1) min)`` and its point is stamped ``start + (i + 1) min``.
A missing DELTA point is a gap: Cloud Run writes nothing for a minute with no instances, so
requests and billable time are 0 there. Pending points (inside the ingestion delay) are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from costmodel.errors import CannotEstimate

# Used when a revision has no startup samples: Google publishes no typical startup time
# (docs/facts.md, Autoscaling).
DEFAULT_STARTUP_S = 1.5
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Config:
    """A revision's settings, as the REVISIONS frame gives them."""

    cpu: float
    memory_gib: float
    concurrency: int
    min_instances: int = 0
    max_instances: int = 100
    billing: str = "request"  # request | instance
    gpu: int = 0
    startup_cpu_boost: bool = False

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> Config:
        missing = [
            k
            for k in ("cpu", "memory_gib", "concurrency", "billing")
            if k not in row or row[k] is None or pd.isna(row[k])  # type: ignore[call-overload]
        ]
        if missing:
            raise CannotEstimate(
                f"the revision's configuration lacks {', '.join(missing)} (Admin API data missing)"
            )

        def _int(key: str, default: int) -> int:
            value = row.get(key)
            return default if value is None or pd.isna(value) else int(value)  # type: ignore[call-overload, arg-type]

        return cls(
            cpu=float(row["cpu"]),  # type: ignore[arg-type]
            memory_gib=float(row["memory_gib"]),  # type: ignore[arg-type]
            concurrency=int(row["concurrency"]),  # type: ignore[call-overload]
            min_instances=_int("min_instances", 0),
            max_instances=_int("max_instances", 100),
            billing=str(row["billing"]),
            gpu=_int("gpu", 0),
            startup_cpu_boost=_flag(row.get("startup_cpu_boost")),
        )


def _flag(value: object) -> bool:
    return False if value is None or pd.isna(value) else bool(value)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Traffic:
    """One revision's observed per-minute series. Arrays have one entry per minute."""

    start: datetime  # start of minute 0, tz-aware UTC
    requests: np.ndarray  # requests that reached a container
    latency_s: np.ndarray  # mean latency (s); NaN where no requests
    rejected: np.ndarray = field(default_factory=lambda: np.zeros(0))  # 429s (from logs), or 0
    instances: np.ndarray = field(default_factory=lambda: np.zeros(0))  # mean, active + idle
    instances_active: np.ndarray = field(default_factory=lambda: np.zeros(0))
    billable_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cpu_alloc_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    memory_alloc_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0))  # startup samples
    startup_s: float = DEFAULT_STARTUP_S  # mean startup time
    cpu_s_per_request: float = 0.0  # CPU seconds a request uses (0: CPU never limits)
    has_observations: bool = False  # instances/billable/starts were observed (not synthetic)

    def __post_init__(self) -> None:
        n = len(self.requests)
        for name in (
            "rejected",
            "instances",
            "instances_active",
            "billable_s",
            "cpu_alloc_s",
            "memory_alloc_s",
            "starts",
        ):
            arr = getattr(self, name)
            if len(arr) == 0:
                object.__setattr__(self, name, np.zeros(n))
            elif len(arr) != n:
                raise ValueError(f"{name} has {len(arr)} minutes, requests has {n}")
        if len(self.latency_s) != n:
            raise ValueError("latency_s and requests differ in length")

    @property
    def minutes(self) -> int:
        return len(self.requests)

    @property
    def days(self) -> float:
        return self.minutes / 1440.0

    @property
    def demand(self) -> np.ndarray:
        return np.asarray(self.requests + self.rejected, dtype=float)

    def mean_latency_s(self) -> float:
        ok = np.isfinite(self.latency_s) & (self.requests > 0)
        if not ok.any():
            return float("nan")
        return float(np.average(self.latency_s[ok], weights=self.requests[ok]))

    def filled_latency_s(self) -> np.ndarray:
        """Latency with gaps filled by the request-weighted mean (minutes without requests)."""
        mean = self.mean_latency_s()
        fill = 0.0 if not np.isfinite(mean) else mean
        return np.where(np.isfinite(self.latency_s), self.latency_s, fill)

    def trimmed(self, start: int, stop: int) -> Traffic:
        sl = slice(start, stop)
        return replace(
            self,
            start=self.start + start * MINUTE,
            requests=self.requests[sl],
            latency_s=self.latency_s[sl],
            rejected=self.rejected[sl],
            instances=self.instances[sl],
            instances_active=self.instances_active[sl],
            billable_s=self.billable_s[sl],
            cpu_alloc_s=self.cpu_alloc_s[sl],
            memory_alloc_s=self.memory_alloc_s[sl],
            starts=self.starts[sl],
        )

    def active_span(self) -> tuple[int, int]:
        """First and one-past-last minute with any requests or instances (0, 0 if none)."""
        live = (self.requests > 0) | (self.instances > 0) | (self.billable_s > 0)
        idx = np.flatnonzero(live)
        if len(idx) == 0:
            return 0, 0
        return int(idx[0]), int(idx[-1]) + 1


class _Points:
    """One revision's points split once by (metric, stat, state): a revision has about ten
    series, and a fleet's cost reads thousands of revisions."""

    def __init__(self, pts: pd.DataFrame, index: pd.DatetimeIndex) -> None:
        self.n = len(index)
        self.first_ns = int(index[0].value)
        state = pts["state"] if "state" in pts.columns else pd.Series("", index=pts.index)
        keyed = pts.assign(state=state.astype(object).where(state.notna(), ""))
        self.parts: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = {}
        for (metric, stat, st), part in keyed.groupby(
            ["metric", "stat", "state"], observed=True, sort=False
        ):
            ts = pd.DatetimeIndex(part["timestamp"]).as_unit("ns").asi8
            values = part["value"].to_numpy(dtype=float, na_value=np.nan)
            self.parts[(str(metric), str(stat), str(st))] = (ts, values)

    def series(
        self,
        metric: str,
        stat: str,
        state: str | None = None,
        *,
        period_min: int = 1,
        total: bool = True,
    ) -> np.ndarray:
        """A metric's values per minute end (summed over the series at one end, over every
        state unless ``state`` names one); NaN where no point. Points aligned to
        ``period_min`` minutes are spread over the minutes of their period: a total (requests,
        seconds) is divided evenly, a level (mean latency, instances) repeated."""
        got = [
            tv
            for (m, s, st), tv in self.parts.items()
            if m == metric and s == stat and (state is None or st == state)
        ]
        out = np.full(self.n, np.nan)
        if not got:
            return out
        ts = np.concatenate([t for t, _ in got])
        values = np.concatenate([v for _, v in got])
        step = 60_000_000_000
        since = ts - self.first_ns
        on_grid = (since % step == 0) & ~np.isnan(values)
        ends = since[on_grid] // step  # the minute (index position) each point's period ends at
        values = values[on_grid]
        width = self.n + period_min - 1  # a period ending up to period_min - 1 minutes late
        keep = (ends >= 0) & (ends < width)  # still has minutes inside the window
        ends, values = ends[keep], values[keep]
        sums = np.bincount(ends, weights=values, minlength=width)
        seen = np.bincount(ends, minlength=width) > 0
        per = np.where(seen, sums, np.nan)
        if period_min <= 1:
            return per[: self.n]
        if total:
            per = per / period_min
        # minute k of a period ending at minute e is e - k (k < period_min); periods do not overlap
        pos = np.flatnonzero(seen)
        spread = (pos[:, None] - np.arange(period_min)[None, :]).ravel()
        fill = np.repeat(per[pos], period_min)
        inside = (spread >= 0) & (spread < self.n)
        out[spread[inside]] = fill[inside]
        return out


def from_metric_points(
    points: pd.DataFrame,
    *,
    revision: str,
    start: datetime,
    end: datetime,
    config: Config,
    rejected: np.ndarray | None = None,
    service: str | None = None,
    period_s: int = 60,
) -> Traffic:
    """Per-minute arrays of one revision over ``[start, end)`` (minute-aligned, tz-aware).

    ``period_s``: the points' alignment; coarser points are spread over their minutes (the
    dashboard's long windows use 5- or 30-minute points; the replay wants 1-minute ones).
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    minutes = int((end - start) // MINUTE)
    if minutes <= 0:
        raise ValueError("the window must hold at least one minute")
    pts = points[points["revision"] == revision]
    if service is not None:
        pts = pts[pts["service"] == service]
    if "pending" in pts.columns:
        pts = pts[~pts["pending"].astype(bool)]
    pm = max(1, period_s // 60)
    index = pd.date_range(start + MINUTE, periods=minutes, freq="min", tz="UTC")
    series = _Points(pts, index).series
    observed = _observed(series, start, pm)
    util = series("cpu_utilizations", "mean", period_min=pm, total=False)
    return replace(
        observed,
        rejected=np.zeros(minutes) if rejected is None else np.asarray(rejected, dtype=float),
        cpu_s_per_request=_cpu_s_per_request(observed, config, util),
    )


def _observed(series: Callable[..., np.ndarray], start: datetime, pm: int) -> Traffic:
    """The observed series of one revision (no 429s, CPU per request unknown)."""
    zero = np.nan_to_num
    req = zero(series("request_count", "value", period_min=pm))
    lat_ms = series("request_latencies", "mean", period_min=pm, total=False)
    active = zero(series("instance_count", "value", "active", period_min=pm, total=False))
    idle = zero(series("instance_count", "value", "idle", period_min=pm, total=False))
    starts = zero(series("startup_latencies", "count", period_min=pm))
    startup_mean = series("startup_latencies", "mean", period_min=pm, total=False)
    ok = np.isfinite(startup_mean) & (starts > 0)
    startup_s = (
        float(np.average(startup_mean[ok], weights=starts[ok])) / 1000.0
        if ok.any()
        else DEFAULT_STARTUP_S
    )
    return Traffic(
        start=start,
        requests=req,
        latency_s=np.where(req > 0, lat_ms / 1000.0, np.nan),
        instances=active + idle,
        instances_active=active,
        billable_s=zero(series("billable_instance_time", "value", period_min=pm)),
        cpu_alloc_s=zero(series("cpu_allocation_time", "value", period_min=pm)),
        memory_alloc_s=zero(series("memory_allocation_time", "value", period_min=pm)),
        starts=starts,
        startup_s=startup_s,
        has_observations=True,
    )


def _cpu_s_per_request(tr: Traffic, config: Config, util: np.ndarray) -> float:
    """CPU seconds a request actually used: utilization of the active instances x allocated
    vCPU-seconds while active, over the requests. The utilization distribution (``util``, its
    mean per minute) mixes active and idle instances (idle ones near 0), so its mean is scaled
    by instances / active instances."""
    act_s, _ = active_idle_split(tr, config)
    active, req = tr.instances_active, tr.requests
    u_active = np.where(
        np.isfinite(util) & (active > 0), util * tr.instances / np.maximum(active, 1e-9), 0.0
    )
    used = np.minimum(u_active, 1.0) * config.cpu * act_s
    return float(used.sum() / req.sum()) if req.sum() > 0 else 0.0


ROUNDING_UPLIFT_S = 0.05  # mean extra billed time per busy period (billing rounds up to 100 ms)


def busy_instances(
    inst: np.ndarray, mu: np.ndarray, lam: np.ndarray, conc: int, work: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(instances with a request in flight, busy periods started) per minute, in instance units.

    ``inst``: instances alive, ``mu``: requests in flight (mean), ``lam``: arrivals a second;
    ``work``: three scratch rows, overwritten (fresh arrays when None). The replay's model
    (costmodel.replay) and the observed cost's split (active_idle_split) both use it.
    """
    w_idle, w_busy, w_periods = np.empty((3, len(inst))) if work is None else work
    if conc <= 1:
        busy = np.minimum(mu, inst, out=w_busy)  # one request per instance
        periods = lam
    else:
        # requests spread evenly: an instance is idle w.p. exp(-mu / n)
        idle_share = np.maximum(inst, 1e-12, out=w_idle)
        np.divide(mu, idle_share, out=idle_share)
        np.negative(idle_share, out=idle_share)
        np.exp(idle_share, out=idle_share)
        busy = np.subtract(1.0, idle_share, out=w_busy)
        busy *= inst
        periods = np.multiply(lam, idle_share, out=w_periods)
    busy[~(inst > 0)] = 0.0
    return busy, periods


def active_idle_split(traffic: Traffic, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """Observed billable seconds per minute split into (active, idle min instances).

    Request-based: an instance is billed active while a request is in flight (each busy period
    rounded up to 100 ms) or it starts, and a min instance that is not active is billed idle.
    The active part is the replay's own model of it (``busy_instances`` over the observed
    instances, requests and latency, plus the rounding and the startups), at least the billable
    time above the min instances' floor and at most all of it. Instance-based: idle
    min-instance time is the min instances not active in the minute (all of it is billed at
    the one instance rate).
    """
    bill_s = traffic.billable_s
    inst = traffic.instances
    floor = 60.0 * np.minimum(float(config.min_instances), inst)
    if config.billing == "request":
        mu = traffic.requests * traffic.filled_latency_s() / 60.0
        lam = traffic.requests / 60.0
        busy, periods = busy_instances(inst, mu, lam, config.concurrency)
        modelled = 60.0 * (busy + periods * ROUNDING_UPLIFT_S) + traffic.starts * traffic.startup_s
        active = np.clip(modelled, np.maximum(bill_s - floor, 0.0), bill_s)
    else:
        idle = np.maximum(np.minimum(floor, bill_s) - 60.0 * traffic.instances_active, 0.0)
        active = bill_s - idle
    return active, bill_s - active


def rejections_per_minute(
    events: pd.DataFrame, *, revision: str, start: datetime, end: datetime
) -> np.ndarray:
    """429 "no available instance" rejections per minute from INSTANCE_EVENTS."""
    minutes = int((end - start) // MINUTE)
    sel = events[(events["revision"] == revision) & (events["event"] == "no_instance_429")]
    if sel.empty:
        return np.zeros(minutes)
    offs = ((sel["timestamp"] - pd.Timestamp(start)) // pd.Timedelta(minutes=1)).to_numpy()
    offs = offs[(offs >= 0) & (offs < minutes)].astype(np.int64)
    return np.bincount(offs, minlength=minutes).astype(float)


def flat(*, requests_per_minute: float, latency_s: float, minutes: int, start: datetime) -> Traffic:
    """A synthetic constant workload (the `estimate` command's input)."""
    return Traffic(
        start=start,
        requests=np.full(minutes, float(requests_per_minute)),
        latency_s=np.full(minutes, float(latency_s)),
    )
