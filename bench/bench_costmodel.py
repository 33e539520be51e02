"""Cost model benchmark: replay a 30-day, 1-minute series over a settings grid (issue 5).

Figures: median wall time of the vectorised replay of the whole grid (>= 300 settings), of
the full what-if (replay + pricing of every setting + Pareto front, calibration excluded), and
how the replay time grows with days and with grid size. Medians of repeated runs; measured,
never asserted.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from costmodel.calibrate import DEFAULT_PEAK_SCALE, Calibration, RevisionInput
from costmodel.replay import Grid, Params, replay
from costmodel.traffic import Config, Traffic
from costmodel.whatif import MAX_INSTANCES, ServiceInput, evaluate
from foundation.min_schedule import MinSchedule

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CONC = (1, 2, 4, 8, 16, 32, 40, 80, 160, 250, 500, 1000)
MINS = (0, 1, 2, 3, 5)
CPUS = (1.0, 2.0, 4.0)


def _traffic(days: int, seed: int = 5) -> Traffic:
    rng = np.random.default_rng(seed)
    minutes = days * 1440
    t = np.arange(minutes)
    rate = 20.0 * (1 + 0.7 * np.sin(2 * np.pi * t / 1440)) * rng.lognormal(0, 0.2, minutes)
    req = rng.poisson(rate * 60).astype(float)
    return Traffic(start=T0, requests=req, latency_s=np.full(minutes, 0.12),
                   cpu_s_per_request=0.02)  # fmt: skip


def _grid(n_conc: int, n_min: int, n_cpu: int) -> Grid:
    combos = list(itertools.product(CONC[:n_conc], MINS[:n_min], (False, True), CPUS[:n_cpu]))
    c, m, b, cpu = (np.array(x) for x in zip(*combos, strict=True))
    return Grid.of(concurrency=c, min_instances=m, max_instances=100, instance_billing=b,
                   cpu=cpu, memory_gib=2.0 * cpu)  # fmt: skip


def _median_ms(fn: Callable[[], object], repeat: int = 7) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000.0


def run() -> dict[str, float | int | str]:
    # As calibration leaves it: within-minute peaks modelled (the stack has more levels).
    params = Params(peak_scale=DEFAULT_PEAK_SCALE)
    tr30 = _traffic(30)
    full = _grid(12, 5, 3)  # 360 settings
    out: dict[str, float | int | str] = {
        "costmodel_grid_settings": len(full),
        "costmodel_replay_30d_360_settings_ms": _median_ms(lambda: replay(tr30, full, params)),
        "costmodel_replay_30d_360_settings_mean_load_only_ms": _median_ms(
            lambda: replay(tr30, full, Params())
        ),
    }
    cfg = Config(cpu=1.0, memory_gib=2.0, concurrency=80)
    data = ServiceInput("europe-west1", "bench", [RevisionInput("bench-1", tr30, cfg)], cfg, 30.0)
    cal = Calibration(params, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0)
    # The what-if as the Cost page asks for it, max instances included (whatif.MAX_INSTANCES).
    whatif_settings = len(CONC) * len(MINS) * len(MAX_INSTANCES) * 2 * len(CPUS)
    out["costmodel_whatif_settings"] = whatif_settings

    def whatif(**more: object) -> object:
        return evaluate(
            data,
            calibration=cal,
            concurrencies=CONC,
            min_instances=MINS,
            max_instances=MAX_INSTANCES,
            cpus=CPUS,
            memories=(2.0,),
            **more,  # type: ignore[arg-type]
        )

    out[f"costmodel_whatif_30d_{whatif_settings}_settings_ms"] = _median_ms(whatif, repeat=5)
    # ... with scheduled min instances and the startup CPU boost switched (the variants: the
    # current settings replayed four more times, the schedule's floors per minute included).
    schedule = MinSchedule.parse("2@mon-fri 08:00-20:00; 0 otherwise", base=0)
    out[f"costmodel_whatif_30d_{whatif_settings}_settings_schedule_boost_ms"] = _median_ms(
        lambda: whatif(schedule=schedule, startup_cpu_boost=True), repeat=5
    )
    for days in (7, 14):
        tr = _traffic(days)
        out[f"costmodel_replay_{days}d_360_settings_ms"] = _median_ms(
            lambda tr=tr: replay(tr, full, params)
        )
    for n_conc, n_min, n_cpu in ((6, 5, 1), (12, 5, 1), (12, 5, 2), (12, 5, 3)):
        g = _grid(n_conc, n_min, n_cpu)
        if len(g) != len(full):
            out[f"costmodel_replay_30d_{len(g)}_settings_ms"] = _median_ms(
                lambda g=g: replay(tr30, g, params)
            )
    return out


if __name__ == "__main__":
    for k, v in run().items():
        print(f"{k}: {v}")
