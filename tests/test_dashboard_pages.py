"""Every page through Streamlit's AppTest against the session's demo emulator.

Figures shown are checked against independent computations on the emulator's raw data (the
simulated fleet), not against the code that produced them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests._histograms import merged_percentile
from tests._pages import PAGE_FILES

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")
PAGES = list(PAGE_FILES)


@pytest.fixture(scope="module")
def app_data(demo_emulator: Any) -> Iterator[Any]:
    import app_data as module

    assert module.settings().emulator_address == demo_emulator.address, "settings read too early"
    return module


@pytest.fixture(autouse=True)
def _fresh_caches(app_data: Any) -> Iterator[None]:
    st.cache_data.clear()
    app_data.forget()
    return


def run(params: dict[str, str] | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("markdown", "caption", "info", "warning", "error", "success")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("params", [{}, {"service": "checkout-api"}])
def test_every_page_runs_without_exception(
    app_data: Any, page: str, params: dict[str, str]
) -> None:
    at = run(params, page)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, "page drew no title"
    assert "Traceback" not in texts(at)


def test_overview_lists_every_simulated_service(app_data: Any, demo_emulator: Any) -> None:
    at = run()
    table = at.dataframe[0].value
    expected = {s.name for s in demo_emulator.fleet.spec.services}
    assert set(table["service"]) == expected
    flags = " ".join(table["flags"])
    assert "idle min instances cost $" in flags
    shown = texts(at)  # the "Needs a look" list says the same in plain words
    assert "canary checkout-api-" in shown
    assert "p99 +" in shown
    assert "idle min instances cost $" in shown
    # at max instances, from Monitoring's peak instances: exactly the services whose requests
    # the simulation rejected with 429 in the window
    scope, _ = app_data.scope_from_query({})
    w = app_data.window_of(scope).settled()
    rejected = {
        e.service
        for e in demo_emulator.fleet.request_events
        if e.status == 429 and w.start <= e.timestamp < w.end
    }
    at_max = set(table.loc[table["flags"].str.contains("hits max instances"), "service"])
    assert rejected, "the demo has a service at its max instances"
    assert at_max == rejected
    assert "requests rejected with 429" in shown


def test_overview_p95_matches_the_raw_histograms(app_data: Any, demo_emulator: Any) -> None:
    at = run()
    table = at.dataframe[0].value.set_index("service")
    scope, _ = app_data.scope_from_query({})
    w = app_data.window_of(scope)
    for service in ("web-frontend", "checkout-api"):
        truth, width = merged_percentile(demo_emulator.fleet, service, w.start, w.end, 0.95)
        assert abs(table.loc[service, "p95_ms"] - truth) <= width, service


def test_revisions_page_finds_the_canary_regression(app_data: Any) -> None:
    at = run({"service": "checkout-api"}, "app_pages/revisions.py")
    verdict = " ".join(e.value for e in at.error)
    assert "Canary verdict" in verdict
    assert "worse" in verdict
    assert "p99" in verdict
    labels = [m.label for m in at.metric]
    assert labels.count("p99") == 2  # two cards side by side
    p99 = [m.value for m in at.metric if m.label == "p99"]
    stable, canary = (float(v.replace(",", "").split()[0]) for v in p99)
    assert canary > 1.5 * stable


@pytest.mark.parametrize("window", ["6h", "24h", "7d"])
def test_a_canary_has_one_verdict_on_the_overview_and_its_revisions_page(
    app_data: Any, window: str
) -> None:
    from dataclasses import replace

    import presentation

    fleet_scope, _ = app_data.scope_from_query({"window": window})
    view = app_data.resolve(fleet_scope)
    attention = presentation.attention_lines(app_data.overview(view).attention)
    lines = [ln for ln in attention if "**checkout-api**" in ln]
    svc = app_data.revisions(replace(view, scope=fleet_scope.with_service("checkout-api")))
    assert svc is not None
    assert svc.verdict is not None
    v = svc.verdict
    headline = presentation.verdict_headline(v)
    assert v.status == "regression", headline  # the demo's canary is slower in its tail
    assert svc.period_s < view.window.trend().alignment_s  # the charts stay finer
    # the overview quotes the revisions page's verdict: same pair, same figures, same periods
    assert len(lines) == 1
    assert f"canary {svc.candidate} regressed against {svc.stable}" in lines[0]
    assert headline.split(": ", 1)[1] in lines[0]
    details = presentation.verdict_details(v)
    assert f"periods of {view.window.trend().alignment_s // 60} min" in " ".join(details)


def test_picking_revisions_updates_the_link_and_cards(app_data: Any) -> None:
    at = run({"service": "checkout-api"}, "app_pages/revisions.py")
    pick = at.multiselect(key="rev_pick")
    every = list(pick.options)
    assert len(every) >= 3, "checkout-api should have older revisions to pick from"
    chosen = every[:2]
    pick.set_value(chosen).run()
    assert not at.exception
    assert at.query_params["rev"] == [",".join(chosen)] or at.query_params["rev"] == ",".join(
        chosen
    )
    assert [m.label for m in at.metric].count("p50") == 2


def test_changing_service_in_the_sidebar_moves_the_link(app_data: Any) -> None:
    at = run(page="app_pages/revisions.py")
    assert any("Choose a service" in i.value for i in at.info)
    at.selectbox(key="scope_service").set_value("image-resizer").run()
    assert not at.exception
    assert at.query_params["service"] in ("image-resizer", ["image-resizer"])
    at.switch_page("app_pages/revisions.py").run()
    assert not at.exception
    picked = at.multiselect(key="rev_pick").value
    assert picked
    assert all(r.startswith("image-resizer-") for r in picked)
    assert any(m.label == "p95" for m in at.metric)


def test_deep_link_reproduces_the_view_and_rejects_bad_input(app_data: Any) -> None:
    at = run({"service": "webhook-relay", "window": "6h"})
    assert at.selectbox(key="scope_service").value == "webhook-relay"
    assert at.selectbox(key="scope_window").value == "6h"
    bad = run({"service": 'x" OR 1=1', "window": "forever", "region": "nowhere land"})
    assert not bad.exception
    assert bad.selectbox(key="scope_service").value == ""
    assert bad.selectbox(key="scope_window").value == "24h"
    assert len(bad.warning) >= 2


def test_a_repeated_view_costs_no_api_call(app_data: Any, demo_emulator: Any) -> None:
    def calls_of(params: dict[str, str]) -> dict[str, int]:
        before = demo_emulator.calls.snapshot()
        assert not run(params, "app_pages/revisions.py").exception
        after = demo_emulator.calls.snapshot()
        return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}

    run()  # the overview: the fleet's aggregates, which the sidebar's service list reuses
    checkout = calls_of({"service": "checkout-api"})
    assert checkout
    assert calls_of({"service": "checkout-api"}) == {}
    # another service reads its own series: the same Monitoring and Admin API calls (its logs
    # may take another number of pages), and nothing of the first service again
    admin = calls_of({"service": "admin-tool"})
    not_logs = {k: v for k, v in admin.items() if "Logging" not in k}
    assert not_logs == {k: v for k, v in checkout.items() if "Logging" not in k}
    assert calls_of({"service": "admin-tool"}) == {}


def _money(text: str) -> float:
    return float(text.replace("$", "").replace(",", ""))


def test_cost_controls_give_an_instant_estimate(app_data: Any) -> None:
    at = run({"service": "admin-tool"}, "app_pages/cost.py")
    assert not at.exception
    before = {m.label: m for m in at.metric}
    assert before["Monthly cost"].delta.startswith("+0.00")
    assert any("min instances 2 → 0" in m.value for m in at.markdown), "advice missing"
    at.select_slider(key="cost_min").set_value(0).run()
    after = {m.label: m for m in at.metric}
    assert _money(after["Monthly cost"].value) < _money(before["Monthly cost"].value)
    assert float(after["Cold starts / day"].value) > float(before["Cold starts / day"].value)
    assert after["Monthly cost"].delta.startswith("-")
    assert any("reproduces the observed billable time" in c.value for c in at.caption)


def test_a_setting_cloud_run_refuses_is_explained(app_data: Any) -> None:
    at = run({"service": "notify-mailer"}, "app_pages/cost.py")  # runs below 1 vCPU
    at.radio(key="cost_billing").set_value("instance").run()
    assert not at.exception
    assert any("does not allow" in w.value for w in at.warning)


def test_cost_page_asks_for_a_service(app_data: Any) -> None:
    at = run(page="app_pages/cost.py")
    assert any("Choose a service" in i.value for i in at.info)


def test_twenty_concurrent_sessions_cost_the_calls_of_one(
    app_data: Any, demo_emulator: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    scope, _ = app_data.scope_from_query({"window": "6h"})
    for _attempt in range(2):  # window ends move every 5 minutes: retry if one was crossed
        first_window = app_data.window_of(scope)
        st.cache_data.clear()
        app_data.forget()
        before = demo_emulator.calls.snapshot()
        one = run({"window": "6h"})
        assert not one.exception
        mid = demo_emulator.calls.snapshot()
        st.cache_data.clear()
        app_data.expire()
        with ThreadPoolExecutor(max_workers=20) as pool:
            sessions = list(pool.map(lambda _: run({"window": "6h"}), range(20)))
        after = demo_emulator.calls.snapshot()
        if app_data.window_of(scope) == first_window:
            break
    assert all(not s.exception for s in sessions)
    assert all(s.dataframe for s in sessions)
    calls_of_one = {k: v - before.get(k, 0) for k, v in mid.items() if v - before.get(k, 0)}
    calls_of_20 = {k: v - mid.get(k, 0) for k, v in after.items() if v - mid.get(k, 0)}
    assert calls_of_one
    assert calls_of_20 == calls_of_one


def test_custom_window_from_a_link(app_data: Any) -> None:
    from datetime import timedelta

    end = app_data.now().replace(second=0, microsecond=0) - timedelta(hours=2)
    start = end - timedelta(hours=3)
    at = run({"window": "custom", "start": start.isoformat(), "end": end.isoformat()})
    assert not at.exception
    assert at.selectbox(key="scope_window").value == "custom"
    label = " ".join(c.value for c in at.caption)
    assert f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC" in label
    assert at.dataframe, "the overview of the custom window"


def test_fleet_startup_p95_matches_the_raw_histograms(app_data: Any, demo_emulator: Any) -> None:
    at = run(page="app_pages/cold_starts.py")
    shown = {m.label: m.value for m in at.metric}["Startup p95"]
    assert shown != "—", "the fleet's startup p95 should be known"
    scope, _ = app_data.scope_from_query({})
    w = app_data.window_of(scope)
    truth, width = merged_percentile(
        demo_emulator.fleet,
        None,
        w.start,
        w.end,
        0.95,
        metric="run.googleapis.com/container/startup_latencies",
    )
    assert abs(float(shown.replace(",", "").split()[0]) - truth) <= width + 1


def test_fleet_cold_starts_count_every_startup_sample(app_data: Any, demo_emulator: Any) -> None:
    """Without a service the page reads no logs: its per-service counts are the startup-latency
    samples of the raw simulated histograms (numpy) in the settled window."""
    before = demo_emulator.calls.snapshot()
    at = run(page="app_pages/cold_starts.py")
    after = demo_emulator.calls.snapshot()
    assert not any("Logging" in k for k, v in after.items() if v != before.get(k, 0))
    table = at.dataframe[0].value.set_index("service")
    scope, _ = app_data.scope_from_query({})
    w = app_data.window_of(scope).settled()
    spec = demo_emulator.fleet.spec
    first = int((w.start - spec.start).total_seconds() // 60)
    last = int((w.end - spec.start).total_seconds() // 60)
    counts: dict[str, float] = {}
    for s in demo_emulator.fleet.series:
        if s.metric_type == "run.googleapis.com/container/startup_latencies":
            n = np.clip(s.values.count[first:last], 0, None).sum()
            name = s.resource_labels["service_name"]
            counts[name] = counts.get(name, 0.0) + float(n)
    started = {k: v for k, v in counts.items() if v}
    assert started
    for service, n in started.items():
        assert table.loc[service, "cold_starts"] == n, service
    total = {m.label: m.value for m in at.metric}["Cold starts"]
    assert float(total.replace(",", "")) == sum(started.values())


def test_the_long_lived_heap_is_frozen_after_the_first_run(app_data: Any) -> None:
    import gc

    at = run()
    assert not at.exception
    # modules, clients and the simulated fleet: kept out of every later full collection
    assert gc.get_freeze_count() > 100_000


def test_a_run_resolves_its_window_once(app_data: Any) -> None:
    """The view (scope and window) comes from one clock reading; a custom window ending now
    marks its newest points pending, as a preset does, and keeps one cache key within the TTL."""
    from datetime import timedelta

    at = app_data.now()
    link = {
        "window": "custom",
        "start": (at - timedelta(hours=2)).isoformat(),
        "end": at.isoformat(),
    }
    scope, warnings = app_data.scope_from_query(link, at)
    assert not warnings
    view = app_data.resolve(scope, at)
    assert view.window.end == at.replace(second=0, microsecond=0)
    assert view.window.pending_after is not None
    assert view.window.is_pending(view.window.end)
    assert not view.window.is_pending(view.window.end - timedelta(minutes=10))
    assert app_data.resolve(scope, at + timedelta(seconds=1)).key == view.key
    old = {"window": "custom", "start": (at - timedelta(hours=5)).isoformat(),
           "end": (at - timedelta(hours=3)).isoformat()}  # fmt: skip
    settled = app_data.resolve(app_data.scope_from_query(old, at)[0], at).window
    assert settled.pending_after is None  # nothing in it can still grow


def test_the_service_table_filters_by_name(app_data: Any, demo_emulator: Any) -> None:
    at = run()
    assert len(at.dataframe[0].value) == len(demo_emulator.fleet.spec.services)
    at.text_input(key="overview_filter").input("CHECK").run()
    assert list(at.dataframe[0].value["service"]) == ["checkout-api"]
    at.text_input(key="overview_filter").input("no-such-thing").run()
    assert at.dataframe[0].value.empty
    assert any("No service name or project contains" in i.value for i in at.info)


def test_the_trend_draws_the_busiest_services_and_sums_the_rest(app_data: Any) -> None:
    import pandas as pd

    from app_data import views

    ts = pd.date_range("2026-03-01", periods=3, freq="5min", tz="UTC")
    names = [f"svc-{i:02d}" for i in range(13)]
    trend = pd.DataFrame(
        [
            {"project_id": "p-one", "location": "r1", "service": n, "timestamp": t,
             "value": float(i + 1), "pending": False}
            for i, n in enumerate(names)
            for t in ts
        ]
    )  # fmt: skip
    # busiest (most requests) first: svc-12 .. svc-03 shown, svc-02 .. svc-00 summed
    chart, note = views._top_trend(trend)
    assert set(chart["series"]) == {*names[3:], "3 other services"}
    rest = chart[chart["series"] == "3 other services"]
    assert list(rest["value"]) == [1.0 + 2.0 + 3.0] * 3
    assert note == "the 10 busiest services, the other 3 summed"
    four = trend[trend["service"].isin(names[:4])]
    every, nothing_left = views._top_trend(four)
    assert set(every["series"]) == set(names[:4])  # few enough: every service by name
    assert nothing_left == ""
