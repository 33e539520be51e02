"""Simulation benchmarks: building the 7-day demo fleet and one ground-truth re-simulation.

``run()`` returns figures with units in their names (median of ``REPEATS`` runs, wall clock);
``make bench`` records them. Measured, never asserted: the machine is shared.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator.sim.fleet import simulate
from emulator.sim.model import SimSettings
from emulator.sim.scenarios import demo_fleet
from emulator.sim.truth import ground_truth

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
REPEATS = 3


def _median_s(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run() -> dict[str, float | int | str]:
    spec = demo_fleet(NOW, days=7)
    data = simulate(spec)  # warm-up (builds the normal-quantile table once)
    requests = sum(t.requests for t in data.truth.values())
    busiest = max(data.truth, key=lambda k: data.truth[k].requests)
    return {
        "emulator_fleet_build_7d_s": round(_median_s(lambda: simulate(spec)), 3),
        "emulator_fleet_build_7d_1thread_s": round(_median_s(lambda: simulate(spec, workers=1)), 3),
        "emulator_truth_resim_one_service_7d_s": round(
            _median_s(lambda: ground_truth(spec, *busiest, SimSettings(min_instances=2))), 3
        ),
        "emulator_truth_resim_service": f"{busiest[1]} ({data.truth[busiest].requests:,} req)",
        "emulator_fleet_requests_7d": requests,
        "emulator_fleet_series": len(data.series),
        "emulator_fleet_instance_events": len(data.instance_events),
        "emulator_fleet_request_events": len(data.request_events),
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:45s} {value}")
