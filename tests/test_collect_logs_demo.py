"""The whole collect() on the emulator's demo fleet: cold starts from logs vs the metric, every
frame's schema, and the logs against the simulation's own event list."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pandas as pd
import pytest

import emulator
from collectors import clients as clients_mod
from collectors import schema
from collectors.budget import Budgets
from collectors.collect import Bundle, collect
from collectors.monitoring import MetricScope
from collectors.rpc import LIST_LOG_ENTRIES
from foundation.window import TimeWindow
from tests._collect_logs_helpers import settings

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PROJECT = "runwatch-demo"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def emu() -> Iterator[emulator.Emulator]:
    with emulator.start(now=NOW, days=2, seed=42, project=PROJECT) as e:
        yield e


@pytest.fixture(scope="module")
def bundle(emu: emulator.Emulator) -> Iterator[Bundle]:
    c = clients_mod.for_emulator(emu.address)
    window = TimeWindow.preset("24h", NOW)
    try:
        yield collect(
            c,
            [PROJECT],
            window,
            settings=settings(demo_project=PROJECT, log_max_pages="100"),
            budgets=Budgets(),
        )
    finally:
        c.close()


def test_every_frame_has_its_schema(bundle: Bundle) -> None:
    assert list(bundle.frames) == list(schema.FRAMES)
    for name, frame_schema in schema.FRAMES.items():
        result = bundle.frames[name]
        assert result.quality.complete, (name, result.quality.reasons)
        assert not result.frame.empty, name
        assert {c: str(t) for c, t in result.frame.dtypes.items()} == dict(frame_schema), name
    assert bundle.errors == ()


def test_cold_starts_from_logs_agree_with_the_metric(bundle: Bundle) -> None:
    cold = bundle.cold_starts
    assert cold["from_metric"] > 50
    assert abs(cold["from_logs"] - cold["from_metric"]) <= 0.05 * cold["from_metric"]
    # and the independent count: the startup_latencies sample counts, summed with pandas
    mp = bundle["metric_points"].frame
    sel = mp[(mp["metric"] == "startup_latencies") & (mp["stat"] == "count")]
    assert round(sel["value"].sum()) == cold["from_metric"]


def test_logs_equal_the_simulated_events(bundle: Bundle, emu: emulator.Emulator) -> None:
    window = TimeWindow.preset("24h", NOW)
    lo, hi = pd.Timestamp(window.start), pd.Timestamp(window.end)
    # each of the emulator's two start-failure lines is one start_failed line
    line = {"exec_failed": "start_failed", "start_terminated": "start_failed"}
    want = Counter(
        line.get(e.kind, e.kind)
        for e in emu.fleet.instance_events
        if lo <= pd.Timestamp(e.timestamp) < hi
    )
    ev = bundle["instance_events"].frame
    from_requests = {
        "no_instance_429",
        "no_instance_5xx",
        "start_failed_500",
        "readiness_503",
        "oom_request_5xx",
        "connection_error_5xx",
    }
    got = Counter(ev.loc[~ev["event"].isin(from_requests), "event"])
    assert got == want
    starts = ev[ev["event"] == "start"]
    known = starts["startup_ms"].dropna()
    assert len(known) > 0
    assert (known > 0).all()


def test_one_service_scope_costs_the_same_log_calls(emu: emulator.Emulator) -> None:
    c = clients_mod.for_emulator(emu.address)
    window = TimeWindow.preset("1h", NOW)
    try:
        cfg = settings(demo_project=PROJECT)
        services = sorted({s.name for s in emu.fleet.spec.services})
        b_all = collect(c, [PROJECT], window, settings=cfg, budgets=Budgets())
        b_one = collect(
            c,
            [PROJECT],
            window,
            MetricScope(services=(services[0],)),
            settings=cfg,
            budgets=Budgets(),
        )
    finally:
        c.close()
    assert b_one.rpc_calls.get(LIST_LOG_ENTRIES.name) == b_all.rpc_calls.get(LIST_LOG_ENTRIES.name)
    assert set(b_one["services"].frame["service"]) == {services[0]}
    assert set(b_one["instance_events"].frame["service"]) <= {services[0]}
