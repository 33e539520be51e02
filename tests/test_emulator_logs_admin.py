"""Logging, Run v2, Locations, faults and the CLI of the emulator, through the real clients."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from _emulator_helpers import (
    END,
    PROJECT,
    build_fleet,
    logging_client,
    monitoring_client,
    revisions_client,
    services_client,
)
from google.api_core import exceptions
from google.cloud import run_v2
from google.cloud.location import locations_pb2
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


@pytest.fixture(scope="module")
def fleet() -> FleetData:
    return build_fleet(minutes=360)


@pytest.fixture(scope="module")
def emu(fleet: FleetData) -> Iterator[emulator.Emulator]:
    with emulator.start(fleet) as e:
        yield e


@pytest.fixture
def fresh(emu: emulator.Emulator) -> Iterator[emulator.Emulator]:
    emu.faults.clear()
    emu.calls.reset()
    yield emu
    emu.faults.clear()


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


def test_run_v2_services_revisions_and_locations(fleet: FleetData, fresh: Any) -> None:
    sc, rc = services_client(fresh.address), revisions_client(fresh.address)
    svcs = list(sc.list_services(parent=f"projects/{PROJECT}/locations/europe-west1"))
    assert [s.name for s in svcs] == [
        f"projects/{PROJECT}/locations/europe-west1/services/checkout"
    ]
    s = svcs[0]
    assert s.template.containers[0].resources.limits["cpu"] == "1"
    assert s.template.containers[0].resources.limits["memory"] == "512Mi"
    assert s.template.containers[0].resources.cpu_idle is True
    assert {(t.revision, t.percent, t.tag) for t in s.traffic} == {
        ("checkout-00001-abc", 90, ""),
        ("checkout-00002-def", 10, "canary"),
    }
    assert len(s.traffic_statuses) == 2
    assert s.latest_ready_revision.endswith("/revisions/checkout-00002-def")
    assert s.uri.startswith("https://checkout-")
    assert sc.get_service(name=s.name).name == s.name
    revs = list(
        rc.list_revisions(
            parent=f"projects/{PROJECT}/locations/-/services/-".replace(
                "locations/-", "locations/europe-west1"
            )
        )
    )
    assert {r.name.rsplit("/", 1)[1] for r in revs} == {"checkout-00001-abc", "checkout-00002-def"}
    assert any(r.max_instance_request_concurrency == 0 for r in revs)  # unset: default rule
    admin = rc.get_revision(
        name=f"projects/{PROJECT}/locations/us-central1/services/admin/revisions/admin-00001-xyz"
    )
    assert admin.scaling.min_instance_count == 2
    assert admin.containers[0].resources.cpu_idle is False
    assert admin.max_instance_request_concurrency == 1
    with pytest.raises(exceptions.InvalidArgument):
        list(sc.list_services(parent=f"projects/{PROJECT}/locations/-"))
    with pytest.raises(exceptions.NotFound):
        sc.get_service(name=f"projects/{PROJECT}/locations/europe-west1/services/nope")
    with pytest.raises(exceptions.NotFound):
        rc.get_revision(name=f"{s.name}/revisions/nope")
    ch = grpc.insecure_channel(fresh.address)
    call = ch.unary_unary(
        "/google.cloud.location.Locations/ListLocations",
        request_serializer=locations_pb2.ListLocationsRequest.SerializeToString,
        response_deserializer=locations_pb2.ListLocationsResponse.FromString,
    )
    locs = call(locations_pb2.ListLocationsRequest(name=f"projects/{PROJECT}"))
    assert [loc.location_id for loc in locs.locations] == ["europe-west1", "us-central1"]


def test_location_dash_is_refused_like_run_v2(fresh: Any) -> None:
    """Run v2 lists services and revisions per region: the wildcard location '-' is refused."""
    sc, rc = services_client(fresh.address), revisions_client(fresh.address)
    for parent in (f"projects/{PROJECT}/locations/-", "projects/123456789/locations/-"):
        with pytest.raises(exceptions.InvalidArgument, match="location '-'"):
            list(sc.list_services(parent=parent))
    for parent in (
        f"projects/{PROJECT}/locations/-/services/-",
        f"projects/{PROJECT}/locations/-/services/checkout",
    ):
        with pytest.raises(exceptions.InvalidArgument, match="location '-'"):
            list(rc.list_revisions(parent=parent))


def test_v2_shapes_agree_with_fixture(fresh: Any) -> None:
    path = FIXTURES / "cloudrun_v2_services_list_gcpdiag_cloudrun2.json"
    if not path.exists():
        pytest.skip(f"real fixtures not present at {FIXTURES}")
    real = json_format.ParseDict(
        json.loads(path.read_text())["services"][0],
        run_v2.Service.pb()(),
        ignore_unknown_fields=True,
    )
    ours = run_v2.Service.pb(
        services_client(fresh.address).get_service(
            name=f"projects/{PROJECT}/locations/europe-west1/services/checkout"
        )
    )
    real_fields = {f.name for f, _ in real.ListFields()} - {
        "description",
        "annotations",
        "labels",
        "binary_authorization",
        "reconciling",
    }
    assert real_fields <= {f.name for f, _ in ours.ListFields()}
    ours_res = ours.template.containers[0].resources
    # proto3 leaves false booleans off the wire; compare presence of the rest
    real_res = {
        f.name
        for f, v in real.template.containers[0].resources.ListFields()
        if not (v is True and getattr(ours_res, f.name) is False)
    }
    assert real_res <= {f.name for f, _ in ours_res.ListFields()}


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
