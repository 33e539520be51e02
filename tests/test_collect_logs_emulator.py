"""Lifecycle logs through the real Logging client over real gRPC against the emulator.

Ground truth is the hand-built fleet's own event list (tests/_collect_logs_helpers.py); call
counts come from the emulator's server-side counter.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

import emulator
from collectors import clients as clients_mod
from collectors import schema
from collectors.budget import Budgets
from collectors.logs import build_request, fetch_instance_events, fetch_instance_events_detailed
from collectors.monitoring import MetricScope
from collectors.rpc import LIST_LOG_ENTRIES
from foundation.window import TimeWindow
from tests import _collect_logs_helpers as helpers
from tests._collect_logs_helpers import (
    END,
    PROJECT,
    START,
    dtypes,
    expected_events,
    settings,
    small_fleet,
)

FLEET = small_fleet()
WINDOW = TimeWindow.custom(START, END, alignment_s=60)
METHOD = LIST_LOG_ENTRIES.name


emu, clients = helpers.emu, helpers.clients  # serving FLEET


def _fetch(clients: clients_mod.Clients, scope: object = None, **kw: object) -> tuple:
    env = {k: str(v) for k, v in kw.items() if k in ("log_max_pages", "log_calls_per_minute")}
    rest = {k: v for k, v in kw.items() if k not in env}
    rest.setdefault("budgets", Budgets())
    result, stats = fetch_instance_events_detailed(
        clients, [PROJECT], WINDOW, scope, settings=settings(**env), **rest
    )
    return result, stats


def test_full_result_matches_the_fleet(
    clients: clients_mod.Clients, emu: emulator.Emulator
) -> None:
    result, stats = _fetch(clients)
    df = result.frame
    assert result.quality.status == "complete", result.quality.reasons
    assert dtypes(df) == dict(schema.INSTANCE_EVENTS)
    assert Counter(df["event"]) == Counter(expected_events(FLEET))
    # 1000 a page: one call for the lifecycle log, one for the rejections
    assert emu.calls.snapshot().get(METHOD) == stats[0].pages == 2
    assert df["timestamp"].is_monotonic_increasing
    # startup joined on instanceId, equal to the fleet's own startup durations
    truth = {}
    for e in FLEET.instance_events:
        if e.kind == "start":
            truth[(e.revision, e.timestamp)] = e.instance_id
    starts = df[df["event"] == "start"]
    readies = {
        (e.revision, e.instance_id): e.startup_ms
        for e in FLEET.instance_events
        if e.kind == "ready"
    }
    for _, row in starts.iterrows():
        iid = truth[(row["revision"], row["timestamp"].floor("us").to_pydatetime())]
        if iid is None:
            assert row["instance_id"] == ""
            assert np.isnan(row["startup_ms"])
        else:
            assert row["startup_ms"] == pytest.approx(readies[(row["revision"], iid)], abs=0.01)
    reasons = Counter(e.reason for e in FLEET.instance_events if e.kind == "start")
    assert Counter(starts["reason"]) == reasons


def test_scope_narrows_the_filter_and_empty_keeps_schema(clients: clients_mod.Clients) -> None:
    result, _ = _fetch(clients, MetricScope(services=("worker",)))
    assert set(result.frame["service"]) == {"worker"}
    assert set(result.frame["location"]) == {"us-central1"}
    empty, _ = _fetch(clients, MetricScope(services=("no-such-service",)))
    assert empty.quality.complete
    assert empty.frame.empty
    assert dtypes(empty.frame) == dict(schema.INSTANCE_EVENTS)


def test_paging_gives_the_same_events(clients: clients_mod.Clients, emu: emulator.Emulator) -> None:
    whole, _ = _fetch(clients)
    emu.calls.reset()
    paged, stats = _fetch(clients, page_size=17)
    pages = emu.calls.snapshot()[METHOD]
    assert pages == stats[0].pages > 5
    assert paged.quality.complete
    pd.testing.assert_frame_equal(paged.frame, whole.frame)


def test_failure_on_page_two_keeps_page_one(
    clients: clients_mod.Clients, emu: emulator.Emulator
) -> None:
    emu.faults.set("ListLogEntries:INVALID_ARGUMENT@page2")
    result, stats = _fetch(clients, page_size=20)
    assert result.quality.status == "partial"
    # page 2 of each of the two queries failed; page 1 of each was kept
    lifecycle, rejections = result.quality.reasons
    assert lifecycle.startswith("instance lifecycle logs")
    assert "kept the 1 page(s)" in lifecycle
    assert rejections.startswith("rejected-request logs")
    assert "kept the 1 page(s)" in rejections
    assert stats[0].pages == 2
    assert 0 < len(result.frame) <= 40
    assert dtypes(result.frame) == dict(schema.INSTANCE_EVENTS)


def test_duplicated_and_shuffled_entries_are_deduplicated(
    clients: clients_mod.Clients, emu: emulator.Emulator
) -> None:
    clean, _ = _fetch(clients, page_size=25)
    emu.faults.set("dup_logs=0.3;shuffle_logs=0.2;seed=4")
    dup, stats = _fetch(clients, page_size=25)
    assert stats[0].duplicates > 0
    pd.testing.assert_frame_equal(dup.frame, clean.frame)


def test_empty_page_with_token_means_not_finished(
    clients: clients_mod.Clients, emu: emulator.Emulator
) -> None:
    emu.faults.set("empty_log_page=1")
    result, stats = _fetch(clients)
    assert stats[0].pages == 4  # each query: an empty page with a token, then the entries
    assert result.quality.complete
    assert Counter(result.frame["event"]) == Counter(expected_events(FLEET))


def test_quota_error_is_not_retried_and_named(
    clients: clients_mod.Clients, emu: emulator.Emulator
) -> None:
    emu.faults.set("quota=2")  # Google's quota, as the emulator enforces it (with details)
    budgets = Budgets()
    result, stats = _fetch(clients, page_size=10, budgets=budgets)
    assert emu.calls.snapshot()[METHOD] == 3  # two pages, then one refusal, no retry
    assert stats[0].pages == 2
    assert result.quality.status == "partial"
    reason = result.quality.reasons[0]
    assert "ReadRequestsPerMinutePerProject" in reason
    assert re.search(r"limit\D{0,3}2\b|\b2 per minute", reason), reason
    assert "kept the 2 page(s)" in reason
    assert len(result.frame) > 0
    # Google said the quota is spent: nothing more is asked of it this minute
    emu.faults.clear()
    again, _ = _fetch(clients, budgets=budgets)
    assert emu.calls.snapshot()[METHOD] == 3
    assert again.quality.status == "truncated"


def test_budget_is_never_exceeded(clients: clients_mod.Clients, emu: emulator.Emulator) -> None:
    budgets = Budgets()
    first, stats = _fetch(clients, page_size=10, log_calls_per_minute=4, budgets=budgets)
    assert emu.calls.snapshot()[METHOD] == 4
    assert stats[0].pages == 4
    assert first.quality.status == "truncated"
    assert "4 entries.list calls a minute" in first.quality.reasons[0]
    assert len(first.frame) > 0
    second, _ = _fetch(clients, page_size=10, log_calls_per_minute=4, budgets=budgets)
    assert emu.calls.snapshot()[METHOD] == 4  # the minute's budget is spent: no call at all
    assert second.frame.empty
    assert second.quality.status == "truncated"
    assert clients.counter.snapshot().get(METHOD) == 4  # our own count agrees with the server


def test_retries_take_from_the_budget(clients: clients_mod.Clients, emu: emulator.Emulator) -> None:
    emu.faults.set("ListLogEntries:UNAVAILABLE")
    result, _ = _fetch(clients, log_calls_per_minute=2)
    assert emu.calls.snapshot()[METHOD] == 2  # 3 attempts allowed, budget of 2
    assert result.quality.status == "truncated"


def test_page_cap_marks_truncated(clients: clients_mod.Clients, emu: emulator.Emulator) -> None:
    result, stats = _fetch(clients, page_size=10, log_max_pages=3)
    assert emu.calls.snapshot()[METHOD] == 6  # the cap applies to each of the two queries
    assert stats[0].pages == 6
    assert result.quality.status == "truncated"
    assert "RUNWATCH_LOG_MAX_PAGES" in result.quality.reasons[0]
    # the lifecycle query is read first and capped on its own: its 30 entries are all starts,
    # probes, exits..., never crowded out by rejected requests
    assert set(result.frame["event"]) & {"start", "ready"}


def test_request_is_what_the_docs_ask_for() -> None:
    req = build_request(PROJECT, START, END, services=["shop"])
    assert list(req.resource_names) == [f"projects/{PROJECT}"]
    assert req.page_size == 1000
    assert req.order_by == "timestamp asc"
    assert 'timestamp >= "2026-03-01T12:00:00.000000Z"' in req.filter
    assert 'timestamp < "2026-03-02T12:00:00.000000Z"' in req.filter
    with pytest.raises(ValueError, match="page_size"):
        build_request(PROJECT, START, END, page_size=1001)


def test_window_outside_the_fleet_is_empty(clients: clients_mod.Clients) -> None:
    before = TimeWindow.custom(START - timedelta(days=3), START - timedelta(days=2))
    result = fetch_instance_events(
        clients, [PROJECT], before, settings=settings(), budgets=Budgets()
    )
    assert result.quality.complete
    assert result.frame.empty
