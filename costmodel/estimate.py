"""Price a described workload before it exists: the `estimate` command.

The workload (requests a month, mean latency) is spread evenly over an average month
(prices.json ``month_days`` = 30.4375 days = 365.25 / 12) and replayed through the same model as
observed traffic (replay.py), as a steady state: instances already running, no cold starts.
With a fixed latency the 100 ms rounding is exact: each busy period is billed
``ceil(latency / 100 ms) * 100 ms``. At concurrency 1 the billed active time is therefore
``requests * rounded latency``, the pricing page's own arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from costmodel import prices
from costmodel.bill import Bill, Usage, price
from costmodel.errors import CannotEstimate, refuse_gpus
from costmodel.limits import forbidden
from costmodel.replay import Grid, Params, Result, replay
from costmodel.traffic import flat

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # a fixed, meaningless start: nothing reads the clock


@dataclass(frozen=True)
class Workload:
    requests_per_month: float
    latency_ms: float
    cpu: float
    memory_gib: float
    concurrency: int
    billing: str  # request | instance
    region: str
    min_instances: int = 0
    max_instances: int = 100
    gpu: int = 0


@dataclass(frozen=True)
class Estimate:
    workload: Workload
    bill: Bill
    usage: Usage
    mean_instances: float
    peak_instances: float

    def to_dict(self) -> dict[str, object]:
        w = self.workload
        return {
            "workload": {
                "requests_per_month": w.requests_per_month,
                "latency_ms": w.latency_ms,
                "cpu": w.cpu,
                "memory_gib": w.memory_gib,
                "concurrency": w.concurrency,
                "billing": w.billing,
                "region": w.region,
                "min_instances": w.min_instances,
                "max_instances": w.max_instances,
            },
            **self.bill.to_dict(),
            "mean_instances": self.mean_instances,
            "peak_instances": self.peak_instances,
        }


def rounding_uplift_s(latency_s: float, step_s: float) -> float:
    """Extra billed seconds per busy period when every period lasts ``latency_s``."""
    if latency_s <= 0:
        return 0.0
    steps = math.ceil(latency_s / step_s - 1e-9)
    return max(0.0, round(steps * step_s - latency_s, 12))


def validate(w: Workload) -> None:
    """Raise CannotEstimate / ValueError for a workload the model cannot or must not price."""
    refuse_gpus(w.gpu, "the workload")
    if not math.isfinite(w.requests_per_month) or w.requests_per_month < 0:
        raise ValueError("requests per month must be zero or more")
    if not math.isfinite(w.latency_ms) or w.latency_ms <= 0:
        raise ValueError("latency must be more than 0 ms")
    reason = forbidden(
        cpu=w.cpu,
        memory_gib=w.memory_gib,
        concurrency=w.concurrency,
        billing=w.billing,
        min_instances=w.min_instances,
        max_instances=w.max_instances,
    )
    if reason:
        raise CannotEstimate(f"Cloud Run does not allow this setting: {reason}")


def usage_of(result: Result, k: int, billing: str) -> Usage:
    """The k-th setting of a replay result as billable usage."""
    return Usage(
        billing=billing,
        active_vcpu_s=float(result.active_vcpu_s[k]),
        active_gib_s=float(result.active_gib_s[k]),
        idle_vcpu_s=float(result.idle_vcpu_s[k]),
        idle_gib_s=float(result.idle_gib_s[k]),
        requests=float(result.served[k]) if billing == "request" else 0.0,
    )


def estimate(
    w: Workload,
    *,
    free_tier: str = "all",
    cud: str | None = None,
    book: prices.PriceBook | None = None,
    params: Params | None = None,
) -> Estimate:
    book = prices.load() if book is None else book
    validate(w)
    book.tier(w.region)  # unknown region: CannotEstimate before any work
    minutes = round(book.month_days * 1440)
    latency_s = w.latency_ms / 1000.0
    traffic = flat(
        requests_per_minute=w.requests_per_month / minutes,
        latency_s=latency_s,
        minutes=minutes,
        start=_EPOCH,
    )
    base = Params() if params is None else params
    run_params = replace(base, rounding_uplift_s=rounding_uplift_s(latency_s, book.rounding_s))
    grid = Grid.of(
        concurrency=w.concurrency,
        min_instances=w.min_instances,
        max_instances=w.max_instances,
        instance_billing=w.billing == "instance",
        cpu=w.cpu,
        memory_gib=w.memory_gib,
    )
    result = replay(traffic, grid, run_params, warm_start=True)
    usage = usage_of(result, 0, w.billing)
    bill = price(usage, book, w.region, free_tier=free_tier, cud=cud)
    return Estimate(
        workload=w,
        bill=bill,
        usage=usage,
        mean_instances=float(result.instance_s[0] / (minutes * 60.0)),
        peak_instances=float(result.peak_instances[0]),
    )
