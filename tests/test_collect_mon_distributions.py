"""Percentiles from distribution buckets: layouts, interpolation, empty buckets, zero counts.

Reference values are either worked by hand (documented inline) or computed with numpy from the
raw samples the buckets were filled with: the estimate must lie within the width of the bucket
holding the true sample of that rank.
"""

from __future__ import annotations

import numpy as np
import pytest
from google.api import distribution_pb2
from google.cloud import monitoring_v3
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors import distributions as dist

BucketOptions = distribution_pb2.Distribution.BucketOptions


def linear(n: int, width: float, offset: float) -> BucketOptions:
    return BucketOptions(
        linear_buckets=BucketOptions.Linear(num_finite_buckets=n, width=width, offset=offset)
    )


def exponential(n: int, growth: float, scale: float) -> BucketOptions:
    return BucketOptions(
        exponential_buckets=BucketOptions.Exponential(
            num_finite_buckets=n, growth_factor=growth, scale=scale
        )
    )


def explicit(bounds: list[float]) -> BucketOptions:
    return BucketOptions(explicit_buckets=BucketOptions.Explicit(bounds=bounds))


def test_bounds_of_each_layout() -> None:
    np.testing.assert_allclose(dist.finite_bounds(linear(3, 10, 5)), [5, 15, 25, 35])
    np.testing.assert_allclose(dist.finite_bounds(exponential(3, 2, 1.5)), [1.5, 3, 6, 12])
    np.testing.assert_allclose(dist.finite_bounds(explicit([0, 1, 10, 100])), [0, 1, 10, 100])
    with pytest.raises(ValueError, match="no bucket options"):
        dist.finite_bounds(BucketOptions())


def test_bounds_from_a_proto_plus_distribution() -> None:
    point = monitoring_v3.TypedValue(
        distribution_value={
            "count": 1,
            "bucket_options": {
                "exponential_buckets": {"num_finite_buckets": 2, "growth_factor": 10, "scale": 1}
            },
            "bucket_counts": [0, 1],
        }
    )
    np.testing.assert_allclose(
        dist.finite_bounds(point.distribution_value.bucket_options), [1, 10, 100]
    )


def test_hand_worked_linear_example() -> None:
    # bounds 0,10,20,30: buckets (<0) [0,10) [10,20) [20,30) (>=30); 4 samples in [0,10), 4 in
    # [20,30). p50: rank 4 -> end of bucket 1 -> 10. p99: rank 7.92 -> bucket 3, 3.92 of 4
    # samples -> 20 + 10 * 0.98 = 29.8. max: top of the last non-empty bucket -> 30.
    bounds = dist.finite_bounds(linear(3, 10, 0))
    got = dist.percentiles(bounds, np.array([[0, 4, 0, 4, 0]]), [50, 99, 100])
    np.testing.assert_allclose(got, [[10.0, 29.8, 30.0]])


def test_underflow_and_overflow_buckets() -> None:
    bounds = np.array([1.0, 2.0, 4.0])
    # all in the underflow (-inf, 1): only known to be below 1, never interpolated inside it
    values, edges = dist.percentiles_with_edges(bounds, np.array([[2, 0, 0, 0]]), [50])
    np.testing.assert_allclose(values, [[1.0]])
    np.testing.assert_array_equal(edges, [[-1]])
    # all in the overflow [4, inf): its lower edge, at least that
    values, edges = dist.percentiles_with_edges(bounds, np.array([[0, 0, 0, 3]]), [50])
    np.testing.assert_allclose(values, [[4.0]])
    np.testing.assert_array_equal(edges, [[1]])


def test_zero_count_gives_nan_and_rows_are_independent() -> None:
    bounds = np.array([0.0, 10.0, 20.0])
    got = dist.percentiles(bounds, np.array([[0, 0, 0, 0], [0, 0, 5, 0]]), [50])
    assert np.isnan(got[0, 0])
    assert got[1, 0] == pytest.approx(15.0)


def test_padding_of_short_bucket_counts() -> None:
    m = dist.pad_counts([[1, 2], [0, 0, 0, 3]], 4)
    np.testing.assert_array_equal(m, [[1, 2, 0, 0], [0, 0, 0, 3]])
    with pytest.raises(ValueError, match="more bucket counts"):
        dist.pad_counts([[1, 2, 3, 4, 5]], 4)


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="increasing"):
        dist.percentiles(np.array([1.0, 1.0]), np.array([[1, 1, 1]]), [50])
    with pytest.raises(ValueError, match="shape"):
        dist.percentiles(np.array([1.0, 2.0]), np.array([[1, 1]]), [50])
    with pytest.raises(ValueError, match="outside"):
        dist.percentiles(np.array([1.0, 2.0]), np.array([[1, 1, 1]]), [0])


LAYOUTS = [
    linear(40, 25.0, 0.0),
    exponential(30, 1.4, 1.0),
    explicit([0, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]),
]


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(range(len(LAYOUTS))),
    st.integers(min_value=1, max_value=2000),
    st.floats(min_value=2.0, max_value=6.0),
    st.floats(min_value=0.1, max_value=1.2),
    st.integers(min_value=0, max_value=2**31),
)
def test_percentiles_within_one_bucket_of_numpy_on_the_samples(
    layout: int, n: int, mu: float, sigma: float, seed: int
) -> None:
    bounds = dist.finite_bounds(LAYOUTS[layout])
    rng = np.random.default_rng(seed)
    samples = rng.lognormal(mu, sigma, n)
    samples = samples[(samples >= max(bounds[0], 0.0)) & (samples < bounds[-1])]
    if samples.size == 0:
        return
    # independent bucketing: bucket index = number of bounds <= sample
    idx = np.searchsorted(bounds, samples, side="right")
    counts = np.bincount(idx, minlength=bounds.size + 1)[None, :]
    qs = [50.0, 95.0, 99.0, 100.0]
    got = dist.percentiles(bounds, counts, qs)[0]
    for q, value in zip(qs, got, strict=True):
        truth = float(np.percentile(samples, q, method="inverted_cdf"))
        b = int(np.searchsorted(bounds, truth, side="right"))
        width = bounds[b] - bounds[b - 1]
        assert abs(value - truth) <= width + 1e-9, (q, value, truth, width)
