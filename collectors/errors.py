"""The errors every RPC ends in (collectors.rpc raises them, every layer above catches them):
a RunwatchError whose message a person can act on, never a traceback.

- ``QuotaExceeded``: RESOURCE_EXHAUSTED, naming the quota and its limit (from the error's
  ErrorInfo / QuotaFailure details); never retried, the caller decides;
- ``PermissionDeniedError``: PERMISSION_DENIED or UNAUTHENTICATED, naming the role the identity
  lacks (``ROLES``);
- ``CallFailed``: everything else (INVALID_ARGUMENT, NOT_FOUND, retries exhausted, ...).

``translate`` turns a google.api_core exception of one method's call into one of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from google.api_core import exceptions as gexc

if TYPE_CHECKING:
    from collectors.rpc import Method

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
    "billing": "Cloud Run's prices from the Cloud Billing Catalog",
}


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
    if isinstance(exc, gexc.PermissionDenied) and method.api == "billing":
        return PermissionDeniedError(  # public prices need no role: the API is not enabled
            f"Could not read {_API_TITLES[method.api]}{target}: enable the Cloud Billing API "
            "on the dashboard's project (gcloud services enable cloudbilling.googleapis.com). "
            f"Google said: {_google_text(exc)}",
            role="",
            method=method,
        )
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
