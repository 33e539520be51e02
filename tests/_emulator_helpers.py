"""A small hand-built FleetData for the emulator tests, and real Google clients bound to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
    ServiceSpec,
    TrafficChange,
    TrafficShape,
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


def build_fleet(minutes: int = 360, seed: int = 7) -> FleetData:
    """Three revisions in two regions with request_count, latencies, instances, billable time,
    cpu utilizations and startup latencies; random gaps; a few log events."""
    rng = np.random.default_rng(seed)
    start = END - timedelta(minutes=minutes)
    services = []
    for region, svc in (("europe-west1", "checkout"), ("us-central1", "admin")):
        revs = tuple(_rev_spec(r[2], r[3], r[4], r[5], r[6]) for r in REVISIONS if r[1] == svc)
        pct = {revs[0].name: 90, revs[-1].name: 10} if len(revs) > 1 else {revs[0].name: 100}
        services.append(
            ServiceSpec(
                name=svc,
                region=region,
                revisions=revs,
                traffic=(
                    TrafficChange(
                        at=start - timedelta(days=1),
                        percents=pct,
                        tags={revs[-1].name: "canary"} if len(revs) > 1 else {},
                    ),
                ),
                shape=TrafficShape(base_rps=5.0),
            )
        )
    spec = FleetSpec(PROJECT, 123456789, start, END, tuple(services), seed)
    series: list[RawSeries] = []
    for region, svc, rev, *_ in REVISIONS:
        res = {
            "project_id": PROJECT,
            "service_name": svc,
            "revision_name": rev,
            "location": region,
            "configuration_name": svc,
        }
        for code, cls, lam in (("200", "2xx", 50.0), ("404", "4xx", 3.0), ("500", "5xx", 0.5)):
            v = rng.poisson(lam, minutes).astype(np.int64)
            series.append(
                RawSeries(
                    "run.googleapis.com/request_count",
                    "DELTA",
                    "INT64",
                    "1",
                    res,
                    {"response_code": code, "response_code_class": cls},
                    v,
                )
            )
        for state, lam in (("active", 3.0), ("idle", 1.0)):
            v = rng.poisson(lam, minutes).astype(float)
            v[rng.random(minutes) < 0.05] = np.nan
            series.append(
                RawSeries(
                    "run.googleapis.com/container/instance_count",
                    "GAUGE",
                    "INT64",
                    "1",
                    res,
                    {"state": state},
                    v,
                )
            )
        bill = rng.gamma(2.0, 30.0, minutes)
        bill[rng.random(minutes) < 0.1] = np.nan
        series.append(
            RawSeries(
                "run.googleapis.com/container/billable_instance_time",
                "DELTA",
                "DOUBLE",
                "s",
                res,
                {},
                bill,
            )
        )
        series.append(
            RawSeries(
                "run.googleapis.com/request_latencies",
                "DELTA",
                "DISTRIBUTION",
                "ms",
                res,
                {},
                random_dist(
                    rng, minutes, LATENCY_LAYOUT, 40, lambda r, n: r.lognormal(3.5, 0.7, n)
                ),
            )
        )
        series.append(
            RawSeries(
                "run.googleapis.com/container/cpu/utilizations",
                "DELTA",
                "DISTRIBUTION",
                "1",
                res,
                {},
                random_dist(rng, minutes, CPU_LAYOUT, 5, lambda r, n: r.beta(2, 5, n)),
            )
        )
        series.append(
            RawSeries(
                "run.googleapis.com/container/startup_latencies",
                "DELTA",
                "DISTRIBUTION",
                "ms",
                res,
                {},
                random_dist(
                    rng, minutes, STARTUP_LAYOUT, 0.3, lambda r, n: r.lognormal(6.5, 0.8, n)
                ),
            )
        )
    events = instance_events(start, minutes, rng)
    reqs = request_events(start, minutes, rng)
    return FleetData(spec, series, events, reqs, {})


def random_dist(
    rng: np.random.Generator, minutes: int, layout: BucketLayout, lam: float, draw: object
) -> DistributionSeries:
    ub = layout.upper_bounds()
    nb = layout.num_buckets
    count = np.zeros(minutes, np.int64)
    mean = np.zeros(minutes)
    ssd = np.zeros(minutes)
    buckets = np.zeros((minutes, nb), np.int64)
    for i in range(minutes):
        n = int(rng.poisson(lam))
        if n == 0 and rng.random() < 0.7:
            count[i] = -1  # no point this minute
            continue
        x = draw(rng, n)  # type: ignore[operator]
        count[i] = n
        if n:
            mean[i] = x.mean()
            ssd[i] = ((x - x.mean()) ** 2).sum()
            buckets[i] = np.bincount(np.searchsorted(ub, x, side="right"), minlength=nb)
    return DistributionSeries(layout, count, mean, ssd, buckets)


def instance_events(start: datetime, minutes: int, rng: np.random.Generator) -> list[InstanceEvent]:
    ev: list[InstanceEvent] = []
    for region, svc, rev, *_ in REVISIONS:
        for k in range(6):
            t = start + timedelta(seconds=float(rng.uniform(0, minutes * 60)))
            iid = f"00f46b92{k:04d}{rev[-3:]}" + "a" * 20
            reason = ("AUTOSCALING", "DEPLOYMENT_ROLLOUT", "MANUAL_OR_CUSTOMER_MIN_INSTANCE")[k % 3]
            ev.append(
                InstanceEvent(t, svc, rev, region, None if k == 0 else iid, "start", reason=reason)
            )
            ev.append(
                InstanceEvent(
                    t + timedelta(seconds=1.2), svc, rev, region, iid, "ready", startup_ms=1200.0
                )
            )
            if k == 4:
                ev.append(
                    InstanceEvent(
                        t + timedelta(minutes=3),
                        svc,
                        rev,
                        region,
                        iid,
                        "oom",
                        memory_limit_mib=512,
                        memory_used_mib=530,
                    )
                )
                ev.append(
                    InstanceEvent(
                        t + timedelta(minutes=3, seconds=1), svc, rev, region, iid, "signal9"
                    )
                )
            if k == 5:
                ev.append(
                    InstanceEvent(t + timedelta(minutes=20), svc, rev, region, iid, "shutdown")
                )
                ev.append(
                    InstanceEvent(
                        t + timedelta(minutes=21), svc, rev, region, iid, "exit", exit_code=1
                    )
                )
    ev.sort(key=lambda e: e.timestamp)
    return ev


def request_events(start: datetime, minutes: int, rng: np.random.Generator) -> list[RequestEvent]:
    out: list[RequestEvent] = []
    for region, svc, rev, *_ in REVISIONS:
        for k in range(8):
            t = start + timedelta(seconds=float(rng.uniform(0, minutes * 60)))
            if k % 4 == 0:
                out.append(
                    RequestEvent(
                        t,
                        svc,
                        rev,
                        region,
                        None,
                        429,
                        10.0,
                        path="/api/pay",
                        platform_text="The request was aborted because there "
                        "was no available instance.",
                    )
                )
            else:
                out.append(
                    RequestEvent(
                        t,
                        svc,
                        rev,
                        region,
                        "00f46b92" + "b" * 24,
                        (500, 200, 404)[k % 3],
                        0.05 * (k + 1),
                        method="POST",
                        path=f"/api/{k}",
                    )
                )
    out.sort(key=lambda e: e.timestamp)
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
