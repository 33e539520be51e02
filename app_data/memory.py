"""One policy for what the dashboard remembers beyond Streamlit's caches: errors (a short
negative cache), the last good value of each view (served marked stale when a refresh fails),
when each was loaded (a value loaded for the same key within the TTL is served without loading,
even after any viewer cleared Streamlit's caches) and partial results (kept for the error TTL,
not the cache's whole TTL). And the one decorator of every cached loader (``cached``): the
only use of ``st.cache_data``.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ParamSpec, TypeVar

import streamlit as st

from app_data import views
from app_data.configuration import settings
from collectors.errors import RunwatchError
from collectors.schema import Quality, Result
from foundation import names
from foundation.window import InvalidWindow

T = TypeVar("T")
P = ParamSpec("P")
MAX_ENTRIES = 32  # per cached loader, and the last good values kept


class DataError(Exception):
    """A load failed and there is no earlier result to show; the message is for the user."""


def cached(load: Callable[P, T]) -> Callable[P, T]:
    """``load`` cached in ``st.cache_data`` (the settings' TTL, MAX_ENTRIES, no spinner).

    The cache is made on the first call, not at import: the TTL is a setting, and importing
    app_data reads none. Streamlit keys a cache by the function itself, so st.cache_data.clear()
    empties it like any other."""
    made: Callable[P, T] | None = None
    lock = threading.Lock()

    @functools.wraps(load)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        nonlocal made
        if made is None:
            with lock:
                if made is None:
                    ttl = settings().cache_ttl_s
                    made = st.cache_data(ttl=ttl, max_entries=MAX_ENTRIES, show_spinner=False)(load)
        return made(*args, **kwargs)

    return call


@dataclass
class _Memory:
    """Errors (negative cache), the last good value per view and when it was loaded, for the
    process (see above: a clear of Streamlit's caches must not forget them)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: dict[tuple[Any, ...], tuple[float, str]] = field(default_factory=dict)
    good: OrderedDict[tuple[Any, ...], Any] = field(default_factory=OrderedDict)
    # the exact key each view's last good value was loaded for, and when (time.monotonic())
    loaded: dict[tuple[Any, ...], tuple[tuple[Any, ...], float]] = field(default_factory=dict)
    # partial results (kept out of st.cache_data) by key, until the error TTL runs out
    partial: dict[tuple[Any, ...], tuple[float, Any]] = field(default_factory=dict)

    def forget(self) -> None:
        with self.lock:
            self.errors.clear()
            self.good.clear()
            self.loaded.clear()
            self.partial.clear()

    def expire(self) -> None:
        with self.lock:
            self.loaded.clear()
            self.partial.clear()


_MEMORY = _Memory()


def _memory() -> _Memory:
    return _MEMORY


def forget() -> None:
    """Forget every remembered error and result: the next view loads afresh (tests, and the
    only way to drop results that are still fresh; Streamlit's clear-cache does not)."""
    _MEMORY.forget()


def expire() -> None:
    """Treat every remembered result as older than the TTL (kept as the last good one)."""
    _MEMORY.expire()


def remembered(key: tuple[Any, ...], view: tuple[Any, ...]) -> Any | None:
    """What ``guarded`` loaded for this very ``key`` (kept under ``view``) less than the cache
    TTL ago, else None; never loads."""
    mem = _memory()
    with mem.lock:
        loaded = mem.loaded.get(view)
        if loaded is None or loaded[0] != key:
            return None
        if time.monotonic() - loaded[1] >= settings().cache_ttl_s:
            return None
        return mem.good.get(view)


def guarded(
    key: tuple[Any, ...],
    load: Callable[[], T],
    stale: Callable[[T], T],
    view: tuple[Any, ...] | None = None,
) -> T:
    """Run ``load``; on a RunwatchError remember it briefly and serve the last good value,
    passed through ``stale`` (which marks it stale), or raise DataError with the message.

    ``view`` keys the last good value (default ``key``): a window's length rather than its end,
    so a refresh that fails just after the window moved on still shows the previous one. A value
    loaded for this very ``key`` less than the cache TTL ago is returned without loading: when
    Streamlit's caches were cleared (by any viewer, over the websocket), nothing is fetched
    again before it would have expired anyway."""
    mem = _memory()
    view = key if view is None else view
    ttl = settings().cache_ttl_s
    with mem.lock:
        loaded = mem.loaded.get(view)
        recent = loaded is not None and loaded[0] == key and time.monotonic() - loaded[1] < ttl
        if recent and view in mem.good:
            return mem.good[view]  # type: ignore[no-any-return]
        partial = mem.partial.get(key)
        if partial is not None and partial[0] > time.monotonic():
            return partial[1]  # type: ignore[no-any-return]
        failed = mem.errors.get(key)
        if failed and failed[0] > time.monotonic():
            last = mem.good.get(view)
            if last is not None:
                return stale(last)
            raise DataError(failed[1])
    try:
        value = load()
    except _Uncached as kept:  # a partial result: shown, retried once the error TTL ran out
        with mem.lock:
            mem.partial[key] = (time.monotonic() + settings().error_ttl_s, kept.value)
            for k in [k for k, (until, _) in mem.partial.items() if until <= time.monotonic()]:
                del mem.partial[k]
        return kept.value  # type: ignore[no-any-return]
    except (RunwatchError, InvalidWindow, names.InvalidName) as exc:
        with mem.lock:
            mem.errors[key] = (time.monotonic() + settings().error_ttl_s, str(exc))
            last = mem.good.get(view)
        if last is not None:
            return stale(last)
        raise DataError(str(exc)) from None
    with mem.lock:
        mem.good[view] = value
        mem.good.move_to_end(view)
        if _fresh(value):
            mem.loaded[view] = (key, time.monotonic())
        else:
            mem.loaded.pop(view, None)
        while len(mem.good) > MAX_ENTRIES:
            dropped, _ = mem.good.popitem(last=False)
            mem.loaded.pop(dropped, None)
        mem.errors.pop(key, None)
    return value


def _statuses(value: Any) -> set[str]:
    """The quality statuses of a loaded value: a Result, a dict of them (alone or first in a
    tuple), or anything else (a grid, a list: complete)."""
    if isinstance(value, tuple) and value and isinstance(value[0], dict):
        value = value[0]
    results = value.values() if isinstance(value, dict) else (value,)
    return {getattr(getattr(r, "quality", None), "status", "complete") for r in results}


def _fresh(value: Any) -> bool:
    """Whether a loaded value is complete enough to serve again for the TTL without loading:
    neither partial nor stale (truncated is a setting's cap: the same query would be truncated
    again)."""
    return _statuses(value) <= {"complete", "truncated"}


def _stale(result: Result) -> Result:
    note = "showing the last good data: the latest refresh failed"
    return replace(result, quality=result.quality.merge(Quality("stale", (note,))))


def _stale_frames(frames: dict[str, Result]) -> dict[str, Result]:
    return {k: _stale(r) for k, r in frames.items()}


def _keep_last_good(key: tuple[Any, ...], frames: dict[str, Result]) -> dict[str, Result]:
    """Replace a frame whose collector failed outright (empty and partial) by its last good
    one for the same view, marked stale: a failed refresh loses nothing already shown."""
    mem = _memory()
    out = dict(frames)
    with mem.lock:
        last: dict[str, Result] = mem.good.get(key, {})
        for name, result in frames.items():
            failed = result.frame.empty and result.quality.status == "partial"
            if failed and name in last:
                note = f"showing earlier data: {'; '.join(result.quality.reasons)}"
                out[name] = replace(last[name], quality=Quality("stale", (note,)))
            elif not failed:
                last = {**last, name: result}
        mem.good[key] = last
    return out


class _Uncached(Exception):
    """Carries a value out of an st.cache_data function without Streamlit caching it."""

    def __init__(self, value: Any) -> None:
        super().__init__("not cached")
        self.value = value


def _unless_partial(value: T) -> T:
    """``value``, or raise it out of the cached loader when partial: st.cache_data would keep a
    partial result for the whole TTL; guarded() keeps it for the error TTL instead."""
    if "partial" in _statuses(value):
        raise _Uncached(value)
    return value


def _keep(view: T) -> T:
    """``view``, or raise it out of a cached view builder when it was built from stale or
    partial data: shown, not cached, tried again on the next rerun."""
    if not views.fresh(view):
        raise _Uncached(view)
    return view


def _view(load: Callable[[], T]) -> T:
    try:
        return load()
    except _Uncached as kept:
        return kept.value  # type: ignore[no-any-return]
