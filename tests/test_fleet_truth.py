"""Ground truth re-simulation: same arrivals under other settings, billing by hand, the CLI."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from emulator.sim import truth as truth_mod
from emulator.sim.fleet import simulate
from emulator.sim.model import FleetSpec, RevisionSpec, SimSettings
from emulator.sim.revision import simulate_revision
from emulator.sim.scenarios import demo_fleet, with_services
from emulator.sim.truth import ground_truth
from emulator.sim.util import rng_for
from tests._fleet_helpers import NOW

EU, ASIA = "europe-west1", "asia-southeast1"


@pytest.fixture(scope="module")
def spec() -> FleetSpec:
    return with_services(
        demo_fleet(NOW, days=3),
        {"image-resizer", "webhook-relay", "notify-mailer", "admin-tool", "checkout-api"},
    )


def test_current_settings_reproduce_fleet_truth(spec: FleetSpec) -> None:
    data = simulate(spec)
    for svc in spec.services:
        again = ground_truth(spec, svc.region, svc.name, SimSettings())
        assert again == data.truth[(svc.region, svc.name)]


def test_same_arrivals_whatever_the_settings(spec: FleetSpec) -> None:
    base = ground_truth(spec, ASIA, "webhook-relay", SimSettings())
    wide = ground_truth(spec, ASIA, "webhook-relay", SimSettings(max_instances=30))
    assert base.rejected_requests > 0
    assert wide.rejected_requests < base.rejected_requests / 10
    assert wide.requests + wide.rejected_requests == base.requests + base.rejected_requests
    for conc in (1, 8):
        other = ground_truth(spec, ASIA, "webhook-relay", SimSettings(concurrency=conc))
        assert other.requests + other.rejected_requests == base.requests + base.rejected_requests


def test_instance_based_bills_at_least_request_based(spec: FleetSpec) -> None:
    for region, name in ((ASIA, "image-resizer"), (EU, "checkout-api"), (ASIA, "webhook-relay")):
        req = ground_truth(spec, region, name, SimSettings(cpu_idle=True))
        inst = ground_truth(spec, region, name, SimSettings(cpu_idle=False))
        assert inst.billable_instance_seconds >= req.billable_instance_seconds
        assert inst.billable_instance_seconds >= inst.instance_seconds
        assert inst.idle_vcpu_seconds == 0.0
        assert req.cpu_idle
        assert not inst.cpu_idle
        assert inst.requests == req.requests


def test_min_instances_trade_cold_starts_for_instance_time(spec: FleetSpec) -> None:
    zero = ground_truth(spec, ASIA, "image-resizer", SimSettings(min_instances=0))
    three = ground_truth(spec, ASIA, "image-resizer", SimSettings(min_instances=3))
    assert three.instance_seconds > zero.instance_seconds
    assert three.cold_starts < zero.cold_starts
    assert three.requests_meeting_cold_start < zero.requests_meeting_cold_start
    assert three.idle_vcpu_seconds > 0.0 == zero.idle_vcpu_seconds
    # three min instances over the window (minus the rollout), at least
    assert three.instance_seconds > 3 * 0.9 * spec.minutes * 60


def test_higher_concurrency_needs_fewer_instances(spec: FleetSpec) -> None:
    low = ground_truth(spec, ASIA, "webhook-relay", SimSettings(concurrency=1, max_instances=100))
    high = ground_truth(spec, ASIA, "webhook-relay", SimSettings(concurrency=8, max_instances=100))
    assert high.instance_seconds < low.instance_seconds
    assert high.cold_starts < low.cold_starts


def test_cpu_change_scales_cpu_bound_time(spec: FleetSpec) -> None:
    base = ground_truth(spec, ASIA, "image-resizer", SimSettings())
    small = ground_truth(spec, ASIA, "image-resizer", SimSettings(cpu=1.0))
    assert small.active_vcpu_seconds < base.active_vcpu_seconds  # half the vCPU ...
    assert small.billable_instance_seconds > 0.99 * base.billable_instance_seconds  # ... not faster


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (SimSettings(concurrency=0), "concurrency"),
        (SimSettings(min_instances=5, max_instances=2), "exceed"),
        (SimSettings(cpu=0.5), "concurrency must be 1"),
        (SimSettings(cpu=0.5, concurrency=1, cpu_idle=False), "request-based"),
        (SimSettings(memory_gib=0.01), "memory"),
    ],
)
def test_refused_settings_raise_plain_errors(
    spec: FleetSpec, settings: SimSettings, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ground_truth(spec, ASIA, "webhook-relay", settings)


def test_unknown_service(spec: FleetSpec) -> None:
    with pytest.raises(ValueError, match="no service 'nope'"):
        ground_truth(spec, EU, "nope", SimSettings())


def _tiny_revision(**kw: object) -> RevisionSpec:
    base = RevisionSpec(
        name="tiny-00001-abc",
        create_time=NOW - timedelta(days=1),
        cpu=1.0,
        memory_gib=0.5,
        concurrency=1,
        latency_median_ms=250.0,
        latency_sigma=0.0,  # every request takes exactly 250 ms
        error_rate_5xx=0.0,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def _run_tiny(rev: RevisionSpec, times: list[float], n_seconds: int = 3600):  # type: ignore[no-untyped-def]
    return simulate_revision(
        rev,
        1.0,
        np.array(times),
        n_seconds,
        create_s=-86400.0,
        addressable=np.ones(n_seconds, dtype=bool),
        rollout_s=np.zeros(0),
        stream=lambda purpose: rng_for(1, "tiny", purpose),
    )


def test_busy_periods_round_up_to_100ms_by_hand() -> None:
    # One warm min instance taking 2 requests at once; requests of 250 ms at these times (s):
    times = [100.0, 100.1, 200.0, 300.05, 300.31]
    # by hand: [100.0, 100.35] -> 0.35 s -> 0.4; [200.0, 200.25] -> 0.3;
    # [300.05, 300.30] -> 0.3; [300.31, 300.56] -> 0.3   => 1.3 s active
    # (concurrency 2: at concurrency 1 the overlapping request at 100.1 needs its own instance,
    # see test_concurrency_one_never_shares_an_instance)
    run = _run_tiny(_tiny_revision(min_instances=1, concurrency=2), times)
    assert len(run.lifetimes) == 1
    assert not run.lifetimes.started[0]
    assert run.active_s.sum() == pytest.approx(1.3, abs=1e-9)
    assert run.idle_min_s.sum() == pytest.approx(3600 - 1.3, abs=1e-6)
    assert run.billable_s.sum() == pytest.approx(3600, abs=1e-6)
    inst = _run_tiny(_tiny_revision(min_instances=1, concurrency=2, cpu_idle=False), times)
    assert inst.billable_s.sum() == pytest.approx(3600, abs=1e-6)
    assert inst.idle_min_s.sum() == 0.0


def test_cold_start_wait_and_startup_billing_by_hand() -> None:
    run = _run_tiny(_tiny_revision(min_instances=0), [1000.0])
    lt = run.lifetimes
    assert len(lt) == 1
    assert lt.started[0]
    assert lt.start[0] == 1000.0  # the request's arrival starts the instance
    startup = lt.ready[0] - lt.start[0]
    assert startup == pytest.approx(lt.startup_ms[0] / 1000)
    assert run.wait[0] == pytest.approx(startup)  # the request met the cold start
    # billed while starting, then the 250 ms request rounded up to 300 ms
    assert run.active_s.sum() == pytest.approx(startup + 0.3, abs=1e-9)
    # idle non-min instance: alive 1-15 min after the request, not billed
    alive = lt.end[0] - lt.start[0]
    assert startup + 0.25 + 60 <= alive <= startup + 0.25 + 900 + 1
    assert run.alive_s.sum() == pytest.approx(alive)


def test_concurrency_one_never_shares_an_instance() -> None:
    # One warm min instance at concurrency 1; the second request arrives while the first
    # (250 ms) is in flight, so it cannot share the instance: a second one starts for it and
    # it waits for that instance's startup (a cold start).
    run = _run_tiny(_tiny_revision(min_instances=1), [100.0, 100.1])
    lt = run.lifetimes
    assert len(lt) == 2
    new = int(np.flatnonzero(lt.started)[0])
    assert lt.start[new] == pytest.approx(100.0)  # started in the second the demand arose
    assert run.wait[0] == 0.0
    assert run.wait[1] == pytest.approx(lt.ready[new] - 100.1)
    assert run.slot[0] != run.slot[1]
    # billed: each request alone (0.25 -> 0.3 s) + the new instance's startup
    startup = lt.ready[new] - lt.start[new]
    assert run.active_s.sum() == pytest.approx(0.3 + 0.3 + startup, abs=1e-9)


def test_routing_never_exceeds_concurrency_on_an_instance() -> None:
    # A dense minute of 300 ms requests at concurrency 2 with 3 instances at most: count the
    # requests in service on each instance at every start, from the run's own output.
    rng = np.random.default_rng(3)
    times = np.sort(rng.uniform(600.0, 660.0, 1500))
    rev = _tiny_revision(concurrency=2, max_instances=3, latency_median_ms=300.0)
    run = _run_tiny(rev, list(times))
    start, end = run.t + run.wait, run.t + run.svc + run.wait
    for s in np.unique(run.slot):
        on = run.slot == s
        a, b = start[on], end[on]
        in_service = (a[None, :] <= a[:, None]) & (b[None, :] > a[:, None])
        assert in_service.sum(axis=1).max() <= 2
    assert len(run.rejected_t) > 0  # demand beyond 3 x 2 in flight is refused


def test_cli_json_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    rc = truth_mod.main(
        ["--service", "runwatch", "--days", "1", "--min-instances", "1", "--json"], now=NOW
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["service"] == "runwatch"
    assert out["region"] == EU
    spec = demo_fleet(NOW, days=1)
    expected = ground_truth(spec, EU, "runwatch", SimSettings(min_instances=1))
    assert out["cold_starts"] == expected.cold_starts
    assert math.isclose(out["billable_instance_seconds"], expected.billable_instance_seconds)
    rc = truth_mod.main(["--service", "runwatch", "--days", "1", "--billing", "instance"], now=NOW)
    assert rc == 0
    assert "billable_instance_seconds" in capsys.readouterr().out
    assert truth_mod.main(["--service", "nope", "--days", "1"], now=NOW) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown service 'nope'")
    assert "Traceback" not in err
    assert (
        truth_mod.main(
            ["--service", "notify-mailer", "--days", "1", "--billing", "instance"], now=NOW
        )
        == 2
    )
    assert "request-based" in capsys.readouterr().err
    assert truth_mod.main(["--service", "runwatch", "--days", "40"], now=NOW) == 2
