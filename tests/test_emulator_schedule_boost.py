"""The ground truth's re-simulation under a min schedule and with startup CPU boost on or off.

Schedules: the floor per second follows the schedule's windows (aligned with the window's
seconds), instances start for the windows (MANUAL_OR_CUSTOMER_MIN_INSTANCE) and fall back to
ordinary idle instances after them, idle min-instance billing stays inside the windows, and a
constant schedule is the scalar min instances exactly. Boost: starts shorter by
STARTUP_CPU_BOOST_FACTOR and the extra vCPU billed until 10 s after ready (UNCONFIRMED; checked
against a computation of its own over the lifetimes, and in the cpu/allocation_time series).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import timedelta

import numpy as np
import pytest

from emulator.sim import truth as truth_mod
from emulator.sim.arrivals import traffic_timeline
from emulator.sim.fleet import simulate
from emulator.sim.fleetgen import build_fleet
from emulator.sim.fluid import FluidRun, simulate_fluid_service
from emulator.sim.instances import (
    AUTOSCALING,
    IDLE_RETENTION_MAX_S,
    MIN_INSTANCE,
    PREEXISTING,
    RECYCLE_OVERLAP_S,
    STARTUP_CPU_BOOST_FACTOR,
    Lifetimes,
    boost_vcpu_per_minute,
    boosted_vcpu,
    build_lifetimes,
    floor_pieces,
    per_second_counts,
)
from emulator.sim.model import FleetSpec, RawSeries, ServiceSpec, SimSettings
from emulator.sim.revision import RevisionRun
from emulator.sim.scenarios import demo_fleet, with_services
from emulator.sim.series import revision_series
from emulator.sim.service import addressable_seconds, simulate_service
from emulator.sim.truth import ground_truth
from emulator.sim.util import rng_for
from foundation.min_schedule import MinSchedule
from tests._fleet_helpers import NOW

EU, ASIA = "europe-west1", "asia-southeast1"
WEEKDAYS = "2@mon-fri 08:00-20:00"
CPU_ALLOCATION = "run.googleapis.com/container/cpu/allocation_time"
BILLABLE = "run.googleapis.com/container/billable_instance_time"


@pytest.fixture(scope="module")
def spec() -> FleetSpec:
    # runwatch: tiny traffic, max 2, never needs a second instance for its requests (one
    # instance takes 80 at once): every second instance is the schedule's
    return with_services(
        demo_fleet(NOW, days=7), {"runwatch", "checkout-api", "admin-tool", "notify-mailer"}
    )


def _svc(spec: FleetSpec, name: str) -> ServiceSpec:
    return next(s for s in spec.services if s.name == name)


def _weekdays(base: int = 0) -> MinSchedule:
    return MinSchedule.parse(WEEKDAYS, base=base)


def _expected_floor(spec: FleetSpec) -> np.ndarray:
    """2 on weekdays 08:00-20:00 UTC, else 0, per second of the window (by hand, from the
    calendar: not through MinSchedule.floors)."""
    out = np.zeros(spec.minutes, dtype=np.int32)
    for m in range(spec.minutes):
        t = spec.start + timedelta(minutes=m)
        out[m] = 2 if t.weekday() < 5 and 8 <= t.hour < 20 else 0
    return np.repeat(out, 60)


def _addressable(fleet: FleetSpec, svc: ServiceSpec) -> list[np.ndarray]:
    """Per revision, the seconds it is addressable (has traffic or a tag): min instances, and
    so the schedule's floor, apply only then."""
    tl = traffic_timeline(svc, fleet.start)
    n = fleet.minutes * 60
    return [
        addressable_seconds(tl, i, (rev.create_time - fleet.start).total_seconds(), n)
        for i, rev in enumerate(svc.revisions)
    ]


@pytest.fixture(scope="module")
def scheduled(spec: FleetSpec) -> list[tuple[RevisionRun, np.ndarray]]:
    """(run, addressable seconds) of every runwatch revision under the weekday schedule, base 0."""
    svc = _svc(spec, "runwatch")
    runs = simulate_service(spec, svc, SimSettings(min_schedule=_weekdays()))
    return list(zip(runs, _addressable(spec, svc), strict=True))


def _lives(start: list[float], end: list[float], level: list[int]) -> Lifetimes:
    k = len(start)
    return Lifetimes(
        start=np.array(start),
        ready=np.array(start),
        end=np.array(end),
        level=np.array(level, dtype=np.int32),
        reason=np.full(k, AUTOSCALING, dtype=np.int8),
        oom_end=np.zeros(k, dtype=bool),
        startup_ms=np.zeros(k),
    )


def test_min_instance_pieces_of_hand_made_lives() -> None:
    floor = np.repeat(np.array([0, 2, 1], dtype=np.int32), [120, 180, 300])  # 600 s
    lt = _lives([60.0, 100.0, 310.0, 0.0], [500.0, 400.0, 320.0, 600.0], [1, 2, 2, 3])
    s, e = floor_pieces(lt, floor)
    np.testing.assert_array_equal(s, [120.0, 120.0])  # level 1 from 120 s, level 2 until 300 s
    np.testing.assert_array_equal(e, [500.0, 300.0])
    gap = np.repeat(np.array([1, 0, 1], dtype=np.int32), [100, 100, 100])
    s, e = floor_pieces(_lives([50.0], [250.0], [1]), gap)
    np.testing.assert_array_equal(s, [50.0, 200.0])
    np.testing.assert_array_equal(e, [100.0, 250.0])
    s, e = floor_pieces(lt, np.full(600, 2, dtype=np.int32))  # constant: whole lives
    np.testing.assert_array_equal(s, [60.0, 100.0, 310.0])
    np.testing.assert_array_equal(e, [500.0, 400.0, 320.0])


def _one_level(floor: np.ndarray, seed: int) -> Lifetimes:
    """Lives of a revision whose traffic always needs one instance, under ``floor``."""
    n = len(floor)
    return build_lifetimes(
        np.ones(n, dtype=np.int32), np.array([np.inf]), -1.0, floor, np.ones(n, dtype=bool),
        np.zeros(0), 1000.0, False, 0.0, np.random.default_rng(seed),
    )  # fmt: skip


def test_recycling_follows_the_floor() -> None:
    hour = 3600
    n = 48 * hour
    # no floor: one instance, running before the window, never recycled
    assert len(_one_level(np.zeros(n, dtype=np.int32), 1)) == 1
    for seed in range(5):
        # the floor rises to the running instance after an hour: recycled from then on
        # (every 3-8 hours: MANUAL_OR_CUSTOMER_MIN_INSTANCE starts)
        rises = np.where(np.arange(n) >= hour, 1, 0).astype(np.int32)
        lt = _one_level(rises, seed)
        recycled = lt.start[lt.reason == MIN_INSTANCE]
        assert len(recycled) >= 5
        assert recycled[0] >= hour + 3 * hour - 1e-6
        assert recycled[0] <= hour + 8 * hour + 1e-6
        assert lt.reason[0] == PREEXISTING
        # the floor holds the instance for six hours only: no recycling after that
        drops = np.where(np.arange(n) < 6 * hour, 1, 0).astype(np.int32)
        lt = _one_level(drops, seed)
        assert np.all(lt.start[lt.reason == MIN_INSTANCE] < 6 * hour)
        # ... and again from 20 h on (the next window): the clock starts again then
        again = np.where((np.arange(n) < 6 * hour) | (np.arange(n) >= 20 * hour), 1, 0)
        lt = _one_level(again.astype(np.int32), seed)
        recycled = lt.start[lt.reason == MIN_INSTANCE]
        assert not np.any((recycled >= 6 * hour) & (recycled < 23 * hour - 1e-6))
        assert np.any((recycled >= 23 * hour - 1e-6) & (recycled <= 28 * hour + 1e-6))


def test_floor_is_the_schedule_aligned_with_the_window_seconds(
    spec: FleetSpec, scheduled: list[tuple[RevisionRun, np.ndarray]]
) -> None:
    expected = _expected_floor(spec)
    assert 0 < (expected == 2).mean() < 0.5
    for run, _ in scheduled:
        assert np.array_equal(run.min_floor, expected)
        assert run.spec.min_instances == 0  # the schedule's base


def test_schedule_keeps_two_instances_inside_the_windows(
    spec: FleetSpec, scheduled: list[tuple[RevisionRun, np.ndarray]]
) -> None:
    floor = _expected_floor(spec)
    checked = 0
    for run, addressable in scheduled:
        inside = addressable & (floor == 2)
        assert run.alive_per_s[inside].min(initial=2) >= 2
        checked += int(inside.sum())
    assert checked > 4 * 12 * 3600  # at least four weekday windows were addressable


def test_schedule_falls_back_outside_the_windows(
    spec: FleetSpec, scheduled: list[tuple[RevisionRun, np.ndarray]]
) -> None:
    floor = _expected_floor(spec)
    ends = np.flatnonzero(np.diff(floor) < 0) + 1  # the seconds the floor drops to 0
    assert len(ends) >= 4
    # seconds outside every window and more than the longest idle retention after its end
    since_end = np.full(len(floor), np.inf)
    for e in ends:
        since_end[e:] = np.minimum(since_end[e:], np.arange(len(floor) - e))
    late = (floor == 0) & (since_end > IDLE_RETENTION_MAX_S)
    assert late.sum() > 2 * 86400  # the weekend and the nights
    for run, _ in scheduled:
        assert run.alive_per_s[late].max(initial=0) <= 1  # the traffic never needs two
        lt = run.lifetimes
        second = lt.level == 2
        assert second.any()
        # every second instance ends inside a window or within the retention after it ends
        end_s = np.minimum(lt.end[second].astype(np.int64), len(floor) - 1)
        assert np.all((floor[end_s] == 2) | (since_end[end_s] <= IDLE_RETENTION_MAX_S))


def test_instances_started_at_window_starts_are_min_instance_starts(
    spec: FleetSpec, scheduled: list[tuple[RevisionRun, np.ndarray]]
) -> None:
    floor = _expected_floor(spec)
    rises = np.flatnonzero(np.diff(floor) > 0) + 1
    seen = 0
    for run, addressable in scheduled:
        lt = run.lifetimes
        for s in rises[addressable[rises]].tolist():
            at = (lt.start >= s) & (lt.start < s + 1)
            assert at.any(), f"no start when the floor rose at second {s}"
            assert np.all(lt.reason[at] == MIN_INSTANCE)
            seen += int(at.sum())
    assert seen >= 4


def test_idle_min_instance_time_lies_inside_the_windows(
    spec: FleetSpec, scheduled: list[tuple[RevisionRun, np.ndarray]]
) -> None:
    floor_m = _expected_floor(spec)[::60]
    total_inside = 0.0
    for run, _ in scheduled:
        assert run.spec.cpu_idle  # request-based billing
        assert run.idle_min_s[floor_m == 0].sum() == 0.0
        # two min instances a minute (and a recycled one's overlap with its replacement)
        assert np.all(run.idle_min_s <= 2 * (60.0 + RECYCLE_OVERLAP_S) + 1e-9)
        total_inside += float(run.idle_min_s[floor_m == 2].sum())
    assert total_inside > 4 * 12 * 3600  # two instances, mostly idle, for four windows at least


def test_constant_schedule_is_exactly_min_instances(spec: FleetSpec) -> None:
    always = MinSchedule.parse("2@daily 00:00-24:00", base=0)
    for region, name in ((EU, "runwatch"), (EU, "checkout-api")):
        scheduled = ground_truth(spec, region, name, SimSettings(min_schedule=always))
        scalar = ground_truth(spec, region, name, SimSettings(min_instances=2))
        assert scheduled == scalar
        assert scheduled.idle_vcpu_seconds > 0


def test_schedule_truth_lies_between_min_0_and_min_2(spec: FleetSpec) -> None:
    zero = ground_truth(spec, EU, "runwatch", SimSettings(min_instances=0))
    two = ground_truth(spec, EU, "runwatch", SimSettings(min_instances=2))
    sched = ground_truth(spec, EU, "runwatch", SimSettings(min_schedule=_weekdays()))
    assert (
        zero.billable_instance_seconds
        < sched.billable_instance_seconds
        < two.billable_instance_seconds
    )
    assert zero.idle_vcpu_seconds < sched.idle_vcpu_seconds < two.idle_vcpu_seconds
    assert sched.requests + sched.rejected_requests == zero.requests + zero.rejected_requests
    # a min_instances equal to the schedule's base is the same setting
    same = ground_truth(
        spec, EU, "runwatch", SimSettings(min_instances=0, min_schedule=_weekdays())
    )
    assert same == sched


def test_schedule_on_a_per_minute_background_service() -> None:
    fleet = build_fleet(NOW, 3, 42, "runwatch-demo", 40, None)
    svc = next(
        s
        for s in fleet.services
        if s.background
        and all(
            r.cpu_idle and r.max_instances >= 2 and r.min_instances == 0
            and r.oom_per_instance_hour == 0
            for r in s.revisions
        )
    )  # fmt: skip
    runs = simulate_fluid_service(fleet, svc, SimSettings(min_schedule=_weekdays()))
    floor = _expected_floor(fleet)
    n = fleet.minutes * 60
    checked = 0
    for run, addressable in zip(runs, _addressable(fleet, svc), strict=True):
        held = addressable & (floor == 2)
        # per-minute starts are spread over their minute: the floor holds a minute after it
        # (or the revision's traffic) comes
        settled = held.copy()
        for r in (np.flatnonzero(np.diff(held.astype(np.int8)) > 0) + 1).tolist():
            settled[r : r + 60] = False
        alive, _ = per_second_counts(run.lifetimes, n)
        assert alive[settled].min(initial=2) >= 2
        checked += int(settled.sum())
        assert run.idle_min_s[floor[::60] == 0].sum() == 0.0
    assert checked > 12 * 3600
    always = MinSchedule.parse("2@daily 00:00-24:00", base=0)
    assert ground_truth(fleet, svc.region, svc.name, SimSettings(min_schedule=always)) == (
        ground_truth(fleet, svc.region, svc.name, SimSettings(min_instances=2))
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            SimSettings(min_schedule=MinSchedule.parse("3@mon-fri 08:00-20:00", base=0)),
            "exceed max",
        ),
        (
            SimSettings(min_schedule=_weekdays(), max_instances=1),
            r"min instances 2 .*exceed max \(1\)",
        ),
        (SimSettings(min_schedule=_weekdays(), min_instances=1), "differ from the min schedule"),
        (SimSettings(min_schedule=MinSchedule.parse(WEEKDAYS, base=3)), "exceed"),
    ],
)
def test_refused_schedules(spec: FleetSpec, settings: SimSettings, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ground_truth(spec, EU, "runwatch", settings)  # runwatch: max 2 instances


def test_cli_min_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    args = ["--service", "runwatch", "--days", "2", "--json"]
    assert truth_mod.main([*args, "--min-schedule", WEEKDAYS], now=NOW) == 0
    out = json.loads(capsys.readouterr().out)
    fleet = demo_fleet(NOW, days=2)
    # the base is the serving revision's min instances (runwatch: 0)
    want = ground_truth(fleet, EU, "runwatch", SimSettings(min_schedule=_weekdays(0)))
    assert {k: out[k] for k in asdict(want)} == asdict(want)
    # --min-instances gives the base; --schedule-tz the zone of its times
    berlin = ["--min-schedule", "2@daily 06:00-09:00", "--schedule-tz", "Europe/Berlin"]
    assert truth_mod.main([*args, *berlin, "--min-instances", "1"], now=NOW) == 0
    out = json.loads(capsys.readouterr().out)
    sched = MinSchedule.parse("2@daily 06:00-09:00", base=1, tz="Europe/Berlin")
    want = ground_truth(fleet, EU, "runwatch", SimSettings(min_schedule=sched))
    assert out["billable_instance_seconds"] == want.billable_instance_seconds
    utc = MinSchedule.parse("2@daily 06:00-09:00", base=1)
    assert want != ground_truth(fleet, EU, "runwatch", SimSettings(min_schedule=utc))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--min-schedule", "2@funday 08:00-20:00"], "is not a day"),
        (["--min-schedule", "2 mon-fri 08:00-20:00"], "is not a window"),
        (["--min-schedule", "3@mon-fri 08:00-20:00"], "exceed max instances (2)"),
        (["--min-schedule", WEEKDAYS, "--schedule-tz", "Mars/Olympus"], "not a known time zone"),
        (["--schedule-tz", "UTC"], "--schedule-tz needs --min-schedule"),
        (["--min-schedule", WEEKDAYS, "--min-instances", "3"], "exceed"),
    ],
)
def test_cli_refuses_bad_schedules(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert truth_mod.main(["--service", "runwatch", "--days", "1", *extra], now=NOW) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert message in err
    assert "Traceback" not in err


# -- startup CPU boost -------------------------------------------------------------------------


def _boost_by_hand(runs: Sequence[RevisionRun | FluidRun], n_seconds: int) -> float:
    """sum over started instances of (boosted - cpu) x (min(ready + 10 s, end) - start), with
    boosted = min(8, max(2 x cpu, 1)) vCPU; pre-existing instances get none."""
    total = 0.0
    for run in runs:
        if not run.spec.startup_cpu_boost:
            continue
        lt: Lifetimes = run.lifetimes
        st = (lt.reason != PREEXISTING) & (lt.start < n_seconds)
        extra = min(8.0, max(2.0 * run.spec.cpu, 1.0)) - run.spec.cpu
        total += float((extra * (np.minimum(lt.ready[st] + 10.0, lt.end[st]) - lt.start[st])).sum())
    return total


def test_boosted_vcpu_by_hand() -> None:
    assert boosted_vcpu(0.5) == 1.0
    assert boosted_vcpu(0.25) == 1.0
    assert boosted_vcpu(1.0) == 2.0
    assert boosted_vcpu(2.0) == 4.0
    assert boosted_vcpu(4.0) == 8.0
    assert boosted_vcpu(6.0) == 8.0


def test_boost_billing_of_hand_made_lives() -> None:
    # a pre-existing instance (no boost), one killed 2.5 s after it was ready (boost until its
    # end), one living on (boost until 10 s after ready)
    lt = Lifetimes(
        start=np.array([0.0, 100.0, 200.0]),
        ready=np.array([0.0, 101.5, 202.0]),
        end=np.array([600.0, 104.0, 400.0]),
        level=np.array([1, 2, 3], dtype=np.int32),
        reason=np.array([PREEXISTING, AUTOSCALING, AUTOSCALING], dtype=np.int8),
        oom_end=np.array([False, True, False]),
        startup_ms=np.array([0.0, 1500.0, 2000.0]),
    )
    per_minute = boost_vcpu_per_minute(lt, 1.0, True, 10)
    expected = np.zeros(10)
    expected[1] = 1.0 * (104.0 - 100.0)  # 1 vCPU extra (2 boosted), until the end
    expected[3] = 1.0 * (212.0 - 200.0)  # until ready + 10 s
    np.testing.assert_allclose(per_minute, expected, atol=1e-9)
    np.testing.assert_allclose(boost_vcpu_per_minute(lt, 4.0, True, 10), 4.0 * expected)
    assert not boost_vcpu_per_minute(lt, 1.0, False, 10).any()
    assert not boost_vcpu_per_minute(lt, 8.0, True, 10).any()  # 8 vCPU: no more to give


def test_boost_shortens_starts_by_its_factor(spec: FleetSpec) -> None:
    svc = _svc(spec, "checkout-api")
    assert not any(r.startup_cpu_boost for r in svc.revisions)
    off = simulate_service(spec, svc, SimSettings())
    on = simulate_service(spec, svc, SimSettings(startup_cpu_boost=True))
    starts = 0
    for a, b in zip(off, on, strict=True):
        assert b.spec.startup_cpu_boost
        assert not a.spec.startup_cpu_boost
        la, lb = a.lifetimes, b.lifetimes
        # the same instances (the autoscaler does not see startup times), the same draws
        assert np.array_equal(la.start, lb.start)
        assert np.array_equal(la.level, lb.level)
        st = la.started
        assert np.allclose(
            lb.startup_ms[st], la.startup_ms[st] * STARTUP_CPU_BOOST_FACTOR, atol=1e-3
        )
        starts += int(st.sum())
    ms_off = np.concatenate([r.lifetimes.startup_ms[r.lifetimes.started] for r in off])
    ms_on = np.concatenate([r.lifetimes.startup_ms[r.lifetimes.started] for r in on])
    assert starts >= 10
    assert ms_on.mean() / ms_off.mean() == pytest.approx(STARTUP_CPU_BOOST_FACTOR, rel=1e-5)


def test_boost_vcpu_seconds_by_hand(spec: FleetSpec) -> None:
    n = spec.minutes * 60
    for name, billing in (("checkout-api", None), ("notify-mailer", None), ("admin-tool", False)):
        svc = _svc(spec, name)
        on_settings = SimSettings(startup_cpu_boost=True, cpu_idle=billing)
        on = ground_truth(spec, EU, name, on_settings)
        off = ground_truth(spec, EU, name, SimSettings(startup_cpu_boost=False, cpu_idle=billing))
        by_hand = _boost_by_hand(simulate_service(spec, svc, on_settings), n)
        assert by_hand > 0
        assert on.boost_vcpu_seconds == pytest.approx(by_hand, rel=1e-9)
        assert off.boost_vcpu_seconds == 0.0
        if billing is False:  # instance-based: the same lives, the same instance time billed
            assert on.billable_instance_seconds == off.billable_instance_seconds
        # the boost adds vCPU time only, on top of the instance time billed
        cpu = svc.revisions[-1].cpu
        assert on.active_vcpu_seconds == pytest.approx(
            on.billable_instance_seconds * cpu - on.idle_vcpu_seconds + on.boost_vcpu_seconds
        )
    # a revision without boost: nothing billed for it
    assert ground_truth(spec, EU, "checkout-api", SimSettings()).boost_vcpu_seconds == 0.0


def _series_sum(series: list[RawSeries], metric: str, service: str | None = None) -> float:
    return float(
        sum(
            np.nansum(np.asarray(s.values))
            for s in series
            if s.metric_type == metric
            and (service is None or s.resource_labels["service_name"] == service)
        )
    )


def test_cpu_allocation_series_includes_the_boost(spec: FleetSpec) -> None:
    svc = _svc(spec, "checkout-api")
    runs = simulate_service(spec, svc, SimSettings(startup_cpu_boost=True))
    series: list[RawSeries] = []
    for run in runs:
        labels = {"service_name": svc.name, "revision_name": run.spec.name}
        series += revision_series(run, labels, spec.minutes, rng_for(1, run.spec.name))
    truth = ground_truth(spec, EU, svc.name, SimSettings(startup_cpu_boost=True))
    extra = _series_sum(series, CPU_ALLOCATION) - _series_sum(series, BILLABLE) * 1.0  # 1 vCPU
    assert extra == pytest.approx(truth.boost_vcpu_seconds, rel=1e-9)
    assert truth.boost_vcpu_seconds > 0


def test_fleet_truth_and_series_of_a_boosted_demo_service() -> None:
    # runwatch (startup CPU boost on, 1 vCPU) as the emulator serves it
    fleet = with_services(demo_fleet(NOW, days=3), {"runwatch"})
    data = simulate(fleet)
    truth = data.truth[(EU, "runwatch")]
    extra = _series_sum(data.series, CPU_ALLOCATION) - _series_sum(data.series, BILLABLE) * 1.0
    assert truth.boost_vcpu_seconds > 0
    assert extra == pytest.approx(truth.boost_vcpu_seconds, rel=1e-9)
    runs = simulate_service(fleet, fleet.services[0])
    assert truth.boost_vcpu_seconds == pytest.approx(
        _boost_by_hand(runs, fleet.minutes * 60), rel=1e-9
    )
    off = ground_truth(fleet, EU, "runwatch", SimSettings(startup_cpu_boost=False))
    assert off.boost_vcpu_seconds == 0.0
    assert off.active_vcpu_seconds < truth.active_vcpu_seconds


def test_boost_on_a_per_minute_background_service() -> None:
    fleet = build_fleet(NOW, 2, 42, "runwatch-demo", 40, None)
    svc = next(s for s in fleet.services if s.background)
    n = fleet.minutes * 60
    settings = SimSettings(startup_cpu_boost=True)
    runs = simulate_fluid_service(fleet, svc, settings)
    truth = ground_truth(fleet, svc.region, svc.name, settings)
    by_hand = _boost_by_hand(runs, n)
    assert by_hand > 0
    assert truth.boost_vcpu_seconds == pytest.approx(by_hand, rel=1e-9)
    off = ground_truth(fleet, svc.region, svc.name, SimSettings(startup_cpu_boost=False))
    assert off.boost_vcpu_seconds == 0.0


def test_cli_startup_cpu_boost(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    base = ["--service", "notify-mailer", "--days", "1", "--json"]
    assert truth_mod.main([*base, "--startup-cpu-boost", "on"], now=NOW) == 0
    on = json.loads(capsys.readouterr().out)
    assert truth_mod.main([*base, "--startup-cpu-boost", "off"], now=NOW) == 0
    off = json.loads(capsys.readouterr().out)
    fleet = demo_fleet(NOW, days=1)
    want = ground_truth(fleet, EU, "notify-mailer", SimSettings(startup_cpu_boost=True))
    assert on["boost_vcpu_seconds"] == want.boost_vcpu_seconds > 0
    assert off["boost_vcpu_seconds"] == 0.0
