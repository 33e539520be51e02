"""Log-bound events of a simulated revision: instance lifecycle and notable requests.

Only requests worth a log line a collector reads are emitted as RequestEvents: 429 rejections
(no available instance, with Cloud Run's platform text), 5xx answers (no platform text, as
application errors have none), and the requests an out-of-memory kill breaks (``oom_victims``:
they fail with the platform's out-of-memory text or, on every other kill, its malformed-response
text, as both are seen for OOM kills in practice; docs/facts.md). Successful and 404 requests
are left out to keep memory small; their counts are in the request_count series.

Variants the collectors must survive, as real logs have them: every third OOM line spells its
figures the older way ("512M", not "512 MiB"); a failed start (``failed_starts_per_day``) is
triggered by a request that Cloud Run logs a few milliseconds before the start line (it fails
with "could not start successfully"), and writes its "terminated: Application failed to start"
line either with the "Application exec likely failed" line at one instant or a few milliseconds
before its own start line.

About ``MISSING_INSTANCE_ID_SHARE`` of AUTOSCALING start entries carry no instance id, as in
the real exports (fixtures); every other event names its instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
OOM_REQUEST_TEXT = (
    "While handling this request, the container instance was found to be using too much "
    "memory and was terminated. This is likely to cause a new container instance to be used "
    "for the next request to this revision. If you see this message frequently, you may have "
    "a memory leak in your code or may need more memory. Consider creating a new revision "
    "with more memory."
)
CONNECTION_ERROR_TEXT = (
    "The request failed because either the HTTP response was malformed or connection to the "
    "instance had an error. Additional troubleshooting documentation can be found at: "
    "https://cloud.google.com/run/docs/troubleshooting#malformed-response-or-connection-error"
)
START_TERMINATED_TEXTS = (
    "terminated: Application failed to start: The container may have exited abnormally.",
    "terminated: Application failed to start: failed to resolve binary path: error finding "
    'executable "server" in PATH [/usr/local/bin /usr/bin /bin]: no such file or directory',
)
COULD_NOT_START_TEXT = "The request failed because the instance could not start successfully."
SIGNAL9_DELAY_S = 0.05
FAILED_START_S = 0.35  # from a failed start's start line to its failure lines
TRIGGER_S = 0.003  # the request that triggers a start is logged this much before the start
SKEW_S = 0.002  # a failure line stamped this much before its start line (see the module doc)
PATHS = ("/", "/api/v1/items", "/api/v1/orders", "/static/app.js", "/healthz")
Keyed = tuple[float, object]


def instance_events(
    run: RevisionRun | FluidRun,
    start: datetime,
    n_seconds: int,
    where: tuple[str, str, str],
    rng: np.random.Generator,
    failed: Sequence[FailedStart] = (),
) -> tuple[list[tuple[float, InstanceEvent]], list[str]]:
    """(events keyed by their offset in seconds, instance id per lifetime); ``failed``: the
    revision's failed starts (``failed_starts``), written after its instances."""
    region, service, revision = where
    lt = run.lifetimes
    ids = instance_ids(rng, len(lt))
    hide = rng.random(len(lt)) < MISSING_INSTANCE_ID_SHARE
    mem_limit = round(run.spec.memory_gib * 1024)
    secs: list[float] = []
    rows: list[tuple[str, int, dict[str, object]]] = []
    kills = 0
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
                unit = "M" if kills % 3 == 2 else "MiB"
                kills += 1
                secs.append(e)
                mem = {"memory_limit_mib": mem_limit, "memory_used_mib": used, "memory_unit": unit}
                rows.append(("oom", i, mem))
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
    out += _failed_start_events(failed, start, where)
    return out, ids


@dataclass(frozen=True)
class FailedStart:
    """A start that fails (``RevisionSpec.failed_starts_per_day``): its start line's offset in
    seconds, its instance, and the request that triggered it (an index into the run's requests,
    which fails with 500; -1: none)."""

    at_s: float
    instance_id: str
    request: int = -1


def failed_starts(
    run: RevisionRun | FluidRun, start: datetime, n_seconds: int, rng: np.random.Generator
) -> list[FailedStart]:
    """The revision's failed starts from its creation on, Poisson in time (``rng``: their own
    stream, so the rest of the fleet is unchanged). A request-level revision's failed start is
    triggered by the next request that arrives (within a minute): it starts TRIGGER_S after
    that request, which Cloud Run logs first and fails with "could not start successfully"."""
    rate = run.spec.failed_starts_per_day
    born = max(0.0, (run.spec.create_time - start).total_seconds())
    if rate <= 0 or born >= n_seconds:
        return []
    n = int(rng.poisson(rate * (n_seconds - born) / 86_400.0))
    if n == 0:
        return []
    at = np.sort(rng.uniform(born, n_seconds - 1.0, size=n))
    ids = instance_ids(rng, n)
    requests = run if isinstance(run, RevisionRun) else None  # the per-minute model has none
    taken: set[int] = set()
    out = []
    for k in range(n):
        s, j = float(at[k]), -1
        if requests is not None and len(requests.t):
            times = requests.t
            j = int(np.searchsorted(times, s))
            ok = j < len(times) and times[j] - s < 60.0 and requests.status[j] < 500
            ok = ok and j not in taken
            if ok:
                taken.add(j)
                s = float(times[j]) + TRIGGER_S
            else:
                j = -1
        out.append(FailedStart(s, ids[k], j))
    return out


def _failed_start_events(
    failed: Sequence[FailedStart], start: datetime, where: tuple[str, str, str]
) -> list[tuple[float, InstanceEvent]]:
    """A failed start's lines: its start, "terminated: Application failed to start: ..." and
    "Application exec likely failed" (every other one with the first stamped a few milliseconds
    before the start line)."""
    region, service, revision = where
    secs: list[float] = []
    rows: list[tuple[str, str, str]] = []
    for k, f in enumerate(failed):
        s = f.at_s
        first = s + FAILED_START_S if k % 2 == 0 else s - SKEW_S
        secs += [s, first, s + FAILED_START_S]
        rows += [("start", f.instance_id, ""), ("exec_failed", f.instance_id, "")]
        rows.insert(-1, ("start_terminated", f.instance_id, START_TERMINATED_TEXTS[k % 2]))
    stamps = to_datetimes(start, np.asarray(secs))
    out = []
    for sec, ts, (kind, iid, text) in zip(secs, stamps, rows, strict=True):
        reason = "AUTOSCALING" if kind == "start" else ""
        ev = InstanceEvent(ts, service, revision, region, iid, kind, reason=reason, detail=text)
        out.append((sec, ev))
    return out


@dataclass(frozen=True)
class Broken:
    """A request the platform failed: its status and text, how long it took to fail (from its
    arrival to the kill, or to the failed start) and the instance that served it (a lifetime
    index, or the id of an instance that never started)."""

    status: int
    text: str
    latency_s: float
    lifetime: int = -1
    instance_id: str = ""


def start_victims(failed: Sequence[FailedStart]) -> dict[int, Broken]:
    """The requests that triggered a failed start: they fail with 500."""
    return {
        f.request: Broken(500, COULD_NOT_START_TEXT, FAILED_START_S, instance_id=f.instance_id)
        for f in failed
        if f.request >= 0
    }


def oom_victims(run: RevisionRun) -> dict[int, Broken]:
    """The requests an out-of-memory kill breaks, by request index.

    At each kill, the requests then in flight are shared among the ready instances; the
    killed one's share (at most its concurrency, at least one when any is in flight) fails.
    The platform's out-of-memory text (status 500 or 503) and its malformed-response text (503)
    take turns by kill."""
    lt = run.lifetimes
    kills = np.flatnonzero(lt.oom_end)
    if len(kills) == 0 or len(run.t) == 0:
        return {}
    begin = run.t + run.wait
    end = begin + run.svc
    out: dict[int, Broken] = {}
    for n, i in enumerate(kills):
        e = float(lt.end[i])
        flying = [j for j in np.flatnonzero((begin <= e) & (end > e)).tolist() if j not in out]
        if not flying:
            continue
        ready = int(((lt.ready <= e) & (lt.end >= e)).sum())
        share = min(run.spec.concurrency, -(-len(flying) // max(ready, 1)))
        if n % 2 == 0:
            status, text = (503 if n % 4 == 0 else 500), OOM_REQUEST_TEXT
        else:
            status, text = 503, CONNECTION_ERROR_TEXT
        for j in flying[:share]:  # each answered when the instance was killed
            out[j] = Broken(status, text, e - float(run.t[j]), lifetime=int(i))
    return out


def fail_victims(run: RevisionRun, victims: dict[int, Broken]) -> None:
    """Set the victims' statuses in ``run.status`` (before its series are drawn, so the
    request_count series count them as the logs do)."""
    for j, broken in victims.items():
        run.status[j] = broken.status


def request_events(
    run: RevisionRun,
    start: datetime,
    ids: list[str],
    where: tuple[str, str, str],
    rng: np.random.Generator,
    victims: dict[int, Broken] | None = None,
) -> list[tuple[float, RequestEvent]]:
    """429 rejections and 5xx answers of the revision (``victims``: the ones the platform
    failed, see ``oom_victims`` and ``start_victims``), keyed by their offset in seconds."""
    region, service, revision = where
    victims = victims or {}
    err = np.flatnonzero(run.status >= 500)
    n_rej = len(run.rejected_t)
    secs = np.concatenate([run.rejected_t, run.t[err]])
    status = np.concatenate([np.full(n_rej, 429), run.status[err]])
    served = run.svc[err] + run.wait[err]
    owner_ids: list[str | None] = [None] * n_rej
    texts: dict[int, str] = {}
    for k, (j, o) in enumerate(zip(err.tolist(), _owner(run, run.t[err]).tolist(), strict=True)):
        hit = victims.get(j)
        if hit is None:
            owner_ids.append(ids[o] if o >= 0 else None)
            continue
        owner_ids.append(hit.instance_id or ids[hit.lifetime])
        texts[n_rej + k] = hit.text
        served[k] = hit.latency_s
    latency = np.concatenate([np.full(n_rej, run.max_wait_s), served])
    paths = rng.integers(0, len(PATHS), size=len(secs))
    post = rng.random(len(secs)) < 0.3
    stamps = to_datetimes(start, secs)
    out = []
    for k, ts in enumerate(stamps):
        code = int(status[k])
        ev = RequestEvent(
            timestamp=ts,
            service=service,
            revision=revision,
            region=region,
            instance_id=owner_ids[k],
            status=code,
            latency_s=round(float(latency[k]), 6),
            method="POST" if post[k] else "GET",
            path=PATHS[int(paths[k])],
            platform_text=NO_INSTANCE_TEXT if code == 429 else texts.get(k),
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
