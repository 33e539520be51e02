"""Shared helpers for the logs/services/export collector tests (helper C2's area)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from google.cloud import run_v2
from google.cloud.logging_v2.types import LogEntry
from google.protobuf import json_format

import emulator
from collectors import clients as clients_mod
from collectors.rpc import CallPolicy
from emulator.sim.model import FleetData, FleetSpec, InstanceEvent, RequestEvent, RevisionSpec
from tests._fleet_builder import (
    NO_INSTANCE,
    START_REASONS,
    Place,
    canary_traffic,
    cold_start,
    fleet,
    moment,
    oom_kill,
    places,
    probe_failed,
    request,
    services,
    shutdown_exit,
)

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "fixtures" / "real"


def real_dir() -> Path:
    if not REAL.is_dir():
        pytest.skip(f"real fixtures folder {REAL} is absent (it lives outside the project)")
    return REAL


def load_json(name: str) -> Any:
    return json.loads((real_dir() / name).read_text())


def log_entries(name: str) -> list[Any]:
    """A fixture's LogEntry JSON objects parsed into raw google.logging.v2.LogEntry protos."""
    cls = LogEntry.pb()
    return [json_format.ParseDict(obj, cls()) for obj in load_json(name)]


def all_log_fixture_names() -> list[str]:
    if not REAL.is_dir():
        return []
    return sorted(p.name for p in REAL.glob("logs_*.json"))


def console_csv_rows(name: str) -> list[dict[str, str]]:
    """Console CSV export rows with the console's leading apostrophes removed."""
    with (real_dir() / name).open(newline="") as fh:
        rows = list(csv.reader(fh))
    header = [h.lstrip("'") for h in rows[0]]
    return [{k: v.lstrip("'") for k, v in zip(header, row, strict=False)} for row in rows[1:]]


def v2_services(name: str) -> list[Any]:
    """A fixture's v2 Service JSON (one service or a services.list page) as raw protos."""
    data = load_json(name)
    items = data.get("services", [data])
    cls = run_v2.Service.pb()
    return [json_format.ParseDict(obj, cls()) for obj in items]


# ------------------------------------------------------------------ a hand-built fleet

PROJECT = "c2-logs-test"
END = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
START = END - timedelta(days=1)
COULD_NOT_START = "The request failed because the instance could not start successfully."
READINESS = "The request failed because the instance failed the readiness check."

# (region, service, RevisionSpec)
REVS = (
    (
        "europe-west1",
        "shop",
        RevisionSpec(
            "shop-00001-aaa", END - timedelta(days=9), cpu=1.0, memory_gib=0.5, concurrency=80
        ),
    ),
    (
        "europe-west1",
        "shop",
        RevisionSpec(
            "shop-00002-bbb",
            END - timedelta(days=2),
            cpu=2.0,
            memory_gib=1.0,
            concurrency=0,
            min_instances=1,
            max_instances=10,
            cpu_idle=False,
            startup_cpu_boost=True,
            timeout_s=60,
        ),
    ),
    (
        "us-central1",
        "worker",
        RevisionSpec(
            "worker-00003-ccc",
            END - timedelta(days=20),
            cpu=0.5,
            memory_gib=0.25,
            concurrency=1,
            max_instances=3,
        ),
    ),
)


SPAN_S = (END - START).total_seconds() - 3600  # events fall 60 s to SPAN_S s after START
REQUEST_KINDS = (  # (status, platform text) of the logged requests, in turn
    (429, NO_INSTANCE),
    (429, None),
    (500, COULD_NOT_START),
    (503, READINESS),
    (500, None),
    (503, NO_INSTANCE),
)


def small_fleet(starts_per_revision: int = 30, seed: int = 3) -> FleetData:
    """A fleet with only log events (no metric series), many enough for several pages."""
    rng = np.random.default_rng(seed)
    svcs = services(REVS, canary_traffic(START - timedelta(days=1)), base_rps=1.0)
    spec = FleetSpec(PROJECT, 987654321, START, END, svcs, seed)
    events: list[InstanceEvent] = []
    reqs: list[RequestEvent] = []
    for place in places(REVS):
        events += _instance_events(rng, place, starts_per_revision)
        reqs += _request_events(rng, place)
    return fleet(spec, instance_events=events, request_events=reqs)


def _instance_events(rng: np.random.Generator, place: Place, starts: int) -> list[InstanceEvent]:
    """``starts`` instances; some starts lack the instanceId, some run out of memory, shut down
    or fail a probe."""
    events: list[InstanceEvent] = []
    for k in range(starts):
        t = moment(rng, START, 60, SPAN_S)
        iid = f"00c2{k:06d}{place.revision[-3:]}" + "f" * 40
        startup = float(rng.uniform(300, 4000))
        # some AUTOSCALING-style starts lack the instanceId
        events += cold_start(place, t, iid, START_REASONS[k % 3], startup, id_logged=k % 5 != 0)
        if k % 7 == 3:
            events += oom_kill(place, t + timedelta(minutes=5), iid, 512, 600)
        if k % 9 == 4:
            events += shutdown_exit(place, t + timedelta(minutes=30), iid, exit_code=0)
        if k % 11 == 5:
            events.append(probe_failed(place, t + timedelta(seconds=2), iid))
    return events


def _request_events(rng: np.random.Generator, place: Place) -> list[RequestEvent]:
    """Twelve failed or refused requests, with and without the platform's text."""
    reqs = []
    for k in range(12):
        t = moment(rng, START, 60, SPAN_S)
        status, text = REQUEST_KINDS[k % 6]
        reqs.append(request(place, t, status, 0.01, platform_text=text))
    return reqs


EVENT_OF_REQUEST = {
    (429, NO_INSTANCE): "no_instance_429",
    (503, NO_INSTANCE): "no_instance_5xx",
    (500, COULD_NOT_START): "start_failed_500",
    (503, READINESS): "readiness_503",
}


def expected_events(fleet: FleetData) -> dict[str, int]:
    """Event counts the fleet should produce, from the fleet's own records."""
    out: dict[str, int] = {}
    for e in fleet.instance_events:
        out[e.kind] = out.get(e.kind, 0) + 1
    for r in fleet.request_events:
        kind = EVENT_OF_REQUEST.get((r.status, r.platform_text or ""))
        if kind:
            out[kind] = out.get(kind, 0) + 1
    return out


def settings(**env: str) -> Any:
    import config

    base = {"RUNWATCH_SOURCE": "demo", "RUNWATCH_DEMO_PROJECT": PROJECT}
    base.update({f"RUNWATCH_{k.upper()}": v for k, v in env.items()})
    return config.load(base)


# Fast retries for tests against the loopback emulator (real calls, short backoff).
FAST_POLICY = CallPolicy(timeout_s=5.0, attempts=3, deadline_s=10.0, backoff_initial_s=0.01)


def dtypes(df: pd.DataFrame) -> dict[str, str]:
    """A frame's dtypes as strings, to compare with collectors.schema."""
    return {c: str(t) for c, t in df.dtypes.items()}


@pytest.fixture(scope="module")
def emu(request: pytest.FixtureRequest) -> Iterator[emulator.Emulator]:
    """An emulator serving the test module's ``FLEET`` (bound there: ``emu = helpers.emu``)."""
    with emulator.start(request.module.FLEET) as e:
        yield e


@pytest.fixture
def clients(emu: emulator.Emulator) -> Iterator[clients_mod.Clients]:
    """Clients of ``emu`` for one test: faults and call counts reset, the clients closed."""
    emu.faults.clear()
    emu.calls.reset()
    c = clients_mod.for_emulator(emu.address, policy=FAST_POLICY)
    yield c
    c.close()
    emu.faults.clear()
