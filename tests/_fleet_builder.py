"""One builder for the hand-built FleetData of the tests, in small composable pieces.

A test's fleet is a table of revisions (region, service, RevisionSpec), the services and traffic
split made from it (``services``), raw Monitoring series per revision (``resource`` and the
series makers, with ``gappy`` values and ``sparse_dist`` / ``poisson_dist`` histograms), and
log events per instance or request (``cold_start``, ``oom_kill``, ... , ``request``);
``fleet`` puts them together. Every random draw is the caller's, in the caller's order, so a
seeded caller always gets the same fleet. The simulation (emulator/sim) builds real fleets; these
pieces only assemble data a test wants to control exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np

from emulator.sim.model import (
    BucketLayout,
    DistributionSeries,
    FleetData,
    FleetSpec,
    InstanceEvent,
    RawSeries,
    RequestEvent,
    RevisionSpec,
    ServiceSpec,
    TrafficChange,
    TrafficShape,
)

P = "run.googleapis.com/"
START_REASONS = ("AUTOSCALING", "DEPLOYMENT_ROLLOUT", "MANUAL_OR_CUSTOMER_MIN_INSTANCE")
NO_INSTANCE = "The request was aborted because there was no available instance."

Draw = Callable[[np.random.Generator, int], np.ndarray]  # n samples of one minute
Table = Sequence[tuple[str, str, RevisionSpec]]  # (region, service, revision)
Traffic = Callable[[tuple[RevisionSpec, ...]], TrafficChange]  # a service's revisions -> split


class Place(NamedTuple):
    """Where an event or a series belongs: one revision of one service in one region."""

    region: str
    service: str
    revision: str


# ------------------------------------------------------------------ specs


def services(table: Table, traffic: Traffic, base_rps: float) -> tuple[ServiceSpec, ...]:
    """One ServiceSpec per (region, service) of the table, in order of first appearance, with
    its revisions in table order and the single traffic change ``traffic`` gives for them."""
    keys = list(dict.fromkeys((region, svc) for region, svc, _ in table))
    out = []
    for region, svc in keys:
        revs = tuple(rev for r, s, rev in table if (r, s) == (region, svc))
        out.append(ServiceSpec(svc, region, revs, (traffic(revs),), TrafficShape(base_rps)))
    return tuple(out)


def canary_traffic(at: datetime, percent: int = 10) -> Traffic:
    """The latest of several revisions takes ``percent`` under the tag "canary", the first
    the rest; a lone revision takes everything."""

    def change(revs: tuple[RevisionSpec, ...]) -> TrafficChange:
        if len(revs) == 1:
            return TrafficChange(at=at, percents={revs[0].name: 100})
        first, last = revs[0].name, revs[-1].name
        return TrafficChange(at, {first: 100 - percent, last: percent}, {last: "canary"})

    return change


def latest_traffic(at: datetime) -> Traffic:
    """The latest revision takes all the traffic."""
    return lambda revs: TrafficChange(at=at, percents={revs[-1].name: 100})


def places(table: Table) -> list[Place]:
    return [Place(region, svc, rev.name) for region, svc, rev in table]


# ------------------------------------------------------------------ series


def resource(project: str, place: Place) -> dict[str, str]:
    """The cloud_run_revision resource labels of one revision's series."""
    return {
        "project_id": project,
        "service_name": place.service,
        "revision_name": place.revision,
        "location": place.region,
        "configuration_name": place.service,
    }


def request_count(res: dict[str, str], code: str, cls: str, values: np.ndarray) -> RawSeries:
    labels = {"response_code": code, "response_code_class": cls}
    return RawSeries(P + "request_count", "DELTA", "INT64", "1", res, labels, values)


def instance_count(res: dict[str, str], state: str, values: np.ndarray) -> RawSeries:
    labels = {"state": state}
    return RawSeries(P + "container/instance_count", "GAUGE", "INT64", "1", res, labels, values)


def double_delta(res: dict[str, str], metric: str, unit: str, values: np.ndarray) -> RawSeries:
    """A DELTA DOUBLE series such as container/billable_instance_time (``metric`` after P)."""
    return RawSeries(P + metric, "DELTA", "DOUBLE", unit, res, {}, values)


def distribution(
    res: dict[str, str], metric: str, unit: str, values: DistributionSeries, **labels: str
) -> RawSeries:
    """A DELTA DISTRIBUTION series such as request_latencies (``metric`` after P)."""
    return RawSeries(P + metric, "DELTA", "DISTRIBUTION", unit, res, labels, values)


def gappy(rng: np.random.Generator, values: np.ndarray, gap: float) -> np.ndarray:
    """The values as floats with a fraction ``gap`` of the minutes made gaps (NaN)."""
    out = values.astype(float)
    out[rng.random(values.size) < gap] = np.nan
    return out


def lognormal(mu: float, sigma: float) -> Draw:
    return lambda rng, n: rng.lognormal(mu, sigma, n)


def beta(a: float, b: float) -> Draw:
    return lambda rng, n: rng.beta(a, b, n)


def _empty_dist(layout: BucketLayout, minutes: int) -> DistributionSeries:
    return DistributionSeries(
        layout,
        np.zeros(minutes, np.int64),
        np.zeros(minutes),
        np.zeros(minutes),
        np.zeros((minutes, layout.num_buckets), np.int64),
    )


def _fill(d: DistributionSeries, i: int, samples: np.ndarray) -> None:
    """Minute i of ``d`` holds exactly these samples (count, mean, deviation, buckets)."""
    nb = d.layout.num_buckets
    d.count[i] = samples.size
    if samples.size:
        d.mean[i] = samples.mean()
        d.sum_of_squared_deviation[i] = ((samples - d.mean[i]) ** 2).sum()
        idx = np.searchsorted(d.layout.upper_bounds(), samples, side="right")
        d.bucket_counts[i] = np.bincount(idx, minlength=nb)


def sparse_dist(
    rng: np.random.Generator,
    layout: BucketLayout,
    minutes: int,
    rate: float,
    draw: Draw,
    gap_chance: float = 0.7,
) -> DistributionSeries:
    """Minute by minute: Poisson(rate) samples, and a minute without any is a gap (count -1)
    with chance ``gap_chance`` (drawn right after the count)."""
    d = _empty_dist(layout, minutes)
    for i in range(minutes):
        n = int(rng.poisson(rate))
        if n == 0 and rng.random() < gap_chance:
            d.count[i] = -1
            continue
        _fill(d, i, draw(rng, n))
    return d


def poisson_dist(
    rng: np.random.Generator,
    layout: BucketLayout,
    minutes: int,
    rate: float,
    draw: Draw,
    gap_chance: float = 0.5,
) -> DistributionSeries:
    """All minutes' Poisson(rate) counts first, then their samples, then the gaps: a minute
    without samples is a gap (count -1) with chance ``gap_chance``."""
    d = _empty_dist(layout, minutes)
    count = rng.poisson(rate, minutes).astype(np.int64)
    for i in np.nonzero(count)[0]:
        _fill(d, int(i), draw(rng, int(count[i])))
    gap = (count == 0) & (rng.random(minutes) < gap_chance)
    d.count[gap] = -1
    return d


# ------------------------------------------------------------------ events


def moment(rng: np.random.Generator, start: datetime, lo_s: float, hi_s: float) -> datetime:
    """A uniformly random time between ``lo_s`` and ``hi_s`` seconds after ``start``."""
    return start + timedelta(seconds=float(rng.uniform(lo_s, hi_s)))


def _at(place: Place, iid: str | None) -> tuple[str, str, str, str | None]:
    """InstanceEvent's service, revision, region and instance id fields."""
    return (place.service, place.revision, place.region, iid)


def cold_start(
    place: Place, t: datetime, iid: str, reason: str, startup_ms: float, id_logged: bool = True
) -> list[InstanceEvent]:
    """An instance starts at t (its start entry without the instanceId unless ``id_logged``)
    and is ready ``startup_ms`` later."""
    ready = t + timedelta(milliseconds=startup_ms)
    return [
        InstanceEvent(t, *_at(place, iid if id_logged else None), "start", reason=reason),
        InstanceEvent(ready, *_at(place, iid), "ready", startup_ms=startup_ms),
    ]


def oom_kill(
    place: Place, t: datetime, iid: str, limit_mib: int, used_mib: int
) -> list[InstanceEvent]:
    """Out of memory at t, killed by signal 9 a second later."""
    return [
        InstanceEvent(
            t, *_at(place, iid), "oom", memory_limit_mib=limit_mib, memory_used_mib=used_mib
        ),
        InstanceEvent(t + timedelta(seconds=1), *_at(place, iid), "signal9"),
    ]


def shutdown_exit(place: Place, t: datetime, iid: str, exit_code: int) -> list[InstanceEvent]:
    """Shut down at t, exited with ``exit_code`` a minute later."""
    return [
        InstanceEvent(t, *_at(place, iid), "shutdown"),
        InstanceEvent(t + timedelta(minutes=1), *_at(place, iid), "exit", exit_code=exit_code),
    ]


def probe_failed(place: Place, t: datetime, iid: str) -> InstanceEvent:
    return InstanceEvent(t, *_at(place, iid), "probe_failed")


def request(
    place: Place,
    t: datetime,
    status: int,
    latency_s: float,
    instance_id: str | None = None,
    method: str = "GET",
    path: str = "/",
    platform_text: str | None = None,
) -> RequestEvent:
    """One requests-log entry."""
    return RequestEvent(t, *_at(place, instance_id), status, latency_s, method, path, platform_text)


# ------------------------------------------------------------------ the fleet


def fleet(
    spec: FleetSpec,
    series: Iterable[RawSeries] = (),
    instance_events: Iterable[InstanceEvent] = (),
    request_events: Iterable[RequestEvent] = (),
) -> FleetData:
    """The FleetData of these parts, events sorted by time (stable), without ground truth."""
    inst = sorted(instance_events, key=lambda e: e.timestamp)
    reqs = sorted(request_events, key=lambda e: e.timestamp)
    return FleetData(spec, list(series), inst, reqs, {})
