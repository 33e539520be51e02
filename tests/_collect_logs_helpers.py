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
from emulator.sim.model import (
    FleetData,
    FleetSpec,
    InstanceEvent,
    RequestEvent,
    RevisionSpec,
    ServiceSpec,
    TrafficChange,
    TrafficShape,
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
NO_INSTANCE = "The request was aborted because there was no available instance."
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


def small_fleet(starts_per_revision: int = 30, seed: int = 3) -> FleetData:
    """A fleet with only log events (no metric series), many enough for several pages."""
    rng = np.random.default_rng(seed)
    services = []
    for region, svc in (("europe-west1", "shop"), ("us-central1", "worker")):
        revs = tuple(r for reg, s, r in REVS if s == svc)
        if len(revs) > 1:
            change = TrafficChange(
                at=START - timedelta(days=1),
                percents={revs[0].name: 90, revs[1].name: 10},
                tags={revs[1].name: "canary"},
            )
        else:
            change = TrafficChange(at=START - timedelta(days=1), percents={revs[0].name: 100})
        services.append(ServiceSpec(svc, region, revs, (change,), TrafficShape(base_rps=1.0)))
    spec = FleetSpec(PROJECT, 987654321, START, END, tuple(services), seed)
    events: list[InstanceEvent] = []
    reqs: list[RequestEvent] = []
    span_s = (END - START).total_seconds() - 3600
    for region, svc, rev in REVS:
        for k in range(starts_per_revision):
            t = START + timedelta(seconds=float(rng.uniform(60, span_s)))
            iid = f"00c2{k:06d}{rev.name[-3:]}" + "f" * 40
            reason = ("AUTOSCALING", "DEPLOYMENT_ROLLOUT", "MANUAL_OR_CUSTOMER_MIN_INSTANCE")[k % 3]
            has_id = k % 5 != 0  # some AUTOSCALING-style starts lack the instanceId
            startup = float(rng.uniform(300, 4000))
            events.append(
                InstanceEvent(
                    t, svc, rev.name, region, iid if has_id else None, "start", reason=reason
                )
            )
            events.append(
                InstanceEvent(
                    t + timedelta(milliseconds=startup),
                    svc,
                    rev.name,
                    region,
                    iid,
                    "ready",
                    startup_ms=startup,
                )
            )
            if k % 7 == 3:
                events.append(
                    InstanceEvent(
                        t + timedelta(minutes=5),
                        svc,
                        rev.name,
                        region,
                        iid,
                        "oom",
                        memory_limit_mib=512,
                        memory_used_mib=600,
                    )
                )
                events.append(
                    InstanceEvent(
                        t + timedelta(minutes=5, seconds=1), svc, rev.name, region, iid, "signal9"
                    )
                )
            if k % 9 == 4:
                events.append(
                    InstanceEvent(t + timedelta(minutes=30), svc, rev.name, region, iid, "shutdown")
                )
                events.append(
                    InstanceEvent(
                        t + timedelta(minutes=31), svc, rev.name, region, iid, "exit", exit_code=0
                    )
                )
            if k % 11 == 5:
                events.append(
                    InstanceEvent(
                        t + timedelta(seconds=2), svc, rev.name, region, iid, "probe_failed"
                    )
                )
        for k in range(12):
            t = START + timedelta(seconds=float(rng.uniform(60, span_s)))
            status, text = (
                (429, NO_INSTANCE),
                (429, None),
                (500, COULD_NOT_START),
                (503, READINESS),
                (500, None),
                (503, NO_INSTANCE),
            )[k % 6]
            reqs.append(
                RequestEvent(t, svc, rev.name, region, None, status, 0.01, platform_text=text)
            )
    events.sort(key=lambda e: e.timestamp)
    reqs.sort(key=lambda e: e.timestamp)
    return FleetData(spec, [], events, reqs, {})


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


def fresh_clients(emu: emulator.Emulator) -> Iterator[clients_mod.Clients]:
    """Body of a per-test ``clients`` fixture: faults and call counts reset, clients closed."""
    emu.faults.clear()
    emu.calls.reset()
    c = clients_mod.for_emulator(emu.address, policy=FAST_POLICY)
    yield c
    c.close()
    emu.faults.clear()
