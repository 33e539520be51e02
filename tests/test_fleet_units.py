"""Building blocks of the simulation, each against an independent computation."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from emulator.sim.arrivals import arrival_times, minute_rates
from emulator.sim.fleet import (
    CONCURRENCY_LAYOUT,
    LATENCY_LAYOUT,
    STARTUP_LAYOUT,
    UTILIZATION_LAYOUT,
)
from emulator.sim.model import BucketLayout, TrafficShape
from emulator.sim.series import bucket_index, distributions
from emulator.sim.util import (
    fast_exponential,
    fast_normal,
    hash_uniform,
    interval_integral,
    normal_quantiles,
    poisson_sf,
    sparse_indices,
    trailing_mean,
)
from tests._fleet_helpers import NOW


def test_interval_integral_matches_direct_overlap() -> None:
    rng = np.random.default_rng(3)
    s = rng.uniform(-20, 620, 400)
    e = s + rng.exponential(30, 400)
    got = interval_integral(s, e, 10, 60.0)
    lo = np.arange(10) * 60.0
    direct = np.clip(np.minimum(e[:, None], lo + 60) - np.maximum(s[:, None], lo), 0, None)
    np.testing.assert_allclose(got, direct.sum(axis=0), atol=1e-9)
    srt = np.sort(rng.uniform(0, 100, 50))
    one_s = interval_integral(srt, srt + 0.7, 100, 1.0, in_window=True)
    lo1 = np.arange(100.0)
    direct1 = np.clip(
        np.minimum(srt[:, None] + 0.7, lo1 + 1) - np.maximum(srt[:, None], lo1), 0, None
    )
    np.testing.assert_allclose(one_s, direct1.sum(axis=0), atol=1e-9)


def test_trailing_mean() -> None:
    x = np.arange(10.0) ** 2
    expected = [x[max(0, i - 2) : i + 1].sum() / 3 for i in range(10)]
    np.testing.assert_allclose(trailing_mean(x, 3), expected)


@pytest.mark.parametrize(
    "layout",
    [
        LATENCY_LAYOUT,
        STARTUP_LAYOUT,
        UTILIZATION_LAYOUT,
        CONCURRENCY_LAYOUT,
        BucketLayout("linear", num_finite_buckets=5, width=2.0, offset=-1.0),
    ],
)
def test_bucket_index_matches_the_layout_bounds(layout: BucketLayout) -> None:
    rng = np.random.default_rng(5)
    bounds = layout.upper_bounds()
    values = np.concatenate(
        [
            rng.uniform(bounds[0] - 1, bounds[-1] * 1.2 + 1, 5000),
            np.exp(rng.uniform(-3, np.log(bounds[-1] * 2 + 1), 5000)),
        ]
    )
    got = bucket_index(layout, values)
    expected = np.searchsorted(bounds, values, side="right")  # Monitoring's bucket rule
    # values within float rounding of a bound may land either side
    near = np.isclose(values[:, None], bounds[None, :], rtol=1e-9).any(axis=1)
    np.testing.assert_array_equal(got[~near], expected[~near])
    assert got.min() >= 0
    assert got.max() <= layout.num_buckets - 1


def test_distributions_mean_ssd_buckets_per_minute() -> None:
    rng = np.random.default_rng(9)
    minutes = 4
    minute = rng.integers(0, 3, 300)  # minute 3 stays empty: a gap
    group = rng.integers(0, 2, 300)
    values = rng.lognormal(4, 1, 300)
    out = distributions(LATENCY_LAYOUT, group, 2, minute, values, minutes)
    for g in range(2):
        d = out[g]
        assert d.count[3] == -1
        for m in range(3):
            v = values[(group == g) & (minute == m)]
            assert d.count[m] == len(v)
            assert d.mean[m] == pytest.approx(v.mean())
            assert d.sum_of_squared_deviation[m] == pytest.approx(((v - v.mean()) ** 2).sum())
            hist = np.bincount(
                np.searchsorted(LATENCY_LAYOUT.upper_bounds(), v, side="right"),
                minlength=LATENCY_LAYOUT.num_buckets,
            )
            np.testing.assert_array_equal(d.bucket_counts[m], hist)


def test_poisson_sf_against_direct_sums() -> None:
    def direct(k: int, lam: float) -> float:
        return 1.0 - sum(math.exp(-lam + j * math.log(lam) - math.lgamma(j + 1)) for j in range(k))

    ks = np.array([0, 1, 2, 5, 10, 40, 60])
    lams = np.array([0.3, 0.3, 2.5, 4.0, 9.0, 35.0, 50.0])
    got = poisson_sf(ks, lams)
    for k, lam, g in zip(ks, lams, got, strict=True):
        assert g == pytest.approx(direct(int(k), float(lam)), abs=1e-9)
    big = poisson_sf(np.array([120, 200]), np.array([100.0, 100.0]))
    assert big[0] == pytest.approx(direct(120, 100.0), abs=0.01)
    assert big[1] < 1e-9


def test_normal_draws() -> None:
    q = normal_quantiles(1024)
    nd = NormalDist()
    for k in (0, 10, 511, 800, 1023):
        assert q[k] == pytest.approx(nd.inv_cdf((k + 0.5) / 1024), abs=1e-6)
    z = fast_normal(np.random.default_rng(1), 200_000)
    assert abs(z.mean()) < 0.01
    assert abs(z.std() - 1) < 0.01
    assert np.quantile(z, 0.99) == pytest.approx(nd.inv_cdf(0.99), abs=0.02)
    e = fast_exponential(np.random.default_rng(2), 200_000)
    assert e.min() >= 0
    assert e.mean() == pytest.approx(1.0, abs=0.01)


def test_sparse_indices_rate_and_order() -> None:
    rng = np.random.default_rng(4)
    idx = sparse_indices(rng, 1_000_000, 0.002)
    assert (np.diff(idx) > 0).all()
    assert idx.min() >= 0
    assert idx.max() < 1_000_000
    sd = math.sqrt(1_000_000 * 0.002 * 0.998)
    assert abs(len(idx) - 2000) < 5 * sd
    assert len(sparse_indices(rng, 100, 0.0)) == 0
    assert len(sparse_indices(rng, 100, 1.0)) == 100


def test_arrivals_follow_the_minute_rates() -> None:
    shape = TrafficShape(base_rps=5.0, daily_amplitude=0.8, noise=0.0)
    rates = minute_rates(
        shape, NOW.replace(second=0, microsecond=0), 1440, np.random.default_rng(1)
    )
    hours = (np.arange(1440) + NOW.hour * 60 + NOW.minute) / 60
    np.testing.assert_allclose(
        rates, 5.0 * (1 + 0.8 * np.cos(2 * np.pi * (hours - 15) / 24)), rtol=1e-9
    )  # a Tuesday: no weekend dip
    t = arrival_times(rates, np.random.default_rng(2))
    assert (np.diff(t) >= 0).all()
    assert t.min() >= 0
    assert t.max() < 1440 * 60
    counts = np.bincount((t // 3600).astype(int), minlength=24)
    expected = rates.reshape(24, 60).sum(1) * 60
    z = (counts - expected) / np.sqrt(expected)
    assert np.abs(z).max() < 5
    assert abs(counts.sum() - expected.sum()) < 5 * math.sqrt(expected.sum())


def test_hash_uniform_is_uniform_and_subset_stable() -> None:
    idx = np.arange(200_000)
    u = hash_uniform(idx, np.random.default_rng(8))
    assert u.min() >= 0
    assert u.max() < 1
    hist = np.bincount((u * 10).astype(int), minlength=10)
    assert np.abs(hist - 20_000).max() < 5 * math.sqrt(20_000)
    sub = idx[::7]
    np.testing.assert_array_equal(hash_uniform(sub, np.random.default_rng(8)), u[::7])
    assert not np.array_equal(hash_uniform(sub, np.random.default_rng(9)), u[::7])
