"""A small hand-built FleetData for the monitoring collector tests, and numpy expectations.

Three revisions of two services in two regions, every metric of docs/facts.md, Metrics, random
values with gaps (NaN / count -1), several raw series per revision where Cloud Run writes
several (response codes, instance states), and all three bucket layouts. The expectations are
computed here from the raw arrays with plain numpy, independently of collectors/.
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
    ServiceSpec,
    TrafficChange,
    TrafficShape,
)

PROJECT = "runwatch-test"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DAYS = 2
P = "run.googleapis.com/"

# (region, service, revision)
REVISIONS = (
    ("europe-west1", "web", "web-00001-abc"),
    ("europe-west1", "web", "web-00002-def"),
    ("us-central1", "api", "api-00007-xyz"),
)
LATENCY = BucketLayout("exponential", num_finite_buckets=40, growth_factor=1.3, scale=1.0)
UTIL = BucketLayout("linear", num_finite_buckets=100, width=0.01, offset=0.0)
CONC = BucketLayout("explicit", bounds=(0, 1, 2, 4, 8, 16, 32, 64, 128, 256))
STARTUP = BucketLayout("exponential", num_finite_buckets=30, growth_factor=1.4, scale=10.0)


def _resource(region: str, service: str, revision: str) -> dict[str, str]:
    return {
        "project_id": PROJECT,
        "service_name": service,
        "revision_name": revision,
        "location": region,
        "configuration_name": service,
    }


def _gappy(rng: np.random.Generator, values: np.ndarray, gap: float) -> np.ndarray:
    out = values.astype(float)
    out[rng.random(values.size) < gap] = np.nan
    return out


def _dist(
    rng: np.random.Generator, layout: BucketLayout, minutes: int, rate: float, mu: float, sd: float
) -> DistributionSeries:
    bounds = layout.upper_bounds()
    nb = layout.num_buckets
    count = rng.poisson(rate, minutes).astype(np.int64)
    buckets = np.zeros((minutes, nb), dtype=np.int64)
    mean = np.zeros(minutes)
    ssd = np.zeros(minutes)
    for i in np.nonzero(count)[0]:
        samples = (
            rng.lognormal(mu, sd, count[i]) if layout is not UTIL else rng.beta(2, 5, count[i])
        )
        idx = np.searchsorted(bounds, samples, side="right")
        buckets[i] = np.bincount(idx, minlength=nb)
        mean[i] = samples.mean()
        ssd[i] = ((samples - mean[i]) ** 2).sum()
    # a gap (no point at all) where nothing happened, half of the time
    gap = (count == 0) & (rng.random(minutes) < 0.5)
    count[gap] = -1
    return DistributionSeries(layout, count, mean, ssd, buckets)


def build_fleet(seed: int = 7) -> FleetData:
    rng = np.random.default_rng(seed)
    start = NOW - timedelta(days=DAYS)
    minutes = DAYS * 24 * 60
    series: list[RawSeries] = []
    for region, service, revision in REVISIONS:
        res = _resource(region, service, revision)
        for code, cls, lam in (("200", "2xx", 30.0), ("204", "2xx", 5.0), ("503", "5xx", 0.3)):
            series.append(
                RawSeries(
                    P + "request_count",
                    "DELTA",
                    "INT64",
                    "1",
                    res,
                    {"response_code": code, "response_code_class": cls},
                    _gappy(rng, rng.poisson(lam, minutes), 0.05),
                )
            )
        for cls, rate in (("2xx", 20.0), ("5xx", 0.5)):
            series.append(
                RawSeries(
                    P + "request_latencies",
                    "DELTA",
                    "DISTRIBUTION",
                    "ms",
                    res,
                    {"response_code_class": cls},
                    _dist(rng, LATENCY, minutes, rate, 4.0, 0.6),
                )
            )
        for state, lam in (("active", 3.0), ("idle", 1.0)):
            series.append(
                RawSeries(
                    P + "container/instance_count",
                    "GAUGE",
                    "INT64",
                    "1",
                    res,
                    {"state": state},
                    _gappy(rng, rng.poisson(lam, minutes), 0.02),
                )
            )
        for suffix, unit, scale in (
            ("container/billable_instance_time", "s", 120.0),
            ("container/cpu/allocation_time", "s", 100.0),
            ("container/memory/allocation_time", "GiBy.s", 50.0),
        ):
            series.append(
                RawSeries(
                    P + suffix,
                    "DELTA",
                    "DOUBLE",
                    unit,
                    res,
                    {},
                    _gappy(rng, rng.gamma(2.0, scale / 2.0, minutes), 0.03),
                )
            )
        for suffix in ("container/cpu/utilizations", "container/memory/utilizations"):
            series.append(
                RawSeries(
                    P + suffix,
                    "DELTA",
                    "DISTRIBUTION",
                    "1",
                    res,
                    {},
                    _dist(rng, UTIL, minutes, 4, 0, 0),
                )
            )
        for state in ("active", "idle"):
            series.append(
                RawSeries(
                    P + "container/max_request_concurrencies",
                    "DELTA",
                    "DISTRIBUTION",
                    "1",
                    res,
                    {"state": state},
                    _dist(rng, CONC, minutes, 3.0, 1.5, 0.8),
                )
            )
        series.append(
            RawSeries(
                P + "container/startup_latencies",
                "DELTA",
                "DISTRIBUTION",
                "ms",
                res,
                {},
                _dist(rng, STARTUP, minutes, 0.2, 7.0, 0.5),
            )
        )
    services = []
    for region, service in sorted({(r, s) for r, s, _ in REVISIONS}):
        revs = tuple(
            RevisionSpec(
                name=rev,
                create_time=start - timedelta(days=1),
                cpu=1.0,
                memory_gib=0.5,
                concurrency=80,
            )
            for r, s, rev in REVISIONS
            if (r, s) == (region, service)
        )
        services.append(
            ServiceSpec(
                name=service,
                region=region,
                revisions=revs,
                traffic=(TrafficChange(at=start, percents={revs[-1].name: 100}),),
                shape=TrafficShape(base_rps=1.0),
            )
        )
    spec = FleetSpec(
        project=PROJECT,
        project_number=123456789012,
        start=start,
        end=NOW,
        services=tuple(services),
        seed=seed,
    )
    return FleetData(spec, series, [], [], {})


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
