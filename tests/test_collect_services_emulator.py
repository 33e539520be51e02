"""SERVICES / REVISIONS / TRAFFIC through the real run_v2 clients against the emulator.

Expected values come from the hand-built FleetSpec (tests/_collect_logs_helpers.py), never from
the collector.
"""

from __future__ import annotations

import pandas as pd

import emulator
from collectors import clients as clients_mod
from collectors import schema
from collectors.rpc import GET_SERVICE, LIST_LOCATIONS, LIST_REVISIONS, LIST_SERVICES
from collectors.services import fetch_config
from tests import _collect_logs_helpers as helpers
from tests._collect_logs_helpers import (
    PROJECT,
    REVS,
    dtypes,
    small_fleet,
)

FLEET = small_fleet(starts_per_revision=2)
REGIONS = sorted({s.region for s in FLEET.spec.services})


emu, clients = helpers.emu, helpers.clients  # serving FLEET


def test_revisions_equal_the_spec(clients: clients_mod.Clients, emu: emulator.Emulator) -> None:
    cfg = fetch_config(clients, [PROJECT])
    for result, frame_schema in (
        (cfg.services, schema.SERVICES),
        (cfg.revisions, schema.REVISIONS),
        (cfg.traffic, schema.TRAFFIC),
    ):
        assert result.quality.complete, result.quality.reasons
        assert dtypes(result.frame) == dict(frame_schema)
    revs = cfg.revisions.frame.set_index("revision")
    assert set(revs.index) == {r.name for _, _, r in REVS}
    for region, svc, spec in REVS:
        row = revs.loc[spec.name]
        assert (row["project_id"], row["location"], row["service"]) == (PROJECT, region, svc)
        assert row["cpu"] == spec.cpu
        assert row["memory_gib"] == spec.memory_gib
        want_conc = spec.concurrency or (80 if spec.cpu >= 1 else 1)
        assert row["concurrency"] == want_conc
        if spec.concurrency == 0:
            assert not row["concurrency_set"]
        elif spec.concurrency != 80:  # the emulator may leave a default 80 unset (both shapes)
            assert row["concurrency_set"]
        assert row["min_instances"] == spec.min_instances
        assert row["max_instances"] == spec.max_instances
        assert row["billing"] == ("request" if spec.cpu_idle else "instance")
        assert row["startup_cpu_boost"] == spec.startup_cpu_boost
        assert row["timeout_s"] == spec.timeout_s
        assert row["create_time"] == pd.Timestamp(spec.create_time)
    calls = emu.calls.snapshot()
    assert calls.get(LIST_LOCATIONS.name) == 1
    assert calls.get(LIST_SERVICES.name) == len(REGIONS)
    assert calls.get(LIST_REVISIONS.name) == len(REGIONS)  # services/- : one per region


def test_services_and_traffic_equal_the_spec(clients: clients_mod.Clients) -> None:
    cfg = fetch_config(clients, [PROJECT])
    svcs = cfg.services.frame.set_index("service")
    assert set(svcs.index) == {s.name for s in FLEET.spec.services}
    traffic = cfg.traffic.frame
    for spec in FLEET.spec.services:
        assert svcs.loc[spec.name, "location"] == spec.region
        newest = max(spec.revisions, key=lambda r: r.create_time).name
        assert svcs.loc[spec.name, "latest_ready_revision"] == newest
        change = spec.traffic[-1]
        rows = traffic[traffic["service"] == spec.name]
        got = {r: int(p) for r, p in zip(rows["revision"], rows["percent"], strict=True) if p}
        assert got == dict(change.percents)
        tags = {r: t for r, t in zip(rows["revision"], rows["tag"], strict=True) if t}
        assert tags == dict(change.tags)


def test_scope_by_service_and_region(clients: clients_mod.Clients, emu: emulator.Emulator) -> None:
    cfg = fetch_config(clients, [PROJECT], regions=["us-central1"], services=["worker"])
    assert list(cfg.services.frame["service"]) == ["worker"]
    assert set(cfg.revisions.frame["service"]) == {"worker"}
    calls = emu.calls.snapshot()
    assert LIST_LOCATIONS.name not in calls  # regions given: no region listing
    # one named service: read on its own, not with the region's listing
    assert LIST_SERVICES.name not in calls
    assert calls[GET_SERVICE.name] == 1
    assert calls[LIST_REVISIONS.name] == 1
    revisions = {r.name for s in emu.fleet.spec.services if s.name == "worker" for r in s.revisions}
    assert set(cfg.revisions.frame["revision"]) == revisions
    empty = fetch_config(clients, [PROJECT], services=["nothing-here"])
    assert empty.revisions.quality.complete
    for result, frame_schema in (
        (empty.services, schema.SERVICES),
        (empty.revisions, schema.REVISIONS),
        (empty.traffic, schema.TRAFFIC),
    ):
        assert result.frame.empty
        assert dtypes(result.frame) == dict(frame_schema)


def test_a_failing_region_leaves_the_others(
    clients: clients_mod.Clients, emu: emulator.Emulator
) -> None:
    seen_partial = False
    for seed in range(12):
        emu.faults.set(f"ListServices:PERMISSION_DENIED@0.5;seed={seed}")
        cfg = fetch_config(clients, [PROJECT])
        failed = {
            r for r in REGIONS if any(n.startswith(f"{r}:") for n in cfg.services.quality.reasons)
        }
        got = set(cfg.services.frame["location"])
        want = {s.region for s in FLEET.spec.services} - failed
        assert got == want
        if failed:
            assert cfg.services.quality.status == "partial"
            assert all("roles/run.viewer" in n for n in cfg.services.quality.reasons)
            assert set(cfg.revisions.frame["location"]) <= want
        if failed and want:
            seen_partial = True
            break
    assert seen_partial, "no seed gave one failing and one working region"


def test_revisions_failure_falls_back_to_templates(
    clients: clients_mod.Clients, emu: emulator.Emulator
) -> None:
    emu.faults.set("ListRevisions:INTERNAL")
    cfg = fetch_config(clients, [PROJECT])
    assert cfg.services.quality.complete
    assert cfg.revisions.quality.status == "partial"
    assert any("templates" in n for n in cfg.revisions.quality.reasons)
    revs = cfg.revisions.frame.set_index("revision")
    for spec in FLEET.spec.services:
        newest = max(spec.revisions, key=lambda r: r.create_time)
        row = revs.loc[newest.name]
        assert row["cpu"] == newest.cpu
        assert row["memory_gib"] == newest.memory_gib
        assert row["billing"] == ("request" if newest.cpu_idle else "instance")
    assert emu.calls.snapshot()[LIST_REVISIONS.name] == 3 * len(REGIONS)  # retried, bounded
