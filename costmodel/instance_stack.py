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

A setting with min instances ``lo`` and max ``hi`` counts levels ``lo + 1 .. hi``: running sums
over levels (``stack_sums``) turn that into a difference of two rows, kept only for the rows
the grid asks for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LOG_FLOOR = -40.0  # log(1 - p) is floored here (p = 1 is exp(-40) away from certainty)
P_NEGLIGIBLE = 1e-6  # a level needed with at most this probability in every minute is dropped


def log_factorials(n: int) -> np.ndarray:
    """``log(k!)`` for k = 0..n."""
    out = np.zeros(n + 1)
    if n > 0:
        out[1:] = np.cumsum(np.log(np.arange(1, n + 1, dtype=float)))
    return out


def peak_level_count(mu_max: float, concurrency: int, peak_scale: float) -> int:
    """Highest stack level that within-minute peaks can reach (0: none above level 1).

    Below 2, ``need_probability`` depends on the mean-load curve only, not on concurrency.
    """
    c = max(int(concurrency), 1)
    # Highest in-flight count worth looking at: far in the Poisson tail of the busiest minute.
    x_top = mu_max + 8.0 * math.sqrt(mu_max) + 8.0 if mu_max > 0 and peak_scale > 0 else 0.0
    return int((x_top - 1.0) // c) + 1 if x_top >= 1.0 + c else 0


def need_probability(
    wanted: np.ndarray, mu: np.ndarray, lam: np.ndarray, concurrency: int, peak_scale: float
) -> np.ndarray:
    """(levels, T): probability that level k (row k - 1) is needed in each minute.

    ``wanted``: instances the minute's mean load asks for (target and CPU, at least 1 with any
    demand); ``mu``: mean requests in flight; ``lam``: arrivals per second.
    """
    c = max(int(concurrency), 1)
    det_levels = int(wanted.max(initial=0.0))
    peak_levels = peak_level_count(float(mu.max(initial=0.0)), c, peak_scale)
    n_levels = max(det_levels, peak_levels, 0)
    if n_levels == 0:
        return np.zeros((0, len(mu)))
    k = np.arange(1, n_levels + 1, dtype=float)[:, None]
    # The target is a trailing one-minute mean: a level it asks for stays needed into the
    # next minute.
    held = np.maximum(wanted, np.concatenate([wanted[:1], wanted[:-1]]))
    p = (k <= held[None, :]).astype(float)
    if peak_levels >= 2:
        x = np.arange(1, peak_levels) * c + 1  # in flight that needs level k = 2 .. peak_levels
        lf = log_factorials(int(x.max()))
        active = np.flatnonzero(mu > 0)
        every = len(active) == len(mu)
        m = mu if every else mu[active]
        # rate = peak_scale * 60 lam P(N = x - 1), N ~ Poisson(m), as one exp of logs:
        # log rate = (x - 1) log m + (log(peak_scale * 60 lam) - m) - log((x - 1)!)
        with np.errstate(divide="ignore"):  # lam = 0: rate 0
            base = np.log(peak_scale * 60.0 * (lam if every else lam[active])) - m
        prob = np.multiply.outer((x - 1).astype(float), np.log(m))
        prob += base
        prob -= lf[x - 1][:, None]
        np.exp(prob, out=prob)
        # probability of at least one crossing: 1 - exp(-rate)
        np.negative(prob, out=prob)
        np.expm1(prob, out=prob)
        np.negative(prob, out=prob)
        # At or below the mean the level is in use most of the time.
        prob[(x - 1)[:, None] <= m[None, :]] = 1.0
        rows = p[1:peak_levels]
        if every:
            np.maximum(rows, prob, out=rows)
        else:
            rows[:, active] = np.maximum(rows[:, active], prob)
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
    if t_len == 0:
        return np.zeros((n_levels, 0)), np.zeros((n_levels, 0))
    r_max = int(rs.max(initial=0))
    # run[:, j] = sum of log(1 - p) over padded minutes 0 .. j - 1 (r_max padding minutes)
    run = np.empty((n_levels, r_max + t_len + 1))
    run[:, 0] = 0.0
    log_q = run[:, 1 + r_max :]
    np.subtract(1.0, p, out=log_q)
    np.maximum(log_q, math.exp(LOG_FLOOR), out=log_q)
    np.log(log_q, out=log_q)
    run[:, 1 : 1 + r_max] = log_q[:, :1] if warm_start else 0.0
    np.cumsum(run[:, 1:], axis=1, out=run[:, 1:])
    # sum of log(1 - p) over minutes t - r .. t - 1 = run[t + r_max] - run[t + r_max - r]
    end = run[:, r_max : r_max + t_len]
    none_before = np.zeros((n_levels, t_len))
    term = np.empty((n_levels, t_len))
    same = bool(np.all(ws == ws[0])) if len(ws) else True
    for r, w in zip(rs.tolist(), ws.tolist(), strict=True):
        np.subtract(end, run[:, r_max - r : r_max - r + t_len], out=term)
        np.exp(term, out=term)
        if not same:
            term *= w
        none_before += term
    if same and len(ws):
        none_before *= float(ws[0])
    none_before[none_before < 1e-12] = 0.0  # certainly needed before (floored logs)
    starts = p * none_before
    # alive = 1 - (none_before - starts)
    np.subtract(none_before, starts, out=none_before)
    np.subtract(1.0, none_before, out=none_before)
    return starts, none_before


@dataclass(frozen=True)
class StackSums:
    """Running sums over stack levels (row k = levels 1..k) of per-minute quantities, kept
    only for the rows the grid's min and max instances ask for."""

    levels: int
    alive: dict[int, np.ndarray]  # row -> (T,) expected instances alive
    starts: dict[int, np.ndarray]  # row -> (T,) expected starts
    meeting: dict[int, np.ndarray]  # row -> (T,) expected requests meeting those starts

    def span(self, name: str, lo: int, hi: int, out: np.ndarray) -> np.ndarray:
        """Sum of ``name`` over levels lo + 1 .. hi (per minute), in ``out`` unless it is one
        of the stored rows (then that row, not to be written to)."""
        run: dict[int, np.ndarray] = getattr(self, name)
        a, b = min(lo, self.levels), min(max(hi, lo), self.levels)
        return run[b] if a == 0 else np.subtract(run[b], run[a], out=out)  # row 0 is zero


def level_sums(a: np.ndarray, rows: list[int], block: np.ndarray) -> dict[int, np.ndarray]:
    """Running sums over levels, row k = rows 0..k-1 of ``a`` (row 0 is zero), for the sorted
    ``rows``, written to the rows of ``block`` (one per entry of ``rows``, plus one scratch).

    The same sequential additions as ``np.cumsum(axis=0)``, keeping only the rows asked for.
    """
    acc = block[len(rows)]
    acc[:] = 0.0
    out: dict[int, np.ndarray] = {}
    j = 0
    for i in range(min(a.shape[0], rows[-1]) + 1):
        if i:
            acc += a[i - 1]
        if i == rows[j]:
            out[i] = block[j]
            out[i][:] = acc
            j += 1
    return out


def stack_sums(
    p: np.ndarray,
    lam: np.ndarray,
    single: bool,
    startup: float,
    warm_start: bool,
    rs: np.ndarray,
    ws: np.ndarray,
    bounds: set[int],
    block: np.ndarray,
) -> StackSums:
    """The stack's running sums for need probabilities ``p`` (arrivals per second ``lam``,
    ``single``: concurrency 1, retentions ``rs`` with weights ``ws``); ``bounds``: the min and
    max instances the sums are wanted for; ``block``: at least ``3 * len(bounds) + 1`` rows of
    storage for them (reused from stack to stack)."""
    starts, alive = starts_and_alive(p, rs, ws, warm_start)
    # Requests meeting the starts, level by level: level 1 meets every arrival during the
    # startup; level k >= 2 one request at concurrency 1, else 1 + lam * startup / k, and only
    # when level 1 was not starting too (its start already counts every arrival).
    during = lam * startup
    if single:
        meet = starts * (1.0 - starts[:1])
    else:
        meet = np.multiply.outer(1.0 / np.arange(1, p.shape[0] + 1), during)
        meet += 1.0
        meet *= 1.0 - starts[:1]
        meet *= starts
    if p.shape[0]:
        np.multiply(starts[0], 1.0 + during, out=meet[0])
    levels = p.shape[0]
    rows = sorted({min(v, levels) for v in bounds})
    n = len(rows)
    return StackSums(
        levels=levels,
        alive=level_sums(alive, rows, block[0 : n + 1]),
        starts=level_sums(starts, rows, block[n : 2 * n + 1]),
        meeting=level_sums(meet, rows, block[2 * n : 3 * n + 1]),
    )
