"""Cloud Run instance lifecycle from Cloud Logging -> INSTANCE_EVENTS (with data quality).

One ``entries.list`` query per project and window (filter: collectors.logfilters; parsing:
collectors.logparse), ``page_size`` 1000, ``order_by "timestamp asc"``, explicit timestamp
bounds. Every attempt, retries included, first takes a call from the project's process-wide
budget (collectors.budget): when the budget is spent the query stops, keeps what it read and
says so (``truncated``), so runwatch never exceeds Google's 60 calls a minute. At most
``settings.log_max_pages`` pages are read (beyond: ``truncated``). An empty page with a token
means "not finished" and counts as a page. Entries are de-duplicated by (logName, timestamp,
insertId) across pages. A quota error is not retried: the budget is closed for the rest of the
minute, the pages already read are kept and the result is ``partial`` with the quota's name
and limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd
from google.cloud.logging_v2.types import ListLogEntriesRequest

from collectors import errors, logfilters, rpc, schema
from collectors.budget import PROCESS_BUDGETS, WINDOW_S, Budgets, CallBudget
from collectors.logparse import EventAccumulator, cold_start_agreement
from collectors.monitoring import MetricScope
from collectors.schema import Quality, Result
from foundation import names

if TYPE_CHECKING:
    from collectors.clients import Clients
    from config import Settings

__all__ = [
    "BudgetExhausted",
    "LogStats",
    "build_request",
    "cold_start_agreement",
    "fetch_instance_events",
    "fetch_instance_events_detailed",
    "fetch_project_events",
]

PAGE_SIZE = 1000  # Cloud Logging's maximum


class BudgetExhausted(errors.RunwatchError):
    """runwatch's own Logging call budget for a project is spent for this minute."""


@dataclass(frozen=True)
class LogStats:
    """What one project's query cost and saw."""

    project: str
    pages: int
    entries: int
    duplicates: int
    events: int


def build_request(
    project: str,
    start: datetime,
    end: datetime,
    *,
    services: Iterable[str] = (),
    regions: Iterable[str] = (),
    page_size: int = PAGE_SIZE,
    logs: tuple[str, ...] = logfilters.LOGS,
) -> ListLogEntriesRequest:
    """The first-page request of a project's lifecycle query (pure)."""
    if not 1 <= page_size <= PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {PAGE_SIZE}")
    return ListLogEntriesRequest(
        resource_names=[f"projects/{names.project(project)}"],
        filter=logfilters.instance_events_filter(
            project, start, end, services=services, regions=regions, logs=logs
        ),
        order_by=logfilters.ORDER_BY,
        page_size=page_size,
    )


def _budgeted(clients: Clients, budget: CallBudget, project: str, max_wait_s: float) -> Any:
    """``list_log_entries`` behind the budget: every attempt (retries too) takes one call."""

    def list_page(**kwargs: Any) -> Any:
        if not budget.acquire(max_wait_s):
            # rpc.call counted this attempt before calling us; no RPC happened: uncount it.
            clients.counter.add(rpc.LIST_LOG_ENTRIES.name, -1)
            raise BudgetExhausted(
                f"runwatch's Cloud Logging budget for {project} "
                f"({budget.per_minute} entries.list calls a minute, under Google's 60) is "
                "used up for this minute",
                method=rpc.LIST_LOG_ENTRIES,
            )
        return clients.logging.list_log_entries(**kwargs)

    return list_page


def fetch_project_events(
    clients: Clients,
    project: str,
    start: datetime,
    end: datetime,
    *,
    settings: Settings,
    services: Iterable[str] = (),
    regions: Iterable[str] = (),
    budgets: Budgets | None = None,
    page_size: int = PAGE_SIZE,
    max_wait_s: float = 0.0,
) -> tuple[Result, LogStats]:
    """One project's INSTANCE_EVENTS for ``[start, end)`` with its data quality.

    Two queries, one after the other, each with its own page cap: the instance lifecycle
    (varlog/system: a few thousand entries a week) first, then the platform's rejections in the
    requests log (one entry per rejected request: a service stuck at max instances can write
    tens of thousands). So a flood of 429s can truncate the rejections, never the cold starts.
    """
    budget = (budgets or PROCESS_BUDGETS).for_project(project, settings.log_calls_per_minute)
    acc = EventAccumulator()
    pages_read = 0
    quality = Quality()
    for logs, what in (
        (("system",), "instance lifecycle logs"),
        (("requests",), "rejected-request logs"),
    ):
        request = build_request(
            project, start, end, services=services, regions=regions, page_size=page_size, logs=logs
        )
        paged = clients.pages(
            rpc.LIST_LOG_ENTRIES,
            _budgeted(clients, budget, project, max_wait_s),
            request,
            what=f"{what} of {project}",
            max_pages=settings.log_max_pages,
        )
        for page in paged.pages:
            pages_read += 1
            raw = type(page).pb(page) if hasattr(type(page), "pb") else page
            acc.add(raw.entries)
        quality = quality.merge(
            _quality(paged, f"{what} of {project}", settings.log_max_pages, budget)
        )
        if isinstance(paged.error, BudgetExhausted | errors.QuotaExceeded):
            break  # no budget left for the second query this minute
    stats = LogStats(project, pages_read, acc.entries_read, acc.duplicates, len(acc))
    return Result(acc.frame(), quality), stats


def _quality(paged: rpc.Paged[Any], what: str, max_pages: int, budget: CallBudget) -> Quality:
    kept = f"; kept the {len(paged.pages)} page(s) read before" if paged.pages else ""
    err = paged.error
    if isinstance(err, BudgetExhausted):
        return Quality("truncated", (f"{err.message}: stopped early{kept}",))
    if isinstance(err, errors.QuotaExceeded):
        # Google says the quota is spent: ask nothing more of this project this minute.
        budget.block_for(WINDOW_S)
        return Quality("partial", (f"{what}: {err.message}{kept}",))
    if err is not None:
        return Quality("partial", (f"{what}: {err.message}{kept}",))
    if paged.truncated:
        return Quality(
            "truncated",
            (
                f"{what}: read the first {max_pages} page(s) "
                f"(RUNWATCH_LOG_MAX_PAGES) and more remain; older events are complete, "
                "the newest are missing",
            ),
        )
    return Quality()


class _Window(Protocol):
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...


def fetch_instance_events_detailed(
    clients: Clients,
    projects: Sequence[str],
    window: _Window,
    scope: object | None = None,
    *,
    settings: Settings,
    budgets: Budgets | None = None,
    page_size: int = PAGE_SIZE,
    max_wait_s: float = 0.0,
) -> tuple[Result, list[LogStats]]:
    """INSTANCE_EVENTS for every project (one query each, in parallel), quality merged.

    ``window`` is a foundation.window.TimeWindow (or anything with tz-aware ``start``/``end``);
    ``scope`` a MetricScope, a dashboard Scope or None: its services and regions narrow the
    filter (revisions do not: one cached result serves every revision selection).
    """
    mscope = MetricScope.of(scope)
    projects = tuple(dict.fromkeys(names.project(p) for p in projects))
    if not projects:
        return Result(schema.empty(schema.INSTANCE_EVENTS)), []
    for project in projects:  # bad input fails before any call
        build_request(
            project,
            window.start,
            window.end,
            services=mscope.services,
            regions=mscope.regions,
            page_size=page_size,
        )

    def one(project: str) -> tuple[Result, LogStats]:
        return fetch_project_events(
            clients,
            project,
            window.start,
            window.end,
            settings=settings,
            services=mscope.services,
            regions=mscope.regions,
            budgets=budgets,
            page_size=page_size,
            max_wait_s=max_wait_s,
        )

    if len(projects) == 1:
        outs = [one(projects[0])]
    else:
        with ThreadPoolExecutor(max_workers=min(8, len(projects))) as pool:
            outs = list(pool.map(one, projects))
    frames = [r.frame for r, _ in outs if not r.frame.empty]
    quality = Quality()
    for r, _ in outs:
        quality = quality.merge(r.quality)
    if not frames:
        frame = schema.empty(schema.INSTANCE_EVENTS)
    elif len(frames) == 1:
        frame = frames[0]
    else:
        frame = pd.concat(frames, ignore_index=True).sort_values("timestamp", kind="stable")
        frame = schema.conform(frame, schema.INSTANCE_EVENTS)
    return Result(frame, quality), [s for _, s in outs]


def fetch_instance_events(
    clients: Clients,
    projects: Sequence[str],
    window: _Window,
    scope: object | None = None,
    *,
    settings: Settings,
    budgets: Budgets | None = None,
    page_size: int = PAGE_SIZE,
    max_wait_s: float = 0.0,
) -> Result:
    """INSTANCE_EVENTS with its data quality (see ``fetch_instance_events_detailed``)."""
    result, _ = fetch_instance_events_detailed(
        clients,
        projects,
        window,
        scope,
        settings=settings,
        budgets=budgets,
        page_size=page_size,
        max_wait_s=max_wait_s,
    )
    return result
