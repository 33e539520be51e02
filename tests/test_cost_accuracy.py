"""Accuracy of the cost model against the emulator's ground truth (issue 5, "Done when").

Input comes the product's way: the demo fleet is served by the emulator, and the real
collectors read it over gRPC (metrics, revisions, instance events). For every demo service the
replay at current settings must reproduce the observed billable time within ±10 %, and for
changed settings (concurrency halved and doubled, min instances 0-3, max instances halved and
doubled, billing switched, min 2 on weekdays 08:00-20:00 UTC and 0 otherwise, startup CPU
boost switched, the current settings at another region's prices) the monthly cost must be
within ±5 % and cold starts per day within ±15 % of the re-simulated truth
(emulator.sim.truth.ground_truth, priced with the same price book, in the same region).
Settings Cloud Run refuses are skipped with the reason. Run with ``-s`` to see the table.

KNOWN_MISSES lists the cases that miss today, each with the measured miss and why; they are
reported, not hidden: the tolerances are not loosened for them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

import config
from costmodel import prices
from costmodel.bill import Usage, price
from costmodel.inputs import service_input
from costmodel.whatif import evaluate
from foundation.min_schedule import MinSchedule

if TYPE_CHECKING:
    from emulator.sim.model import SimSettings

pytestmark = pytest.mark.slow

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BILLABLE_TOL, COST_TOL, STARTS_TOL, REJECTED_TOL = 0.10, 0.05, 0.15, 0.15
# Counts get a floor below which a relative error says nothing: one cold start over the window
# (at one start a week, +-15 % is a fraction of a start), one refused request a day.
STARTS_FLOOR_IN_WINDOW, REJECTED_FLOOR_PER_DAY = 1.0, 1.0

SCHEDULE = "2@mon-fri 08:00-20:00; 0 otherwise"  # the example, in UTC

# (service, case, metric): why it misses (measured on the seed-42, 7-day demo fleet). Empty:
# costs and cold starts miss nowhere since the replay models each instance-stack level's
# within-minute peaks (costmodel/instance_stack.py), and 429s since it refuses the demand beyond
# the slots of max instances on average (requests wait out shorter bursts) instead of the
# instantaneous Poisson excess (+47 % on webhook-relay at max 3, and 178 a day where the
# emulator refused none). The earlier misses and their causes are in the git history of this
# file. An entry that no longer misses fails the test, so the list stays true.
KNOWN_MISSES: dict[tuple[str, str, str], str] = {}


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    import emulator
    from collectors import clients as client_mod
    from collectors import logs, monitoring, services
    from collectors.budget import Budgets
    from emulator.sim.fleet import simulate
    from emulator.sim.scenarios import demo_fleet
    from foundation.window import TimeWindow

    spec = demo_fleet(NOW, days=7)
    fleet = simulate(spec)
    emu = emulator.start(fleet)
    clients = client_mod.for_emulator(emu.address)
    try:
        window = TimeWindow(spec.start, spec.end, 60)
        points = monitoring.fetch_metrics(clients, [spec.project], window)
        revisions = services.fetch_config(clients, [spec.project]).revisions
        settings = config.load({"RUNWATCH_SOURCE": "demo", "RUNWATCH_LOG_MAX_PAGES": "1000"})
        # A budget of its own: the process-wide one may be spent by earlier tests, and logs cut
        # short would drop 429s from the demand the replay refuses.
        events = logs.fetch_instance_events(
            clients, [spec.project], window, settings=settings, budgets=Budgets()
        )
    finally:
        clients.close()
        emu.stop()
    assert points.quality.complete
    assert revisions.quality.complete
    assert events.quality.complete, events.quality
    return {
        "spec": spec,
        "points": points.frame,
        "revisions": revisions.frame,
        "events": events.frame,
    }


def _truth_cost(gt: Any, region: str) -> float:
    book = prices.load()
    usage = Usage(
        "request" if gt.cpu_idle else "instance",
        gt.active_vcpu_seconds,
        gt.active_gib_seconds,
        gt.idle_vcpu_seconds,
        gt.idle_gib_seconds,
        gt.requests if gt.cpu_idle else 0.0,
    )
    return price(usage.scaled(book.month_days / gt.days), book, region, free_tier="none").total


Case = tuple[str, "SimSettings", dict[str, object] | None]  # name, re-simulated, table change


def _cases(serving: Any, halved: int, doubled: int) -> list[Case]:
    """Current settings, concurrency halved and doubled, min instances 0-3, billing switched,
    max instances halved and doubled."""
    from emulator.sim.model import SimSettings

    other = "instance" if serving.billing == "request" else "request"
    cases: list[Case] = [("current", SimSettings(), None)]
    for c in sorted({halved, doubled} - {serving.concurrency}):
        cases.append((f"concurrency {c}", SimSettings(concurrency=c), {"concurrency": c}))
    for m in range(4):
        cases.append((f"min {m}", SimSettings(min_instances=m), {"min_instances": m}))
    cases.append((f"billing {other}", SimSettings(cpu_idle=other == "request"), {"billing": other}))
    for m in sorted({max(1, serving.max_instances // 2), serving.max_instances * 2}):
        cases.append((f"max {m}", SimSettings(max_instances=m), {"max_instances": m}))
    return cases


def _model_row(w: Any, serving: Any, change: dict[str, object] | None) -> Any:
    """The what-if table's row for the change (the current row when there is none)."""
    if change is None:
        return w.current
    want = {
        "concurrency": serving.concurrency,
        "min_instances": serving.min_instances,
        "max_instances": serving.max_instances,
        "billing": serving.billing,
        **change,
    }
    m = w.table[~w.table["current"]]
    for k, v in want.items():
        m = m[m[k] == v]
    return m.iloc[0]


def _error(model: float, truth: float) -> float:
    """model / truth - 1 (0 when both are 0; infinite when only the model is not)."""
    if truth:
        return model / truth - 1
    return 0.0 if model == 0 else float("inf")


def _truth_rows(
    spec: Any, svc: Any, name: str, sim: SimSettings, row: Any, price_region: str = ""
) -> list[dict[str, Any]]:
    """The case's cost and cold-start rows against the re-simulated truth (or why skipped);
    ``price_region``: the truth priced there (the cold starts are the current settings')."""
    from emulator.sim.truth import ground_truth

    try:
        gt = ground_truth(spec, svc.region, svc.name, sim)
    except ValueError as exc:  # e.g. min above max instances: Cloud Run refuses it
        return [{"service": svc.name, "case": name, "skipped": str(exc)}]
    cost = _truth_cost(gt, price_region or svc.region)
    starts = gt.cold_starts / gt.days
    model_starts = float(row["cold_starts_per_day"])
    cost_row = {
        "service": svc.name,
        "case": name,
        "metric": "cost",
        "model": float(row["monthly_cost"]),
        "truth": cost,
        "error": float(row["monthly_cost"]) / cost - 1,
    }
    starts_row = {
        "service": svc.name,
        "case": name,
        "metric": "cold_starts",
        "model": model_starts,
        "truth": starts,
        "error": _error(model_starts, starts),
    }
    refused, model_refused = gt.rejected_requests / gt.days, float(row["rejected_per_day"])
    refused_row = {
        "service": svc.name,
        "case": name,
        "metric": "rejected",
        "model": model_refused,
        "truth": refused,
        "error": _error(model_refused, refused),
    }
    return [cost_row] if price_region else [cost_row, starts_row, refused_row]


def _service_rows(demo: dict[str, Any], svc: Any) -> list[dict[str, Any]]:
    """One service's rows: the replay's calibration, then every case's cost and cold starts."""
    from emulator.sim.model import SimSettings

    spec = demo["spec"]
    data = service_input(
        demo["points"],
        demo["revisions"],
        region=svc.region,
        service=svc.name,
        start=spec.start,
        end=spec.end,
        events=demo["events"],
    )
    s = data.serving
    halved, doubled = max(1, s.concurrency // 2), s.concurrency * 2
    maxes = [max(1, s.max_instances // 2), s.max_instances * 2]
    schedule = (
        MinSchedule.parse(SCHEDULE, base=0, max_instances=s.max_instances)
        if s.max_instances >= 2
        else None
    )
    w = evaluate(
        data,
        concurrencies=[halved, doubled],
        min_instances=[0, 1, 2, 3],
        max_instances=maxes,
        schedule=schedule,
        startup_cpu_boost=not s.startup_cpu_boost,
    )
    rows: list[dict[str, Any]] = [
        {
            "service": svc.name,
            "case": "replay vs observed billable",
            "model": w.calibration.replayed_billable_s,
            "truth": w.calibration.observed_billable_s,
            "metric": "billable_s",
            "error": w.calibration.billable_error,
        }
    ]
    for name, sim, change in _cases(s, halved, doubled):
        row = _model_row(w, s, change)
        if change is not None and not row["allowed"]:
            rows.append({"service": svc.name, "case": name, "skipped": row["reason"]})
            continue
        rows += _truth_rows(spec, svc, name, sim, row)
    # Scheduled min instances and the startup CPU boost switched: the variants' rows.
    v = w.variants.set_index("variant", drop=False)
    if schedule is not None:
        row = v.loc[f"scheduled: {schedule.describe()}"]
        rows += _truth_rows(spec, svc, "scheduled min", SimSettings(min_schedule=schedule), row)
    flip = not s.startup_cpu_boost
    row = v.loc[f"startup CPU boost {'on' if flip else 'off'}"]
    name = f"boost {'on' if flip else 'off'}"
    rows += _truth_rows(spec, svc, name, SimSettings(startup_cpu_boost=flip), row)
    # The current settings at another region's prices (Tier 1 <-> Tier 2): the same traffic.
    there = "asia-southeast1" if prices.load().tier(svc.region) == "1" else "us-central1"
    moved = evaluate(data, calibration=w.calibration, price_region=there)
    rows += _truth_rows(spec, svc, f"prices of {there}", SimSettings(), moved.current, there)
    return rows


def _show(table: pd.DataFrame, judged: pd.DataFrame) -> None:
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print()
        print(
            judged[["service", "case", "metric", "model", "truth", "error", "ok"]]
            .round(3)
            .to_string(index=False)
        )
        skipped = table[table["metric"].isna()] if "skipped" in table else table.iloc[0:0]
        if not skipped.empty:
            print(skipped[["service", "case", "skipped"]].to_string(index=False))


@pytest.fixture(scope="module")
def judged(demo: dict[str, Any]) -> pd.DataFrame:
    """Every judged row (model vs truth, its tolerance, ok, known miss); printed with -s."""
    table = pd.DataFrame([r for svc in demo["spec"].services for r in _service_rows(demo, svc)])
    tol = {
        "billable_s": BILLABLE_TOL,
        "cost": COST_TOL,
        "cold_starts": STARTS_TOL,
        "rejected": REJECTED_TOL,
    }
    out = table.dropna(subset=["metric"]).copy()
    out["limit"] = out["metric"].map(tol)
    days = float((demo["spec"].end - demo["spec"].start).total_seconds()) / 86_400.0
    floor = (
        out["metric"]
        .map({"cold_starts": STARTS_FLOOR_IN_WINDOW / days, "rejected": REJECTED_FLOOR_PER_DAY})
        .fillna(0.0)
    )
    out["ok"] = (out["model"] - out["truth"]).abs() <= out["limit"] * out["truth"].abs() + floor
    out["known"] = [(r.service, r.case, r.metric) in KNOWN_MISSES for r in out.itertuples()]
    _show(table, out)
    return out


def test_accuracy_against_ground_truth(judged: pd.DataFrame) -> None:
    misses = judged[~judged["ok"]]
    unexpected = misses[~misses["known"]]
    for r in misses[misses["known"]].itertuples():
        print(
            f"known miss {r.service} / {r.case} / {r.metric}: {r.error:+.1%} "
            f"({KNOWN_MISSES[(r.service, r.case, r.metric)]})"
        )
    assert unexpected.empty, unexpected[["service", "case", "metric", "error"]].to_string()
    missed = {(r.service, r.case, r.metric) for r in misses.itertuples()}
    assert set(KNOWN_MISSES) <= missed, f"no longer missing: {set(KNOWN_MISSES) - missed}"


def test_every_demo_service_is_judged(demo: dict[str, Any], judged: pd.DataFrame) -> None:
    assert set(judged["service"]) == {s.name for s in demo["spec"].services}


def test_replay_reproduces_observed_billable(judged: pd.DataFrame) -> None:
    """Current-settings billable time within 10 %."""
    cur = judged[judged["metric"] == "billable_s"]
    assert (cur["error"].abs() <= BILLABLE_TOL).all()
