"""Lifecycle classification on Google's real log exports (fixtures) and on documented wording.

Expectations come from the fixtures' SOURCES.md inventory (what each export contains), not from
the classifier; startup durations are recomputed here from the raw JSON timestamps.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from collectors import logfilters, schema
from collectors.logparse import EventAccumulator, classify_text, cold_start_agreement, events_frame
from foundation import names
from tests._collect_logs_helpers import (
    all_log_fixture_names,
    console_csv_rows,
    load_json,
    log_entries,
)

# Per fixture: the platform events SOURCES.md says the export holds (request logs with no
# platform text are not events).
EXPECTED = {
    "logs_cold_start_autoscaling_ordering-helper-backend.json": {"start": 1, "ready": 1},
    "logs_min_instance_crashloop_starting_probe_exit_scribblemachine.json": {
        "exit": 3,
        "start": 3,
        "ready": 3,
    },
    "logs_min_instance_start_and_user_disabled_shutdown_honeypotscammer.json": {
        "start": 1,
        "ready": 1,
        "shutdown": 1,
    },
    "logs_platform_request_failures_503_readiness_500_could_not_start_yukpo.json": {
        "readiness_503": 1,
        "start_failed_500": 6,
        "probe_failed": 2,
    },
    "logs_request_502_timeout_amilia.json": {},
    "logs_requests_429_app_level_ratelimit_emergencev8.json": {},
    "logs_requests_app_500_ordering-helper-backend.json": {},
    "logs_startup_probe_and_request_concept_visualizer.json": {"ready": 1},
}


def _frame(name: str) -> pd.DataFrame:
    acc = EventAccumulator()
    acc.add(log_entries(name))
    return acc.frame()


def _ts(text: str) -> int:
    """RFC 3339 with up to 9 fractional digits -> integer nanoseconds (independent parser)."""
    head, _, frac = text.rstrip("Z").partition(".")
    base = datetime.fromisoformat(head + "+00:00")
    return int(base.timestamp()) * 1_000_000_000 + int((frac + "000000000")[:9])


def test_every_log_fixture_has_an_expectation() -> None:
    names_found = all_log_fixture_names()
    if not names_found:
        pytest.skip("real fixtures folder is absent")
    assert set(names_found) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_events_are_classified(name: str) -> None:
    df = _frame(name)
    assert Counter(df["event"]) == Counter(EXPECTED[name])
    assert list(df.columns) == list(schema.INSTANCE_EVENTS)
    assert {c: str(t) for c, t in df.dtypes.items()} == dict(schema.INSTANCE_EVENTS)


def test_application_429_and_500_are_not_platform_events() -> None:
    for name in (
        "logs_requests_429_app_level_ratelimit_emergencev8.json",
        "logs_requests_app_500_ordering-helper-backend.json",
        "logs_request_502_timeout_amilia.json",
    ):
        entries = log_entries(name)
        assert entries, name
        assert all(e.http_request.status in (429, 500, 502) for e in entries)
        assert _frame(name).empty


def test_autoscaling_start_without_instance_id_keeps_row_with_unknown_startup() -> None:
    raw = load_json("logs_cold_start_autoscaling_ordering-helper-backend.json")
    start_json = next(e for e in raw if e.get("textPayload", "").startswith("Starting new"))
    assert "instanceId" not in start_json["labels"]
    df = _frame("logs_cold_start_autoscaling_ordering-helper-backend.json")
    start = df[df["event"] == "start"].iloc[0]
    assert start["reason"] == start_json["labels"]["scaling_reason"] == "AUTOSCALING"
    assert start["instance_id"] == ""
    assert np.isnan(start["startup_ms"])
    assert start["insert_id"] == start_json["insertId"]
    assert start["service"] == "ordering-helper-backend"
    assert start["location"] == "asia-east1"


def test_min_instance_startup_joined_on_instance_id() -> None:
    name = "logs_min_instance_crashloop_starting_probe_exit_scribblemachine.json"
    raw = load_json(name)
    expected = []
    for e in raw:
        if e["textPayload"].startswith("Starting new instance"):
            ready = next(
                r
                for r in raw
                if "probe succeeded" in r["textPayload"]
                and r["labels"]["instanceId"] == e["labels"]["instanceId"]
            )
            expected.append((_ts(ready["timestamp"]) - _ts(e["timestamp"])) / 1e6)
    df = _frame(name)
    starts = df[df["event"] == "start"]
    assert (starts["reason"] == "MANUAL_OR_CUSTOMER_MIN_INSTANCE").all()
    np.testing.assert_allclose(starts["startup_ms"].to_numpy(), expected, rtol=0, atol=1e-6)
    assert df.loc[df["event"] != "start", "startup_ms"].isna().all()
    exits = df[df["event"] == "exit"]
    assert (exits["detail"] == "exit_code=1").all()


def test_platform_request_failures_keep_their_status() -> None:
    df = _frame("logs_platform_request_failures_503_readiness_500_could_not_start_yukpo.json")
    assert set(df.loc[df["event"] == "start_failed_500", "detail"]) == {"status=500"}
    assert set(df.loc[df["event"] == "readiness_503", "detail"]) == {"status=503"}
    failed = df[df["event"] == "start_failed_500"]
    assert (failed["instance_id"] == "").all()  # the export carries no instanceId for these


def test_timestamps_keep_nanoseconds_and_order() -> None:
    name = "logs_min_instance_crashloop_starting_probe_exit_scribblemachine.json"
    raw = load_json(name)
    df = _frame(name)
    want = sorted(_ts(e["timestamp"]) for e in raw)
    got = df["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64).tolist()
    assert got == want
    assert str(df["timestamp"].dt.tz) == "UTC"


def test_console_csv_rows_classify_as_shutdown_and_ready() -> None:
    rows = console_csv_rows("logs_user_disabled_and_probes_concept_visualizer_console_export.csv")
    kinds = Counter()
    for row in rows:
        assert row["logName"].endswith("run.googleapis.com%2Fvarlog%2Fsystem")
        found = classify_text("system", row["textPayload"])
        assert found is not None, row["textPayload"]
        kinds[found.event] += 1
    assert kinds == Counter({"shutdown": 2, "ready": 7})


@pytest.mark.parametrize(
    ("kind", "text", "status", "event", "reason", "detail"),
    [
        (
            "system",
            "Starting new instance. Reason: DEPLOYMENT_ROLLOUT - Instance started due to traffic "
            "shifting between revisions due to deployment, traffic split adjustment, or "
            "deployment health check.",
            0,
            "start",
            "DEPLOYMENT_ROLLOUT",
            "",
        ),
        (
            "system",
            "Memory limit of 512 MiB exceeded with 530 MiB used. Consider increasing the memory "
            "limit, see https://cloud.google.com/run/docs/configuring/memory-limits",
            0,
            "oom",
            "",
            "limit_mib=512 used_mib=530",
        ),
        ("system", "Container terminated on signal 9.", 0, "signal9", "", "signal=9"),
        ("system", "Container called exit(137).", 0, "exit", "", "exit_code=137"),
        (
            "requests",
            "The request was aborted because there was no available instance. Additional "
            "troubleshooting documentation can be found at: https://cloud.google.com/run/docs/"
            "troubleshooting#abort-request",
            429,
            "no_instance_429",
            "",
            "status=429",
        ),
        (
            "requests",
            "The request was aborted because there was no available instance.",
            503,
            "no_instance_5xx",
            "",
            "status=503",
        ),
    ],
)
def test_documented_wordings(
    kind: str, text: str, status: int, event: str, reason: str, detail: str
) -> None:
    found = classify_text(kind, text, status)
    assert found is not None
    assert (found.event, found.reason, found.detail) == (event, reason, detail)


@pytest.mark.parametrize(
    ("kind", "text", "status"),
    [
        ("requests", "", 429),  # application rate limit
        ("requests", "", 500),
        ("system", "Ready condition status changed to True", 0),
        ("system", "Container terminated on signal 15.", 0),
        ("stdout", "Starting new instance. Reason: AUTOSCALING", 0),  # app text, not platform
        ("requests", "Starting new instance. Reason: AUTOSCALING", 200),
    ],
)
def test_non_events(kind: str, text: str, status: int) -> None:
    assert classify_text(kind, text, status) is None


def test_duplicates_across_pages_are_dropped() -> None:
    entries = log_entries("logs_min_instance_crashloop_starting_probe_exit_scribblemachine.json")
    acc = EventAccumulator()
    acc.add(entries[:6])
    acc.add(entries[4:])  # a later page repeats two entries
    acc.add(entries[::-1][:3])  # and another repeats the last three, out of order
    df = acc.frame()
    assert len(df) == len(entries)
    assert acc.duplicates == 5
    assert df["insert_id"].is_unique


def test_same_insert_id_in_another_log_is_not_a_duplicate() -> None:
    entries = log_entries("logs_min_instance_start_and_user_disabled_shutdown_honeypotscammer.json")
    clone = type(entries[0])()
    clone.CopyFrom(entries[0])
    clone.log_name = clone.log_name.replace("varlog%2Fsystem", "requests")
    acc = EventAccumulator()
    acc.add([*entries, clone])
    assert acc.duplicates == 0


def test_empty_input_gives_schema_frame() -> None:
    df = events_frame([])
    assert df.empty
    assert {c: str(t) for c, t in df.dtypes.items()} == dict(schema.INSTANCE_EVENTS)


def test_cold_start_agreement_counts_independently() -> None:
    ev = schema.empty(schema.INSTANCE_EVENTS)
    starts = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2026-01-01T00:00:00Z"] * 5, utc=True),
            "project_id": "p",
            "location": "europe-west1",
            "service": ["a", "a", "a", "b", "b"],
            "revision": ["a-1", "a-1", "a-2", "b-1", "b-1"],
            "instance_id": "",
            "event": ["start", "start", "start", "start", "ready"],
            "reason": "",
            "startup_ms": np.nan,
            "outcome": "",
            "detail": "",
            "log_name": "x",
            "insert_id": ["1", "2", "3", "4", "5"],
        }
    )
    ev = schema.conform(starts, schema.INSTANCE_EVENTS)
    mp = pd.DataFrame(
        {
            "service": ["a", "a", "b", "b"],
            "revision": ["a-1", "a-2", "b-1", "b-1"],
            "metric": ["startup_latencies", "startup_latencies", "startup_latencies", "x"],
            "stat": ["count", "count", "count", "count"],
            "value": [2.0, 2.0, 1.0, 99.0],
        }
    )
    got = cold_start_agreement(ev, mp)
    assert got["from_logs"] == 4
    assert got["from_metric"] == 5
    assert got["ratio"] == pytest.approx(4 / 5)
    assert got["relative_difference"] == pytest.approx(1 / 5)
    by = {
        (r["service"], r["revision"]): (r["from_logs"], r["from_metric"])
        for r in got["by_revision"]
    }
    assert by == {("a", "a-1"): (2, 2.0), ("a", "a-2"): (1, 2.0), ("b", "b-1"): (1, 1.0)}


# ------------------------------------------------------------------------------ filter


START = datetime.fromisoformat("2026-11-21T12:00:00+00:00")
END = datetime.fromisoformat("2026-11-28T12:00:00+00:00")


def test_filter_has_explicit_bounds_and_both_logs() -> None:
    f = logfilters.instance_events_filter(
        "runwatch-demo", START, END, services=["b-svc", "a-svc", "a-svc"]
    )
    assert 'timestamp >= "2026-11-21T12:00:00.000000Z"' in f
    assert 'timestamp < "2026-11-28T12:00:00.000000Z"' in f
    assert 'logName = "projects/runwatch-demo/logs/run.googleapis.com%2Fvarlog%2Fsystem"' in f
    assert 'logName = "projects/runwatch-demo/logs/run.googleapis.com%2Frequests"' in f
    assert f.endswith(
        '(resource.labels.service_name = "a-svc" OR resource.labels.service_name = "b-svc")'
    )
    same = logfilters.instance_events_filter(
        "runwatch-demo", START, END, services=["a-svc", "b-svc"]
    )
    assert same == f


def test_filter_rejects_naive_and_reversed_windows() -> None:
    with pytest.raises(ValueError, match="time zone"):
        logfilters.instance_events_filter("runwatch-demo", START.replace(tzinfo=None), END)
    with pytest.raises(ValueError, match="not before"):
        logfilters.instance_events_filter("runwatch-demo", END, START)


@given(st.text(max_size=60))
def test_filter_service_names_cannot_change_structure(text: str) -> None:
    base = logfilters.instance_events_filter("runwatch-demo", START, END)
    try:
        f = logfilters.instance_events_filter("runwatch-demo", START, END, services=[text])
    except names.InvalidName:
        return
    assert f.startswith(base + " AND (")
    assert f == base + f' AND (resource.labels.service_name = "{text}")'
    assert names.SERVICE_RE.fullmatch(text)
