"""Replay on hand-made traffic, compared with hand or numpy computations."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from costmodel.instance_stack import need_probability, retention_weights, starts_and_alive
from costmodel.replay import Grid, Params, replay
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


NO_BURST = Params(peak_scale=0.0, rounding_uplift_s=0.0, startup_s=0.0)


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


def test_concurrency_spreads_requests() -> None:
    # Concurrency 10 at 60 %: 2 in flight -> ceil(2 / 6) = 1 instance, busy 1 - exp(-2).
    tr = _traffic(10.0, 0.2)
    res = replay(tr, _grid(concurrency=10), NO_BURST, warm_start=True)
    assert res.instance_s[0] == pytest.approx(3600)
    assert res.billable_s[0] == pytest.approx(3600 * (1 - math.exp(-2.0)))


def test_rounding_uplift_per_busy_period() -> None:
    tr = _traffic(1.0, 0.23)
    res = replay(
        tr, _grid(), Params(peak_scale=0, rounding_uplift_s=0.07, startup_s=0), warm_start=True
    )
    assert res.billable_s[0] == pytest.approx(3600 * (0.23 + 0.07))


def test_idle_retention_and_cold_start_from_zero() -> None:
    # One busy minute, then nothing. The target is a trailing one-minute mean, so the 4
    # instances are needed in minutes 10 and 11; kept R = 7 minutes more, they are alive in
    # minutes 10..18 at minute resolution. A brief need starts mid-minute and the true life is
    # R after it, so one whole minute per start is removed from the lives: 4 x 8 minutes.
    minutes = 60
    rps = np.zeros(minutes)
    rps[10] = 10.0
    tr = _traffic(rps, 0.2, minutes)
    params = Params(
        peak_scale=0, retention_lo_min=7, retention_hi_min=7, startup_s=2.0, rounding_uplift_s=0
    )
    res = replay(tr, _grid(instance_billing=[False, True]), params, keep_minutes=True)
    assert res.instances is not None
    want = np.zeros(minutes)
    want[10 : 11 + 7 + 1] = 4
    np.testing.assert_allclose(res.instances[0], want, atol=1e-12)
    assert res.cold_starts[0] == pytest.approx(4)
    # From zero, every request arriving during the 2 s startup waits (plus the first one).
    assert res.requests_meeting_cold_start[0] == pytest.approx(1 + 10 * 2.0)
    # Request-based bills busy time and startups; instance-based the lives.
    assert res.billable_s[0] == pytest.approx(600 * 0.2 + 4 * 2.0)
    assert res.billable_s[1] == pytest.approx(4 * 8 * 60)


def test_deployment_start_in_first_minute_is_a_cold_start() -> None:
    # A startup observed in minute 0 with no traffic: Cloud Run started an instance to check
    # the new revision. Under min 0 that is one cold start; warm otherwise.
    minutes = 120
    rps = np.zeros(minutes)
    rps[60:] = 1.0
    starts = np.zeros(minutes)
    starts[0] = 1
    inst = np.zeros(minutes)
    inst[0] = 1
    tr = _traffic(rps, 0.1, minutes, starts=starts, instances=inst)
    params = Params(peak_scale=0, retention_lo_min=5, retention_hi_min=5)
    res = replay(tr, _grid(), params)
    assert res.cold_starts[0] == pytest.approx(2)  # deployment + traffic after 59 idle minutes
    tr_warm = _traffic(rps, 0.1, minutes, instances=inst)
    assert replay(tr_warm, _grid(), params).cold_starts[0] == pytest.approx(1)


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


def test_rejections_above_max_instances_are_the_demand_beyond_the_slots() -> None:
    # 100 rps x 1 s = 100 in flight; max 2 instances x concurrency 10 hold 20: requests wait out
    # short bursts, so the minute's demand beyond 20 in flight (80 %) is refused with 429.
    tr = _traffic(100.0, 1.0, minutes=10)
    res = replay(tr, _grid(concurrency=10, max_instances=2), NO_BURST, warm_start=True)
    assert res.rejected[0] == pytest.approx(60_000 * (1 - 20 / 100), rel=1e-9)
    assert res.served[0] + res.rejected[0] == pytest.approx(60_000)
    assert res.peak_instances[0] == 2
    # with slots for every request in flight on average, none is refused
    roomy = replay(tr, _grid(concurrency=10, max_instances=10), NO_BURST, warm_start=True)
    assert roomy.rejected[0] == 0


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


@pytest.mark.parametrize("peak_scale", [0.0, 0.3])
def test_shared_work_matches_each_setting_replayed_alone(peak_scale: float) -> None:
    # CPU-bound at 1 vCPU (the same mean-load curve at every concurrency, 1 included).
    # With and without within-minute peaks (levels above 1 depend on concurrency only up to
    # some concurrency), cpu-limited curves shared across concurrencies (1 and above), and
    # rejections under small max instances, min above max, maxes above every level reached
    # (they share one result): every field, per minute too, equals
    # the setting replayed on its own (no work shared with other settings).
    rng = np.random.default_rng(7)
    minutes = 900
    rps = rng.gamma(0.8, 12.0, minutes) * (1 + np.sin(np.arange(minutes) / 90.0))
    tr = _traffic(rps, 0.25, minutes, cpu_s_per_request=0.3)
    conc, mins, maxs, cpu = np.meshgrid(
        [1, 2, 8, 80, 1000], [0, 2], [1, 3, 50, 100, 200], [1.0, 4.0], indexing="ij"
    )
    grid = _grid(
        concurrency=conc.ravel(),
        min_instances=mins.ravel(),
        max_instances=maxs.ravel(),
        instance_billing=np.arange(conc.size) % 2 == 0,
        cpu=cpu.ravel(),
    )
    params = Params(peak_scale=peak_scale, startup_s=1.5)
    together = replay(tr, grid, params, keep_minutes=True)
    assert together.instances is not None
    fields = [
        "served",
        "rejected",
        "cold_starts",
        "requests_meeting_cold_start",
        "instance_s",
        "billable_s",
        "idle_min_s",
        "busy_s",
        "active_vcpu_s",
        "idle_gib_s",
        "peak_instances",
    ]
    assert together.rejected.max() > 0
    for i in range(len(grid)):
        one = replay(
            tr,
            _grid(
                concurrency=grid.concurrency[i],
                min_instances=grid.min_instances[i],
                max_instances=grid.max_instances[i],
                instance_billing=grid.instance_billing[i],
                cpu=grid.cpu[i],
            ),
            params,
            keep_minutes=True,
        )
        assert one.instances is not None
        for name in fields:
            got, want = getattr(together, name)[i], getattr(one, name)[0]
            assert got == pytest.approx(want, rel=1e-12, abs=1e-9), (name, i)
        np.testing.assert_allclose(together.instances[i], one.instances[0], rtol=1e-12)


def test_upcrossing_rate_matches_a_simulated_queue() -> None:
    # The peak model's basis: arrivals that find x - 1 requests in flight (and so push the
    # count to x) happen 60 lam P(N = x - 1) times a minute, N ~ Poisson(lam L). Simulated here
    # with Poisson arrivals and a fixed latency; then the level's need probability at
    # peak_scale 1 is 1 - exp(-that rate).
    rng = np.random.default_rng(21)
    lam, lat, minutes = 10.0, 0.2, 3000
    arrivals = np.cumsum(rng.exponential(1 / lam, int(lam * 60 * minutes * 1.05)))
    arrivals = arrivals[arrivals < minutes * 60.0]
    ends = arrivals + lat
    # in flight just before each arrival: earlier arrivals whose end is still ahead
    before = np.arange(len(arrivals)) - np.searchsorted(ends, arrivals, side="right")
    mu = lam * lat
    for x in (3, 5, 7):
        pmf = math.exp(-mu + (x - 1) * math.log(mu) - math.lgamma(x))
        rate = 60 * lam * pmf
        seen = float(np.sum(before == x - 1)) / minutes
        assert seen == pytest.approx(rate, rel=0.08)
        p = need_probability(np.ones(1), np.array([mu]), np.array([lam]), 1, 1.0)
        assert p[x - 1, 0] == pytest.approx(1 - math.exp(-rate), rel=1e-9)
    # at or below the mean in flight a level is needed; level 1 whenever there is traffic
    p = need_probability(np.ones(1), np.array([5.0]), np.array([25.0]), 2, 0.3)
    assert p[0, 0] == 1.0
    assert p[2, 0] == 1.0  # level 3: 5 in flight at once


def _loop_starts_alive(need: np.ndarray, r: int) -> tuple[int, int]:
    """Starts and alive minutes of one level with a fixed retention, by a plain loop."""
    starts = alive = 0
    last = -(10**9)
    for t, on in enumerate(need):
        if on:
            if t - last > r:
                starts += 1
            last = t
        alive += int(t - last <= r)
    return starts, alive


def test_starts_and_alive_match_sampled_need_patterns() -> None:
    # Independent minutes needed with probability p(t): the closed form's expected starts and
    # alive minutes against the average over sampled patterns (looped by hand).
    rng = np.random.default_rng(4)
    t_len, r = 240, 5
    p = np.clip(rng.beta(0.3, 1.5, t_len) * (rng.random(t_len) < 0.6), 0, 1)
    p[50:60] = 1.0
    starts, alive = starts_and_alive(p[None, :], np.array([r]), np.array([1.0]), False)
    draws = rng.random((4000, t_len)) < p[None, :]
    looped = np.array([_loop_starts_alive(row, r) for row in draws], dtype=float)
    s_sd = looped[:, 0].std() / math.sqrt(len(draws))
    a_sd = looped[:, 1].std() / math.sqrt(len(draws))
    assert starts.sum() == pytest.approx(looped[:, 0].mean(), abs=4 * s_sd)
    assert alive.sum() == pytest.approx(looped[:, 1].mean(), abs=4 * a_sd)
    # deterministic needs: exactly the loop
    need = (rng.random(300) < 0.1).astype(float)
    for r in (1, 3, 9):
        s1, a1 = starts_and_alive(need[None, :], np.array([r]), np.array([1.0]), False)
        assert (s1.sum(), a1.sum()) == pytest.approx(_loop_starts_alive(need > 0, r))


def test_retention_weights_for_a_uniform_retention() -> None:
    rs, ws, overshoot = retention_weights(1.0, 15.0, 14)
    # floor(R) for R uniform on [1, 15] is uniform on 1..14
    assert rs.tolist() == list(range(1, 15))
    np.testing.assert_allclose(ws, np.full(14, 1 / 14))
    assert overshoot == pytest.approx(7.5 + 1 - 8.0)
    rs, ws, overshoot = retention_weights(7.0, 7.0, 4)
    assert rs.tolist() == [7]
    assert overshoot == pytest.approx(1.0)


def test_sparse_spikes_restart_a_level_that_the_mean_never_asks_for() -> None:
    # Concurrency 1, 0.5 in flight on average: the mean wants 1 instance, but spikes of 2 at
    # once need a second one, restarted after each idle spell longer than the retention.
    minutes = 600
    tr = _traffic(2.5, 0.2, minutes)
    flat = replay(tr, _grid(), Params(peak_scale=0.0), warm_start=True)
    spiky = replay(tr, _grid(), Params(peak_scale=1.0), warm_start=True)
    assert flat.cold_starts[0] == pytest.approx(0, abs=1e-9)
    assert spiky.cold_starts[0] > 0
    assert spiky.instance_s[0] > flat.instance_s[0]
    capped = replay(tr, _grid(max_instances=1), Params(peak_scale=1.0), warm_start=True)
    # no second level under max instances 1
    assert capped.cold_starts[0] == pytest.approx(0, abs=1e-9)
