"""The per-minute random draws of fluid.py: Poisson counts per minute, the service time's
lognormal per latency bucket, requests spread over those buckets by stratified sampling, and
the most requests in flight at once in a minute."""

from __future__ import annotations

import numpy as np

from emulator.sim.model import PackedDistributionSeries, RevisionSpec
from emulator.sim.series import LATENCY_LAYOUT, bucket_index
from emulator.sim.util import _erfc, fast_normal, normal_quantiles_table

NORMAL_FROM = 30.0  # a cell with at least this many expected requests: normal approximation


def latency_buckets(rev: RevisionSpec, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probability, mean, mean square) of the service time in ms per LATENCY_LAYOUT bucket:
    lognormal around the median (times ``scale``), clipped at the timeout."""
    ub = LATENCY_LAYOUT.upper_bounds()
    mu = np.log(rev.latency_median_ms * scale)
    sig = max(rev.latency_sigma, 1e-6)
    cap = rev.timeout_s * 1000.0
    edges = np.concatenate([[0.0], np.minimum(ub, cap), [cap]])  # bucket b: [edges[b], edges[b+1])

    def phi(x: np.ndarray) -> np.ndarray:
        return np.asarray(0.5 * _erfc(-x / np.sqrt(2.0)))

    with np.errstate(divide="ignore"):
        le = np.log(edges)

    def partial(k: int) -> np.ndarray:  # E[X^k ; edges[b] <= X < edges[b+1]]
        c = phi((le - mu - k * sig * sig) / sig)
        return np.asarray(np.exp(k * mu + k * k * sig * sig / 2.0) * np.diff(c))

    p, m1, m2 = partial(0), partial(1), partial(2)
    tail = 1.0 - float(phi(np.array([(np.log(cap) - mu) / sig]))[0])  # clipped to the timeout
    at = int(bucket_index(LATENCY_LAYOUT, np.array([cap]))[0])
    p[at] += tail
    m1[at] += tail * cap
    m2[at] += tail * cap * cap
    p = np.clip(p, 0.0, None)
    p /= p.sum()
    safe = np.maximum(p, 1e-300)
    return p, np.where(p > 0, m1 / safe, 0.0), np.where(p > 0, m2 / safe, 0.0)


def minute_counts(lam: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson counts with means ``lam`` (normal approximation from ``NORMAL_FROM`` on)."""
    out = np.zeros(len(lam), dtype=np.int64)
    big = lam >= NORMAL_FROM
    small = ~big & (lam > 0)
    out[small] = rng.poisson(lam[small])
    lb = lam[big]
    out[big] = np.maximum(np.rint(lb + np.sqrt(lb) * fast_normal(rng, len(lb))), 0)
    return out


def stratified_cells(n: np.ndarray, cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """(len(n), len(cdf)) bucket counts of ``n[k]`` requests each: the requests at quantiles
    ``(j + u[k]) / n[k]`` of the distribution (``cdf``: cumulative bucket probabilities, the
    last one 1). Each bucket gets ``n p`` requests on average and every row sums to ``n``."""
    cum = np.floor(n[:, None] * cdf[None, :] + u[:, None]).astype(np.int64)
    cum[:, -1] = n
    np.minimum(cum, n[:, None], out=cum)
    return np.diff(cum, axis=1, prepend=0)


def peak_in_flight(mean: np.ndarray, windows: float, u: np.ndarray) -> np.ndarray:
    """Most requests in flight at once in each minute: the largest of ``windows`` independent
    Poisson(``mean``) draws, drawn by inversion from the uniforms ``u``."""
    q = u ** (1.0 / windows)  # the largest is below k with probability F(k) ** windows
    out = np.zeros(len(mean))
    small = mean <= NORMAL_FROM
    lam = mean[small]
    qs = q[small]
    term = np.exp(-lam)
    cdf = term.copy()
    k = np.zeros(len(lam))
    todo = cdf < qs
    for j in range(1, 200):
        if not todo.any():
            break
        term = term * lam / j
        cdf = cdf + term
        k[todo] = j
        todo &= cdf < qs
    out[small] = k
    big = ~small
    if big.any():
        levels = len(normal_quantiles_table())
        z = normal_quantiles_table()[np.minimum((q[big] * levels).astype(np.int64), levels - 1)]
        out[big] = np.ceil(mean[big] + np.sqrt(mean[big]) * z)
    return out


def packed_latencies(
    n: np.ndarray,
    cdf: np.ndarray,
    lo: int,
    e1: np.ndarray,
    e2: np.ndarray,
    minutes: int,
    rng: np.random.Generator,
) -> PackedDistributionSeries:
    """Latency distributions of the minutes with requests (``n`` per minute)."""
    rows = np.flatnonzero(n > 0)
    cnt = n[rows]
    band = stratified_cells(cnt, cdf, rng.random(len(rows)))
    nf = cnt.astype(np.float64)
    mean = (band @ e1) / nf
    ssd = np.maximum(band @ e2 - nf * mean * mean, 0.0)
    used = np.flatnonzero(band.any(axis=0))
    a, b = (int(used[0]), int(used[-1]) + 1) if len(used) else (0, 0)
    return PackedDistributionSeries(
        layout=LATENCY_LAYOUT,
        minutes=minutes,
        rows=rows.astype(np.int64),
        count=cnt.astype(np.int64),
        mean=mean,
        sum_of_squared_deviation=ssd,
        band_lo=lo + a,
        band=np.ascontiguousarray(band[:, a:b], dtype=np.int32),
    )
