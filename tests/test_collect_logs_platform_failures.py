"""Platform failures: every wording Google writes is fetched, classified, joined and counted.

Wordings are Google's, with their sources in docs/facts.md (Log messages); entries are built as
the LogEntry JSON of a real export and parsed into the real protobuf. The counts over the wire
are checked against the hand-built fleet's own records, never against the classifier.
"""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from google.cloud.logging_v2.types import LogEntry
from google.protobuf import json_format

import emulator
from collectors import clients as clients_mod
from collectors.budget import Budgets
from collectors.logparse import (
    FAILURE_EVENTS,
    EventAccumulator,
    classify_text,
    failure_counts,
)
from collectors.logs import fetch_instance_events_detailed
from collectors.rpc import LIST_LOG_ENTRIES
from emulator.sim.events import CONNECTION_ERROR_TEXT, OOM_REQUEST_TEXT, START_TERMINATED_TEXTS
from emulator.sim.model import FleetData, FleetSpec, InstanceEvent, RequestEvent
from foundation.window import TimeWindow
from tests import _collect_logs_helpers as helpers
from tests._collect_logs_helpers import END, PROJECT, REVS, START, settings
from tests._fleet_builder import (
    canary_traffic,
    cold_start,
    fleet,
    oom_kill,
    places,
    request,
    services,
)

SYSTEM = f"projects/{PROJECT}/logs/run.googleapis.com%2Fvarlog%2Fsystem"
REQUESTS = f"projects/{PROJECT}/logs/run.googleapis.com%2Frequests"
IID = "00f1" + "ab" * 40
# the request side of an out-of-memory kill: the troubleshooting page's wording and the shorter
# one seen in request logs
OOM_REQUEST_WORDINGS = (
    OOM_REQUEST_TEXT,
    "The request failed because the container instance was found to be using too much memory "
    "and was terminated.",
)
START_FAILURE_WORDINGS = (*START_TERMINATED_TEXTS, "Application exec likely failed")


def entry(
    text: str | None,
    *,
    log: str = SYSTEM,
    ts: str = "2026-03-02T08:00:00.123456789Z",
    status: int = 0,
    iid: str = IID,
    insert_id: str = "a1",
) -> Any:
    """One LogEntry as a real export writes it (JSON), parsed into the raw protobuf."""
    obj: dict[str, Any] = {
        "insertId": insert_id,
        "logName": log,
        "resource": {
            "type": "cloud_run_revision",
            "labels": {
                "project_id": PROJECT,
                "location": "europe-west1",
                "service_name": "shop",
                "revision_name": "shop-00001-aaa",
                "configuration_name": "shop",
            },
        },
        "timestamp": ts,
        "receiveTimestamp": ts,
        "severity": "ERROR",
        "labels": {"instanceId": iid} if iid else {},
    }
    if text is not None:
        obj["textPayload"] = text
    if status:
        obj["httpRequest"] = {"requestMethod": "GET", "status": status, "latency": "0.5s"}
    return json_format.ParseDict(obj, LogEntry.pb()())


def frame(*entries: Any) -> pd.DataFrame:
    acc = EventAccumulator()
    acc.add(entries)
    return acc.frame()


# ----------------------------------------------------------------- one wording at a time


@pytest.mark.parametrize("status", [500, 503])
@pytest.mark.parametrize("text", OOM_REQUEST_WORDINGS)
def test_an_oom_kill_seen_by_its_request(text: str, status: int) -> None:
    got = classify_text("requests", text, status)
    assert got is not None
    assert (got.event, got.detail) == ("oom_request_5xx", f"status={status}")


def test_a_malformed_response_or_broken_connection() -> None:
    got = classify_text("requests", CONNECTION_ERROR_TEXT, 503)
    assert got is not None
    assert (got.event, got.detail) == ("connection_error_5xx", "status=503")


@pytest.mark.parametrize(
    ("text", "limit", "used"),
    [
        ("Memory limit of 512 MiB exceeded with 526 MiB used. Consider increasing", 512, 526),
        ("Memory limit of 512M exceeded with 526M used.", 512, 526),
        ("Memory limit of 512Mi exceeded with 526Mi used.", 512, 526),
        ("Memory limit of 2 GiB exceeded with 2.1 GiB used.", 2048, 2150.4),
        ("Memory limit of 2G exceeded with 3G used.", 2048, 3072),
        ("Memory limit of 1000 MB exceeded with 1100 MB used.", 953.7, 1049.0),
        ("memory limit of 128 mib exceeded with 130 mib used", 128, 130),
    ],
)
def test_out_of_memory_in_any_unit_is_kept_in_mib(text: str, limit: float, used: float) -> None:
    got = classify_text("system", text)
    assert got is not None
    assert got.event == "oom"
    figures = dict(part.split("=") for part in got.detail.split())
    assert float(figures["limit_mib"]) == pytest.approx(limit, abs=0.05)
    assert float(figures["used_mib"]) == pytest.approx(used, abs=0.05)


@pytest.mark.parametrize("text", START_FAILURE_WORDINGS)
def test_a_start_failure_line(text: str) -> None:
    got = classify_text("system", text)
    assert got is not None
    assert got.event == "start_failed"
    assert got.detail  # what failed: the line's own reason


@pytest.mark.parametrize("status", [400, 403, 404, 429, 500, 502, 503, 504])
def test_an_applications_own_answers_are_never_platform_failures(status: int) -> None:
    # the application's answer has no textPayload; its own text would be in its stdout log
    assert classify_text("requests", "", status) is None
    events = frame(entry(None, log=REQUESTS, status=status))
    assert events.empty
    assert sum(failure_counts(events).values()) == 0


# ------------------------------------------------------------------- joins and counting

START_TEXT = "Starting new instance. Reason: AUTOSCALING - Instance started due to ..."


def _failed_start(order: tuple[int, ...], skew_ms: int) -> list[Any]:
    """A start, then its two failure lines, logged in ``order``; the failure lines are stamped
    ``skew_ms`` after the start (negative: before it, as independent agents can)."""
    lines = [
        (START_TEXT, 0),
        (START_TERMINATED_TEXTS[0], skew_ms),
        ("Application exec likely failed", skew_ms),
    ]
    base = pd.Timestamp("2026-03-02T08:00:00.000000001Z")
    out = []
    for n in order:
        text, ms = lines[n]
        ts = (base + pd.Timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "001Z"
        out.append(entry(text, ts=ts, insert_id=f"i{n}"))
    return out


@pytest.mark.parametrize("skew_ms", [350, 0, -2])
@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_a_failed_start_is_one_whatever_the_order(order: tuple[int, ...], skew_ms: int) -> None:
    events = frame(*_failed_start(order, skew_ms))
    starts = events[events["event"] == "start"]
    assert list(starts["outcome"]) == ["failed"]
    assert starts["startup_ms"].isna().all()  # it never became ready
    assert (events["event"] == "start_failed").sum() == 2
    assert failure_counts(events)["start_failed"] == 1


def test_ready_joins_its_start_logged_at_the_same_instant_in_either_order() -> None:
    ready = 'Default STARTUP TCP probe succeeded after 1 attempt for container "app" on port 8080.'
    ts = "2026-03-02T08:00:00.500000000Z"
    for first, second in ((START_TEXT, ready), (ready, START_TEXT)):
        events = frame(entry(first, ts=ts, insert_id="z"), entry(second, ts=ts, insert_id="a"))
        start = events[events["event"] == "start"].iloc[0]
        assert (start["outcome"], start["startup_ms"]) == ("ready", 0.0)


def test_failures_of_starts_outside_the_window_count_per_instance() -> None:
    lines = [
        entry(START_TERMINATED_TEXTS[1], iid="00aa", insert_id="1"),
        entry("Application exec likely failed", iid="00aa", insert_id="2"),
        entry("Application exec likely failed", iid="00bb", insert_id="3"),
    ]
    assert failure_counts(frame(*lines))["start_failed"] == 2


def test_nanoseconds_are_kept() -> None:
    events = frame(entry(START_TEXT, ts="2026-03-02T08:00:00.123456789Z"))
    assert events["timestamp"].iloc[0].value % 1_000_000_000 == 123_456_789


# ------------------------------------------------------------------------- over the wire


def _fleet() -> tuple[FleetData, dict[str, int]]:
    """A fleet with one or more of every platform failure, and what it should count."""
    shop, _, worker = places(REVS)
    t0 = START + timedelta(hours=2)
    inst: list[InstanceEvent] = []
    reqs: list[RequestEvent] = []
    inst += cold_start(shop, t0, "00s1", "AUTOSCALING", 900.0)
    inst += oom_kill(shop, t0 + timedelta(minutes=3), "00s1", 512, 530)
    inst.append(
        InstanceEvent(
            t0 + timedelta(minutes=9),
            shop.service,
            shop.revision,
            shop.region,
            "00s2",
            "oom",
            memory_limit_mib=512,
            memory_used_mib=526,
            memory_unit="M",
        )
    )
    for k in range(3):  # three failed starts, each with its two lines
        at = t0 + timedelta(hours=k + 1)
        iid = f"00w{k}"
        inst += [
            InstanceEvent(at, *_where(worker), iid, "start", reason="AUTOSCALING"),
            InstanceEvent(
                at + timedelta(milliseconds=350),
                *_where(worker),
                iid,
                "start_terminated",
                detail=START_TERMINATED_TEXTS[k % 2],
            ),
            InstanceEvent(at + timedelta(milliseconds=350), *_where(worker), iid, "exec_failed"),
        ]
    at = t0 + timedelta(minutes=3)
    reqs += [
        request(shop, at - timedelta(seconds=1), 503, 1.0, "00s1", platform_text=OOM_REQUEST_TEXT),
        request(shop, at, 500, 0.2, "00s1", platform_text=OOM_REQUEST_WORDINGS[1]),
        request(shop, at, 503, 0.4, "00s1", platform_text=CONNECTION_ERROR_TEXT),
        request(shop, at, 503, 0.4, "00s1", platform_text=CONNECTION_ERROR_TEXT),
        # the application's own errors and refusals: never platform failures
        request(shop, at, 500, 0.1, "00s1"),
        request(shop, at, 503, 0.1, "00s1"),
        request(shop, at, 429, 0.1, "00s1"),
        request(shop, at, 404, 0.1, "00s1"),
    ]
    spec = FleetSpec(
        PROJECT,
        987654321,
        START,
        END,
        services(REVS, canary_traffic(START - timedelta(days=1)), 1.0),
        5,
    )
    expected = dict.fromkeys(FAILURE_EVENTS, 0)
    expected.update(oom=2, signal9=1, start_failed=3, oom_request_5xx=2, connection_error_5xx=2)
    return fleet(spec, instance_events=inst, request_events=reqs), expected


def _where(place: Any) -> tuple[str, str, str]:
    return place.service, place.revision, place.region


FLEET, EXPECTED = _fleet()


emu, clients = helpers.emu, helpers.clients  # serving FLEET


def test_every_failure_is_fetched_and_counted(
    clients: clients_mod.Clients, emu: emulator.Emulator
) -> None:
    window = TimeWindow.custom(START, END, alignment_s=60)
    result, _ = fetch_instance_events_detailed(
        clients, [PROJECT], window, settings=settings(), budgets=Budgets()
    )
    assert result.quality.complete
    assert failure_counts(result.frame) == EXPECTED
    starts = result.frame[result.frame["event"] == "start"].set_index("instance_id")
    assert starts["outcome"].to_dict() == {
        "00s1": "ready",
        "00w0": "failed",
        "00w1": "failed",
        "00w2": "failed",
    }
    # the filter that went over the wire selects every wording, each by one of its terms
    sent = [r.filter for r in emu.calls.requests(LIST_LOG_ENTRIES.name.rsplit("/", 1)[-1])]
    assert sent
    terms = {t for f in sent for t in re.findall(r'textPayload : "((?:[^"\\]|\\.)*)"', f)}
    wordings = [
        *OOM_REQUEST_WORDINGS,
        CONNECTION_ERROR_TEXT,
        *START_FAILURE_WORDINGS,
        "Memory limit of 512M exceeded with 526M used.",
    ]
    for wording in wordings:
        assert any(t in wording for t in terms), wording
