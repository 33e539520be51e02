"""One policy for every RPC: explicit timeouts, bounded jittered retries, clear errors, paging.

Every call to Google (or the emulator) goes through ``call`` or ``fetch_pages``:

- each attempt gets an explicit ``timeout=`` (never the client's 60-90 s defaults) and
  ``retry=None`` (the client's own retry is switched off; ours is below);
- UNAVAILABLE, DEADLINE_EXCEEDED and INTERNAL are retried up to ``policy.attempts`` times with
  exponential backoff and full jitter, all inside ``policy.deadline_s``;
- RESOURCE_EXHAUSTED is never retried here: it becomes ``QuotaExceeded`` naming the quota and
  its limit (from the error's ErrorInfo / QuotaFailure details), and the caller decides whether
  to wait for the next quota window or serve stale data;
- PERMISSION_DENIED becomes ``PermissionDeniedError`` naming the role the identity lacks;
  INVALID_ARGUMENT, NOT_FOUND and the rest become ``CallFailed``. None is retried.

``fetch_pages`` requests one page at a time (each page is its own retried call), so a failure on
page N keeps pages 1..N-1 and reports why the result is partial.

An ``RpcCounter`` counts every attempt per full gRPC method name (the names the emulator
counts too), for the export summary's ``rpc_calls``.
"""

from __future__ import annotations

import copy
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from google.api_core import exceptions as gexc

from collectors.schema import Quality

R = TypeVar("R")


class Method(NamedTuple):
    """A Google API method: which API it belongs to (for role messages) and its gRPC name."""

    api: str  # "monitoring" | "logging" | "run"
    name: str  # full gRPC method name, "package.Service/Method"

    @property
    def short(self) -> str:
        return self.name.rsplit("/", 1)[-1]


LIST_TIME_SERIES = Method("monitoring", "google.monitoring.v3.MetricService/ListTimeSeries")
LIST_LOG_ENTRIES = Method("logging", "google.logging.v2.LoggingServiceV2/ListLogEntries")
LIST_SERVICES = Method("run", "google.cloud.run.v2.Services/ListServices")
GET_SERVICE = Method("run", "google.cloud.run.v2.Services/GetService")
LIST_REVISIONS = Method("run", "google.cloud.run.v2.Revisions/ListRevisions")
GET_REVISION = Method("run", "google.cloud.run.v2.Revisions/GetRevision")
LIST_LOCATIONS = Method("run", "google.cloud.location.Locations/ListLocations")

# The predefined role that grants read access to each API (docs/reliability.md items 5 and 18).
ROLES: Mapping[str, str] = {
    "monitoring": "roles/monitoring.viewer",
    "logging": "roles/logging.viewer",
    "run": "roles/run.viewer",
}
_API_TITLES: Mapping[str, str] = {
    "monitoring": "Cloud Monitoring metrics",
    "logging": "Cloud Logging entries",
    "run": "Cloud Run services and revisions",
}

RETRYABLE: tuple[type[Exception], ...] = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.InternalServerError,
)


# ----------------------------------------------------------------------------------- errors


class RunwatchError(Exception):
    """An error with a message fit for the user (no traceback, says what to do)."""

    def __init__(self, message: str, *, method: Method | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.method = method

    def __str__(self) -> str:
        return self.message


class PermissionDeniedError(RunwatchError):
    """The identity lacks a permission; ``role`` is the predefined role that grants it."""

    def __init__(self, message: str, *, role: str, method: Method | None = None) -> None:
        super().__init__(message, method=method)
        self.role = role


class QuotaExceeded(RunwatchError):
    """RESOURCE_EXHAUSTED: ``quota`` and ``limit`` come from the error details when present."""

    def __init__(
        self, message: str, *, quota: str, limit: int | None, method: Method | None = None
    ) -> None:
        super().__init__(message, method=method)
        self.quota = quota
        self.limit = limit


class CallFailed(RunwatchError):
    """Any other failure: retries exhausted, invalid argument, not found, ..."""

    def __init__(
        self, message: str, *, code: str, attempts: int = 1, method: Method | None = None
    ) -> None:
        super().__init__(message, method=method)
        self.code = code
        self.attempts = attempts


def _google_text(exc: gexc.GoogleAPICallError) -> str:
    text = str(exc.message or "").strip()
    return text if len(text) <= 300 else text[:297] + "..."


def _code_name(exc: gexc.GoogleAPICallError) -> str:
    code = exc.grpc_status_code
    if code is not None:
        return str(code.name)
    return type(exc).__name__


_NUMBER = re.compile(r"\b(\d+)\b")


def quota_details(exc: gexc.GoogleAPICallError) -> tuple[str, int | None]:
    """(quota name, limit) from a RESOURCE_EXHAUSTED error's details, best effort."""
    name = ""
    limit: int | None = None
    meta: Mapping[str, str] = {}
    for detail in exc.details or ():
        dtype = type(detail).__name__
        if dtype == "ErrorInfo":
            meta = dict(detail.metadata)
        elif dtype == "QuotaFailure":
            for violation in detail.violations:
                if not name:
                    name = str(getattr(violation, "quota_id", "") or "") or str(
                        violation.subject or ""
                    )
                if limit is None:
                    value = getattr(violation, "quota_value", 0)
                    if value:
                        limit = int(value)
                    else:
                        found = _NUMBER.search(str(violation.description or ""))
                        limit = int(found.group(1)) if found else None
    if not meta and isinstance(exc.metadata, Mapping):
        meta = dict(exc.metadata)
    name = meta.get("quota_limit") or name or meta.get("quota_metric", "")
    raw_limit = meta.get("quota_limit_value", "")
    if raw_limit.isdigit():
        limit = int(raw_limit)
    if not name:
        name = "unnamed quota"
    return name, limit


def translate(
    exc: Exception, method: Method, *, what: str = "", attempts: int = 1
) -> RunwatchError:
    """Turn a client-library exception into a RunwatchError with a message a user can act on."""
    if isinstance(exc, RunwatchError):
        return exc
    target = f" ({what})" if what else ""
    if isinstance(exc, gexc.PermissionDenied | gexc.Unauthorized):
        role = ROLES.get(method.api, "a viewer role")
        if isinstance(exc, gexc.Unauthorized):
            return RunwatchError(
                f"Google rejected the credentials while reading {_API_TITLES[method.api]}"
                f"{target}: sign in again (gcloud auth application-default login) or check "
                f"the service account. Google said: {_google_text(exc)}",
                method=method,
            )
        return PermissionDeniedError(
            f"Permission denied reading {_API_TITLES[method.api]}{target}: grant the "
            f"dashboard's identity {role} on the project. Google said: {_google_text(exc)}",
            role=role,
            method=method,
        )
    if isinstance(exc, gexc.ResourceExhausted | gexc.TooManyRequests):
        quota, limit = quota_details(exc)
        shown = f"limit {limit}" if limit is not None else "limit not given"
        said = "" if limit is not None else f" Google said: {_google_text(exc)}"
        return QuotaExceeded(
            f"Quota exceeded for {method.short}{target}: {quota} ({shown}). "
            f"Try again in a minute.{said}",
            quota=quota,
            limit=limit,
            method=method,
        )
    if isinstance(exc, gexc.GoogleAPICallError):
        code = _code_name(exc)
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        return CallFailed(
            f"{method.short}{target} failed{tried}: {code}: {_google_text(exc)}",
            code=code,
            attempts=attempts,
            method=method,
        )
    if isinstance(exc, gexc.RetryError):
        return CallFailed(
            f"{method.short}{target} failed: {exc.message}",
            code="RETRY_ERROR",
            attempts=attempts,
            method=method,
        )
    raise exc


# ---------------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class CallPolicy:
    """Timeouts and retries for one logical call (a single page)."""

    timeout_s: float = 30.0  # per attempt
    attempts: int = 3  # total attempts for retryable codes
    deadline_s: float = 60.0  # all attempts and backoff of one call
    backoff_initial_s: float = 0.25
    backoff_max_s: float = 4.0

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.deadline_s <= 0:
            raise ValueError("timeouts must be positive")
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max, initial * 2**n)]."""
        cap = min(self.backoff_max_s, self.backoff_initial_s * 2.0**retry_number)
        return rng.uniform(0.0, cap)


class RpcCounter:
    """Thread-safe count of RPC attempts per full gRPC method name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def add(self, method: str, n: int = 1) -> None:
        with self._lock:
            self._counts[method] = self._counts.get(method, 0) + n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


_RNG = random.Random()
_RNG_LOCK = threading.Lock()


def _jitter(policy: CallPolicy, retry_number: int, rng: random.Random | None) -> float:
    if rng is not None:
        return policy.backoff(retry_number, rng)
    with _RNG_LOCK:
        return policy.backoff(retry_number, _RNG)


def call(
    fn: Callable[..., R],
    request: Any,
    *,
    method: Method,
    policy: CallPolicy,
    counter: RpcCounter | None = None,
    what: str = "",
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> R:
    """Call ``fn(request=..., retry=None, timeout=...)`` under ``policy``.

    Raises a RunwatchError subclass on failure; never returns partial garbage.
    """
    deadline = clock() + policy.deadline_s
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline - clock()
        timeout = min(policy.timeout_s, max(remaining, 0.001))
        if counter is not None:
            counter.add(method.name)
        try:
            return fn(request=request, retry=None, timeout=timeout)
        except RETRYABLE as exc:
            if attempt >= policy.attempts:
                raise translate(exc, method, what=what, attempts=attempt) from None
            pause = _jitter(policy, attempt - 1, rng)
            if clock() + pause >= deadline:
                raise translate(exc, method, what=what, attempts=attempt) from None
            sleep(pause)
        except (gexc.GoogleAPICallError, gexc.RetryError) as exc:
            raise translate(exc, method, what=what, attempts=attempt) from None


# ----------------------------------------------------------------------------------- paging


@dataclass
class Paged(Generic[R]):
    """The pages a list call returned; ``error`` says why it stopped early, if it did."""

    pages: list[R] = field(default_factory=list)
    error: RunwatchError | None = None
    truncated: bool = False  # stopped at max_pages while a next_page_token remained

    @property
    def complete(self) -> bool:
        return self.error is None and not self.truncated

    def quality(self, what: str = "") -> Quality:
        prefix = f"{what}: " if what else ""
        if self.error is not None:
            kept = f" (kept {len(self.pages)} page(s) fetched before)" if self.pages else ""
            return Quality("partial", (f"{prefix}{self.error.message}{kept}",))
        if self.truncated:
            return Quality(
                "truncated", (f"{prefix}stopped after {len(self.pages)} page(s); more remain",)
            )
        return Quality()


def first_page(result: Any) -> Any:
    """The response of one RPC: a GAPIC pager's first page (no extra call), or the response."""
    pages = getattr(result, "pages", None)
    if pages is not None:
        return next(iter(pages))
    return result


def _copy_request(request: Any) -> Any:
    pb_type = getattr(type(request), "pb", None)
    if callable(pb_type) and hasattr(type(request), "wrap"):
        raw = type(request).pb(request)
        return type(request).wrap(copy.deepcopy(raw))
    return copy.deepcopy(request)


def fetch_pages(
    fn: Callable[..., Any],
    request: Any,
    *,
    method: Method,
    policy: CallPolicy,
    counter: RpcCounter | None = None,
    what: str = "",
    max_pages: int | None = None,
    before_call: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> Paged[Any]:
    """Fetch every page of a list call, one retried call per page.

    ``before_call`` runs before each page (a rate budget may block or raise RunwatchError
    there, e.g. QuotaExceeded); ``max_pages`` caps the pages and marks the result truncated. An
    empty page that still carries a ``next_page_token`` means "not finished": we keep going.
    The caller's ``request`` is not modified.
    """
    out: Paged[Any] = Paged()
    req = _copy_request(request)
    while True:
        if max_pages is not None and len(out.pages) >= max_pages:
            out.truncated = True
            return out
        try:
            if before_call is not None:
                before_call()
            response = first_page(
                call(
                    fn,
                    req,
                    method=method,
                    policy=policy,
                    counter=counter,
                    what=what,
                    sleep=sleep,
                    clock=clock,
                    rng=rng,
                )
            )
        except RunwatchError as exc:
            out.error = exc
            return out
        out.pages.append(response)
        token = str(getattr(response, "next_page_token", "") or "")
        if not token:
            return out
        req = _copy_request(req)
        req.page_token = token
