"""Shared fixtures. Only the lead edits this file (helpers keep theirs in tests/_<area>_helpers.py).

``demo_emulator`` serves a 2-day demo fleet ending now for the whole session; the dashboard
tests point app_data at it through RUNWATCH_EMULATOR_ADDRESS (set here and restored at the end),
so they can count the RPCs each page view costs. ``emu`` is the same emulator for a test that
injects faults, with every cache and memory emptied around it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

DEMO_DAYS = 2


@pytest.fixture(scope="session")
def demo_emulator() -> Iterator[Any]:
    import emulator

    emu = emulator.start(now=datetime.now(UTC), days=DEMO_DAYS, seed=42)
    env = {
        "RUNWATCH_SOURCE": "demo",
        "RUNWATCH_EMULATOR_ADDRESS": emu.address,
        # The test emulator enforces no Logging quota, and the dashboard tests clear the caches
        # between tests, so the process-wide budget (50 calls a minute) would throttle the
        # suite itself; the budget has its own tests (test_collect_logs_budget.py).
        "RUNWATCH_LOG_CALLS_PER_MINUTE": "1000",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield emu
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        emu.stop()


@pytest.fixture
def emu(demo_emulator: Any) -> Iterator[Any]:
    """The session's demo emulator for a test that injects faults into a dashboard: Streamlit's
    caches, app_data's memory and the Logging budgets are emptied before and after, the faults
    cleared after."""
    import streamlit as st

    import app_data
    from collectors.budget import PROCESS_BUDGETS

    assert app_data.settings().emulator_address == demo_emulator.address, "settings read too early"
    st.cache_data.clear()
    app_data.forget()
    PROCESS_BUDGETS.forget()  # an injected quota error pauses the project's Logging calls
    yield demo_emulator
    demo_emulator.faults.clear()
    st.cache_data.clear()
    app_data.forget()
    PROCESS_BUDGETS.forget()
