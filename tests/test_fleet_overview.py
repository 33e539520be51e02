"""The overview's data path at fleet scale (collectors.fleet + app_data.views.build_overview),
driven through Google's real clients against generated fleets of 10 and 300 services.

What is checked: the calls an overview costs do not grow with the number of services, it reads
no logs, every "Needs a look" flag agrees with the simulation's ground truth, and a service's
cost is the same figure whether it comes from window totals or from per-period series.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

import config
import emulator
from app_data import views
from collectors import catalog, monitoring
from collectors import clients as clients_mod
from collectors import fleet as fleet_mod
from costmodel import observed, prices
from costmodel.sku_book import PriceSource
from foundation.window import TimeWindow
from scope import Scope

NOW = datetime(2026, 3, 10, 12, 34, 56, tzinfo=UTC)
PROJECTS = ("scale-home", "scale-two", "scale-three")


SCOPING = "scale-ops"  # a scoping project whose metrics scope holds the three


def _start(services: int, projects: tuple[str, ...]) -> Any:
    return emulator.start(
        now=NOW, days=1, seed=11, services=services, projects=projects, scoping_project=SCOPING
    )


@pytest.fixture(scope="module")
def small() -> Iterator[Any]:
    with _start(10, PROJECTS[:1]) as emu:
        yield emu


@pytest.fixture(scope="module")
def big() -> Iterator[Any]:
    with _start(300, PROJECTS) as emu:
        yield emu


def _clients(emu: Any) -> clients_mod.Clients:
    settings = config.load({"RUNWATCH_SOURCE": "demo", "RUNWATCH_EMULATOR_ADDRESS": emu.address})
    return clients_mod.from_settings(settings, emu.address)


def _window(emu: Any) -> TimeWindow:
    end = emu.fleet.spec.end
    return TimeWindow.preset("24h", end.replace(second=0, microsecond=0))


def _overview(
    emu: Any, project: str, chart: bool = True
) -> tuple[fleet_mod.FleetBundle, dict[str, int]]:
    """The overview's table data, and the calls of its table (and chart) together."""
    c = _clients(emu)
    before = emu.calls.snapshot()
    bundle = fleet_mod.collect_fleet(c, [project], _window(emu))
    if chart:
        fleet_mod.collect_trend(c, [project], _window(emu))
    after = emu.calls.snapshot()
    return bundle, {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def _method(calls: dict[str, int], name: str) -> int:
    return sum(n for k, n in calls.items() if k.endswith("/" + name))


def test_an_overview_costs_the_same_calls_for_10_or_300_services(small: Any, big: Any) -> None:
    bundle_10, calls_10 = _overview(small, PROJECTS[0])
    bundle_300, calls_300 = _overview(big, PROJECTS[0])
    assert bundle_10.errors == bundle_300.errors == ()
    services_10 = set(bundle_10.frames["services"].frame["service"])
    services_300 = set(bundle_300.frames["services"].frame["service"])
    spec = big.fleet.spec
    home = {s.name for s in spec.services if spec.project_of(s) == PROJECTS[0]}
    assert len(services_10) == 10
    assert services_300 == home
    assert 90 < len(home) < 300
    # no logs at all, and one Monitoring query per metric: window totals, the trend and the
    # detail of the canary and min-instance services (one filter each, however many there are)
    assert not any("Logging" in k for k in calls_300), calls_300
    assert _method(calls_10, "ListTimeSeries") == _method(calls_300, "ListTimeSeries")
    detail_300 = set(bundle_300.canaries) | set(bundle_300.warm)
    assert len(detail_300) > len(set(bundle_10.canaries) | set(bundle_10.warm)) > 0
    # the Admin API: one ListServices and ListRevisions page chain per region with services,
    # the regions learnt from Monitoring (where instances ran), not from ListLocations
    regions = set(bundle_300.frames["services"].frame["location"])
    assert _method(calls_300, "ListServices") == len(regions)
    assert _method(calls_300, "ListLocations") == 0


def test_without_metrics_the_configuration_is_read_in_every_region(small: Any) -> None:
    small.faults.set("ListTimeSeries:UNAVAILABLE")
    try:
        bundle, calls = _overview(small, PROJECTS[0], chart=False)
    finally:
        small.faults.clear()
    assert _method(calls, "ListLocations") == 1  # where services run is unknown: ask everywhere
    assert len(bundle.frames["services"].frame) == 10
    assert bundle.frames["totals"].quality.status == "partial"


def test_each_project_reads_only_its_own_services(big: Any) -> None:
    seen = {}
    for project in PROJECTS:
        bundle, _ = _overview(big, project)
        frame = bundle.frames["totals"].frame
        assert set(frame["project_id"]) == {project}
        seen[project] = set(bundle.frames["services"].frame["service"])
    assert sum(len(s) for s in seen.values()) == 300
    assert not set.intersection(*seen.values())


def _table(emu: Any, project: str) -> tuple[pd.DataFrame, fleet_mod.FleetBundle]:
    bundle, _ = _overview(emu, project)
    w = _window(emu)
    detail = views.digest(bundle.frames, w, bundle.warm, prices.load())
    scope = Scope(project=project)
    trend = views.build_trend(scope, fleet_mod.collect_trend(_clients(emu), [project], w), w)
    view = views.build_overview(scope, bundle.frames, w, detail, trend, PriceSource(prices.load()))
    return view.table, bundle


def test_flags_match_the_simulation(big: Any) -> None:
    table, _ = _table(big, PROJECTS[0])
    w = _window(big).settled()
    spec = big.fleet.spec
    mine = {s.name: s for s in spec.services if spec.project_of(s) == PROJECTS[0]}
    rejected = {
        e.service
        for e in big.fleet.request_events
        if e.status == 429 and w.start <= e.timestamp < w.end and e.service in mine
    }
    # reached max instances: where the raw active-instance series (numpy) reached the
    # revision's max in a minute of the window; every service with 429s is among them
    first = int((w.start - spec.start).total_seconds() // 60)
    last = int((w.end - spec.start).total_seconds() // 60)
    limits = {r.name: r.max_instances for s in mine.values() for r in s.revisions}
    reached = {
        s.resource_labels["service_name"]
        for s in big.fleet.series
        if s.metric_type == "run.googleapis.com/container/instance_count"
        and s.metric_labels["state"] == "active"
        and s.resource_labels["service_name"] in mine
        and np.nanmax(np.append(s.values[first:last], 0))
        >= limits[s.resource_labels["revision_name"]]
    }
    flags = table.set_index("service")["flags"]
    at_max = set(flags[flags.str.contains("hits max instances")].index)
    assert rejected
    assert rejected <= at_max
    assert at_max == reached
    # a canary is called a regression only where the simulation made it worse
    regressed = {
        n for n, s in mine.items() if "slower" in s.story or "ten times the 5xx" in s.story
    }
    called = set(flags[flags.str.contains("regressed against")].index)
    assert called
    assert called <= regressed | {"checkout-api"}
    # idle min instances are flagged only for services holding min instances
    warm = {n for n, s in mine.items() if any(r.min_instances for r in s.revisions)}
    idle = set(flags[flags.str.contains("idle min instances cost")].index)
    assert idle
    assert idle <= warm


def test_cost_from_totals_equals_cost_from_per_period_series(small: Any) -> None:
    table, bundle = _table(small, PROJECTS[0])
    w = _window(small)
    c = _clients(small)
    # every service's per-period series, as the service's own pages read them
    points = monitoring.fetch_metrics(c, [PROJECTS[0]], w, None, catalog.FLEET_VIEW).frame
    revisions = bundle.frames["revisions"].frame
    per_period = observed.service_costs(
        observed.observed_costs(points, revisions, start=w.start, end=w.end, period_s=60)
    ).set_index("service")["total"]
    shown = table.set_index("service")["observed_cost"]
    assert set(shown.index) == set(per_period.index)
    from_totals = set(shown.index) - set(bundle.warm)
    assert from_totals, "some services are priced from window totals"
    for service in shown.index:
        assert shown[service] == pytest.approx(per_period[service], rel=1e-9, abs=1e-9), service


def test_a_metrics_scope_gives_every_project_in_one_query_per_metric(big: Any) -> None:
    c = _clients(big)
    w = _window(big)

    def counted(**kw: str) -> tuple[dict[str, pd.DataFrame], int]:
        before = big.calls.snapshot()
        got = fleet_mod.collect_fleet(c, list(PROJECTS), w, **kw)
        trend = fleet_mod.collect_trend(c, list(PROJECTS), w, **kw)
        after = big.calls.snapshot()
        calls = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
        frames = {n: r.frame for n, r in got.frames.items()} | {"trend": trend.frame}
        return frames, _method(calls, "ListTimeSeries")

    apart, per_project = counted()
    scoped, through_scope = counted(metrics_project=SCOPING)
    # the scoping project answers each query for the three projects at once (more pages each)
    assert through_scope < per_project
    # the fleet-wide histogram: merged over the three projects by the scoping project
    fleet = "startup_latencies_fleet"

    def starts(frame: pd.DataFrame) -> float:
        rows = frame[(frame["metric"] == fleet) & (frame["stat"] == "count")]
        return float(rows["value"].sum())

    a_totals, b_totals = apart["totals"], scoped["totals"]
    assert len(b_totals[(b_totals["metric"] == fleet) & (b_totals["stat"] == "count")]) == 1
    assert starts(b_totals) == starts(a_totals) > 0
    for part in ("totals", "trend", "canary", "warm"):
        a, b = apart[part], scoped[part]
        a, b = a[a["metric"] != fleet], b[b["metric"] != fleet]
        keys = [c for c in a.columns if c != "value"]
        a, b = a.sort_values(keys, ignore_index=True), b.sort_values(keys, ignore_index=True)
        assert set(b["project_id"]) == set(PROJECTS)
        pd.testing.assert_frame_equal(a, b)
