"""Revisions side by side: cards with the deltas that matter, and a canary verdict.

The verdict compares a candidate with the stable revision over the same periods only (the
periods in which both served requests), so a daily cycle or an incident that hit both does not
bias it. Latency: the per-period p95/p99 of the two revisions, paired; the figure is the median
ratio and the evidence a sign test. Errors: pooled 5xx rates, two-proportion z-test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from insights.frames import REV_KEYS, bound, requests_by_class, safe_ratio, select, total

CARD_COLUMNS = {
    "revision": "string",
    "created": "datetime64[ns, UTC]",
    "traffic_pct": "float64",  # configured split now
    "request_share_pct": "float64",  # observed share of the window's requests
    "requests": "float64",
    "p50_ms": "float64",
    "p95_ms": "float64",
    "p99_ms": "float64",
    # "<" / ">" where the percentile lies beyond the bucket layout (its *_ms is that bound)
    "p50_bound": "string",
    "p95_bound": "string",
    "p99_bound": "string",
    "error_5xx_pct": "float64",
    "cold_starts_per_1k": "float64",
    "startup_p95_ms": "float64",
    "startup_p95_bound": "string",
    "cost_per_million": "float64",
    "concurrency": "Int64",
    "cpu": "float64",
    "memory_gib": "float64",
    "min_instances": "Int64",
    "billing": "string",
}
MIN_REQUESTS_PER_PERIOD = 20  # a period's p99 from fewer requests is mostly noise
MIN_SHARED_PERIODS = 10
ALPHA = 0.01


def revisions_of(revisions: pd.DataFrame, points: pd.DataFrame, service: str) -> list[str]:
    """Every revision of the service, oldest first (the order that fixes their colours)."""
    cfg = revisions[revisions["service"] == service].sort_values("create_time")
    seen = sorted(set(points.loc[points["service"] == service, "revision"]) - set(cfg["revision"]))
    return [*cfg["revision"].tolist(), *seen]


def default_selection(revisions: pd.DataFrame, traffic: pd.DataFrame, service: str) -> list[str]:
    """Revisions with traffic now; if fewer than two, add the newest others."""
    ordered = revisions[revisions["service"] == service].sort_values("create_time")["revision"]
    live = traffic[(traffic["service"] == service) & (traffic["percent"] > 0)]["revision"]
    chosen = [r for r in ordered if r in set(live)]
    for r in reversed(ordered.tolist()):
        if len(chosen) >= 2:
            break
        if r not in chosen:
            chosen.append(r)
    return sorted(chosen, key=ordered.tolist().index)


def cards(
    points: pd.DataFrame,
    totals: pd.DataFrame,
    revisions: pd.DataFrame,
    traffic: pd.DataFrame,
    costs: pd.DataFrame,
    *,
    service: str,
    selected: list[str],
) -> pd.DataFrame:
    """One row per selected revision; NaN where a figure is unknown (never a fake zero)."""
    pts = points[points["service"] == service]
    tot = totals[(totals["service"] == service) & (totals["revision"] != "")]
    idx = pd.Index(selected, name="revision", dtype="string")
    out = pd.DataFrame(index=idx)
    cfg = revisions[revisions["service"] == service].set_index("revision")
    out["created"] = cfg["create_time"].reindex(idx)
    split = traffic[traffic["service"] == service].groupby("revision")["percent"].sum()
    out["traffic_pct"] = split.reindex(idx).fillna(0).astype("float64")
    req = requests_by_class(pts, ["revision"]).reindex(idx)
    all_requests = requests_by_class(pts, ["revision"])["all"].sum()
    out["requests"] = req["all"].fillna(0.0)
    out["request_share_pct"] = 100 * safe_ratio(out["requests"], pd.Series(all_requests, idx))
    for stat in ("p50", "p95", "p99"):
        out[f"{stat}_ms"] = total(tot, "request_latencies", ["revision"], stat).reindex(idx)
        beyond = bound(tot, "request_latencies", ["revision"], stat)
        out[f"{stat}_bound"] = beyond.reindex(idx).fillna("")
    out["error_5xx_pct"] = 100 * safe_ratio(req["5xx"], req["all"])
    starts = total(pts, "startup_latencies", ["revision"], "count").reindex(idx).fillna(0.0)
    out["cold_starts_per_1k"] = 1000 * safe_ratio(starts, out["requests"])
    out["startup_p95_ms"] = total(tot, "startup_latencies", ["revision"], "p95").reindex(idx)
    beyond = bound(tot, "startup_latencies", ["revision"], "p95")
    out["startup_p95_bound"] = beyond.reindex(idx).fillna("")
    rev_cost = costs[costs["service"] == service].set_index("revision") if not costs.empty else None
    if rev_cost is not None:
        spent = rev_cost["total"].reindex(idx)
        out["cost_per_million"] = 1e6 * safe_ratio(spent, out["requests"])
    else:
        out["cost_per_million"] = np.nan
    for col in ("concurrency", "cpu", "memory_gib", "min_instances", "billing"):
        out[col] = cfg[col].reindex(idx) if col in cfg else pd.NA
    return out.reset_index().astype(CARD_COLUMNS)


@dataclass(frozen=True)
class LatencyTest:
    """One latency statistic of a verdict, paired over the shared periods."""

    stat: str  # p95 | p99
    ratio: float  # median candidate/stable over the periods with both figures
    periods: int  # how many periods had both figures
    slower_share: float  # share of them in which the candidate was slower (NaN without any)
    p_value: float  # exact sign test on that share


@dataclass(frozen=True)
class Verdict:
    """The comparison as data; presentation.verdict_headline and verdict_details word it."""

    status: str  # regression | improvement | no_difference | not_enough_data | unknown
    candidate: str
    stable: str
    period_s: int
    shared_periods: int
    p99_ratio: float  # median candidate/stable over shared periods (NaN if unknown)
    p95_ratio: float
    error_candidate_pct: float
    error_stable_pct: float
    error_p_value: float
    latency: tuple[LatencyTest, ...] = ()  # the statistics both revisions have series of
    # (5xx, requests) of the candidate and of the stable revision over the shared periods
    error_counts: tuple[float, float, float, float] = (math.nan,) * 4
    worse: tuple[str, ...] = ()  # the figures significantly worse: "p99", "p95", "5xx"
    better: tuple[str, ...] = ()
    both_served: bool = True  # False: one of the two served no request in the window
    reason: str = ""  # status "unknown": why its series could not be read


def _sign_test_p(wins: int, n: int) -> float:
    """Two-sided exact binomial p-value of ``wins`` out of ``n`` under p = 0.5."""
    if n == 0:
        return 1.0
    k = min(wins, n - wins)
    term = tail_count = 1  # C(n, 0); then C(n, i + 1) = C(n, i) (n - i) / (i + 1), exact ints
    for i in range(k):
        term = term * (n - i) // (i + 1)
        tail_count += term
    tail = tail_count / (1 << n)
    return min(1.0, 2 * tail)


def _two_proportion_p(x1: float, n1: float, x2: float, n2: float) -> float:
    if n1 <= 0 or n2 <= 0:
        return 1.0
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))


CELLS = ("requests", "errors", "p95", "p99")  # the verdict's figures per revision and period


def verdict_cells(points: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per ``keys`` + revision + period (the index), the verdict's figures: requests (summed
    over response classes), 5xx, and the p95 and p99 (the largest row of a cell); NaN where a
    revision wrote no such row in a period. Pending periods are left out (they may still
    grow). One table serves every service of a frame (the overview's canaries at once)."""
    pts = points[~points["pending"].astype(bool)]
    by = [*keys, "revision", "timestamp"]
    req = select(pts, "request_count", "value")
    parts = {
        "requests": req.groupby(by, observed=True)["value"].sum(),
        "errors": req[req["response_class"] == "5xx"].groupby(by, observed=True)["value"].sum(),
    }
    for stat in ("p95", "p99"):
        lat = select(pts, "request_latencies", stat)
        parts[stat] = lat.groupby(by, observed=True)["value"].max()
    cells = pd.concat(parts, axis=1)
    return cells.reindex(columns=list(CELLS)).sort_index()


def canary_verdict(
    points: pd.DataFrame, *, service: str, candidate: str, stable: str, period_s: int
) -> Verdict:
    """Compare ``candidate`` with ``stable`` over the periods where both served requests.

    ``points``: request counts and p95/p99 per ``period_s`` period (the dashboard reads them at
    the window's trend alignment, for the overview and the revisions page alike, so a canary
    has one verdict on every page)."""
    mine = points[(points["service"] == service) & points["revision"].isin([candidate, stable])]
    return judge(verdict_cells(mine, []), candidate=candidate, stable=stable, period_s=period_s)


def _column(cells: pd.DataFrame, revision: str) -> pd.DataFrame | None:
    if revision not in cells.index.get_level_values("revision"):
        return None
    return cells.loc[[revision]].droplevel("revision")


def judge(cells: pd.DataFrame, *, candidate: str, stable: str, period_s: int) -> Verdict:
    """The verdict from one service's verdict_cells (indexed by revision and timestamp)."""
    cand, stab = _column(cells, candidate), _column(cells, stable)
    if (
        cand is None
        or stab is None
        or cand["requests"].isna().all()
        or stab["requests"].isna().all()
    ):
        return _no_verdict("not_enough_data", 0, candidate, stable, period_s, both_served=False)
    both = cand.add_suffix("_c").join(stab.add_suffix("_s"), how="inner")
    req_c, req_s = both["requests_c"].to_numpy(float), both["requests_s"].to_numpy(float)
    shared = (req_c >= MIN_REQUESTS_PER_PERIOD) & (req_s >= MIN_REQUESTS_PER_PERIOD)
    n_shared = int(shared.sum())
    if n_shared < MIN_SHARED_PERIODS:
        return _no_verdict("not_enough_data", n_shared, candidate, stable, period_s)
    latency = tuple(
        _latency_test(both, shared, stat)
        for stat in ("p95", "p99")
        if not (cand[stat].isna().all() or stab[stat].isna().all())  # no such series at all
    )
    x1 = float(np.nansum(both["errors_c"].to_numpy(float)[shared]))
    x2 = float(np.nansum(both["errors_s"].to_numpy(float)[shared]))
    n1, n2 = float(req_c[shared].sum()), float(req_s[shared].sum())
    p_err = _two_proportion_p(x1, n1, x2, n2)
    e1, e2 = 100 * x1 / n1, 100 * x2 / n2
    worse: list[str] = []
    better: list[str] = []
    tests = {t.stat: t for t in latency}
    for stat in ("p99", "p95"):
        t = tests.get(stat)
        if t is not None and t.p_value < ALPHA and abs(t.ratio - 1) >= 0.05:
            (worse if t.ratio > 1 else better).append(stat)
    if p_err < ALPHA and abs(e1 - e2) >= 0.05:
        (worse if e1 > e2 else better).append("5xx")
    status = "regression" if worse else "improvement" if better else "no_difference"
    return Verdict(
        status,
        candidate,
        stable,
        period_s,
        shared_periods=n_shared,
        p99_ratio=tests["p99"].ratio if "p99" in tests else math.nan,
        p95_ratio=tests["p95"].ratio if "p95" in tests else math.nan,
        error_candidate_pct=e1,
        error_stable_pct=e2,
        error_p_value=p_err,
        latency=latency,
        error_counts=(x1, n1, x2, n2),
        worse=tuple(worse),
        better=tuple(better),
    )


def _latency_test(both: pd.DataFrame, shared: np.ndarray, stat: str) -> LatencyTest:
    """``stat`` of the two revisions paired over the shared periods (``both``: the candidate's
    columns suffixed _c, the stable one's _s)."""
    lat_c = both[f"{stat}_c"].to_numpy(float)[shared]
    lat_s = both[f"{stat}_s"].to_numpy(float)[shared]
    keep = ~np.isnan(lat_c) & ~np.isnan(lat_s) & (lat_s > 0)
    ratio = lat_c[keep] / lat_s[keep]
    wins = int((ratio > 1).sum())
    return LatencyTest(
        stat,
        float(np.median(ratio)) if len(ratio) else float("nan"),
        len(ratio),
        wins / len(ratio) if len(ratio) else float("nan"),
        _sign_test_p(wins, len(ratio)),
    )


def unknown_verdict(why: str, *, candidate: str, stable: str, period_s: int) -> Verdict:
    """No verdict because its series could not be read (not because traffic was thin)."""
    return _no_verdict("unknown", 0, candidate, stable, period_s, reason=why)


def _no_verdict(
    status: str,
    n: int,
    candidate: str,
    stable: str,
    period_s: int,
    *,
    both_served: bool = True,
    reason: str = "",
) -> Verdict:
    nan = float("nan")
    return Verdict(
        status,
        candidate,
        stable,
        period_s,
        n,
        nan,
        nan,
        nan,
        nan,
        nan,
        both_served=both_served,
        reason=reason,
    )


def markers(
    revisions: pd.DataFrame, points: pd.DataFrame, *, service: str, start: datetime
) -> list[tuple[datetime, str]]:
    """Deployments (revision created) and first traffic of each revision inside the window."""
    out: list[tuple[datetime, str]] = []
    cfg = revisions[revisions["service"] == service]
    for rev, created in zip(cfg["revision"], cfg["create_time"], strict=True):
        if pd.notna(created) and created >= start:
            out.append((created.to_pydatetime(), f"deployed {rev}"))
    req = select(points[points["service"] == service], "request_count", "value")
    first = req[req["value"] > 0].groupby("revision")["timestamp"].min()
    for rev, t in first.items():
        if t > pd.Timestamp(start) + pd.Timedelta(minutes=5):
            out.append((t.to_pydatetime(), f"{rev} takes traffic"))
    return sorted(out)


__all__ = [
    "REV_KEYS",
    "LatencyTest",
    "Verdict",
    "canary_verdict",
    "cards",
    "default_selection",
    "markers",
]


def _series_frame(df: pd.DataFrame) -> pd.DataFrame:
    """revision, timestamp, value, pending with one dtype each, whatever built ``df``.

    A pandas groupby of zero rows returns an Arrow string column with no chunks, which a merge
    cannot factorize (ArrowInvalid); other callers pass object strings or timestamps of another
    resolution. Rebuilding the columns gives every frame, empty or not, the same keys."""
    return pd.DataFrame(
        {
            "revision": pd.array(df["revision"].to_numpy(dtype=object), dtype="string"),
            "timestamp": pd.to_datetime(df["timestamp"], utc=True).dt.as_unit("ns").array,
            "value": df["value"].to_numpy(dtype="float64"),
            "pending": df["pending"].fillna(False).to_numpy(dtype=bool),
        }
    )


def errors_where_served(errors: pd.DataFrame, requests: pd.DataFrame) -> pd.DataFrame:
    """The 5xx rate in every period a revision served requests: Monitoring writes no 5xx
    point for a period without any, which is a rate of zero, not an unknown.

    Either frame may be empty (a revision that served nothing in the window has neither)."""
    keys = ["revision", "timestamp"]
    served = _series_frame(requests)[[*keys, "pending"]]
    both = served.merge(_series_frame(errors), on=keys, how="outer", suffixes=("_served", ""))
    pending = both["pending"].fillna(False).astype(bool) | both["pending_served"].fillna(
        False
    ).astype(bool)
    out = both.assign(value=both["value"].fillna(0.0), pending=pending)[[*keys, "value", "pending"]]
    return out.sort_values(keys, ignore_index=True)
