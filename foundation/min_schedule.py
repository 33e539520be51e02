"""Scheduled min instances: a floor of instances that holds only at given hours and days.

Cloud Run has no schedule of its own for min instances: a schedule is carried out by jobs that
set the service-level min instances at each change (docs/facts.md, Scheduled min instances).
This module reads a schedule as people write it, refuses what cannot be carried out, and gives
the floor per minute of any window and the changes a set of jobs must make.

Written as windows separated by ``;``, each ``MIN@DAYS HH:MM-HH:MM``::

    2@mon-fri 08:00-20:00            min 2 on weekdays 08:00-20:00, the base min otherwise
    3@mon-fri 09:00-17:00; 1@sat,sun 10:00-16:00
    1@daily 22:00-06:00              a window past midnight ends the next day
    2@mon-fri 08:00-20:00; 0 otherwise   the base said in the schedule itself

DAYS: ``mon`` .. ``sun``, ranges (``mon-fri``, ``fri-mon``), lists (``sat,sun``), ``daily``.
Times are in the schedule's time zone (an IANA name, UTC by default); ``24:00`` ends a day.
Outside every window the floor is the base (the setting's own min instances).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK_MIN = 7 * 1440
MAX_MIN_INSTANCES = 1000  # the most a schedule may ask for (Cloud Run's own limit is lower)
_WINDOW = re.compile(
    r"^\s*(?P<min>\d{1,4})\s*@\s*(?P<days>[a-z,\-]+)\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)
_OTHERWISE = re.compile(r"\d{1,4}\s+otherwise")
_STEP_MIN = 15  # time-zone offsets change on quarter hours: the floor is looked up per step


class InvalidSchedule(ValueError):
    """A schedule that cannot be carried out, with the reason in plain words."""


@dataclass(frozen=True)
class Window:
    """min instances on ``days`` (0 = Monday) from ``start_min`` to ``end_min`` (minutes of the
    day; an end at or before the start is on the next day)."""

    min_instances: int
    days: tuple[int, ...]
    start_min: int
    end_min: int

    def minutes_of_week(self) -> list[tuple[int, int]]:
        """[start, end) minutes of the week this window covers (ends past Sunday wrap)."""
        length = (self.end_min - self.start_min) % 1440 or 1440
        return [(d * 1440 + self.start_min, d * 1440 + self.start_min + length) for d in self.days]

    def text(self) -> str:
        return f"{self.min_instances}@{self.when()}"

    def when(self) -> str:
        """'mon-fri 08:00-20:00'."""
        end = "24:00" if self.end_min == 0 else _hhmm(self.end_min)
        return f"{days_text(self.days)} {_hhmm(self.start_min)}-{end}"


@dataclass(frozen=True)
class Change:
    """Set min instances to ``min_instances`` at ``minute`` (of the day) on ``days``."""

    minute: int
    days: tuple[int, ...]
    min_instances: int

    def cron(self) -> str:
        """The unix-cron line of Cloud Scheduler (day of week 0 = Sunday)."""
        dow = "*" if len(self.days) == 7 else ",".join(str((d + 1) % 7) for d in self.days)
        return f"{self.minute % 60} {self.minute // 60} * * {dow}"

    def label(self) -> str:
        return f"{days_text(self.days)} {_hhmm(self.minute)} -> min {self.min_instances}"


@dataclass(frozen=True)
class MinSchedule:
    """Windows of min instances over a base, in a time zone."""

    windows: tuple[Window, ...]
    base: int
    tz: str = "UTC"

    @classmethod
    def parse(
        cls, text: str, *, base: int, tz: str = "UTC", max_instances: int | None = None
    ) -> MinSchedule:
        """The schedule ``text`` over ``base`` min instances; raises InvalidSchedule."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidSchedule(
                "the schedule is empty: write windows such as 2@mon-fri 08:00-20:00"
            )
        if len(text) > 500:
            raise InvalidSchedule("the schedule is longer than 500 characters")
        _zone(tz)
        parts = [part.strip() for part in text.lower().split(";") if part.strip()]
        said = [p for p in parts if _OTHERWISE.fullmatch(p)]
        if len(said) > 1:
            raise InvalidSchedule("the schedule says 'otherwise' more than once")
        if said:
            base = int(said[0].split()[0])
            parts.remove(said[0])
        if base < 0:
            raise InvalidSchedule(f"the base min instances must be 0 or more, got {base}")
        if base > MAX_MIN_INSTANCES:
            raise InvalidSchedule(f"at most {MAX_MIN_INSTANCES} min instances")
        windows = tuple(_window(part) for part in parts)
        if not windows:
            raise InvalidSchedule("the schedule has no window")
        schedule = cls(windows, base, tz)
        schedule._check_overlaps()
        top = max([base, *(w.min_instances for w in windows)])
        if max_instances is not None and top > max_instances:
            raise InvalidSchedule(
                f"min instances {top} would exceed max instances ({max_instances}): Cloud Run "
                "refuses a min above the max"
            )
        return schedule

    def text(self) -> str:
        """The schedule as it parses back (its base said)."""
        return "; ".join([*(w.text() for w in self.windows), f"{self.base} otherwise"])

    def describe(self) -> str:
        """Plain words: 'min 2 mon-fri 08:00-20:00, 0 otherwise (UTC)'."""
        parts = ", ".join(f"min {w.min_instances} {w.when()}" for w in self.windows)
        return f"{parts}, {self.base} otherwise ({self.tz})"

    def week(self) -> list[int]:
        """The floor for each minute of the week (local time), Monday 00:00 first."""
        out = [self.base] * WEEK_MIN
        for w in self.windows:
            for a, b in w.minutes_of_week():
                for m in range(a, b):
                    out[m % WEEK_MIN] = w.min_instances
        return out

    def levels(self) -> tuple[int, ...]:
        """Every floor the schedule can hold, lowest first."""
        return tuple(sorted({self.base, *(w.min_instances for w in self.windows)}))

    def floors(self, start: datetime, minutes: int) -> list[int]:
        """The floor in each of ``minutes`` minutes from ``start`` (tz-aware)."""
        if start.tzinfo is None:
            raise InvalidSchedule("the window start must be timezone-aware")
        week, zone = self.week(), _zone(self.tz)
        out: list[int] = []
        step = 0
        while step < minutes:
            local = (start + timedelta(minutes=step)).astimezone(zone)
            at = local.weekday() * 1440 + local.hour * 60 + local.minute
            n = min(_STEP_MIN - local.minute % _STEP_MIN, minutes - step)
            out.extend(week[(at + i) % WEEK_MIN] for i in range(n))
            step += n
        return out

    def changes(self) -> list[Change]:
        """The changes a set of jobs must make, one per (time of day, floor), with the days."""
        week = self.week()
        found: dict[tuple[int, int], list[int]] = {}
        for m in range(WEEK_MIN):
            if week[m] != week[m - 1]:
                found.setdefault((m % 1440, week[m]), []).append(m // 1440)
        return [
            Change(minute, tuple(sorted(days)), level)
            for (minute, level), days in sorted(found.items(), key=lambda kv: (kv[1][0], kv[0]))
        ]

    def _check_overlaps(self) -> None:
        owner: dict[int, Window] = {}
        for w in self.windows:
            for a, b in w.minutes_of_week():
                for m in range(a, b):
                    other = owner.get(m % WEEK_MIN)
                    if other is not None and other is not w:
                        raise InvalidSchedule(
                            f"windows {other.text()!r} and {w.text()!r} overlap on "
                            f"{DAYS[(m % WEEK_MIN) // 1440]} at {_hhmm(m % 1440)}"
                        )
                    owner[m % WEEK_MIN] = w


def _zone(tz: str) -> ZoneInfo:
    if not isinstance(tz, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-/]{0,63}", tz):
        raise InvalidSchedule(f"{tz!r} is not a time zone name such as Europe/Berlin or UTC")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSchedule(
            f"{tz!r} is not a known time zone (IANA names, e.g. Europe/Berlin)"
        ) from None


def _window(part: str) -> Window:
    m = _WINDOW.fullmatch(part.strip())
    if m is None:
        raise InvalidSchedule(
            f"{part.strip()!r} is not a window: write MIN@DAYS HH:MM-HH:MM, "
            "e.g. 2@mon-fri 08:00-20:00"
        )
    start, end = _minute(m["start"], part), _minute(m["end"], part)
    if start == 1440:
        raise InvalidSchedule(f"{part.strip()!r}: a window cannot start at 24:00")
    if start == end:
        raise InvalidSchedule(f"{part.strip()!r}: the window starts and ends at the same time")
    level = int(m["min"])
    if level > MAX_MIN_INSTANCES:
        raise InvalidSchedule(f"{part.strip()!r}: at most {MAX_MIN_INSTANCES} min instances")
    return Window(level, _days(m["days"], part), start, end % 1440 if end == 1440 else end)


def _minute(hhmm: str, part: str) -> int:
    hh, mm = (int(x) for x in hhmm.split(":"))
    if mm > 59 or hh > 24 or (hh == 24 and mm):
        raise InvalidSchedule(f"{part.strip()!r}: {hhmm} is not a time of day (00:00-24:00)")
    return hh * 60 + mm


def _days(text: str, part: str) -> tuple[int, ...]:
    if text == "daily":
        return tuple(range(7))
    out: list[int] = []
    for item in text.split(","):
        ends = item.split("-")
        if len(ends) > 2 or any(e not in DAYS for e in ends):
            raise InvalidSchedule(
                f"{part.strip()!r}: {item!r} is not a day or range of days "
                "(mon..sun, mon-fri, daily)"
            )
        a, b = DAYS.index(ends[0]), DAYS.index(ends[-1])
        span = [(a + i) % 7 for i in range((b - a) % 7 + 1)]
        for d in span:
            if d in out:
                raise InvalidSchedule(f"{part.strip()!r}: {DAYS[d]} is named twice")
            out.append(d)
    return tuple(sorted(out))


def days_text(days: tuple[int, ...]) -> str:
    """'mon-fri', 'sat,sun', 'daily'."""
    if len(days) == 7:
        return "daily"
    runs: list[list[int]] = []
    for d in days:
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return ",".join(
        DAYS[r[0]]
        if len(r) == 1
        else f"{DAYS[r[0]]}-{DAYS[r[-1]]}"
        if len(r) > 2
        else f"{DAYS[r[0]]},{DAYS[r[1]]}"
        for r in runs
    )


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
