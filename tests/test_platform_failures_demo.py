"""Platform failures from the simulation to the page and the export.

Out-of-memory kills break the requests they were serving, and an image that fails to start
fails the request that triggered the start (emulator/sim/events.py): checked on a busy fleet
where both happen often. The demo's image-resizer has them too: the emulator's own records are
the ground truth, and the cold-starts page and ``python -m collectors`` must count the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from emulator.sim.events import CONNECTION_ERROR_TEXT, COULD_NOT_START_TEXT, OOM_REQUEST_TEXT
from emulator.sim.fleet import simulate
from emulator.sim.model import FleetSpec, RevisionSpec
from tests._fleet_builder import latest_traffic, services

ROOT = Path(__file__).resolve().parent.parent
SERVICE = "image-resizer"


def _truth(fleet: Any) -> dict[str, int]:
    """What the fleet wrote for SERVICE, counted from its own records (the 2-day demo fleet
    ends before now: a 7-day window holds all of it)."""
    inst = [e for e in fleet.instance_events if e.service == SERVICE]
    reqs = [r for r in fleet.request_events if r.service == SERVICE]
    kinds = Counter(e.kind for e in inst)
    texts = Counter(r.platform_text for r in reqs if r.platform_text)
    failed = {e.instance_id for e in inst if e.kind in ("exec_failed", "start_terminated")}
    return {
        "oom": kinds["oom"],
        "signal9": kinds["signal9"],
        "start_failed": len(failed),
        "oom_request_5xx": texts[OOM_REQUEST_TEXT],
        "connection_error_5xx": texts[CONNECTION_ERROR_TEXT],
        "start_failed_500": texts[COULD_NOT_START_TEXT],
        "no_instance_429": sum(1 for r in reqs if r.status == 429 and r.platform_text),
    }


END = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BUSY = RevisionSpec(
    "busy-api-00001-abc",
    END - timedelta(days=3),
    cpu=1.0,
    memory_gib=0.5,
    concurrency=80,
    latency_median_ms=400.0,
    oom_per_instance_hour=1.5,
    failed_starts_per_day=40.0,
)


@pytest.fixture(scope="module")
def busy() -> Any:
    """A busy service that runs out of memory often and whose image often fails to start."""
    svcs = services(
        (("europe-west1", "busy-api", BUSY),), latest_traffic(END - timedelta(days=2)), 15.0
    )
    return simulate(FleetSpec("failures-demo", 42, END - timedelta(hours=6), END, svcs, 5))


def test_every_5xx_the_logs_show_is_in_the_request_count_series(busy: Any) -> None:
    """The requests the platform broke fail in the metrics as in the logs (the same run)."""
    logged = sum(1 for r in busy.request_events if r.status >= 500)
    counted = sum(
        float(np.nansum(s.values))
        for s in busy.series
        if s.metric_type.endswith("request_count")
        and s.metric_labels.get("response_code_class") == "5xx"
    )
    assert counted == logged
    texts = Counter(r.platform_text for r in busy.request_events if r.platform_text)
    assert texts[OOM_REQUEST_TEXT] > 0
    assert texts[CONNECTION_ERROR_TEXT] > 0
    assert texts[COULD_NOT_START_TEXT] > 0
    killed = {e.instance_id for e in busy.instance_events if e.kind == "oom"}
    broken = [
        r
        for r in busy.request_events
        if r.platform_text in (OOM_REQUEST_TEXT, CONNECTION_ERROR_TEXT)
    ]
    assert {r.instance_id for r in broken} <= killed


def test_a_failed_start_never_becomes_ready_or_serves(busy: Any) -> None:
    events = busy.instance_events
    failed = {e.instance_id for e in events if e.kind == "exec_failed"}
    assert failed
    by_instance = Counter((e.instance_id, e.kind) for e in events if e.instance_id in failed)
    for iid in failed:
        assert by_instance[(iid, "start")] == 1
        assert by_instance[(iid, "start_terminated")] == 1
        assert by_instance[(iid, "ready")] == 0
    assert [e for e in events if e.kind == "oom" and e.memory_unit == "M"], "the older wording"
    # the request that triggered a failed start is logged a few ms before its start line
    starts = {e.instance_id: e.timestamp for e in events if e.kind == "start"}
    triggers = [r for r in busy.request_events if r.platform_text == COULD_NOT_START_TEXT]
    assert triggers
    for r in triggers:
        assert r.instance_id in failed
        assert r.status == 500
        assert timedelta(0) < starts[r.instance_id] - r.timestamp < timedelta(milliseconds=10)


def test_the_cold_starts_page_counts_what_the_emulator_wrote(demo_emulator: Any) -> None:
    import app_data

    scope, problems = app_data.scope_from_query({"service": SERVICE, "window": "7d"})
    assert not problems
    assert app_data.resolve(scope).window.start < demo_emulator.fleet.spec.start
    truth = _truth(demo_emulator.fleet)
    assert truth["start_failed"] > 0

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.query_params["service"] = SERVICE
    at.query_params["window"] = "7d"
    at.run()
    at.switch_page("app_pages/cold_starts.py").run()
    assert not at.exception
    counts = next(d.value for d in at.dataframe if "failure" in d.value.columns)
    shown = counts.set_index("event")["count"].to_dict()
    for event, n in truth.items():
        assert shown[event] == n, event
    assert shown["no_instance_5xx"] == 0


def test_the_export_counts_the_same(demo_emulator: Any, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNWATCH_")}
    env.update(RUNWATCH_SOURCE="demo", RUNWATCH_EMULATOR_ADDRESS=demo_emulator.address)
    args = ["export", "--service", SERVICE, "--window", "7d", "--out", str(tmp_path), "--json"]
    out = subprocess.run(
        [sys.executable, "-m", "collectors", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for event, n in _truth(demo_emulator.fleet).items():
        assert data["platform_failures"][event] == n, event
    events = pd.read_parquet(tmp_path / "instance_events.parquet")
    outcomes = events.loc[events["event"] == "start", "outcome"].value_counts()
    assert outcomes["failed"] == data["platform_failures"]["start_failed"]
