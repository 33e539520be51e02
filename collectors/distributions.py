"""Percentiles, max and count from Cloud Monitoring distribution buckets (pure numpy).

Bucket numbering (google/api/distribution.proto): with N finite buckets there are N + 2
buckets; bucket 0 is the underflow (-inf, b0), bucket i (1..N) is [b(i-1), b(i)), bucket N + 1
is the overflow [bN, +inf). The finite bounds come from one of three layouts:

- linear:      b(i) = offset + width * i                 (i = 0..N)
- exponential: b(i) = scale * growth_factor ** i         (i = 0..N)
- explicit:    the listed bounds

A percentile q of a distribution with ``count`` samples is found by rank: the first bucket whose
cumulative count reaches ``q/100 * count``, then linear interpolation inside that bucket by the
fraction of the bucket's samples needed. A rank landing in the underflow bucket (-inf, b0) or
the overflow bucket [bN, +inf) is not interpolated: the percentile is only known to be below b0
or at least bN, so it is given as that bound with ``edge`` -1 or +1 (``percentiles_with_edges``;
the pages show "< b0" / "> bN"). Elsewhere the result is within the bucket holding the true
sample of that rank, i.e. within one bucket width of any other in-bucket estimate (such as
Monitoring's percentile aligners). ``count == 0`` gives NaN (no samples is not
a latency of zero). ``bucket_counts`` shorter than the layout's bucket count is padded with
zeros (the proto allows trailing zero counts to be omitted).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

PERCENTILES: dict[str, float] = {"p50": 50.0, "p95": 95.0, "p99": 99.0, "max": 100.0}


def finite_bounds(options: Any) -> np.ndarray:
    """Finite bucket bounds of a BucketOptions message (raw protobuf or proto-plus)."""
    pb = getattr(type(options), "pb", None)
    msg = type(options).pb(options) if callable(pb) and hasattr(type(options), "wrap") else options
    which = msg.WhichOneof("options")
    if which == "linear_buckets":
        lin = msg.linear_buckets
        return float(lin.offset) + float(lin.width) * np.arange(lin.num_finite_buckets + 1)
    if which == "exponential_buckets":
        exp = msg.exponential_buckets
        return float(exp.scale) * float(exp.growth_factor) ** np.arange(exp.num_finite_buckets + 1)
    if which == "explicit_buckets":
        return np.asarray(list(msg.explicit_buckets.bounds), dtype=float)
    raise ValueError("distribution has no bucket options: percentiles cannot be computed")


def edges(bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edge of every bucket (underflow from min(0, b0), overflow degenerate)."""
    b = np.asarray(bounds, dtype=float)
    if b.size == 0:
        raise ValueError("a bucket layout needs at least one finite bound")
    if np.any(np.diff(b) <= 0):
        raise ValueError("bucket bounds must be strictly increasing")
    lower = np.concatenate(([min(0.0, b[0])], b))
    upper = np.concatenate((b, [b[-1]]))
    return lower, upper


def pad_counts(rows: Sequence[Sequence[int]], num_buckets: int) -> np.ndarray:
    """An int64 (len(rows), num_buckets) matrix; short rows padded with zeros."""
    lengths = np.fromiter((len(row) for row in rows), np.int64, len(rows))
    if lengths.size and np.all(lengths == num_buckets):  # the usual case: one C-level pass
        flat = np.fromiter(itertools.chain.from_iterable(rows), np.int64, int(lengths.sum()))
        return flat.reshape(len(rows), num_buckets)
    out = np.zeros((len(rows), num_buckets), dtype=np.int64)
    for i, row in enumerate(rows):
        n = min(len(row), num_buckets)
        if len(row) > num_buckets and any(row[num_buckets:]):
            raise ValueError("more bucket counts than the bucket layout has buckets")
        out[i, :n] = row[:n]
    return out


def percentiles(bounds: np.ndarray, counts: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Percentiles ``qs`` (0 < q <= 100) of each row of ``counts``: shape (rows, len(qs)).

    Rows with no samples give NaN; a rank in an edge bucket gives that bucket's finite bound.
    """
    return percentiles_with_edges(bounds, counts, qs)[0]


def percentiles_with_edges(
    bounds: np.ndarray, counts: np.ndarray, qs: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """``percentiles`` and, of the same shape, where each fell: -1 in the underflow bucket (the
    value is b0: the percentile is below it), +1 in the overflow bucket (the value is bN: the
    percentile is at least that), 0 inside the finite buckets (int8)."""
    lower, upper = edges(bounds)
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] != lower.size:
        raise ValueError(f"counts must have shape (rows, {lower.size}), got {c.shape}")
    if np.any(c < 0):
        raise ValueError("bucket counts cannot be negative")
    cum = np.cumsum(c, axis=1)
    total = cum[:, -1]
    out = np.full((c.shape[0], len(qs)), np.nan)
    edge = np.zeros((c.shape[0], len(qs)), dtype=np.int8)
    rows = np.nonzero(total > 0)[0]
    if rows.size == 0:
        return out, edge
    last = c.shape[1] - 1
    cum_r, c_r, total_r = cum[rows], c[rows], total[rows]
    for j, q in enumerate(qs):
        if not 0.0 < q <= 100.0:
            raise ValueError(f"percentile {q} is outside (0, 100]")
        target = total_r * (q / 100.0)
        # first bucket whose cumulative count reaches the target rank (a non-empty bucket)
        idx = np.minimum(
            (cum_r < target[:, None] - 1e-9 * total_r[:, None]).sum(axis=1), c.shape[1] - 1
        )
        take = np.arange(rows.size)
        in_bucket = c_r[take, idx]
        before = cum_r[take, idx] - in_bucket
        frac = np.clip((target - before) / np.where(in_bucket > 0, in_bucket, 1.0), 0.0, 1.0)
        value = lower[idx] + (upper[idx] - lower[idx]) * frac
        # an edge bucket has one finite side: the percentile is only known to lie beyond it
        value = np.where(idx == 0, upper[0], value)
        out[rows, j] = value
        edge[rows, j] = np.where(idx == 0, -1, np.where(idx == last, 1, 0))
    return out, edge


def bucket_width_at(bounds: np.ndarray, value: float) -> float:
    """Width of the finite bucket holding ``value`` (the edge buckets use their neighbours')."""
    lower, upper = edges(bounds)
    i = int(np.searchsorted(np.asarray(bounds, dtype=float), value, side="right"))
    i = min(max(i, 1), lower.size - 2)
    return float(upper[i] - lower[i])
