"""Calibration: replay a service's revisions at their current settings, compare with what
Monitoring observed, fit the model's free parameters, and report the error that remains.

Fitted (a small coordinate search, shared by all revisions of the service):
- ``peak_scale``: the multiplier on the Poisson upcrossing rate of each instance-stack level
  (how often within-minute peaks of requests in flight at once need one more instance);
- ``target``: the concurrency utilization target (docs: 60 %);
- idle retention: uniform on [lo, hi] minutes (docs: up to 15).
The objective is the squared relative error of instance-seconds plus that of instance starts
(startup_latencies sample count), plus a small pull towards the documented defaults so that
flat data (a service held at its min instances) keeps them. Then the starts the autoscaling
model cannot explain become a rate of min-instance recycling per min-instance hour when the
service has min instances; without min instances they scale the demand-driven starts
(``autoscaling_starts_scale``, clipped to 0.5-2) and recycling keeps its documented default.

The remaining error is signed, a fraction of observed billable time: (replayed - observed) /
observed, 0.03 = the model bills 3 % more than Monitoring saw. Every estimate carries it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from costmodel.errors import CannotEstimate
from costmodel.replay import Grid, Params, Result, replay
from costmodel.traffic import Config, Traffic

MIN_HOURS = 6.0  # less observed history than this is too thin to calibrate
MIN_REQUESTS = 50
# Min instances are recycled now and then, at no published rate (docs/facts.md, Autoscaling):
# once per 5.5 hours per min instance when the data does not measure it.
DEFAULT_RECYCLE_PER_MIN_INSTANCE_H = 1 / 5.5
DEFAULT_PEAK_SCALE = 0.3  # where the data cannot tell (e.g. a service held at min instances)

PEAK_CHOICES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
TARGET_CHOICES = (0.5, 0.6, 0.7, 0.8)
RETENTION_CHOICES = (
    (1.0, 15.0),
    (1.0, 10.0),
    (1.0, 5.0),
    (5.0, 15.0),
    (10.0, 15.0),
    (15.0, 15.0),
    (3.0, 8.0),
)


@dataclass(frozen=True)
class RevisionInput:
    revision: str
    traffic: Traffic  # trimmed to the revision's active span
    config: Config


@dataclass(frozen=True)
class Calibration:
    params: Params
    billable_error: float  # signed fraction of observed billable time
    instance_error: float  # signed fraction of observed instance-seconds
    starts_error: float  # signed fraction of observed instance starts (NaN when none observed)
    observed_billable_s: float
    replayed_billable_s: float
    observed_starts: float
    replayed_starts: float
    notes: tuple[str, ...] = field(default_factory=tuple)


def current_grid(config: Config) -> Grid:
    return Grid.of(
        concurrency=config.concurrency,
        min_instances=config.min_instances,
        max_instances=config.max_instances,
        instance_billing=config.billing == "instance",
        cpu=config.cpu,
        memory_gib=config.memory_gib,
        startup_cpu_boost=config.startup_cpu_boost,
    )


def check_enough(inputs: list[RevisionInput]) -> None:
    """Raise CannotEstimate when the service's data are too thin to say anything."""
    if not inputs:
        raise CannotEstimate("no revision of the service had traffic or instances in the window")
    requests = sum(float(i.traffic.requests.sum()) for i in inputs)
    hours = sum(i.traffic.minutes for i in inputs) / 60.0
    billable = sum(float(i.traffic.billable_s.sum()) for i in inputs)
    if requests == 0 and billable == 0:
        raise CannotEstimate("the service had no traffic and no billed instances in the window")
    if hours < MIN_HOURS:
        raise CannotEstimate(
            f"only {hours:.1f} hours of traffic were observed (at least {MIN_HOURS:g} are needed)"
        )
    if requests < MIN_REQUESTS:
        raise CannotEstimate(
            f"only {requests:.0f} requests were observed (at least {MIN_REQUESTS} are needed)"
        )


def _run(inputs: list[RevisionInput], params: Params) -> list[Result]:
    return [replay(i.traffic, current_grid(i.config), params) for i in inputs]


def _sums(inputs: list[RevisionInput], results: list[Result]) -> dict[str, float]:
    return {
        "inst": sum(float(r.instance_s[0]) for r in results),
        "inst_obs": sum(float(i.traffic.instances.sum()) * 60.0 for i in inputs),
        "starts": sum(float(r.cold_starts[0]) for r in results),
        "starts_obs": sum(float(i.traffic.starts.sum()) for i in inputs),
        "bill": sum(float(r.billable_s[0] + r.idle_min_s[0]) for r in results),
        "bill_obs": sum(float(i.traffic.billable_s.sum()) for i in inputs),
    }


def _objective(s: dict[str, float], p: Params, base: Params) -> float:
    e_inst = (s["inst"] - s["inst_obs"]) / max(s["inst_obs"], 60.0)
    e_starts = (s["starts"] - s["starts_obs"]) / max(s["starts_obs"], 5.0)
    pull = 0.001 * (
        abs(p.peak_scale - base.peak_scale)
        + abs(p.target - base.target) * 5
        + abs(p.retention_hi_min - base.retention_hi_min) / 15
        + abs(p.retention_lo_min - base.retention_lo_min) / 15
    )
    return e_inst * e_inst + e_starts * e_starts + pull


def calibrate(inputs: list[RevisionInput], base: Params | None = None) -> Calibration:
    """Fit the free parameters to the service's observed series (see the module docstring)."""
    check_enough(inputs)
    if base is None:
        base = Params(recycle_per_min_instance_h=0.0, peak_scale=DEFAULT_PEAK_SCALE)
    best = replace(base, recycle_per_min_instance_h=0.0, background_starts_per_h=0.0)
    best_j = _objective(_sums(inputs, _run(inputs, best)), best, base)
    for _ in range(2):  # coordinate search: z, target, retention; twice
        for cand in (
            [replace(best, peak_scale=z) for z in PEAK_CHOICES]
            + [replace(best, target=t) for t in TARGET_CHOICES]
            + [
                replace(best, retention_lo_min=lo, retention_hi_min=hi)
                for lo, hi in RETENTION_CHOICES
            ]
        ):
            j = _objective(_sums(inputs, _run(inputs, cand)), cand, base)
            if j < best_j - 1e-12:
                best, best_j = cand, j
    s = _sums(inputs, _run(inputs, best))
    notes: list[str] = []
    missing = s["starts_obs"] - s["starts"]
    min_h = sum(
        float(np.minimum(i.traffic.instances, i.config.min_instances).sum()) / 60.0 for i in inputs
    )
    if min_h > 1.0:
        rate = max(missing, 0.0) / min_h
        best = replace(best, recycle_per_min_instance_h=rate)
        notes.append(f"min-instance recycling measured: {rate:.3f} starts per instance-hour")
    else:
        best = replace(best, recycle_per_min_instance_h=DEFAULT_RECYCLE_PER_MIN_INSTANCE_H)
        if s["starts"] > 0 and s["starts_obs"] > 0:
            # Demand-driven starts the model misses or invents scale with demand, not with
            # instance-hours (which min instances would inflate).
            scale = float(np.clip(s["starts_obs"] / s["starts"], 0.5, 2.0))
            best = replace(best, autoscaling_starts_scale=scale)
    s = _sums(inputs, _run(inputs, best))
    bill_err = (s["bill"] - s["bill_obs"]) / s["bill_obs"] if s["bill_obs"] > 0 else float("nan")
    return Calibration(
        params=best,
        billable_error=bill_err,
        instance_error=(s["inst"] - s["inst_obs"]) / s["inst_obs"] if s["inst_obs"] else np.nan,
        starts_error=(s["starts"] - s["starts_obs"]) / s["starts_obs"]
        if s["starts_obs"]
        else float("nan"),
        observed_billable_s=s["bill_obs"],
        replayed_billable_s=s["bill"],
        observed_starts=s["starts_obs"],
        replayed_starts=s["starts"],
        notes=tuple(notes),
    )
