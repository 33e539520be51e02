"""FleetData events -> Cloud Run log entries, shaped like the real exports in the fixtures.

Instance events become ``run.googleapis.com%2Fvarlog%2Fsystem`` entries with the platform's
exact wording; request events become ``run.googleapis.com%2Frequests`` entries with an
``httpRequest`` (and a ``textPayload`` only for platform messages). Timestamps carry
nanoseconds, as Cloud Logging keeps them. insertIds, trace ids and receive delays are derived
deterministically from the event, so the same fleet always gives the same entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from google.cloud.logging_v2.types import LogEntry

from emulator.api.logging_filter import SEVERITIES, LogRecord
from emulator.sim.model import FleetData, InstanceEvent, RequestEvent, RevisionSpec
from emulator.sim.util import no_gc

SYSTEM_LOG = "run.googleapis.com%2Fvarlog%2Fsystem"
REQUESTS_LOG = "run.googleapis.com%2Frequests"

START_REASONS = {
    "AUTOSCALING": "Instance started due to configured scaling factors (e.g. CPU utilization, "
    "request throughput, etc.) or no existing capacity for current traffic.",
    "DEPLOYMENT_ROLLOUT": "Instance started due to traffic shifting between revisions due to "
    "deployment, traffic split adjustment, or deployment health check.",
    "MANUAL_OR_CUSTOMER_MIN_INSTANCE": "Instance started because of customer-configured "
    "min-instances or manual scaling.",
}
MEMORY_DOC = "https://cloud.google.com/run/docs/configuring/memory-limits"
_LOG_ENTRY = LogEntry.pb()


class Entry:
    """One log entry: what filters read (``record``) and its serialized LogEntry (``pb``),
    built on first use (a big fleet has hundreds of thousands of entries; few are served)."""

    __slots__ = ("_build", "_pb", "project", "record")

    def __init__(self, record: LogRecord, build: Callable[[], bytes], project: str = "") -> None:
        self.record = record
        self.project = project  # the project whose log bucket holds it
        self._pb: bytes | None = None
        self._build: Callable[[], bytes] | None = build

    @property
    def pb(self) -> bytes:
        pb = self._pb
        if pb is None:
            build = self._build
            assert build is not None
            pb = self._pb = build()
            self._build = None
        return pb


def _digest(*parts: object) -> bytes:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).digest()


def _quick_digest(kind: str, n: int, ts: datetime, revision: str, what: object) -> bytes:
    """``_digest`` for the background services of big fleets: the same role from a cheaper
    text (a tz-aware datetime's repr is slow; the event's index ``n`` is unique already)."""
    return hashlib.blake2b(f"{kind}|{n}|{revision}|{what}".encode(), digest_size=16).digest()


def _shared_resource(
    shared: dict[tuple[str, str, str, str], dict[str, str]] | None,
    project: str,
    ev: InstanceEvent | RequestEvent,
) -> dict[str, str]:
    """The resource labels of an entry, one dict per revision when ``shared`` is given."""
    if shared is None:
        return _resource(project, ev)
    key = (project, ev.region, ev.service, ev.revision)
    res = shared.get(key)
    if res is None:
        res = shared[key] = _resource(project, ev)
    return res


def insert_id(ts: datetime, salt: bytes) -> str:
    """24 hex chars like Cloud Run's: epoch seconds, microseconds, then 8 random-looking."""
    sec = int(ts.timestamp())
    return f"{sec:08x}{ts.microsecond:08x}{salt[:4].hex()}"


def _system_text(ev: InstanceEvent, rev: RevisionSpec | None) -> tuple[str, str]:
    container = rev.container_name if rev else "app"
    port = rev.port if rev else 8080
    if ev.kind == "start":
        reason = ev.reason or "AUTOSCALING"
        desc = START_REASONS.get(reason, "")
        text = (
            f"Starting new instance. Reason: {reason} - {desc}"
            if desc
            else (f"Starting new instance. Reason: {reason}")
        )
        return text, "INFO"
    if ev.kind == "ready":
        return (
            f"Default STARTUP TCP probe succeeded after 1 attempt for container "
            f'"{container}" on port {port}.',
            "INFO",
        )
    if ev.kind == "probe_failed":
        return (
            f"Default STARTUP TCP probe failed 1 time consecutively for container "
            f'"{container}" on port {port}. The instance was not started.\n'
            f"Connection failed with status CANCELLED.",
            "ERROR",
        )
    if ev.kind == "oom":
        limit = (
            ev.memory_limit_mib
            if ev.memory_limit_mib is not None
            else (int(rev.memory_gib * 1024) if rev else 512)
        )
        used = ev.memory_used_mib if ev.memory_used_mib is not None else limit + 1
        if ev.memory_unit == "M":  # the older wording
            return f"Memory limit of {limit}M exceeded with {used}M used.", "ERROR"
        return (
            f"Memory limit of {limit} MiB exceeded with {used} MiB used. Consider "
            f"increasing the memory limit, see {MEMORY_DOC}",
            "ERROR",
        )
    if ev.kind == "start_terminated":
        return ev.detail, "ERROR"
    if ev.kind == "exec_failed":
        return "Application exec likely failed", "ERROR"
    if ev.kind == "signal9":
        return "Container terminated on signal 9.", "WARNING"
    if ev.kind == "exit":
        code = ev.exit_code if ev.exit_code is not None else 0
        return f"Container called exit({code}).", "WARNING"
    if ev.kind == "shutdown":
        return "Shutting down user disabled instance", "INFO"
    raise ValueError(f"unknown instance event kind {ev.kind!r}")


def _resource(project: str, ev: InstanceEvent | RequestEvent) -> dict[str, str]:
    return {
        "project_id": project,
        "service_name": ev.service,
        "revision_name": ev.revision,
        "location": ev.region,
        "configuration_name": ev.service,
    }


def _revisions(fleet: FleetData) -> dict[str, RevisionSpec]:
    return {r.name: r for s in fleet.spec.services for r in s.revisions}


def build_entries(fleet: FleetData) -> list[Entry]:
    """Every log entry of the fleet (each in its service's project), sorted by (timestamp,
    insertId)."""
    with no_gc():
        return _build_entries(fleet)


def _build_entries(fleet: FleetData) -> list[Entry]:
    spec = fleet.spec
    where = {(s.region, s.name): spec.project_of(s) for s in spec.services}
    quick = {(s.region, s.name) for s in spec.services if s.background}
    numbers = {p: spec.number_of(p) for p in spec.projects}
    revs = _revisions(fleet)
    shared: dict[tuple[str, str, str, str], dict[str, str]] = {}
    out: list[Entry] = []
    for n, ev in enumerate(fleet.instance_events):
        project = where.get((ev.region, ev.service), spec.project)
        fast = (ev.region, ev.service) in quick
        entry = _system_entry(project, ev, revs.get(ev.revision), n, shared if fast else None)
        entry.project = project
        out.append(entry)
    for n, rq in enumerate(fleet.request_events):
        project = where.get((rq.region, rq.service), spec.project)
        fast = (rq.region, rq.service) in quick
        entry = _request_entry(project, numbers[project], rq, n, shared if fast else None)
        entry.project = project
        out.append(entry)
    out.sort(key=lambda e: (e.record.timestamp, e.record.insert_id))
    return out


def _set_common(
    pb: object,
    project: str,
    log: str,
    ts: datetime,
    recv: datetime,
    sev: str,
    iid: str,
    res: dict[str, str],
    labels: dict[str, str],
) -> None:
    e = pb
    e.log_name = f"projects/{project}/logs/{log}"  # type: ignore[attr-defined]
    e.resource.type = "cloud_run_revision"  # type: ignore[attr-defined]
    e.resource.labels.update(res)  # type: ignore[attr-defined]
    e.timestamp.FromDatetime(ts)  # type: ignore[attr-defined]
    # Cloud Logging keeps nanoseconds: a few hundred below the microsecond, from the insertId
    e.timestamp.nanos += int(iid[-3:], 16) % 1000  # type: ignore[attr-defined]
    e.receive_timestamp.FromDatetime(recv)  # type: ignore[attr-defined]
    e.severity = SEVERITIES[sev]  # type: ignore[attr-defined]
    e.insert_id = iid  # type: ignore[attr-defined]
    e.labels.update(labels)  # type: ignore[attr-defined]


def _system_entry(
    project: str,
    ev: InstanceEvent,
    rev: RevisionSpec | None,
    n: int,
    shared: dict[tuple[str, str, str, str], dict[str, str]] | None = None,
) -> Entry:
    """``shared``: the quick path of background services (see _quick_digest)."""
    text, sev = _system_text(ev, rev)
    digest = _digest if shared is None else _quick_digest
    salt = digest("sys", n, ev.timestamp, ev.revision, ev.kind)
    labels: dict[str, str] = {}
    if ev.instance_id:
        labels["instanceId"] = ev.instance_id
    if ev.kind == "start":
        labels["scaling_reason"] = ev.reason or "AUTOSCALING"
    if ev.kind == "exit":
        labels["container_name"] = rev.container_name if rev else "app"
    recv = ev.timestamp + timedelta(microseconds=150_000 + salt[4] * 1000)
    iid = insert_id(ev.timestamp, salt)
    res = _shared_resource(shared, project, ev)
    rec = LogRecord(
        ev.timestamp,
        recv,
        f"projects/{project}/logs/{SYSTEM_LOG}",
        "cloud_run_revision",
        res,
        labels,
        SEVERITIES[sev],
        text,
        iid,
    )
    return Entry(rec, partial(_system_pb, project, ev, recv, sev, iid, res, labels, text))


def _system_pb(
    project: str,
    ev: InstanceEvent,
    recv: datetime,
    sev: str,
    iid: str,
    res: dict[str, str],
    labels: dict[str, str],
    text: str,
) -> bytes:
    pb = _LOG_ENTRY()
    _set_common(pb, project, SYSTEM_LOG, ev.timestamp, recv, sev, iid, res, labels)
    pb.text_payload = text
    out: bytes = pb.SerializeToString()
    return out


def _request_entry(
    project: str,
    number: int,
    rq: RequestEvent,
    n: int,
    shared: dict[tuple[str, str, str, str], dict[str, str]] | None = None,
) -> Entry:
    digest = _digest if shared is None else _quick_digest
    salt = digest("req", n, rq.timestamp, rq.revision, rq.status)
    if rq.status >= 500 or (rq.platform_text and rq.status != 429):
        sev = "ERROR"
    elif rq.status >= 400:
        sev = "WARNING"
    else:
        sev = "INFO"
    labels = {"instanceId": rq.instance_id} if rq.instance_id else {}
    recv = rq.timestamp + timedelta(microseconds=200_000 + salt[4] * 1000)
    iid = insert_id(rq.timestamp, salt)
    res = _shared_resource(shared, project, rq)
    url = f"https://{rq.service}-{number}.{rq.region}.run.app{rq.path}"
    rec = LogRecord(
        rq.timestamp,
        recv,
        f"projects/{project}/logs/{REQUESTS_LOG}",
        "cloud_run_revision",
        res,
        labels,
        SEVERITIES[sev],
        rq.platform_text,
        iid,
        rq.status,
        rq.method,
        url,
        rq.latency_s,
    )
    return Entry(rec, partial(_request_pb, project, rq, recv, sev, iid, res, labels, url, salt))


def _request_pb(
    project: str,
    rq: RequestEvent,
    recv: datetime,
    sev: str,
    iid: str,
    res: dict[str, str],
    labels: dict[str, str],
    url: str,
    salt: bytes,
) -> bytes:
    pb = _LOG_ENTRY()
    _set_common(pb, project, REQUESTS_LOG, rq.timestamp, recv, sev, iid, res, labels)
    h = pb.http_request
    h.request_method = rq.method
    h.request_url = url
    h.request_size = 300 + salt[5] * 4
    h.status = rq.status
    if rq.platform_text is None:
        h.response_size = 120 + salt[6] * 8
    h.user_agent = "Mozilla/5.0 (X11; Linux x86_64) runwatch-emulator"
    h.remote_ip = f"192.0.2.{1 + salt[7] % 250}"
    h.server_ip = "34.143.72.2"
    h.latency.FromNanoseconds(round(rq.latency_s * 1e9))
    h.protocol = "HTTP/1.1"
    pb.trace = f"projects/{project}/traces/{salt.hex()}"
    pb.span_id = salt[8:16].hex()
    if rq.platform_text:
        pb.text_payload = rq.platform_text
    out: bytes = pb.SerializeToString()
    return out
