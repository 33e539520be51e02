"""Revisions side by side: cards with the deltas that matter, and a canary verdict.

The verdict compares a candidate with the stable revision over the same periods only (the
periods in which both served requests), so a daily cycle or an incident that hit both does not
bias it. Latency: the per-period p95/p99 of the two revisions, paired; the figure is the median
ratio and the evidence a sign test. Errors: pooled 5xx rates, two-proportion z-test.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from insights.frames import REV_KEYS, requests_by_class, safe_ratio, select, total

CARD_COLUMNS = {
    "revision": "string",
    "created": "datetime64[ns, UTC]",
    "traffic_pct": "float64",  # configured split now
    "request_share_pct": "float64",  # observed share of the window's requests
    "requests": "float64",
    "p50_ms": "float64",
    "p95_ms": "float64",
    "p99_ms": "float64",
    "error_5xx_pct": "float64",
    "cold_starts_per_1k": "float64",
    "startup_p95_ms": "float64",
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
    out["error_5xx_pct"] = 100 * safe_ratio(req["5xx"], req["all"])
    starts = total(pts, "startup_latencies", ["revision"], "count").reindex(idx).fillna(0.0)
    out["cold_starts_per_1k"] = 1000 * safe_ratio(starts, out["requests"])
    out["startup_p95_ms"] = total(tot, "startup_latencies", ["revision"], "p95").reindex(idx)
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
class Verdict:
    status: str  # regression | improvement | no_difference | not_enough_data | unknown
    headline: str
    details: tuple[str, ...]
    shared_periods: int
    p99_ratio: float  # median candidate/stable over shared periods (NaN if unknown)
    p95_ratio: float
    error_candidate_pct: float
    error_stable_pct: float
    error_p_value: float


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
    periods = f"periods of {period_s // 60} min"
    cand, stab = _column(cells, candidate), _column(cells, stable)
    if (
        cand is None
        or stab is None
        or cand["requests"].isna().all()
        or stab["requests"].isna().all()
    ):
        return _thin(0, "one of the two revisions served no requests in this window")
    both = cand.add_suffix("_c").join(stab.add_suffix("_s"), how="inner")
    req_c, req_s = both["requests_c"].to_numpy(float), both["requests_s"].to_numpy(float)
    shared = (req_c >= MIN_REQUESTS_PER_PERIOD) & (req_s >= MIN_REQUESTS_PER_PERIOD)
    n_shared = int(shared.sum())
    if n_shared < MIN_SHARED_PERIODS:
        return _thin(
            n_shared,
            f"only {n_shared} {periods} in which both served at least "
            f"{MIN_REQUESTS_PER_PERIOD} requests",
        )
    details: list[str] = []
    ratios: dict[str, float] = {}
    slower: dict[str, tuple[float, float]] = {}
    for stat in ("p95", "p99"):
        if cand[stat].isna().all() or stab[stat].isna().all():  # no such series at all
            ratios[stat] = float("nan")
            continue
        lat_c = both[f"{stat}_c"].to_numpy(float)[shared]
        lat_s = both[f"{stat}_s"].to_numpy(float)[shared]
        keep = ~np.isnan(lat_c) & ~np.isnan(lat_s) & (lat_s > 0)
        ratio = lat_c[keep] / lat_s[keep]
        ratios[stat] = float(np.median(ratio)) if len(ratio) else float("nan")
        wins = int((ratio > 1).sum())
        p = _sign_test_p(wins, len(ratio))
        slower[stat] = (wins / len(ratio) if len(ratio) else float("nan"), p)
        details.append(
            f"{stat}: candidate/stable median ratio {ratios[stat]:.2f} over {len(ratio)} shared "
            f"{periods}; candidate slower in {100 * slower[stat][0]:.0f} % of them (p = {p:.2g})"
        )
    x1 = float(np.nansum(both["errors_c"].to_numpy(float)[shared]))
    x2 = float(np.nansum(both["errors_s"].to_numpy(float)[shared]))
    n1, n2 = float(req_c[shared].sum()), float(req_s[shared].sum())
    p_err = _two_proportion_p(x1, n1, x2, n2)
    e1, e2 = 100 * x1 / n1, 100 * x2 / n2
    details.append(
        f"5xx: {e1:.2f} % vs {e2:.2f} % ({x1:,.0f} of {n1:,.0f} vs {x2:,.0f} of "
        f"{n2:,.0f} requests; p = {p_err:.2g})"
    )
    worse: list[str] = []
    better: list[str] = []
    for stat in ("p99", "p95"):
        if stat in slower and slower[stat][1] < ALPHA and abs(ratios[stat] - 1) >= 0.05:
            (worse if ratios[stat] > 1 else better).append(f"{stat} {_pct(ratios[stat])}")
    if p_err < ALPHA and abs(e1 - e2) >= 0.05:
        (worse if e1 > e2 else better).append(f"5xx {e1:.2f} % vs {e2:.2f} %")
    if worse:
        status, headline = "regression", f"{candidate} is worse than {stable}: " + ", ".join(worse)
    elif better:
        status, headline = (
            "improvement",
            f"{candidate} is better than {stable}: " + ", ".join(better),
        )
    else:
        status = "no_difference"
        headline = f"No significant difference between {candidate} and {stable}"
    return Verdict(
        status,
        headline,
        tuple(details),
        n_shared,
        ratios.get("p99", math.nan),
        ratios.get("p95", math.nan),
        e1,
        e2,
        p_err,
    )


def _pct(ratio: float) -> str:
    return f"{100 * (ratio - 1):+.0f} %"


def _thin(n: int, why: str) -> Verdict:
    return _no_verdict("not_enough_data", f"Not enough shared traffic for a verdict: {why}.", n)


def unknown_verdict(why: str) -> Verdict:
    """No verdict because its series could not be read (not because traffic was thin)."""
    return _no_verdict("unknown", f"No canary verdict: {why}", 0)


def _no_verdict(status: str, headline: str, n: int) -> Verdict:
    nan = float("nan")
    return Verdict(status, headline, (), n, nan, nan, nan, nan, nan)


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


__all__ = ["REV_KEYS", "Verdict", "canary_verdict", "cards", "default_selection", "markers"]


# (label, CARD_COLUMNS field, format, True when a rise is bad)
CARD_METRICS: tuple[tuple[str, str, str, bool], ...] = (
    ("p50", "p50_ms", "{:,.0f} ms", True),
    ("p95", "p95_ms", "{:,.0f} ms", True),
    ("p99", "p99_ms", "{:,.0f} ms", True),
    ("5xx", "error_5xx_pct", "{:.2f} %", True),
    ("Cold starts / 1k req", "cold_starts_per_1k", "{:.2f}", True),
    ("Startup p95", "startup_p95_ms", "{:,.0f} ms", True),
    ("Cost / M requests", "cost_per_million", "${:,.2f}", True),
    ("Traffic share", "request_share_pct", "{:.1f} %", False),
)
VERDICT_METHOD = (
    "Only the periods in which **both** revisions served at least "
    f"{MIN_REQUESTS_PER_PERIOD} requests count, so daily cycles and incidents that hit both "
    "cancel out. Latency: the candidate's per-period p95/p99 divided by the stable one's "
    "(median ratio), with an exact sign test on how often the candidate was slower. Errors: "
    f"pooled 5xx rates and a two-proportion z-test. A difference is called when p < {ALPHA} "
    "and it is at least 5 % (latency) or 0.05 points (errors)."
)


def card_value(
    card: pd.Series, ref: pd.Series | None, field: str, fmt: str
) -> tuple[str, str | None]:
    """The figure as text and its change against the reference revision ("—" when unknown)."""
    value = card[field]
    if pd.isna(value):
        return "—", None
    text = fmt.format(value)
    if ref is None or pd.isna(ref[field]):
        return text, None
    base = float(ref[field])
    if field.endswith("_pct"):
        return text, f"{value - base:+.2f} pt"
    if base == 0:
        return text, None
    return text, f"{100 * (value - base) / base:+.0f} %"


def card_caption(card: pd.Series) -> str:
    """The card's line under its title; says so first when the revision served no request."""
    created = card["created"]
    when = f"created {created:%Y-%m-%d %H:%M} UTC · " if pd.notna(created) else ""
    conc = "?" if pd.isna(card["concurrency"]) else int(card["concurrency"])
    idle = "served no requests in this window · " if not card["requests"] > 0 else ""
    return (
        f"{idle}{when}{card['traffic_pct']:.0f} % of traffic · concurrency {conc} · "
        f"{card['cpu']:g} vCPU · {card['memory_gib']:g} GiB · {card['billing']}-based"
    )


def card_header(revision: str, color: str, role: str) -> str:
    """HTML for a card's title: the revision in its chart colour, and its role."""
    name, col, what = html.escape(revision), html.escape(color), html.escape(role)
    return (
        f'<div style="font-weight:600"><span style="color:{col}">&#9632;</span> '
        f'<span style="color:{col}">{name}</span> <span style="color:#666">{what}</span></div>'
    )


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
