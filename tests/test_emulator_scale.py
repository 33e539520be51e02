"""The emulator at any size: generated fleets (emulator.sim.fleetgen), several projects and a
metrics scope, driven through Google's real clients over loopback gRPC (a fleet of many small
services over one day keeps it fast); the per-minute model and its packed series are in
test_emulator_fluid.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from _emulator_helpers import (
    logging_client,
    monitoring_client,
    revisions_client,
    series_key,
    series_values,
    services_client,
)
from google.api_core import exceptions
from google.cloud import monitoring_v3

import emulator
from emulator.__main__ import main as emulator_main
from emulator.sim.fleet import simulate
from emulator.sim.fleetgen import build_fleet, kinds
from emulator.sim.model import (
    ServiceSpec,
    SimSettings,
)
from emulator.sim.scenarios import demo_fleet
from emulator.sim.truth import ground_truth

NOW = datetime(2026, 3, 10, 12, 34, 56, tzinfo=UTC)
PROJECTS = ("scale-home", "scale-two", "scale-three")
SCOPE = "scale-ops"  # a scoping project with no services of its own
N = 300
RC = "run.googleapis.com/request_count"
LAT = "run.googleapis.com/request_latencies"
BILL = "run.googleapis.com/container/billable_instance_time"
A = monitoring_v3.Aggregation


@pytest.fixture(scope="module")
def big() -> Iterator[emulator.Emulator]:
    with emulator.start(
        now=NOW, days=1, seed=11, services=N, projects=PROJECTS, scoping_project=SCOPE
    ) as emu:
        yield emu


def _now_traffic(svc: ServiceSpec, end: datetime) -> dict[str, int]:
    current = svc.traffic[0]
    for t in svc.traffic:
        if t.at <= end:
            current = t
    return {r: p for r, p in current.percents.items() if p > 0}


def _current_revisions(svc: ServiceSpec, end: datetime) -> list[Any]:
    serving = _now_traffic(svc, end)
    return [r for r in svc.revisions if r.name in serving]


def _by_service(
    client: monitoring_v3.MetricServiceClient, project: str, metric: str, end: datetime
) -> list[monitoring_v3.TimeSeries]:
    return list(
        client.list_time_series(
            request={
                "name": f"projects/{project}",
                "filter": f'metric.type = "{metric}"',
                "interval": {"start_time": end - timedelta(days=1), "end_time": end},
                "aggregation": {
                    "alignment_period": {"seconds": 3600},
                    "per_series_aligner": A.Aligner.ALIGN_DELTA,
                    "cross_series_reducer": A.Reducer.REDUCE_SUM,
                    "group_by_fields": ["resource.label.service_name"],
                },
            }
        )
    )


def test_default_fleet_is_the_demo() -> None:
    assert build_fleet(NOW, days=2, seed=5) == demo_fleet(NOW, days=2, seed=5)
    assert build_fleet(NOW, days=2, seed=5, services=7) == demo_fleet(NOW, days=2, seed=5)
    small = build_fleet(NOW, days=2, seed=5, services=3)
    assert [s.name for s in small.services] == ["checkout-api", "web-frontend", "admin-tool"]


def test_generator_is_seeded_and_varied() -> None:
    spec = build_fleet(NOW, days=1, seed=11, services=N, projects=PROJECTS)
    assert spec == build_fleet(NOW, days=1, seed=11, services=N, projects=PROJECTS)
    other = build_fleet(NOW, days=1, seed=12, services=N, projects=PROJECTS)
    assert [s.shape for s in other.services[7:]] != [s.shape for s in spec.services[7:]]
    # a prefix of a bigger fleet is the smaller fleet
    assert (
        build_fleet(NOW, days=1, seed=11, services=40, projects=PROJECTS).services
        == (spec.services[:40])
    )
    gen = spec.services[7:]
    assert len(spec.services) == N
    assert len({(s.region, s.name) for s in spec.services}) == N
    assert all(s.background for s in gen)
    assert not any(s.background for s in spec.services[:7])
    assert {spec.project_of(s) for s in gen} == set(PROJECTS)
    assert len({s.region for s in gen}) >= 4
    rps = [s.shape.base_rps for s in gen]
    assert min(rps) < 0.01
    assert max(rps) > 100
    count = kinds(spec)
    assert count["demo"] == 7
    assert all(count.get(k, 0) >= 5 for k in ("canary", "min_idle"))
    canaries = [s for s in gen if len(_now_traffic(s, spec.end)) == 2]
    with_min = [s for s in gen if any(r.min_instances for r in _current_revisions(s, spec.end))]
    instance_billed = [s for s in gen if any(not r.cpu_idle for r in s.revisions)]
    daily = [s for s in gen if s.shape.daily_amplitude > 0.5]
    bursty = [s for s in gen if s.shape.bursts_per_day > 0]
    assert len(canaries) >= 15
    assert len(with_min) >= 15
    assert len(instance_billed) >= 15
    assert len(daily) >= 30
    assert len(bursty) >= 20
    assert len({r.cpu for s in gen for r in s.revisions}) >= 3
    assert len({r.concurrency for s in gen for r in s.revisions}) >= 5
    assert len({r.memory_gib for s in gen for r in s.revisions}) >= 4


def test_fleet_stories_happen(big: emulator.Emulator) -> None:
    """What the generator intends shows in the simulation: 429s at max instances, paid idle
    min instances, canaries serving next to their stable revision, scale to zero."""
    data = big.fleet
    spec = data.spec
    gen = {(s.region, s.name): s for s in spec.services[7:]}
    rejecting = [k for k in gen if data.truth[k].rejected_requests > 0]
    assert len(rejecting) >= 5
    assert all(gen[k].labels["kind"] == "at_max" for k in rejecting)
    idle_paid = [k for k in gen if data.truth[k].idle_vcpu_seconds > 3600]
    assert len(idle_paid) >= 5
    served_by: dict[tuple[str, str], set[str]] = {}
    for s in data.series:
        if s.metric_type == RC:
            key = (s.resource_labels["location"], s.resource_labels["service_name"])
            v = s.values
            assert isinstance(v, np.ndarray)
            if np.nansum(v[-60:]) > 0:
                served_by.setdefault(key, set()).add(s.resource_labels["revision_name"])
    split = [k for k, s in gen.items() if s.labels["kind"] == "canary" and len(served_by[k]) > 1]
    assert len(split) >= 10
    quiet = [k for k, s in gen.items() if s.labels["kind"] == "quiet"]
    assert sum(data.truth[k].cold_starts > 10 for k in quiet) >= 10


def test_demo_services_unchanged_in_a_big_fleet(big: emulator.Emulator) -> None:
    demo = simulate(demo_fleet(NOW, days=1, seed=11, project=PROJECTS[0]))
    names = {s.name for s in demo.spec.services}
    mine = {
        series_key(s): s for s in big.fleet.series if s.resource_labels["service_name"] in names
    }
    theirs = {series_key(s): s for s in demo.series}
    assert mine.keys() == theirs.keys()
    for key, s in theirs.items():
        for a, b in zip(series_values(s), series_values(mine[key]), strict=True):
            np.testing.assert_array_equal(a, b)
    for key, truth in demo.truth.items():
        assert big.fleet.truth[key] == truth
    demo_events = [e for e in big.fleet.instance_events if e.service in names]
    assert demo_events == demo.instance_events


def test_projects_answer_separately(big: emulator.Emulator) -> None:
    spec = big.fleet.spec
    sc, rc = services_client(big.address), revisions_client(big.address)
    mc, lc = monitoring_client(big.address), logging_client(big.address)
    regions = sorted({s.region for s in spec.services})
    seen: set[str] = set()
    for project in PROJECTS:
        expect = {s.name for s in spec.services if spec.project_of(s) == project}
        got = set()
        for region in regions:
            for svc in sc.list_services(parent=f"projects/{project}/locations/{region}"):
                assert svc.name.startswith(f"projects/{project}/locations/{region}/services/")
                got.add(svc.name.rsplit("/", 1)[1])
        assert got == expect
        seen |= got
        one = sorted(expect)[0]
        region = next(s.region for s in spec.services if s.name == one)
        revs = list(rc.list_revisions(parent=f"projects/{project}/locations/{region}/services/-"))
        assert revs
        assert all(r.name.startswith(f"projects/{project}/") for r in revs)
        series = _by_service(mc, project, RC, spec.end)
        assert {ts.resource.labels["project_id"] for ts in series} == {project}
        assert {ts.resource.labels["service_name"] for ts in series} <= expect
        assert len(series) >= len(expect) // 2  # most services served requests
        entries = list(
            lc.list_log_entries(
                request={
                    "resource_names": [f"projects/{project}"],
                    "filter": f'timestamp >= "{(spec.end - timedelta(hours=3)).isoformat()}"',
                    "page_size": 1000,
                }
            )
        )
        assert entries
        assert {e.resource.labels["project_id"] for e in entries} == {project}
        assert all(e.log_name.startswith(f"projects/{project}/logs/") for e in entries)
        assert {e.resource.labels["service_name"] for e in entries} <= expect
    assert len(seen) == N
    # the project's number works like its id; a project outside the fleet is refused
    number = spec.number_of(PROJECTS[1])
    assert len(list(sc.list_services(parent=f"projects/{number}/locations/{regions[0]}"))) == len(
        list(sc.list_services(parent=f"projects/{PROJECTS[1]}/locations/{regions[0]}"))
    )
    with pytest.raises(exceptions.PermissionDenied):
        list(sc.list_services(parent=f"projects/elsewhere/locations/{regions[0]}"))
    with pytest.raises(exceptions.PermissionDenied):
        _by_service(mc, "elsewhere", RC, spec.end)
    with pytest.raises(exceptions.PermissionDenied):
        list(lc.list_log_entries(request={"resource_names": ["projects/elsewhere"]}))


def test_scoping_project_reads_every_project(big: emulator.Emulator) -> None:
    spec = big.fleet.spec
    mc = monitoring_client(big.address)
    project_of = {s.name: spec.project_of(s) for s in spec.services}
    scoped = _by_service(mc, SCOPE, BILL, spec.end)
    labels = {ts.resource.labels["service_name"]: ts.resource.labels["project_id"] for ts in scoped}
    assert set(labels.values()) == set(PROJECTS)
    assert labels == {name: project_of[name] for name in labels}
    per_project = {
        ts.resource.labels["service_name"]: ts
        for p in PROJECTS
        for ts in _by_service(mc, p, BILL, spec.end)
    }
    assert labels.keys() == per_project.keys()
    for ts in scoped[:20]:
        mine = per_project[ts.resource.labels["service_name"]]
        assert [p.value.double_value for p in ts.points] == [
            p.value.double_value for p in mine.points
        ]
    # a project of the fleet still reads its own series only (no scope was set on it)
    assert {ts.resource.labels["project_id"] for ts in _by_service(mc, PROJECTS[2], BILL, spec.end)}
    # grouped across projects (no group-by field), project_id is not one project's
    total = list(
        mc.list_time_series(
            request={
                "name": f"projects/{SCOPE}",
                "filter": f'metric.type = "{BILL}"',
                "interval": {"start_time": spec.end - timedelta(days=1), "end_time": spec.end},
                "aggregation": {
                    "alignment_period": {"seconds": 86400},
                    "per_series_aligner": A.Aligner.ALIGN_DELTA,
                    "cross_series_reducer": A.Reducer.REDUCE_SUM,
                },
            }
        )
    )
    assert len(total) == 1
    assert "project_id" not in total[0].resource.labels
    assert total[0].points[0].value.double_value == pytest.approx(
        sum(p.value.double_value for ts in scoped for p in ts.points), rel=1e-9
    )


def test_location_dash_is_refused_and_locations_listed(big: emulator.Emulator) -> None:
    sc, rc = services_client(big.address), revisions_client(big.address)
    for project in PROJECTS:
        with pytest.raises(exceptions.InvalidArgument):
            list(sc.list_services(parent=f"projects/{project}/locations/-"))
        with pytest.raises(exceptions.InvalidArgument):
            list(rc.list_revisions(parent=f"projects/{project}/locations/-/services/-"))
    import grpc
    from google.cloud.location import locations_pb2

    call = grpc.insecure_channel(big.address).unary_unary(
        "/google.cloud.location.Locations/ListLocations",
        request_serializer=locations_pb2.ListLocationsRequest.SerializeToString,
        response_deserializer=locations_pb2.ListLocationsResponse.FromString,
    )
    regions = sorted({s.region for s in big.fleet.spec.services})
    for project in PROJECTS:
        locs = call(locations_pb2.ListLocationsRequest(name=f"projects/{project}"))
        assert [loc.location_id for loc in locs.locations] == regions
        assert all(loc.name.startswith(f"projects/{project}/locations/") for loc in locs.locations)


def test_truth_of_background_services(big: emulator.Emulator) -> None:
    data = big.fleet
    spec = data.spec
    at_max = next(
        s
        for s in spec.services
        if s.background and s.labels["kind"] == "at_max"
        if data.truth[(s.region, s.name)].rejected_requests > 0
    )
    key = (at_max.region, at_max.name)
    assert ground_truth(spec, *key, SimSettings()) == data.truth[key]
    more = max(r.max_instances for r in at_max.revisions) * 4
    roomy = ground_truth(spec, *key, SimSettings(max_instances=more))
    assert roomy.rejected_requests < data.truth[key].rejected_requests / 4
    assert roomy.requests > data.truth[key].requests


def test_cli_refuses_bad_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    assert emulator_main(["--services", "0"]) == 2
    assert "services must be between" in capsys.readouterr().err
    assert emulator_main(["--services", "9", "--projects", "a,a"]) == 2
    assert "distinct" in capsys.readouterr().err
