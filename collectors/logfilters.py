"""The Cloud Logging filter for Cloud Run's instance-lifecycle messages (pure).

Two filters per project and window (``logs=("system",)`` for the lifecycle, then
``("requests",)`` for rejections; both together are allowed too) select exactly the platform
messages collectors.logparse understands, so a whole week of a busy project costs a handful of
pages:

    resource.type = "cloud_run_revision"
    AND timestamp >= "START" AND timestamp < "END"
    AND ((logName = ".../varlog%2Fsystem" AND (textPayload : "Starting new instance" OR ...))
         OR (logName = ".../requests" AND (textPayload : "no available instance" OR ...)))
    [AND (resource.labels.service_name = "a" OR ...)] [AND (resource.labels.location = ...)]

Both timestamp bounds are always explicit (the high-level client would otherwise add a silent
24-hour bound, and an open window can scan the whole 30-day bucket). Request logs are selected
only by platform text: an application's own 429s and 500s carry no textPayload and are never
read. Every value goes through ``collectors.filters.quote`` and every OR group is
parenthesised (in the Logging query language OR binds tighter than AND).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from collectors.filters import RESOURCE_TYPE, all_of, any_of, term
from collectors.logparse import REQUESTS_LOG_ID, SYSTEM_LOG_ID
from foundation import names

# Substrings (the ":" operator) that select the messages logparse classifies.
SYSTEM_TEXTS = (
    "Starting new instance",
    "STARTUP",
    "Memory limit of",
    "Container terminated on signal 9",
    "Container called exit",
    "Shutting down user disabled instance",
    "Application failed to start",
    "Application exec likely failed",
)
REQUEST_TEXTS = (
    "no available instance",
    "instance could not start successfully",
    "instance failed the readiness check",
    "connection to the instance had an error",
    "using too much memory and was terminated",
)

ORDER_BY = "timestamp asc"
LOGS = ("system", "requests")
MAX_FILTER_CHARS = 20_000  # Cloud Logging's limit


def log_name(project: str, log_id: str) -> str:
    return f"projects/{names.project(project)}/logs/{log_id}"


def rfc3339(ts: datetime) -> str:
    """UTC RFC 3339 with microseconds and a Z; naive datetimes are refused."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"{ts!r} has no time zone; log filters need tz-aware times")
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _texts(texts: Iterable[str]) -> str:
    return "(" + " OR ".join(term("textPayload", t, ":") for t in texts) + ")"


def instance_events_filter(
    project: str,
    start: datetime,
    end: datetime,
    *,
    services: Iterable[str] = (),
    regions: Iterable[str] = (),
    logs: tuple[str, ...] = LOGS,
) -> str:
    """The entries.list filter for one project's lifecycle events in ``[start, end)``.

    ``logs`` picks the parts: "system" (instance lifecycle, varlog/system) and/or "requests"
    (platform rejections in the requests log)."""
    lo, hi = rfc3339(start), rfc3339(end)
    if not start < end:
        raise ValueError(f"log window start {start} is not before its end {end}")
    unknown = set(logs) - set(LOGS)
    if unknown or not logs:
        raise ValueError(f"logs must be some of {LOGS}, got {logs!r}")
    system = all_of(term("logName", log_name(project, SYSTEM_LOG_ID)), _texts(SYSTEM_TEXTS))
    requests = all_of(term("logName", log_name(project, REQUESTS_LOG_ID)), _texts(REQUEST_TEXTS))
    chosen = [f"({q})" for name, q in (("system", system), ("requests", requests)) if name in logs]
    parts = [
        term("resource.type", RESOURCE_TYPE),
        term("timestamp", lo, ">="),
        term("timestamp", hi, "<"),
        "(" + " OR ".join(chosen) + ")",
    ]
    svc = sorted({names.service(s) for s in services})
    reg = sorted({names.region(r) for r in regions})
    if svc:
        parts.append(any_of("resource.labels.service_name", svc))
    if reg:
        parts.append(any_of("resource.labels.location", reg))
    out = all_of(*parts)
    if len(out) > MAX_FILTER_CHARS:
        raise ValueError(
            f"the log filter would be {len(out)} characters, over Cloud Logging's "
            f"{MAX_FILTER_CHARS}: choose fewer services"
        )
    return out
