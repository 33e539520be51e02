"""One quantity, one value on the Cost page: the heatmap and the Pareto chart show the vCPU and
memory size the estimate card prices, so a cell and the card agree."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import streamlit as st

import charts
import presentation
import presentation.cost


@pytest.fixture(scope="module")
def app_data(demo_emulator: Any) -> Iterator[Any]:
    import app_data as module

    assert module.settings().emulator_address == demo_emulator.address, "settings read too early"
    st.cache_data.clear()
    module.forget()
    return module


def _cost(app_data: Any, cpu: float | None) -> Any:
    scope, _ = app_data.scope_from_query({"service": "checkout-api"})
    shown = app_data.cost(app_data.resolve(scope), cpu=cpu)
    assert shown is not None
    assert not shown.cannot_estimate, shown.cannot_estimate
    return shown


@pytest.mark.parametrize("cpu", [None, 2.0])
def test_every_heatmap_cell_is_the_estimate_card_of_its_setting(app_data: Any, cpu: Any) -> None:
    view = _cost(app_data, cpu)
    cur = view.current
    plane = (cpu or float(cur["cpu"]), float(cur["memory_gib"]), int(cur["max_instances"]))
    assert plane[0] in set(view.table["cpu"])
    billing = str(cur["billing"])
    shown = app_data.labelled(view.table, billing, plane=plane)
    fig = charts.heatmap(
        shown, x="concurrency", y="min_instances", z="monthly_cost", z_unit="$", title=""
    )
    z = np.asarray(fig.data[0].z, dtype=float)
    checked = 0
    for i, mins in enumerate(fig.data[0].y):
        for j, conc in enumerate(fig.data[0].x):
            if not np.isfinite(z[i, j]):
                continue
            card = app_data.pick(
                view.table,
                cur,
                view.calibration_error,
                concurrency=int(conc),
                min_instances=int(mins),
                max_instances=plane[2],
                billing=billing,
                cpu=plane[0],
                memory_gib=plane[1],
            )
            assert card.allowed
            assert z[i, j] == pytest.approx(card.monthly_cost, rel=1e-12), (conc, mins)
            checked += 1
    assert checked >= 10
    if cpu is not None:  # the grid also holds the current size: a cell must not mix them
        other = view.table[view.table["allowed"] & (view.table["cpu"] != plane[0])]
        assert not other.empty


def test_the_pareto_frontier_is_the_frontier_of_the_plane(app_data: Any) -> None:
    view = _cost(app_data, 2.0)
    plane = (2.0, float(view.current["memory_gib"]), int(view.current["max_instances"]))
    shown = app_data.labelled(view.table, plane=plane)
    assert set(shown["cpu"]) == {2.0}
    front = shown[shown["pareto"]]
    assert not front.empty
    # a setting refusing more requests than the current one is never on the front (fewer
    # instances are cheaper, not better), and no other shown point beats a frontier point on
    # both cost and cold starts
    most = float(view.current["rejected_per_day"]) + 0.5
    assert not (front["rejected_per_day"] > most).any()
    fair = shown[~(shown["rejected_per_day"] > most)]
    for _, p in front.iterrows():
        better = fair[
            (fair["monthly_cost"] <= p["monthly_cost"])
            & (fair["cold_starts_per_day"] <= p["cold_starts_per_day"])
            & (
                (fair["monthly_cost"] < p["monthly_cost"])
                | (fair["cold_starts_per_day"] < p["cold_starts_per_day"])
            )
        ]
        assert better.empty, p["label"]


def test_idle_min_instances_cost_the_same_on_the_overview_and_the_cost_page(
    app_data: Any,
) -> None:
    import re

    fleet_scope, _ = app_data.scope_from_query({})
    fleet_view = app_data.resolve(fleet_scope)
    table = app_data.overview(fleet_view).table.set_index("service")
    flagged = {
        service: float(m.group(1).replace(",", ""))
        for service, flags in table["flags"].items()
        if (m := re.search(r"idle min instances cost \$([\d,.]+)/month", flags))
    }
    assert flagged, "the demo has a service paying for idle min instances"
    for service, per_month in flagged.items():
        scope = fleet_scope.with_service(service)
        shown = app_data.cost(app_data.resolve(scope, fleet_view.at))
        assert shown is not None
        caption = presentation.cost.observed_caption(shown.totals, shown.price_source)
        got = re.search(r"idle min instances \$([\d,.]+)/month of it", caption)
        assert got, caption
        assert float(got.group(1).replace(",", "")) == pytest.approx(per_month, abs=0.011), service


@pytest.mark.parametrize("free_tier", [False, True])
def test_the_current_estimate_against_the_observed_projection(
    app_data: Any, free_tier: bool
) -> None:
    """The estimate card's current cost and the observed projection differ only by the model's
    error and what the free tier (or a discount) takes off, and the page says by how much; the
    observed projection is the overview's projected cost of the service."""
    fleet_scope, _ = app_data.scope_from_query({})
    fleet_view = app_data.resolve(fleet_scope)
    table = app_data.overview(fleet_view).table.set_index("service")
    for service in ("checkout-api", "admin-tool"):  # request-based; instance-based, min 2
        scope = fleet_scope.with_service(service)
        shown = app_data.cost(app_data.resolve(scope, fleet_view.at), free_tier=free_tier)
        assert shown is not None
        c = shown.vs_observed
        assert c is not None
        assert c.estimate == pytest.approx(float(shown.current["monthly_cost"]), abs=1e-9)
        assert c.observed == pytest.approx(float(table.loc[service, "monthly_cost"]), abs=0.011)
        # the model's error is the calibration's: at most its share of the observed month
        assert abs(c.model_error) <= abs(shown.calibration_error) * c.observed + 0.01, service
        if free_tier:
            assert c.adjustments < 0, service  # small services: the free tier takes something
        else:
            assert c.adjustments == pytest.approx(0.0, abs=1e-9)
        caption = presentation.cost.current_vs_observed_caption(c)
        assert presentation.dollars(c.observed) in caption
        assert presentation.dollars(c.estimate) in caption
        assert ("the free tier" in caption) is free_tier
