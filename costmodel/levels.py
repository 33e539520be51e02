"""The instance stack, level by level: per-minute probabilities that each level is needed, and
from them the expected starts and life of each level's instance under a random idle retention.

The autoscaler keeps a stack of instances: level k (the k-th instance) is needed while the
wanted count is at least k. A level is needed for a whole minute when the minute's mean load
asks for it (the utilization target, deterministic); above that, it is needed when the requests
in flight AT ONCE reach ``(k - 1) * C + 1`` at some moment of the minute, since every request
needs a free slot. In-flight requests are Poisson with mean ``mu`` (Little's law, M/G/inf), and
arrivals are Poisson, so the level is reached about ``60 * lam * P(N = x - 1)`` times a minute
(an arrival that finds ``x - 1`` in flight). Those crossings come in clusters (once there, the
count hovers), so their rate is multiplied by a calibrated ``peak_scale`` before turning it into
the probability ``1 - exp(-rate)`` that the level is needed at least once in the minute.

Minutes are taken as independent given their load. With a retention of ``r`` whole minutes a
level's instance starts in minute t when the level is needed in t and was not in the ``r``
minutes before, and is alive when it was needed in t or in the ``r`` minutes before:

    start(t) = p(t) E_r[ prod_{j=1..r} (1 - p(t - j)) ]
    alive(t) = 1 - (1 - p(t)) E_r[ prod_{j=1..r} (1 - p(t - j)) ]

Products over a sliding window are differences of running sums of ``log(1 - p)``, so the cost
is a few array operations per retention point, whatever the window. Deterministic levels
(p = 0 or 1) reduce to the usual sliding maximum of the wanted count.
"""

from __future__ import annotations

import math

import numpy as np

LOG_FLOOR = -40.0  # log(1 - p) is floored here (p = 1 is exp(-40) away from certainty)
P_NEGLIGIBLE = 1e-6  # a level needed with at most this probability in every minute is dropped


def log_factorials(n: int) -> np.ndarray:
    """``log(k!)`` for k = 0..n."""
    out = np.zeros(n + 1)
    if n > 0:
        out[1:] = np.cumsum(np.log(np.arange(1, n + 1, dtype=float)))
    return out


def need_probability(
    wanted: np.ndarray, mu: np.ndarray, lam: np.ndarray, concurrency: int, peak_scale: float
) -> np.ndarray:
    """(levels, T): probability that level k (row k - 1) is needed in each minute.

    ``wanted``: instances the minute's mean load asks for (target and CPU, at least 1 with any
    demand); ``mu``: mean requests in flight; ``lam``: arrivals per second.
    """
    c = max(int(concurrency), 1)
    mu_max = float(mu.max(initial=0.0))
    det_levels = int(wanted.max(initial=0.0))
    # Highest in-flight count worth looking at: far in the Poisson tail of the busiest minute.
    x_top = mu_max + 8.0 * math.sqrt(mu_max) + 8.0 if mu_max > 0 and peak_scale > 0 else 0.0
    peak_levels = int((x_top - 1.0) // c) + 1 if x_top >= 1.0 + c else 0
    n_levels = max(det_levels, peak_levels, 0)
    if n_levels == 0:
        return np.zeros((0, len(mu)))
    k = np.arange(1, n_levels + 1, dtype=float)[:, None]
    # The target is a trailing one-minute mean: a level it asks for stays needed into the
    # next minute.
    held = np.maximum(wanted, np.concatenate([wanted[:1], wanted[:-1]]))
    p = (k <= held[None, :]).astype(float)
    if peak_levels >= 2:
        ks = np.arange(2, peak_levels + 1)
        x = (ks - 1) * c + 1  # in flight that needs level k
        lf = log_factorials(int(x.max()))
        active = mu > 0
        m = mu[active]
        log_m = np.log(m)
        # P(N = x - 1) for N ~ Poisson(m)
        log_pmf = (x[:, None] - 1) * log_m[None, :] - m[None, :] - lf[x - 1][:, None]
        rate = peak_scale * 60.0 * lam[active][None, :] * np.exp(log_pmf)
        prob = -np.expm1(-rate)
        # At or below the mean the level is in use most of the time.
        prob = np.where(x[:, None] - 1 <= m[None, :], 1.0, prob)
        rows = ks - 1
        sub = p[rows][:, active]
        p[np.ix_(rows, np.flatnonzero(active))] = np.maximum(sub, prob)
    keep = p.max(axis=1) > P_NEGLIGIBLE
    last = int(np.flatnonzero(keep).max()) + 1 if keep.any() else 0
    return np.asarray(p[:last])


def retention_weights(lo: float, hi: float, points: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(whole-minute retentions r, weights, extra minutes per life) for R uniform on [lo, hi].

    ``r`` is floor(R) at the distribution's quantile midpoints: a level restarts when its idle
    gap (about a whole number g of minutes between needs in minutes t - g and t) exceeds R,
    that is when r < g. A minute-resolution life counts ``r + 1`` minutes after a brief need
    where the true life is R: the last return value (E[r] + 1 - E[R]) is removed per start.
    """
    if hi - lo < 1e-9 or points <= 1:
        rs = np.array([math.floor((lo + hi) / 2.0)])
        ws = np.array([1.0])
    else:
        q = (np.arange(points) + 0.5) / points
        rs_all = np.floor(lo + (hi - lo) * q).astype(int)
        uniq, counts = np.unique(rs_all, return_counts=True)
        rs, ws = uniq, counts / float(points)
    extra = float(np.dot(rs, ws)) + 1.0 - (lo + hi) / 2.0
    return rs.astype(int), ws.astype(float), max(extra, 0.0)


def starts_and_alive(
    p: np.ndarray, rs: np.ndarray, ws: np.ndarray, warm_start: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(expected starts, probability alive), both (levels, T), for need probabilities ``p``.

    ``warm_start``: before minute 0 each level was needed as in minute 0 (its instance is
    already up); otherwise nothing ran before the window.
    """
    n_levels, t_len = p.shape
    r_max = int(rs.max(initial=0))
    pad = np.repeat(p[:, :1], r_max, axis=1) if warm_start else np.zeros((n_levels, r_max))
    none_p = 1.0 - np.concatenate([pad, p], axis=1)
    log_q = np.log(np.maximum(none_p, math.exp(LOG_FLOOR)))
    run = np.zeros((n_levels, r_max + t_len + 1))
    np.cumsum(log_q, axis=1, out=run[:, 1:])
    # sum of log(1 - p) over minutes t - r .. t - 1 = run[t + r_max] - run[t + r_max - r]
    end = run[:, r_max : r_max + t_len]
    none_before = np.zeros((n_levels, t_len))
    term = np.empty((n_levels, t_len))
    for r, w in zip(rs.tolist(), ws.tolist(), strict=True):
        np.subtract(end, run[:, r_max - r : r_max - r + t_len], out=term)
        np.exp(term, out=term)
        term *= w
        none_before += term
    none_before[none_before < 1e-12] = 0.0  # certainly needed before (floored logs)
    starts = p * none_before
    alive = 1.0 - (none_before - starts)
    return starts, alive
