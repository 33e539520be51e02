"""Cloud Monitoring filter subset: parse once, then match series by their labels.

Grammar (AND binds tighter than OR; NOT negates one term)::

    filter  := or
    or      := and ("OR" and)*
    and     := unary ("AND" unary)*
    unary   := "NOT" unary | "(" or ")" | compare
    compare := SELECTOR ("=" | "!=") VALUE | SELECTOR ":" STRING
    VALUE   := STRING | WORD | FUNC "(" STRING ("," STRING)* ")"
    FUNC    := starts_with | ends_with | has_substring | one_of | monitoring.regex.full_match

SELECTOR is metric.type, resource.type, project, metric.label[s].KEY or resource.label[s].KEY.
The filter must name exactly one ``metric.type = "..."`` in its top-level AND chain.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from emulator.api.errors import RpcError
from emulator.api.filter_tokens import Cursor, syntax_error, tokenize

Labels = Mapping[str, str]
Predicate = Callable[[str, Labels, Labels], bool]  # (resource_type, resource, metric labels)

_FUNCS = ("starts_with", "ends_with", "has_substring", "one_of", "monitoring.regex.full_match")
_SELECTOR = re.compile(r"^(metric|resource)\.labels?\.([A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class MonitoringFilter:
    metric_type: str
    matches: Predicate


@dataclass(frozen=True)
class _Cmp:
    selector: str
    op: str  # "=", "!=", ":"
    func: str  # "" (plain equality) or one of _FUNCS
    args: tuple[str, ...]


def _invalid(text: str, why: str) -> RpcError:
    return syntax_error(text, 0, why)


def parse(text: str) -> MonitoringFilter:
    """Parse a Monitoring filter; INVALID_ARGUMENT (RpcError) with a Google-like message."""
    if not text.strip():
        raise _invalid(text, "a filter naming one metric.type is required")
    cur = Cursor(text, tokenize(text))
    tree = _or(cur)
    if cur.tok.kind != "end":
        raise cur.error("expected AND, OR or the end of the filter")
    types = [n for n in _top_and(tree) if isinstance(n, _Cmp) and n.selector == "metric.type"]
    all_types = list(_all_cmps(tree, "metric.type"))
    if len(types) != 1 or len(all_types) != 1 or types[0].op != "=" or types[0].func:
        raise _invalid(
            text, 'the filter must contain exactly one metric.type = "..." restriction (ANDed)'
        )
    return MonitoringFilter(metric_type=types[0].args[0], matches=_compile(tree, text))


def _or(cur: Cursor) -> object:
    items = [_and(cur)]
    while cur.is_word("OR"):
        cur.take()
        items.append(_and(cur))
    return items[0] if len(items) == 1 else ("or", items)


def _and(cur: Cursor) -> object:
    items = [_unary(cur)]
    while cur.is_word("AND"):
        cur.take()
        items.append(_unary(cur))
    return items[0] if len(items) == 1 else ("and", items)


def _unary(cur: Cursor) -> object:
    if cur.is_word("NOT"):
        cur.take()
        return ("not", _unary(cur))
    if cur.is_op("("):
        cur.take()
        inner = _or(cur)
        cur.expect_op(")")
        return inner
    return _compare(cur)


def _compare(cur: Cursor) -> _Cmp:
    if cur.tok.kind != "word":
        raise cur.error("expected a selector such as metric.type or resource.labels.KEY")
    sel = cur.take().text
    if sel not in ("metric.type", "resource.type", "project") and not _SELECTOR.match(sel):
        raise syntax_error(cur.text, cur.tokens[cur.i - 1].pos, f"unknown selector {sel!r}")
    if not cur.is_op("=", "!=", ":"):
        raise cur.error("expected '=', '!=' or ':'")
    op = cur.take().text
    if cur.tok.kind == "str":
        return _Cmp(sel, op, "", (cur.take().text,))
    if cur.tok.kind == "word" and cur.tok.text in _FUNCS and op != ":":
        func = cur.take().text
        cur.expect_op("(")
        args: list[str] = []
        while True:
            if cur.tok.kind != "str":
                raise cur.error(f"{func} takes quoted strings")
            args.append(cur.take().text)
            if cur.is_op(","):
                cur.take()
                continue
            break
        cur.expect_op(")")
        if func != "one_of" and len(args) != 1:
            raise syntax_error(cur.text, cur.tok.pos, f"{func} takes exactly one argument")
        if func == "monitoring.regex.full_match":
            try:
                re.compile(args[0])
            except re.error as e:
                raise syntax_error(cur.text, cur.tok.pos, f"bad regular expression: {e}") from None
        return _Cmp(sel, op, func, tuple(args))
    if cur.tok.kind == "word" and cur.tok.text not in ("AND", "OR", "NOT"):
        return _Cmp(sel, op, "", (cur.take().text,))
    raise cur.error("expected a quoted value")


def _top_and(tree: object) -> list[object]:
    if isinstance(tree, tuple) and tree[0] == "and":
        return list(tree[1])
    return [tree]


def _all_cmps(tree: object, selector: str) -> list[_Cmp]:
    if isinstance(tree, _Cmp):
        return [tree] if tree.selector == selector else []
    kind, body = cast(tuple[str, Any], tree)
    if kind == "not":
        return _all_cmps(body, selector)
    return [c for sub in body for c in _all_cmps(sub, selector)]


def _value_test(c: _Cmp) -> Callable[[str], bool]:
    a = c.args
    if c.op == ":":
        return lambda v: a[0] in v
    if c.func == "":
        return lambda v: v == a[0]
    if c.func == "starts_with":
        return lambda v: v.startswith(a[0])
    if c.func == "ends_with":
        return lambda v: v.endswith(a[0])
    if c.func == "has_substring":
        return lambda v: a[0] in v
    if c.func == "one_of":
        return lambda v: v in a
    rx = re.compile(a[0])
    return lambda v: rx.fullmatch(v) is not None


def _compile(tree: object, text: str) -> Predicate:
    if isinstance(tree, _Cmp):
        test = _value_test(tree)
        negate = tree.op == "!="
        sel = tree.selector
        if sel == "metric.type":
            return lambda rt, rl, ml: True  # already chosen by metric_type
        if sel == "resource.type":
            return lambda rt, rl, ml: test(rt) != negate
        if sel == "project":
            return lambda rt, rl, ml: test(rl.get("project_id", "")) != negate
        m = _SELECTOR.match(sel)
        assert m is not None
        where, key = m.group(1), m.group(2)
        if where == "metric":
            return lambda rt, rl, ml: test(ml.get(key, "")) != negate
        return lambda rt, rl, ml: test(rl.get(key, "")) != negate
    kind, body = cast(tuple[str, Any], tree)
    if kind == "not":
        inner = _compile(body, text)
        return lambda rt, rl, ml: not inner(rt, rl, ml)
    parts = [_compile(b, text) for b in body]
    if kind == "and":
        return lambda rt, rl, ml: all(p(rt, rl, ml) for p in parts)
    return lambda rt, rl, ml: any(p(rt, rl, ml) for p in parts)
