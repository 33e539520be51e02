"""Cloud Run platform log entries -> INSTANCE_EVENTS rows (pure: no API calls, no clock).

Entries are raw ``google.logging.v2.LogEntry`` protobuf messages (``LogEntry.pb()`` instances), as
they come over the wire or as a JSON export parsed with ``google.protobuf.json_format``. Messages
are matched by pattern, never by exact string, because Google's documented and observed wordings
differ slightly (docs/facts.md, Log messages). Only the platform's own messages become events: a
request-log entry without platform text (an application's own 429 or 500) is not a platform
event.

Event names (INSTANCE_EVENTS.event):

========================  =====================================================================
start                     ``Starting new instance. Reason: REASON - …`` (varlog/system)
ready                     ``… STARTUP … probe succeeded after N attempt(s) …``
probe_failed              ``… STARTUP … probe failed N time(s) consecutively …``
oom                       ``Memory limit of N MiB exceeded with M MiB used. …`` (also the older
                          ``512M``/``526M`` spelling and other units; figures kept in MiB)
signal9                   ``Container terminated on signal 9.``
exit                      ``Container called exit(N).``
shutdown                  ``Shutting down user disabled instance``
start_failed              ``terminated: Application failed to start: …`` or ``Application exec
                          likely failed`` (varlog/system): a failed start, joined to the start
                          it ends (that start's ``outcome`` is "failed")
no_instance_429           requests log, ``…aborted because there was no available instance``,
                          HTTP 429 (max instances reached)
no_instance_5xx           the same text with status 500/503 (same platform meaning: no instance
                          could take the request; the status is kept in ``detail``)
start_failed_500          requests log, ``…instance could not start successfully``
readiness_503             requests log, ``…instance failed the readiness check``
connection_error_5xx      requests log, ``…either the HTTP response was malformed or connection
                          to the instance had an error`` (the instance crashed or was killed
                          mid-request; usually 503)
oom_request_5xx           requests log, ``…the container instance was found to be using too much
                          memory and was terminated…`` (an out-of-memory kill seen by the request
                          it was serving; 500 or 503)
========================  =====================================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from collectors import schema

SYSTEM_LOG_ID = "run.googleapis.com%2Fvarlog%2Fsystem"
REQUESTS_LOG_ID = "run.googleapis.com%2Frequests"

START_RE = re.compile(r"^Starting new instance\.(?: Reason: ([A-Z_]+))?")
READY_RE = re.compile(r"\bSTARTUP\b.*\bprobe succeeded after (\d+) attempts?", re.IGNORECASE)
PROBE_FAILED_RE = re.compile(r"\bSTARTUP\b.*\bprobe failed (\d+) times?", re.IGNORECASE)
_AMOUNT = r"(\d+(?:\.\d+)?)\s?([KMGT]i?B?|B)?"
OOM_RE = re.compile(rf"^Memory limit of {_AMOUNT} exceeded with {_AMOUNT} used", re.IGNORECASE)
SIGNAL9_RE = re.compile(r"^Container terminated on signal 9\b")
EXIT_RE = re.compile(r"^Container called exit\((-?\d+)\)")
SHUTDOWN_RE = re.compile(r"^Shutting down user disabled instance")
START_TERMINATED_RE = re.compile(r"^terminated: Application failed to start\b:?\s*(.*)")
EXEC_FAILED_RE = re.compile(r"^Application exec likely failed\b")
NO_INSTANCE_RE = re.compile(r"no available instance", re.IGNORECASE)
START_FAILED_RE = re.compile(r"instance could not start successfully", re.IGNORECASE)
READINESS_RE = re.compile(r"instance failed the readiness check", re.IGNORECASE)
CONNECTION_ERROR_RE = re.compile(
    r"HTTP response was malformed or connection to the instance had an error", re.IGNORECASE
)
OOM_REQUEST_RE = re.compile(r"using too much memory and was terminated", re.IGNORECASE)

# Platform failures, in the order the cold-starts page and the export list them.
FAILURE_EVENTS = (
    "oom",
    "oom_request_5xx",
    "signal9",
    "exit",
    "start_failed",
    "probe_failed",
    "connection_error_5xx",
    "no_instance_429",
    "no_instance_5xx",
    "start_failed_500",
    "readiness_503",
)
# A start-failure line logged up to this long before its start line still ends that start
# (the platform's agents stamp lines independently; the join does not depend on their order).
JOIN_SKEW_NS = 1_000_000_000
# Failure lines this close to the one before end the same start (one failed start writes two).
FAILURE_LINES_NS = 5_000_000_000
# Bytes per unit of the memory figures; a bare K/M/G/T is the binary unit ("512M" is 512 MiB,
# as the older wording wrote the configured "512Mi").
_UNIT_BYTES = {
    "": 2**20,
    "b": 1,
    **{u.lower(): 2 ** (10 * (i + 1)) for i, u in enumerate("KMGT")},
    **{f"{u.lower()}i": 2 ** (10 * (i + 1)) for i, u in enumerate("KMGT")},
    **{f"{u.lower()}ib": 2 ** (10 * (i + 1)) for i, u in enumerate("KMGT")},
    **{f"{u.lower()}b": 10 ** (3 * (i + 1)) for i, u in enumerate("KMGT")},
}

REASONS = ("AUTOSCALING", "DEPLOYMENT_ROLLOUT", "MANUAL_OR_CUSTOMER_MIN_INSTANCE")

_DETAIL_MAX = 200


@dataclass(frozen=True)
class Classified:
    """What one platform message means."""

    event: str
    reason: str = ""
    detail: str = ""


def log_kind(log_name: str) -> str:
    """'system', 'requests' or '' from a full logName (URL-encoded log id)."""
    log_id = log_name.rpartition("/logs/")[2]
    if log_id == SYSTEM_LOG_ID:
        return "system"
    if log_id == REQUESTS_LOG_ID:
        return "requests"
    return ""


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:_DETAIL_MAX]


def classify_text(
    kind: str, text: str, status: int = 0, scaling_reason: str = ""
) -> Classified | None:
    """Classify one message; ``kind`` is 'system' or 'requests' (see ``log_kind``).

    Returns None for anything that is not a platform lifecycle event.
    """
    if kind == "system":
        return _classify_system(text, scaling_reason)
    if kind == "requests":
        return _classify_request(text, status)
    return None


def _classify_system(text: str, scaling_reason: str) -> Classified | None:
    text = text.lstrip()
    m = START_RE.match(text)
    if m:
        reason = m.group(1) or scaling_reason
        return Classified("start", reason, "")
    m = READY_RE.search(text)
    if m:
        return Classified("ready", "", _first_line(text))
    m = PROBE_FAILED_RE.search(text)
    if m:
        return Classified("probe_failed", "", _first_line(text))
    m = OOM_RE.match(text)
    if m:
        limit, used = _mib(m.group(1), m.group(2)), _mib(m.group(3), m.group(4))
        return Classified("oom", "", f"limit_mib={limit:g} used_mib={used:g}")
    if SIGNAL9_RE.match(text):
        return Classified("signal9", "", "signal=9")
    m = EXIT_RE.match(text)
    if m:
        return Classified("exit", "", f"exit_code={m.group(1)}")
    if SHUTDOWN_RE.match(text):
        return Classified("shutdown", "", "")
    m = START_TERMINATED_RE.match(text)
    if m:
        return Classified("start_failed", "", _first_line(m.group(1)) or "failed to start")
    if EXEC_FAILED_RE.match(text):
        return Classified("start_failed", "", "exec likely failed")
    return None


def _mib(amount: str, unit: str | None) -> float:
    """A memory figure as MiB, rounded to 0.1 (see ``_UNIT_BYTES``)."""
    mib = float(amount) * _UNIT_BYTES[(unit or "").lower()] / 2**20
    return float(round(mib, 1))


def _classify_request(text: str, status: int) -> Classified | None:
    if not text:
        return None  # an application's own response: never a platform event
    detail = f"status={status}"
    if NO_INSTANCE_RE.search(text):
        return Classified("no_instance_429" if status == 429 else "no_instance_5xx", "", detail)
    if START_FAILED_RE.search(text):
        return Classified("start_failed_500", "", detail)
    if READINESS_RE.search(text):
        return Classified("readiness_503", "", detail)
    if OOM_REQUEST_RE.search(text):
        return Classified("oom_request_5xx", "", detail)
    if CONNECTION_ERROR_RE.search(text):
        return Classified("connection_error_5xx", "", detail)
    return None


def classify_entry(entry: Any) -> tuple[Classified, dict[str, Any]] | None:
    """Classify one raw LogEntry protobuf; return the meaning and the row's identity fields."""
    kind = log_kind(entry.log_name)
    if not kind or entry.WhichOneof("payload") != "text_payload":
        return None
    status = entry.http_request.status if entry.HasField("http_request") else 0
    labels = entry.labels
    found = classify_text(kind, entry.text_payload, status, labels.get("scaling_reason", ""))
    if found is None:
        return None
    res = entry.resource.labels
    ident = {
        "seconds": entry.timestamp.seconds,
        "nanos": entry.timestamp.nanos,
        "project_id": res.get("project_id", ""),
        "location": res.get("location", ""),
        "service": res.get("service_name", ""),
        "revision": res.get("revision_name", ""),
        "instance_id": labels.get("instanceId", ""),
        "log_name": entry.log_name,
        "insert_id": entry.insert_id,
    }
    return found, ident


class EventAccumulator:
    """Collects classified rows across pages, de-duplicated by (logName, timestamp, insertId).

    Returns counts so a caller can report how many duplicates it saw; ``frame()`` builds the
    INSTANCE_EVENTS frame (sorted by time, startup joined) at the end.
    """

    def __init__(self) -> None:
        self._seen: set[tuple[str, int, int, str]] = set()
        self._rows: list[dict[str, Any]] = []
        self.entries_read = 0
        self.duplicates = 0

    def add(self, entries: Iterable[Any]) -> None:
        for entry in entries:
            self.entries_read += 1
            key = (entry.log_name, entry.timestamp.seconds, entry.timestamp.nanos, entry.insert_id)
            if key in self._seen:
                self.duplicates += 1
                continue
            self._seen.add(key)
            got = classify_entry(entry)
            if got is None:
                continue
            found, ident = got
            ident.update(event=found.event, reason=found.reason, detail=found.detail)
            self._rows.append(ident)

    def __len__(self) -> int:
        return len(self._rows)

    def frame(self) -> pd.DataFrame:
        return events_frame(self._rows)


def events_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows from ``classify_entry`` (with event/reason/detail) -> conformed INSTANCE_EVENTS."""
    if not rows:
        return schema.empty(schema.INSTANCE_EVENTS)
    df = pd.DataFrame(rows)
    ns = df["seconds"].to_numpy(dtype=np.int64) * 1_000_000_000 + df["nanos"].to_numpy(
        dtype=np.int64
    )
    df["timestamp"] = pd.to_datetime(ns, unit="ns", utc=True)
    df["startup_ms"] = np.nan
    df["outcome"] = ""
    df = df.sort_values(["timestamp", "log_name", "insert_id"], kind="stable")
    df = join_startup(df.reset_index(drop=True))
    return schema.conform(df, schema.INSTANCE_EVENTS)


_JOINED = ("start", "ready", "start_failed")


def join_startup(df: pd.DataFrame) -> pd.DataFrame:
    """Join each start to how it ended: ``startup_ms`` and ``outcome`` on start rows.

    The key is (project, location, revision, instance_id). A ready row ends the latest start at
    or before it that is still open (``outcome`` "ready", ``startup_ms`` the time between); a
    start_failed row ends the latest open start at or before it, or one logged up to
    ``JOIN_SKEW_NS`` after it (``outcome`` "failed"); a second failure line of the same start
    (Cloud Run writes "Application exec likely failed" and "terminated: …") joins it too. Rows
    at the same instant are taken starts first, so the result does not depend on the order the
    lines were logged in. Starts without an instanceId (AUTOSCALING starts often lack it) keep
    NaN and "": how they ended is unknown, not zero.
    """
    out = df.copy()
    keyed = out[(out["instance_id"] != "") & out["event"].isin(_JOINED)]
    if keyed.empty:
        return out
    startup = out["startup_ms"].to_numpy(dtype=float, copy=True)
    outcome = out["outcome"].to_numpy(dtype=object, copy=True)
    ts_ns = out["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    rank = keyed["event"].map({"start": 0, "ready": 1, "start_failed": 1})
    keyed = keyed.assign(_ns=ts_ns[keyed.index], _rank=rank)
    keyed = keyed.sort_values(["_ns", "_rank"], kind="stable")
    keys = ["project_id", "location", "revision", "instance_id"]
    for _, group in keyed.groupby(keys, sort=False):
        pending: list[int] = []  # open start row positions, in time order
        failed_at: list[int] = []  # failure lines seen before any open start
        last_failed, last_fail_ns = -1, 0  # the start the latest failure line ended, when
        for pos, event, ns in zip(group.index, group["event"], group["_ns"], strict=True):
            p = int(pos)
            if event == "start":
                early = [f for f in failed_at if int(ns) - ts_ns[f] <= JOIN_SKEW_NS]
                failed_at.clear()
                if early:
                    outcome[p] = "failed"
                    last_failed = p
                else:
                    pending.append(p)
            elif event == "ready":
                if pending:
                    start_pos = pending.pop()
                    startup[start_pos] = (ts_ns[p] - ts_ns[start_pos]) / 1e6
                    outcome[start_pos] = "ready"
            else:  # start_failed
                if last_failed >= 0 and int(ns) - last_fail_ns <= FAILURE_LINES_NS:
                    pass  # another line of the same failure
                elif pending:
                    last_failed = pending.pop()
                    outcome[last_failed] = "failed"
                else:
                    failed_at.append(p)
                last_fail_ns = int(ns)
    out["startup_ms"] = startup
    out["outcome"] = outcome
    return out


def failure_counts(events: pd.DataFrame) -> dict[str, int]:
    """Platform failures in INSTANCE_EVENTS, by event (``FAILURE_EVENTS``, in that order).

    Every failure line counts once, except start_failed: it counts failed starts (the starts
    whose outcome is "failed", and any other instance with failure lines, whose start is
    outside the window or unknown), not the one or two lines each writes; a failure line
    without an instanceId counts on its own."""
    counts = events["event"].value_counts()
    out = {e: int(counts.get(e, 0)) for e in FAILURE_EVENTS}
    failed = events[events["event"] == "start_failed"]
    if not failed.empty:
        keys = ["project_id", "location", "revision", "instance_id"]
        ended = events[(events["event"] == "start") & (events["outcome"] == "failed")]
        joined = set(ended[keys].itertuples(index=False, name=None))
        named = failed[failed["instance_id"] != ""]
        others = {k for k in named[keys].itertuples(index=False, name=None) if k not in joined}
        out["start_failed"] = len(ended) + len(others) + int((failed["instance_id"] == "").sum())
    return out


def cold_start_agreement(events: pd.DataFrame, metric_points: pd.DataFrame) -> dict[str, Any]:
    """Cold starts counted from logs against the startup_latencies sample count.

    ``events`` is INSTANCE_EVENTS; ``metric_points`` is METRIC_POINTS (rows with
    metric="startup_latencies" and stat="count" are used; others ignored). Every instance start
    (all reasons) produces one startup-latency sample, so the two should agree. Returns
    ``from_logs``, ``from_metric``, ``ratio`` (logs / metric, NaN when the metric is 0),
    ``relative_difference`` (|logs - metric| / metric) and ``by_revision`` (list of dicts).
    Pending metric points are included: they are real samples that may still grow.
    """
    starts = events[events["event"] == "start"]
    by_log = starts.groupby(["service", "revision"]).size()
    mp = metric_points
    sel = mp[(mp["metric"] == "startup_latencies") & (mp["stat"] == "count")]
    by_metric = sel.groupby(["service", "revision"])["value"].sum()
    from_logs = int(by_log.sum())
    from_metric = float(by_metric.sum())
    both = pd.concat([by_log.rename("from_logs"), by_metric.rename("from_metric")], axis=1)
    both = both.fillna(0.0)
    both = both.sort_index()
    by_revision = [
        {
            "service": str(key[0]),
            "revision": str(key[1]),
            "from_logs": int(logs_n),
            "from_metric": float(metric_n),
        }
        for key, logs_n, metric_n in zip(
            both.index, both["from_logs"], both["from_metric"], strict=True
        )
    ]
    ratio = from_logs / from_metric if from_metric > 0 else float("nan")
    rel = abs(from_logs - from_metric) / from_metric if from_metric > 0 else float("nan")
    return {
        "from_logs": from_logs,
        "from_metric": round(from_metric),
        "ratio": ratio,
        "relative_difference": rel,
        "by_revision": by_revision,
    }
