"""The Logging call budget: no 60-second span ever holds more than N grants."""

from __future__ import annotations

import random
import threading

import pytest

from collectors.budget import WINDOW_S, Budgets, CallBudget


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.t

    def sleep(self, s: float) -> None:
        with self.lock:
            self.t += s


def _max_in_any_window(times: list[float]) -> int:
    """Independent check: the most grants inside any half-open 60 s span."""
    times = sorted(times)
    best = 0
    j = 0
    for i, t in enumerate(times):
        while times[j] <= t - WINDOW_S:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_random_arrivals_never_exceed_the_budget() -> None:
    clock = FakeClock()
    budget = CallBudget(7, clock=clock, sleep=clock.sleep)
    rng = random.Random(5)
    granted = []
    for _ in range(2000):
        clock.sleep(rng.expovariate(1 / 3.0))  # ~20 tries a minute against a budget of 7
        if budget.try_acquire():
            granted.append(clock())
    assert _max_in_any_window(granted) == 7
    assert budget.refused > 0
    assert len(granted) >= 7 * (clock() - 1000.0) / 60 * 0.9  # and it does grant its share


def test_acquire_waits_for_room_and_refuses_past_its_wait() -> None:
    clock = FakeClock()
    budget = CallBudget(2, clock=clock, sleep=clock.sleep)
    assert budget.acquire()
    assert budget.acquire()
    assert not budget.acquire(max_wait_s=10)  # room comes back only in 60 s
    t0 = clock()
    assert budget.acquire(max_wait_s=61)
    assert clock() - t0 == pytest.approx(60.0, abs=0.01)
    assert budget.remaining() == 1  # both first grants (same instant) have left the window


def test_block_for_closes_the_budget() -> None:
    clock = FakeClock()
    budget = CallBudget(50, clock=clock, sleep=clock.sleep)
    budget.block_for(60)
    assert not budget.try_acquire()
    assert budget.remaining() == 0
    clock.sleep(60.01)
    assert budget.try_acquire()


def test_threads_share_one_budget() -> None:
    budgets = Budgets()
    budget = budgets.for_project("runwatch-demo", 25)
    assert budgets.for_project("runwatch-demo", 25) is budget
    assert budgets.for_project("other-project", 25) is not budget
    wins: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            ok = budget.try_acquire()
            with lock:
                wins.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(wins) == 25
    assert budget.used() == 25


def test_rate_change_keeps_history() -> None:
    clock = FakeClock()
    budgets = Budgets(clock=clock, sleep=clock.sleep)
    b = budgets.for_project("runwatch-demo", 5)
    for _ in range(5):
        assert b.try_acquire()
    b2 = budgets.for_project("runwatch-demo", 3)
    assert b2 is b
    assert not b.try_acquire()
    with pytest.raises(ValueError, match="at least 1"):
        CallBudget(0)
