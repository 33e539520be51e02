"""Logging, faults and the CLI of the emulator, through the real clients (Run v2 and Locations:
test_emulator_admin.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import _emulator_fixtures as fixtures
import pytest
from _emulator_helpers import (
    END,
    PROJECT,
    logging_client,
    monitoring_client,
    services_client,
)
from google.api_core import exceptions
from google.cloud.logging_v2.types import LogEntry
from google.protobuf import json_format
from google.rpc import error_details_pb2

import emulator
from emulator.api.faults import FaultSpecError, parse_spec
from emulator.sim.model import FleetData

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "real"
SYSTEM = f"projects/{PROJECT}/logs/run.googleapis.com%2Fvarlog%2Fsystem"
REQUESTS = f"projects/{PROJECT}/logs/run.googleapis.com%2Frequests"


# the module-scoped fixtures every test here shares
fleet, emu, fresh = fixtures.fleet, fixtures.emu, fixtures.fresh


def entries(emu: emulator.Emulator, flt: str = "", **kw: Any) -> list[LogEntry]:
    req = {"resource_names": [f"projects/{PROJECT}"], "filter": flt, **kw}
    return list(logging_client(emu.address).list_log_entries(request=req))


def ts(t: Any) -> str:
    return t.isoformat().replace("+00:00", "Z")


def test_cold_start_entries_with_timestamp_bounds(fleet: FleetData, fresh: Any) -> None:
    lo, hi = END - timedelta(hours=4), END - timedelta(hours=1)
    got = entries(
        fresh,
        f'logName="{SYSTEM}" textPayload:"Starting new instance" '
        f'timestamp>="{ts(lo)}" timestamp<"{ts(hi)}"',
        page_size=1000,
    )
    want = [e for e in fleet.instance_events if e.kind == "start" and lo <= e.timestamp < hi]
    assert len(got) == len(want) > 0
    assert [g.timestamp for g in got] == sorted(g.timestamp for g in got)
    for g in got:
        assert g.text_payload.startswith("Starting new instance. Reason: ")
        reason = g.text_payload.split("Reason: ")[1].split(" ")[0]
        assert g.labels["scaling_reason"] == reason
        assert g.resource.type == "cloud_run_revision"
        assert set(g.resource.labels) == {
            "project_id",
            "service_name",
            "revision_name",
            "location",
            "configuration_name",
        }
    assert any("instanceId" not in g.labels for g in got) or all(e.instance_id for e in want)


def test_entries_match_the_real_fixtures_field_by_field(fresh: Any) -> None:
    if not FIXTURES.is_dir():
        pytest.skip(f"real fixtures not present at {FIXTURES}")
    real = {}
    for name in (
        "logs_cold_start_autoscaling_ordering-helper-backend.json",
        "logs_min_instance_crashloop_starting_probe_exit_scribblemachine.json",
        "logs_min_instance_start_and_user_disabled_shutdown_honeypotscammer.json",
    ):
        for raw in json.loads((FIXTURES / name).read_text()):
            e = json_format.ParseDict(raw, LogEntry.pb()(), ignore_unknown_fields=True)
            real.setdefault(e.text_payload.split(" - ")[0][:40], e)
    ours = {
        e.text_payload.split(" - ")[0][:40]: LogEntry.pb(e)
        for e in entries(fresh, f'logName="{SYSTEM}"', page_size=1000)
    }
    for key, r in real.items():
        if not r.text_payload:
            continue
        mine = ours.get(key)
        assert mine is not None, f"no emulated entry like {key!r}"
        if "Starting new instance" in key:
            assert mine.text_payload == r.text_payload  # exact platform wording
        assert {f.name for f, _ in mine.ListFields()} >= {
            f.name for f, _ in r.ListFields() if f.name not in ("labels",)
        }
        assert mine.severity == r.severity
        assert set(r.labels) - {
            "managed-by",
            "gcb-build-id",
            "gcb-trigger-id",
            "gcb-trigger-region",
            "commit-sha",
        } <= set(mine.labels) | {"instanceId"}
        assert len(mine.insert_id) == len(r.insert_id)
        assert mine.log_name.split("/logs/")[1] == r.log_name.split("/logs/")[1]


def test_requests_log_has_http_request_and_platform_text(fleet: FleetData, fresh: Any) -> None:
    got = entries(
        fresh,
        f'logName="{REQUESTS}" httpRequest.status>=400',
        order_by="timestamp desc",
        page_size=1000,
    )
    want = [r for r in fleet.request_events if r.status >= 400]
    assert len(got) == len(want)
    assert [g.timestamp for g in got] == sorted((g.timestamp for g in got), reverse=True)
    for g in got:
        assert g.http_request.status >= 400
        assert g.http_request.request_url.startswith("https://")
        if g.http_request.status == 429:
            assert g.text_payload.startswith(
                "The request was aborted because there was no available instance."
            )
        else:
            assert g.text_payload == ""
    got = entries(
        fresh,
        'severity>=ERROR AND (resource.labels.service_name="checkout" '
        'OR resource.labels.service_name="admin") AND NOT textPayload=~"^Default"',
        page_size=1000,
    )
    assert got
    assert all(LogEntry.pb(g).severity >= 500 for g in got)


def test_logging_paging_and_validation(fresh: Any) -> None:
    all_entries = entries(fresh, page_size=1000)
    client = logging_client(fresh.address)
    pages = list(
        client.list_log_entries(
            request={"resource_names": [f"projects/{PROJECT}"], "page_size": 7}
        ).pages
    )
    assert sum(len(p.entries) for p in pages) == len(all_entries)
    assert len(pages) == -(-len(all_entries) // 7)
    assert entries(fresh)[:50] == all_entries[:50]  # default page size 50 still pages through
    for bad in (
        {"page_size": 1001},
        {"order_by": "severity desc"},
        {"filter": "timestamp>="},
        {"filter": 'timestamp>="yesterday"'},
        {"filter": "(textPayload:x"},
    ):
        with pytest.raises(exceptions.InvalidArgument):
            entries(fresh, **bad)
    with pytest.raises(exceptions.PermissionDenied, match=r"logging\.logEntries\.list"):
        list(client.list_log_entries(request={"resource_names": ["projects/other"]}))


def test_logging_quota_gives_resource_exhausted_with_details(fresh: Any) -> None:
    clock = [1000.0]
    fresh.faults.clock = lambda: clock[0]
    try:
        fresh.faults.update(logging_quota_per_minute=3)
        client = logging_client(fresh.address)
        req = {"resource_names": [f"projects/{PROJECT}"], "page_size": 1000}
        for _ in range(3):
            client.list_log_entries(request=req)  # one call each (first page only)
        with pytest.raises(exceptions.ResourceExhausted) as info:
            client.list_log_entries(request=req)
        details = info.value.details
        kinds = {type(d).__name__ for d in details}
        assert {"QuotaFailure", "ErrorInfo"} <= kinds
        err = next(d for d in details if isinstance(d, error_details_pb2.ErrorInfo))
        assert err.metadata["quota_limit"] == "ReadRequestsPerMinutePerProject"
        assert err.metadata["quota_limit_value"] == "3"
        clock[0] += 61  # a minute later the quota is back
        client.list_log_entries(request=req)
    finally:
        fresh.faults.clock = time.monotonic


def test_log_faults_duplicates_out_of_order_and_empty_page(fresh: Any) -> None:
    base = entries(fresh, page_size=1000)
    fresh.faults.update(dup_logs=0.2, shuffle_logs=0.2, seed=3)
    got = entries(fresh, page_size=1000)
    ids = [(g.log_name, g.timestamp, g.insert_id) for g in got]
    assert len(ids) > len(set(ids)) == len(base)
    times = [g.timestamp for g in got]
    assert times != sorted(times)
    fresh.faults.clear()
    fresh.faults.update(empty_log_page=True)
    client = logging_client(fresh.address)
    pages = list(
        client.list_log_entries(
            request={"resource_names": [f"projects/{PROJECT}"], "page_size": 1000}
        ).pages
    )
    assert len(pages[0].entries) == 0
    assert pages[0].next_page_token
    assert sum(len(p.entries) for p in pages) == len(base)


def test_faults_error_codes_pages_latency_and_counting(fresh: Any) -> None:
    mon = monitoring_client(fresh.address)
    req = {
        "name": f"projects/{PROJECT}",
        "filter": 'metric.type = "run.googleapis.com/request_count"',
        "interval": {"start_time": END - timedelta(minutes=30), "end_time": END},
        "page_size": 50,
    }
    fresh.faults.set("ListTimeSeries:PERMISSION_DENIED")
    with pytest.raises(exceptions.PermissionDenied, match=r"monitoring\.timeSeries\.list"):
        list(mon.list_time_series(request=req))
    fresh.faults.set("ListTimeSeries:INTERNAL@page2")
    pager = mon.list_time_series(request=req, retry=None)
    with pytest.raises(exceptions.InternalServerError):
        list(pager)
    fresh.faults.set("ListServices:UNAVAILABLE@1;latency=0.05")
    with pytest.raises(exceptions.ServiceUnavailable):
        services_client(fresh.address).list_services(
            parent=f"projects/{PROJECT}/locations/europe-west1", retry=None
        )
    fresh.faults.clear()
    fresh.calls.reset()
    list(mon.list_time_series(request=req))
    snap = fresh.calls.snapshot()
    assert snap == {"google.monitoring.v3.MetricService/ListTimeSeries": 6}  # 270 pts / 50
    assert fresh.calls.get("ListTimeSeries") == 6


def test_fault_spec_grammar() -> None:
    cfg = parse_spec(
        "latency=0.1;ListTimeSeries:UNAVAILABLE@0.2;"
        "ListLogEntries:RESOURCE_EXHAUSTED@page2;quota=60;dup_logs=0.05"
    )
    assert cfg.latency_s == 0.1
    assert cfg.logging_quota_per_minute == 60
    assert cfg.dup_logs == 0.05
    assert [(e.method, e.code, e.rate, e.page) for e in cfg.errors] == [
        ("ListTimeSeries", "UNAVAILABLE", 0.2, None),
        ("ListLogEntries", "RESOURCE_EXHAUSTED", 1.0, 2),
    ]
    for bad in (
        "latency=x",
        "Foo:UNAVAILABLE",
        "ListTimeSeries:NOPE",
        "quota=0",
        "ListTimeSeries:INTERNAL@page0",
        "dup_logs=2",
        "bogus=1",
    ):
        with pytest.raises(FaultSpecError):
            parse_spec(bad)


def test_cli_prints_the_line_and_serves(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emulator",
            "--port",
            "0",
            "--days",
            "1",
            "--seed",
            "5",
            "--faults",
            "latency=0",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("emulator listening on 127.0.0.1:"), line
        addr = line.rsplit(" ", 1)[1]
        svcs = list(
            services_client(addr).list_services(
                parent="projects/runwatch-demo/locations/europe-west1"
            )
        )
        assert svcs
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert proc.returncode == 0
    bad = subprocess.run(
        [sys.executable, "-m", "emulator", "--faults", "nonsense"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "error: --faults" in bad.stderr
    assert "Traceback" not in bad.stderr
