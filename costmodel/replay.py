"""Replay one revision's observed per-minute traffic through a Cloud Run autoscaling model.

For every setting of a grid at once:

1. Demand: ``d`` requests a minute (served + observed 429s), mean latency ``L``; in-flight
   requests by Little's law ``mu = d / 60 * L``, arrivals ``lam = d / 60`` a second.
2. The instance stack (costmodel/instance_stack.py): level k is needed for the whole minute when the
   minute's mean load asks for k instances (``ceil(max(mu / (target * C), cpu_demand /
   (cpu_target * cpu)))``, at least 1 with any demand), and otherwise with the probability that
   the requests in flight at once reach ``(k - 1) * C + 1`` during the minute (Poisson
   upcrossings, their rate scaled by the calibrated ``peak_scale``).
3. Idle retention R (uniform on [lo, hi] minutes): each level's expected starts and probability
   of being alive per minute. Min instances keep levels 1..min alive; levels above max
   instances never exist. So a setting's instance count is ``min`` plus the alive
   probabilities of levels ``min + 1 .. max``, and its starts are those levels' starts (plus
   min-instance recycling and other background starts at fitted rates).
4. Rejections above max instances: a request that finds no free slot waits (up to 3.5 startups
   or 10 s, docs/facts.md, Autoscaling) before its 429, so short bursts queue rather than fail;
   the share of the minute's demand beyond ``max * C`` in flight on average (``1 - max * C /
   mu``) is refused.
5. Requests meeting a cold start: when the first level starts, every request arriving during
   the startup (at least the one that triggered it); a start of level k, one request at
   concurrency 1, else its share ``1 + lam * startup / k`` of the arrivals during the startup.
6. Billable time. Request-based: instance-seconds with at least one request in flight (requests
   spread over the n instances, each busy with probability ``1 - exp(-mu / n)``; at
   concurrency 1 busy instance-seconds are exactly ``mu``), plus 100 ms rounding per busy period,
   plus startup time; idle min instances (min instances not busy) separately, at the idle rate.
   Instance-based: every instance's whole life; a life counted in whole minutes overshoots the
   true one by a fixed amount per start (instance_stack.retention_weights), which is removed.

Only concurrency and cpu change the stack; min/max instances only choose which levels count,
and billing mode and memory only change prices. So the stack is computed once per distinct
wanted curve (and concurrency, when within-minute peaks reach level 2 or above; concurrency 1
or not otherwise), its running sums over levels once, and each (min, max) is then a difference
of two rows; settings that cannot differ (e.g. concurrencies too high for any rejection or
peak) share their totals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from costmodel import boost
from costmodel.grid import Grid, Result
from costmodel.instance_stack import (
    StackSums,
    need_probability,
    peak_level_count,
    retention_weights,
    stack_sums,
)
from costmodel.traffic import ROUNDING_UPLIFT_S, Traffic, busy_instances

__all__ = ["Grid", "Params", "Result", "load", "replay", "wanted_instances"]


@dataclass(frozen=True)
class Params:
    """The model's free parameters (calibrate.py fits some of them to observed data)."""

    target: float = 0.6  # share of max concurrency the autoscaler aims for (docs: 60 %)
    cpu_target: float = 0.6  # CPU utilization target (docs: 60 %)
    # Within-minute peaks: multiplier on the Poisson upcrossing rate of each stack level
    # (crossings cluster, so fewer distinct excursions than crossings). 0 = the mean load
    # only, the default for a described workload; calibration fits it to observed data.
    peak_scale: float = 0.0
    # Idle retention: an unneeded instance is kept R minutes, R uniform on [lo, hi] (docs: up
    # to 15 minutes), integrated with ``retention_points`` equally weighted quantiles.
    retention_lo_min: float = 1.0
    retention_hi_min: float = 15.0
    retention_points: int = 4
    recycle_per_min_instance_h: float = 0.0  # min-instance recycling starts per instance-hour
    background_starts_per_h: float = 0.0  # other restarts (OOM ...) per hour of life
    autoscaling_starts_scale: float = 1.0  # calibrated: observed / modelled demand starts
    rounding_uplift_s: float = ROUNDING_UPLIFT_S  # mean extra billed time per busy period
    startup_s: float | None = None  # None: the traffic's observed mean startup time

    def retention(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Whole-minute retentions, their weights, and the life overshoot per start."""
        return retention_weights(
            self.retention_lo_min, self.retention_hi_min, self.retention_points
        )


def load(traffic: Traffic) -> tuple[np.ndarray, np.ndarray]:
    """(in-flight mean mu, arrivals per second) per minute, by Little's law."""
    lam = traffic.demand / 60.0
    return lam * traffic.filled_latency_s(), lam


def wanted_instances(
    traffic: Traffic,
    concurrency: int,
    cpu: float,
    params: Params,
    mu_lam: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(instances the mean load wants, in-flight mean mu, arrivals per second) per minute."""
    mu, lam = load(traffic) if mu_lam is None else mu_lam
    need = mu / (params.target * float(concurrency))
    if traffic.cpu_s_per_request > 0:
        need = np.maximum(need, lam * traffic.cpu_s_per_request / (params.cpu_target * cpu))
    wanted = np.where(lam > 0, np.maximum(np.ceil(need - 1e-9), 1.0), 0.0)
    return wanted, mu, lam


_TOTALS = (
    "served",
    "rejected",
    "cold_starts",
    "meeting",
    "instance_s",
    "busy_s",
    "active_s",
    "idle_min_s",
    "peak",
)
StackKey = tuple[bool, int, bytes]  # (concurrency 1, concurrency the peaks depend on, curve)


def _rejections(
    d: np.ndarray, mu: np.ndarray, lam: np.ndarray, capacity: float
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """(served, rejected, and the served requests' in-flight mean and arrivals per minute) when
    at most ``capacity`` requests can be in flight at once: the share of each minute's demand
    beyond it is refused with 429 (requests wait out shorter bursts)."""
    if float(mu.max(initial=0.0)) <= capacity:
        return float(d.sum()), 0.0, mu, lam
    keep = np.minimum(capacity / np.maximum(mu, 1e-12), 1.0)
    rejected = d * (1.0 - keep)
    return float((d - rejected).sum()), float(rejected.sum()), mu * keep, lam * keep


def _request_billed(
    inst: np.ndarray,
    busy: np.ndarray,
    periods: np.ndarray,
    ups: np.ndarray,
    floor: float | np.ndarray,
    startup: float,
    params: Params,
    work: np.ndarray,
) -> tuple[np.ndarray, float]:
    """Request-based billing, per minute in instance units: (active = busy + rounding +
    starting, at most the instances alive; idle min-instance seconds over the window, min
    instances not active being billed idle). ``floor``: min instances, or per minute under a
    schedule. ``work``: two scratch rows, overwritten."""
    w_act, w_tmp = work
    act = np.multiply(periods, params.rounding_uplift_s, out=w_act)
    act += busy
    act += np.multiply(ups, startup / 60.0, out=w_tmp)
    np.minimum(act, inst, out=act)
    idle_min_s = 0.0  # without min instances (act >= 0)
    if np.any(floor):
        idle_min = np.minimum(inst, floor, out=w_tmp)
        idle_min -= act
        idle_min_s = float(np.maximum(idle_min, 0.0, out=idle_min).sum()) * 60.0
    return act, idle_min_s


def _setting_totals(
    st: StackSums,
    lo: int,
    hi: int,
    d: np.ndarray,
    mu: np.ndarray,
    lam: np.ndarray,
    conc: int,
    startup: float,
    hours: float,
    params: Params,
    work: np.ndarray,
    schedule: np.ndarray | None = None,
) -> tuple[dict[str, float], np.ndarray]:
    """Window totals (and the expected instances per minute) of min ``lo``, max ``hi``;
    ``schedule``: min instances per minute (``lo`` its lowest), its levels above ``lo`` being
    in the stack's need already (``_scheduled_need``).

    ``work``: (8, T) scratch rows, reused between calls (fresh arrays cost page faults); the
    returned instances may be one of them or a stored stack row: copy before keeping them.
    """
    w_inst, w_ups, w_meet = work[:3]
    floor = float(min(lo, hi))
    held: float | np.ndarray = floor if schedule is None else np.minimum(schedule, hi)
    inst = st.span("alive", lo, hi, w_inst)
    if floor:
        inst = np.add(inst, floor, out=w_inst)
    ups = st.span("starts", lo, hi, w_ups)
    meet = np.minimum(st.span("meeting", lo, hi, w_meet), d, out=w_meet)
    served, rejected, mu_s, lam_s = _rejections(d, mu, lam, float(hi * conc))
    busy, periods = busy_instances(inst, mu_s, lam_s, conc, work[3:6])
    _, _, overshoot = params.retention()
    n_ups = float(ups.sum())
    life_min = float(inst.sum()) - overshoot * n_ups
    recycles = params.recycle_per_min_instance_h * floor * len(d) / 60.0
    if schedule is not None:
        recycles += _scheduled_recycles(schedule, lo, hi, params.recycle_per_min_instance_h)
    extra = recycles + params.background_starts_per_h * min(life_min / 60.0, hours)
    act, idle_min_s = _request_billed(inst, busy, periods, ups, held, startup, params, work[6:])
    totals = {
        "served": served,
        "rejected": rejected,
        "cold_starts": params.autoscaling_starts_scale * n_ups + extra,
        "meeting": float(meet.sum()),
        "instance_s": max(life_min, 0.0) * 60.0,
        "busy_s": float(busy.sum()) * 60.0,
        "active_s": float(act.sum()) * 60.0 + extra * startup,
        "idle_min_s": idle_min_s,
        "peak": float(np.round(inst.max(initial=0.0))),
    }
    return totals, inst


def _stack_groups(
    traffic: Traffic,
    grid: Grid,
    params: Params,
    mu_lam: tuple[np.ndarray, np.ndarray],
    first_instance: bool,
    schedule: np.ndarray | None = None,
) -> tuple[dict[StackKey, np.ndarray], dict[StackKey, list[int]]]:
    """The settings grouped by the instance stack they share: (need probabilities per stack,
    settings per stack). ``first_instance``: the first minute wants at least one instance (a
    deployment's check); ``schedule``: min instances per minute (``_scheduled_need``).

    The need probabilities depend on concurrency only when within-minute peaks reach level 2
    or above; the stack on them and on concurrency 1 or not.
    """
    mu, lam = mu_lam
    mu_max = float(mu.max(initial=0.0))
    probs: dict[tuple[int, bytes], np.ndarray] = {}
    curves: dict[tuple[int, float], StackKey] = {}
    need: dict[StackKey, np.ndarray] = {}  # stack key -> need probabilities
    groups: dict[StackKey, list[int]] = {}  # stack key -> settings
    for k in range(len(grid)):
        conc, cpu = int(grid.concurrency[k]), float(grid.cpu[k])
        if (conc, cpu) not in curves:
            wanted, _, _ = wanted_instances(traffic, conc, cpu, params, mu_lam)
            if first_instance:
                wanted[0] = max(wanted[0], 1.0)
            # Settings with the same mean-load curve (e.g. cpu that never limits) share a stack.
            pconc = conc if peak_level_count(mu_max, conc, params.peak_scale) >= 2 else 0
            pkey = (pconc, wanted.tobytes())
            if pkey not in probs:
                probs[pkey] = _scheduled_need(
                    need_probability(wanted, mu, lam, conc, params.peak_scale), schedule
                )
            p = probs[pkey]
            # Level 1 never depends on concurrency.
            skey = (conc <= 1, pconc if p.shape[0] >= 2 else 0, pkey[1])
            curves[conc, cpu] = skey
            need[skey] = p
        groups.setdefault(curves[conc, cpu], []).append(k)
    return need, groups


def _scheduled_recycles(schedule: np.ndarray, lo: int, hi: int, rate: float) -> float:
    """Expected recycling starts of a schedule's levels above ``lo`` (up to ``hi``): each
    stretch the floor holds a level starts a fresh instance, first recycled about a whole
    interval (1 / ``rate`` hours) later, so a stretch of L hours sees about ``L * rate - 1/2``
    recycles (a renewal count from a fresh start; a constant min's are ``L * rate``)."""
    if rate <= 0:
        return 0.0
    total = 0.0
    for k in range(lo + 1, min(int(schedule.max(initial=0.0)), hi) + 1):
        held = np.diff(np.concatenate(([0], (schedule >= k).astype(np.int8), [0])))
        lengths_h = (np.flatnonzero(held == -1) - np.flatnonzero(held == 1)) / 60.0
        total += float(np.maximum(lengths_h * rate - 0.5, 0.0).sum())
    return total


def _scheduled_need(p: np.ndarray, schedule: np.ndarray | None) -> np.ndarray:
    """Need probabilities with a schedule's levels above its lowest needed while it holds them:
    the stack then starts them when the floor rises (unless still alive) and keeps them the
    idle retention after it falls, as the platform does with service-level min instances."""
    if schedule is None or not schedule.size:
        return p
    lo, top = int(schedule.min()), int(schedule.max())
    if top <= lo:
        return p
    out = np.zeros((max(p.shape[0], top), p.shape[1]))
    out[: p.shape[0]] = p
    for k in range(lo + 1, top + 1):
        np.maximum(out[k - 1], schedule >= k, out=out[k - 1])
    return out


def _result(
    grid: Grid,
    minutes: int,
    out: dict[str, np.ndarray],
    kept: np.ndarray | None,
    startup: float,
) -> Result:
    """The Result of the per-setting totals ``out``, priced by each setting's billing mode
    (with the startup CPU boost's extra vCPU per start where it is on)."""
    inst_b = grid.instance_billing
    billable = np.where(inst_b, out["instance_s"], out["active_s"])
    idle_min_s = np.where(inst_b, 0.0, out["idle_min_s"])
    boost_s = np.where(
        grid.startup_cpu_boost, boost.extra_vcpu_s(out["cold_starts"], grid.cpu, startup), 0.0
    )
    return Result(
        minutes=minutes,
        served=out["served"],
        rejected=out["rejected"],
        cold_starts=out["cold_starts"],
        requests_meeting_cold_start=out["meeting"],
        instance_s=out["instance_s"],
        billable_s=billable,
        idle_min_s=idle_min_s,
        busy_s=out["busy_s"],
        active_vcpu_s=billable * grid.cpu + boost_s,
        active_gib_s=billable * grid.memory_gib,
        idle_vcpu_s=idle_min_s * grid.cpu,
        idle_gib_s=idle_min_s * grid.memory_gib,
        peak_instances=out["peak"],
        instances=kept,
        boost_vcpu_s=boost_s,
    )


def replay(
    traffic: Traffic,
    grid: Grid,
    params: Params,
    *,
    keep_minutes: bool = False,
    warm_start: bool | None = None,
    schedule: np.ndarray | None = None,
) -> Result:
    """Replay ``traffic`` under every setting of ``grid``.

    ``schedule``: scheduled min instances, the floor in each minute of the traffic; every
    setting's min instances must then be its lowest floor (the grid's min is the floor the
    schedule never goes below).

    ``warm_start``: the first minute's instances were already running (not cold starts).
    None: inferred from the traffic (observed instances in minute 0 and no startup observed
    then; a startup in minute 0 is a deployment, whose first instance is a cold start).
    """
    t_len = traffic.minutes
    startup = traffic.startup_s if params.startup_s is None else params.startup_s
    out = {name: np.zeros(len(grid)) for name in _TOTALS}
    minutes_out = np.zeros((len(grid), t_len)) if keep_minutes else None
    d = traffic.demand
    # A startup observed in the first minute: the revision was deployed then, and Cloud Run
    # started one instance to check it whatever the traffic (a cold start under any setting).
    deployed = bool(t_len > 0 and traffic.starts[0] > 0)
    if warm_start is None:
        warm_start = bool(t_len > 0 and traffic.instances[0] > 0 and not deployed)
    hours = t_len / 60.0
    mu_lam = load(traffic)
    mu, lam = mu_lam
    if schedule is not None:
        schedule = _check_schedule(schedule, grid, t_len)
    # Stack rows the settings' spans use: min instances and max(min, max) instances.
    lows = grid.min_instances.tolist()
    bounds = set(lows) | {
        max(h, lo) for h, lo in zip(grid.max_instances.tolist(), lows, strict=True)
    }
    reach = float(mu.max(initial=0.0))  # mean in flight: capacities at or above it refuse none
    # Work is shared between settings that cannot differ: a setting's totals depend on its
    # stack, min and max instances, concurrency 1 or not, and on the concurrency itself only
    # when rejections are possible.
    need, groups = _stack_groups(
        traffic, grid, params, mu_lam, deployed and not warm_start, schedule
    )
    # One stack at a time, its storage and the totals' scratch rows reused (fresh large arrays
    # cost page faults).
    block = np.empty((3 * len(bounds) + 1, t_len))
    rs, ws, _ = params.retention()
    work = np.empty((8, t_len))
    for skey, members in groups.items():
        single = skey[0]
        st = stack_sums(need[skey], lam, single, startup, warm_start, rs, ws, bounds, block)
        done: dict[tuple[int, int, int], tuple[dict[str, float], np.ndarray | None]] = {}
        for k in members:
            conc = int(grid.concurrency[k])
            lo, hi = int(grid.min_instances[k]), int(grid.max_instances[k])
            rejects = reach > float(hi * conc)
            # Max instances above every level the stack reaches (and above min) cannot bind
            # unless requests are refused: all such maxes share one result.
            top = hi if rejects or hi <= max(st.levels, lo) else -1
            key = (lo, top, conc if rejects else 0)
            if key not in done:
                totals, inst = _setting_totals(
                    st, lo, hi, d, mu, lam, conc, startup, hours, params, work, schedule
                )
                done[key] = totals, (inst.copy() if keep_minutes else None)
            totals, kept = done[key]
            for name in _TOTALS:
                out[name][k] = totals[name]
            if minutes_out is not None and kept is not None:
                minutes_out[k] = kept
    return _result(grid, t_len, out, minutes_out, startup)


def _check_schedule(schedule: np.ndarray, grid: Grid, minutes: int) -> np.ndarray:
    floors = np.asarray(schedule, dtype=float)
    if floors.shape != (minutes,):
        raise ValueError(f"the schedule has {floors.shape} floors for {minutes} minutes")
    lowest = float(floors.min()) if floors.size else 0.0
    if np.any(grid.min_instances != lowest):
        raise ValueError(f"with a schedule every setting's min instances must be {lowest:g}")
    if np.any(grid.max_instances < floors.max(initial=0.0)):
        raise ValueError("a scheduled min instances exceeds a setting's max instances")
    return floors
