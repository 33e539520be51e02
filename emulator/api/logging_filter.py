"""Cloud Logging filter subset: parse once, then test entries (``LogRecord``).

Grammar (juxtaposition is AND; AND binds tighter than OR; NOT negates one term)::

    filter  := or
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*
    unary   := "NOT" unary | "(" or ")" | compare | STRING | WORD   (bare value: text search)
    compare := FIELD OP VALUE          OP: = != < <= > >= : =~ !~

Fields: resource.type, resource.labels.K, logName, textPayload, severity, timestamp,
receiveTimestamp, insertId, labels.K, httpRequest.status, httpRequest.requestMethod,
httpRequest.requestUrl, httpRequest.latency. ``:`` is a case-insensitive substring test;
``=~`` / ``!~`` are RE2-like regular expressions (Python ``re`` search). Severity compares by
level (DEFAULT < DEBUG < INFO < ... < EMERGENCY); timestamps compare as instants (RFC 3339).
A field an entry lacks matches only ``!=`` / ``!~``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from emulator.api.errors import RpcError, invalid
from emulator.api.filter_tokens import Cursor, tokenize

SEVERITIES = {
    "DEFAULT": 0,
    "DEBUG": 100,
    "INFO": 200,
    "NOTICE": 300,
    "WARNING": 400,
    "ERROR": 500,
    "CRITICAL": 600,
    "ALERT": 700,
    "EMERGENCY": 800,
}
_SIMPLE = {
    "resource.type",
    "logName",
    "log_name",
    "textPayload",
    "text_payload",
    "severity",
    "timestamp",
    "receiveTimestamp",
    "insertId",
    "insert_id",
    "httpRequest.status",
    "httpRequest.requestMethod",
    "httpRequest.requestUrl",
    "httpRequest.latency",
}
_MAPS = ("resource.labels.", "labels.")
_COMPARE_OPS = ("=", "!=", "<", "<=", ">", ">=", ":", "=~", "!~")


@dataclass(slots=True)
class LogRecord:
    """What a filter can see of one entry (treated as read-only; slots, not frozen: a big fleet
    builds hundreds of thousands of them)."""

    timestamp: datetime
    receive_timestamp: datetime
    log_name: str
    resource_type: str
    resource_labels: Mapping[str, str]
    labels: Mapping[str, str]
    severity: int
    text: str | None
    insert_id: str
    http_status: int | None = None
    http_method: str | None = None
    http_url: str | None = None
    http_latency_s: float | None = None

    def field(self, name: str) -> object:
        if name.startswith("resource.labels."):
            return self.resource_labels.get(name[len("resource.labels.") :])
        if name.startswith("labels."):
            return self.labels.get(name[len("labels.") :])
        return {
            "resource.type": self.resource_type,
            "logName": self.log_name,
            "log_name": self.log_name,
            "textPayload": self.text,
            "text_payload": self.text,
            "severity": self.severity,
            "timestamp": self.timestamp,
            "receiveTimestamp": self.receive_timestamp,
            "insertId": self.insert_id,
            "insert_id": self.insert_id,
            "httpRequest.status": self.http_status,
            "httpRequest.requestMethod": self.http_method,
            "httpRequest.requestUrl": self.http_url,
            "httpRequest.latency": self.http_latency_s,
        }[name]


Predicate = Callable[[LogRecord], bool]


@dataclass(frozen=True)
class LoggingFilter:
    matches: Predicate
    # instants every match must lie within, from top-level AND terms (for a fast bisect)
    after: datetime | None
    before: datetime | None
    # the services every match belongs to, from top-level AND terms
    # ``resource.labels.service_name = "x"`` (or an OR of them); None: any (for an index)
    services: frozenset[str] | None = None


def _err(text: str, pos: int, why: str) -> RpcError:
    return invalid(f"Unparseable filter: {why} at position {pos + 1}: {text!r}")


def parse(text: str) -> LoggingFilter:
    if len(text) > 20000:
        raise invalid("The filter is longer than 20000 characters.")
    if not text.strip():
        return LoggingFilter(lambda r: True, None, None)
    try:
        tokens = tokenize(text)
    except RpcError as e:
        raise invalid(
            e.message.replace("Field filter had an invalid value of", "Unparseable filter")
        ) from None
    cur = Cursor(text, tokens)
    tree = _or(cur)
    if cur.tok.kind != "end":
        raise _err(text, cur.tok.pos, f"unexpected {cur.tok.text!r}")
    after, before = _bounds(tree)
    return LoggingFilter(tree, after, before, _services(tree))


def _or(cur: Cursor) -> Predicate:
    parts = [_and(cur)]
    while cur.is_word("OR"):
        cur.take()
        parts.append(_and(cur))
    if len(parts) == 1:
        return parts[0]
    return _Any(parts)


def _and(cur: Cursor) -> Predicate:
    parts = [_unary(cur)]
    while True:
        if cur.is_word("AND"):
            cur.take()
            parts.append(_unary(cur))
        elif cur.tok.kind != "end" and not cur.is_op(")") and not cur.is_word("OR"):
            parts.append(_unary(cur))  # juxtaposition
        else:
            break
    if len(parts) == 1:
        return parts[0]
    return _All(parts)


def _unary(cur: Cursor) -> Predicate:
    if cur.is_word("NOT"):
        cur.take()
        inner = _unary(cur)
        return lambda r: not inner(r)
    if cur.is_op("("):
        cur.take()
        inner = _or(cur)
        if not cur.is_op(")"):
            raise _err(cur.text, cur.tok.pos, "expected ')'")
        cur.take()
        return inner
    tok = cur.tok
    if tok.kind == "str" or (tok.kind == "word" and not _is_field(tok.text)):
        if tok.kind == "word" and tok.text in ("AND", "OR"):
            raise _err(cur.text, tok.pos, f"unexpected {tok.text}")
        needle = cur.take().text.lower()
        return lambda r: (
            needle in (r.text or "").lower()
            or any(needle in v.lower() for v in (*r.labels.values(), *r.resource_labels.values()))
        )
    if tok.kind != "word":
        raise _err(cur.text, tok.pos, f"unexpected {tok.text!r}")
    name = cur.take().text
    if not cur.is_op(*_COMPARE_OPS):
        raise _err(cur.text, cur.tok.pos, f"expected a comparison after {name}")
    op = cur.take().text
    if cur.tok.kind not in ("str", "word"):
        raise _err(cur.text, cur.tok.pos, f"expected a value after {name} {op}")
    value = cur.take().text
    return _Cmp(name, op, _coerce(cur.text, name, op, value))


def _is_field(word: str) -> bool:
    return word in _SIMPLE or word.startswith(_MAPS)


def _coerce(text: str, name: str, op: str, value: str) -> object:
    if op in ("=~", "!~"):
        try:
            return re.compile(value)
        except re.error as e:
            raise invalid(f"Unparseable filter: bad regular expression {value!r}: {e}") from None
    if name == "severity":
        if value.upper() in SEVERITIES:
            return SEVERITIES[value.upper()]
        if value.isdigit():
            return int(value)
        raise invalid(f"Unparseable filter: unknown severity {value!r}")
    if name in ("timestamp", "receiveTimestamp"):
        try:
            t = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise invalid(f"Unparseable filter: invalid timestamp {value!r}: {text!r}") from None
        if t.tzinfo is None:
            raise invalid(f"Unparseable filter: timestamp {value!r} needs a time zone")
        return t
    if name in ("httpRequest.status",):
        try:
            return int(value)
        except ValueError:
            raise invalid(f"Unparseable filter: {name} needs a number, got {value!r}") from None
    if name == "httpRequest.latency":
        try:
            return float(value.rstrip("s"))
        except ValueError:
            raise invalid(f"Unparseable filter: {name} needs seconds, got {value!r}") from None
    return value


class _All:
    def __init__(self, parts: list[Predicate]) -> None:
        self.parts = parts

    def __call__(self, r: LogRecord) -> bool:
        return all(p(r) for p in self.parts)


class _Any:
    def __init__(self, parts: list[Predicate]) -> None:
        self.parts = parts

    def __call__(self, r: LogRecord) -> bool:
        return any(p(r) for p in self.parts)


class _Cmp:
    def __init__(self, name: str, op: str, value: object) -> None:
        self.name, self.op, self.value = name, op, value

    def __call__(self, r: LogRecord) -> bool:
        v = r.field(self.name)
        op, want = self.op, self.value
        if v is None:
            return op in ("!=", "!~")
        if op in ("=~", "!~"):
            found = want.search(str(v)) is not None  # type: ignore[attr-defined]
            return found == (op == "=~")
        if op == ":":
            return str(want).lower() in str(v).lower()
        if isinstance(want, str) and not isinstance(v, str):
            want = type(v)(want) if isinstance(v, int | float) else want
        try:
            if op == "=":
                return bool(v == want)
            if op == "!=":
                return bool(v != want)
            if op == "<":
                return bool(v < want)  # type: ignore[operator]
            if op == "<=":
                return bool(v <= want)  # type: ignore[operator]
            if op == ">":
                return bool(v > want)  # type: ignore[operator]
            return bool(v >= want)  # type: ignore[operator]
        except (TypeError, ValueError):
            return False


def _bounds(tree: Predicate) -> tuple[datetime | None, datetime | None]:
    parts = tree.parts if isinstance(tree, _All) else [tree]
    after: datetime | None = None
    before: datetime | None = None
    for p in parts:
        if isinstance(p, _Cmp) and p.name == "timestamp" and isinstance(p.value, datetime):
            if p.op in (">", ">="):
                after = p.value if after is None else max(after, p.value)
            elif p.op in ("<", "<="):
                before = p.value if before is None else min(before, p.value)
            elif p.op == "=":
                after = p.value if after is None else max(after, p.value)
                before = p.value if before is None else min(before, p.value)
    return after, before


SERVICE_LABEL = "resource.labels.service_name"


def _named_services(term: Predicate) -> frozenset[str] | None:
    """The services a term admits when it is ``SERVICE_LABEL = "x"`` or an OR of such terms."""
    if isinstance(term, _Cmp):
        ok = term.name == SERVICE_LABEL and term.op == "=" and isinstance(term.value, str)
        return frozenset((str(term.value),)) if ok else None
    if isinstance(term, _Any):
        found = [_named_services(p) for p in term.parts]
        if any(f is None for f in found):
            return None
        return frozenset().union(*(f for f in found if f is not None))
    return None


def _services(tree: Predicate) -> frozenset[str] | None:
    parts = tree.parts if isinstance(tree, _All) else [tree]
    wanted: frozenset[str] | None = None
    for p in parts:
        named = _named_services(p)
        if named is not None:
            wanted = named if wanted is None else wanted & named
    return wanted
