"""Per-minute Monitoring series of one simulated revision (the metrics of docs/facts.md, Metrics).

Gaps follow Cloud Run: a revision with no instance in a minute writes nothing that minute;
request metrics (counts, latencies, bytes) only have points in minutes with requests, and
startup_latencies only in minutes with instance starts. Numeric series are float64 with NaN
for a gap (also for INT64 metrics, whose values are whole numbers); distributions use
count -1 for a gap.

The three bucket layout kinds are all used (collectors must parse whichever they get):
exponential for latencies, linear for utilizations, explicit for request concurrency.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np

from emulator.sim.instances import Lifetimes
from emulator.sim.model import (
    BucketLayout,
    DistributionSeries,
    PackedDistributionSeries,
    RawSeries,
    RevisionSpec,
)
from emulator.sim.revision import LATENCY_METRIC_INCLUDES_COLD_START_WAIT, RevisionRun

PREFIX = "run.googleapis.com/"
LATENCY_LAYOUT = BucketLayout("exponential", num_finite_buckets=32, growth_factor=1.5, scale=1.0)
STARTUP_LAYOUT = BucketLayout("exponential", num_finite_buckets=22, growth_factor=2.0, scale=1.0)
UTILIZATION_LAYOUT = BucketLayout("linear", num_finite_buckets=20, width=0.05, offset=0.0)
CONCURRENCY_LAYOUT = BucketLayout(
    "explicit",
    bounds=(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 40.0, 60.0, 80.0,
            100.0, 150.0, 250.0, 500.0, 1000.0),
)  # fmt: skip
IDLE_CPU_UTILIZATION = 0.01
REQUEST_BYTES_MEDIAN = 900.0
RESPONSE_BYTES_PER_MS = 120.0  # response size grows with the work a request does (crude)


def bucket_index(layout: BucketLayout, values: np.ndarray) -> np.ndarray:
    """Bucket of each value (0 = underflow, num_buckets - 1 = overflow)."""
    n = layout.num_finite_buckets
    if layout.kind == "exponential":
        top = layout.scale * layout.growth_factor**n
        v = np.clip(values, layout.scale, top) * (1.0 / layout.scale)
        b = (np.log(v) * (1.0 / np.log(layout.growth_factor))).astype(np.int64) + 1
        b[values < layout.scale] = 0
        b[values >= top] = n + 1
        return np.asarray(b, dtype=np.int64)
    if layout.kind == "linear":
        top = layout.offset + layout.width * n
        v = np.clip(values, layout.offset, top) - layout.offset
        b = (v * (1.0 / layout.width)).astype(np.int64) + 1
        b[values < layout.offset] = 0
        b[values >= top] = n + 1
        return np.asarray(b, dtype=np.int64)
    return np.searchsorted(layout.upper_bounds(), values, side="right").astype(np.int64)


def distributions(
    layout: BucketLayout,
    group: np.ndarray | None,
    n_groups: int,
    minute: np.ndarray,
    values: np.ndarray,
    minutes: int,
) -> list[DistributionSeries]:
    """Per-minute distributions of ``values`` for each group (0..n_groups-1); minutes without
    a value are gaps. One pass of bincounts over all values, whatever the number of groups."""
    nb = layout.num_buckets
    values = np.asarray(values, dtype=np.float64)
    cell = minute if group is None else group.astype(np.int64) * minutes + minute
    b = bucket_index(layout, values)
    buckets = np.bincount(cell * nb + b, minlength=n_groups * minutes * nb)
    buckets = buckets.reshape(n_groups, minutes, nb)
    total = np.bincount(cell, weights=values, minlength=n_groups * minutes)
    squares = np.bincount(cell, weights=values * values, minlength=n_groups * minutes)
    out = []
    for g in range(n_groups):
        count = buckets[g].sum(axis=1)
        sl = slice(g * minutes, (g + 1) * minutes)
        mean = np.divide(total[sl], count, out=np.zeros(minutes), where=count > 0)
        ssd = np.maximum(squares[sl] - count * mean * mean, 0.0)
        out.append(
            DistributionSeries(
                layout=layout,
                count=np.where(count > 0, count, -1).astype(np.int64),
                mean=mean,
                sum_of_squared_deviation=ssd,
                bucket_counts=buckets[g].astype(np.int64),
            )
        )
    return out


def packed_distribution(
    layout: BucketLayout, minute: np.ndarray, values: np.ndarray, minutes: int
) -> PackedDistributionSeries:
    """``pack_distribution(distribution(...))`` without the dense intermediate (same values)."""
    values = np.asarray(values, dtype=np.float64)
    rows, pos = np.unique(minute, return_inverse=True)
    k = len(rows)
    b = bucket_index(layout, values)
    lo = int(b.min()) if len(b) else 0
    w = int(b.max()) - lo + 1 if len(b) else 0
    band = np.bincount(pos * w + (b - lo), minlength=k * w).reshape(k, w)
    count = band.sum(axis=1)
    total = np.bincount(pos, weights=values, minlength=k)
    squares = np.bincount(pos, weights=values * values, minlength=k)
    mean = np.divide(total, count, out=np.zeros(k), where=count > 0)
    ssd = np.maximum(squares - count * mean * mean, 0.0)
    return PackedDistributionSeries(
        layout=layout,
        minutes=minutes,
        rows=rows.astype(np.int64),
        count=count.astype(np.int64),
        mean=mean,
        sum_of_squared_deviation=ssd,
        band_lo=lo,
        band=np.ascontiguousarray(band, dtype=np.int32),
    )


def distribution(
    layout: BucketLayout, minute: np.ndarray, values: np.ndarray, minutes: int
) -> DistributionSeries:
    """Per-minute distributions of ``values`` falling in ``minute``; empty minutes are gaps."""
    return distributions(layout, None, 1, minute, values, minutes)[0]


def revision_series(
    run: RevisionRun,
    resource_labels: dict[str, str],
    minutes: int,
    rng: np.random.Generator,
    latency_layout: BucketLayout = LATENCY_LAYOUT,
) -> list[RawSeries]:
    """Every metric of docs/facts.md (Metrics) for one revision (``latency_layout``: the
    request_latencies buckets)."""
    out: list[RawSeries] = []
    add = adder(out, resource_labels)

    minute = np.minimum((run.t * (1 / 60)).astype(np.int64), minutes - 1)
    served_m = np.bincount(minute, minlength=minutes)

    codes = np.flatnonzero(np.bincount(run.status))
    code_idx = np.searchsorted(codes, run.status)
    counts = np.bincount(code_idx * minutes + minute, minlength=len(codes) * minutes)
    for k, code in enumerate(codes.tolist()):
        cnt = counts[k * minutes : (k + 1) * minutes].astype(np.float64)
        labels = {"response_code": str(code), "response_code_class": f"{code // 100}xx"}
        add("request_count", "DELTA", "INT64", "1", labels, np.where(cnt > 0, cnt, np.nan))
    latency_ms = run.svc * 1000.0
    if LATENCY_METRIC_INCLUDES_COLD_START_WAIT:
        latency_ms = latency_ms + run.wait * 1000.0
    classes = np.unique(codes // 100)
    cls_idx = np.searchsorted(classes, run.status // 100)
    dists = distributions(latency_layout, cls_idx, len(classes), minute, latency_ms, minutes)
    for c, dist in zip(classes.tolist(), dists, strict=True):
        add("request_latencies", "DELTA", "DISTRIBUTION", "ms",
            {"response_code_class": f"{c}xx"}, dist)  # fmt: skip

    rev = run.spec
    container_series(
        add,
        ContainerMinutes(
            spec=rev,
            served=served_m,
            alive_s=run.alive_s,
            active_s=run.active_s,
            billable_s=run.billable_s,
            instances=run.instances,
            active=_active_instances(run, minutes),
            mean_inflight=_minute_inflight(run, minutes),
            peak_inflight=run.inflight_per_s[: minutes * 60].reshape(minutes, 60).max(axis=1),
            lifetimes=run.lifetimes,
            boost_vcpu_s=run.boost_vcpu_s,
        ),
        minutes,
        rng,
    )
    return out


SeriesValues: TypeAlias = "np.ndarray | DistributionSeries | PackedDistributionSeries"
Adder = Callable[[str, str, str, str, dict[str, str], SeriesValues], None]


def adder(out: list[RawSeries], resource_labels: dict[str, str]) -> Adder:
    def add(
        metric: str,
        kind: str,
        vtype: str,
        unit: str,
        labels: dict[str, str],
        values: np.ndarray | DistributionSeries | PackedDistributionSeries,
    ) -> None:
        out.append(RawSeries(PREFIX + metric, kind, vtype, unit, resource_labels, labels, values))

    return add


@dataclass
class ContainerMinutes:
    """Per-minute figures of one revision that its container metrics are made of (from the
    request-by-request simulation or from the per-minute model of fluid.py)."""

    spec: RevisionSpec
    served: np.ndarray  # requests served per minute
    alive_s: np.ndarray  # instance-seconds alive
    active_s: np.ndarray  # instance-seconds billed at the active rate
    billable_s: np.ndarray
    instances: np.ndarray  # int64: instances alive in the minute (ceil of alive seconds / 60)
    active: np.ndarray  # int64: instances that served requests (or were starting), <= instances
    mean_inflight: np.ndarray  # requests in flight, mean over the minute
    peak_inflight: np.ndarray  # requests in flight, most at once in the minute
    lifetimes: Lifetimes
    boost_vcpu_s: np.ndarray  # extra vCPU-seconds of the startup CPU boost (0 without it)


def container_series(
    add: Adder, c: ContainerMinutes, minutes: int, rng: np.random.Generator, pack: bool = False
) -> None:
    """Instance counts, billable and allocation time, utilizations, concurrencies, startup
    latencies and network bytes of one revision, in that order (``pack``: distributions as
    PackedDistributionSeries)."""
    rev = c.spec

    def distribution(
        layout: BucketLayout, minute: np.ndarray, values: np.ndarray, minutes: int
    ) -> DistributionSeries | PackedDistributionSeries:
        if pack:
            return packed_distribution(layout, minute, values, minutes)
        return distributions(layout, None, 1, minute, values, minutes)[0]

    present = c.alive_s > 0
    active = c.active
    inst = np.where(present, c.instances, 0)
    add("container/instance_count", "GAUGE", "INT64", "1", {"state": "active"},
        np.where(present, active, np.nan).astype(np.float64))  # fmt: skip
    add("container/instance_count", "GAUGE", "INT64", "1", {"state": "idle"},
        np.where(present, inst - active, np.nan).astype(np.float64))  # fmt: skip
    bill = np.where(present, c.billable_s, np.nan)
    add("container/billable_instance_time", "DELTA", "DOUBLE", "s", {}, bill)
    cpu_time = bill * rev.cpu
    if rev.startup_cpu_boost:  # the boost's extra vCPU (instances.boost_vcpu_per_minute)
        cpu_time = cpu_time + c.boost_vcpu_s
    add("container/cpu/allocation_time", "DELTA", "DOUBLE", "s{vCPU}", {}, cpu_time)
    add("container/memory/allocation_time", "DELTA", "DOUBLE", "GiBy.s", {}, bill * rev.memory_gib)

    # utilizations: one sample per instance alive in the minute
    served_m = c.served
    used_cpu = served_m * rev.cpu_s_per_request
    denom = rev.cpu * np.maximum(c.active_s if rev.cpu_idle else c.alive_s, 1.0)
    util_active = np.clip(used_cpu / denom, 0.0, 0.98)
    m_samp = np.repeat(np.arange(minutes), inst)
    rank = np.arange(len(m_samp)) - np.repeat(np.cumsum(inst) - inst, inst)
    is_active = rank < active[m_samp]
    noise = np.exp(0.2 * rng.standard_normal(len(m_samp)))
    cpu_v = np.where(is_active, util_active[m_samp], IDLE_CPU_UTILIZATION) * noise
    add("container/cpu/utilizations", "DELTA", "DISTRIBUTION", "10^2.%", {},
        distribution(UTILIZATION_LAYOUT, m_samp, np.clip(cpu_v, 0.0, 1.0), minutes))  # fmt: skip
    load = np.minimum(c.mean_inflight / np.maximum(inst * rev.concurrency, 1), 1)
    mem_v = rev.memory_base_fraction + 0.25 * load[m_samp] + 0.03 * rng.standard_normal(len(m_samp))
    add("container/memory/utilizations", "DELTA", "DISTRIBUTION", "10^2.%", {},
        distribution(UTILIZATION_LAYOUT, m_samp, np.clip(mem_v, 0.0, 1.0), minutes))  # fmt: skip

    peak = c.peak_inflight
    a_m = np.repeat(np.arange(minutes), active)
    lam = 1.3 * peak[a_m] / np.maximum(active[a_m], 1)
    conc = np.clip(rng.poisson(lam), 1, rev.concurrency)
    add("container/max_request_concurrencies", "DELTA", "DISTRIBUTION", "1", {"state": "active"},
        distribution(CONCURRENCY_LAYOUT, a_m, conc.astype(np.float64), minutes))  # fmt: skip

    lt = c.lifetimes
    st = lt.started & (lt.start < minutes * 60)
    add("container/startup_latencies", "DELTA", "DISTRIBUTION", "ms", {},
        distribution(STARTUP_LAYOUT, (lt.start[st] // 60).astype(np.int64), lt.startup_ms[st],
                     minutes))  # fmt: skip

    has_req = served_m > 0
    rx = served_m * REQUEST_BYTES_MEDIAN * np.exp(0.1 * rng.standard_normal(minutes))
    tx_per = RESPONSE_BYTES_PER_MS * rev.latency_median_ms + 500.0
    tx = served_m * tx_per * np.exp(0.2 * rng.standard_normal(minutes))
    add("container/network/received_bytes_count", "DELTA", "INT64", "By", {"kind": "internet"},
        np.where(has_req, np.round(rx), np.nan))  # fmt: skip
    add("container/network/sent_bytes_count", "DELTA", "INT64", "By", {"kind": "internet"},
        np.where(has_req, np.round(tx), np.nan))  # fmt: skip


def _minute_inflight(run: RevisionRun, minutes: int) -> np.ndarray:
    return np.asarray(run.inflight_per_s[: minutes * 60].reshape(minutes, 60).mean(axis=1))


def _active_instances(run: RevisionRun, minutes: int) -> np.ndarray:
    """Instances that served requests (or were starting) in each minute, <= instances."""
    scale = 1.0 / 60.0
    b0 = np.minimum((run.busy_start * scale).astype(np.int64), minutes - 1)
    b1 = np.minimum((run.busy_end * scale).astype(np.int64), minutes - 1)
    slot = run.busy_slot.astype(np.int64)
    n_slots = int(slot.max()) + 1 if len(slot) else 1
    keys = [b0 * n_slots + slot, b1 * n_slots + slot]
    long = np.flatnonzero(b1 - b0 >= 2)  # periods covering whole minutes in between
    if len(long):
        lens = b1[long] - b0[long] - 1
        first = np.repeat(b0[long] + 1, lens)
        mins = first + np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
        keys.append(mins * n_slots + np.repeat(slot[long], lens))
    marks = np.zeros(minutes * n_slots, dtype=bool)
    for k in keys:
        marks[k] = True
    busy_slots = marks.reshape(minutes, n_slots).sum(axis=1)
    lt = run.lifetimes
    st = lt.started & (lt.start < minutes * 60)
    starting = np.bincount((lt.start[st] * scale).astype(np.int64), minlength=minutes)[:minutes]
    return np.asarray(np.minimum(run.instances, np.maximum(busy_slots, starting)), dtype=np.int64)
