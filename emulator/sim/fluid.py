"""The per-minute ("fluid") model of a background service: the same series, much cheaper.

Big generated fleets (emulator.sim.fleetgen) flag most services ``background``: simulating their
requests one by one would take hours (hundreds of requests a second over a week). This model
works per minute and keeps the semantics of the request-by-request one (revision.py):

- Arrivals: the same traffic shape (arrivals.minute_rates, same random stream) and traffic
  split (per minute, the percent in effect at the minute's middle). The requests of a minute
  are Poisson per status class (404 at ``RATE_404``, 5xx at the revision's rate, a share of
  them 503; the normal approximation from ``NORMAL_FROM`` requests on); their latencies are
  spread over the buckets of the service time's lognormal (clipped at the timeout) by
  stratified sampling (minute_draws.py): the minute's n requests sit at the quantiles
  (j + u) / n, u uniform, so each bucket gets its expected share on average and the counts
  always add up.
- 429s: while the mean in-flight demand exceeds max instances x concurrency, the excess share
  of the minute's requests is rejected (binomial thinning); a rejection gets a time uniform in
  its minute and a requests-log entry with the platform's text. Application
  5xx answers get no log entry (the dashboard reads only platform messages).
- Instances: the autoscaler's rule of instances.py (60 % targets on in-flight requests and
  CPU, at least one instance in a minute with a request, and room for the most requests in
  flight at once, drawn as the largest of ``60 s / mean service time`` Poisson looks at the
  in-flight count) evaluated once a minute; lifetimes, idle retention, min
  instances, recycling, OOM kills and startup times come from instances.build_lifetimes,
  with starts spread over the minute.
- Billing: request-based bills the time an instance has a request in flight, estimated per
  minute as ``alive x (1 - exp(-work / alive))`` (requests spread uniformly over the alive
  instances), plus 50 ms rounding per busy period and startup time; instance-based bills whole
  lifetimes (at least 60 s). Idle min instances as in revision.py, with the same per-second
  min-instance floor (a min schedule's, or the constant min instances). The startup CPU
  boost's extra vCPU is billed as in revision.py (instances.boost_vcpu_per_minute).

Ground truth (``service.truth_of`` over these runs, ``truth.ground_truth``): the model's own
accounting of the requests, rejections, starts and billable time it generated; a re-run under
other settings replays the same per-minute arrivals (the same random streams), but it is not a
request-level simulation: cold-start waits and queueing at max concurrency are not modelled, and
the latency metric never includes a wait.

The distributions come out packed (model.PackedDistributionSeries): only the minutes with a
point and the band of buckets in use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from emulator.sim.arrivals import minute_rates, traffic_timeline
from emulator.sim.instances import (
    AUTOSCALING,
    TARGET_UTILIZATION,
    Lifetimes,
    boost_vcpu_per_minute,
    build_lifetimes,
    floor_array,
)
from emulator.sim.minute_draws import (
    latency_buckets,
    minute_counts,
    packed_latencies,
    peak_in_flight,
)
from emulator.sim.model import (
    FleetSpec,
    PackedDistributionSeries,
    RawSeries,
    RequestEvent,
    RevisionSpec,
    ServiceSpec,
    SimSettings,
)
from emulator.sim.revision import (
    BILLING_GRANULARITY_S,
    RATE_404,
    SHARE_503_OF_5XX,
    apply_settings,
    billed_time,
    max_request_wait_s,
)
from emulator.sim.series import ContainerMinutes, adder, container_series
from emulator.sim.util import interval_integral, rng_for, to_datetimes

MAX_WINDOWS = 600.0  # most independent looks at the in-flight count in a minute
BAND_P = 1e-9  # latency buckets less likely than this are left out of the band
Stream = Callable[[str], np.random.Generator]


@dataclass
class FluidRun:
    """What one revision did over the window, per minute (see the module docstring)."""

    spec: RevisionSpec  # with the simulated settings applied
    codes: dict[int, np.ndarray]  # response code -> requests served per minute (int64)
    latencies: dict[int, PackedDistributionSeries]  # status class (2, 4, 5) -> latencies
    rejected_t: np.ndarray  # times of the 429 rejections (seconds from the window start)
    max_wait_s: float
    lifetimes: Lifetimes
    container: ContainerMinutes
    cold_met: int  # requests that met a cold start (see cold_met_count)

    @property
    def alive_s(self) -> np.ndarray:
        return self.container.alive_s

    @property
    def active_s(self) -> np.ndarray:
        return self.container.active_s

    @property
    def idle_min_s(self) -> np.ndarray:
        return np.asarray(self.container.billable_s - self.container.active_s)

    @property
    def boost_vcpu_s(self) -> np.ndarray:
        return self.container.boost_vcpu_s

    @property
    def served_count(self) -> int:
        return int(sum(int(c.sum()) for c in self.codes.values()))

    @property
    def rejected_count(self) -> int:
        return len(self.rejected_t)

    @property
    def cold_met_count(self) -> int:
        """Requests that met a cold start: one per demand-driven (AUTOSCALING) start that the
        utilization target did not foresee (or that scaled up from zero)."""
        return self.cold_met


def simulate_fluid_service(
    fleet: FleetSpec, svc: ServiceSpec, settings: SimSettings | None = None
) -> list[FluidRun]:
    """Per-minute runs of every revision of ``svc`` (in spec order), settings applied."""
    from emulator.sim.service import addressable_seconds, min_floor, rollout_times, streams

    settings = settings or SimSettings()
    minutes = fleet.minutes
    n_seconds = minutes * 60
    key = (svc.region, svc.name)
    rates = minute_rates(svc.shape, fleet.start, minutes, rng_for(fleet.seed, *key, "rates"))
    timeline = traffic_timeline(svc, fleet.start)
    mid = np.arange(minutes, dtype=np.float64) * 60.0 + 30.0
    pct = timeline.percents[timeline.index_at(mid)]
    floor = min_floor(fleet, settings)
    runs = []
    for i, rev in enumerate(svc.revisions):
        eff, scale = apply_settings(rev, settings)
        create_s = (rev.create_time - fleet.start).total_seconds()
        lam = rates * 60.0 * pct[:, i] / 100.0
        lam[: max(0, min(minutes, int(np.ceil(create_s / 60.0))))] = 0.0
        runs.append(
            fluid_revision(
                eff,
                scale,
                lam,
                n_seconds,
                create_s,
                addressable_seconds(timeline, i, create_s, n_seconds),
                rollout_times(timeline, i),
                streams(fleet.seed, (svc.region, svc.name, rev.name)),
                floor,
            )
        )
    return runs


def fluid_revision(
    rev: RevisionSpec,
    svc_scale: float,
    lam: np.ndarray,
    n_seconds: int,
    create_s: float,
    addressable: np.ndarray,
    rollout_s: np.ndarray,
    stream: Stream,
    min_floor: np.ndarray | None = None,
) -> FluidRun:
    """One revision over ``n_seconds`` given its expected requests per minute ``lam``
    (``min_floor``: the min-instance floor per second; None: ``rev.min_instances``)."""
    floor = floor_array(rev.min_instances if min_floor is None else min_floor, n_seconds)
    minutes = n_seconds // 60
    p, m1, m2 = latency_buckets(rev, svc_scale)
    used = np.flatnonzero(p > BAND_P)
    lo, hi = int(used[0]), int(used[-1]) + 1
    pb, e1, e2 = p[lo:hi] / p[lo:hi].sum(), m1[lo:hi], m2[lo:hi]
    mean_svc_s = float((pb * e1).sum()) / 1000.0

    counts, rejected_m = _admitted(rev, lam, mean_svc_s, minutes, stream)
    served = sum(counts.values(), np.zeros(minutes, dtype=np.int64))
    cdf = np.cumsum(pb)
    cdf /= cdf[-1]
    q_rng = stream("f-quantiles")
    latencies = {
        k: packed_latencies(n, cdf, lo, e1, e2, minutes, q_rng)
        for k, n in counts.items()
        if n.any()
    }
    rej_rng = stream("f-reject-times")
    n_rej = int(rejected_m.sum())
    rejected_t = np.sort(
        np.repeat(np.arange(minutes) * 60.0, rejected_m) + rej_rng.random(n_rej) * 60.0
    )

    # the autoscaler, once a minute
    work = served * mean_svc_s  # request-seconds
    inflight = work / 60.0
    cpu_use = served / 60.0 * rev.cpu_s_per_request
    target = np.maximum(
        np.ceil(inflight / (TARGET_UTILIZATION * rev.concurrency) - 1e-9),
        np.ceil(cpu_use / (TARGET_UTILIZATION * rev.cpu) - 1e-9),
    )
    windows = max(1.0, min(60.0 / max(mean_svc_s, 1e-3), MAX_WINDOWS))
    peak = peak_in_flight(inflight, windows, stream("f-peak").random(minutes))
    peak = np.clip(peak, np.minimum(served, 1), served).astype(np.float64)
    need = np.maximum(target, np.ceil(peak / rev.concurrency - 1e-9))
    lt = _lifetimes(rev, need, n_seconds, create_s, addressable, rollout_s, floor, stream)
    container = _container(rev, lt, served, work, inflight, peak, n_seconds, floor)
    auto = (lt.reason == AUTOSCALING) & (lt.start < n_seconds)
    start_m = np.minimum((lt.start[auto] / 60.0).astype(np.int64), minutes - 1)
    met = (lt.level[auto] > target[start_m]) | (lt.level[auto] == 1)
    codes = _response_codes(counts, stream)
    max_wait = max_request_wait_s(rev)
    return FluidRun(rev, codes, latencies, rejected_t, max_wait, lt, container, int(met.sum()))


def _admitted(
    rev: RevisionSpec, lam: np.ndarray, mean_svc_s: float, minutes: int, stream: Stream
) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """(requests reaching a container per minute by status class 2, 4, 5; 429s per minute):
    the per-request model's rule on the minute's mean in-flight demand, arrivals past max
    instances thinned out binomially."""
    demand = lam * mean_svc_s / 60.0
    cap = rev.max_instances * rev.concurrency
    frac = np.where(demand > cap, 1.0 - cap / np.maximum(demand, 1e-12), 0.0)
    over = np.flatnonzero(frac > 0)
    share = {
        2: (1.0 - RATE_404) * (1.0 - rev.error_rate_5xx),
        4: RATE_404 * (1.0 - rev.error_rate_5xx),
        5: rev.error_rate_5xx,
    }
    req_rng, thin_rng = stream("f-requests"), stream("f-reject")
    counts = {k: minute_counts(lam * s, req_rng) for k, s in share.items() if s > 0}
    rejected_m = np.zeros(minutes, dtype=np.int64)
    for n in counts.values():  # arrivals past max instances never reach a container
        if len(over):
            kept = thin_rng.binomial(n[over], 1.0 - frac[over])
            rejected_m[over] += n[over] - kept
            n[over] = kept
    return counts, rejected_m


def _response_codes(counts: dict[int, np.ndarray], stream: Stream) -> dict[int, np.ndarray]:
    """Requests per minute by response code (a share of the 5xx are 503); codes never
    answered are left out."""
    codes: dict[int, np.ndarray] = {}
    if 2 in counts and counts[2].any():
        codes[200] = counts[2]
    if 4 in counts and counts[4].any():
        codes[404] = counts[4]
    if 5 in counts and counts[5].any():
        n503 = stream("f-status").binomial(counts[5], SHARE_503_OF_5XX)
        codes[500] = counts[5] - n503
        if n503.any():
            codes[503] = n503
        if not codes[500].any():
            del codes[500]
    return codes


def _lifetimes(
    rev: RevisionSpec,
    need: np.ndarray,
    n_seconds: int,
    create_s: float,
    addressable: np.ndarray,
    rollout_s: np.ndarray,
    floor: np.ndarray,
    stream: Stream,
) -> Lifetimes:
    """The instances' lives for the instances needed per minute (at most max instances, at
    least the min-instance floor while addressable, one to check a deployment)."""
    per_s = np.repeat(np.minimum(need, rev.max_instances).astype(np.int32), 60)[:n_seconds]
    if floor.any():
        np.maximum(per_s, addressable * floor, out=per_s)
    first = int(np.ceil(create_s)) if create_s > 0 else 0
    per_s[: min(first, n_seconds)] = 0
    if 0 <= create_s < n_seconds:  # deployment: one instance is started to check the revision
        per_s[int(create_s)] = max(per_s[int(create_s)], 1)
    return build_lifetimes(
        per_s, np.array([np.inf]), create_s, floor, addressable,
        rollout_s, rev.startup_median_ms, rev.startup_cpu_boost, rev.oom_per_instance_hour,
        stream("instances"), spread_s=60.0,
    )  # fmt: skip


def _container(
    rev: RevisionSpec,
    lt: Lifetimes,
    served: np.ndarray,
    work: np.ndarray,
    inflight: np.ndarray,
    peak: np.ndarray,
    n_seconds: int,
    floor: np.ndarray,
) -> ContainerMinutes:
    """The revision's minutes as series.py reads them: seconds alive, active and billable,
    instances and active instances (serving or starting). ``work``: request-seconds served
    per minute; ``inflight`` and ``peak``: mean and most requests in flight; ``floor``: the
    min-instance floor per second."""
    minutes = n_seconds // 60
    alive_s = interval_integral(lt.start, lt.end, minutes, 60.0)
    load = np.divide(work, alive_s, out=np.zeros(minutes), where=alive_s > 0)
    busy = alive_s * -np.expm1(-load)
    periods = served * np.exp(-load)
    busy_s = np.minimum(busy + periods * BILLING_GRANULARITY_S / 2.0, alive_s)
    active_s, idle_min = billed_time(lt, rev, alive_s, busy_s, floor)
    instances = np.ceil(alive_s / 60.0 - 1e-9).astype(np.int64)
    inst_f = np.maximum(instances, 1).astype(np.float64)
    serving = np.where(served > 0, np.maximum(np.ceil(inst_f * -np.expm1(-served / inst_f)), 1), 0)
    s_started = lt.started & (lt.start < n_seconds)
    starting = np.bincount((lt.start[s_started] / 60.0).astype(np.int64), minlength=minutes)
    active = np.minimum(instances, np.maximum(serving.astype(np.int64), starting[:minutes]))
    return ContainerMinutes(
        spec=rev,
        served=served,
        alive_s=alive_s,
        active_s=active_s,
        billable_s=active_s + idle_min,
        instances=instances,
        active=active,
        mean_inflight=inflight,
        peak_inflight=peak,
        lifetimes=lt,
        boost_vcpu_s=boost_vcpu_per_minute(lt, rev.cpu, rev.startup_cpu_boost, minutes),
    )


def fluid_series(
    run: FluidRun, resource_labels: dict[str, str], minutes: int, rng: np.random.Generator
) -> list[RawSeries]:
    """Every metric of docs/facts.md (Metrics) for one per-minute revision, with the semantics
    of series.py."""
    out: list[RawSeries] = []
    add = adder(out, resource_labels)
    for code in sorted(run.codes):
        cnt = run.codes[code].astype(np.float64)
        labels = {"response_code": str(code), "response_code_class": f"{code // 100}xx"}
        add("request_count", "DELTA", "INT64", "1", labels, np.where(cnt > 0, cnt, np.nan))
    for cls in sorted(run.latencies):
        add("request_latencies", "DELTA", "DISTRIBUTION", "ms",
            {"response_code_class": f"{cls}xx"}, run.latencies[cls])  # fmt: skip
    container_series(add, run.container, minutes, rng, pack=True)
    return out


def rejection_events(
    run: FluidRun, start: datetime, where: tuple[str, str, str], rng: np.random.Generator
) -> list[tuple[float, RequestEvent]]:
    """The 429 rejections of a per-minute revision as requests-log events (keyed by offset)."""
    from emulator.sim.events import NO_INSTANCE_TEXT, PATHS

    region, service, revision = where
    secs = run.rejected_t
    paths = rng.integers(0, len(PATHS), size=len(secs))
    post = rng.random(len(secs)) < 0.3
    latency = round(float(run.max_wait_s), 6)
    out = []
    for k, ts in enumerate(to_datetimes(start, secs)):
        ev = RequestEvent(
            timestamp=ts,
            service=service,
            revision=revision,
            region=region,
            instance_id=None,
            status=429,
            latency_s=latency,
            method="POST" if post[k] else "GET",
            path=PATHS[int(paths[k])],
            platform_text=NO_INSTANCE_TEXT,
        )
        out.append((float(secs[k]), ev))
    return out
