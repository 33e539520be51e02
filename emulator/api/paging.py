"""Opaque page tokens: the next page's number and offset, bound to the query that made them."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from emulator.api.errors import invalid


def query_key(*parts: object) -> str:
    """A short digest of everything that defines a query (not the page size or token)."""
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


def make_token(page: int, offset: int, key: str) -> str:
    raw = json.dumps({"p": page, "o": offset, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str) -> dict[str, object]:
    pad = "=" * (-len(token) % 4)
    data = json.loads(base64.urlsafe_b64decode(token + pad))
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


def page_number(token: str) -> int:
    """1 for the first page (no token), else the number the token carries; 1 if unreadable."""
    if not token:
        return 1
    try:
        p = _decode(token).get("p")
    except (ValueError, TypeError):
        return 1
    return p if isinstance(p, int) else 1


def read_token(token: str, key: str) -> tuple[int, int]:
    """(page number, offset) of a token made for the query ``key``; INVALID_ARGUMENT otherwise."""
    if not token:
        return 1, 0
    try:
        data = _decode(token)
        page, offset, k = data["p"], data["o"], data["k"]
    except (ValueError, TypeError, KeyError):
        raise invalid("The page token is invalid.") from None
    if k != key or not isinstance(page, int) or not isinstance(offset, int) or offset < 0:
        raise invalid("The page token does not match the request it was issued for.")
    return page, offset


def page_of(items: list[Any], req: Any, key_parts: tuple[str, str]) -> tuple[list[Any], str]:
    """One page of ``items`` for a list request (``page_size``, default 100; ``page_token``
    made for the same query, whose parts are ``key_parts``) and the next page's token."""
    if req.page_size < 0:
        raise invalid("page_size must not be negative.")
    key = query_key(*key_parts)
    page, offset = read_token(req.page_token, key)
    size = req.page_size or 100
    nxt = make_token(page + 1, offset + size, key) if offset + size < len(items) else ""
    return items[offset : offset + size], nxt
