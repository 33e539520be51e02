"""Everything for a scope and window, collected in parallel: metrics, lifecycle logs, config.

``collect`` runs the three collectors on a small thread pool (each runs its own requests in
parallel too), so the wall time is about the longest single call chain, not the sum. A
collector that fails outright (e.g. permission denied) does not stop the others: its frames
come back empty with a ``partial`` quality carrying the message, and ``Bundle.errors`` lists it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from collectors import catalog, logs, monitoring, schema, services
from collectors.budget import Budgets
from collectors.errors import RunwatchError
from collectors.logparse import cold_start_agreement
from collectors.schema import Quality, Result
from foundation import names

if TYPE_CHECKING:
    from collectors.clients import Clients
    from config import Settings
    from foundation.window import TimeWindow


@dataclass(frozen=True)
class Bundle:
    """Every frame of schema.FRAMES as a Result, plus what collecting them cost."""

    frames: Mapping[str, Result]
    rpc_calls: Mapping[str, int]  # attempts per full gRPC method name, for this collect
    cold_starts: Mapping[str, Any]  # logparse.cold_start_agreement(...)
    errors: tuple[str, ...] = ()  # collectors that failed outright
    log_stats: tuple[logs.LogStats, ...] = field(default_factory=tuple)

    def __getitem__(self, name: str) -> Result:
        return self.frames[name]

    @property
    def quality(self) -> Quality:
        q = Quality()
        for r in self.frames.values():
            q = q.merge(r.quality)
        return q


def _failed(frame_names: Sequence[str], message: str) -> dict[str, Result]:
    return {n: schema.failed(schema.FRAMES[n], message) for n in frame_names}


def _diff(after: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    out = {k: v - before.get(k, 0) for k, v in after.items()}
    return {k: v for k, v in sorted(out.items()) if v}


def collect(
    clients: Clients,
    projects: Sequence[str],
    window: TimeWindow,
    scope: object | None = None,
    *,
    settings: Settings,
    budgets: Budgets | None = None,
    metrics: Sequence[str] | None = None,
) -> Bundle:
    """METRIC_POINTS, INSTANCE_EVENTS, SERVICES, REVISIONS and TRAFFIC for the scope.

    ``scope``: None (everything), a monitoring.MetricScope or a dashboard Scope; its services
    and regions narrow every query. Bad names raise foundation.names.InvalidName before any
    call. ``budgets`` defaults to the process-wide Logging budgets.
    """
    mscope = monitoring.MetricScope.of(scope)
    projects = [names.project(p) for p in dict.fromkeys(projects)]
    before = clients.counter.snapshot()

    def metrics_job() -> dict[str, Result]:
        wanted = tuple(metrics) if metrics is not None else catalog.ALL
        points = monitoring.fetch_metrics(clients, projects, window, mscope, wanted)
        return {"metric_points": points}

    log_stats: list[logs.LogStats] = []

    def logs_job() -> dict[str, Result]:
        result, stats = logs.fetch_instance_events_detailed(
            clients, projects, window, mscope, settings=settings, budgets=budgets
        )
        log_stats.extend(stats)
        return {"instance_events": result}

    def config_job() -> dict[str, Result]:
        cfg = services.fetch_config(
            clients, projects, regions=mscope.regions, services=mscope.services
        )
        return dict(cfg.frames())

    jobs: list[tuple[tuple[str, ...], Callable[[], dict[str, Result]]]] = [
        (("metric_points",), metrics_job),
        (("instance_events",), logs_job),
        (("services", "revisions", "traffic"), config_job),
    ]
    frames: dict[str, Result] = {}
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="runwatch-collect") as pool:
        futures = [(frame_names, pool.submit(fn)) for frame_names, fn in jobs]
        for frame_names, future in futures:
            try:
                frames.update(future.result())
            except RunwatchError as exc:
                errors.append(exc.message)
                frames.update(_failed(frame_names, exc.message))
    ordered = {n: frames[n] for n in schema.FRAMES}
    events = ordered["instance_events"]
    points = ordered["metric_points"]
    cold = cold_start_agreement(events.frame, points.frame)
    cold["complete"] = events.quality.complete and points.quality.complete
    return Bundle(
        frames=ordered,
        rpc_calls=_diff(clients.counter.snapshot(), before),
        cold_starts=cold,
        errors=tuple(errors),
        log_stats=tuple(log_stats),
    )
