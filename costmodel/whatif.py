"""What-if: a grid of settings (concurrency x min instances x max instances x billing,
optionally cpu and memory) replayed over a service's observed traffic, priced per month, with
the Pareto front of cost against cold starts (among the settings refusing no more requests than
the current one) and the current setting marked.

A setting applies to every revision of the service (as a `gcloud run services update` would
for new revisions; the replay re-runs each revision's own observed traffic under it). Settings
Cloud Run refuses are kept in the table with ``allowed = False`` and the reason.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from costmodel import boost, prices
from costmodel.bill import Usage, price
from costmodel.calibrate import Calibration, RevisionInput, calibrate, current_grid
from costmodel.errors import refuse_gpus
from costmodel.limits import forbidden
from costmodel.replay import Grid, Params, replay
from costmodel.traffic import Config
from foundation.min_schedule import MinSchedule

CONCURRENCIES = (1, 2, 4, 8, 16, 32, 40, 80, 160, 250, 500, 1000)
MIN_INSTANCES = (0, 1, 2, 3, 5)
MAX_INSTANCES = (1, 2, 5, 10, 20, 50, 100)  # besides the current one
BILLINGS = ("request", "instance")
REFUSAL_SLACK_PER_DAY = 0.5  # refused requests a day that still count as "no more than now"

# What identifies a setting (a row of the grid, with ``current`` telling the current row apart).
SETTING = ("concurrency", "min_instances", "max_instances", "billing", "cpu", "memory_gib")
# What the replay says of a setting, priced: in the grid's rows and the variants' alike.
FIGURES = (
    "monthly_cost",
    "cold_starts_per_day",
    "cold_start_share",
    "rejected_per_day",
    "billable_s",
    "instance_s",
    "busy_share",
)
COLUMNS = [*SETTING, "allowed", "reason", *FIGURES, "current", "pareto"]
VARIANT_COLUMNS = [
    "variant",  # what changed, in words ("current" for the current settings)
    "schedule",  # the scheduled min instances (MinSchedule.text()), "" for a constant min
    "startup_cpu_boost",  # "on", "off" or "as set" (each revision's own)
    *FIGURES,
    "startup_s",  # mean startup time assumed (s)
    "boost_vcpu_s",  # the startup CPU boost's billed extra vCPU-seconds over the window
]


@dataclass(frozen=True)
class ServiceInput:
    region: str
    service: str
    revisions: list[RevisionInput]
    serving: Config  # the configuration new settings start from (the serving revision's)
    window_days: float  # length of the observation window


@dataclass(frozen=True)
class WhatIf:
    table: pd.DataFrame  # one row per setting (COLUMNS); current row has current=True
    current: pd.Series
    calibration: Calibration
    window_days: float
    unconfirmed: tuple[str, ...]
    # the current setting's replayed month at list price (no free tier, no discount) in the
    # service's own region: what the observed projection is compared with (their difference is
    # the model's error)
    current_list_cost: float = float("nan")
    # the region whose prices the table uses ("" for the service's own), and the current
    # setting's month in the service's own region (free tier and discount as the table's)
    price_region: str = ""
    home_cost: float = float("nan")
    # the current settings with a change the grid does not hold (scheduled min instances,
    # startup CPU boost flipped), each revision under its own settings otherwise: VARIANT_COLUMNS
    variants: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=VARIANT_COLUMNS))
    schedule: MinSchedule | None = None  # the scheduled min instances the variants replay
    schedule_refused: str = ""  # why the schedule asked for cannot be carried out
    startup_cpu_boost: bool = False  # the serving configuration's
    boost_factor: float = boost.STARTUP_FACTOR  # a boosted start's share of an unboosted one

    def alternatives(self, n: int = 5) -> pd.DataFrame:
        """Cheapest allowed settings on the Pareto front, current excluded."""
        t = self.table
        front = t[t["allowed"] & t["pareto"] & ~t["current"]].copy()
        # Among equal costs, prefer the setting nearest the current one.
        front["_dist"] = np.abs(np.log(front["concurrency"] / float(self.current["concurrency"])))
        front["_cost"] = front["monthly_cost"].round(2)
        return front.sort_values(["_cost", "_dist"]).drop(columns=["_dist", "_cost"]).head(n)


def _grid_rows(
    concurrencies: Sequence[int],
    mins: Sequence[int],
    maxes: Sequence[int],
    billings: Sequence[str],
    cpus: Sequence[float],
    memories: Sequence[float],
) -> pd.DataFrame:
    rows = []
    for c, m, x, b, cpu, mem in itertools.product(
        concurrencies, mins, maxes, billings, cpus, memories
    ):
        reason = forbidden(
            cpu=cpu,
            memory_gib=mem,
            concurrency=c,
            billing=b,
            min_instances=m,
            max_instances=x,
        )
        rows.append(
            {
                "concurrency": c,
                "min_instances": m,
                "max_instances": x,
                "billing": b,
                "cpu": cpu,
                "memory_gib": mem,
                "allowed": reason is None,
                "reason": reason or "",
            }
        )
    return pd.DataFrame(rows).drop_duplicates(list(SETTING))


def refusing_no_more(rejected_per_day: object, current_rejected_per_day: float) -> np.ndarray:
    """True where a setting refuses no more requests (429) than the current one, the only
    settings the Pareto front is of: fewer instances are always cheaper, not a better setting.
    Unknown counts (NaN, the logs incomplete) do not exclude a setting."""
    rejected = np.asarray(rejected_per_day, dtype=float)
    return np.asarray(~(rejected > current_rejected_per_day + REFUSAL_SLACK_PER_DAY))


def pareto_front(cost: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """True where no other point is at least as good on both and better on one."""
    order = np.lexsort((starts, cost))
    best = np.inf
    front = np.zeros(len(cost), dtype=bool)
    for i in order:
        if starts[i] < best - 1e-9:
            front[i] = True
            best = starts[i]
    return front


def evaluate(
    data: ServiceInput,
    *,
    calibration: Calibration | None = None,
    concurrencies: Sequence[int] | None = None,
    min_instances: Sequence[int] | None = None,
    max_instances: Sequence[int] | None = None,
    billings: Sequence[str] = BILLINGS,
    cpus: Sequence[float] | None = None,
    memories: Sequence[float] | None = None,
    book: prices.PriceBook | None = None,
    free_tier: str = "none",
    cud: str | None = None,
    price_region: str | None = None,
    schedule: MinSchedule | None = None,
    startup_cpu_boost: bool | None = None,
    boost_factor: float = boost.STARTUP_FACTOR,
) -> WhatIf:
    """The what-if table for one service; ``price_region``: price it at another region's rates
    (the same replayed traffic: only the prices change); ``schedule``, ``startup_cpu_boost``:
    the current settings with scheduled min instances (and, for comparison, its lowest and
    highest floors held all the time, unless one is the current min) or with the boost on or
    off (a boosted start taking ``boost_factor`` of an unboosted one), in ``variants``."""
    book = prices.load() if book is None else book
    book.tier(data.region)
    where = price_region or data.region
    book.tier(where)  # a region the price book does not know is refused with the reason
    cal = calibrate(data.revisions) if calibration is None else calibration
    s = data.serving
    rows = _grid_rows(
        sorted({*(concurrencies or CONCURRENCIES), s.concurrency}),
        sorted({*(min_instances or MIN_INSTANCES), s.min_instances}),
        sorted({*(max_instances or MAX_INSTANCES), s.max_instances}),
        billings,
        sorted({*(cpus or ()), s.cpu}),
        sorted({*(memories or ()), s.memory_gib}),
    )
    ok = rows[rows["allowed"]]
    grid = _grid_of(ok)
    totals = _replay_all(data.revisions, grid, cal.params)
    current = _replay_own(data.revisions, cal.params)
    monthly = _Monthly(book, book.month_days / data.window_days)

    table = rows.copy()
    for col in (*FIGURES, "current", "pareto"):
        table[col] = np.nan
    idx = ok.index
    usages = [_usage(totals, k, bool(grid.instance_billing[k])) for k in range(len(grid))]
    table.loc[idx, "monthly_cost"] = monthly(usages, free_tier, cud, where)
    _fill(table, idx, totals, data.window_days)
    table["current"] = False
    table["pareto"] = False
    current_usages: list[Usage] = current["usages"]  # type: ignore[assignment]
    cur = _current_row(s, float(sum(monthly(current_usages, free_tier, cud, where))))
    _fill(cur, cur.index, current, data.window_days)
    table = pd.concat([table, cur], ignore_index=True)
    _mark_front(table)
    listed = float(sum(monthly(current_usages, "none", None, data.region)))
    home = float(sum(monthly(current_usages, free_tier, cud, data.region)))
    variants = _variants(
        data, cal.params, lambda u: float(sum(monthly(u, free_tier, cud, where))),
        current, schedule, startup_cpu_boost, boost_factor,
    )  # fmt: skip
    return WhatIf(
        table[COLUMNS],
        table.iloc[-1],
        cal,
        data.window_days,
        _unconfirmed(table, book.rates(where), data.revisions),
        listed,
        price_region="" if where == data.region else where,
        home_cost=home,
        variants=variants,
        schedule=schedule,
        startup_cpu_boost=s.startup_cpu_boost,
        boost_factor=boost_factor,
    )


def _grid_of(rows: pd.DataFrame) -> Grid:
    """The replay's grid of the table's (allowed) rows."""
    return Grid.of(
        concurrency=rows["concurrency"].to_numpy(),
        min_instances=rows["min_instances"].to_numpy(),
        max_instances=rows["max_instances"].to_numpy(),
        instance_billing=(rows["billing"] == "instance").to_numpy(),
        cpu=rows["cpu"].to_numpy(),
        memory_gib=rows["memory_gib"].to_numpy(),
    )


def _unconfirmed(
    table: pd.DataFrame, rates: prices.TierRates, revisions: list[RevisionInput]
) -> tuple[str, ...]:
    """The unconfirmed rates the allowed settings are priced with, and the boost's billing
    when a revision has the boost (its cost is then in every figure)."""
    allowed = table["allowed"].to_numpy(dtype=bool)
    names = [n for b in sorted(set(table.loc[allowed, "billing"])) for n in rates.unconfirmed(b)]
    if any(r.config.startup_cpu_boost for r in revisions):
        names.append(boost.UNCONFIRMED)
    return tuple(dict.fromkeys(names))


class _Monthly:
    """Usages over the window priced as months, each distinct (usage, prices) once: many
    settings share one replayed result."""

    def __init__(self, book: prices.PriceBook, scale: float) -> None:
        self._book, self._scale = book, scale
        self._priced: dict[tuple[Usage, str, str | None, str], float] = {}

    def __call__(
        self, usages: Sequence[Usage], free_tier: str, cud: str | None, region: str
    ) -> list[float]:
        out = []
        for u in usages:
            key = (u, free_tier, cud, region)
            if key not in self._priced:
                bill = price(
                    u.scaled(self._scale), self._book, region, free_tier=free_tier, cud=cud
                )
                self._priced[key] = bill.total
            out.append(self._priced[key])
        return out


def _mark_front(table: pd.DataFrame) -> None:
    """``pareto`` on the allowed settings of the front of cost against cold starts, among those
    refusing no more requests than the current one (the table's last row)."""
    allowed = table["allowed"].to_numpy(dtype=bool)
    current_refused = float(table["rejected_per_day"].iloc[-1])
    candidates = allowed & refusing_no_more(table["rejected_per_day"], current_refused)
    table.loc[table.index[candidates], "pareto"] = pareto_front(
        table.loc[candidates, "monthly_cost"].to_numpy(float),
        table.loc[candidates, "cold_starts_per_day"].to_numpy(float),
    )


def _current_row(s: Config, monthly_cost: float) -> pd.DataFrame:
    """The current setting's row (its figures filled by ``_fill``)."""
    return pd.DataFrame(
        [
            {
                "concurrency": s.concurrency,
                "min_instances": s.min_instances,
                "max_instances": s.max_instances,
                "billing": s.billing,
                "cpu": s.cpu,
                "memory_gib": s.memory_gib,
                "allowed": True,
                "reason": "",
                "monthly_cost": monthly_cost,
                "current": True,
                "pareto": False,
            }
        ]
    )


def _usage(t: dict[str, np.ndarray], k: int, instance: bool) -> Usage:
    return Usage(
        "instance" if instance else "request",
        active_vcpu_s=float(t["active_vcpu_s"][k]),
        active_gib_s=float(t["active_gib_s"][k]),
        idle_vcpu_s=float(t["idle_vcpu_s"][k]),
        idle_gib_s=float(t["idle_gib_s"][k]),
        requests=0.0 if instance else float(t["served"][k]),
    )


_SUMMED = (
    "served",
    "rejected",
    "cold_starts",
    "requests_meeting_cold_start",
    "instance_s",
    "billable_s",
    "idle_min_s",
    "busy_s",
    "active_vcpu_s",
    "active_gib_s",
    "idle_vcpu_s",
    "idle_gib_s",
)


def _replay_all(revs: list[RevisionInput], grid: Grid, params: Params) -> dict[str, np.ndarray]:
    out = {k: np.zeros(len(grid)) for k in _SUMMED}
    for r in revs:
        res = replay(r.traffic, grid.with_boost(r.config.startup_cpu_boost), params)
        for k in _SUMMED:
            out[k] += getattr(res, k)
    return out


def _replay_own(
    revs: list[RevisionInput],
    params: Params,
    schedule: MinSchedule | None = None,
    startup_cpu_boost: bool | None = None,
    boost_factor: float = boost.STARTUP_FACTOR,
) -> dict[str, object]:
    """Every revision under its own settings (with ``schedule`` for its min instances and
    ``startup_cpu_boost`` for its boost, when given): the totals, the usages (one per
    revision) and the mean startup time assumed (weighted by starts)."""
    out: dict[str, object] = {k: np.zeros(1) for k in _SUMMED}
    usages = []
    boost_s = starts_w = startup_w = 0.0
    for r in revs:
        grid = current_grid(r.config)
        traffic = r.traffic
        floors = None
        if schedule is not None:
            floors = np.minimum(
                np.asarray(schedule.floors(traffic.start, traffic.minutes), dtype=float),
                r.config.max_instances,  # a revision's own max holds (older ones may differ)
            )
            lowest = int(floors.min()) if floors.size else 0
            grid = replace(grid, min_instances=np.full(1, lowest))
        if startup_cpu_boost is not None:
            grid = grid.with_boost(startup_cpu_boost)
            traffic = replace(
                traffic,
                startup_s=boost.startup_under(
                    traffic.startup_s, r.config.startup_cpu_boost, startup_cpu_boost, boost_factor
                ),
            )
        res = replay(traffic, grid, params, schedule=floors)
        for k in _SUMMED:
            out[k] = out[k] + getattr(res, k)  # type: ignore[operator]
        usages.append(
            _usage({k: getattr(res, k) for k in _SUMMED}, 0, r.config.billing == "instance")
        )
        boost_s += float(res.boost_vcpu_s[0]) if res.boost_vcpu_s is not None else 0.0
        n = float(res.cold_starts[0])
        starts_w += n
        startup_w += n * (traffic.startup_s if params.startup_s is None else params.startup_s)
    out["usages"] = usages
    out["boost_vcpu_s"] = boost_s
    out["startup_s"] = startup_w / starts_w if starts_w > 0 else float("nan")
    return out


def _variants(
    data: ServiceInput,
    params: Params,
    monthly: Callable[[list[Usage]], float],
    current: dict[str, object],
    schedule: MinSchedule | None,
    startup_cpu_boost: bool | None,
    boost_factor: float,
) -> pd.DataFrame:
    """VARIANT_COLUMNS rows: the current settings (``current``, replayed already), then each
    change asked for."""
    asked: list[tuple[str, MinSchedule | None, bool | None]] = [("current", None, None)]
    if schedule is not None:
        asked.append((f"scheduled: {schedule.describe()}", schedule, None))
        for level in dict.fromkeys((schedule.levels()[0], schedule.levels()[-1])):
            if level == data.serving.min_instances:
                continue  # the current row holds it
            always = MinSchedule((), level, schedule.tz)
            asked.append((f"min {level} all the time", always, None))
    if startup_cpu_boost is not None:
        word = "on" if startup_cpu_boost else "off"
        asked.append((f"startup CPU boost {word}", None, startup_cpu_boost))
    rows = []
    for label, sched, on in asked:
        t = (
            current
            if label == "current"
            else _replay_own(data.revisions, params, sched, on, boost_factor)
        )
        usages: list[Usage] = t["usages"]  # type: ignore[assignment]
        row = pd.DataFrame(
            [
                {
                    "variant": label,
                    "schedule": sched.text() if sched is not None and sched.windows else "",
                    "startup_cpu_boost": "as set" if on is None else ("on" if on else "off"),
                    "monthly_cost": monthly(usages),
                    "startup_s": t["startup_s"],
                    "boost_vcpu_s": t["boost_vcpu_s"],
                }
            ]
        )
        _fill(row, row.index, t, data.window_days)
        rows.append(row)
    return pd.concat(rows, ignore_index=True)[VARIANT_COLUMNS]


def _fill(table: pd.DataFrame, idx: pd.Index, t: Mapping[str, object], days: float) -> None:
    def col(name: str) -> np.ndarray:
        return np.asarray(t[name], dtype=float)

    served = col("served")
    table.loc[idx, "cold_starts_per_day"] = col("cold_starts") / days
    table.loc[idx, "cold_start_share"] = np.where(
        served > 0, col("requests_meeting_cold_start") / np.maximum(served, 1), 0.0
    )
    table.loc[idx, "rejected_per_day"] = col("rejected") / days
    table.loc[idx, "billable_s"] = col("billable_s") + col("idle_min_s")
    table.loc[idx, "instance_s"] = col("instance_s")
    table.loc[idx, "busy_share"] = np.where(
        col("instance_s") > 0, col("busy_s") / np.maximum(col("instance_s"), 1), 0.0
    )


def require_config(config: Config) -> None:
    refuse_gpus(config.gpu, "the service")
