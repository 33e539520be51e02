"""Scheduled min instances as written (foundation/min_schedule.py): parsing, refusals with the
reason, the floor per minute (time zones, summer time) and the changes the jobs must make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from foundation.min_schedule import WEEK_MIN, InvalidSchedule, MinSchedule

MONDAY = datetime(2026, 11, 30, tzinfo=UTC)  # a Monday, 00:00 UTC


def _independent_floor(t: datetime, tz: str) -> int:
    """The weekday rule 2@mon-fri 08:00-20:00, 0 otherwise, read off one local time."""
    from zoneinfo import ZoneInfo

    local = t.astimezone(ZoneInfo(tz))
    return 2 if local.weekday() < 5 and 8 <= local.hour < 20 else 0


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
def test_floors_follow_local_time_across_summer_time(tz: str) -> None:
    # Two weeks around Europe's and America's spring changes of 2026 (29 and 8 March).
    start = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    minutes = 4 * 7 * 1440
    sched = MinSchedule.parse("2@mon-fri 08:00-20:00; 0 otherwise", base=5, tz=tz)
    floors = sched.floors(start, minutes)
    want = [_independent_floor(start + timedelta(minutes=i), tz) for i in range(minutes)]
    assert floors == want
    assert sched.base == 0  # said in the schedule, over the base passed


def test_base_outside_windows_and_past_midnight() -> None:
    sched = MinSchedule.parse("3@fri 22:00-02:00", base=1)
    week = sched.week()
    friday, saturday = 4 * 1440, 5 * 1440
    assert week[friday + 22 * 60 - 1] == 1
    assert week[friday + 22 * 60] == 3
    assert week[saturday + 2 * 60 - 1] == 3
    assert week[saturday + 2 * 60] == 1
    assert sum(1 for v in week if v == 3) == 4 * 60
    # Sunday night past midnight wraps to Monday morning.
    wrap = MinSchedule.parse("2@sun 23:00-01:00", base=0).week()
    assert wrap[0] == 2
    assert wrap[60] == 0
    assert wrap[WEEK_MIN - 1] == 2


def test_changes_are_the_floor_steps_with_unix_cron() -> None:
    sched = MinSchedule.parse("2@mon-fri 08:00-20:00; 1@sat,sun 10:00-16:00", base=0)
    got = [(c.label(), c.cron()) for c in sched.changes()]
    assert got == [
        ("mon-fri 08:00 -> min 2", "0 8 * * 1,2,3,4,5"),
        ("mon-fri 20:00 -> min 0", "0 20 * * 1,2,3,4,5"),
        ("sat,sun 10:00 -> min 1", "0 10 * * 6,0"),
        ("sat,sun 16:00 -> min 0", "0 16 * * 6,0"),
    ]
    # Adjacent windows: one change at the boundary, to the later window's floor.
    adjacent = MinSchedule.parse("2@daily 08:00-12:00; 3@daily 12:00-18:00", base=0)
    assert [(c.minute, c.min_instances) for c in adjacent.changes()] == [
        (8 * 60, 2),
        (12 * 60, 3),
        (18 * 60, 0),
    ]
    assert adjacent.changes()[0].cron() == "0 8 * * *"


def test_text_parses_back_to_the_same_schedule() -> None:
    sched = MinSchedule.parse("2@mon-fri 08:00-24:00; 1@sat 22:30-06:15", base=0, tz="Europe/Paris")
    again = MinSchedule.parse(sched.text(), base=7, tz="Europe/Paris")
    assert again == sched
    assert sched.describe() == (
        "min 2 mon-fri 08:00-24:00, min 1 sat 22:30-06:15, 0 otherwise (Europe/Paris)"
    )
    assert sched.levels() == (0, 1, 2)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "empty"),
        ("2@mon-fri 8-20", "is not a window"),
        ("2@mon-fri 08:00-08:00", "starts and ends at the same time"),
        ("2@mon-fri 24:00-08:00", "cannot start at 24:00"),
        ("2@mon 25:00-26:00", "is not a time of day"),
        ("2@mon 08:61-09:00", "is not a time of day"),
        ("2@funday 01:00-02:00", "'funday' is not a day"),
        ("2@mon,mon-tue 01:00-02:00", "mon is named twice"),
        ("2@mon-fri 08:00-20:00; 1@fri 19:00-21:00", "overlap on fri at 19:00"),
        ("2@sun 23:00-02:00; 1@mon 01:00-03:00", "overlap on mon at 01:00"),
        ("5@daily 00:00-24:00", r"would exceed max instances \(3\)"),
        ("2@mon 01:00-02:00; 4 otherwise", r"would exceed max instances \(3\)"),
        ("1@mon 01:00-02:00; 0 otherwise; 1 otherwise", "more than once"),
        ("2@mon 01:00-02:00 ; DROP TABLE", "is not a window"),
        ("x" * 501, "longer than 500"),
    ],
)
def test_refused_with_the_reason(text: str, said: str) -> None:
    with pytest.raises(InvalidSchedule, match=said):
        MinSchedule.parse(text, base=0, max_instances=3)


@pytest.mark.parametrize("tz", ["Mars/Olympus", "../../etc/passwd", "", "UTC; rm -rf"])
def test_time_zone_refused(tz: str) -> None:
    with pytest.raises(InvalidSchedule, match="time zone"):
        MinSchedule.parse("2@mon 01:00-02:00", base=0, tz=tz)


def test_naive_start_refused() -> None:
    sched = MinSchedule.parse("2@mon 01:00-02:00", base=0)
    with pytest.raises(InvalidSchedule, match="timezone-aware"):
        sched.floors(datetime(2026, 11, 30), 10)


def test_floor_at_the_first_minutes() -> None:
    sched = MinSchedule.parse("2@mon-fri 08:00-20:00", base=0)
    assert sched.floors(MONDAY + timedelta(hours=7, minutes=58), 4) == [0, 0, 2, 2]
    assert sched.floors(MONDAY + timedelta(days=5, hours=9), 3) == [0, 0, 0]  # Saturday
