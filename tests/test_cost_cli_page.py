"""The Cost page and ``python -m costmodel whatif`` run one pipeline (costmodel.service_whatif):
for the same service, window, prices and free tier they give the same current cost, the same
alternatives and the same advice. Before, they differed in the startup time the advice weighed,
the window's end, the free-tier default and whether instance events were read."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import pytest

import app_data
from tests._pages import cost_view, pinned_window, window_query
from tests._whatif_cli import whatif_json

SERVICE = "checkout-api"  # mid-canary, min instances: every part of the pipeline matters


def _window() -> tuple[datetime, datetime]:
    return pinned_window(1)


def _page(start: datetime, end: datetime) -> Any:
    return cost_view(window_query(SERVICE, start, end))


def _cli(start: datetime, end: datetime, *flags: str) -> dict[str, Any]:
    window = ("--start", start.isoformat(), "--end", end.isoformat())
    # the dashboard's settings (conftest points both at the emulator)
    return whatif_json(SERVICE, *window, *flags, env=os.environ)


def test_the_page_and_the_command_line_give_the_same_numbers(demo_emulator: Any) -> None:
    start, end = _window()
    page = _page(start, end)
    cli = _cli(start, end)
    assert cli["window"] == {"start": start.isoformat(), "end": end.isoformat()}
    assert cli["free_tier"] is app_data.settings().free_tier  # the same default
    assert cli["region"] == page.region
    current = page.current
    assert cli["current"]["monthly_cost"] == pytest.approx(current["monthly_cost"], rel=1e-9)
    assert cli["current"]["cold_starts_per_day"] == pytest.approx(
        current["cold_starts_per_day"], rel=1e-9
    )
    assert cli["calibration_error"] == pytest.approx(page.calibration_error, rel=1e-9, abs=1e-12)
    keys = ["concurrency", "min_instances", "max_instances", "billing", "cpu", "memory_gib"]
    table = page.table[~page.table["current"]].set_index(keys)
    assert cli["alternatives"]
    for alt in cli["alternatives"]:
        row = table.loc[tuple(alt[k] for k in keys)]
        assert alt["monthly_cost"] == pytest.approx(row["monthly_cost"], rel=1e-9)
    assert cli["advice"] == page.advice
    assert cli["advice"], "the demo's checkout-api has advice to give"
    assert cli["prices"].split(" (as of ")[0] == page.price_source.split(" (as of ")[0]


def test_the_free_tier_can_be_switched_either_way(demo_emulator: Any) -> None:
    start, end = _window()
    on, off = _cli(start, end, "--free-tier"), _cli(start, end, "--no-free-tier")
    assert on["free_tier"] is True
    assert off["free_tier"] is False
    assert on["current"]["monthly_cost"] <= off["current"]["monthly_cost"]
