"""A small hand-built FleetData for the emulator tests (made with tests/_fleet_builder.py), and
real Google clients bound to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import numpy as np
from google.cloud import logging_v2, monitoring_v3, run_v2
from google.cloud.logging_v2.services.logging_service_v2.transports import (
    LoggingServiceV2GrpcTransport,
)
from google.cloud.monitoring_v3.services.metric_service.transports import (
    MetricServiceGrpcTransport,
)
from google.cloud.run_v2.services.revisions.transports import RevisionsGrpcTransport
from google.cloud.run_v2.services.services.transports import ServicesGrpcTransport

from emulator.sim.model import (
    BucketLayout,
    DistributionSeries,
    FleetData,
    FleetSpec,
    InstanceEvent,
    RawSeries,
    RequestEvent,
    RevisionSpec,
)
from tests._fleet_builder import (
    NO_INSTANCE,
    START_REASONS,
    Place,
    beta,
    canary_traffic,
    cold_start,
    distribution,
    double_delta,
    fleet,
    gappy,
    instance_count,
    lognormal,
    moment,
    oom_kill,
    places,
    request,
    request_count,
    resource,
    services,
    shutdown_exit,
    sparse_dist,
)

PROJECT = "emu-test"
END = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LATENCY_LAYOUT = BucketLayout("exponential", num_finite_buckets=30, growth_factor=1.4, scale=1.0)
CPU_LAYOUT = BucketLayout("linear", num_finite_buckets=20, width=0.05, offset=0.0)
STARTUP_LAYOUT = BucketLayout("explicit", bounds=(100.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0))

# (region, service, revision, cpu, memory GiB, concurrency (0 = unset), cpu_idle)
REVISIONS = (
    ("europe-west1", "checkout", "checkout-00001-abc", 1.0, 0.5, 80, True),
    ("europe-west1", "checkout", "checkout-00002-def", 1.0, 0.5, 0, True),
    ("us-central1", "admin", "admin-00001-xyz", 0.5, 0.25, 1, False),
)


def _rev_spec(name: str, cpu: float, mem: float, conc: int, idle: bool) -> RevisionSpec:
    return RevisionSpec(
        name=name,
        create_time=END - timedelta(days=10),
        cpu=cpu,
        memory_gib=mem,
        concurrency=conc,
        cpu_idle=idle,
        min_instances=0 if idle else 2,
    )


TABLE = tuple((r[0], r[1], _rev_spec(*r[2:])) for r in REVISIONS)


def build_fleet(minutes: int = 360, seed: int = 7) -> FleetData:
    """Three revisions in two regions with request_count, latencies, instances, billable time,
    cpu utilizations and startup latencies; random gaps; a few log events."""
    rng = np.random.default_rng(seed)
    start = END - timedelta(minutes=minutes)
    svcs = services(TABLE, canary_traffic(start - timedelta(days=1)), base_rps=5.0)
    spec = FleetSpec(PROJECT, 123456789, start, END, svcs, seed)
    series = [s for place in places(TABLE) for s in _revision_series(rng, place, minutes)]
    events = instance_events(start, minutes, rng)
    return fleet(spec, series, events, request_events(start, minutes, rng))


def _revision_series(rng: np.random.Generator, place: Place, minutes: int) -> list[RawSeries]:
    res = resource(PROJECT, place)
    out = [
        request_count(res, code, cls, rng.poisson(lam, minutes).astype(np.int64))
        for code, cls, lam in (("200", "2xx", 50.0), ("404", "4xx", 3.0), ("500", "5xx", 0.5))
    ]
    out += [
        instance_count(res, state, gappy(rng, rng.poisson(lam, minutes), 0.05))
        for state, lam in (("active", 3.0), ("idle", 1.0))
    ]
    bill = gappy(rng, rng.gamma(2.0, 30.0, minutes), 0.1)
    out.append(double_delta(res, "container/billable_instance_time", "s", bill))
    for metric, unit, layout, rate, draw in (
        ("request_latencies", "ms", LATENCY_LAYOUT, 40, lognormal(3.5, 0.7)),
        ("container/cpu/utilizations", "1", CPU_LAYOUT, 5, beta(2, 5)),
        ("container/startup_latencies", "ms", STARTUP_LAYOUT, 0.3, lognormal(6.5, 0.8)),
    ):
        out.append(distribution(res, metric, unit, sparse_dist(rng, layout, minutes, rate, draw)))
    return out


def instance_events(start: datetime, minutes: int, rng: np.random.Generator) -> list[InstanceEvent]:
    """Six instances per revision; the fifth runs out of memory, the sixth shuts down."""
    ev: list[InstanceEvent] = []
    for place in places(TABLE):
        for k in range(6):
            t = moment(rng, start, 0, minutes * 60)
            iid = f"00f46b92{k:04d}{place.revision[-3:]}" + "a" * 20
            ev += cold_start(place, t, iid, START_REASONS[k % 3], 1200.0, id_logged=k != 0)
            if k == 4:
                ev += oom_kill(place, t + timedelta(minutes=3), iid, 512, 530)
            if k == 5:
                ev += shutdown_exit(place, t + timedelta(minutes=20), iid, exit_code=1)
    return ev


def request_events(start: datetime, minutes: int, rng: np.random.Generator) -> list[RequestEvent]:
    """Eight logged requests per revision: every fourth a 429 without an instance."""
    out: list[RequestEvent] = []
    for place in places(TABLE):
        for k in range(8):
            t = moment(rng, start, 0, minutes * 60)
            if k % 4 == 0:
                out.append(request(place, t, 429, 10.0, path="/api/pay", platform_text=NO_INSTANCE))
            else:
                iid, status = "00f46b92" + "b" * 24, (500, 200, 404)[k % 3]
                out.append(request(place, t, status, 0.05 * (k + 1), iid, "POST", f"/api/{k}"))
    return out


def monitoring_client(address: str) -> monitoring_v3.MetricServiceClient:
    return monitoring_v3.MetricServiceClient(
        transport=MetricServiceGrpcTransport(channel=grpc.insecure_channel(address))
    )


def logging_client(address: str) -> logging_v2.services.logging_service_v2.LoggingServiceV2Client:
    return logging_v2.services.logging_service_v2.LoggingServiceV2Client(
        transport=LoggingServiceV2GrpcTransport(channel=grpc.insecure_channel(address))
    )


def services_client(address: str) -> run_v2.ServicesClient:
    return run_v2.ServicesClient(
        transport=ServicesGrpcTransport(channel=grpc.insecure_channel(address))
    )


def revisions_client(address: str) -> run_v2.RevisionsClient:
    return run_v2.RevisionsClient(
        transport=RevisionsGrpcTransport(channel=grpc.insecure_channel(address))
    )


def series_key(s: RawSeries) -> tuple[Any, ...]:
    """What tells one raw series from another: its type and labels."""
    return (s.metric_type, *sorted(s.resource_labels.items()), *sorted(s.metric_labels.items()))


def series_values(s: RawSeries) -> list[np.ndarray]:
    """A raw series' arrays, to compare two series value by value."""
    v = s.values
    if isinstance(v, DistributionSeries):
        return [v.count, v.mean, v.sum_of_squared_deviation, v.bucket_counts]
    assert isinstance(v, np.ndarray)
    return [v]
