"""Where the prices come from, on every page and in the command line: the Cloud Billing Catalog
the emulator serves, or, when it cannot be read, the bundled book with the reason said. The
demo's regions are priced the same by both, so the figures do not move."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import app_data
from costmodel import prices
from costmodel.sku_book import CATALOG_SOURCE
from tests._whatif_cli import whatif_json

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")
SERVICE = "checkout-api"
BUNDLED = f"{prices.load().source} (as of {prices.load().as_of})"
ENABLE = "gcloud services enable cloudbilling.googleapis.com"
_END = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
WINDOW = {
    "window": "custom",
    "start": (_END - timedelta(days=1)).isoformat(),
    "end": _END.isoformat(),
}


def _forget() -> None:
    st.cache_data.clear()
    app_data.forget()


@pytest.fixture
def emu(demo_emulator: Any) -> Iterator[Any]:
    demo_emulator.faults.clear()
    _forget()
    yield demo_emulator
    demo_emulator.faults.clear()
    _forget()


def _run(emu: Any, page: str, faults: str = "") -> AppTest:
    _forget()
    emu.faults.set(faults)
    try:
        at = AppTest.from_file(DASHBOARD, default_timeout=120)
        at.query_params["service"] = SERVICE
        at.query_params.update(WINDOW)  # fixed: the same window for every run compared
        at.run()
        if page != "overview":
            at.switch_page(f"app_pages/{page}.py").run()
    finally:
        emu.faults.clear()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _captions(at: AppTest) -> str:
    # as read: without widgets.plain's escapes and the word joiner it puts after "https:"
    return "\n".join(str(c.value).replace("\\", "").replace("\u2060", "") for c in at.caption)


def _observed(at: AppTest) -> pd.Series:
    (frame,) = [d.value for d in at.dataframe if "monthly_total" in d.value.columns]
    return frame.set_index("revision")["monthly_total"]


def _overview_costs(at: AppTest) -> pd.Series:
    table = at.dataframe[0].value
    return table.set_index("service")["monthly_cost"]


def test_the_pages_name_the_catalog_and_fall_back_saying_why(emu: Any) -> None:
    cost = _run(emu, "cost")
    overview = _run(emu, "overview")
    for at in (cost, overview):
        assert f"Prices: {CATALOG_SOURCE} (as of " in _captions(at)
        assert BUNDLED not in _captions(at)
    bundled_cost = _run(emu, "cost", "ListSkus:PERMISSION_DENIED")
    bundled_overview = _run(emu, "overview", "ListSkus:UNAVAILABLE")
    for at in (bundled_cost, bundled_overview):
        shown = _captions(at)
        assert f"Prices: {BUNDLED} (the Cloud Billing Catalog could not be read: " in shown
        assert CATALOG_SOURCE not in shown
    assert ENABLE in _captions(bundled_cost)
    # the demo's regions cost the same at the catalog's prices and the bundled ones
    pd.testing.assert_series_equal(_observed(cost), _observed(bundled_cost), rtol=1e-9)
    pd.testing.assert_series_equal(
        _overview_costs(overview), _overview_costs(bundled_overview), rtol=1e-9
    )
    assert (_overview_costs(overview) > 0).all()


def _whatif(emu: Any, faults: str = "") -> dict[str, Any]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RUNWATCH_")}
    base["RUNWATCH_EMULATOR_ADDRESS"] = emu.address
    emu.faults.set(faults)
    try:
        return whatif_json(SERVICE, env=base)
    finally:
        emu.faults.clear()


def test_the_command_line_names_the_same_prices(emu: Any) -> None:
    read = _whatif(emu)
    assert read["prices"].startswith(f"{CATALOG_SOURCE} (as of ")
    fell_back = _whatif(emu, "ListSkus:PERMISSION_DENIED")
    assert fell_back["prices"].startswith(f"{BUNDLED} (the Cloud Billing Catalog could not")
    assert ENABLE in fell_back["prices"]
    assert read["current"]["monthly_cost"] == pytest.approx(fell_back["current"]["monthly_cost"])
