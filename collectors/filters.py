"""Pure, escaped, validated filter builders for Cloud Monitoring (and helpers for Logging).

One escaping helper, ``quote``, turns a value into a double-quoted string literal: backslash
and double quote are escaped, control characters are rejected. Every user-supplied name is
validated with foundation.names before it is quoted, every generated OR group is parenthesised
(in both filter languages OR binds tighter than AND, so an unparenthesised group would change
meaning), and values are de-duplicated and sorted so the same inputs always give the same
string (and the same cache key).

Users never supply field names, ``metric.type``, ``resource.type``, ``logName`` or
``timestamp``: those come from our own code and are checked against a field-path pattern.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from foundation import names

RESOURCE_TYPE = "cloud_run_revision"
METRIC_TYPE_RE = re.compile(r"^[a-z][a-z0-9.-]*\.googleapis\.com/[a-z0-9_/]+$")
FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
OPERATORS = ("=", "!=", ">", ">=", "<", "<=", ":")


def quote(value: object) -> str:
    """``value`` as a double-quoted filter literal; control characters raise InvalidName.

    Works for both Monitoring and Logging filters: inside quotes, ``\\`` and ``"`` are the only
    characters with a meaning, and both are escaped with a backslash.
    """
    if not isinstance(value, str):
        raise names.InvalidName(f"{value!r} is not text and cannot be put in a filter")
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cs") or ch in ("\u2028", "\u2029"):
            raise names.InvalidName(
                f"{value[:40]!r} contains a control character (U+{ord(ch):04X}) "
                "and cannot be put in a filter"
            )
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _field(path: str) -> str:
    if not FIELD_RE.fullmatch(path):
        raise ValueError(f"{path!r} is not a filter field path")
    return path


def term(field: str, value: str, op: str = "=") -> str:
    """``field OP "value"`` with the value quoted (the field is ours, never user input)."""
    if op not in OPERATORS:
        raise ValueError(f"unsupported filter operator {op!r}")
    return f"{_field(field)} {op} {quote(value)}"


def any_of(field: str, values: Iterable[str], op: str = "=") -> str:
    """``(field = "a" OR field = "b")``: sorted, de-duplicated, always parenthesised.

    An empty ``values`` is an error: "no restriction" is expressed by leaving the term out.
    """
    unique = sorted(set(values))
    if not unique:
        raise ValueError(f"any_of({field!r}) needs at least one value")
    return "(" + " OR ".join(term(field, v, op) for v in unique) + ")"


def one_of(field: str, values: Iterable[str]) -> str:
    """``field = one_of("a", "b")`` (Monitoring's filter function; a single value gives
    ``(field = "a")``): sorted, de-duplicated, a third the length of an OR group, so a filter
    listing a hundred services stays short."""
    unique = sorted(set(values))
    if len(unique) < 2:
        return any_of(field, unique)
    return f"{_field(field)} = one_of({', '.join(quote(v) for v in unique)})"


def all_of(*expressions: str) -> str:
    """Join non-empty sub-expressions with AND, each already a term or parenthesised group."""
    return " AND ".join(e for e in expressions if e)


def _validated(values: Iterable[str], check: Callable[[object], str]) -> list[str]:
    return sorted({check(v) for v in values})


def monitoring_filter(
    metric_type: str,
    *,
    services: Iterable[str] = (),
    revisions: Iterable[str] = (),
    regions: Iterable[str] = (),
    projects: Iterable[str] = (),
) -> str:
    """The canonical ListTimeSeries filter for one Cloud Run metric and an optional scope
    (``projects``: the monitored projects to read through a scoping project).

    ``metric.type = "…" AND resource.type = "cloud_run_revision" [AND service = one_of(…)]
    [AND revision = one_of(…)] [AND location = one_of(…)]``. Names are validated (InvalidName on bad
    input) and the result is independent of the order or repetition of the inputs.
    """
    if not METRIC_TYPE_RE.fullmatch(metric_type):
        raise ValueError(f"{metric_type!r} is not a metric type")
    parts = [term("metric.type", metric_type), term("resource.type", RESOURCE_TYPE)]
    svc = _validated(services, names.service)
    rev = _validated(revisions, names.revision)
    reg = _validated(regions, names.region)
    if svc:
        parts.append(one_of("resource.labels.service_name", svc))
    if rev:
        parts.append(one_of("resource.labels.revision_name", rev))
    if reg:
        parts.append(one_of("resource.labels.location", reg))
    prj = _validated(projects, names.project)
    if prj:
        parts.append(one_of("resource.labels.project_id", prj))
    return all_of(*parts)
