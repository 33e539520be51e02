"""How the pages' tables show their columns: plain data (``ColumnFormat``, a header and a
printf-style format, or a line chart, text or a link) that widgets.column_config turns into
Streamlit's. Pure, like the rest of presentation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ColumnFormat:
    """How a table shows a column: a number with a printf-style format, a line chart, text
    (a percentile's "<" / ">" beside the bound it lies beyond), or a link (``format``: the
    text it shows)."""

    label: str | None = None  # the header (None: the column's name)
    format: str | None = None
    kind: Literal["number", "line", "text", "link"] = "number"
    width: Literal["small", "medium", "large"] | None = None


def _num(label: str | None, fmt: str) -> ColumnFormat:
    return ColumnFormat(label, fmt)


MONEY_COLUMNS = {
    col: _num(col.replace("_", " "), "$%.2f")
    for col in ("cpu", "memory", "requests_cost", "idle_min", "total", "monthly_total")
}
OVERVIEW_COLUMNS = {
    "trend": ColumnFormat("requests/s trend", kind="line", width="small"),
    "requests_per_s": _num("req/s", "%.2f"),
    "error_5xx_pct": _num("5xx %", "%.2f"),
    "p95_bound": ColumnFormat(" ", kind="text", width="small"),  # "<" / ">" before the bound
    "p95_ms": _num("p95 (ms)", "%.0f"),
    "instances_active": _num("active inst.", "%.2f"),
    "instances_idle": _num("idle inst.", "%.2f"),
    "peak_active": _num("peak active", "%.0f"),
    "cold_starts_per_day": _num("cold starts/day", "%.0f"),
    "cpu_p99_pct": _num("CPU p99 %", "%.0f"),
    "memory_p99_pct": _num("memory p99 %", "%.0f"),
    "concurrency_p99": _num("concurrent req. p99", "%.0f"),
    "observed_cost": _num("cost in window", "$%.2f"),
    "monthly_cost": _num("projected $/month", "$%.2f"),
    "console": ColumnFormat("console", "open", kind="link", width="small"),
}
COLD_START_SERVICE_COLUMNS = {
    "cold_starts": _num("cold starts", "%.0f"),
    "per_day": _num("per day", "%.1f"),
    "requests": _num(None, "%.0f"),
    "per_1k_requests": _num("per 1k requests", "%.2f"),
    "startup_p50_bound": ColumnFormat(" ", kind="text", width="small"),
    "startup_p50_ms": _num("startup p50 (ms)", "%.0f"),
    "startup_p95_bound": ColumnFormat(" ", kind="text", width="small"),
    "startup_p95_ms": _num("startup p95 (ms)", "%.0f"),
}
COLD_START_REVISION_COLUMNS = {"per_1k_requests": _num(None, "%.2f")}
