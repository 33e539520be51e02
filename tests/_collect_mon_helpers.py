"""A small hand-built FleetData for the monitoring collector tests, and numpy expectations.

Three revisions of two services in two regions, every metric of docs/facts.md, Metrics, random
values with gaps (NaN / count -1), several raw series per revision where Cloud Run writes
several (response codes, instance states), and all three bucket layouts, assembled with
tests/_fleet_builder.py. The expectations are computed here from the raw arrays with plain
numpy, independently of collectors/.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from emulator.sim.model import (
    BucketLayout,
    DistributionSeries,
    FleetData,
    FleetSpec,
    RawSeries,
    RevisionSpec,
)
from tests._fleet_builder import (
    Place,
    beta,
    distribution,
    double_delta,
    fleet,
    gappy,
    instance_count,
    latest_traffic,
    lognormal,
    places,
    poisson_dist,
    request_count,
    resource,
    services,
)

PROJECT = "runwatch-test"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DAYS = 2
START = NOW - timedelta(days=DAYS)

# (region, service, revision)
REVISIONS = (
    ("europe-west1", "web", "web-00001-abc"),
    ("europe-west1", "web", "web-00002-def"),
    ("us-central1", "api", "api-00007-xyz"),
)


def _revision(name: str) -> RevisionSpec:
    return RevisionSpec(name, START - timedelta(days=1), cpu=1.0, memory_gib=0.5, concurrency=80)


TABLE = tuple((region, svc, _revision(rev)) for region, svc, rev in REVISIONS)
LATENCY = BucketLayout("exponential", num_finite_buckets=40, growth_factor=1.3, scale=1.0)
UTIL = BucketLayout("linear", num_finite_buckets=100, width=0.01, offset=0.0)
CONC = BucketLayout("explicit", bounds=(0, 1, 2, 4, 8, 16, 32, 64, 128, 256))
STARTUP = BucketLayout("exponential", num_finite_buckets=30, growth_factor=1.4, scale=10.0)


def build_fleet(seed: int = 7) -> FleetData:
    rng = np.random.default_rng(seed)
    minutes = DAYS * 24 * 60
    series = [s for place in places(TABLE) for s in _revision_series(rng, place, minutes)]
    svcs = services(TABLE, latest_traffic(START), base_rps=1.0)
    return fleet(FleetSpec(PROJECT, 123456789012, START, NOW, svcs, seed), series)


def _revision_series(rng: np.random.Generator, place: Place, minutes: int) -> list[RawSeries]:
    res = resource(PROJECT, place)
    out = [
        request_count(res, code, cls, gappy(rng, rng.poisson(lam, minutes), 0.05))
        for code, cls, lam in (("200", "2xx", 30.0), ("204", "2xx", 5.0), ("503", "5xx", 0.3))
    ]
    out += [
        distribution(
            res,
            "request_latencies",
            "ms",
            poisson_dist(rng, LATENCY, minutes, rate, lognormal(4.0, 0.6)),
            response_code_class=cls,
        )
        for cls, rate in (("2xx", 20.0), ("5xx", 0.5))
    ]
    out += [
        instance_count(res, state, gappy(rng, rng.poisson(lam, minutes), 0.02))
        for state, lam in (("active", 3.0), ("idle", 1.0))
    ]
    out += [
        double_delta(res, metric, unit, gappy(rng, rng.gamma(2.0, scale / 2.0, minutes), 0.03))
        for metric, unit, scale in (
            ("container/billable_instance_time", "s", 120.0),
            ("container/cpu/allocation_time", "s", 100.0),
            ("container/memory/allocation_time", "GiBy.s", 50.0),
        )
    ]
    out += [
        distribution(res, metric, "1", poisson_dist(rng, UTIL, minutes, 4, beta(2, 5)))
        for metric in ("container/cpu/utilizations", "container/memory/utilizations")
    ]
    out += [
        distribution(
            res,
            "container/max_request_concurrencies",
            "1",
            poisson_dist(rng, CONC, minutes, 3.0, lognormal(1.5, 0.8)),
            state=state,
        )
        for state in ("active", "idle")
    ]
    startup = poisson_dist(rng, STARTUP, minutes, 0.2, lognormal(7.0, 0.5))
    out.append(distribution(res, "container/startup_latencies", "ms", startup))
    return out


def minute_ends(fleet: FleetData) -> np.ndarray:
    """Epoch seconds at which raw minute i ends."""
    t0 = int(fleet.spec.start.timestamp())
    return t0 + 60 * (np.arange(fleet.spec.minutes, dtype=np.int64) + 1)


def expected_sums(
    fleet: FleetData, metric_type: str, label: str = ""
) -> dict[tuple[str, str, str, int], float]:
    """(revision, label value, ..., minute end) -> numpy sum over the raw series (NaN-aware).

    Key: (revision, metric label value or "", "", end seconds); absent where every series has a
    gap at that minute (a gap stays a gap).
    """
    ends = minute_ends(fleet)
    groups: dict[tuple[str, str], list[np.ndarray]] = {}
    for s in fleet.series:
        if s.metric_type != metric_type:
            continue
        key = (s.resource_labels["revision_name"], s.metric_labels.get(label, "") if label else "")
        assert isinstance(s.values, np.ndarray)
        groups.setdefault(key, []).append(s.values.astype(float))
    out: dict[tuple[str, str, str, int], float] = {}
    for (rev, lab), arrays in groups.items():
        m = np.vstack(arrays)
        present = ~np.isnan(m).all(axis=0)
        total = np.nansum(m, axis=0)
        for i in np.nonzero(present)[0]:
            out[(rev, lab, "", int(ends[i]))] = float(total[i])
    return out


def merged_buckets(
    fleet: FleetData, metric_type: str, label: str = ""
) -> dict[tuple[str, str], tuple[BucketLayout, np.ndarray, np.ndarray, np.ndarray]]:
    """(revision, label) -> (layout, count (minutes,), weighted mean, merged bucket counts)."""
    acc: dict[tuple[str, str], list[DistributionSeries]] = {}
    for s in fleet.series:
        if s.metric_type != metric_type:
            continue
        key = (s.resource_labels["revision_name"], s.metric_labels.get(label, "") if label else "")
        assert isinstance(s.values, DistributionSeries)
        acc.setdefault(key, []).append(s.values)
    out = {}
    for key, ds in acc.items():
        present = np.vstack([d.count >= 0 for d in ds]).any(axis=0)
        cnt = np.vstack([np.maximum(d.count, 0) for d in ds]).sum(axis=0)
        wsum = np.vstack([np.maximum(d.count, 0) * d.mean for d in ds]).sum(axis=0)
        mean = np.divide(wsum, cnt, out=np.zeros_like(wsum), where=cnt > 0)
        buckets = np.sum([d.bucket_counts * (d.count >= 0)[:, None] for d in ds], axis=0)
        cnt = np.where(present, cnt, -1)
        out[key] = (ds[0].layout, cnt, mean, buckets)
    return out
