"""Simulating one service (all its revisions, on one shared arrival stream) and its truth."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from emulator.sim.arrivals import TrafficTimeline, service_arrivals, traffic_timeline
from emulator.sim.model import FleetSpec, GroundTruth, ServiceSpec, SimSettings
from emulator.sim.revision import (
    INSTANCE_MIN_BILLED_S,
    RevisionRun,
    apply_settings,
    simulate_revision,
)
from emulator.sim.util import rng_for

if TYPE_CHECKING:
    from emulator.sim.fluid import FluidRun


def simulate_service(
    fleet: FleetSpec, svc: ServiceSpec, settings: SimSettings | None = None
) -> list[RevisionRun]:
    """Runs of every revision of ``svc`` (in spec order), settings applied to each revision.

    The arrivals, the traffic split and each revision's per-request draws depend only on the
    seed and the names, never on the settings: a re-simulation replays the same requests.
    """
    settings = settings or SimSettings()
    minutes = fleet.minutes
    n_seconds = minutes * 60
    _, times, rev_idx = service_arrivals(svc, fleet.start, minutes, fleet.seed)
    timeline = traffic_timeline(svc, fleet.start)
    floor = min_floor(fleet, settings)
    runs = []
    for i, rev in enumerate(svc.revisions):
        eff, scale = apply_settings(rev, settings)
        create_s = (rev.create_time - fleet.start).total_seconds()
        keys = (svc.region, svc.name, rev.name)
        runs.append(
            simulate_revision(
                eff,
                scale,
                times[rev_idx == i],
                n_seconds,
                create_s,
                addressable_seconds(timeline, i, create_s, n_seconds),
                rollout_times(timeline, i),
                streams(fleet.seed, keys),
                floor,
            )
        )
    return runs


def min_floor(fleet: FleetSpec, settings: SimSettings) -> np.ndarray | None:
    """The min-instance floor per second of the window under ``settings``' min schedule (its
    floor per minute from the window start, each held for the minute's 60 seconds); None
    without a schedule (each revision's own min instances)."""
    if settings.min_schedule is None:
        return None
    per_minute = settings.min_schedule.floors(fleet.start, fleet.minutes)
    return np.repeat(np.asarray(per_minute, dtype=np.int32), 60)


def streams(seed: int, keys: tuple[str, ...]) -> Callable[[str], np.random.Generator]:
    def stream(purpose: str) -> np.random.Generator:
        return rng_for(seed, *keys, purpose)

    return stream


def addressable_seconds(tl: TrafficTimeline, i: int, create_s: float, n_seconds: int) -> np.ndarray:
    """Per second: the revision has traffic or a tag (min instances apply only then)."""
    on = (tl.percents[:, i] > 0) | tl.tagged[:, i]
    edges = np.clip(np.ceil(tl.change_s), 0, n_seconds).astype(np.int64)
    edges[0] = 0
    lens = np.diff(np.append(edges, n_seconds))
    out = np.repeat(on, lens)
    out[: int(np.clip(np.ceil(create_s), 0, n_seconds))] = False
    return out


def rollout_times(tl: TrafficTimeline, i: int) -> np.ndarray:
    """Times at which this revision's traffic share went up (a rollout step)."""
    pct = tl.percents[:, i]
    prev = np.concatenate([[0.0], pct[:-1]])
    return tl.change_s[pct > prev]


def truth_of(runs: Sequence[RevisionRun | FluidRun], n_seconds: int) -> GroundTruth:
    """What the runs really billed and suffered (GroundTruth; see model.py); per-minute runs
    (fluid.py) give their model's own accounting."""
    req = rej = cold = meet = 0
    inst_s = bill = a_cpu = a_mem = i_cpu = i_mem = boost = 0.0
    for r in runs:
        lt = r.lifetimes
        req += r.served_count
        rej += r.rejected_count
        cold += int((lt.started & (lt.start < n_seconds)).sum())
        meet += r.cold_met_count
        alive = float(r.alive_s.sum())
        inst_s += alive
        if r.spec.cpu_idle:
            active, idle = float(r.active_s.sum()), float(r.idle_min_s.sum())
        else:
            whole = lt.started & (lt.end < n_seconds)
            top_up = np.clip(INSTANCE_MIN_BILLED_S - (lt.end - lt.start)[whole], 0.0, None)
            active, idle = alive + float(top_up.sum()), 0.0
        bill += active + idle
        a_cpu += active * r.spec.cpu
        if r.spec.startup_cpu_boost:  # the boost's extra vCPU, billed in either mode
            extra = float(r.boost_vcpu_s.sum())
            a_cpu += extra
            boost += extra
        a_mem += active * r.spec.memory_gib
        i_cpu += idle * r.spec.cpu
        i_mem += idle * r.spec.memory_gib
    return GroundTruth(
        days=n_seconds / 86400.0,
        requests=req,
        rejected_requests=rej,
        cold_starts=cold,
        requests_meeting_cold_start=meet,
        instance_seconds=inst_s,
        billable_instance_seconds=bill,
        active_vcpu_seconds=a_cpu,
        active_gib_seconds=a_mem,
        idle_vcpu_seconds=i_cpu,
        idle_gib_seconds=i_mem,
        cpu_idle=all(r.spec.cpu_idle for r in runs),
        boost_vcpu_seconds=boost,
    )
