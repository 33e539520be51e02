"""A process-wide budget of Cloud Logging ``entries.list`` calls, per project.

Google allows 60 ``entries.list`` calls a minute per project, shared with every other reader
(the console, gcloud, other dashboards). runwatch keeps to ``settings.log_calls_per_minute``
(default 50) across all its threads and sessions.

This is a sliding-window limiter rather than a refilling token bucket: a bucket of capacity N
refilled at N a minute can let through nearly 2N calls within one 60-second span (a full bucket
plus a minute of refill), which would break the quota. Here a call is allowed only when fewer than
N calls were granted in the preceding 60 seconds, so no 60-second span ever holds more than N,
whichever way Google aligns its minute.

The clock is a parameter (``time.monotonic`` by default): a rate limit measures elapsed time,
not wall-clock time, and tests drive it with a fake clock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 60.0


class CallBudget:
    """At most ``per_minute`` grants in any 60-second span; thread-safe."""

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute < 1:
            raise ValueError("a call budget needs at least 1 call a minute")
        self.per_minute = per_minute
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._granted: deque[float] = deque()
        self._blocked_until = float("-inf")
        self.refused = 0

    def _prune(self, now: float) -> None:
        while self._granted and self._granted[0] <= now - WINDOW_S:
            self._granted.popleft()

    def _wait_needed(self, now: float) -> float:
        """Seconds until a grant is possible (0 = now). Caller holds the lock."""
        self._prune(now)
        wait = max(0.0, self._blocked_until - now)
        if len(self._granted) >= self.per_minute:
            wait = max(wait, self._granted[0] + WINDOW_S - now)
        return wait

    def try_acquire(self) -> bool:
        """Take one call now if the budget allows; never waits."""
        with self._lock:
            now = self._clock()
            if self._wait_needed(now) > 0:
                self.refused += 1
                return False
            self._granted.append(now)
            return True

    def acquire(self, max_wait_s: float = 0.0) -> bool:
        """Take one call, waiting up to ``max_wait_s`` for room; False if none came."""
        deadline = self._clock() + max_wait_s
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait_needed(now)
                if wait <= 0:
                    self._granted.append(now)
                    return True
                if now + wait > deadline:
                    self.refused += 1
                    return False
            self._sleep(min(wait, max(deadline - now, 0.0)) + 1e-3)

    def block_for(self, seconds: float) -> None:
        """Grant nothing for ``seconds`` (after Google said the quota is spent)."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)

    def used(self) -> int:
        """Calls granted in the last 60 seconds."""
        with self._lock:
            self._prune(self._clock())
            return len(self._granted)

    def remaining(self) -> int:
        with self._lock:
            now = self._clock()
            if self._blocked_until > now:
                return 0
            self._prune(now)
            return self.per_minute - len(self._granted)


class Budgets:
    """Budgets per project, shared by every caller holding this object (thread-safe)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._budgets: dict[str, CallBudget] = {}

    def for_project(self, project: str, per_minute: int) -> CallBudget:
        """The budget of ``project`` (created on first use).

        If the configured rate changes, the existing budget keeps its history and takes the new
        rate, so a settings change can never reset the count and burst past the quota.
        """
        with self._lock:
            budget = self._budgets.get(project)
            if budget is None:
                budget = CallBudget(per_minute, clock=self._clock, sleep=self._sleep)
                self._budgets[project] = budget
            elif budget.per_minute != per_minute:
                with budget._lock:
                    budget.per_minute = per_minute
            return budget

    def forget(self) -> None:
        """Drop every project's history and pause (tests that inject quota errors into one
        dashboard after another; a running dashboard never forgets its calls)."""
        with self._lock:
            self._budgets.clear()


PROCESS_BUDGETS = Budgets()
"""The one process-wide registry the collectors use unless a caller passes its own."""
