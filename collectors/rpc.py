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
counts too), for the export summary's ``rpc_calls``. The errors are in collectors.errors.
"""

from __future__ import annotations

import copy
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from google.api_core import exceptions as gexc

from collectors.errors import RunwatchError, translate
from collectors.schema import Quality

R = TypeVar("R")


class Method(NamedTuple):
    """A Google API method: which API it belongs to (for role messages) and its gRPC name."""

    api: str  # "monitoring" | "logging" | "run" | "billing"
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
LIST_SKUS = Method("billing", "google.cloud.billing.v1.CloudCatalog/ListSkus")

RETRYABLE: tuple[type[Exception], ...] = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.InternalServerError,
)


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
