"""Scheduled min instances and startup CPU boost in the replay (costmodel/replay.py,
costmodel/boost.py), on hand-made traffic against hand or numpy computations, and the commands
that put a schedule in place (actions/min_schedule.py) parsed as the Admin API's real messages."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from google.cloud import run_v2

from actions.min_schedule import min_schedule_commands
from costmodel import boost
from costmodel.instance_stack import retention_weights
from costmodel.replay import Grid, Params, replay
from costmodel.traffic import Traffic
from foundation.min_schedule import MinSchedule

MONDAY = datetime(2026, 11, 30, tzinfo=UTC)
WEEK = 7 * 1440
QUIET = Params(peak_scale=0.0, rounding_uplift_s=0.0, startup_s=0.0)


def _traffic(rpm: np.ndarray, latency_s: float = 0.2, start: datetime = MONDAY) -> Traffic:
    n = len(rpm)
    return Traffic(start=start, requests=rpm.astype(float), latency_s=np.full(n, latency_s))


def _grid(**kw: object) -> Grid:
    base: dict[str, object] = {
        "concurrency": 80,
        "min_instances": 0,
        "max_instances": 10,
        "instance_billing": False,
        "cpu": 1.0,
        "memory_gib": 0.5,
    }
    return Grid.of(**(base | kw))  # type: ignore[arg-type]


def _floors(text: str, minutes: int = WEEK) -> np.ndarray:
    return np.asarray(MinSchedule.parse(text, base=0).floors(MONDAY, minutes), dtype=float)


def test_a_constant_schedule_is_the_constant_min() -> None:
    rng = np.random.default_rng(7)
    tr = _traffic(rng.poisson(30, WEEK) * (rng.random(WEEK) < 0.3))
    grid = _grid(min_instances=2, instance_billing=[False, True])
    plain = replay(tr, grid, Params(), warm_start=False)
    sched = replay(tr, grid, Params(), warm_start=False, schedule=np.full(WEEK, 2.0))
    for name in ("cold_starts", "instance_s", "billable_s", "idle_min_s", "active_vcpu_s"):
        np.testing.assert_allclose(getattr(sched, name), getattr(plain, name), rtol=1e-12)


def test_idle_service_follows_its_schedule_exactly() -> None:
    # No traffic: the floor alone. Each weekday the floor rises to 2 at 08:00 (two starts) and
    # falls at 20:00, the two instances then idle out over the retention.
    floors = _floors("2@mon-fri 08:00-20:00; 0 otherwise")
    tr = _traffic(np.zeros(WEEK))
    params = Params(retention_lo_min=5.0, retention_hi_min=5.0)
    res = replay(tr, _grid(), params, warm_start=False, schedule=floors, keep_minutes=True)
    assert res.instances is not None
    inst = res.instances[0]
    assert np.all(inst[floors >= 2] >= 2 - 1e-9)
    assert res.cold_starts[0] == pytest.approx(5 * 2)
    # True lives: 12 h held + R = 5 min idle. The replay removes a brief need's whole-minute
    # overshoot from every start (instance_stack.retention_weights): a minute too much for a
    # start held whole minutes by a floor, so within one minute per start of the truth.
    _, _, overshoot = retention_weights(5.0, 5.0, 4)
    true_s = 5 * 2 * (12 * 60 + 5) * 60
    assert res.instance_s[0] == pytest.approx(true_s - 5 * 2 * overshoot * 60)
    assert abs(res.instance_s[0] - true_s) <= 5 * 2 * 60
    # Request-based: the floor's instances are billed idle while the floor holds them, no
    # more, but for their starts, billed active (the default 1.5 s startup each).
    startup = tr.startup_s
    assert res.idle_min_s[0] == pytest.approx(5 * 2 * 12 * 3600 - 10 * startup)
    assert res.billable_s[0] == pytest.approx(10 * startup)


def test_schedule_cost_lies_between_its_floors() -> None:
    rng = np.random.default_rng(3)
    day = np.arange(WEEK) % 1440
    busy = (day >= 9 * 60) & (day < 18 * 60) & (np.arange(WEEK) < 5 * 1440)
    tr = _traffic(np.where(busy, rng.poisson(120, WEEK), rng.poisson(2, WEEK)))
    floors = _floors("2@mon-fri 08:00-20:00; 0 otherwise")
    g0, g2 = _grid(min_instances=0), _grid(min_instances=2)
    at0, at2 = replay(tr, g0, Params()), replay(tr, g2, Params())
    sched = replay(tr, g0, Params(), schedule=floors)
    for name in ("instance_s", "idle_min_s"):
        low, high, got = (float(getattr(r, name)[0]) for r in (at0, at2, sched))
        assert low < got < high, name
    assert float(at2.cold_starts[0]) < float(sched.cold_starts[0])


def test_schedule_refused_when_it_cannot_apply() -> None:
    tr = _traffic(np.zeros(60))
    with pytest.raises(ValueError, match="min instances must be 1"):
        replay(tr, _grid(min_instances=0), Params(), schedule=np.r_[np.ones(30), 2 * np.ones(30)])
    with pytest.raises(ValueError, match="exceeds a setting's max"):
        replay(tr, _grid(max_instances=1), Params(), schedule=np.r_[np.zeros(30), 2 * np.ones(30)])
    with pytest.raises(ValueError, match="floors for 60 minutes"):
        replay(tr, _grid(), Params(), schedule=np.zeros(59))


def test_boost_bills_its_extra_vcpu_per_start() -> None:
    rng = np.random.default_rng(11)
    tr = _traffic(rng.poisson(20, 1440) * (rng.random(1440) < 0.05))
    params = Params(startup_s=2.0)
    cpus = np.array([0.5, 1.0, 2.0, 4.0, 6.0])
    grid = _grid(cpu=cpus, concurrency=1, memory_gib=0.5)
    off = replay(tr, grid, params)
    on = replay(tr, grid.with_boost(True), params)
    boosted = np.array([1.0, 2.0, 4.0, 8.0, 8.0])  # twice the limit, at least 1, at most 8
    extra = on.cold_starts * (boosted - cpus) * (2.0 + boost.AFTER_READY_S)
    np.testing.assert_allclose(on.boost_vcpu_s, extra)
    np.testing.assert_allclose(on.active_vcpu_s - off.active_vcpu_s, extra)
    np.testing.assert_array_equal(off.boost_vcpu_s, 0.0)
    np.testing.assert_array_equal(on.billable_s, off.billable_s)  # instance time unchanged


def test_boost_startup_time_assumption() -> None:
    assert boost.startup_under(2.0, False, True) == pytest.approx(2.0 * boost.STARTUP_FACTOR)
    assert boost.startup_under(1.2, True, False) == pytest.approx(1.2 / boost.STARTUP_FACTOR)
    assert boost.startup_under(1.2, True, True) == 1.2


def test_schedule_commands_are_real_admin_api_updates() -> None:
    sched = MinSchedule.parse("2@mon-fri 08:00-20:00; 0 otherwise", base=1, tz="Europe/Berlin")
    lines = min_schedule_commands(
        sched,
        project="shop-prod-1",
        region="europe-west1",
        service="checkout-api",
        revision_min=1,
        now=MONDAY + timedelta(hours=9),  # 10:00 in Berlin: inside the window
    )
    jobs = [shlex.split(ln) for ln in lines if ln.startswith("gcloud scheduler jobs create")]
    assert len(jobs) == len(sched.changes()) == 2
    for argv, change in zip(jobs, sched.changes(), strict=True):
        flags = dict(a.split("=", 1) for a in argv if a.startswith("--") and "=" in a)
        assert flags["--schedule"] == change.cron()
        assert flags["--time-zone"] == "Europe/Berlin"
        assert flags["--http-method"] == "PATCH"
        url, _, query = flags["--uri"].partition("?")
        assert url.endswith("/projects/shop-prod-1/locations/europe-west1/services/checkout-api")
        # The body is a real v2 Service, and the mask names the field it sets.
        service = run_v2.Service.from_json(flags["--message-body"])
        assert service.scaling.min_instance_count == change.min_instances
        mask = query.removeprefix("updateMask=")
        assert mask == "scaling.minInstanceCount"
        assert json.loads(flags["--message-body"]) == {
            "scaling": {"minInstanceCount": change.min_instances}
        }
    now_line = next(ln for ln in lines if "--min=" in ln)
    assert now_line.endswith("--min=2")
    # The revision's own min 1 is above the schedule's lowest floor 0: clear it.
    assert any("--min-instances=default" in ln for ln in lines)


def test_schedule_commands_refuse_bad_names() -> None:
    sched = MinSchedule.parse("2@mon 08:00-20:00", base=0)
    with pytest.raises(ValueError, match="service name"):
        min_schedule_commands(
            sched,
            project="shop-prod-1",
            region="europe-west1",
            service="x'; rm -rf /",
            revision_min=0,
            now=MONDAY,
        )
