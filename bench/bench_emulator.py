"""Emulator benchmarks, measured with the real Google clients over loopback gRPC.

``run()`` returns figures with units in their names; ``make bench`` records them.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
from google.cloud import logging_v2, monitoring_v3
from google.cloud.logging_v2.services.logging_service_v2.transports import (
    LoggingServiceV2GrpcTransport,
)
from google.cloud.monitoring_v3.services.metric_service.transports import (
    MetricServiceGrpcTransport,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import emulator
from emulator.api.servers import default_fleet

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
REPEATS = 7


def _median_ms(fn: Any, repeats: int = REPEATS) -> float:
    fn()  # warm-up (also fills the server's per-query cache for nothing: keys differ below)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def run() -> dict[str, float | int | str]:
    t = time.perf_counter()
    fleet = default_fleet(NOW, 7, 42, "runwatch-demo")
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    emu = emulator.start(fleet)
    start_s = time.perf_counter() - t
    try:
        figures: dict[str, float | int | str] = {
            "emulator_fleet_build_s": round(build_s, 3),
            "emulator_server_start_s": round(start_s, 3),
        }
        figures.update(_query_figures(emu.address, fleet.spec.end))
        figures.update(_log_figures(emu.address, fleet.spec.end))
        figures["emulator_log_entries_total"] = len(emu.logging.entries)
        return figures
    finally:
        emu.stop()


def _query_figures(address: str, end: datetime) -> dict[str, float | int | str]:
    """ListTimeSeries over 7 days of every revision: aligned and reduced, and raw."""
    mon = monitoring_v3.MetricServiceClient(
        transport=MetricServiceGrpcTransport(channel=grpc.insecure_channel(address))
    )
    counter = iter(range(1_000_000))

    def grouped(aligner: str, metric: str, reducer: str = "REDUCE_SUM") -> Any:
        def call() -> int:
            # a fresh end second each call: defeats the server's result cache
            e = end - timedelta(seconds=next(counter) % 50)
            req = {
                "name": "projects/runwatch-demo",
                "filter": f'metric.type = "run.googleapis.com/{metric}"',
                "interval": {"start_time": e - timedelta(days=7), "end_time": e},
                "aggregation": {
                    "alignment_period": {"seconds": 60},
                    "per_series_aligner": aligner,
                    "cross_series_reducer": reducer,
                    "group_by_fields": [
                        "resource.label.service_name",
                        "resource.label.revision_name",
                    ],
                },
            }
            return sum(len(ts.points) for ts in mon.list_time_series(request=req))

        return call

    def raw(metric: str) -> Any:
        def call() -> int:
            e = end - timedelta(seconds=next(counter) % 50)
            req = {
                "name": "projects/runwatch-demo",
                "filter": f'metric.type = "run.googleapis.com/{metric}"',
                "interval": {"start_time": e - timedelta(days=7), "end_time": e},
            }
            return sum(len(ts.points) for ts in mon.list_time_series(request=req))

        return call

    points = grouped("ALIGN_DELTA", "request_count")()
    return {
        "emulator_query_7d_1m_all_revisions_ms": round(
            _median_ms(grouped("ALIGN_DELTA", "request_count")), 1
        ),
        "emulator_query_7d_1m_all_revisions_points": points,
        "emulator_query_7d_1m_rate_all_revisions_ms": round(
            _median_ms(grouped("ALIGN_RATE", "request_count")), 1
        ),
        "emulator_query_7d_1m_latency_dist_all_revisions_ms": round(
            _median_ms(grouped("ALIGN_DELTA", "request_latencies"), 3), 1
        ),
        "emulator_query_7d_1m_latency_p99_all_revisions_ms": round(
            _median_ms(grouped("ALIGN_DELTA", "request_latencies", "REDUCE_PERCENTILE_99"), 3),
            1,
        ),
        "emulator_query_7d_raw_request_count_ms": round(_median_ms(raw("request_count"), 3), 1),
        "emulator_query_7d_raw_request_count_points": raw("request_count")(),
    }


def _log_figures(address: str, end: datetime) -> dict[str, float | int | str]:
    """ListLogEntries: 7 days of cold-start lines of the whole fleet."""
    logs = logging_v2.services.logging_service_v2.LoggingServiceV2Client(
        transport=LoggingServiceV2GrpcTransport(channel=grpc.insecure_channel(address))
    )

    def cold_starts() -> int:
        flt = (
            f'logName="projects/runwatch-demo/logs/run.googleapis.com%2Fvarlog%2Fsystem" '
            f'textPayload:"Starting new instance" '
            f'timestamp>="{(end - timedelta(days=7)).isoformat()}" '
            f'timestamp<"{end.isoformat()}"'
        )
        req = {"resource_names": ["projects/runwatch-demo"], "filter": flt, "page_size": 1000}
        return sum(1 for _ in logs.list_log_entries(request=req))

    return {
        "emulator_logs_7d_cold_starts_entries": cold_starts(),
        "emulator_logs_7d_cold_starts_ms": round(_median_ms(cold_starts, 3), 1),
    }


if __name__ == "__main__":
    for k, v in run().items():
        print(f"{k}: {v}")
