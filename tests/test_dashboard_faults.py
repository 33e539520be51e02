"""Faults at the wire reach the page as plain words: no traceback, stale or partial marked."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import app_data
import presentation

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")


def _run(params: dict[str, str] | None = None, page: str = "") -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()
    return at.switch_page(page).run() if page else at


def _read(markdown: str) -> str:
    """The text a reader sees: untrusted text reaches the page with every ASCII punctuation
    character backslash-escaped and bare URLs broken by an invisible U+2060 (widgets.plain)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")


def _shown(at: AppTest) -> str:
    return _read(
        "\n".join(
            str(e.value)
            for kind in ("error", "warning", "info", "markdown")
            for e in getattr(at, kind)
        )
    )


def test_permission_denied_names_the_missing_role(emu: Any) -> None:
    emu.faults.set("ListTimeSeries:PERMISSION_DENIED@1.0")
    at = _run()
    assert not at.exception
    shown = _shown(at)
    assert "roles/monitoring.viewer" in shown
    assert "Traceback" not in shown


def test_a_failed_refresh_serves_the_last_good_data_marked_stale(
    emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The dashboard's clock: the window's end moves on by one rounding step between the two
    # runs, as it does every few minutes in live mode (this once failed CI by chance).
    start = emu.fleet.spec.end - timedelta(minutes=30)
    scope, _ = app_data.scope_from_query({})
    monkeypatch.setattr(app_data, "now", lambda: start)
    before = app_data.window_of(scope)
    first = _run()
    assert not first.exception
    assert first.dataframe
    st.cache_data.clear()  # the TTL ran out
    app_data.expire()
    emu.faults.set("ListTimeSeries:UNAVAILABLE@1.0;ListLogEntries:UNAVAILABLE@1.0")
    monkeypatch.setattr(app_data, "now", lambda: start + timedelta(minutes=5))
    assert app_data.window_of(scope).end > before.end, "the window should have moved on"
    again = _run()
    assert not again.exception
    assert again.dataframe, "the last good table should still be shown"
    assert any("stale" in w.value for w in again.warning)


def test_a_failing_page_of_logs_marks_the_view_partial(emu: Any) -> None:
    emu.faults.set("ListLogEntries:INTERNAL@page2")
    at = _run({"window": "7d", "service": "webhook-relay"}, "app_pages/cold_starts.py")
    assert not at.exception
    # with 1,000 entries a page the 7-day demo logs need several pages; page 2 failed
    assert any(("partial" in w.value) or ("truncated" in w.value) for w in at.warning)


def test_the_overview_reads_no_logs(emu: Any) -> None:
    emu.faults.set("ListLogEntries:UNAVAILABLE@1.0")
    calls = emu.calls.snapshot()
    at = _run({"window": "7d"})
    assert not at.exception
    assert at.dataframe
    assert not at.warning, [w.value for w in at.warning]  # complete: no log was needed
    new = {k for k, v in emu.calls.snapshot().items() if v != calls.get(k, 0)}
    assert new
    assert not any("Logging" in k for k in new), new


def _dashboard_elsewhere(env: dict[str, str]) -> str:
    """Run the dashboard once in a fresh process with only ``env`` (settings are read at import)
    and return its error boxes and markdown as text."""
    code = (
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({DASHBOARD!r}, default_timeout=60).run()\n"
        "assert not at.exception, at.exception\n"
        "print('\\n'.join(e.value for e in at.error))\n"
        "print('\\n'.join(m.value for m in at.markdown))\n"
    )
    base = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "NO_GCE_CHECK": "true"}
    return _read(
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**base, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
    )


def test_live_mode_without_credentials_says_what_to_do() -> None:
    out = _dashboard_elsewhere(
        {
            "RUNWATCH_PROJECTS": "my-project-123",
            "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/key.json",
        }
    )
    assert "Live" in out
    assert "No Google credentials found" in out
    assert "roles/monitoring.viewer" in out


def test_live_mode_without_a_project_names_the_variable() -> None:
    out = _dashboard_elsewhere({"RUNWATCH_SOURCE": "gcp"})
    assert "Configuration problem" in out
    assert "RUNWATCH_PROJECTS" in out


def test_a_partial_result_is_retried_once_the_error_ttl_ran_out(
    emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Partial data is shown marked partial, kept for the error TTL (not the cache's whole
    TTL), and replaced by complete data on the first rerun after the fault cleared."""
    import time
    import types

    assert app_data.settings().error_ttl_s < app_data.settings().cache_ttl_s
    emu.faults.set("exec_errors=1")  # Monitoring: "the results may be incomplete"
    first = _run()
    assert not first.exception
    assert any("partial" in w.value for w in first.warning), "the incomplete data is named"
    emu.faults.clear()
    calls = emu.calls.snapshot()
    within = _run()  # within the error TTL: the same partial result, no new call
    assert any("partial" in w.value for w in within.warning)
    assert emu.calls.snapshot() == calls
    # the dashboard's clock moves past the error TTL, not past the cache's TTL
    offset = app_data.settings().error_ttl_s + 1.0
    shifted = types.SimpleNamespace(monotonic=lambda: time.monotonic() + offset)
    monkeypatch.setattr(app_data.memory, "time", shifted)
    after = _run()
    assert not after.exception
    assert not any("partial" in w.value for w in after.warning), [w.value for w in after.warning]
    assert after.dataframe


def test_logs_failing_never_read_as_no_cold_starts(emu: Any) -> None:
    healthy = _run({"service": "image-resizer"}, "app_pages/cold_starts.py")
    starts = {m.label: m.value for m in healthy.metric}["Cold starts"]
    assert float(starts.replace(",", "")) > 0
    # what the metric counts: every start but the failed ones (they write no startup sample)
    scope, _ = app_data.scope_from_query({"service": "image-resizer"})
    counted = app_data.cold_starts(app_data.resolve(scope)).summary.starts_metric
    assert 0 < counted <= float(starts.replace(",", ""))
    st.cache_data.clear()
    app_data.forget()
    emu.faults.set("ListLogEntries:UNAVAILABLE@1.0")
    at = _run({"service": "image-resizer"}, "app_pages/cold_starts.py")
    assert not at.exception
    shown = " ".join(str(e.value) for kind in ("info", "warning") for e in getattr(at, kind))
    assert "No instance started" not in shown
    assert "could not be read" in shown
    # the startup-latency metric still counts them: its number, not 0 (read again after the
    # page's run too: a minute may have turned between them, moving the window)
    after = app_data.cold_starts(app_data.resolve(scope)).summary.starts_metric
    shown = {m.label: m.value for m in at.metric}["Cold starts"]
    assert shown in {f"{counted:,.0f}", f"{after:,.0f}"}


def test_a_canary_whose_series_failed_has_an_unknown_verdict(emu: Any) -> None:
    scope, _ = app_data.scope_from_query({"service": "checkout-api"})
    view = app_data.resolve(scope)
    app_data.frames_of(view)  # the page's own series load; then the verdict's read fails
    app_data.totals(view)
    emu.faults.set("ListTimeSeries:UNAVAILABLE@1.0")
    shown = app_data.revisions(view)
    assert shown is not None
    assert shown.verdict is not None
    assert shown.verdict.status == "unknown"
    headline = presentation.verdict_headline(shown.verdict)
    assert "could not be read" in headline
    assert "served no requests" not in headline
    assert not shown.cards.empty  # the rest of the page still shows
    assert not shown.quality.complete
