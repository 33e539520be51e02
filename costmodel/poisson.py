"""Poisson tail sums the replay needs: the expected excess of a Poisson count over a capacity
(requests in flight beyond what max instances hold, refused with 429)."""

from __future__ import annotations

import numpy as np


def _norm_cdf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 for erf (|error| < 1.5e-7), vectorised.
    z = np.abs(x) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = 1.0 - poly * np.exp(-z * z)
    return np.asarray(0.5 * (1.0 + np.sign(x) * erf))


def poisson_excess(mu: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """E[(N - capacity)+] for N ~ Poisson(mu), capacity a whole number.

    Exact for capacity <= 100 and mu <= 300 (E[(N-K)+] = mu P(N >= K) - K P(N >= K+1), the
    cdf summed term by term), otherwise the normal approximation with continuity correction.
    """
    mu, capacity = np.broadcast_arrays(np.asarray(mu, dtype=float), np.asarray(capacity, float))
    sd = np.sqrt(np.maximum(mu, 1e-12))
    d = (capacity + 0.5 - mu) / sd
    pdf = np.exp(-0.5 * d * d) / np.sqrt(2.0 * np.pi)
    out = np.clip((mu - capacity - 0.5) * (1.0 - _norm_cdf(d)) + sd * pdf, 0.0, None)
    small = (capacity <= 100) & (mu <= 300) & (mu > 0)
    if small.any():
        m, k = mu[small], np.round(capacity[small])
        pmf = np.exp(-m)
        cdf_km1 = np.zeros_like(m)  # P(N <= K - 1)
        cdf_k = np.zeros_like(m)  # P(N <= K)
        for j in range(int(k.max()) + 1):
            cdf_km1 += np.where(j <= k - 1, pmf, 0.0)
            cdf_k += np.where(j <= k, pmf, 0.0)
            pmf = pmf * m / (j + 1)
        exact = m * (1.0 - cdf_km1) - k * (1.0 - cdf_k)
        out = out.copy()
        out[small] = np.clip(exact, 0.0, None)
    return np.asarray(out)
