"""TimeWindow: presets, the documented alignment rule, rounding, pending, validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foundation.window import INGESTION_DELAY, InvalidWindow, TimeWindow

NOW = datetime(2026, 11, 28, 12, 7, 31, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "span", "alignment"),
    [
        ("1h", timedelta(hours=1), 60),
        ("6h", timedelta(hours=6), 60),
        ("24h", timedelta(hours=24), 60),
        ("7d", timedelta(days=7), 300),
        ("30d", timedelta(days=30), 1800),
    ],
)
def test_presets(name: str, span: timedelta, alignment: int) -> None:
    w = TimeWindow.preset(name, NOW)
    assert w.alignment_s == alignment
    assert w.end - w.start == span
    assert w.end <= NOW < w.end + timedelta(seconds=alignment)
    assert int(w.end.timestamp()) % alignment == 0
    assert w.periods == span.total_seconds() / alignment
    assert w.periods <= 2100
    assert w.label == name
    assert w.pending_after == NOW - INGESTION_DELAY


def test_explicit_alignment_for_the_replay() -> None:
    w = TimeWindow.preset("30d", NOW, alignment_s=60)
    assert w.alignment_s == 60
    assert w.periods == 30 * 24 * 60
    assert w.end == datetime(2026, 11, 28, 12, 7, tzinfo=UTC)


def test_reruns_within_a_period_give_the_same_window() -> None:
    a = TimeWindow.preset("7d", datetime(2026, 11, 28, 12, 5, 1, tzinfo=UTC))
    b = TimeWindow.preset("7d", datetime(2026, 11, 28, 12, 9, 59, tzinfo=UTC))
    assert (a.start, a.end, a.alignment_s) == (b.start, b.end, b.alignment_s)


def test_other_timezones_are_normalised() -> None:
    tz = timezone(timedelta(hours=5, minutes=30))
    w = TimeWindow.preset("1h", NOW.astimezone(tz))
    assert w.end.tzinfo == UTC
    assert w == TimeWindow.preset("1h", NOW)


def test_pending_points() -> None:
    w = TimeWindow.preset("1h", NOW)
    assert w.is_pending(w.end)
    assert w.is_pending(NOW - timedelta(minutes=2))
    assert not w.is_pending(NOW - timedelta(minutes=3))
    assert not w.is_pending(w.start + timedelta(minutes=1))


def test_custom_windows() -> None:
    start = datetime(2026, 11, 20, 8, 0, 30, tzinfo=UTC)
    end = datetime(2026, 11, 21, 9, 59, 59, tzinfo=UTC)
    w = TimeWindow.custom(start, end)
    assert w.alignment_s == 60
    assert w.start == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert w.end == datetime(2026, 11, 21, 9, 59, tzinfo=UTC)
    assert w.pending_after is None
    assert not w.is_pending(w.end)
    # an end in the future is clipped to now and the tail is pending
    w2 = TimeWindow.custom(NOW - timedelta(hours=2), NOW + timedelta(hours=1), now=NOW)
    assert w2.end == datetime(2026, 11, 28, 12, 7, tzinfo=UTC)
    assert w2.is_pending(w2.end)


@pytest.mark.parametrize(
    ("start", "end", "match"),
    [
        (NOW, NOW - timedelta(hours=1), "before"),
        (NOW - timedelta(days=31), NOW, "30 days"),
        (NOW.replace(tzinfo=None) - timedelta(hours=1), NOW, "timezone-aware"),
        (NOW - timedelta(seconds=10), NOW, "shorter than one"),
    ],
)
def test_custom_window_validation(start: datetime, end: datetime, match: str) -> None:
    with pytest.raises(InvalidWindow, match=match):
        TimeWindow.custom(start, end)


def test_direct_construction_validation() -> None:
    t = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    with pytest.raises(InvalidWindow, match="multiple of 60"):
        TimeWindow(t - timedelta(hours=1), t, 90)
    with pytest.raises(InvalidWindow, match="at least 60"):
        TimeWindow(t - timedelta(hours=1), t, 30)
    with pytest.raises(InvalidWindow, match="not a multiple"):
        TimeWindow(t - timedelta(hours=1), t + timedelta(seconds=1), 60)
    with pytest.raises(InvalidWindow, match="unknown window"):
        TimeWindow.preset("2w", NOW)


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(["1h", "6h", "24h", "7d", "30d"]),
)
def test_preset_invariants(now: datetime, name: str) -> None:
    w = TimeWindow.preset(name, now)
    step = timedelta(seconds=w.alignment_s)
    assert w.end <= now < w.end + step
    assert (w.end - w.start) % step == timedelta(0)
    assert w.start.timestamp() % w.alignment_s == 0


@pytest.mark.parametrize(
    ("preset", "step", "points"),
    [("1h", 60, 60), ("6h", 300, 72), ("24h", 300, 288), ("7d", 3600, 168), ("30d", 10800, 240)],
)
def test_a_fleet_trend_has_at_most_a_few_hundred_points(
    preset: str, step: int, points: int
) -> None:
    w = TimeWindow.preset(preset, datetime(2026, 3, 2, 12, 7, 30, tzinfo=UTC))
    trend = w.trend()
    assert trend.alignment_s == step
    assert trend.periods == points
    assert trend.span == w.span
    assert trend.end <= w.end


def test_the_settled_window_drops_only_pending_periods() -> None:
    now = datetime(2026, 3, 2, 12, 7, 30, tzinfo=UTC)
    w = TimeWindow.preset("24h", now)  # 1-minute points, pending after 12:04:30
    settled = w.settled()
    assert settled.start == w.start
    assert settled.end == datetime(2026, 3, 2, 12, 4, tzinfo=UTC)
    assert not settled.is_pending(settled.end)
    assert w.is_pending(settled.end + timedelta(minutes=1))
    week = TimeWindow.preset("7d", now).settled()  # 5-minute points: the 12:05 period is late
    assert week.end == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    custom = TimeWindow.custom(w.start, w.end)  # no clock: nothing is pending
    assert custom.settled() == custom


def test_every_preset_has_one_label_in_words() -> None:
    from foundation.window import PRESETS, preset_label

    labels = {name: preset_label(name) for name in PRESETS}
    assert labels == {
        "1h": "1 hour",
        "6h": "6 hours",
        "24h": "24 hours",
        "7d": "7 days",
        "30d": "30 days",
    }
