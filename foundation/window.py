"""TimeWindow: a validated, tz-aware query window rounded to its alignment period.

Alignment rule (one rule for presets and custom windows): the smallest of
``ALIGNMENTS_S = 60, 300, 900, 1800, 3600`` seconds that keeps a series at or under
``MAX_POINTS = 2100`` points. That gives

    1h, 6h, 24h -> 60 s (at most 1,440 points)    7d -> 300 s (2,016)    30d -> 1800 s (1,440)

An explicit ``alignment_s`` (a multiple of 60) overrides the rule: the cost model's replay asks
for 60 s over up to 30 days (43,200 points per series).

Both ends are rounded *down* to a multiple of the alignment (epoch-based), so every aligned
period is whole and a rerun within the same period produces the same window (and cache key).

Cloud Monitoring needs up to ~3 minutes to make a minute's sample visible (docs/facts.md,
Metrics): an aligned point whose period ends after ``pending_after`` (= now − INGESTION_DELAY)
may still grow; collectors/monitoring.py marks it ``pending=True`` instead of presenting it as a
drop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PRESETS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}


def preset_label(name: str) -> str:
    """A preset in words: "1h" -> "1 hour", "7d" -> "7 days"."""
    hours = PRESETS[name] // timedelta(hours=1)
    count, unit = (hours // 24, "day") if hours % 24 == 0 and hours >= 48 else (hours, "hour")
    return f"{count} {unit}{'' if count == 1 else 's'}"


ALIGNMENTS_S = (60, 300, 900, 1800, 3600)
MAX_POINTS = 2100
MAX_SPAN = timedelta(days=30)
INGESTION_DELAY = timedelta(minutes=3)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# A fleet trend (one line per service) is aligned coarser: at most TREND_POINTS points.
TREND_ALIGNMENTS_S = (60, 300, 900, 1800, 3600, 10800, 21600, 86400)
TREND_POINTS = 300


class InvalidWindow(ValueError):
    """A time window runwatch cannot query."""


def _check_aware(name: str, t: datetime) -> None:
    if not isinstance(t, datetime) or t.tzinfo is None or t.utcoffset() is None:
        raise InvalidWindow(f"{name} must be a timezone-aware datetime, got {t!r}")


def floor_to(t: datetime, seconds: int) -> datetime:
    """``t`` rounded down to a multiple of ``seconds`` since the Unix epoch, in UTC."""
    _check_aware("time", t)
    elapsed = (t.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
    step = seconds * 1_000_000
    return _EPOCH + timedelta(microseconds=(elapsed // step) * step)


def alignment_for(span: timedelta) -> int:
    """The documented alignment rule (see module docstring)."""
    for seconds in ALIGNMENTS_S:
        if math.ceil(span.total_seconds() / seconds) <= MAX_POINTS:
            return seconds
    return ALIGNMENTS_S[-1]


def trend_alignment(span: timedelta) -> int:
    """The smallest of TREND_ALIGNMENTS_S giving at most TREND_POINTS points over ``span``:
    1h -> 60 s, 6h and 24h -> 300 s, 7d -> 3600 s, 30d -> 10800 s."""
    for seconds in TREND_ALIGNMENTS_S:
        if math.ceil(span.total_seconds() / seconds) <= TREND_POINTS:
            return seconds
    return TREND_ALIGNMENTS_S[-1]


@dataclass(frozen=True)
class TimeWindow:
    """[start, end) in UTC, both multiples of ``alignment_s``; hashable (a cache key)."""

    start: datetime
    end: datetime
    alignment_s: int
    pending_after: datetime | None = None  # aligned points ending after this are pending
    label: str = "custom"  # preset name or "custom"

    def __post_init__(self) -> None:
        _check_aware("start", self.start)
        _check_aware("end", self.end)
        if self.pending_after is not None:
            _check_aware("pending_after", self.pending_after)
        if not isinstance(self.alignment_s, int) or self.alignment_s < 60:
            raise InvalidWindow(f"alignment must be at least 60 s, got {self.alignment_s!r}")
        if self.alignment_s % 60:
            raise InvalidWindow(f"alignment must be a multiple of 60 s, got {self.alignment_s}")
        if not self.start < self.end:
            raise InvalidWindow(f"window start {self.start} must be before its end {self.end}")
        if self.end - self.start > MAX_SPAN:
            raise InvalidWindow("a window can span at most 30 days (Cloud Logging's retention)")
        single = (self.end - self.start).total_seconds() == self.alignment_s
        for name, t in (("start", self.start), ("end", self.end)):
            if not single and floor_to(t, self.alignment_s) != t:
                raise InvalidWindow(f"window {name} {t} is not a multiple of {self.alignment_s} s")
        # Normalise to UTC so equal windows hash equally whatever zone they were given in.
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))
        if self.pending_after is not None:
            object.__setattr__(self, "pending_after", self.pending_after.astimezone(UTC))

    @classmethod
    def preset(
        cls,
        name: str,
        now: datetime,
        *,
        alignment_s: int | None = None,
        ingestion_delay: timedelta = INGESTION_DELAY,
    ) -> TimeWindow:
        """The last ``name`` (1h, 6h, 24h, 7d, 30d) ending at ``now`` rounded down."""
        if name not in PRESETS:
            raise InvalidWindow(f"unknown window {name!r}: use one of {', '.join(PRESETS)}")
        _check_aware("now", now)
        span = PRESETS[name]
        step = alignment_s or alignment_for(span)
        end = floor_to(now, step)
        return cls(end - span, end, step, now.astimezone(UTC) - ingestion_delay, name)

    @classmethod
    def custom(
        cls,
        start: datetime,
        end: datetime,
        *,
        now: datetime | None = None,
        alignment_s: int | None = None,
        ingestion_delay: timedelta = INGESTION_DELAY,
    ) -> TimeWindow:
        """[start, end) rounded down to the alignment; ``now`` (if given) sets pending points.

        An end after ``now`` is clipped to ``now``.
        """
        _check_aware("start", start)
        _check_aware("end", end)
        if now is not None:
            _check_aware("now", now)
            end = min(end, now)
        if not start < end:
            raise InvalidWindow(f"window start {start} must be before its end {end}")
        if end - start > MAX_SPAN:
            raise InvalidWindow("a window can span at most 30 days (Cloud Logging's retention)")
        step = alignment_s or alignment_for(end - start)
        lo, hi = floor_to(start, step), floor_to(end, step)
        if lo == hi:
            raise InvalidWindow(f"window {start} .. {end} is shorter than one {step} s period")
        pending = None if now is None else now.astimezone(UTC) - ingestion_delay
        return cls(lo, hi, step, pending, "custom")

    @property
    def span(self) -> timedelta:
        return self.end - self.start

    @property
    def periods(self) -> int:
        """Number of aligned periods in the window."""
        return int(self.span.total_seconds()) // self.alignment_s

    def with_alignment(self, alignment_s: int) -> TimeWindow:
        """The same window at another alignment (ends rounded down again)."""
        start, end = floor_to(self.start, alignment_s), floor_to(self.end, alignment_s)
        return TimeWindow(start, end, alignment_s, self.pending_after, self.label)

    def trend(self) -> TimeWindow:
        """The window at the fleet trend's alignment (trend_alignment), never finer than its
        own; the end rounded down to it."""
        step = max(self.alignment_s, trend_alignment(self.span))
        return self if step == self.alignment_s else self.with_alignment(step)

    def settled(self) -> TimeWindow:
        """The window without its pending periods: cut at the last period end not after
        ``pending_after`` (itself when nothing is pending, or when every period is)."""
        if self.pending_after is None or self.pending_after >= self.end:
            return self
        late = (self.end - self.pending_after).total_seconds()
        cut = self.end - timedelta(seconds=math.ceil(late / self.alignment_s) * self.alignment_s)
        if cut <= self.start:
            return self
        return TimeWindow(self.start, cut, self.alignment_s, self.pending_after, self.label)

    def whole(self) -> TimeWindow:
        """The same window as one single period (Monitoring aligns periods back from the end,
        so one period of the window's length covers it exactly): for exact window-wide
        percentiles from merged histograms."""
        span_s = int(self.span.total_seconds())
        return TimeWindow(self.start, self.end, span_s, self.pending_after, self.label)

    def is_pending(self, period_end: datetime) -> bool:
        return self.pending_after is not None and period_end > self.pending_after
