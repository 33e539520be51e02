"""The fleet simulation: FleetSpec -> FleetData (raw series, events, ground truth).

Seeded and deterministic: the same spec (including its seed) always gives the same data.
Requests are simulated one by one with numpy (Poisson arrivals on the service's traffic shape,
split between revisions by the traffic percent in effect, lognormal service times); instances
come from an autoscaler evaluated per second (see instances.py); billing and cold starts
from the requests and instances (see revision.py). The modules:

- arrivals.py: traffic shape -> arrival times, traffic split
- instances.py: autoscaler, instance lifetimes, restarts, startup latency
- revision.py: one revision: 429s, cold starts, busy periods, billable time
- service.py: one service on one arrival stream, and its ground truth
- series.py / events.py: Monitoring series and log events
- fluid.py: the per-minute model of ``background`` services (big generated fleets)

Bucket layouts (the collectors must not assume them): ``LATENCY_LAYOUT`` and
``STARTUP_LAYOUT`` (exponential), ``UTILIZATION_LAYOUT`` (linear), ``CONCURRENCY_LAYOUT``
(explicit).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from emulator.sim.events import (
    fail_victims,
    failed_starts,
    instance_events,
    oom_victims,
    request_events,
    start_victims,
)
from emulator.sim.fluid import fluid_series, rejection_events, simulate_fluid_service
from emulator.sim.model import (
    FleetData,
    FleetSpec,
    GroundTruth,
    InstanceEvent,
    RawSeries,
    RequestEvent,
    ServiceSpec,
)
from emulator.sim.series import (
    CONCURRENCY_LAYOUT,
    LATENCY_LAYOUT,
    STARTUP_LAYOUT,
    UTILIZATION_LAYOUT,
    revision_series,
)
from emulator.sim.service import simulate_service, truth_of
from emulator.sim.util import no_gc, rng_for

__all__ = [
    "CONCURRENCY_LAYOUT",
    "LATENCY_LAYOUT",
    "STARTUP_LAYOUT",
    "UTILIZATION_LAYOUT",
    "simulate",
    "validate_spec",
]

MAX_DAYS = 30
SIM_THREADS = 1


def validate_spec(spec: FleetSpec) -> None:
    """Raise ValueError with a plain message when the spec cannot be simulated."""
    if spec.start.tzinfo is None or spec.end.tzinfo is None:
        raise ValueError("window start and end must be timezone-aware")
    if spec.start.second or spec.start.microsecond or spec.end.second or spec.end.microsecond:
        raise ValueError("window start and end must be whole minutes")
    if not 1 <= spec.minutes <= MAX_DAYS * 1440:
        raise ValueError(f"window must cover 1 minute to {MAX_DAYS} days")
    seen: set[tuple[str, str]] = set()
    for svc in spec.services:
        if svc.project and svc.project not in spec.projects:
            raise ValueError(f"service {svc.name}: project {svc.project} is not in the fleet")
        if (svc.region, svc.name) in seen:
            raise ValueError(f"service {svc.name} appears twice in {svc.region}")
        seen.add((svc.region, svc.name))
        if not svc.revisions:
            raise ValueError(f"service {svc.name} has no revisions")
        if not svc.traffic or min(c.at for c in svc.traffic) > spec.start:
            raise ValueError(f"service {svc.name}: first traffic change must be at window start")
        names = {r.name for r in svc.revisions}
        for change in svc.traffic:
            unknown = set(change.percents) - names
            if unknown:
                raise ValueError(f"service {svc.name}: traffic names unknown {sorted(unknown)}")
            if sum(change.percents.values()) != 100:
                raise ValueError(f"service {svc.name}: traffic at {change.at} must sum to 100")


def simulate(spec: FleetSpec, workers: int = SIM_THREADS, processes: int = 0) -> FleetData:
    """Simulate the whole fleet over the spec's window.

    Services are independent (each has its own random streams), so they are simulated on
    ``workers`` threads (numpy releases the GIL in its heavy loops), or with ``processes`` > 1
    in this process and ``processes - 1`` child processes (child_processes.py; worth it for big
    fleets, whose many small numpy steps hold the GIL). The result depends on neither.
    """
    validate_spec(spec)
    with no_gc():
        if processes > 1:
            parts = _in_processes(spec, processes)
        else:
            with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                parts = list(
                    pool.map(lambda svc: _service_part(spec, svc), _by_cost(spec.services))
                )
    parts.sort(key=lambda p: p.order)
    inst = sorted((e for p in parts for e in p.instance_events), key=lambda e: e[0])
    reqs = sorted((e for p in parts for e in p.request_events), key=lambda e: e[0])
    return FleetData(
        spec=spec,
        series=[s for p in parts for s in p.series],
        instance_events=[e for _, e in inst],
        request_events=[e for _, e in reqs],
        truth={p.key: p.truth for p in parts},
    )


def _in_processes(spec: FleetSpec, processes: int) -> list[_Part]:
    """Parts of every service: this process simulates one share (with every request-by-request
    service: their data is the heaviest to send), ``processes - 1`` children (child_processes.py)
    the others, shares balanced by an estimate of their cost."""
    from emulator.sim.child_processes import run_children

    shares: list[list[tuple[int, ServiceSpec]]] = [[] for _ in range(processes)]
    load = [0.0] * processes
    items = sorted(enumerate(spec.services), key=lambda it: -_cost(it[1], spec.minutes))
    for item in items:
        cost = _cost(item[1], spec.minutes)
        with_send = [x + cost * (SEND_FACTOR if k else 1.0) for k, x in enumerate(load)]
        k = 0 if not item[1].background else with_send.index(min(with_send))
        shares[k].append(item)
        load[k] = with_send[k]
    mine, others = shares[0], [s for s in shares[1:] if s]
    return run_children(spec, others, lambda: [_service_part(spec, it) for it in mine])


SEND_FACTOR = 1.4  # a child's part costs that much more: pickled there, unpickled here


def _cost(svc: ServiceSpec, minutes: int) -> float:
    """CPU seconds to simulate ``svc``, roughly (measured on this project's 2-core machine)."""
    if svc.background:
        return 2.4e-6 * minutes * len(svc.revisions)
    return 5e-5 * minutes * svc.shape.base_rps + 1e-5 * minutes


@dataclass
class _Part:
    order: int
    key: tuple[str, str]
    truth: GroundTruth
    series: list[RawSeries]
    instance_events: list[tuple[float, InstanceEvent]]
    request_events: list[tuple[float, RequestEvent]]


def _by_cost(services: tuple[ServiceSpec, ...]) -> list[tuple[int, ServiceSpec]]:
    """Services with their spec position, the busiest first (better thread packing)."""
    return sorted(enumerate(services), key=lambda p: -p[1].shape.base_rps)


def _service_part(spec: FleetSpec, item: tuple[int, ServiceSpec]) -> _Part:
    order, svc = item
    if svc.background:
        return _background_part(spec, order, svc)
    n_seconds = spec.minutes * 60
    runs = simulate_service(spec, svc)
    part = _Part(order, (svc.region, svc.name), truth_of(runs, n_seconds), [], [], [])
    for run in runs:
        rev = run.spec.name
        where = (svc.region, svc.name, rev)
        labels = _labels(spec, svc, rev)
        m_rng, i_rng, r_rng, f_rng = (rng_for(spec.seed, *where, k) for k in "mirf")
        failed = failed_starts(run, spec.start, n_seconds, f_rng)
        victims = {**oom_victims(run), **start_victims(failed)}
        fail_victims(run, victims)  # before the series: they count what the logs show
        layout = spec.latency_layout or LATENCY_LAYOUT
        part.series += revision_series(run, labels, spec.minutes, m_rng, layout)
        events, ids = instance_events(run, spec.start, n_seconds, where, i_rng, failed)
        part.instance_events += events
        part.request_events += request_events(run, spec.start, ids, where, r_rng, victims)
    return part


def _labels(spec: FleetSpec, svc: ServiceSpec, rev: str) -> dict[str, str]:
    return {
        "project_id": spec.project_of(svc),
        "service_name": svc.name,
        "revision_name": rev,
        "location": svc.region,
        "configuration_name": svc.name,
    }


def _background_part(spec: FleetSpec, order: int, svc: ServiceSpec) -> _Part:
    """A background service: the per-minute model (fluid.py); its request log holds only
    the 429 rejections."""
    n_seconds = spec.minutes * 60
    runs = simulate_fluid_service(spec, svc)
    part = _Part(order, (svc.region, svc.name), truth_of(runs, n_seconds), [], [], [])
    for run in runs:
        rev = run.spec.name
        if not run.alive_s.any() and not run.rejected_count:
            continue  # no instance and no request in the window: Cloud Run writes nothing
        where = (svc.region, svc.name, rev)
        m_rng, i_rng, r_rng, f_rng = (rng_for(spec.seed, *where, k) for k in "mirf")
        part.series += fluid_series(run, _labels(spec, svc, rev), spec.minutes, m_rng)
        failed = failed_starts(run, spec.start, n_seconds, f_rng)
        events, _ = instance_events(run, spec.start, n_seconds, where, i_rng, failed)
        part.instance_events += events
        part.request_events += rejection_events(run, spec.start, where, r_rng)
    return part
