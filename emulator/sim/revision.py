"""Simulating one revision: requests -> rejections, instances, cold starts, billing.

Every request that reaches the revision is simulated individually (vectorised): an arrival
time, a lognormal service time, a status, and - when it meets a cold start or queues - the
wait before service. Requests are routed to instances with a free slot (never more than the
revision's concurrency on one instance); per instance ("slot"), the union of request
intervals gives the busy periods, each rounded up to 100 ms for request-based billing (exact,
with no per-second approximation).

Approximations (documented, deliberate):
- Max instances: while the in-flight demand over the platform's wait window
  (max(10 s, 3.5 x mean startup)) exceeds max_instances x concurrency, the excess fraction of
  arrivals waits that long and fails with 429; they never reach a container.
- Routing respects max concurrency (routing.py): a request goes to a ready instance with a
  free slot (uniformly among them); with none it waits for the soonest starting instance with
  room (it meets a cold start), or queues for the first slot that frees up. The autoscaler's
  request-driven need is the most requests in flight at once in each second / concurrency.
- The request_latencies metric is measured inside the container: it excludes that wait unless
  ``LATENCY_METRIC_INCLUDES_COLD_START_WAIT`` (docs/facts.md, Metrics); the request log's latency
  includes it.
- Request-based billing: busy periods (rounded up to 100 ms) + startup time of each instance;
  min instances are billed at the idle rate for the time they are not active, assuming traffic
  is served by min instances first. Instance-based billing: whole lifetimes, at least 60 s each.
- Scheduled min instances (``SimSettings.min_schedule``): the min is a per-second floor
  (``min_floor``, the schedule's floor per minute repeated over its seconds); a scalar min is a
  constant floor. An instance is billed as an idle min instance only while the floor holds its
  level.
- Startup CPU boost: the extra vCPU of a boosted start is billed on top (instances.py,
  ``boost_vcpu_per_minute``; UNCONFIRMED), in vCPU-seconds only (not instance time).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from emulator.sim.instances import (
    STARTUP_CPU_BOOST_FACTOR,
    STARTUP_SIGMA,
    Lifetimes,
    boost_vcpu_per_minute,
    build_lifetimes,
    desired_instances,
    floor_array,
    floor_pieces,
    next_ready_per_second,
    per_second_counts,
)
from emulator.sim.model import RevisionSpec, SimSettings
from emulator.sim.routing import (
    hot_requests,
    in_flight_after,
    in_flight_bound,
    peak_per_second,
    route_cold,
    route_hot,
)
from emulator.sim.util import (
    fast_normal,
    interval_integral,
    sparse_indices,
    trailing_mean,
)

LATENCY_METRIC_INCLUDES_COLD_START_WAIT = False
RATE_404 = 0.004  # share of requests answered 404 (client errors), every revision
SHARE_503_OF_5XX = 0.2
BILLING_GRANULARITY_S = 0.1
INSTANCE_MIN_BILLED_S = 60.0
MAX_REQUEST_WAIT_MIN_S = 10.0
MAX_REQUEST_WAIT_STARTUPS = 3.5


def apply_settings(rev: RevisionSpec, s: SimSettings) -> tuple[RevisionSpec, float]:
    """(revision with the settings applied, service-time multiplier from a CPU change).

    With a min schedule the revision's min instances is the schedule's base (a ``min_instances``
    given too must equal it) and every floor the schedule holds must be within max instances.
    """
    min_instances = rev.min_instances if s.min_instances is None else s.min_instances
    if s.min_schedule is not None:
        base = s.min_schedule.base
        if s.min_instances is not None and s.min_instances != base:
            raise ValueError(
                f"min instances ({s.min_instances}) differ from the min schedule's base "
                f"({base}): the base is the min instances outside the schedule's windows"
            )
        min_instances = base
    new = replace(
        rev,
        concurrency=rev.concurrency if s.concurrency is None else s.concurrency,
        min_instances=min_instances,
        max_instances=rev.max_instances if s.max_instances is None else s.max_instances,
        cpu_idle=rev.cpu_idle if s.cpu_idle is None else s.cpu_idle,
        cpu=rev.cpu if s.cpu is None else s.cpu,
        memory_gib=rev.memory_gib if s.memory_gib is None else s.memory_gib,
        startup_cpu_boost=(
            rev.startup_cpu_boost if s.startup_cpu_boost is None else s.startup_cpu_boost
        ),
    )
    validate_revision(new)
    if s.min_schedule is not None:
        top = max(s.min_schedule.levels())
        if top > new.max_instances:
            raise ValueError(
                f"{rev.name}: min instances {top} of the min schedule exceed max "
                f"({new.max_instances})"
            )
    # The CPU-bound share of a request's time scales with the vCPU one request can use (<= 1).
    busy = min(1.0, rev.cpu_s_per_request / max(rev.latency_median_ms / 1000.0, 1e-9))
    scale = (1.0 - busy) + busy * min(rev.cpu, 1.0) / min(new.cpu, 1.0)
    return new, scale


def validate_revision(rev: RevisionSpec) -> None:
    """Raise ValueError (plain message) when Cloud Run would refuse these settings."""
    if not 1 <= rev.concurrency <= 1000:
        raise ValueError(f"{rev.name}: concurrency must be 1..1000, got {rev.concurrency}")
    if rev.min_instances < 0 or rev.max_instances < 1:
        raise ValueError(f"{rev.name}: need min instances >= 0 and max instances >= 1")
    if rev.min_instances > rev.max_instances:
        raise ValueError(
            f"{rev.name}: min instances ({rev.min_instances}) exceed max ({rev.max_instances})"
        )
    if not 0.08 <= rev.cpu <= 8:
        raise ValueError(f"{rev.name}: cpu must be between 0.08 and 8 vCPU, got {rev.cpu}")
    if not 0.125 <= rev.memory_gib <= 32:
        raise ValueError(f"{rev.name}: memory must be 0.125..32 GiB, got {rev.memory_gib}")
    if rev.cpu < 1 and rev.concurrency > 1:
        raise ValueError(f"{rev.name}: below 1 vCPU the concurrency must be 1")
    if rev.cpu < 1 and not rev.cpu_idle:
        raise ValueError(f"{rev.name}: below 1 vCPU only request-based billing is allowed")


@dataclass
class RevisionRun:
    """What one revision did over the window (seconds from the window start)."""

    spec: RevisionSpec  # with the simulated settings applied
    t: np.ndarray  # arrival times of served requests (sorted)
    svc: np.ndarray  # service time, seconds
    wait: np.ndarray  # wait before service (cold start or queue), seconds (0 for most)
    cold: np.ndarray  # bool: the request waited for a starting instance (met a cold start)
    status: np.ndarray  # int16 HTTP status
    slot: np.ndarray  # int16 instance slot the request ran on
    rejected_t: np.ndarray  # arrival times of 429 rejections
    max_wait_s: float
    lifetimes: Lifetimes
    inflight_per_s: np.ndarray
    alive_per_s: np.ndarray
    busy_start: np.ndarray  # busy periods (per slot), start and rounded end
    busy_end: np.ndarray
    busy_slot: np.ndarray  # int16
    min_floor: np.ndarray  # int32 per second: the min-instance floor (constant without schedule)
    # per minute
    alive_s: np.ndarray
    active_s: np.ndarray  # billed at the active rate (request-based) / whole life (instance)
    idle_min_s: np.ndarray
    billable_s: np.ndarray
    instances: np.ndarray  # int64: ceil(alive seconds / 60)
    boost_vcpu_s: np.ndarray  # extra vCPU-seconds of the startup CPU boost (0 without it)

    @property
    def meets_cold_start(self) -> np.ndarray:
        return self.cold

    @property
    def served_count(self) -> int:
        return len(self.t)

    @property
    def rejected_count(self) -> int:
        return len(self.rejected_t)

    @property
    def cold_met_count(self) -> int:
        return int(self.cold.sum())


def simulate_revision(
    rev: RevisionSpec,
    svc_scale: float,
    times: np.ndarray,
    n_seconds: int,
    create_s: float,
    addressable: np.ndarray,
    rollout_s: np.ndarray,
    stream: Callable[[str], np.random.Generator],
    min_floor: np.ndarray | None = None,
) -> RevisionRun:
    """Simulate one revision over ``n_seconds`` given its (sorted) request arrival times.

    ``stream(purpose)`` gives the random generator for one purpose. Per-request draws are
    made for every arrival (before rejections) from their own stream, so a re-simulation under
    other settings gives each request the same service time, status and tie-breaks.
    ``min_floor``: the min-instance floor per second (a schedule; None: ``rev.min_instances``
    throughout), aligned with ``addressable``.
    """
    floor = floor_array(rev.min_instances if min_floor is None else min_floor, n_seconds)
    n = len(times)
    minutes = n_seconds // 60
    median_s = (rev.latency_median_ms / 1000.0) * svc_scale
    svc: np.ndarray = np.exp(rev.latency_sigma * fast_normal(stream("service"), n)) * median_s
    np.minimum(svc, rev.timeout_s, out=svc)
    status = _statuses(stream("status"), n, rev.error_rate_5xx)

    sec = times.astype(np.int64)
    np.minimum(sec, n_seconds - 1, out=sec)
    inflight = interval_integral(times, times + svc, n_seconds, 1.0, in_window=True)
    max_wait = max_request_wait_s(rev)
    rejected_t, kept = _rejected(rev, times, sec, inflight, max_wait, stream)
    if kept is not None:
        times, svc, sec, status = times[kept], svc[kept], sec[kept], status[kept]
        inflight = interval_integral(times, times + svc, n_seconds, 1.0, in_window=True)
    arrivals = np.bincount(sec, minlength=n_seconds)[:n_seconds].astype(np.float64)
    ends = times + svc
    conc = rev.concurrency
    flight = peak = None
    if len(times):
        bound = in_flight_bound(times, ends, n_seconds)
        flight = in_flight_after(times, ends) if bound.max() > conc else None
        peak = peak_per_second(times, flight, bound)

    desired, _ = desired_instances(
        arrivals, inflight, conc, rev.cpu, rev.cpu_s_per_request,
        floor, rev.max_instances, addressable, create_s, peak,
    )  # fmt: skip
    lt = build_lifetimes(
        desired, times, create_s, floor, addressable, rollout_s,
        rev.startup_median_ms, rev.startup_cpu_boost, rev.oom_per_instance_hour,
        stream("instances"),
    )  # fmt: skip
    alive, ready = per_second_counts(lt, n_seconds)
    u_slot = _per_request(stream, "slot", n, kept)
    wait, slot, cold = _routed(times, svc, sec, u_slot, lt, alive, ready, flight, conc)
    start = times + wait if wait.any() else times
    b_start, b_end, b_slot = _busy_periods(start, start + svc, slot)

    alive_s = interval_integral(lt.start, lt.end, minutes, 60.0)
    busy_s = interval_integral(b_start, b_end, minutes, 60.0)
    active, idle_min = billed_time(lt, rev, alive_s, busy_s, floor)
    return RevisionRun(
        spec=rev, t=times, svc=svc, wait=wait, cold=cold, status=status, slot=slot,
        rejected_t=rejected_t, max_wait_s=max_wait, lifetimes=lt,
        inflight_per_s=inflight, alive_per_s=alive,
        busy_start=b_start, busy_end=b_end, busy_slot=b_slot, min_floor=floor,
        alive_s=alive_s, active_s=active, idle_min_s=idle_min, billable_s=active + idle_min,
        instances=np.ceil(alive_s / 60.0 - 1e-9).astype(np.int64),
        boost_vcpu_s=boost_vcpu_per_minute(lt, rev.cpu, rev.startup_cpu_boost, minutes),
    )  # fmt: skip


def max_request_wait_s(rev: RevisionSpec) -> float:
    """How long a request waits for an instance past max instances before its 429: the
    platform's wait window, max(10 s, 3.5 x the mean startup time)."""
    boost = STARTUP_CPU_BOOST_FACTOR if rev.startup_cpu_boost else 1.0
    mean_startup_s = rev.startup_median_ms * boost * np.exp(STARTUP_SIGMA**2 / 2) / 1000.0
    return float(max(MAX_REQUEST_WAIT_MIN_S, MAX_REQUEST_WAIT_STARTUPS * mean_startup_s))


def _rejected(
    rev: RevisionSpec,
    times: np.ndarray,
    sec: np.ndarray,
    inflight: np.ndarray,
    max_wait: float,
    stream: Callable[[str], np.random.Generator],
) -> tuple[np.ndarray, np.ndarray | None]:
    """(arrival times of the 429s, indices of the requests kept; None when all are): while the
    in-flight demand over the wait window exceeds max instances x concurrency, the excess
    fraction of arrivals is refused."""
    cap = rev.max_instances * rev.concurrency
    demand = trailing_mean(inflight, int(np.ceil(max_wait)))
    if len(times) and demand.max() > cap:
        frac = np.clip(1.0 - cap / np.maximum(demand, 1e-9), 0.0, 1.0)
        rejected = stream("reject").random(len(times), dtype=np.float32) < frac[sec]
        if rejected.any():
            return times[rejected], np.flatnonzero(~rejected)
    return np.zeros(0), None


def _routed(
    times: np.ndarray,
    svc: np.ndarray,
    sec: np.ndarray,
    u_slot: np.ndarray,
    lt: Lifetimes,
    alive: np.ndarray,
    ready: np.ndarray,
    flight: np.ndarray | None,
    conc: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(wait, slot, cold) of every served request (routing.py): vectorised outside hot
    stretches, one by one inside them (``flight``: in flight after each arrival, None when
    never above ``conc``)."""
    wait = route_cold(times, lt, next_ready_per_second(lt, len(alive)), alive > ready)
    slot = (u_slot * np.maximum(ready[sec], 1)).astype(np.int16)
    cold = wait > 0
    if flight is not None:
        hot = hot_requests(flight, conc)
        if len(hot):
            wait[hot], slot[hot], cold[hot] = route_hot(hot, times, svc, u_slot, lt, conc)
    return wait, slot, cold


def billed_time(
    lt: Lifetimes,
    rev: RevisionSpec,
    alive_s: np.ndarray,
    busy_s: np.ndarray,
    min_floor: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(active, idle min-instance) seconds per minute from the instances' lives and busy time.

    Request-based: busy time + startup time, at most the time alive; min instances are billed
    idle for the time they are not active (traffic is served by min instances first), an
    instance counting as a min instance while the floor (``min_floor`` per second; None:
    ``rev.min_instances`` throughout) holds its level. Instance-based: whole lives, nothing idle.
    """
    minutes = len(alive_s)
    if not rev.cpu_idle:
        return alive_s, np.zeros(minutes)
    st = lt.started
    startup_s = interval_integral(lt.start[st], lt.ready[st], minutes, 60.0)
    floor = floor_array(rev.min_instances if min_floor is None else min_floor, minutes * 60)
    min_start, min_end = floor_pieces(lt, floor)
    min_alive = interval_integral(min_start, min_end, minutes, 60.0)
    active = np.minimum(busy_s + startup_s, alive_s)
    return active, np.clip(min_alive - active, 0.0, alive_s - active)


def _per_request(
    stream: Callable[[str], np.random.Generator], purpose: str, n: int, kept: np.ndarray | None
) -> np.ndarray:
    """Uniform draws for every arrival (stable across settings), for the requests kept."""
    u = stream(purpose).random(n, dtype=np.float32)
    return u if kept is None else u[kept]


def _statuses(rng: np.random.Generator, n: int, error_rate: float) -> np.ndarray:
    """HTTP status of every request: 5xx at the revision's rate (some 503), some 404."""
    status = np.full(n, 200, dtype=np.int16)
    status[sparse_indices(rng, n, RATE_404)] = 404
    err = sparse_indices(rng, n, error_rate)
    status[err] = np.where(rng.random(len(err)) < SHARE_503_OF_5XX, 503, 500)
    return status


def _busy_periods(
    s: np.ndarray, e: np.ndarray, slot: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Busy periods per slot (union of request intervals), ends rounded up to 100 ms.

    Requests are grouped by slot with a stable (radix) sort, which keeps each slot's requests
    in arrival order; a running maximum of end times per slot then marks where a period breaks.
    """
    if len(s) == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int16)
    counts = np.bincount(slot)
    if len(counts) == 1:
        ss, es = s, e
    else:
        order = np.argsort(slot, kind="stable")
        ss, es = s[order], e[order]
    bounds = np.concatenate([[0], np.cumsum(counts)])
    cm = np.empty(len(ss))
    brk = np.empty(len(ss), dtype=bool)
    for k in range(len(counts)):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        if hi == lo:
            continue
        np.maximum.accumulate(es[lo:hi], out=cm[lo:hi])
        np.greater(ss[lo + 1 : hi], cm[lo : hi - 1], out=brk[lo + 1 : hi])
        brk[lo] = True
    first = np.flatnonzero(brk)
    last = np.append(first[1:] - 1, len(ss) - 1)
    start = ss[first]
    dur = np.ceil((cm[last] - start) / BILLING_GRANULARITY_S - 1e-6) * BILLING_GRANULARITY_S
    slots = (np.searchsorted(bounds, first, side="right") - 1).astype(np.int16)
    return start, start + dur, slots
