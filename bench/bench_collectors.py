"""Collector benchmarks: parallel collection against the longest single call chain.

Monitoring part (helper C1): the emulator serves the 7-day demo fleet with 100 ms of added
latency per RPC. We time ``fetch_metrics`` for every metric of the whole fleet (7 d window,
run in parallel), and each metric's call chain alone (its pages, one after the other): the
slowest chain is the floor that parallelism cannot beat. Target: ratio <= 1.5.

Helper C2 adds the logs / services part to ``run()`` below.

Cold dashboard loads: what the dashboard's first view of a window costs on empty caches (a
fresh emulator process, so its per-query cache is empty too): ``collect()`` for the whole
project with the fleet pages' metrics at the window's alignment, then the whole-window
distributions ``fetch_metrics`` call, for 24 h and 7 d, with and without 100 ms per RPC.
"""

from __future__ import annotations

import queue
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

LATENCY_S = 0.1
REPEATS = 3
START_TIMEOUT_S = 120


def _monitoring(address: str, project: str, now: datetime) -> dict[str, float | int | str]:
    from collectors import catalog, clients, monitoring
    from foundation.window import TimeWindow

    window = TimeWindow.preset("7d", now)
    scope = monitoring.MetricScope()
    c = clients.for_emulator(address)
    try:
        # warm-up (the emulator caches query results; so do both timings below)
        monitoring.fetch_metrics(c, [project], window)
        chains = []
        for short in catalog.ALL:
            t = time.perf_counter()
            monitoring.fetch_one(c, catalog.spec(short), project, window, scope)
            chains.append(time.perf_counter() - t)
        floor = max(chains)
        c.counter.reset()
        totals = []
        for _ in range(REPEATS):
            t = time.perf_counter()
            result = monitoring.fetch_metrics(c, [project], window)
            totals.append(time.perf_counter() - t)
        total = statistics.median(totals)
        calls = c.counter.total() // REPEATS
    finally:
        c.close()
    return {
        "monitoring_collect_7d_s": round(total, 3),
        "monitoring_longest_chain_s": round(floor, 3),
        "monitoring_parallel_ratio": round(total / floor, 2),
        "monitoring_rpc_calls": calls,
        "monitoring_rows": len(result.frame),
        "monitoring_added_latency_s": LATENCY_S,
    }


def _collect(address: str, project: str, now: datetime) -> dict[str, float | int | str]:
    """Helper C2's part: the whole collect() (metrics, logs, config in parallel) for 7 days,
    against the longest single chain among them (measured alone, one after the other)."""
    import config
    from collectors import catalog, clients, logs, monitoring, services
    from collectors.budget import Budgets
    from collectors.collect import collect
    from foundation.window import TimeWindow

    settings = config.load({"RUNWATCH_SOURCE": "demo", "RUNWATCH_DEMO_PROJECT": project})
    window = TimeWindow.preset("7d", now)
    scope = monitoring.MetricScope()
    c = clients.for_emulator(address)
    try:
        collect(c, [project], window, settings=settings, budgets=Budgets())  # warm-up
        chains: dict[str, float] = {}
        for short in catalog.ALL:
            t = time.perf_counter()
            monitoring.fetch_one(c, catalog.spec(short), project, window, scope)
            chains[f"metric {short}"] = time.perf_counter() - t
        t = time.perf_counter()
        events = logs.fetch_instance_events(
            c, [project], window, settings=settings, budgets=Budgets()
        )
        chains["logs"] = time.perf_counter() - t
        t = time.perf_counter()
        services.fetch_config(c, [project])
        chains["config"] = time.perf_counter() - t
        slowest = max(chains, key=chains.__getitem__)
        c.counter.reset()
        totals = []
        for _ in range(REPEATS):
            t = time.perf_counter()
            bundle = collect(c, [project], window, settings=settings, budgets=Budgets())
            totals.append(time.perf_counter() - t)
        total = statistics.median(totals)
        calls = c.counter.total() // REPEATS
    finally:
        c.close()
    return {
        "collect_7d_s": round(total, 3),
        "collect_longest_chain_s": round(chains[slowest], 3),
        "collect_longest_chain_name": slowest,
        "collect_parallel_ratio": round(total / chains[slowest], 2),
        "collect_rpc_calls": calls,
        "collect_instance_events_rows": len(events.frame),
        "collect_cold_starts_from_logs": int(bundle.cold_starts["from_logs"]),
        "collect_cold_starts_from_metric": int(bundle.cold_starts["from_metric"]),
    }


def _cold(address: str, project: str, now: datetime, tag: str) -> dict[str, float | int | str]:
    """Cold 24 h then 7 d dashboard loads (collect + whole-window totals), each timed once."""
    import config
    from collectors import catalog, clients, monitoring
    from collectors.budget import Budgets
    from collectors.collect import collect
    from foundation.window import TimeWindow

    settings = config.load({"RUNWATCH_SOURCE": "demo", "RUNWATCH_DEMO_PROJECT": project})
    out: dict[str, float | int | str] = {}
    for name in ("24h", "7d"):
        window = TimeWindow.preset(name, now)
        c = clients.for_emulator(address)
        try:
            t = time.perf_counter()
            bundle = collect(
                c,
                [project],
                window,
                settings=settings,
                budgets=Budgets(),
                metrics=catalog.FLEET_VIEW,
            )
            collect_s = time.perf_counter() - t
            t = time.perf_counter()
            monitoring.fetch_metrics(c, [project], window.whole(), None, catalog.WINDOW_TOTALS)
            totals_s = time.perf_counter() - t
            t = time.perf_counter()
            monitoring.fetch_metrics(c, [project], window, None, catalog.FLEET_VIEW)
            warm_metrics_s = time.perf_counter() - t
        finally:
            c.close()
        out[f"cold_collect_{name}{tag}_s"] = round(collect_s, 3)
        out[f"cold_totals_{name}{tag}_s"] = round(totals_s, 3)
        out[f"warm_server_metrics_{name}{tag}_s"] = round(warm_metrics_s, 3)
        out[f"cold_collect_{name}{tag}_metric_rows"] = len(bundle["metric_points"].frame)
    return out


def _serve(days: int, faults: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m emulator`` in its own process; return it and its address.

    A separate process, like Google's servers: an in-process emulator competes with the
    collectors for the GIL (2 cores here), so the timing would measure the emulator's CPU.
    """
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--days", str(days), "--faults", faults],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    ready: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: ready.put(proc.stdout.readline()), daemon=True).start()
    try:
        line = ready.get(timeout=START_TIMEOUT_S)
    except queue.Empty:
        proc.kill()
        raise RuntimeError("the emulator did not start in time") from None
    if not line.startswith("emulator listening on "):
        proc.kill()
        raise RuntimeError(f"unexpected emulator output: {line!r}")
    return proc, line.rsplit(" ", 1)[-1].strip()


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run() -> dict[str, float | int | str]:
    now = datetime.now(UTC)
    out: dict[str, float | int | str] = {}
    proc, address = _serve(7, "")
    try:
        out.update(_cold(address, "runwatch-demo", now, ""))
    finally:
        _stop(proc)
    proc, address = _serve(7, f"latency={LATENCY_S}")
    try:
        out.update(_cold(address, "runwatch-demo", now, "_latency"))
        out.update(_monitoring(address, "runwatch-demo", now))
        out.update(_collect(address, "runwatch-demo", now))
    finally:
        _stop(proc)
    return out


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value}")
