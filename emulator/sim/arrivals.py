"""Arrivals: a service's traffic shape -> sorted Poisson arrival times, split among revisions.

Arrivals are drawn exactly for a non-homogeneous Poisson process whose rate is constant within
each minute: the number of arrivals is Poisson(total), and their times are the order statistics
of unit-rate points mapped through the inverse cumulative rate (time rescaling). The result is
sorted by construction, which the later stages rely on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from emulator.sim.model import ServiceSpec, TrafficShape
from emulator.sim.util import fast_exponential, rng_for


def minute_rates(
    shape: TrafficShape, start: datetime, minutes: int, rng: np.random.Generator
) -> np.ndarray:
    """Requests per second for each minute of the window (daily and weekly cycles, noise,
    random and scheduled bursts). The shape's ``base_rps`` is the weekday mean rate before
    bursts."""
    epoch_min = int(start.timestamp() // 60) + np.arange(minutes, dtype=np.int64)
    hour = (epoch_min % 1440) / 60.0
    daily = 1.0 + shape.daily_amplitude * np.cos(2 * np.pi * (hour - shape.peak_hour_utc) / 24.0)
    weekday = (epoch_min // 1440 + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    weekly = np.where(weekday >= 5, 1.0 - shape.weekly_amplitude, 1.0)
    sigma = shape.noise
    noise = np.exp(sigma * rng.standard_normal(minutes) - sigma * sigma / 2.0)
    burst = np.ones(minutes)
    n_bursts = int(rng.poisson(shape.bursts_per_day * minutes / 1440.0))
    b_start = rng.integers(0, max(minutes, 1), size=n_bursts)
    b_len = np.maximum(1, np.round(shape.burst_minutes * rng.uniform(0.5, 1.5, n_bursts)))
    for s, n in zip(b_start.tolist(), b_len.astype(int).tolist(), strict=True):
        burst[s : s + n] = np.maximum(burst[s : s + n], shape.burst_multiplier)
    for h in shape.daily_burst_hours_utc:  # scheduled: every day at this hour (UTC)
        due = (epoch_min % 1440 - round(h * 60)) % 1440 < shape.burst_minutes
        burst[due] = np.maximum(burst[due], shape.burst_multiplier)
    rate = shape.base_rps * np.clip(daily, 0.0, None) * weekly * noise * burst
    return np.asarray(np.clip(rate, 0.0, None), dtype=np.float64)


def arrival_times(rates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted arrival times (seconds from the window start) for per-minute rates (req/s)."""
    cum = np.concatenate([[0.0], np.cumsum(rates * 60.0)])
    total = float(cum[-1])
    n = int(rng.poisson(total)) if total > 0 else 0
    if n == 0:
        return np.zeros(0)
    spacing = np.cumsum(fast_exponential(rng, n + 1))
    unit = spacing[:-1] * (total / spacing[-1])
    grid = np.arange(len(rates) + 1, dtype=np.float64) * 60.0
    return np.asarray(np.interp(unit, cum, grid), dtype=np.float64)


@dataclass(frozen=True)
class TrafficTimeline:
    """Traffic percent per revision over time, as step functions over window seconds."""

    change_s: np.ndarray  # (C,) change times, seconds from window start (may be negative)
    percents: np.ndarray  # (C, R) percent of revision r from change c on
    tagged: np.ndarray  # (C, R) revision r has a tag from change c on

    def index_at(self, t: np.ndarray) -> np.ndarray:
        return np.maximum(np.searchsorted(self.change_s, t, side="right") - 1, 0)


def traffic_timeline(svc: ServiceSpec, start: datetime) -> TrafficTimeline:
    names = [r.name for r in svc.revisions]
    changes = sorted(svc.traffic, key=lambda c: c.at)
    change_s = np.array([(c.at - start).total_seconds() for c in changes], dtype=np.float64)
    percents = np.array(
        [[float(c.percents.get(n, 0)) for n in names] for c in changes], dtype=np.float64
    ).reshape(len(changes), len(names))
    tagged = np.array([[n in c.tags for n in names] for c in changes], dtype=bool).reshape(
        len(changes), len(names)
    )
    return TrafficTimeline(change_s, percents, tagged)


def split_by_revision(
    times: np.ndarray, timeline: TrafficTimeline, rng: np.random.Generator
) -> np.ndarray:
    """Revision index (into the service's revisions) of every arrival, by traffic percent."""
    u = rng.random(len(times), dtype=np.float32) * np.float32(100.0)
    out = np.full(len(times), -1, dtype=np.int16)
    bounds = np.searchsorted(times, timeline.change_s, side="left")
    bounds = np.concatenate([bounds, [len(times)]])
    for c in range(len(timeline.change_s)):
        lo = 0 if c == 0 else int(bounds[c])
        hi = int(bounds[c + 1])
        if hi <= lo:
            continue
        cum = np.cumsum(timeline.percents[c])
        idx = np.searchsorted(cum, u[lo:hi], side="right")
        out[lo:hi] = np.minimum(idx, len(cum) - 1)
    return out


def service_arrivals(
    svc: ServiceSpec, start: datetime, minutes: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(minute rates, sorted arrival times, revision index per arrival) for one service."""
    key = (svc.region, svc.name)
    rates = minute_rates(svc.shape, start, minutes, rng_for(seed, *key, "rates"))
    times = arrival_times(rates, rng_for(seed, *key, "arrivals"))
    rev = split_by_revision(times, traffic_timeline(svc, start), rng_for(seed, *key, "split"))
    return rates, times, rev
