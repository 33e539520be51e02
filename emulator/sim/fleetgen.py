"""Fleets of any size: the demo's seven services plus seeded variations of their stories.

``build_fleet(now, days, seed, project, services=N, projects=(P1, P2, ...))`` gives the demo fleet
(scenarios.demo_fleet, unchanged) in the first project, then ``N - 7`` generated services spread
round-robin over the projects and over several regions. With neither ``services`` nor
``projects`` it is exactly the demo fleet; ``N < 7`` keeps the first N demo services.

Every generated service is one of these kinds (weights in ``KINDS``), with its numbers drawn
from a random stream of its own (seeded by the seed and its position, so the first services of a
500-service fleet are those of a 100-service one):

- api: a steady API with a daily and weekly cycle, 0.5-80 requests/s
- busy: 80-400 requests/s, many instances, high concurrency
- quiet: near zero traffic (a few requests an hour to a few a minute), scales to zero
- bursty: random bursts of 5-20x several times a day, with room to absorb them
- canary: two revisions splitting traffic now (5-50 % canary); half of them regressed (slower,
  wider latency or ten times the 5xx)
- min_idle: 1-3 min instances on little traffic (paying to idle); half instance-based billing
- at_max: small max instances and bursts past them: requests rejected with 429
- worker: instance-based billing, big CPU and memory, long requests
- small: a fraction of a vCPU at concurrency 1 (request-based, as Cloud Run requires)

Revisions roll out at random times (some inside the window), cpu 0.25-4, memory 0.25-8 GiB,
concurrency 1-500. Generated services are ``background``: simulated per minute (fluid.py).
Service names carry their position (``orders-api-012``), so they are unique across projects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from emulator.sim.model import (
    FleetSpec,
    RevisionSpec,
    ServiceSpec,
    TrafficChange,
    TrafficShape,
    derived_project_number,
)
from emulator.sim.scenarios import HISTORY_DAYS, demo_fleet
from emulator.sim.util import rng_for

DEMO_SERVICES = 7
MAX_SERVICES = 5000
REGIONS: tuple[tuple[str, float], ...] = (
    ("europe-west1", 4.0),
    ("us-central1", 4.0),
    ("us-east1", 3.0),
    ("asia-northeast1", 2.0),
    ("europe-west4", 1.0),
    ("asia-southeast1", 1.0),
)
KINDS: tuple[tuple[str, float], ...] = (
    ("api", 0.27),
    ("busy", 0.06),
    ("quiet", 0.15),
    ("bursty", 0.10),
    ("canary", 0.12),
    ("min_idle", 0.10),
    ("at_max", 0.06),
    ("worker", 0.07),
    ("small", 0.07),
)
TEAMS = ("orders", "billing", "search", "catalog", "identity", "media", "growth", "ledger",
         "support", "reports", "payments", "inventory", "shipping", "profile", "feeds")  # fmt: skip
ROLES = ("api", "worker", "gateway", "sync", "render", "export", "hooks", "cron", "auth",
         "events", "graph", "proxy", "index", "jobs", "web")  # fmt: skip
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def build_fleet(
    now: datetime,
    days: int = 7,
    seed: int = 42,
    project: str = "runwatch-demo",
    services: int | None = None,
    projects: Sequence[str] | None = None,
) -> FleetSpec:
    """The fleet for these options (see the module docstring); the demo fleet by default."""
    if services is None and not projects:
        return demo_fleet(now, days=days, project=project, seed=seed)
    ids = tuple(projects) if projects else (project,)
    if len(set(ids)) != len(ids) or not all(ids):
        raise ValueError(f"projects must be distinct non-empty ids, got {list(ids)}")
    n = DEMO_SERVICES if services is None else services
    if not 1 <= n <= MAX_SERVICES:
        raise ValueError(f"services must be between 1 and {MAX_SERVICES}, got {n}")
    demo = demo_fleet(now, days=days, project=ids[0], seed=seed)
    extra = tuple(
        generated_service(demo.end, seed, i, ids[i % len(ids)] if i % len(ids) else "")
        for i in range(max(0, n - DEMO_SERVICES))
    )
    return replace(
        demo,
        services=demo.services[: min(n, DEMO_SERVICES)] + extra,
        other_projects={p: derived_project_number(p) for p in ids[1:]},
    )


def kind_of(rng: np.random.Generator) -> str:
    names = [k for k, _ in KINDS]
    w = np.array([w for _, w in KINDS])
    return names[int(rng.choice(len(names), p=w / w.sum()))]


def _region(rng: np.random.Generator) -> str:
    w = np.array([w for _, w in REGIONS])
    return REGIONS[int(rng.choice(len(REGIONS), p=w / w.sum()))][0]


def _loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _pick(rng: np.random.Generator, values: Sequence[float]) -> float:
    return float(values[int(rng.integers(0, len(values)))])


def _instances_for(shape: TrafficShape, rev: Mapping[str, Any]) -> int:
    """Max instances that hold three times the busiest minute's requests in flight."""
    peak_rps = shape.base_rps * (1 + shape.daily_amplitude) * max(1.0, shape.burst_multiplier)
    seconds = float(rev["latency_median_ms"]) / 1000.0 * 2.0
    return int(min(1000, np.ceil(3.0 * peak_rps * seconds / int(rev["concurrency"])) + 1))


STORIES = {
    "api": "a steady API with a daily cycle",
    "busy": "hundreds of requests a second on many instances",
    "quiet": "near zero traffic: scales to zero, most requests meet a cold start",
    "bursty": "bursts of many times its usual traffic, absorbed by scaling out",
    "canary": "mid-canary: two revisions split the traffic",
    "min_idle": "min instances on little traffic: pays to idle",
    "at_max": "bursts past max instances: requests rejected with 429",
    "worker": "instance-based billing, big instances, long requests",
    "small": "a fraction of a vCPU at concurrency 1, request-based",
}
Settings = dict[str, Any]  # RevisionSpec keyword arguments


def generated_service(end: datetime, seed: int, i: int, project: str) -> ServiceSpec:
    """The i-th generated service (0-based, after the demo's) in ``project`` ("" = the fleet's).

    Every number comes from the service's own random stream, drawn in a fixed order: its kind,
    name, settings and traffic shape, its kind's variations, its revisions and rollout, then
    its region.
    """
    rng = rng_for(seed, "fleetgen", str(i))
    kind = kind_of(rng)
    team = TEAMS[int(rng.integers(0, len(TEAMS)))]
    name = f"{team}-{ROLES[int(rng.integers(0, len(ROLES)))]}-{i + DEMO_SERVICES + 1:03d}"
    base = _base_settings(rng)
    shape = TrafficShape(
        base_rps=_loguniform(rng, 0.5, 80.0),
        daily_amplitude=float(rng.uniform(0.0, 0.9)),
        weekly_amplitude=float(rng.uniform(0.0, 0.5)),
        peak_hour_utc=float(rng.uniform(0.0, 24.0)),
        noise=float(rng.uniform(0.05, 0.3)),
    )
    story = STORIES[kind]
    canary_kw: Settings | None = None
    vary = _VARIATIONS.get(kind)
    if vary is not None:
        shape, canary_kw, more = vary(rng, base, shape)
        story += more
    _within_limits(kind, shape, base, canary_kw)
    revisions, traffic = _rollout(rng, end, name, project, base, canary_kw)
    return ServiceSpec(
        name=name,
        region=_region(rng),
        revisions=revisions,
        traffic=traffic,
        shape=shape,
        story=f"{kind}: {story}",
        labels={"team": team, "kind": kind},
        project=project,
        background=True,
    )


def _base_settings(rng: np.random.Generator) -> Settings:
    """A generated service's first revision settings, before its kind's variations."""
    cpu = _pick(rng, (1.0, 1.0, 1.0, 2.0, 2.0, 4.0))
    base: Settings = {
        "cpu": cpu,
        "memory_gib": _pick(rng, (0.5, 0.5, 1.0, 1.0, 2.0)) * (2.0 if cpu >= 2 else 1.0),
        "concurrency": int(_pick(rng, (20, 40, 80, 80, 80, 160, 250))),
        "max_instances": int(_pick(rng, (10, 20, 50, 100))),
        "latency_median_ms": _loguniform(rng, 15.0, 400.0),
        "latency_sigma": float(rng.uniform(0.35, 0.9)),
        "error_rate_5xx": _loguniform(rng, 0.0002, 0.01),
        "startup_median_ms": _loguniform(rng, 600.0, 8000.0),
        "startup_cpu_boost": bool(rng.random() < 0.4),
        "memory_base_fraction": float(rng.uniform(0.15, 0.5)),
    }
    base["cpu_s_per_request"] = float(base["latency_median_ms"]) / 1000.0 * rng.uniform(0.1, 0.6)
    return base


# A kind's variations of the base settings (changed in place) and traffic shape: (the new
# shape, the canary revision's settings or None, more of the story).
Variation = tuple[TrafficShape, Settings | None, str]


def _busy(rng: np.random.Generator, base: Settings, shape: TrafficShape) -> Variation:
    shape = replace(shape, base_rps=_loguniform(rng, 80.0, 400.0))
    base.update(concurrency=int(_pick(rng, (80, 160, 250, 500))), max_instances=300)
    base["latency_median_ms"] = _loguniform(rng, 15.0, 120.0)
    base["cpu_s_per_request"] = float(base["latency_median_ms"]) / 1000.0 * 0.2
    return shape, None, ""


def _quiet(rng: np.random.Generator, base: Settings, shape: TrafficShape) -> Variation:
    return replace(shape, base_rps=_loguniform(rng, 0.0005, 0.05), noise=0.3), None, ""


def _bursty(rng: np.random.Generator, base: Settings, shape: TrafficShape) -> Variation:
    shape = replace(
        shape,
        base_rps=_loguniform(rng, 0.2, 10.0),
        bursts_per_day=float(rng.uniform(2.0, 8.0)),
        burst_multiplier=float(rng.uniform(5.0, 20.0)),
        burst_minutes=float(rng.uniform(3.0, 10.0)),
    )
    base["max_instances"] = 100
    return shape, None, ""


def _canary(rng: np.random.Generator, base: Settings, shape: TrafficShape) -> Variation:
    canary_kw = dict(base)
    if rng.random() < 0.5:  # regressed
        if rng.random() < 0.5:
            slower = float(rng.uniform(1.3, 2.0))
            canary_kw["latency_median_ms"] = base["latency_median_ms"] * slower
            canary_kw["latency_sigma"] = float(base["latency_sigma"]) + 0.3
            return shape, canary_kw, "; the canary is slower"
        canary_kw["error_rate_5xx"] = min(0.2, float(base["error_rate_5xx"]) * 10.0)
        return shape, canary_kw, "; the canary answers ten times the 5xx"
    faster = float(rng.uniform(0.85, 1.0))
    canary_kw["latency_median_ms"] = base["latency_median_ms"] * faster
    return shape, canary_kw, "; the canary is healthy"


def _min_idle(rng: np.random.Generator, base: Settings, shape: TrafficShape) -> Variation:
    shape = replace(shape, base_rps=_loguniform(rng, 0.001, 0.5))
    base["min_instances"] = int(rng.integers(1, 4))
    if rng.random() < 0.5:
        base["cpu_idle"] = False
        return shape, None, " (instance-based billing)"
    return shape, None, ""


def _at_max(rng: np.random.Generator, base: Settings, shape: TrafficShape) -> Variation:
    conc = int(_pick(rng, (1, 1, 2)))
    latency_ms = _loguniform(rng, 500.0, 2000.0)
    max_inst = int(rng.integers(1, 4))
    cap_rps = max_inst * conc / (latency_ms / 1000.0 * np.exp(0.6**2 / 2))
    usual = float(rng.uniform(0.15, 0.3))  # usual demand, as a share of the capacity
    base.update(
        concurrency=conc,
        max_instances=max_inst,
        latency_median_ms=latency_ms,
        latency_sigma=0.6,
        cpu_s_per_request=latency_ms / 1000.0 * 0.3,
    )
    shape = replace(
        shape,
        base_rps=cap_rps * usual,
        daily_amplitude=0.3,
        weekly_amplitude=0.2,
        bursts_per_day=float(rng.uniform(1.0, 2.0)),
        burst_multiplier=float(rng.uniform(1.15, 1.6)) / usual,  # bursts past the capacity
        burst_minutes=float(rng.uniform(2.0, 4.0)),
    )
    return shape, None, ""


def _worker(rng: np.random.Generator, base: Settings, shape: TrafficShape) -> Variation:
    base.update(
        cpu=_pick(rng, (1.0, 2.0, 4.0)),
        cpu_idle=False,
        concurrency=int(_pick(rng, (1, 4, 10, 20))),
        latency_median_ms=_loguniform(rng, 500.0, 5000.0),
        max_instances=int(_pick(rng, (5, 10, 20))),
    )
    base["memory_gib"] = float(base["cpu"]) * _pick(rng, (1.0, 2.0))
    base["cpu_s_per_request"] = float(base["latency_median_ms"]) / 1000.0 * 0.5
    base["oom_per_instance_hour"] = _pick(rng, (0.0, 0.0, 0.02))
    return replace(shape, base_rps=_loguniform(rng, 0.05, 3.0)), None, ""


def _small(rng: np.random.Generator, base: Settings, shape: TrafficShape) -> Variation:
    base.update(
        cpu=_pick(rng, (0.25, 0.5)),
        memory_gib=_pick(rng, (0.25, 0.5)),
        concurrency=1,
        cpu_idle=True,
        max_instances=int(_pick(rng, (10, 20, 40))),
    )
    base["cpu_s_per_request"] = float(base["latency_median_ms"]) / 1000.0 * 0.1
    return replace(shape, base_rps=_loguniform(rng, 0.01, 2.0)), None, ""


_VARIATIONS: dict[str, Callable[[np.random.Generator, Settings, TrafficShape], Variation]] = {
    "busy": _busy,
    "quiet": _quiet,
    "bursty": _bursty,
    "canary": _canary,
    "min_idle": _min_idle,
    "at_max": _at_max,
    "worker": _worker,
    "small": _small,
}


def _within_limits(
    kind: str, shape: TrafficShape, base: Settings, canary_kw: Settings | None
) -> None:
    """Keep every revision within what Cloud Run accepts, and (except at_max, the only kind
    that rejects) with room for three times the busiest minute; changes the settings in
    place."""
    if float(base["cpu"]) < 1:
        base["concurrency"], base["cpu_idle"] = 1, True
    if kind != "at_max":
        base["max_instances"] = max(int(base["max_instances"]), _instances_for(shape, base))
        if canary_kw is not None:
            for k in ("max_instances", "concurrency", "cpu", "memory_gib"):
                canary_kw[k] = base[k]
            canary_kw["cpu_idle"] = base.get("cpu_idle", True)


def _rollout(
    rng: np.random.Generator,
    end: datetime,
    name: str,
    project: str,
    base: Settings,
    canary_kw: Settings | None,
) -> tuple[tuple[RevisionSpec, ...], tuple[TrafficChange, ...]]:
    """The service's revisions and traffic changes: one revision since the history's start,
    then a canary now (``canary_kw``), or half the time a rollout some hours or days ago."""

    def rev(num: int, created: datetime, kw: Mapping[str, Any]) -> RevisionSpec:
        suffix = "".join(LETTERS[int(k)] for k in rng.integers(0, 26, size=3))
        image = f"us-docker.pkg.dev/{project or 'fleet'}/apps/{name}:r{num}"
        return RevisionSpec(
            name=f"{name}-{num:05d}-{suffix}", create_time=created, image=image, **kw
        )

    first_num = int(rng.integers(1, 300))
    history = end - timedelta(days=HISTORY_DAYS)
    old = rev(first_num, history, base)
    steps: list[tuple[datetime, dict[str, int], dict[str, str]]] = [(history, {old.name: 100}, {})]
    revisions = [old]
    if canary_kw is not None:
        at = end - timedelta(hours=float(rng.uniform(2.0, 60.0)))
        new = rev(first_num + 1, at, canary_kw)
        pct = int(_pick(rng, (5, 10, 10, 20, 50)))
        tags = {new.name: "canary"}
        steps += [
            (at, {old.name: 100, new.name: 0}, tags),
            (at + timedelta(minutes=10), {old.name: 100 - pct, new.name: pct}, tags),
        ]
        revisions.append(new)
    elif rng.random() < 0.5:  # a rollout some hours or days ago (maybe before the window)
        at = end - timedelta(hours=_loguniform(rng, 1.0, 24.0 * 20))
        new = rev(first_num + 1, at, base)
        steps += [
            (at, {old.name: 100, new.name: 0}, {}),
            (at + timedelta(minutes=5), {old.name: 50, new.name: 50}, {}),
            (at + timedelta(minutes=30), {new.name: 100}, {}),
        ]
        revisions.append(new)
    return tuple(revisions), tuple(TrafficChange(at, pct, tags) for at, pct, tags in steps)


def kinds(spec: FleetSpec) -> dict[str, int]:
    """How many services of each generated kind the fleet has (the demo's count as "demo")."""
    out: dict[str, int] = {}
    for svc in spec.services:
        k = svc.labels.get("kind", "demo") if svc.background else "demo"
        out[k] = out.get(k, 0) + 1
    return out
