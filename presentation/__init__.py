"""What the pages show as text: figures, cards, verdicts and captions (the tables' column
formats: presentation.columns; the cost wording: presentation.cost).

Pure: no streamlit, no collectors, no Google. The analysis (insights/, costmodel/) returns
numbers, statuses and records; this package words them, so a figure is formatted one way on
every page. Unknown figures are shown as ``UNKNOWN`` ("—"), never as 0.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import pandas as pd

from insights.overview import Flagged
from insights.revisions import ALPHA, MIN_REQUESTS_PER_PERIOD, Verdict

UNKNOWN = "—"

# ---------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figure:
    """One headline figure (a st.metric): its label, value and change as text."""

    label: str
    value: str
    delta: str | None = None
    help: str | None = None
    inverse: bool = False  # True when a rise is bad (the change is drawn red)


def number(value: float, fmt: str = "{:,.0f}") -> str:
    """``value`` in ``fmt``, or "—" when it is unknown (NaN)."""
    return UNKNOWN if math.isnan(value) else fmt.format(value)


def dollars(value: float) -> str:
    """Money for display: "—" when unknown, never "$-0.00"."""
    if not math.isfinite(value):
        return UNKNOWN
    return f"${round(value, 2) + 0.0:,.2f}"


def per_day(value: float) -> str:
    """A count a day for display: "unknown" when it could not be measured."""
    if not math.isfinite(value):
        return "unknown"
    return f"{value:,.0f}"


def percent(share: float, digits: int = 3) -> str:
    """A share (0..1) as a percentage."""
    return f"{100 * share:.{digits}f} %"


class CostChange(Protocol):
    """A what-if estimate's change against the current setting (insights.tuning.Pick)."""

    @property
    def cost_delta(self) -> float: ...

    @property
    def cost_delta_pct(self) -> float: ...


def bounded(value: float, bound: str, fmt: str) -> str:
    """A percentile as text: "< 10 ms" / "> 60,000 ms" where it lies beyond the bucket layout
    (``bound`` "<" or ">", ``value`` the layout's bound), else the number ("—" when unknown)."""
    text = number(value, fmt)
    return f"{bound} {text}" if bound and text != UNKNOWN else text


def delta_text(p: CostChange) -> str | None:
    """The cost change as text: dollars and percent (percent left out from a $0 base)."""
    if not math.isfinite(p.cost_delta):
        return None
    pct = f" ({p.cost_delta_pct:+.0f} %)" if math.isfinite(p.cost_delta_pct) else ""
    return f"{p.cost_delta:+,.2f} $/month{pct}"


# --------------------------------------------------------------------- revision cards

# (label, insights.revisions.CARD_COLUMNS field, format, True when a rise is bad)
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


def card_value(
    card: pd.Series, ref: pd.Series | None, field: str, fmt: str
) -> tuple[str, str | None]:
    """The figure as text and its change against the reference revision ("—" when unknown)."""
    value = card[field]
    if pd.isna(value):
        return UNKNOWN, None
    edge = field.removesuffix("_ms") + "_bound"
    beyond = str(card[edge]) if edge in card.index and pd.notna(card[edge]) else ""
    text = bounded(float(value), beyond, fmt) if beyond else fmt.format(value)
    ref_beyond = ref is not None and edge in ref.index and bool(ref[edge])
    if ref is None or pd.isna(ref[field]) or beyond or ref_beyond:
        return text, None  # no change against a bound: only one side of it is known
    base = float(ref[field])
    if field.endswith("_pct"):
        return text, f"{value - base:+.2f} pt"
    if base == 0:
        return text, None
    return text, f"{100 * (value - base) / base:+.0f} %"


def card_figures(card: pd.Series, ref: pd.Series | None) -> list[Figure]:
    """Every figure of a revision's card, with its change against ``ref`` (the stable one)."""
    out = []
    for label, field, fmt, worse_up in CARD_METRICS:
        value, delta = card_value(card, ref, field, fmt)
        out.append(Figure(label, value, delta, inverse=worse_up))
    return out


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


def card_role(revision: str, stable: str, candidate: str) -> str:
    """ "stable", "candidate" or "" (the word after a card's title)."""
    if revision == stable:
        return "stable"
    return "candidate" if revision == candidate else ""


def card_header(revision: str, color: str, role: str) -> str:
    """HTML for a card's title: the revision in its chart colour, and its role."""
    name, col, what = html.escape(revision), html.escape(color), html.escape(role)
    return (
        f'<div style="font-weight:600"><span style="color:{col}">&#9632;</span> '
        f'<span style="color:{col}">{name}</span> <span style="color:#666">{what}</span></div>'
    )


# ------------------------------------------------------------------------- verdicts

VERDICT_METHOD = (
    "Only the periods in which **both** revisions served at least "
    f"{MIN_REQUESTS_PER_PERIOD} requests count, so daily cycles and incidents that hit both "
    "cancel out. Latency: the candidate's per-period p95/p99 divided by the stable one's "
    "(median ratio), with an exact sign test on how often the candidate was slower. Errors: "
    f"pooled 5xx rates and a two-proportion z-test. A difference is called when p < {ALPHA} "
    "and it is at least 5 % (latency) or 0.05 points (errors)."
)


def _periods(v: Verdict) -> str:
    return f"periods of {v.period_s // 60} min"


def _findings(v: Verdict, figures: Iterable[str]) -> str:
    """The figures a verdict called, e.g. "p99 +12 %, 5xx 1.20 % vs 0.30 %"."""
    ratios = {"p95": v.p95_ratio, "p99": v.p99_ratio}
    return ", ".join(
        f"5xx {v.error_candidate_pct:.2f} % vs {v.error_stable_pct:.2f} %"
        if figure == "5xx"
        else f"{figure} {100 * (ratios[figure] - 1):+.0f} %"
        for figure in figures
    )


def verdict_headline(v: Verdict) -> str:
    """The verdict in one sentence."""
    if v.status == "regression":
        return f"{v.candidate} is worse than {v.stable}: {_findings(v, v.worse)}"
    if v.status == "improvement":
        return f"{v.candidate} is better than {v.stable}: {_findings(v, v.better)}"
    if v.status == "no_difference":
        return f"No significant difference between {v.candidate} and {v.stable}"
    if v.status == "unknown":
        return f"No canary verdict: {v.reason}"
    why = (
        f"only {v.shared_periods} {_periods(v)} in which both served at least "
        f"{MIN_REQUESTS_PER_PERIOD} requests"
        if v.both_served
        else "one of the two revisions served no requests in this window"
    )
    return f"Not enough shared traffic for a verdict: {why}."


def verdict_details(v: Verdict) -> list[str]:
    """How the verdict was reached: each latency test, then the 5xx rates (none without a
    comparison)."""
    if v.status not in ("regression", "improvement", "no_difference"):
        return []
    lines = [
        f"{t.stat}: candidate/stable median ratio {t.ratio:.2f} over {t.periods} shared "
        f"{_periods(v)}; candidate slower in {100 * t.slower_share:.0f} % of them "
        f"(p = {t.p_value:.2g})"
        for t in v.latency
    ]
    x1, n1, x2, n2 = v.error_counts
    lines.append(
        f"5xx: {v.error_candidate_pct:.2f} % vs {v.error_stable_pct:.2f} % ({x1:,.0f} of "
        f"{n1:,.0f} vs {x2:,.0f} of {n2:,.0f} requests; p = {v.error_p_value:.2g})"
    )
    return lines


def verdict_tone(v: Verdict) -> Literal["error", "success", "info"]:
    """How the verdict is drawn: a regression as an error, an improvement as a success."""
    return (
        "error" if v.status == "regression" else "success" if v.status == "improvement" else "info"
    )


TRAFFIC_COMMANDS_NOTE = (
    "Each command names every revision that keeps traffic, the shares adding up to 100; "
    "runwatch never runs them (its identity is read-only)."
)
# A traffic command's action (actions/traffic.py TrafficCommand.action) in a few words.
TRAFFIC_ACTION_WORDS = {
    "rollback": "roll back",
    "next_step": "next canary step",
    "promote": "promote",
}


def traffic_commands_label(suggested: str | None) -> str:
    """The traffic commands' opener, naming the suggested action (if any)."""
    label = "Act on the verdict: traffic commands"
    return f"{label} (suggested: {TRAFFIC_ACTION_WORDS[suggested]})" if suggested else label


def canary_note(v: Verdict) -> str:
    """A canary regression as an overview flag, quoting the verdict's figures."""
    return f"canary {v.candidate} regressed against {v.stable}: {_findings(v, v.worse)}"


# ------------------------------------------------------------------------- overview


def attention_lines(flagged: Sequence[Flagged]) -> list[str]:
    """Markdown, one line per flagged service: its name in bold, where it runs, its flags."""
    return [
        f"**{f.service}** ({f'{f.project}, ' if f.project else ''}{f.location}): {f.flags}"
        for f in flagged
    ]


# ---------------------------------------------------------------------- cold starts


def cold_start_figures(
    starts: float,
    per_day: float,
    per_1k: float,
    startup_p95_ms: float,
    *,
    p95_help: str,
    p95_bound: str = "",
) -> list[Figure]:
    """The four headline figures of the cold-starts page ("—" where unknown)."""
    return [
        Figure("Cold starts", f"{starts:,.0f}", help="Instance starts in the window (all reasons)"),
        Figure("Per day", f"{per_day:,.1f}"),
        Figure("Per 1k requests", number(per_1k, "{:.2f}")),
        Figure("Startup p95", bounded(startup_p95_ms, p95_bound, "{:,.0f} ms"), help=p95_help),
    ]


def start_reason_figures(by_reason: Mapping[str, int], oom: int, rejected: int) -> list[Figure]:
    """Starts of (at most) three reasons, by name, then OOM kills and 429 rejections."""
    shown = [Figure(f"Starts: {r}", f"{n:,}") for r, n in sorted(by_reason.items())[:3]]
    return [*shown, Figure("OOM kills / 429 rejections", f"{oom:,} / {rejected:,}")]


def events_missing_note(starts_metric: float) -> str:
    return (
        "The instance events could not be read, so starts by reason, startup times from "
        "the logs, OOM kills, failed starts, 429 rejections and the other platform failures "
        "are unknown. The startup-latency metric "
        f"counts {starts_metric:,.0f} starts in this window."
    )


def logs_disagree_note(starts: int, starts_metric: float) -> str:
    return (
        f"Logs show {starts:,} starts but the startup-latency metric counts "
        f"{starts_metric:,.0f}: some log entries may be missing."
    )
