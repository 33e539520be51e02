"""Replay one revision's observed per-minute traffic through a Cloud Run autoscaling model.

For every setting of a grid at once (numpy over arrays of shape (settings, minutes)):

1. Demand: ``d`` requests a minute (served + observed 429s), mean latency ``L``; in-flight
   requests by Little's law ``mu = d / 60 * L``.
2. Instances wanted per minute: ``ceil(max(mu / (target * C), (mu + z * sqrt(mu)) / C,
   cpu_demand / (cpu_target * cpu)))``, at least 1 when there is any demand. The second term is
   the burstiness correction: in-flight requests are Poisson, and a minute's peak exceeds its mean
   by about ``z`` standard deviations (``z`` is fitted by calibration).
3. Idle retention: an instance stays up to ``R`` minutes after it was last needed (sliding
   maximum over ``R + 1`` minutes); then min instances (floor) and max instances (cap).
4. Rejections above max instances: the expected Poisson excess over ``max * C`` in flight
   (normal approximation), as 429s.
5. Cold starts: increases of the instance count (+ min-instance recycling and other background
   starts at a fitted rate). Requests meeting a cold start: from zero instances, every request
   arriving during the startup; otherwise up to C requests per new instance.
6. Billable time. Request-based: instance-seconds with at least one request in flight (requests
   spread over the instances, each instance busy with probability ``1 - exp(-mu / n)``; at
   concurrency 1 busy instance-seconds are exactly ``mu``), plus 100 ms rounding per busy period,
   plus startup time; idle min instances (min instances not busy) separately, at the idle rate.
   Instance-based: every instance's whole life (at least one minute each).

Only concurrency and cpu change the wanted-instances curve; min/max instances only floor and cap
it, and billing mode and memory only change prices. So the work is done once per distinct
(concurrency, cpu), then once per distinct (min, max), then priced per setting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from costmodel.traffic import Traffic


@dataclass(frozen=True)
class Params:
    """The model's free parameters (calibrate.py fits some of them to observed data)."""

    target: float = 0.6  # share of max concurrency the autoscaler aims for (docs: 60 %)
    cpu_target: float = 0.6  # CPU utilization target (docs: 60 %)
    burst_z: float = 1.0  # within-minute peak = mu + z sqrt(mu)
    # Idle retention: an unneeded instance is kept R minutes, R uniform on [lo, hi] (docs: up
    # to 15 minutes), integrated with ``retention_points`` equally weighted quantiles.
    retention_lo_min: float = 1.0
    retention_hi_min: float = 15.0
    retention_points: int = 4
    recycle_per_min_instance_h: float = 0.0  # min-instance recycling starts per instance-hour
    background_starts_per_h: float = 0.0  # other restarts (OOM ...) per hour of life
    autoscaling_starts_scale: float = 1.0  # calibrated: observed / modelled demand starts
    rounding_uplift_s: float = 0.05  # mean extra billed time per busy period (100 ms rounding)
    startup_s: float | None = None  # None: the traffic's observed mean startup time

    def retention_windows(self) -> tuple[list[int], list[float]]:
        """Integer retention minutes and their weights (quantile midpoints of the uniform)."""
        lo, hi = self.retention_lo_min, self.retention_hi_min
        if hi - lo < 0.5 or self.retention_points <= 1:
            return [round((lo + hi) / 2)], [1.0]
        q = (np.arange(self.retention_points) + 0.5) / self.retention_points
        wins = np.round(lo + (hi - lo) * q).astype(int)
        uniq, counts = np.unique(wins, return_counts=True)
        return [int(u) for u in uniq], [float(c) / len(wins) for c in counts]


@dataclass(frozen=True)
class Grid:
    """K settings as parallel arrays."""

    concurrency: np.ndarray  # int
    min_instances: np.ndarray  # int
    max_instances: np.ndarray  # int
    instance_billing: np.ndarray  # bool: True = instance-based
    cpu: np.ndarray  # float vCPU
    memory_gib: np.ndarray  # float

    @classmethod
    def of(
        cls,
        *,
        concurrency: object,
        min_instances: object,
        max_instances: object,
        instance_billing: object,
        cpu: object,
        memory_gib: object,
    ) -> Grid:
        arrays = [
            np.atleast_1d(np.asarray(v))
            for v in (concurrency, min_instances, max_instances, instance_billing, cpu, memory_gib)
        ]
        b = np.broadcast_arrays(*arrays)
        return cls(
            b[0].astype(np.int64),
            b[1].astype(np.int64),
            b[2].astype(np.int64),
            b[3].astype(bool),
            b[4].astype(float),
            b[5].astype(float),
        )

    def __len__(self) -> int:
        return len(self.concurrency)


@dataclass(frozen=True)
class Result:
    """Totals over the replayed window, one entry per grid setting."""

    minutes: int
    served: np.ndarray  # requests served
    rejected: np.ndarray  # requests refused with 429 (above max instances)
    cold_starts: np.ndarray  # instance starts, all reasons
    requests_meeting_cold_start: np.ndarray
    instance_s: np.ndarray  # instance lifetime seconds
    billable_s: np.ndarray  # per the setting's billing mode (excl. idle min instances)
    idle_min_s: np.ndarray  # request-based idle min-instance seconds (0 for instance-based)
    busy_s: np.ndarray  # instance-seconds with >= 1 request in flight (both modes)
    active_vcpu_s: np.ndarray
    active_gib_s: np.ndarray
    idle_vcpu_s: np.ndarray
    idle_gib_s: np.ndarray
    peak_instances: np.ndarray
    instances: np.ndarray | None = None  # (K, minutes) when asked for


def sliding_max(x: np.ndarray, window: int) -> np.ndarray:
    """Maximum over the last ``window`` entries (including the current) along the last axis."""
    out = x.copy()
    size = 1
    while size < window:
        step = min(size, window - size)
        nxt = out.copy()
        np.maximum(out[..., step:], out[..., :-step], out=nxt[..., step:])
        out = nxt
        size += step
    return out


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


def wanted_instances(
    traffic: Traffic, concurrency: int, cpu: float, params: Params
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(wanted instances, in-flight mean mu, arrivals per second) per minute."""
    d = traffic.demand
    lam = d / 60.0
    mu = lam * traffic.filled_latency_s()
    c = float(concurrency)
    need = np.maximum(mu / (params.target * c), (mu + params.burst_z * np.sqrt(mu)) / c)
    if traffic.cpu_s_per_request > 0:
        need = np.maximum(need, lam * traffic.cpu_s_per_request / (params.cpu_target * cpu))
    wanted = np.where(d > 0, np.maximum(np.ceil(need - 1e-9), 1.0), 0.0)
    return wanted, mu, lam


_TOTALS = ("cold_starts", "meeting", "instance_s", "busy_s", "active_s", "idle_min_s", "peak")


def _totals(
    inst: np.ndarray,
    lo: np.ndarray,
    d: np.ndarray,
    mu_s: np.ndarray,
    lam_s: np.ndarray,
    conc: float,
    startup: float,
    warm_start: bool,
    hours: float,
    params: Params,
) -> dict[str, np.ndarray]:
    """Window totals for instance curves ``inst`` (g, T) with min instances ``lo`` (g, 1)."""
    n = np.maximum(inst, 1e-12)
    if conc <= 1:
        # One request per instance: busy instance-seconds are the in-flight requests.
        busy = np.minimum(mu_s, inst)
        periods = lam_s
    else:
        share = np.exp(-mu_s / n)  # requests spread evenly: an instance idle w.p. exp(-mu/n)
        busy = inst * (1.0 - share)
        periods = lam_s * share
    busy = np.where(inst > 0, busy, 0.0)
    first = inst[:, :1] if warm_start else np.zeros((inst.shape[0], 1))
    prev = np.concatenate([first, inst[:, :-1]], axis=1)
    ups = np.maximum(inst - prev, 0.0)
    # Requests meeting a cold start: from zero, every arrival during the startup (at least the
    # one that triggered it); else, per new instance, one at concurrency 1, or its share of the
    # arrivals during the startup (not capped by the concurrency, so that equal instance curves
    # of different concurrencies share one computation).
    meet = np.where(
        (prev == 0) & (ups > 0),
        1.0 + lam_s * startup,
        ups * (1.0 if conc <= 1 else 1.0 + lam_s * startup / n),
    )
    meet = np.minimum(meet, d[None, :])
    life_h = inst.sum(axis=1) / 60.0
    min_h = np.minimum(inst, lo).sum(axis=1) / 60.0
    extra = params.recycle_per_min_instance_h * min_h + params.background_starts_per_h * np.minimum(
        life_h, hours
    )
    starts = params.autoscaling_starts_scale * ups.sum(axis=1) + extra
    # Request-based, per minute in instance units: active = busy + rounding + starting, at
    # most the instances alive; min instances not active are billed idle.
    act = np.minimum(busy + periods * params.rounding_uplift_s + ups * startup / 60.0, inst)
    idle_min = np.maximum(np.minimum(lo, inst) - act, 0.0)
    return {
        "cold_starts": starts,
        "meeting": meet.sum(axis=1),
        "instance_s": inst.sum(axis=1) * 60.0,
        "busy_s": busy.sum(axis=1) * 60.0,
        "active_s": act.sum(axis=1) * 60.0 + extra * startup,
        "idle_min_s": idle_min.sum(axis=1) * 60.0,
        "peak": inst.max(axis=1, initial=0.0),
    }


def replay(
    traffic: Traffic,
    grid: Grid,
    params: Params,
    *,
    keep_minutes: bool = False,
    warm_start: bool | None = None,
) -> Result:
    """Replay ``traffic`` under every setting of ``grid``.

    ``warm_start``: the first minute's instances were already running (not cold starts).
    None: inferred from the traffic (observed instances in minute 0).
    """
    k_all = len(grid)
    t_len = traffic.minutes
    startup = traffic.startup_s if params.startup_s is None else params.startup_s
    out = {
        name: np.zeros(k_all)
        for name in (
            "served",
            "rejected",
            "cold_starts",
            "meeting",
            "instance_s",
            "busy_s",
            "active_s",
            "idle_min_s",
            "peak",
        )
    }
    minutes_out = np.zeros((k_all, t_len)) if keep_minutes else None
    d = traffic.demand
    if warm_start is None:
        warm_start = bool(t_len > 0 and (traffic.instances[:1] > 0).any())
    hours = t_len / 60.0

    pairs = np.stack([grid.concurrency.astype(float), grid.cpu], axis=1)
    uniq_pairs, pair_idx = np.unique(pairs, axis=0, return_inverse=True)
    windows, weights = params.retention_windows()
    cache: dict[object, dict[tuple[int, ...], dict[str, float]]] = {}
    for p, (conc, cpu) in enumerate(uniq_pairs):
        wanted, mu, lam = wanted_instances(traffic, int(conc), float(cpu), params)
        members = np.flatnonzero(pair_idx.ravel() == p)
        mm = np.stack([grid.min_instances[members], grid.max_instances[members]], axis=1)
        uniq_mm, mm_idx = np.unique(mm, axis=0, return_inverse=True)
        lo = uniq_mm[:, :1].astype(float)
        hi = uniq_mm[:, 1:].astype(float)
        capacity = hi * conc  # most requests in flight at once
        over = wanted[None, :] > hi
        excess = np.zeros(over.shape)
        if over.any():
            rows_i, cols_i = np.nonzero(over)
            excess[rows_i, cols_i] = poisson_excess(mu[cols_i], capacity[rows_i, 0])
        frac_rej = np.where(mu > 0, np.minimum(excess / np.maximum(mu, 1e-12), 1.0), 0.0)
        rejected = d[None, :] * frac_rej
        mu_s = mu[None, :] * (1.0 - frac_rej)
        lam_s = lam[None, :] * (1.0 - frac_rej)
        # Curves that are the same (same wanted instances, no rejections) give the same
        # totals whatever the concurrency above 1: compute them once.
        key = (hash(wanted.tobytes()), conc <= 1) if not over.any() else None
        todo = [tuple(r) for r in uniq_mm.tolist()]
        known = cache.get(key, {}) if key is not None and minutes_out is None else {}
        missing = [i for i, r in enumerate(todo) if r not in known]
        acc: dict[str, np.ndarray] = {n: np.zeros(len(todo)) for n in _TOTALS}
        inst_avg = np.zeros((len(uniq_mm), t_len)) if minutes_out is not None else None
        if missing:
            sel = np.array(missing)
            for window, weight in zip(windows, weights, strict=True):
                held = sliding_max(wanted, window + 1)
                inst = np.clip(held[None, :], lo[sel], hi[sel])  # (g, T)
                part = _totals(
                    inst,
                    lo[sel],
                    d,
                    mu_s[sel],
                    lam_s[sel],
                    conc,
                    startup,
                    warm_start,
                    hours,
                    params,
                )
                for name, val in part.items():
                    acc[name][sel] += weight * val
                if inst_avg is not None:
                    inst_avg[sel] += weight * inst
        for i, r in enumerate(todo):
            if r in known:
                for name in _TOTALS:
                    acc[name][i] = known[r][name]
            elif key is not None:
                cache.setdefault(key, {})[r] = {name: float(acc[name][i]) for name in _TOTALS}
        for j, k_idx in enumerate(members.tolist()):
            g = int(mm_idx.ravel()[j])
            out["served"][k_idx] = float((d - rejected[g]).sum())
            out["rejected"][k_idx] = float(rejected[g].sum())
            for name in _TOTALS:
                out[name][k_idx] = float(acc[name][g])
            if minutes_out is not None and inst_avg is not None:
                minutes_out[k_idx] = inst_avg[g]

    inst_b = grid.instance_billing
    request_billable = out["active_s"]
    # Instance-based: whole lives. A replayed instance lives at least idle_retention + 1 minutes,
    # so the one-minute minimum never binds at this resolution.
    instance_billable = out["instance_s"]
    billable = np.where(inst_b, instance_billable, request_billable)
    idle_min_s = np.where(inst_b, 0.0, out["idle_min_s"])
    return Result(
        minutes=t_len,
        served=out["served"],
        rejected=out["rejected"],
        cold_starts=out["cold_starts"],
        requests_meeting_cold_start=out["meeting"],
        instance_s=out["instance_s"],
        billable_s=billable,
        idle_min_s=idle_min_s,
        busy_s=out["busy_s"],
        active_vcpu_s=billable * grid.cpu,
        active_gib_s=billable * grid.memory_gib,
        idle_vcpu_s=idle_min_s * grid.cpu,
        idle_gib_s=idle_min_s * grid.memory_gib,
        peak_instances=out["peak"],
        instances=minutes_out,
    )
