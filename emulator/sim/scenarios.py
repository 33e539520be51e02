"""The demo fleet: seven services in two regions, each with a story a user should notice.

europe-west1 (Tier 1) and asia-southeast1 (Tier 2). Times are relative to the window end
(``now`` floored to the minute); every service's oldest revision and first traffic change lie
``HISTORY_DAYS`` before the end, so any window of 1-30 days starts with a known traffic split.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from emulator.sim.model import FleetSpec, RevisionSpec, ServiceSpec, TrafficChange, TrafficShape

EU = "europe-west1"  # Tier 1
ASIA = "asia-southeast1"  # Tier 2
HISTORY_DAYS = 40
MAX_DAYS = 30
PROJECT_NUMBER = 482913650217


def demo_fleet(
    now: datetime, days: int = 7, project: str = "runwatch-demo", seed: int = 42
) -> FleetSpec:
    """The demo FleetSpec for the ``days`` before ``now`` (tz-aware), ending on a whole minute."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}, got {days}")
    end = now.astimezone(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(days=days)
    services = tuple(
        build(end)
        for build in (
            _checkout,
            _web_frontend,
            _admin_tool,
            _notify_mailer,
            _runwatch,
            _webhook_relay,
            _image_resizer,
        )
    )
    return FleetSpec(project, PROJECT_NUMBER, start, end, services, seed)


def _ago(end: datetime, hours: float) -> datetime:
    return end - timedelta(hours=hours)


def _history(end: datetime) -> datetime:
    return end - timedelta(days=HISTORY_DAYS)


def _rev(svc: str, num: int, suffix: str, created: datetime, **kw: object) -> RevisionSpec:
    image = f"europe-docker.pkg.dev/runwatch-demo/apps/{svc}:r{num}"
    return RevisionSpec(name=f"{svc}-{num:05d}-{suffix}", create_time=created, image=image, **kw)  # type: ignore[arg-type]


def _changes(
    end: datetime, steps: list[tuple[float, Mapping[str, int]]], tags: Mapping[str, str] = {}
) -> tuple[TrafficChange, ...]:
    """Traffic changes from (hours before the end, percents); tags apply to the named revisions
    from the first step that gives them traffic on."""
    out = []
    for hours, pct in steps:
        on = {r: t for r, t in tags.items() if r in pct}
        out.append(TrafficChange(_ago(end, hours), dict(pct), on))
    return tuple(out)


def _checkout(end: datetime) -> ServiceSpec:
    base: dict[str, object] = {
        "cpu": 1.0,
        "memory_gib": 0.5,
        "concurrency": 40,
        "min_instances": 1,
        "max_instances": 20,
        "latency_median_ms": 70.0,
        "latency_sigma": 0.5,
        "cpu_s_per_request": 0.02,
        "error_rate_5xx": 0.002,
        "startup_median_ms": 1800.0,
    }
    old = _rev("checkout-api", 41, "kez", _history(end), **base)
    stable = _rev("checkout-api", 42, "vaq", _ago(end, 100), **{**base, "latency_median_ms": 65.0})
    canary = _rev(
        "checkout-api", 43, "lop", _ago(end, 30),
        **{**base, "latency_median_ms": 80.0, "latency_sigma": 0.95, "error_rate_5xx": 0.025,
           "cpu_s_per_request": 0.03},
    )  # fmt: skip
    a, b, c = old.name, stable.name, canary.name
    steps: list[tuple[float, Mapping[str, int]]] = [
        (HISTORY_DAYS * 24, {a: 100}),
        (100, {a: 100, b: 0}),
        (98, {a: 90, b: 10}),
        (80, {b: 100}),
        (30, {b: 100, c: 0}),
        (26, {b: 90, c: 10}),
    ]
    return ServiceSpec(
        name="checkout-api",
        region=EU,
        revisions=(old, stable, canary),
        traffic=_changes(end, steps, {c: "canary"}),
        shape=TrafficShape(
            base_rps=6.0, daily_amplitude=0.6, weekly_amplitude=0.3, peak_hour_utc=14.0, noise=0.1
        ),
        story="mid-canary: the 10 % canary has a p99 latency regression and ten times the 5xx",
    )


def _web_frontend(end: datetime) -> ServiceSpec:
    base: dict[str, object] = {
        "cpu": 1.0,
        "memory_gib": 1.0,
        "concurrency": 80,
        "max_instances": 30,
        "latency_median_ms": 120.0,
        "latency_sigma": 0.6,
        "cpu_s_per_request": 0.05,
        "error_rate_5xx": 0.0008,
        "startup_median_ms": 2500.0,
        "startup_cpu_boost": True,
    }
    r1 = _rev("web-frontend", 117, "pum", _history(end), **base)
    r2 = _rev("web-frontend", 118, "gox", _ago(end, 150), **{**base, "latency_median_ms": 110.0})
    r3 = _rev("web-frontend", 119, "tid", _ago(end, 54), **{**base, "latency_median_ms": 105.0})
    a, b, c = r1.name, r2.name, r3.name
    steps: list[tuple[float, Mapping[str, int]]] = [
        (HISTORY_DAYS * 24, {a: 100}),
        (150, {a: 100, b: 0}),
        (149, {a: 90, b: 10}),
        (146, {b: 100}),
        (54, {b: 100, c: 0}),
        (53, {b: 90, c: 10}),
        (50, {c: 100}),
    ]
    return ServiceSpec(
        name="web-frontend",
        region=EU,
        revisions=(r1, r2, r3),
        traffic=_changes(end, steps),
        shape=TrafficShape(
            base_rps=10.0,
            daily_amplitude=0.85,
            weekly_amplitude=0.25,
            peak_hour_utc=19.0,
            noise=0.08,
        ),
        story="high traffic with a strong daily cycle; CPU-bound scaling follows it",
    )


def _admin_tool(end: datetime) -> ServiceSpec:
    base: dict[str, object] = {
        "cpu": 1.0,
        "memory_gib": 1.0,
        "concurrency": 80,
        "min_instances": 2,
        "max_instances": 4,
        "cpu_idle": False,
        "latency_median_ms": 150.0,
        "latency_sigma": 0.7,
        "cpu_s_per_request": 0.05,
        "error_rate_5xx": 0.004,
        "startup_median_ms": 3000.0,
    }
    r1 = _rev("admin-tool", 6, "wen", _history(end), **base)
    r2 = _rev("admin-tool", 7, "saf", _ago(end, 72), **base)
    steps: list[tuple[float, Mapping[str, int]]] = [
        (HISTORY_DAYS * 24, {r1.name: 100}),
        (72, {r2.name: 100}),
    ]
    return ServiceSpec(
        name="admin-tool",
        region=EU,
        revisions=(r1, r2),
        traffic=_changes(end, steps),
        shape=TrafficShape(
            base_rps=0.01, daily_amplitude=1.0, weekly_amplitude=0.9, peak_hour_utc=10.0, noise=0.3
        ),
        story="min-instances 2 with instance-based billing: idles almost all the time, paying",
    )


def _notify_mailer(end: datetime) -> ServiceSpec:
    base: dict[str, object] = {
        "cpu": 0.5,
        "memory_gib": 0.25,
        "concurrency": 1,
        "max_instances": 10,
        "latency_median_ms": 200.0,
        "latency_sigma": 0.4,
        "cpu_s_per_request": 0.06,
        "error_rate_5xx": 0.003,
        "startup_median_ms": 1200.0,
    }
    r1 = _rev("notify-mailer", 21, "hoc", _history(end), **base)
    r2 = _rev("notify-mailer", 22, "ryt", _ago(end, 120), **{**base, "latency_median_ms": 180.0})
    steps: list[tuple[float, Mapping[str, int]]] = [
        (HISTORY_DAYS * 24, {r1.name: 100}),
        (120, {r2.name: 100}),
    ]
    return ServiceSpec(
        name="notify-mailer",
        region=EU,
        revisions=(r1, r2),
        traffic=_changes(end, steps),
        shape=TrafficShape(base_rps=0.5, daily_amplitude=0.5, peak_hour_utc=8.0),
        story="a fraction of a vCPU at concurrency 1, request-based: the pricing page's case",
    )


def _runwatch(end: datetime) -> ServiceSpec:
    base: dict[str, object] = {
        "cpu": 1.0,
        "memory_gib": 1.0,
        "concurrency": 80,
        "max_instances": 2,
        "latency_median_ms": 400.0,
        "latency_sigma": 1.0,
        "cpu_s_per_request": 0.2,
        "error_rate_5xx": 0.001,
        "startup_median_ms": 6000.0,
        "startup_cpu_boost": True,
    }
    r1 = _rev("runwatch", 3, "mab", _history(end), **base)
    r2 = _rev("runwatch", 4, "qel", _ago(end, 110), **base)
    steps: list[tuple[float, Mapping[str, int]]] = [
        (HISTORY_DAYS * 24, {r1.name: 100}),
        (110, {r2.name: 100}),
    ]
    return ServiceSpec(
        name="runwatch",
        region=EU,
        revisions=(r1, r2),
        traffic=_changes(end, steps),
        shape=TrafficShape(
            base_rps=0.003, daily_amplitude=0.9, weekly_amplitude=0.9, peak_hour_utc=9.0, noise=0.2
        ),
        story="this dashboard: tiny traffic, scales to zero, almost every visit is a cold start",
    )


def _webhook_relay(end: datetime) -> ServiceSpec:
    base: dict[str, object] = {
        "cpu": 1.0,
        "memory_gib": 0.5,
        "concurrency": 4,
        "max_instances": 3,
        "latency_median_ms": 300.0,
        "latency_sigma": 0.6,
        "cpu_s_per_request": 0.03,
        "error_rate_5xx": 0.002,
        "startup_median_ms": 1500.0,
    }
    r1 = _rev("webhook-relay", 12, "fiz", _history(end), **base)
    r2 = _rev("webhook-relay", 13, "dov", _ago(end, 96), **base)
    steps: list[tuple[float, Mapping[str, int]]] = [
        (HISTORY_DAYS * 24, {r1.name: 100}),
        (96, {r2.name: 100}),
    ]
    return ServiceSpec(
        name="webhook-relay",
        region=ASIA,
        revisions=(r1, r2),
        traffic=_changes(end, steps),
        shape=TrafficShape(
            base_rps=1.2,
            daily_amplitude=0.3,
            noise=0.15,
            bursts_per_day=1.0,
            burst_multiplier=30.0,
            burst_minutes=6.0,
            # a partner's batch every 6 hours: every 6-hour window shows the 429s
            daily_burst_hours_utc=(1.5, 7.5, 13.5, 19.5),
        ),
        story="bursts hit max instances (3): requests wait, then fail with 429",
    )


def _image_resizer(end: datetime) -> ServiceSpec:
    base: dict[str, object] = {
        "cpu": 2.0,
        "memory_gib": 2.0,
        "concurrency": 1,
        "max_instances": 50,
        "latency_median_ms": 1800.0,
        "latency_sigma": 0.5,
        "cpu_s_per_request": 1.6,
        "error_rate_5xx": 0.004,
        "startup_median_ms": 4000.0,
        "oom_per_instance_hour": 0.03,
        "memory_base_fraction": 0.45,
    }
    r1 = _rev("image-resizer", 30, "nub", _history(end), **base)
    # the new revision's image sometimes fails to start (exec failed): a few a day
    kax = {**base, "startup_cpu_boost": True, "failed_starts_per_day": 3.0}
    r2 = _rev("image-resizer", 31, "kax", _ago(end, 75), **kax)
    steps: list[tuple[float, Mapping[str, int]]] = [
        (HISTORY_DAYS * 24, {r1.name: 100}),
        (75, {r1.name: 100, r2.name: 0}),
        (74, {r1.name: 50, r2.name: 50}),
        (70, {r2.name: 100}),
    ]
    return ServiceSpec(
        name="image-resizer",
        region=ASIA,
        revisions=(r1, r2),
        traffic=_changes(end, steps),
        shape=TrafficShape(
            base_rps=0.12,
            daily_amplitude=0.8,
            peak_hour_utc=6.0,
            noise=0.2,
            bursts_per_day=6.0,
            burst_multiplier=10.0,
            burst_minutes=4.0,
        ),
        story="CPU-heavy, concurrency 1: every overlap of uploads starts an instance; "
        "out-of-memory kills break the upload in flight; the new revision's image sometimes "
        "fails to start",
    )


def with_services(spec: FleetSpec, names: set[str]) -> FleetSpec:
    """The same fleet reduced to the named services (tests and benchmarks)."""
    return replace(spec, services=tuple(s for s in spec.services if s.name in names))
