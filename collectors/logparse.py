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
oom                       ``Memory limit of N MiB exceeded with M MiB used. …``
signal9                   ``Container terminated on signal 9.``
exit                      ``Container called exit(N).``
shutdown                  ``Shutting down user disabled instance``
no_instance_429           requests log, ``…aborted because there was no available instance``,
                          HTTP 429 (max instances reached)
no_instance_5xx           the same text with status 500/503 (same platform meaning: no instance
                          could take the request; the status is kept in ``detail``)
start_failed_500          requests log, ``…instance could not start successfully``
readiness_503             requests log, ``…instance failed the readiness check``
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
OOM_RE = re.compile(r"^Memory limit of (\d+(?:\.\d+)?) MiB exceeded with (\d+(?:\.\d+)?) MiB used")
SIGNAL9_RE = re.compile(r"^Container terminated on signal 9\b")
EXIT_RE = re.compile(r"^Container called exit\((-?\d+)\)")
SHUTDOWN_RE = re.compile(r"^Shutting down user disabled instance")
NO_INSTANCE_RE = re.compile(r"no available instance", re.IGNORECASE)
START_FAILED_RE = re.compile(r"instance could not start successfully", re.IGNORECASE)
READINESS_RE = re.compile(r"instance failed the readiness check", re.IGNORECASE)

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
        return Classified("oom", "", f"limit_mib={m.group(1)} used_mib={m.group(2)}")
    if SIGNAL9_RE.match(text):
        return Classified("signal9", "", "signal=9")
    m = EXIT_RE.match(text)
    if m:
        return Classified("exit", "", f"exit_code={m.group(1)}")
    if SHUTDOWN_RE.match(text):
        return Classified("shutdown", "", "")
    return None


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
    df = df.sort_values(["timestamp", "log_name", "insert_id"], kind="stable")
    df = join_startup(df.reset_index(drop=True))
    return schema.conform(df, schema.INSTANCE_EVENTS)


def join_startup(df: pd.DataFrame) -> pd.DataFrame:
    """Fill ``startup_ms`` on start rows from the first later ready row of the same instance.

    The join key is (project, location, revision, instance_id); starts without an instanceId
    (AUTOSCALING starts often lack it) keep NaN: their startup time is unknown, not zero. A ready
    row joins at most one start: the latest start at or before it that is still unmatched.
    """
    out = df.copy()
    keyed = out[(out["instance_id"] != "") & out["event"].isin(["start", "ready"])]
    if keyed.empty:
        return out
    startup = out["startup_ms"].to_numpy(dtype=float, copy=True)
    ts_ns = out["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    keys = ["project_id", "location", "revision", "instance_id"]
    for _, group in keyed.groupby(keys, sort=False):
        pending: list[int] = []  # unmatched start row positions, in time order
        for pos, event in zip(group.index, group["event"], strict=True):
            if event == "start":
                pending.append(int(pos))
            elif pending:
                start_pos = pending.pop()
                startup[start_pos] = (ts_ns[pos] - ts_ns[start_pos]) / 1e6
    out["startup_ms"] = startup
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
