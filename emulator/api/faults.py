"""Fault injection: latency, error codes per method (at a rate or on page N), the Logging read
quota, duplicated / out-of-order log entries, empty log pages, Monitoring execution errors.

``Faults`` is shared by the running server and the test or CLI that switches it: every read and
write goes through one lock, and the servicers take an immutable ``FaultConfig`` snapshot per call.

Spec grammar (``parse_spec``; ``python -m emulator --faults SPEC``), items separated by ``;``:

    latency=SECONDS                 added delay before every call (e.g. latency=0.1)
    METHOD:CODE@RATE                fail that fraction of calls (ListTimeSeries:UNAVAILABLE@0.2)
    METHOD:CODE@pageN               fail requests for page N (ListLogEntries:INTERNAL@page2)
    METHOD:CODE                     fail every call
    quota=N                         Logging entries.list quota: N calls a minute per project
    dup_logs=FRACTION               duplicate that fraction of log entries
    shuffle_logs=FRACTION           move that fraction of log entries out of order
    empty_log_page=1                the first page of every ListLogEntries is empty, with a token
    exec_errors=1                   ListTimeSeries responses carry an execution_errors entry
    seed=N                          seed of the random choices above

METHOD is the short RPC name (ListTimeSeries, ListLogEntries, ListServices, GetService,
ListRevisions, GetRevision, ListLocations) or ``*``. CODE is one of UNAVAILABLE,
DEADLINE_EXCEEDED, INTERNAL, RESOURCE_EXHAUSTED, PERMISSION_DENIED, INVALID_ARGUMENT.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import grpc
from google.rpc import error_details_pb2

from emulator.api.errors import RpcError

CODES = {
    "UNAVAILABLE": grpc.StatusCode.UNAVAILABLE,
    "DEADLINE_EXCEEDED": grpc.StatusCode.DEADLINE_EXCEEDED,
    "INTERNAL": grpc.StatusCode.INTERNAL,
    "RESOURCE_EXHAUSTED": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "PERMISSION_DENIED": grpc.StatusCode.PERMISSION_DENIED,
    "INVALID_ARGUMENT": grpc.StatusCode.INVALID_ARGUMENT,
}

PERMISSIONS = {
    "ListTimeSeries": "monitoring.timeSeries.list",
    "ListLogEntries": "logging.logEntries.list",
    "ListServices": "run.services.list",
    "GetService": "run.services.get",
    "ListRevisions": "run.revisions.list",
    "GetRevision": "run.revisions.get",
    "ListLocations": "run.locations.list",
    "ListSkus": "",  # public prices: no permission, only the API enabled on the project
}

LOGGING_QUOTA_METRIC = "logging.googleapis.com/read_requests"
LOGGING_QUOTA_ID = "ReadRequestsPerMinutePerProject"


class FaultSpecError(ValueError):
    """A --faults spec that cannot be parsed."""


@dataclass(frozen=True)
class MethodFault:
    method: str  # short RPC name or "*"
    code: str  # key of CODES
    rate: float = 1.0  # fraction of calls that fail (ignored when page is set)
    page: int | None = None  # 1-based page number that always fails


@dataclass(frozen=True)
class FaultConfig:
    latency_s: float = 0.0
    errors: tuple[MethodFault, ...] = ()
    logging_quota_per_minute: int | None = None
    dup_logs: float = 0.0
    shuffle_logs: float = 0.0
    empty_log_page: bool = False
    exec_errors: bool = False
    seed: int = 0


def _fraction(name: str, text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise FaultSpecError(f"{name} needs a number between 0 and 1, got {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise FaultSpecError(f"{name} needs a number between 0 and 1, got {text!r}")
    return v


def parse_spec(spec: str) -> FaultConfig:
    """Parse the grammar in this module's docstring; raises FaultSpecError with a clear message."""
    cfg = FaultConfig()
    errors: list[MethodFault] = []
    for raw in spec.split(";"):
        item = raw.strip()
        if not item:
            continue
        if "=" in item and ":" not in item.split("=", 1)[0]:
            key, _, val = item.partition("=")
            key, val = key.strip(), val.strip()
            if key == "latency":
                try:
                    lat = float(val)
                except ValueError:
                    raise FaultSpecError(f"latency needs seconds, got {val!r}") from None
                if lat < 0 or lat > 60:
                    raise FaultSpecError(f"latency must be between 0 and 60 s, got {val!r}")
                cfg = replace(cfg, latency_s=lat)
            elif key == "quota":
                if not val.isdigit() or int(val) < 1:
                    raise FaultSpecError(f"quota needs a positive whole number, got {val!r}")
                cfg = replace(cfg, logging_quota_per_minute=int(val))
            elif key == "dup_logs":
                cfg = replace(cfg, dup_logs=_fraction(key, val))
            elif key == "shuffle_logs":
                cfg = replace(cfg, shuffle_logs=_fraction(key, val))
            elif key == "empty_log_page":
                cfg = replace(cfg, empty_log_page=val not in ("0", "false", ""))
            elif key == "exec_errors":
                cfg = replace(cfg, exec_errors=val not in ("0", "false", ""))
            elif key == "seed":
                if not val.isdigit():
                    raise FaultSpecError(f"seed needs a whole number, got {val!r}")
                cfg = replace(cfg, seed=int(val))
            else:
                raise FaultSpecError(f"unknown fault setting {key!r} in {item!r}")
            continue
        method, sep, rest = item.partition(":")
        if not sep or not method.strip():
            raise FaultSpecError(f"cannot read fault {item!r}: expected METHOD:CODE[@RATE|@pageN]")
        method = method.strip()
        if method != "*" and method not in PERMISSIONS:
            raise FaultSpecError(f"unknown method {method!r}; one of {', '.join(PERMISSIONS)} or *")
        code, _, when = rest.partition("@")
        code = code.strip().upper()
        if code not in CODES:
            raise FaultSpecError(f"unknown status code {code!r}; one of {', '.join(CODES)}")
        when = when.strip()
        if not when:
            errors.append(MethodFault(method, code))
        elif when.startswith("page"):
            num = when[4:]
            if not num.isdigit() or int(num) < 1:
                raise FaultSpecError(f"page fault needs pageN with N >= 1, got {when!r}")
            errors.append(MethodFault(method, code, page=int(num)))
        else:
            errors.append(MethodFault(method, code, rate=_fraction("error rate", when)))
    return replace(cfg, errors=tuple(errors))


def _error_for(method: str, code: str) -> RpcError:
    if code == "PERMISSION_DENIED" and method == "ListSkus":
        msg = (
            "Cloud Billing API has not been used in project 000000000000 before or it is "
            "disabled. Enable it, then retry. (SERVICE_DISABLED, cloudbilling.googleapis.com)"
        )
    elif code == "PERMISSION_DENIED":
        perm = PERMISSIONS.get(method, method)
        msg = f"Permission {perm} denied (or the resource may not exist)."
    elif code == "RESOURCE_EXHAUSTED":
        msg = f"Quota exceeded for {method} (injected fault)."
    else:
        msg = f"Injected {code} fault on {method}."
    return RpcError(CODES[code], msg)


@dataclass
class Faults:
    """Thread-safe fault switchboard, shared by the server and whoever drives it."""

    config: FaultConfig = field(default_factory=FaultConfig)
    clock: Callable[[], float] = time.monotonic  # only for the quota window
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _quota_calls: dict[str, deque[float]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._rng.seed(self.config.seed)

    @classmethod
    def from_spec(cls, spec: str) -> Faults:
        return cls(parse_spec(spec))

    def snapshot(self) -> FaultConfig:
        with self._lock:
            return self.config

    def set(self, config: FaultConfig | str) -> None:
        """Replace the whole configuration (a FaultConfig or a spec string)."""
        cfg = parse_spec(config) if isinstance(config, str) else config
        with self._lock:
            self.config = cfg
            self._rng.seed(cfg.seed)
            self._quota_calls.clear()

    def update(self, **changes: Any) -> None:
        """Change some fields, e.g. ``faults.update(latency_s=0.2)``."""
        with self._lock:
            self.config = replace(self.config, **changes)

    def clear(self) -> None:
        self.set(FaultConfig())

    def draw(self) -> float:
        with self._lock:
            return self._rng.random()

    def rng(self, salt: int) -> random.Random:
        """A private generator for one response (deterministic per config seed and salt)."""
        with self._lock:
            return random.Random(self.config.seed * 1_000_003 + salt)

    def before_call(self, method: str, page: int) -> None:
        """Sleep the added latency, then raise the injected error for this call, if any."""
        cfg = self.snapshot()
        if cfg.latency_s > 0:
            time.sleep(cfg.latency_s)
        for f in cfg.errors:
            if f.method not in ("*", method):
                continue
            if f.page is not None:
                if f.page == page:
                    raise _error_for(method, f.code)
            elif f.rate >= 1.0 or self.draw() < f.rate:
                raise _error_for(method, f.code)

    def charge_logging_read(self, project: str) -> None:
        """Count one entries.list call against the per-minute quota; raise when it is spent."""
        with self._lock:
            limit = self.config.logging_quota_per_minute
            if limit is None:
                return
            now = self.clock()
            calls = self._quota_calls.setdefault(project, deque())
            while calls and calls[0] <= now - 60.0:
                calls.popleft()
            if len(calls) >= limit:
                retry = max(0.0, 60.0 - (now - calls[0]))
                raise _quota_error(project, limit, retry)
            calls.append(now)


def _quota_error(project: str, limit: int, retry_s: float) -> RpcError:
    msg = (
        f"Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' "
        f"of service 'logging.googleapis.com' for consumer 'projects/{project}'."
    )
    info = error_details_pb2.ErrorInfo(
        reason="RATE_LIMIT_EXCEEDED",
        domain="googleapis.com",
        metadata={
            "service": "logging.googleapis.com",
            "consumer": f"projects/{project}",
            "quota_metric": LOGGING_QUOTA_METRIC,
            "quota_limit": LOGGING_QUOTA_ID,
            "quota_limit_value": str(limit),
            "quota_location": "global",
        },
    )
    failure = error_details_pb2.QuotaFailure(
        violations=[
            error_details_pb2.QuotaFailure.Violation(
                subject=f"projects/{project}",
                description=f"{LOGGING_QUOTA_ID}: limit {limit} read requests per minute",
            )
        ]
    )
    retry = error_details_pb2.RetryInfo()
    retry.retry_delay.FromMilliseconds(int(retry_s * 1000))
    return RpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, msg, (info, failure, retry))
