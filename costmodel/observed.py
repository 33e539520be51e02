"""What each revision and service actually cost in a window, from Cloud Monitoring's figures.

Inputs: METRIC_POINTS (billable_instance_time, cpu/memory allocation_time, request_count,
instance_count by state, request_latencies mean, startup_latencies count/mean) and REVISIONS.

Split per revision: CPU, memory, requests and idle min instances.
- Request-based: a min instance that is not active is billed at the idle rate (docs/facts.md,
  Prices); we assume billable_instance_time includes that idle time, as the emulator does
  (unconfirmed for Google). The per-minute split is traffic.active_idle_split.
- Instance-based: every billed second is at the instance rate; the idle min-instance share is
  reported (``idle_min_s``, part of ``idle_min`` cost) but costs the full rate.
- vCPU- and GiB-seconds come from the allocation metrics when present, else billable time x
  the revision's cpu / memory.

Projection to a month: window cost x (average month / window length), average month = 30.4375
days (365.25 / 12, prices.json ``month_days``). The free tier is off by default here: it is per
billing account, so it belongs to the whole fleet's bill, not to one revision.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import numpy as np
import pandas as pd

from costmodel import prices
from costmodel.bill import Bill, Usage, price
from costmodel.errors import CannotEstimate, refuse_gpus
from costmodel.traffic import Config, Traffic, active_idle_split, from_metric_points

COLUMNS = {
    "project_id": "string",
    "location": "string",
    "service": "string",
    "revision": "string",
    "billing": "string",
    "tier": "string",
    "requests": "float64",
    "billable_s": "float64",
    "idle_min_s": "float64",
    "cpu": "float64",  # dollars in the window (active CPU)
    "memory": "float64",
    "requests_cost": "float64",
    "idle_min": "float64",  # idle min instances (CPU + memory)
    "total": "float64",
    "monthly_total": "float64",
    "monthly_idle_min": "float64",  # idle_min projected to a month like monthly_total
    "window_days": "float64",
    "unconfirmed": "string",  # rates used that no primary source confirmed ("" when none)
    "cannot_estimate": "string",  # the reason, when no figure can be given ("" otherwise)
}


def split_usage(traffic: Traffic, config: Config) -> tuple[Usage, float]:
    """(window usage, idle min-instance seconds) of one revision's observed series."""
    bill_s = traffic.billable_s
    _, idle = active_idle_split(traffic, config)
    total_s = float(bill_s.sum())
    vcpu = float(traffic.cpu_alloc_s.sum()) or total_s * config.cpu
    gib = float(traffic.memory_alloc_s.sum()) or total_s * config.memory_gib
    share_idle = float(idle.sum()) / total_s if total_s > 0 else 0.0
    if config.billing == "request":
        usage = Usage(
            "request",
            active_vcpu_s=vcpu * (1 - share_idle),
            active_gib_s=gib * (1 - share_idle),
            idle_vcpu_s=vcpu * share_idle,
            idle_gib_s=gib * share_idle,
            requests=float(traffic.requests.sum()),
        )
    else:
        usage = Usage("instance", active_vcpu_s=vcpu, active_gib_s=gib)
    return usage, float(idle.sum())


def _split_bill(bill: Bill, usage: Usage, idle_s: float, billable_s: float) -> dict[str, float]:
    cpu = bill.component("cpu")
    mem = bill.component("memory")
    req = bill.component("requests")
    if usage.billing == "request":
        idle_lines = sum(ln.cost for ln in bill.lines if "idle min" in ln.name)
        cpu_idle = sum(ln.cost for ln in bill.lines if ln.name.startswith("CPU (idle"))
        mem_idle = idle_lines - cpu_idle
        return {
            "cpu": cpu - cpu_idle,
            "memory": mem - mem_idle,
            "requests_cost": req,
            "idle_min": idle_lines,
        }
    share = idle_s / billable_s if billable_s > 0 else 0.0
    return {
        "cpu": cpu * (1 - share),
        "memory": mem * (1 - share),
        "requests_cost": req,
        "idle_min": (cpu + mem) * share,
    }


# The amounts of a cost row (observed_costs): summed per service, blanked where unknown.
AMOUNTS = (
    "requests",
    "billable_s",
    "idle_min_s",
    "cpu",
    "memory",
    "requests_cost",
    "idle_min",
    "total",
    "monthly_total",
    "monthly_idle_min",
)


def observed_costs(
    points: pd.DataFrame,
    revisions: pd.DataFrame,
    *,
    start: datetime,
    end: datetime,
    book: prices.PriceBook | None = None,
    free_tier: str = "none",
    period_s: int = 60,
) -> pd.DataFrame:
    """One row per revision in REVISIONS with its cost in ``[start, end)`` and a month's.

    ``period_s`` is the alignment of ``points`` (1-minute points are best; coarser ones are
    spread over their minutes, which keeps every total; the idle min-instance share is then
    under-counted where traffic is bursty inside a period: +1.3 to +1.8 % on the demo canary's
    cost with 5-minute points, under 0.3 % for the other services)."""
    # each revision's points, split once (a fleet has thousands of revisions)
    by_revision = {
        (str(svc), str(rev)): part
        for (svc, rev), part in points.groupby(["service", "revision"], observed=True, sort=False)
    }
    none = points.iloc[:0]

    def traffic_of(rev: dict[str, object], config: Config) -> Traffic:
        return from_metric_points(
            by_revision.get((str(rev["service"]), str(rev["revision"])), none),
            revision=str(rev["revision"]),
            service=str(rev["service"]),
            start=start,
            end=end,
            config=config,
            period_s=period_s,
        )

    return _costs(revisions, traffic_of, start=start, end=end, book=book, free_tier=free_tier)


# The METRIC_POINTS totals a revision's cost is linear in (window_costs).
_LINEAR = {
    "request_count": "requests",
    "billable_instance_time": "billable_s",
    "cpu_allocation_time": "cpu_alloc_s",
    "memory_allocation_time": "memory_alloc_s",
}


def window_costs(
    totals: pd.DataFrame,
    revisions: pd.DataFrame,
    *,
    start: datetime,
    end: datetime,
    book: prices.PriceBook | None = None,
    free_tier: str = "none",
) -> pd.DataFrame:
    """observed_costs from window totals (one point per revision and metric over the window's
    complete periods) for revisions without min instances: their cost is linear in requests,
    billed seconds and allocated vCPU- and GiB-seconds (no idle share to split minute by
    minute), so this is the same figure without building per-minute series. A revision with
    min instances cannot be priced from totals and says so."""
    sel = totals[totals["metric"].isin(list(_LINEAR)) & (totals["stat"] == "value")]
    if "pending" in sel.columns:
        sel = sel[~sel["pending"].astype(bool)]
    sums = sel.groupby(["service", "revision", "metric"], observed=True, as_index=False)[
        "value"
    ].sum()
    per_rev: dict[tuple[str, str], dict[str, float]] = {}
    for svc, rev, metric, value in sums.itertuples(index=False):
        per_rev.setdefault((str(svc), str(rev)), {})[_LINEAR[str(metric)]] = float(value)

    def traffic_of(rev: dict[str, object], config: Config) -> Traffic:
        if config.min_instances:
            raise CannotEstimate("its min instances need per-minute series (not window totals)")
        got = per_rev.get((str(rev["service"]), str(rev["revision"])), {})

        def one(name: str) -> np.ndarray:  # the window as a single period
            return np.array([got.get(name, 0.0)])

        return Traffic(
            start=start,
            requests=one("requests"),
            latency_s=np.array([np.nan]),
            billable_s=one("billable_s"),
            cpu_alloc_s=one("cpu_alloc_s"),
            memory_alloc_s=one("memory_alloc_s"),
            has_observations=True,
        )

    return _costs(revisions, traffic_of, start=start, end=end, book=book, free_tier=free_tier)


def _costs(
    revisions: pd.DataFrame,
    traffic_of: Callable[[dict[str, object], Config], Traffic],
    *,
    start: datetime,
    end: datetime,
    book: prices.PriceBook | None,
    free_tier: str,
) -> pd.DataFrame:
    book = prices.load() if book is None else book
    window_s = (end - start).total_seconds()
    rows: list[dict[str, object]] = []
    for rev in revisions.to_dict("records"):
        row: dict[str, object] = {
            k: rev.get(k, "") for k in ("project_id", "location", "service", "revision")
        }
        row.update(window_days=window_s / 86_400.0, unconfirmed="", cannot_estimate="")
        try:
            config = Config.from_row({str(k): v for k, v in rev.items()})
            refuse_gpus(config.gpu, "it")
            tier = book.tier(str(rev["location"]))
            traffic = traffic_of({str(k): v for k, v in rev.items()}, config)
            usage, idle_s = split_usage(traffic, config)
            bill = price(usage, book, str(rev["location"]), free_tier=free_tier)
            billable = float(traffic.billable_s.sum())
            split = _split_bill(bill, usage, idle_s, billable)
            row.update(
                billing=config.billing,
                tier=tier,
                requests=float(traffic.requests.sum()),
                billable_s=billable,
                idle_min_s=idle_s,
                total=bill.total,
                monthly_total=bill.total * book.month_s / window_s,
                monthly_idle_min=split["idle_min"] * book.month_s / window_s,
                unconfirmed=", ".join(bill.unconfirmed),
                **split,
            )
        except CannotEstimate as exc:
            row.update(billing=str(rev.get("billing", "")), tier="", cannot_estimate=str(exc))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.astype(COLUMNS)


def service_costs(per_revision: pd.DataFrame) -> pd.DataFrame:
    """Sum revision rows per (project, location, service); a service with any revision that
    cannot be estimated says so (its totals then cover only the revisions that could)."""
    keys = ["project_id", "location", "service"]
    money = list(AMOUNTS)
    if per_revision.empty:
        return pd.DataFrame(columns=[*keys, *money, "cannot_estimate"])
    grouped = per_revision.groupby(keys, as_index=False, observed=True)
    out = grouped[money].sum(min_count=1)
    notes = grouped["cannot_estimate"].agg(lambda s: "; ".join(x for x in s if x))
    return out.merge(notes, on=keys)
