"""The autoscaler and instance lifetimes of one revision.

Model ("stack of instances"): every second the autoscaler wants ``desired`` instances. Level k
of the stack (the k-th instance) is *needed* while ``desired >= k``. A needed period starts an
instance (a cold start) unless the level's previous instance is still alive; an instance whose
level stops being needed stays idle for a retention time drawn per idle gap, then shuts down.

- ``desired`` = max(target, request-driven need), clipped to [min, max]:
  target = max(ceil(in-flight / (0.6 x concurrency)), ceil(CPU in use / (0.6 x vCPU))), both
  averaged over a trailing 60 s window and evaluated every ``EVAL_PERIOD_S`` seconds (Cloud Run
  docs: 60 % targets over one-minute windows, evaluated every 5 s); request-driven need =
  ceil(most requests in flight at once this second / concurrency) (every request needs a free
  slot: Cloud Run never exceeds the max concurrency of an instance), at least 1 in a second
  with an arrival (a request arriving with no instance starts one).
- Idle retention (documented policy of this emulator): a non-min instance idle for longer than
  a retention drawn uniformly from [``IDLE_RETENTION_MIN_S``, ``IDLE_RETENTION_MAX_S``] (1-15 min;
  Cloud Run keeps idle instances at most 15 minutes) is shut down.
- Min instances apply while the revision is addressable (has traffic or a tag), as in Knative
  and Cloud Run; they are recycled every ``MIN_RECYCLE_HOURS`` (a MANUAL_OR_CUSTOMER_MIN_INSTANCE
  start, then the old instance shuts down ``RECYCLE_OVERLAP_S`` later).
- The min is a per-second *floor* (``min_floor``): a constant array for a fixed min instances,
  or a scheduled min (foundation/min_schedule.py) stepping at its windows. A level is a min
  instance while the floor holds it (level <= floor): a start at such a level is a
  MANUAL_OR_CUSTOMER_MIN_INSTANCE start; a life is recycled while the floor holds its level:
  the recycle clock starts when it does (at the start, or at the floor's step up to the level,
  e.g. for an instance kept by traffic when a schedule's window opens) and starts again at the
  next such step when the floor stopped holding the level before the recycle time; recycling
  ends for good at a recycle time when the revision is not addressable. When the floor drops,
  the instances above it are ordinary idle instances (idle retention, then shutdown;
  ``level_lifetimes``).
- Out-of-memory kills: Poisson per instance-hour; the instance dies (oom, signal9) and a
  replacement starts ``OOM_RESTART_DELAY_S`` later.
- Startup latency: lognormal around the revision's ``startup_median_ms``, multiplied by
  ``STARTUP_CPU_BOOST_FACTOR`` with startup CPU boost. That factor is UNCONFIRMED (Google does
  not publish the multiplier); it is a named constant so it can be changed in one place.
- Startup CPU boost billing (UNCONFIRMED assumption): Google's CPU page says the boost gives
  extra CPU "during instance startup time and for 10 seconds after the instance has started";
  the emulator bills a started instance's extra ``boosted_vcpu(cpu) - cpu`` vCPU from its start
  until ``ready + BOOST_AFTER_READY_S`` (at most its end), under both billing modes
  (``boost_vcpu_seconds``). Pre-existing instances get no boost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emulator.sim.util import interval_integral, trailing_mean

TARGET_UTILIZATION = 0.6
EVAL_PERIOD_S = 5
SCALING_WINDOW_S = 60
IDLE_RETENTION_MIN_S = 60.0
IDLE_RETENTION_MAX_S = 900.0
MIN_RECYCLE_HOURS = (3.0, 8.0)
RECYCLE_OVERLAP_S = 10.0
OOM_RESTART_DELAY_S = 1.0
STARTUP_SIGMA = 0.35
STARTUP_CPU_BOOST_FACTOR = 0.6  # UNCONFIRMED: startup time multiplier with startup CPU boost
# UNCONFIRMED: the boosted vCPU (BOOST_CPU_MULTIPLIER x the limit, at least BOOST_MIN_VCPU, at
# most BOOST_MAX_VCPU) and how long the extra is billed after the instance is ready.
BOOST_CPU_MULTIPLIER = 2.0
BOOST_MIN_VCPU = 1.0
BOOST_MAX_VCPU = 8.0
BOOST_AFTER_READY_S = 10.0

# reason codes
PREEXISTING, AUTOSCALING, DEPLOYMENT_ROLLOUT, MIN_INSTANCE = 0, 1, 2, 3
REASON_NAMES = {
    AUTOSCALING: "AUTOSCALING",
    DEPLOYMENT_ROLLOUT: "DEPLOYMENT_ROLLOUT",
    MIN_INSTANCE: "MANUAL_OR_CUSTOMER_MIN_INSTANCE",
}


@dataclass
class Lifetimes:
    """Instances of one revision in the window (times in seconds from the window start)."""

    start: np.ndarray  # float64
    ready: np.ndarray  # float64
    end: np.ndarray  # float64 (== window length while alive at the end)
    level: np.ndarray  # int32, position in the instance stack (1-based)
    reason: np.ndarray  # int8 reason code; PREEXISTING = running before the window
    oom_end: np.ndarray  # bool, ended by an out-of-memory kill
    startup_ms: np.ndarray  # float64 (0 for pre-existing instances)

    @property
    def started(self) -> np.ndarray:
        return np.asarray(self.reason != PREEXISTING)

    def __len__(self) -> int:
        return len(self.start)


def boosted_vcpu(cpu: float) -> float:
    """The vCPU an instance gets while its startup CPU boost lasts (UNCONFIRMED, see above)."""
    return min(BOOST_MAX_VCPU, max(BOOST_CPU_MULTIPLIER * cpu, BOOST_MIN_VCPU))


def boost_vcpu_per_minute(lt: Lifetimes, cpu: float, boost: bool, minutes: int) -> np.ndarray:
    """Extra vCPU-seconds billed per minute for the startup CPU boost: ``boosted_vcpu(cpu) -
    cpu`` from each started instance's start until ``ready + BOOST_AFTER_READY_S`` (at most
    its end); zeros without the boost."""
    extra = boosted_vcpu(cpu) - cpu if boost else 0.0
    if extra <= 0.0:
        return np.zeros(minutes)
    st = lt.started
    until = np.minimum(lt.ready[st] + BOOST_AFTER_READY_S, lt.end[st])
    return extra * interval_integral(lt.start[st], until, minutes, 60.0)


def floor_array(min_floor: int | np.ndarray, n: int) -> np.ndarray:
    """The per-second min-instance floor over ``n`` seconds (a scalar min is a constant floor)."""
    if np.ndim(min_floor) == 0:
        return np.full(n, int(min_floor), dtype=np.int32)
    floor = np.asarray(min_floor, dtype=np.int32)
    if len(floor) != n:
        raise ValueError(f"the min-instance floor covers {len(floor)} seconds, not {n}")
    return floor


def floor_pieces(lt: Lifetimes, floor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) of the pieces of the lives during which the floor holds their level
    (``floor >= level``), in the lives' order. With a constant floor: the whole lives of the
    levels within it."""
    if len(floor) == 0 or len(lt) == 0:
        return np.zeros(0), np.zeros(0)
    change = np.flatnonzero(np.diff(floor)) + 1
    if len(change) == 0:
        held = lt.level <= floor[0]
        return lt.start[held], lt.end[held]
    seg_start = np.concatenate([[0], change])
    seg_val = floor[seg_start]
    bound = np.append(seg_start, len(floor)).astype(np.float64)
    who_parts, s_parts, e_parts = [], [], []
    for k in np.unique(lt.level[lt.level <= seg_val.max()]).tolist():
        d = np.diff((seg_val >= k).astype(np.int8), prepend=np.int8(0), append=np.int8(0))
        a, b = bound[np.flatnonzero(d == 1)], bound[np.flatnonzero(d == -1)]
        who = np.flatnonzero(lt.level == k)
        s, e = lt.start[who], lt.end[who]
        lo = np.searchsorted(b, s, side="right")  # first run ending after the start
        cnt = np.maximum(np.searchsorted(a, e, side="left") - lo, 0)  # runs beginning before e
        rep = np.repeat(np.arange(len(who)), cnt)
        j = np.repeat(lo, cnt) + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        who_parts.append(who[rep])
        s_parts.append(np.maximum(a[j], s[rep]))
        e_parts.append(np.minimum(b[j], e[rep]))
    if not who_parts:
        return np.zeros(0), np.zeros(0)
    order = np.argsort(np.concatenate(who_parts), kind="stable")
    return np.concatenate(s_parts)[order], np.concatenate(e_parts)[order]


def desired_instances(
    arrivals_per_s: np.ndarray,
    inflight_per_s: np.ndarray,
    concurrency: int,
    cpu: float,
    cpu_s_per_request: float,
    min_floor: int | np.ndarray,
    max_instances: int,
    addressable: np.ndarray,
    create_s: float,
    peak_per_s: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(desired instances per second clipped to [floor, max], unclipped demand per second).

    ``min_floor``: min instances, or the min-instance floor per second (a schedule), applied
    while addressable. ``peak_per_s``: most requests in flight at once in each second (default:
    the mean).
    """
    n = len(arrivals_per_s)
    per_inst = TARGET_UTILIZATION * concurrency
    l60 = trailing_mean(inflight_per_s, SCALING_WINDOW_S)
    cpu60 = trailing_mean(arrivals_per_s * cpu_s_per_request, SCALING_WINDOW_S)
    target = np.maximum(
        np.ceil(l60 / per_inst - 1e-9), np.ceil(cpu60 / (TARGET_UTILIZATION * cpu) - 1e-9)
    )
    target = np.repeat(target[::EVAL_PERIOD_S], EVAL_PERIOD_S)[:n]
    peak = inflight_per_s if peak_per_s is None else peak_per_s
    now = np.ceil(peak / concurrency - 1e-9)
    now = np.where(arrivals_per_s > 0, np.maximum(now, 1.0), now)
    demand = np.maximum(target, now)
    desired = np.minimum(demand, max_instances)
    desired = np.maximum(desired, np.where(addressable, floor_array(min_floor, n), 0))
    first = int(np.ceil(create_s)) if create_s > 0 else 0
    desired[: min(first, n)] = 0
    if 0 <= create_s < n:  # deployment: one instance is started to check the revision
        desired[int(create_s)] = max(desired[int(create_s)], 1)
    return desired.astype(np.int32), demand


def level_lifetimes(
    desired: np.ndarray,
    arrivals: np.ndarray,
    create_s: float,
    rng: np.random.Generator,
    spread_s: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(level, start, end) of every instance, from the per-second desired count.

    A start without an arrival in its second is placed uniformly in ``[second, second +
    spread_s)`` (the per-minute model steps ``desired`` once a minute and spreads over it)."""
    n = len(desired)
    if n == 0 or desired.max() <= 0:
        empty = np.zeros(0)
        return empty.astype(np.int32), empty, empty
    change = np.flatnonzero(np.diff(desired)) + 1
    seg_start = np.concatenate([[0], change])
    seg_val = desired[seg_start]
    bound = np.append(seg_start, n).astype(np.float64)
    levels, starts, ends = [], [], []
    for k in range(1, int(seg_val.max()) + 1):
        on = (seg_val >= k).astype(np.int8)
        d = np.diff(on, prepend=np.int8(0), append=np.int8(0))
        rs = bound[np.flatnonzero(d == 1)]
        re = bound[np.flatnonzero(d == -1)]
        keep = rng.uniform(IDLE_RETENTION_MIN_S, IDLE_RETENTION_MAX_S, size=len(rs))
        new_life = np.concatenate([[True], rs[1:] - re[:-1] > keep[:-1]])
        last = np.concatenate([new_life[1:], [True]])
        levels.append(np.full(int(new_life.sum()), k, dtype=np.int32))
        starts.append(rs[new_life])
        ends.append(np.minimum(re[last] + keep[last], n))
    level = np.concatenate(levels)
    start = np.concatenate(starts)
    end = np.concatenate(ends)
    # place each start inside its second: at the first arrival of that second, else uniformly
    sec = start.copy()
    idx = np.searchsorted(arrivals, sec, side="left")
    has = idx < len(arrivals)
    first = np.where(has, arrivals[np.minimum(idx, max(len(arrivals) - 1, 0))], np.inf)
    inside = has & (first < sec + 1.0)
    frac = np.where(inside, first - sec, rng.random(len(sec)) * spread_s)
    start = np.where(sec > 0, sec + frac, sec)
    at_create = (sec == np.floor(create_s)) & (create_s >= 0)
    start = np.where(at_create, np.maximum(start, create_s), start)
    return level, start, np.maximum(end, start)


def build_lifetimes(
    desired: np.ndarray,
    arrivals: np.ndarray,
    create_s: float,
    min_floor: int | np.ndarray,
    addressable: np.ndarray,
    rollout_s: np.ndarray,
    startup_median_ms: float,
    startup_cpu_boost: bool,
    oom_per_instance_hour: float,
    rng: np.random.Generator,
    spread_s: float = 1.0,
) -> Lifetimes:
    """All instances of the revision with start reasons, recycling, OOM kills, startup times
    (``min_floor``: min instances, or the min-instance floor per second)."""
    n = len(desired)
    floor = floor_array(min_floor, n)
    seg = np.concatenate([[0], np.flatnonzero(np.diff(floor)) + 1])  # where the floor steps
    level, start, end = level_lifetimes(desired, arrivals, create_s, rng, spread_s)
    pre = (start <= 0) & (create_s < 0)
    rows: list[tuple[float, float, int, int, bool]] = []  # start, end, level, reason, oom_end
    for i in range(len(start)):
        s, e, k = float(start[i]), float(end[i]), int(level[i])
        sec = min(max(int(s), 0), n - 1)
        if pre[i]:
            reason = PREEXISTING
        elif k <= floor[sec] and addressable[sec]:
            reason = MIN_INSTANCE
        elif _in_rollout(s, create_s, rollout_s):
            reason = DEPLOYMENT_ROLLOUT
        else:
            reason = AUTOSCALING
        t = _floor_step(floor, seg, s, e, k, True)  # the recycle clock starts when held
        while t is not None:
            drop = _floor_step(floor, seg, t, e, k, False)
            t += rng.uniform(*MIN_RECYCLE_HOURS) * 3600.0
            if t >= e - RECYCLE_OVERLAP_S or not addressable[min(int(t), n - 1)]:
                break
            if drop is not None and t >= drop:  # not held throughout: restart when held again
                t = _floor_step(floor, seg, drop, e, k, True)
                continue
            rows.append((s, t + RECYCLE_OVERLAP_S, k, reason, False))
            s, reason = t, MIN_INSTANCE
        rows.append((s, e, k, reason, False))
    if oom_per_instance_hour > 0:
        rows = _oom_splits(rows, oom_per_instance_hour, rng)
    if rows:
        arr = np.array([r[:2] for r in rows], dtype=np.float64)
        st, en = arr[:, 0], arr[:, 1]
        lv = np.array([r[2] for r in rows], dtype=np.int32)
        rs = np.array([r[3] for r in rows], dtype=np.int8)
        oo = np.array([r[4] for r in rows], dtype=bool)
    else:
        st = en = np.zeros(0)
        lv, rs, oo = np.zeros(0, np.int32), np.zeros(0, np.int8), np.zeros(0, bool)
    factor = STARTUP_CPU_BOOST_FACTOR if startup_cpu_boost else 1.0
    ms = startup_median_ms * factor * np.exp(STARTUP_SIGMA * rng.standard_normal(len(st)))
    ms = np.where(rs == PREEXISTING, 0.0, np.round(ms, 3))
    ready = np.minimum(st + ms / 1000.0, np.maximum(en, st))
    order = np.argsort(st, kind="stable")
    return Lifetimes(st[order], ready[order], en[order], lv[order], rs[order], oo[order], ms[order])


def _floor_step(
    floor: np.ndarray, seg: np.ndarray, t: float, e: float, k: int, held: bool
) -> float | None:
    """The first time in ``[t, e)`` at which the floor holds level ``k`` (``held``) or no
    longer holds it (``not held``): ``t`` itself or a step of the floor (``seg``: the seconds
    it steps at); None if there is none before ``e``."""
    i = max(int(np.searchsorted(seg, t, side="right")) - 1, 0)
    if (floor[seg[i]] >= k) == held:  # a constant floor: held throughout or never
        return t
    for step in seg[i + 1 :].tolist():
        if step >= e:
            break
        if (floor[step] >= k) == held:
            return float(step)
    return None


def _in_rollout(s: float, create_s: float, rollout_s: np.ndarray) -> bool:
    if create_s <= s < create_s + 1.0:
        return True
    i = int(np.searchsorted(rollout_s, s, side="right")) - 1
    return i >= 0 and s < rollout_s[i] + SCALING_WINDOW_S


def _oom_splits(
    rows: list[tuple[float, float, int, int, bool]], rate: float, rng: np.random.Generator
) -> list[tuple[float, float, int, int, bool]]:
    out: list[tuple[float, float, int, int, bool]] = []
    for s, e, k, reason, oom in rows:
        hours = max(e - s - 60.0, 0.0) / 3600.0
        n_oom = int(rng.poisson(rate * hours)) if hours > 0 else 0
        if n_oom == 0:
            out.append((s, e, k, reason, oom))
            continue
        cuts = np.sort(rng.uniform(s + 60.0, e, size=n_oom))
        cur_s, cur_reason = s, reason
        for c in cuts.tolist():
            if c <= cur_s + 1.0:
                continue
            out.append((cur_s, c, k, cur_reason, True))
            cur_s, cur_reason = c + OOM_RESTART_DELAY_S, AUTOSCALING
        if cur_s < e:
            out.append((cur_s, e, k, cur_reason, oom))
    return out


def per_second_counts(lt: Lifetimes, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(instances alive, instances ready) per second (an instance counts from the second it
    starts or becomes ready until the second it ends)."""

    def count(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ia = np.clip(np.floor(a), 0, n).astype(np.int64)
        ib = np.clip(np.ceil(b), 0, n).astype(np.int64)
        keep = ib > ia
        d = np.bincount(ia[keep], minlength=n + 1) - np.bincount(ib[keep], minlength=n + 1)
        return np.cumsum(d[:n]).astype(np.int32)

    return count(lt.start, lt.end), count(lt.ready, lt.end)


def next_ready_per_second(lt: Lifetimes, n: int) -> np.ndarray:
    """For each second, the earliest ready time of an instance still starting in that second
    (inf where none is starting)."""
    out = np.full(n, np.inf)
    starting = lt.started & (lt.ready > lt.start)
    if not starting.any():
        return out
    a = np.floor(lt.start[starting]).astype(np.int64)
    b = np.minimum(np.floor(lt.ready[starting]).astype(np.int64), n - 1)
    lens = np.maximum(b - a + 1, 0)
    secs = np.repeat(a, lens) + (np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens))
    vals = np.repeat(lt.ready[starting], lens)
    ok = (secs >= 0) & (secs < n)
    np.minimum.at(out, secs[ok], vals[ok])
    return out
