"""The data contract between the simulation (fleet.py, scenarios.py) and the servers.

Specs describe what a fleet *is* (services, revisions, traffic); ``FleetData`` is what the
simulation *produced*: per-minute raw series for every metric of the facts sheet, and the
instance-lifecycle / request events the logs are made of. The servers only read ``FleetData``;
they never simulate. Times are tz-aware UTC; minute ``i`` of a series covers
``[start + i min, start + (i + 1) min)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np


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


@dataclass(frozen=True)
class FleetSpec:
    project: str
    project_number: int
    start: datetime  # window start, minute-aligned, UTC
    end: datetime  # window end ("now" rounded down to the minute), UTC
    services: tuple[ServiceSpec, ...]
    seed: int

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


@dataclass(frozen=True)
class SimSettings:
    """Settings a revision is (re-)simulated under; None keeps the spec's value."""

    concurrency: int | None = None
    min_instances: int | None = None
    max_instances: int | None = None
    cpu_idle: bool | None = None
    cpu: float | None = None
    memory_gib: float | None = None


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
class RawSeries:
    """One raw Monitoring time series, as Cloud Run writes it (one point per minute).

    ``values`` is float64 or int64 of shape (minutes,) for numeric metrics, or a
    DistributionSeries. NaN (numeric) or count -1 (distribution) marks a minute with no point
    (a gap): the series is absent there, which is not the same as zero.
    """

    metric_type: str  # e.g. "run.googleapis.com/request_count"
    metric_kind: str  # "DELTA" | "GAUGE"
    value_type: str  # "INT64" | "DOUBLE" | "DISTRIBUTION"
    unit: str
    resource_labels: Mapping[str, str]  # project_id, service_name, revision_name, location,
    # configuration_name
    metric_labels: Mapping[str, str]
    values: np.ndarray | DistributionSeries


@dataclass(frozen=True)
class InstanceEvent:
    """A platform event that becomes one varlog/system log entry."""

    timestamp: datetime
    service: str
    revision: str
    region: str
    instance_id: str | None  # AUTOSCALING starts may lack it (see the fixtures)
    kind: str  # start | ready | probe_failed | oom | signal9 | exit | shutdown
    reason: str = (
        ""  # for start: AUTOSCALING | DEPLOYMENT_ROLLOUT | MANUAL_OR_CUSTOMER_MIN_INSTANCE
    )
    startup_ms: float | None = None  # for ready: time since the start
    exit_code: int | None = None
    memory_limit_mib: int | None = None
    memory_used_mib: int | None = None


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
    active_gib_seconds: float
    idle_vcpu_seconds: float  # idle min instances (request-based only; 0 for instance-based)
    idle_gib_seconds: float
    cpu_idle: bool  # billing mode simulated: True = request-based


@dataclass
class FleetData:
    spec: FleetSpec
    series: list[RawSeries]
    instance_events: list[InstanceEvent]  # sorted by timestamp
    request_events: list[RequestEvent]  # sorted by timestamp
    truth: Mapping[tuple[str, str], GroundTruth]  # (region, service) -> current settings' truth
