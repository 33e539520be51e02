"""Two what-ifs on the Cost page and in ``python -m costmodel whatif``: another region's prices
(the same replayed traffic, only the prices change; ``--price-region``) and max instances
(requests refused with 429 against the cost). Their comparison with the emulator's re-simulated
truth is in tests/test_cost_accuracy.py."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import pytest

import app_data
from costmodel import prices
from tests._pages import COST, cost_view, pinned_window, visit, window_query
from tests._whatif_cli import whatif, whatif_json

SERVICE = "checkout-api"  # europe-west1, Tier 1; request-based with min instances
THERE = "asia-southeast1"  # Tier 2: every request-based rate is higher than Tier 1's


def _window() -> tuple[datetime, datetime]:
    return pinned_window(1)


def _query(start: datetime, end: datetime) -> dict[str, str]:
    return window_query(SERVICE, start, end)


def _cost(start: datetime, end: datetime, price_region: str = "") -> Any:
    return cost_view(_query(start, end), price_region=price_region)


def test_the_same_traffic_at_another_regions_prices(demo_emulator: Any) -> None:
    start, end = _window()
    here, there = _cost(start, end), _cost(start, end, THERE)
    book = prices.load()
    assert book.tier(here.region) == "1"
    assert book.tier(THERE) == "2"
    # the replay is the same: only the prices differ
    for col in ("cold_starts_per_day", "rejected_per_day", "billable_s"):
        assert there.table[col].tolist() == pytest.approx(here.table[col].tolist(), nan_ok=True)
    assert there.elsewhere is not None
    assert here.elsewhere is None
    assert there.elsewhere.here == here.region
    assert there.elsewhere.there == THERE
    assert there.elsewhere.here_cost == pytest.approx(float(here.current["monthly_cost"]))
    assert there.elsewhere.there_cost == pytest.approx(float(there.current["monthly_cost"]))
    # Tier 2 request-based rates are higher: every allowed request-based setting costs more there
    req = here.table["allowed"] & (here.table["billing"] == "request")
    assert (there.table.loc[req, "monthly_cost"] > here.table.loc[req, "monthly_cost"]).all()
    # the observed projection is compared with the estimate where the service runs
    assert there.vs_observed is not None
    assert here.vs_observed is not None
    assert there.vs_observed.estimate == pytest.approx(here.vs_observed.estimate)
    # advice is for where the service runs
    assert here.advice
    assert not there.advice
    assert THERE in there.advice_withheld


def test_the_command_line_prices_it_the_same(demo_emulator: Any) -> None:
    start, end = _window()
    there = _cost(start, end, THERE)
    window = ("--start", start.isoformat(), "--end", end.isoformat())
    cli = whatif_json(SERVICE, *window, "--price-region", THERE, env=os.environ)
    assert cli["price_region"] == THERE
    assert cli["current"]["monthly_cost"] == pytest.approx(float(there.current["monthly_cost"]))
    assert cli["home_cost"] == pytest.approx(there.elsewhere.here_cost)
    assert cli["advice"] == []


@pytest.mark.parametrize(
    ("region", "status", "words"),
    [
        ("nowhere-west9", 3, "'nowhere-west9' is not in the price book"),
        ("europe-west1;rm", 2, "region"),
    ],
)
def test_a_region_without_prices_or_a_bad_name_is_refused(
    demo_emulator: Any, region: str, status: int, words: str
) -> None:
    done = whatif(SERVICE, "--price-region", region, env=os.environ)
    assert done.returncode == status, done.stderr
    assert words in done.stderr
    assert "Traceback" not in done.stderr


def test_the_cost_page_says_what_another_region_would_cost(demo_emulator: Any) -> None:
    start, end = _window()
    at = visit(COST, _query(start, end))
    assert THERE in at.selectbox(key="cost_region").options
    at.selectbox(key="cost_region").set_value(THERE).run()
    assert not at.exception
    said = [i.value for i in at.info]
    line = next(s for s in said if s.startswith(f"At {THERE}'s prices"))
    assert "latency" in line
    assert "not modelled" in line
    assert any(THERE in s and "advice is for" in s for s in said)


def test_max_instances_on_the_cost_page_trade_429s_for_cost(demo_emulator: Any) -> None:
    """webhook-relay refuses requests at max instances: raising the page's max serves them (the
    estimate's 429s fall to the grid's figure for that max) at a higher cost, and the advice
    names that max."""
    start, end = _window()
    query = {**_query(start, end), "service": "webhook-relay"}
    at = visit(COST, query)
    assert not at.exception
    slider = at.select_slider(key="cost_max")
    scope, _ = app_data.scope_from_query(query)
    view = app_data.cost(app_data.resolve(scope))
    assert view is not None
    current = int(view.current["max_instances"])
    assert slider.value == current
    assert float(view.current["rejected_per_day"]) > 100
    tip = next(t for t in view.advice if t.startswith(f"max instances {current} → "))
    bigger = int(tip.split("→ ")[1].split()[0])
    assert bigger in [int(o) for o in slider.options]
    slider.set_value(bigger).run()
    shown = {m.label: (m.value, m.delta) for m in at.metric}
    row = view.table[
        ~view.table["current"]
        & (view.table["max_instances"] == bigger)
        & (view.table["concurrency"] == view.current["concurrency"])
        & (view.table["min_instances"] == view.current["min_instances"])
        & (view.table["billing"] == view.current["billing"])
        & (view.table["cpu"] == view.current["cpu"])
        & (view.table["memory_gib"] == view.current["memory_gib"])
    ].iloc[0]
    assert float(row["rejected_per_day"]) < 0.1 * float(view.current["rejected_per_day"])
    assert shown["Monthly cost"][0] == f"${float(row['monthly_cost']):,.2f}"
    assert shown["Monthly cost"][1].startswith("+")
    heatmap = next(c for c in at.get("plotly_chart") if c.proto.id and "cost_heatmap" in c.proto.id)
    assert f"max {bigger} instances" in heatmap.proto.spec


def test_the_page_and_the_command_line_say_alike_why_there_is_no_advice(
    demo_emulator: Any,
) -> None:
    start, end = _window()
    page = _cost(start, end, THERE)
    window = ("--start", start.isoformat(), "--end", end.isoformat())
    done = whatif(SERVICE, *window, "--price-region", THERE, env=os.environ)
    assert done.returncode == 0, done.stderr
    said = next(ln for ln in done.stdout.splitlines() if ln.startswith("advice: none, because"))
    assert page.advice_withheld in said
    assert f"{THERE}'s prices" in page.advice_withheld
