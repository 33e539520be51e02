"""The data contract between the simulation (fleet.py, scenarios.py) and the servers (emulator.api).

Specs describe what a fleet *is* (services, revisions, traffic); ``FleetData`` is what the
simulation *produced*: per-minute raw series for every metric of docs/facts.md (Metrics), and the
instance-lifecycle / request events the logs are made of. The servers only read ``FleetData``;
they never simulate. Times are tz-aware UTC; minute ``i`` of a series covers
``[start + i min, start + (i + 1) min)``.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from foundation.min_schedule import MinSchedule


def derived_project_number(project: str) -> int:
    """A stable 12-digit project number for a project id the specs do not number."""
    return 100_000_000_000 + zlib.crc32(project.encode()) * 97 % 900_000_000_000


@dataclass(frozen=True)
class TrafficShape:
    """Arrival rate over time for a whole service (before the traffic split)."""

    base_rps: float  # mean requests per second
    daily_amplitude: float = 0.5  # 0 = flat, 1 = drops to 0 at the trough
    weekly_amplitude: float = 0.2  # weekend dip as a fraction
    peak_hour_utc: float = 15.0
    noise: float = 0.1  # multiplicative minute-to-minute noise (lognormal sigma)
    bursts_per_day: float = 0.0  # random bursts (Poisson)
    burst_multiplier: float = 1.0
    burst_minutes: float = 5.0
    daily_burst_hours_utc: tuple[float, ...] = ()  # scheduled bursts (e.g. a partner's batch)


@dataclass(frozen=True)
class RevisionSpec:
    name: str
    create_time: datetime
    cpu: float  # vCPU limit
    memory_gib: float
    concurrency: int  # max concurrent requests per instance
    min_instances: int = 0
    max_instances: int = 100
    cpu_idle: bool = True  # True: request-based billing; False: instance-based
    startup_cpu_boost: bool = False
    timeout_s: int = 300
    latency_median_ms: float = 50.0  # service time (lognormal median) when not CPU-starved
    latency_sigma: float = 0.5
    cpu_s_per_request: float = 0.01  # CPU seconds per request (drives CPU utilization)
    memory_base_fraction: float = 0.3  # memory used at idle, as a fraction of the limit
    error_rate_5xx: float = 0.001
    startup_median_ms: float = 1500.0  # without startup CPU boost
    oom_per_instance_hour: float = 0.0
    # starts that fail ("Application exec likely failed", "terminated: Application failed to
    # start: ..."), a day, Poisson; such an instance never serves and records no startup sample
    failed_starts_per_day: float = 0.0
    image: str = "us-docker.pkg.dev/runwatch-demo/apps/app:latest"
    port: int = 8080
    container_name: str = "app"


@dataclass(frozen=True)
class TrafficChange:
    """From ``at`` on, ``percents`` (revision name -> percent, summing to 100) is in effect."""

    at: datetime
    percents: Mapping[str, int]
    tags: Mapping[str, str] = field(default_factory=dict)  # revision name -> tag


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    region: str
    revisions: tuple[RevisionSpec, ...]
    traffic: tuple[TrafficChange, ...]  # sorted by time; the first is at or before the window
    shape: TrafficShape
    story: str = ""  # one line shown in docs/tests: what a user should notice
    labels: Mapping[str, str] = field(default_factory=dict)
    project: str = ""  # project id the service lives in ("" = the fleet's own project)
    background: bool = False  # simulated per minute (fluid.py), not request by request


@dataclass(frozen=True)
class FleetSpec:
    project: str
    project_number: int
    start: datetime  # window start, minute-aligned, UTC
    end: datetime  # window end ("now" rounded down to the minute), UTC
    services: tuple[ServiceSpec, ...]
    seed: int
    # more projects the services may live in (ServiceSpec.project), id -> project number
    other_projects: Mapping[str, int] = field(default_factory=dict)
    # request_latencies' bucket layout (None: emulator.sim.series.LATENCY_LAYOUT); Google does
    # not publish it, so tests vary it. Background services keep the default.
    latency_layout: BucketLayout | None = None

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)

    @property
    def projects(self) -> tuple[str, ...]:
        """Every project of the fleet, its own first."""
        return (self.project, *(p for p in self.other_projects if p != self.project))

    def project_of(self, svc: ServiceSpec) -> str:
        return svc.project or self.project

    def number_of(self, project: str) -> int:
        """The project number of one of the fleet's projects (KeyError otherwise)."""
        if project == self.project:
            return self.project_number
        return self.other_projects[project]


@dataclass(frozen=True)
class SimSettings:
    """Settings a revision is (re-)simulated under; None keeps the spec's value."""

    concurrency: int | None = None
    min_instances: int | None = None
    max_instances: int | None = None
    cpu_idle: bool | None = None
    cpu: float | None = None
    memory_gib: float | None = None
    # scheduled min instances: every revision runs with the schedule's floor per second
    # (its base outside the windows; min_instances, if given too, must equal the base)
    min_schedule: MinSchedule | None = None
    startup_cpu_boost: bool | None = None


@dataclass(frozen=True)
class BucketLayout:
    """One of Monitoring's three bucket layouts (google.api.Distribution.BucketOptions)."""

    kind: str  # "linear" | "exponential" | "explicit"
    num_finite_buckets: int = 0
    width: float = 0.0  # linear
    offset: float = 0.0  # linear
    growth_factor: float = 0.0  # exponential
    scale: float = 0.0  # exponential
    bounds: tuple[float, ...] = ()  # explicit

    def upper_bounds(self) -> np.ndarray:
        """Finite upper bounds; there are num_buckets - 1 of them (underflow..overflow)."""
        if self.kind == "linear":
            return self.offset + self.width * np.arange(self.num_finite_buckets + 1)
        if self.kind == "exponential":
            return self.scale * self.growth_factor ** np.arange(self.num_finite_buckets + 1)
        return np.asarray(self.bounds, dtype=float)

    @property
    def num_buckets(self) -> int:
        """Total bucket count including underflow and overflow."""
        return len(self.upper_bounds()) + 1


@dataclass
class DistributionSeries:
    """Per-minute distribution values: arrays of shape (minutes,) and (minutes, num_buckets)."""

    layout: BucketLayout
    count: np.ndarray  # int64
    mean: np.ndarray  # float64 (0 where count == 0)
    sum_of_squared_deviation: np.ndarray  # float64
    bucket_counts: np.ndarray  # int64, shape (minutes, layout.num_buckets)


@dataclass
class PackedDistributionSeries:
    """A DistributionSeries stored compactly: only the minutes with a point (``rows``) and only
    the band of buckets ``[band_lo, band_lo + width)`` any of them uses (the others are 0).

    Used for the per-minute (background) services of big fleets, where the dense form would
    take gigabytes. ``dense()`` gives the DistributionSeries it stands for.
    """

    layout: BucketLayout
    minutes: int
    rows: np.ndarray  # int64 (n,), sorted minute indices that have a point
    count: np.ndarray  # int64 (n,), > 0
    mean: np.ndarray  # float64 (n,)
    sum_of_squared_deviation: np.ndarray  # float64 (n,)
    band_lo: int
    band: np.ndarray  # int32 (n, width): bucket counts of buckets band_lo .. band_lo + width - 1

    def dense(self) -> DistributionSeries:
        nb = self.layout.num_buckets
        count = np.full(self.minutes, -1, dtype=np.int64)
        mean = np.zeros(self.minutes)
        ssd = np.zeros(self.minutes)
        buckets = np.zeros((self.minutes, nb), dtype=np.int64)
        count[self.rows] = self.count
        mean[self.rows] = self.mean
        ssd[self.rows] = self.sum_of_squared_deviation
        buckets[self.rows, self.band_lo : self.band_lo + self.band.shape[1]] = self.band
        return DistributionSeries(self.layout, count, mean, ssd, buckets)


def pack_distribution(d: DistributionSeries) -> PackedDistributionSeries:
    """The packed form of a dense DistributionSeries (same points, same values)."""
    rows = np.flatnonzero(d.count >= 0)
    b = d.bucket_counts[rows]
    used = np.flatnonzero(b.any(axis=0)) if len(rows) else np.zeros(0, dtype=np.int64)
    lo = int(used[0]) if len(used) else 0
    hi = int(used[-1]) + 1 if len(used) else 0
    return PackedDistributionSeries(
        layout=d.layout,
        minutes=len(d.count),
        rows=rows.astype(np.int64),
        count=d.count[rows].astype(np.int64),
        mean=d.mean[rows].astype(np.float64),
        sum_of_squared_deviation=d.sum_of_squared_deviation[rows].astype(np.float64),
        band_lo=lo,
        band=np.ascontiguousarray(b[:, lo:hi], dtype=np.int32),
    )


@dataclass
class RawSeries:
    """One raw Monitoring time series, as Cloud Run writes it (one point per minute).

    ``values`` is float64 or int64 of shape (minutes,) for numeric metrics, or a
    DistributionSeries (or its PackedDistributionSeries). NaN (numeric) or count -1
    (distribution) marks a minute with no point (a gap): the series is absent there, which is
    not the same as zero.
    """

    metric_type: str  # e.g. "run.googleapis.com/request_count"
    metric_kind: str  # "DELTA" | "GAUGE"
    value_type: str  # "INT64" | "DOUBLE" | "DISTRIBUTION"
    unit: str
    resource_labels: Mapping[str, str]  # project_id, service_name, revision_name, location,
    # configuration_name
    metric_labels: Mapping[str, str]
    values: np.ndarray | DistributionSeries | PackedDistributionSeries


@dataclass(frozen=True)
class InstanceEvent:
    """A platform event that becomes one varlog/system log entry."""

    timestamp: datetime
    service: str
    revision: str
    region: str
    instance_id: str | None  # AUTOSCALING starts may lack it (see the fixtures)
    kind: str  # start | ready | probe_failed | oom | signal9 | exit | shutdown | exec_failed |
    # start_terminated
    reason: str = (
        ""  # for start: AUTOSCALING | DEPLOYMENT_ROLLOUT | MANUAL_OR_CUSTOMER_MIN_INSTANCE
    )
    startup_ms: float | None = None  # for ready: time since the start
    exit_code: int | None = None
    memory_limit_mib: int | None = None
    memory_used_mib: int | None = None
    memory_unit: str = "MiB"  # how the oom line spells its figures ("M" in the older wording)
    detail: str = ""  # for start_terminated: the whole line


@dataclass(frozen=True)
class RequestEvent:
    """A request that becomes one requests-log entry (errors and rejections; see fleet.py)."""

    timestamp: datetime
    service: str
    revision: str
    region: str
    instance_id: str | None
    status: int
    latency_s: float
    method: str = "GET"
    path: str = "/"
    platform_text: str | None = None  # e.g. "The request was aborted because there was no ..."


@dataclass(frozen=True)
class GroundTruth:
    """What a (re-)simulation really billed and suffered over its window, for one service."""

    days: float
    requests: int  # requests that reached a container
    rejected_requests: int  # 429 no available instance
    cold_starts: int  # instance starts (all reasons)
    requests_meeting_cold_start: int
    instance_seconds: float  # total instance lifetime
    billable_instance_seconds: float  # per the billing mode's rules
    active_vcpu_seconds: float  # request-based: billed at the active rate; instance-based: all
    # (includes boost_vcpu_seconds)
    active_gib_seconds: float
    idle_vcpu_seconds: float  # idle min instances (request-based only; 0 for instance-based)
    idle_gib_seconds: float
    cpu_idle: bool  # billing mode simulated: True = request-based
    # extra vCPU-seconds of the startup CPU boost (instances.boost_vcpu_per_minute; UNCONFIRMED
    # billing), included in active_vcpu_seconds
    boost_vcpu_seconds: float = 0.0


@dataclass
class FleetData:
    spec: FleetSpec
    series: list[RawSeries]
    instance_events: list[InstanceEvent]  # sorted by timestamp
    request_events: list[RequestEvent]  # sorted by timestamp
    truth: Mapping[tuple[str, str], GroundTruth]  # (region, service) -> current settings' truth
