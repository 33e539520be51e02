"""The replay's input and output shapes: a grid of K settings as parallel arrays (``Grid``) and
the window totals the replay gives for each of them (``Result``). costmodel/replay.py fills
them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class Grid:
    """K settings as parallel arrays."""

    concurrency: np.ndarray  # int
    min_instances: np.ndarray  # int
    max_instances: np.ndarray  # int
    instance_billing: np.ndarray  # bool: True = instance-based
    cpu: np.ndarray  # float vCPU
    memory_gib: np.ndarray  # float
    # bool: startup CPU boost (its extra vCPU billed per start, costmodel/boost.py); all False
    # unless given
    startup_cpu_boost: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        if len(self.startup_cpu_boost) != len(self.concurrency):  # not given: off
            object.__setattr__(self, "startup_cpu_boost", np.zeros(len(self), dtype=bool))

    def with_boost(self, on: bool) -> Grid:
        """The same settings with startup CPU boost ``on`` for every one."""
        return replace(self, startup_cpu_boost=np.full(len(self), bool(on)))

    @classmethod
    def of(
        cls,
        *,
        concurrency: object,
        min_instances: object,
        max_instances: object,
        instance_billing: object,
        cpu: object,
        memory_gib: object,
        startup_cpu_boost: object = False,
    ) -> Grid:
        arrays = [
            np.atleast_1d(np.asarray(v))
            for v in (
                concurrency,
                min_instances,
                max_instances,
                instance_billing,
                cpu,
                memory_gib,
                startup_cpu_boost,
            )
        ]
        b = np.broadcast_arrays(*arrays)
        return cls(
            b[0].astype(np.int64),
            b[1].astype(np.int64),
            b[2].astype(np.int64),
            b[3].astype(bool),
            b[4].astype(float),
            b[5].astype(float),
            b[6].astype(bool),
        )

    def __len__(self) -> int:
        return len(self.concurrency)


@dataclass(frozen=True)
class Result:
    """Totals over the replayed window, one entry per grid setting."""

    minutes: int
    served: np.ndarray  # requests served
    rejected: np.ndarray  # requests refused with 429 (above max instances)
    cold_starts: np.ndarray  # instance starts, all reasons
    requests_meeting_cold_start: np.ndarray
    instance_s: np.ndarray  # instance lifetime seconds
    billable_s: np.ndarray  # per the setting's billing mode (excl. idle min instances)
    idle_min_s: np.ndarray  # request-based idle min-instance seconds (0 for instance-based)
    busy_s: np.ndarray  # instance-seconds with >= 1 request in flight (both modes)
    active_vcpu_s: np.ndarray  # including the startup CPU boost's
    active_gib_s: np.ndarray
    idle_vcpu_s: np.ndarray
    idle_gib_s: np.ndarray
    peak_instances: np.ndarray
    instances: np.ndarray | None = None  # (K, minutes) when asked for
    boost_vcpu_s: np.ndarray | None = None  # the startup CPU boost's extra vCPU-seconds
