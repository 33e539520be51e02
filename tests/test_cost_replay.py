"""Replay on hand-made traffic, compared with hand or numpy computations."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from costmodel.replay import Grid, Params, poisson_excess, replay, sliding_max
from costmodel.traffic import Traffic

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def _traffic(rps: np.ndarray | float, latency_s: float, minutes: int = 60, **kw: object) -> Traffic:
    req = np.broadcast_to(np.asarray(rps, dtype=float) * 60.0, (minutes,)).copy()
    return Traffic(start=T0, requests=req, latency_s=np.full(minutes, latency_s), **kw)  # type: ignore[arg-type]


def _grid(**kw: object) -> Grid:
    base: dict[str, object] = {
        "concurrency": 1,
        "min_instances": 0,
        "max_instances": 100,
        "instance_billing": False,
        "cpu": 1.0,
        "memory_gib": 0.5,
    }
    base.update(kw)
    return Grid.of(**base)  # type: ignore[arg-type]


NO_BURST = Params(burst_z=0.0, rounding_uplift_s=0.0, startup_s=0.0)


def test_constant_traffic_littles_law_and_target() -> None:
    # 10 rps x 200 ms = 2 in flight; concurrency 1 at a 60 % target wants ceil(2 / 0.6) = 4.
    tr = _traffic(10.0, 0.2, minutes=60)
    res = replay(
        tr, _grid(instance_billing=[False, True]), NO_BURST, keep_minutes=True, warm_start=True
    )
    assert res.instances is not None
    assert np.all(res.instances == 4)
    assert res.instance_s[0] == pytest.approx(4 * 60 * 60)
    # Request-based: busy instance-seconds = requests x latency (one request per instance).
    assert res.billable_s[0] == pytest.approx(10 * 3600 * 0.2)
    # Instance-based: whole lives.
    assert res.billable_s[1] == pytest.approx(4 * 3600)
    assert res.cold_starts[0] == 0  # warm start, flat demand
    assert res.served[0] == pytest.approx(36_000)
    assert res.rejected[0] == 0


def test_burstiness_adds_instances() -> None:
    tr = _traffic(10.0, 0.2)
    z = 2.0
    res = replay(tr, _grid(), Params(burst_z=z), keep_minutes=True)
    assert res.instances is not None
    assert res.instances[0, -1] == math.ceil(2 + z * math.sqrt(2))  # 4.83 -> 5 > 4


def test_concurrency_spreads_requests() -> None:
    # Concurrency 10 at 60 %: 2 in flight -> ceil(2 / 6) = 1 instance, busy 1 - exp(-2).
    tr = _traffic(10.0, 0.2)
    res = replay(tr, _grid(concurrency=10), NO_BURST, warm_start=True)
    assert res.instance_s[0] == pytest.approx(3600)
    assert res.billable_s[0] == pytest.approx(3600 * (1 - math.exp(-2.0)))


def test_rounding_uplift_per_busy_period() -> None:
    tr = _traffic(1.0, 0.23)
    res = replay(
        tr, _grid(), Params(burst_z=0, rounding_uplift_s=0.07, startup_s=0), warm_start=True
    )
    assert res.billable_s[0] == pytest.approx(3600 * (0.23 + 0.07))


def test_idle_retention_and_cold_start_from_zero() -> None:
    # One busy minute, then nothing: the instances stay R minutes, then scale to zero.
    minutes = 60
    rps = np.zeros(minutes)
    rps[10] = 10.0
    tr = _traffic(rps, 0.2, minutes)
    params = Params(
        burst_z=0, retention_lo_min=7, retention_hi_min=7, startup_s=2.0, rounding_uplift_s=0
    )
    res = replay(tr, _grid(instance_billing=[False, True]), params, keep_minutes=True)
    assert res.instances is not None
    want = np.zeros(minutes)
    want[10 : 10 + 7 + 1] = 4
    np.testing.assert_array_equal(res.instances[0], want)
    assert res.cold_starts[0] == 4
    # From zero, every request arriving during the 2 s startup waits (plus the first one).
    assert res.requests_meeting_cold_start[0] == pytest.approx(1 + 10 * 2.0)
    # Request-based bills busy time and startups; instance-based the whole 8 minutes x 4.
    assert res.billable_s[0] == pytest.approx(600 * 0.2 + 4 * 2.0)
    assert res.billable_s[1] == pytest.approx(4 * 8 * 60)


def test_min_instances_floor_and_idle_min_time() -> None:
    tr = _traffic(0.0, 0.2, minutes=120)
    res = replay(tr, _grid(min_instances=[0, 2], instance_billing=False), NO_BURST, warm_start=True)
    assert res.instance_s.tolist() == [0.0, 2 * 120 * 60]
    assert res.idle_min_s.tolist() == [0.0, 2 * 120 * 60]
    assert res.billable_s.tolist() == [0.0, 0.0]


def test_more_min_instances_cost_more_and_start_less() -> None:
    rng = np.random.default_rng(7)
    minutes = 24 * 60
    rps = rng.gamma(0.3, 2.0, minutes) * (rng.random(minutes) < 0.3)
    tr = _traffic(rps, 0.4, minutes)
    mins = np.arange(0, 5)
    for billing in (False, True):
        res = replay(
            tr, _grid(min_instances=mins, instance_billing=billing), Params(), warm_start=True
        )
        cost = res.active_vcpu_s * 0.000024 + res.idle_vcpu_s * 0.0000025
        assert np.all(np.diff(cost) > 0), billing
        assert np.all(np.diff(res.instance_s) > 0)
        assert np.all(np.diff(res.cold_starts) <= 0)
        assert res.cold_starts[0] > res.cold_starts[-1]


def test_rejections_above_max_instances_match_exact_poisson() -> None:
    # 100 rps x 1 s = 100 in flight; max 2 instances x concurrency 10 hold 20.
    tr = _traffic(100.0, 1.0, minutes=10)
    res = replay(tr, _grid(concurrency=10, max_instances=2), NO_BURST, warm_start=True)
    k = np.arange(0, 400)
    log_pmf = -100 + k * math.log(100) - np.array([math.lgamma(i + 1) for i in k])
    exact = float(np.sum(np.exp(log_pmf) * np.maximum(k - 20, 0)))  # E[(N - 20)+]
    assert res.rejected[0] == pytest.approx(6000 * 10 * exact / 100, rel=0.02)
    assert res.served[0] + res.rejected[0] == pytest.approx(60_000)
    assert res.peak_instances[0] == 2


def test_poisson_excess_against_exact_sum() -> None:
    k = np.arange(0, 200)
    for mu, cap in ((5.0, 3.0), (30.0, 40.0), (50.0, 45.0), (12.0, 12.0)):
        log_pmf = -mu + k * math.log(mu) - np.array([math.lgamma(i + 1) for i in k])
        exact = float(np.sum(np.exp(log_pmf) * np.maximum(k - cap, 0)))
        got = float(poisson_excess(np.array([mu]), np.array([cap]))[0])
        assert got == pytest.approx(exact, abs=0.05 * math.sqrt(mu) + 0.02)


def test_sliding_max_matches_a_loop() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 9, size=(3, 200)).astype(float)
    for w in (1, 2, 5, 16):
        want = np.array([[row[max(0, i - w + 1) : i + 1].max() for i in range(200)] for row in x])
        np.testing.assert_array_equal(sliding_max(x, w), want)


def test_grid_results_match_one_by_one() -> None:
    rng = np.random.default_rng(11)
    minutes = 600
    tr = _traffic(rng.gamma(1.0, 3.0, minutes), 0.3, minutes)
    grid = _grid(
        concurrency=[1, 1, 4, 4, 80, 80],
        min_instances=[0, 2, 0, 1, 0, 3],
        instance_billing=[False, True, False, True, True, False],
    )
    together = replay(tr, grid, Params())
    for i in range(len(grid)):
        one = replay(
            tr,
            _grid(
                concurrency=grid.concurrency[i],
                min_instances=grid.min_instances[i],
                instance_billing=grid.instance_billing[i],
            ),
            Params(),
        )
        assert one.billable_s[0] == pytest.approx(together.billable_s[i])
        assert one.cold_starts[0] == pytest.approx(together.cold_starts[i])
