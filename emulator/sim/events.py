"""Log-bound events of a simulated revision: instance lifecycle and notable requests.

Only requests worth a log line a collector reads are emitted as RequestEvents: 429 rejections
(no available instance, with Cloud Run's platform text) and 5xx answers (no platform text, as
application errors have none). Successful and 404 requests are left out to keep memory small;
their counts are in the request_count series.

About ``MISSING_INSTANCE_ID_SHARE`` of AUTOSCALING start entries carry no instance id, as in
the real exports (fixtures); every other event names its instance.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from emulator.sim.instances import AUTOSCALING, REASON_NAMES
from emulator.sim.model import InstanceEvent, RequestEvent
from emulator.sim.revision import RevisionRun
from emulator.sim.util import instance_ids, to_datetimes

if TYPE_CHECKING:
    from emulator.sim.fluid import FluidRun

MISSING_INSTANCE_ID_SHARE = 0.1
NO_INSTANCE_TEXT = (
    "The request was aborted because there was no available instance. Additional "
    "troubleshooting documentation can be found at: "
    "https://cloud.google.com/run/docs/troubleshooting#abort-request"
)
SIGNAL9_DELAY_S = 0.05
PATHS = ("/", "/api/v1/items", "/api/v1/orders", "/static/app.js", "/healthz")
Keyed = tuple[float, object]


def instance_events(
    run: RevisionRun | FluidRun,
    start: datetime,
    n_seconds: int,
    where: tuple[str, str, str],
    rng: np.random.Generator,
) -> tuple[list[tuple[float, InstanceEvent]], list[str]]:
    """(events keyed by their offset in seconds, instance id per lifetime)."""
    region, service, revision = where
    lt = run.lifetimes
    ids = instance_ids(rng, len(lt))
    hide = rng.random(len(lt)) < MISSING_INSTANCE_ID_SHARE
    mem_limit = round(run.spec.memory_gib * 1024)
    secs: list[float] = []
    rows: list[tuple[str, int, dict[str, object]]] = []
    for i in range(len(lt)):
        s, r, e = float(lt.start[i]), float(lt.ready[i]), float(lt.end[i])
        reason = int(lt.reason[i])
        if lt.started[i] and s < n_seconds:
            secs.append(s)
            rows.append(("start", i, {"reason": REASON_NAMES[reason]}))
            if r < n_seconds:
                secs.append(r)
                rows.append(("ready", i, {"startup_ms": float(lt.startup_ms[i])}))
        if e < n_seconds:
            if lt.oom_end[i]:
                used = round(mem_limit * float(rng.uniform(1.01, 1.2)))
                secs.append(e)
                rows.append(("oom", i, {"memory_limit_mib": mem_limit, "memory_used_mib": used}))
                secs.append(e + SIGNAL9_DELAY_S)
                rows.append(("signal9", i, {}))
            else:
                secs.append(e)
                rows.append(("shutdown", i, {}))
    stamps = to_datetimes(start, np.asarray(secs))
    out = []
    for sec, ts, (kind, i, extra) in zip(secs, stamps, rows, strict=True):
        iid: str | None = ids[i]
        if kind == "start" and int(lt.reason[i]) == AUTOSCALING and hide[i]:
            iid = None
        ev = InstanceEvent(ts, service, revision, region, iid, kind, **extra)  # type: ignore[arg-type]
        out.append((sec, ev))
    return out, ids


def request_events(
    run: RevisionRun,
    start: datetime,
    ids: list[str],
    where: tuple[str, str, str],
    rng: np.random.Generator,
) -> list[tuple[float, RequestEvent]]:
    """429 rejections and 5xx answers of the revision, keyed by their offset in seconds."""
    region, service, revision = where
    err = np.flatnonzero(run.status >= 500)
    t_err = run.t[err]
    owner = _owner(run, t_err)
    secs = np.concatenate([run.rejected_t, t_err])
    status = np.concatenate([np.full(len(run.rejected_t), 429), run.status[err]])
    latency = np.concatenate(
        [np.full(len(run.rejected_t), run.max_wait_s), run.svc[err] + run.wait[err]]
    )
    owners = np.concatenate([np.full(len(run.rejected_t), -1), owner])
    paths = rng.integers(0, len(PATHS), size=len(secs))
    post = rng.random(len(secs)) < 0.3
    stamps = to_datetimes(start, secs)
    out = []
    for k, ts in enumerate(stamps):
        code = int(status[k])
        o = int(owners[k])
        ev = RequestEvent(
            timestamp=ts,
            service=service,
            revision=revision,
            region=region,
            instance_id=ids[o] if o >= 0 else None,
            status=code,
            latency_s=round(float(latency[k]), 6),
            method="POST" if post[k] else "GET",
            path=PATHS[int(paths[k])],
            platform_text=NO_INSTANCE_TEXT if code == 429 else None,
        )
        out.append((float(secs[k]), ev))
    return out


def _owner(run: RevisionRun, t: np.ndarray) -> np.ndarray:
    """Index of an instance alive at each time (the latest started), -1 if none."""
    lt = run.lifetimes
    if len(lt) == 0 or len(t) == 0:
        return np.full(len(t), -1)
    idx = np.searchsorted(lt.start, t, side="right") - 1
    ok = (idx >= 0) & (lt.end[np.maximum(idx, 0)] > t)
    return np.where(ok, idx, -1)
