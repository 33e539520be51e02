"""Cost figures from partial inputs are never shown as complete: the Cost page and the what-if
command line against the session's demo emulator with faults switched on at the wire.

The truth each partial figure is checked against is the healthy run of the same page or
command on the same emulator, just before the fault is switched on.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import app_data
from tests._whatif_cli import whatif

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")
SERVICE = "checkout-api"  # mid-canary: a stable revision and a newer canary both billed
# A fixed window for every page run: the demo runs on the real clock, so a preset's window would
# move on by a minute between a healthy run and the faulted one it is compared with.
_END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
WINDOW = {
    "window": "custom",
    "start": (_END - timedelta(days=1)).isoformat(),
    "end": _END.isoformat(),
}
MONEY = re.compile(r"\$[0-9][0-9,]*\.[0-9]{2}")
CLASS_NAME = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)*(?:Error|Exception|Failure)\b")


def _forget() -> None:
    st.cache_data.clear()
    forget = getattr(app_data, "forget", None)  # every remembered error and result
    if forget is not None:
        forget()
    else:
        app_data._memory().errors.clear()
        app_data._memory().good.clear()


@pytest.fixture
def emu(demo_emulator: Any) -> Iterator[Any]:
    assert app_data.settings().emulator_address == demo_emulator.address
    demo_emulator.faults.clear()
    _forget()
    yield demo_emulator
    demo_emulator.faults.clear()
    _forget()


def _page(emu: Any, faults: str = "") -> AppTest:
    """The Cost page of SERVICE, loaded afresh with ``faults`` on the emulator."""
    _forget()
    emu.faults.set(faults)
    try:
        at = AppTest.from_file(DASHBOARD, default_timeout=120)
        at.query_params["service"] = SERVICE
        for key, value in WINDOW.items():
            at.query_params[key] = value
        at.run()
        at.switch_page("app_pages/cost.py").run()
    finally:
        emu.faults.clear()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _read(markdown: str) -> str:
    """The text a reader sees (widgets.plain escapes ASCII punctuation, and puts a word joiner
    after "https:")."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")


def _text(at: AppTest) -> str:
    kinds = ("error", "warning", "info", "markdown", "caption", "success")
    return "\n".join(_read(str(e.value)) for kind in kinds for e in getattr(at, kind))


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: str(m.value) for m in at.metric}


def _observed(at: AppTest) -> pd.DataFrame:
    frames = [d.value for d in at.dataframe if "monthly_total" in d.value.columns]
    assert len(frames) == 1
    return frames[0].set_index("revision")


def _advice(at: AppTest) -> list[str]:
    return [str(m.value) for m in at.markdown if str(m.value).startswith("- ")]


def _assert_no_estimate(at: AppTest) -> None:
    """No current cost, no calibration claim, no advice, no grid."""
    assert "Monthly cost" not in _metrics(at)
    assert "reproduces the observed billable time" not in _text(at)
    assert _advice(at) == []
    assert not at.get("plotly_chart")


# ----------------------------------------------------------------------------- the page


def test_revision_configs_missing_leave_the_service_cost_unknown(emu: Any) -> None:
    healthy = _page(emu)
    truth = _observed(healthy)
    assert "Monthly cost" in _metrics(healthy)
    billed = set(truth.index[truth["monthly_total"] > 0])
    assert len(billed) >= 2, "the demo canary should have two billed revisions"

    at = _page(emu, "ListRevisions:UNAVAILABLE")
    shown = _text(at)
    assert "ListRevisions" in shown
    _assert_no_estimate(at)
    assert "Cannot estimate the monthly cost" in shown
    seen = _observed(at)
    known = seen[seen["cannot_estimate"] == ""]
    unknown = seen[seen["cannot_estimate"] != ""]
    # Only the latest revision is described (from the service template); every other billed
    # revision is listed with no figure and the failed source named.
    assert len(known) == 1
    assert set(unknown.index) == billed - set(known.index)
    assert unknown["monthly_total"].isna().all()
    assert unknown["cannot_estimate"].str.contains("ListRevisions").all()
    # the one figure shown is the healthy figure of that revision
    rev = known.index[0]
    assert known.loc[rev, "monthly_total"] == pytest.approx(truth.loc[rev, "monthly_total"])
    # the total is not shown as complete: "unknown", and the known part marked partial
    caption = next(_read(c.value) for c in at.caption if "Projected" in c.value)
    assert "Projected total: unknown" in caption
    assert f"${known.loc[rev, 'monthly_total']:,.2f}/month" in caption
    assert "(partial)" in caption
    assert f"${truth['monthly_total'].sum():,.2f}" not in caption
    assert "Traceback" not in shown


def test_services_failing_says_so_not_that_the_service_is_missing(emu: Any) -> None:
    # a service's page reads its configuration with GetService (the fleet's list with
    # ListServices): both fail
    at = _page(emu, "ListServices:UNAVAILABLE;GetService:UNAVAILABLE")
    shown = _text(at)
    assert any("GetService" in e.value for e in at.error), shown
    assert "no configuration was found" not in shown
    assert not MONEY.search(shown)
    assert "Monthly cost" not in _metrics(at)
    assert "Traceback" not in shown


def test_metrics_monitoring_calls_incomplete_leave_every_cost_unknown(emu: Any) -> None:
    assert "Monthly cost" in _metrics(_page(emu))
    at = _page(emu, "exec_errors=1")  # Monitoring: "the results may be incomplete"
    shown = _text(at)
    _assert_no_estimate(at)
    seen = _observed(at)
    assert seen["monthly_total"].isna().all()
    assert seen["cannot_estimate"].str.contains("metrics are incomplete").all()
    assert "Projected total: unknown" in shown
    assert not MONEY.search(next(_read(c.value) for c in at.caption if "Projected" in c.value))


def test_some_metrics_failing_leave_the_cost_unknown(emu: Any) -> None:
    # Each ListTimeSeries call fails with probability 0.8 (three attempts each): nearly every
    # seed leaves some of the eight cost metrics failed and others read. Threads make the
    # outcome per seed vary, so try seeds until one gives that mix.
    for seed in range(1, 8):
        at = _page(emu, f"ListTimeSeries:UNAVAILABLE@0.8;seed={seed}")
        if not at.error and any("ListTimeSeries" in w.value for w in at.warning):
            break
    else:
        pytest.fail("no seed left the metrics partly read")
    _assert_no_estimate(at)
    seen = _observed(at)
    assert seen["monthly_total"].isna().all()
    assert seen["cannot_estimate"].str.contains("ListTimeSeries").all()


def test_logs_failing_keep_the_cost_but_not_the_429s_or_the_advice(emu: Any) -> None:
    healthy = _page(emu)
    truth = _metrics(healthy)
    assert _advice(healthy), "the healthy page should advise"

    at = _page(emu, "ListLogEntries:UNAVAILABLE")
    shown = _metrics(at)
    # the cost does not depend on the logs: the healthy figure, with the 429s unknown
    assert shown["Monthly cost"] == truth["Monthly cost"]
    assert shown["Rejected (429) / day"] == "unknown"
    assert any(w.value.startswith("These estimates are partial") for w in at.warning)
    assert any("ListLogEntries" in w.value for w in at.warning)
    assert _advice(at) == []
    assert any(i.value.startswith("No advice because") for i in at.info)


# ----------------------------------------------------------------------- the command line


def _cli(
    emu: Any | None, *args: str, faults: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RUNWATCH_")}
    if emu is not None:
        base["RUNWATCH_EMULATOR_ADDRESS"] = emu.address
        emu.faults.set(faults)
    try:
        return whatif(SERVICE, "--days", "1", *args, env={**base, **env})
    finally:
        if emu is not None:
            emu.faults.clear()


def _one_plain_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert not CLASS_NAME.search(lines[0]), lines[0]
    return lines[0]


def _json(out: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


@pytest.fixture
def healthy_cli(emu: Any) -> dict[str, Any]:
    out = _cli(emu, "--json")
    assert out.returncode == 0, out.stderr
    doc = _json(out)
    assert doc["quality"]["status"] == "complete"
    assert doc["current"]["monthly_cost"] > 0
    return doc


def test_cli_reads_the_emulator_of_the_settings_and_says_configs_are_missing(
    emu: Any, healthy_cli: dict[str, Any]
) -> None:
    # The fault is switched on in this process's emulator: only a command line that reads
    # RUNWATCH_EMULATOR_ADDRESS sees it.
    out = _cli(emu, "--json", faults="ListRevisions:UNAVAILABLE")
    assert out.returncode == 4, out.stderr
    doc = _json(out)
    assert doc["quality"]["status"] == "partial"
    assert any("ListRevisions" in f for f in doc["quality"]["failed"])
    assert doc["quality"]["inputs"]["revisions"]["status"] == "partial"
    assert doc["current"] is None
    assert doc["alternatives"] == []
    assert doc["advice"] == []
    assert doc["calibration_error"] is None
    assert "ListRevisions" in doc["unknown"]
    assert "partial data" in _one_plain_line(out.stderr)

    text = _cli(emu, faults="ListRevisions:UNAVAILABLE")
    assert text.returncode == 4
    assert "current cost: unknown because" in text.stdout
    assert "ListRevisions" in text.stdout
    assert not MONEY.search(text.stdout)
    assert "advice:" not in text.stdout
    assert "model error" not in text.stdout
    _one_plain_line(text.stderr)


def test_cli_logs_failing_keep_the_cost_and_mark_the_rest(
    emu: Any, healthy_cli: dict[str, Any]
) -> None:
    out = _cli(emu, "--json", faults="ListLogEntries:UNAVAILABLE")
    assert out.returncode == 4, out.stderr
    doc = _json(out)
    assert doc["quality"]["status"] == "partial"
    assert any(f.startswith("request logs:") for f in doc["quality"]["failed"])
    assert doc["quality"]["inputs"]["instance_events"]["status"] == "partial"
    # the window may have moved on by a minute since the healthy run: same cost within 1 %
    want = healthy_cli["current"]["monthly_cost"]
    assert math.isclose(doc["current"]["monthly_cost"], want, rel_tol=0.01)
    assert doc["current"]["rejected_per_day"] is None
    assert doc["advice"] == []
    assert "ListLogEntries" in doc["partial"]
    _one_plain_line(out.stderr)


def test_cli_some_metrics_failing_is_partial(emu: Any) -> None:
    for seed in range(1, 8):
        out = _cli(emu, "--json", faults=f"ListTimeSeries:UNAVAILABLE@0.8;seed={seed}")
        if out.returncode == 4:
            break
        assert out.returncode == 1, out.stderr  # every metric failed: nothing to estimate
    else:
        pytest.fail("no seed left the metrics partly read")
    doc = _json(out)
    assert doc["quality"]["inputs"]["metric_points"]["status"] == "partial"
    assert any(f.startswith("metrics:") and "ListTimeSeries" in f for f in doc["quality"]["failed"])
    assert doc["current"] is None
    assert "metrics are incomplete" in doc["unknown"]
    _one_plain_line(out.stderr)


def test_cli_api_failures_exit_1_in_plain_words(emu: Any) -> None:
    out = _cli(emu, faults="GetService:UNAVAILABLE")  # one service: read with GetService
    assert out.returncode == 1
    line = _one_plain_line(out.stderr)
    assert "GetService" in line
    assert "not found" not in line
    assert not MONEY.search(out.stdout)

    # the RPC timeout of the settings reaches the collectors: 2 s per call against 1 s allowed
    slow = _cli(emu, faults="latency=2", RUNWATCH_RPC_TIMEOUT_S="1")
    assert slow.returncode == 1
    assert "DEADLINE_EXCEEDED" in _one_plain_line(slow.stderr)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gone = _cli(None, RUNWATCH_EMULATOR_ADDRESS=f"127.0.0.1:{port}", RUNWATCH_RPC_TIMEOUT_S="1")
    assert gone.returncode == 1
    assert "UNAVAILABLE" in _one_plain_line(gone.stderr)


def test_cli_bad_flags_and_settings_exit_2(emu: Any) -> None:
    bad = _cli(emu, "--days", "0")
    assert bad.returncode == 2
    assert "--days" in _one_plain_line(bad.stderr)
    conf = _cli(emu, RUNWATCH_RPC_TIMEOUT_S="soon")
    assert conf.returncode == 2
    assert "RUNWATCH_RPC_TIMEOUT_S" in _one_plain_line(conf.stderr)
