"""Monitoring's per-series alignment and cross-series reduction, in numpy.

Numeric series are float64 arrays with NaN for "no point"; distributions are ``Dist`` columns
with count -1 for "no point". Aligned periods are counted back from the interval end: period
``k`` (0 = newest) covers ``(end - (k+1)P, end - kP]`` and a raw point belongs to the period
holding its end time. A period that received no raw point has no aligned point (a gap).

Percentiles of a distribution interpolate linearly inside the bucket holding the rank
``p/100 * count``; a rank in the underflow bucket gives its upper bound and one in the overflow
bucket its lower bound (Monitoring does not publish its exact rule; this is the usual one).
Percentiles across series (REDUCE_PERCENTILE_xx on numbers) interpolate linearly between the
sorted values, like ``numpy.percentile``'s default.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PERCENTILES = {
    "PERCENTILE_99": 99.0,
    "PERCENTILE_95": 95.0,
    "PERCENTILE_50": 50.0,
    "PERCENTILE_05": 5.0,
}


@dataclass
class Dist:
    """Distribution values over points: shapes (n,) and (n, buckets); count -1 = no point."""

    count: np.ndarray
    mean: np.ndarray
    ssd: np.ndarray
    buckets: np.ndarray

    def __len__(self) -> int:
        return len(self.count)

    def take(self, idx: np.ndarray | slice) -> Dist:
        return Dist(self.count[idx], self.mean[idx], self.ssd[idx], self.buckets[idx])


@dataclass
class PackedDist:
    """A raw distribution series stored packed (emulator.sim.model.PackedDistributionSeries):
    the minute columns with a point (sorted), their values, and bucket counts only for the
    buckets ``lo .. lo + band.shape[1] - 1`` (the others are 0)."""

    rows: np.ndarray
    count: np.ndarray
    mean: np.ndarray
    ssd: np.ndarray
    lo: int
    band: np.ndarray  # int32
    num_buckets: int

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Positions of the points whose column is in ``[first, last)``."""
        a, b = np.searchsorted(self.rows, [first, last])
        return int(a), int(b)

    def points(self, first: int, last: int) -> tuple[np.ndarray, Dist]:
        """(columns, values) of the points in columns ``[first, last)``, newest first."""
        a, b = self.span(first, last)
        sl = slice(b - 1, a - 1 if a > 0 else None, -1)
        buckets = np.zeros((b - a, self.num_buckets), dtype=np.int64)
        buckets[:, self.lo : self.lo + self.band.shape[1]] = self.band[sl]
        return self.rows[sl], Dist(self.count[sl], self.mean[sl], self.ssd[sl], buckets)


@dataclass(frozen=True)
class Periods:
    """Which raw columns fall in the query, and the period (0 = newest) each one feeds."""

    first: int  # first raw column in the interval
    last: int  # one past the last raw column in the interval
    period_of: np.ndarray  # (last - first,) period index of each column
    n_periods: int


def raw_window(t0: int, minutes: int, start: int, end: int) -> tuple[int, int]:
    """Columns whose end time t0 + 60(i+1) is in (start, end] (or equals end if start==end)."""
    lo_e = start + 1 if start < end else end
    first = max(0, -(-(lo_e - t0) // 60) - 1)
    last = min(minutes, (end - t0) // 60)
    return first, max(first, last)


def periods(t0: int, minutes: int, start: int, end: int, period: int) -> Periods:
    first, last = raw_window(t0, minutes, start, end)
    ends = t0 + 60 * (np.arange(first, last, dtype=np.int64) + 1)
    period_of = (end - ends) // period
    n = max(1, -(-(end - start) // period))
    return Periods(first, last, period_of.astype(np.int64), int(n))


def _groups(p: Periods) -> tuple[np.ndarray, np.ndarray]:
    """Reversed-column reduceat starts and the period index of each run (ascending)."""
    kr = p.period_of[::-1]
    if len(kr) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(np.diff(kr)) + 1
    starts = np.concatenate([[0], change]).astype(np.int64)
    return starts, kr[starts]


def align_numeric(x: np.ndarray, p: Periods, aligner: str, period_s: int) -> np.ndarray:
    """x: (n, minutes) raw values -> (n, n_periods) aligned values, newest period first."""
    n = x.shape[0]
    out = np.full((n, p.n_periods), np.nan)
    cols = x[:, p.first : p.last][:, ::-1]
    starts, ks = _groups(p)
    if len(starts) == 0:
        return out
    valid = ~np.isnan(cols)
    count = np.add.reduceat(valid.astype(np.int64), starts, axis=1)
    if aligner in ("SUM", "DELTA", "RATE", "MEAN"):
        s = np.add.reduceat(np.where(valid, cols, 0.0), starts, axis=1)
        if aligner == "RATE":
            s = s / period_s
        elif aligner == "MEAN":
            s = s / np.maximum(count, 1)
    elif aligner == "MAX":
        s = np.fmax.reduceat(cols, starts, axis=1)
    elif aligner == "MIN":
        s = np.fmin.reduceat(cols, starts, axis=1)
    elif aligner == "COUNT":
        s = count.astype(float)
    else:  # pragma: no cover - validated by the caller
        raise ValueError(aligner)
    out[:, ks] = np.where(count > 0, s, np.nan)
    return out


def align_dist(d: Dist, p: Periods) -> Dist:
    """Merge the raw distributions of each period; periods without points get count -1."""
    k = p.n_periods
    nb = d.buckets.shape[1]
    out = Dist(
        np.full(k, -1, dtype=np.int64), np.zeros(k), np.zeros(k), np.zeros((k, nb), np.int64)
    )
    starts, ks = _groups(p)
    if len(starts) == 0:
        return out
    sl = d.take(slice(p.first, p.last))
    rev = Dist(sl.count[::-1], sl.mean[::-1], sl.ssd[::-1], sl.buckets[::-1])
    present = rev.count >= 0
    if len(starts) == len(rev):
        _align_dist_unit_runs(rev, present, ks, out)
        return out
    c = np.where(present, rev.count, 0)
    npts = np.add.reduceat(present.astype(np.int64), starts)
    merged = merge_runs(
        c,
        np.where(present, rev.mean, 0.0),
        np.where(present, rev.ssd, 0.0),
        np.where(present[:, None], rev.buckets, 0),
        starts,
    )
    has = npts > 0
    out.count[ks[has]] = merged.count[has]
    out.mean[ks] = merged.mean
    out.ssd[ks] = merged.ssd
    out.buckets[ks] = merged.buckets
    return out


def align_packed(d: PackedDist, p: Periods) -> Dist:
    """``align_dist`` of a packed series: the same merge (parallel formula), over its points
    only and its band of buckets only."""
    k = p.n_periods
    out = Dist(
        np.full(k, -1, dtype=np.int64),
        np.zeros(k),
        np.zeros(k),
        np.zeros((k, d.num_buckets), np.int64),
    )
    a, b = d.span(p.first, p.last)
    if a == b:
        return out
    per = p.period_of[d.rows[a:b] - p.first]  # one run per period (descending: newest last)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(per)) + 1]).astype(np.int64)
    c, mean = d.count[a:b], d.mean[a:b]
    cnt = np.add.reduceat(c, starts)
    m = np.add.reduceat(c * mean, starts) / np.maximum(cnt, 1)
    dev = mean - np.repeat(m, np.diff(np.append(starts, b - a)))
    ks = per[starts]
    out.count[ks] = cnt
    out.mean[ks] = m
    out.ssd[ks] = np.add.reduceat(d.ssd[a:b] + c * dev * dev, starts)
    band = np.add.reduceat(d.band[a:b], starts, axis=0, dtype=np.int64)
    out.buckets[ks, d.lo : d.lo + d.band.shape[1]] = band
    return out


def _align_dist_unit_runs(rev: Dist, present: np.ndarray, ks: np.ndarray, out: Dist) -> None:
    """``align_dist`` when every period holds at most one raw point (e.g. 60 s alignment).

    The same arithmetic as ``merge_runs`` over runs of one (so the same bits), without the
    reduceat passes and full copies of the bucket matrix: absent points stay all zero.
    """
    c = np.where(present, rev.count, 0)
    mean = np.where(present, rev.mean, 0.0)
    m = np.divide(c * mean, c, out=np.zeros(len(c)), where=c > 0)
    dev = mean - m
    out.count[ks[present]] = rev.count[present]
    out.mean[ks] = m
    out.ssd[ks] = np.where(present, rev.ssd, 0.0) + c * dev * dev
    out.buckets[ks[present]] = rev.buckets[present]


def merge_runs(
    count: np.ndarray, mean: np.ndarray, ssd: np.ndarray, buckets: np.ndarray, starts: np.ndarray
) -> Dist:
    """Merge consecutive runs (reduceat starts) of distributions with the parallel formula."""
    c = np.add.reduceat(count, starts)
    total = np.add.reduceat(count * mean, starts)
    m = np.divide(total, c, out=np.zeros(len(c)), where=c > 0)
    run_of = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(count))))
    dev = mean - m[run_of]
    s = np.add.reduceat(ssd + count * dev * dev, starts)
    b = np.add.reduceat(buckets, starts, axis=0)
    return Dist(c.astype(np.int64), m, s, b.astype(np.int64, copy=False))


def merge_series(ds: list[Dist]) -> Dist:
    """Merge aligned distributions across series, period by period (REDUCE_SUM)."""
    k = len(ds[0])
    count = np.stack([d.count for d in ds])  # (n, k)
    present = count >= 0
    c = np.where(present, count, 0)
    mean = np.where(present, np.stack([d.mean for d in ds]), 0.0)
    ssd = np.where(present, np.stack([d.ssd for d in ds]), 0.0)
    # bucket counts are integers: summing series one by one (skipping absent points) gives
    # the same totals as one stacked sum, without an (n, k, buckets) copy
    buckets = np.zeros((k, ds[0].buckets.shape[1]), dtype=np.int64)
    for d, pr in zip(ds, present, strict=True):
        if pr.all():
            buckets += d.buckets
        elif pr.any():
            buckets[pr] += d.buckets[pr]
    tot = c.sum(axis=0)
    m = np.divide((c * mean).sum(axis=0), tot, out=np.zeros(k), where=tot > 0)
    s = (ssd + c * (mean - m[None, :]) ** 2).sum(axis=0)
    out_count = np.where(present.any(axis=0), tot, -1)
    return Dist(out_count.astype(np.int64), m, s, buckets)


def dist_percentile(d: Dist, upper_bounds: np.ndarray, pct: float) -> np.ndarray:
    """Percentile of each distribution (NaN where it has no point or no samples)."""
    n, nb = d.buckets.shape
    out = np.full(n, np.nan)
    ok = d.count > 0
    if not ok.any():
        return out
    b = d.buckets[ok].astype(float)
    cum = np.cumsum(b, axis=1)
    total = cum[:, -1]
    rank = np.maximum(pct / 100.0 * total, 1e-9)
    j = np.argmax(cum >= rank[:, None], axis=1)
    before = np.where(j > 0, cum[np.arange(len(j)), np.maximum(j - 1, 0)], 0.0)
    in_bucket = b[np.arange(len(j)), j]
    ub = np.asarray(upper_bounds, dtype=float)
    lower = np.where(j > 0, ub[np.clip(j - 1, 0, len(ub) - 1)], ub[0])
    upper = np.where(j < nb - 1, ub[np.clip(j, 0, len(ub) - 1)], ub[-1])
    frac = np.divide(rank - before, in_bucket, out=np.zeros(len(j)), where=in_bucket > 0)
    val = lower + np.clip(frac, 0.0, 1.0) * (upper - lower)
    val = np.where(j == 0, ub[0], val)
    val = np.where(j == nb - 1, ub[-1], val)
    out[ok] = val
    return out


def reduce_numeric(a: np.ndarray, reducer: str) -> np.ndarray:
    """a: (n, k) aligned values of one group -> (k,) reduced values (NaN = no point)."""
    valid = ~np.isnan(a)
    cnt = valid.sum(axis=0)
    if reducer == "SUM":
        r = np.where(valid, a, 0.0).sum(axis=0)
    elif reducer == "MEAN":
        r = np.where(valid, a, 0.0).sum(axis=0) / np.maximum(cnt, 1)
    elif reducer == "MAX":
        r = np.fmax.reduce(a, axis=0)
    elif reducer == "MIN":
        r = np.fmin.reduce(a, axis=0)
    elif reducer == "COUNT":
        r = cnt.astype(float)
    elif reducer in PERCENTILES:
        r = _percentile_across(a, valid, cnt, PERCENTILES[reducer])
    else:  # pragma: no cover - validated by the caller
        raise ValueError(reducer)
    return np.where(cnt > 0, r, np.nan)


def _percentile_across(a: np.ndarray, valid: np.ndarray, cnt: np.ndarray, pct: float) -> np.ndarray:
    srt = np.sort(np.where(valid, a, np.inf), axis=0)
    pos = pct / 100.0 * np.maximum(cnt - 1, 0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(cnt - 1, 0))
    cols = np.arange(a.shape[1])
    vlo = srt[lo, cols]
    vhi = srt[hi, cols]
    frac = pos - lo
    with np.errstate(invalid="ignore"):
        r = vlo + (vhi - vlo) * frac
    out: np.ndarray = np.where(np.isfinite(r), r, vlo)
    return out
