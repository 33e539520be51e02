"""Accuracy of the cost model against the emulator's ground truth (issue 5, "Done when").

Input comes the product's way: the demo fleet is served by the emulator, and the real
collectors read it over gRPC (metrics, revisions, instance events). For every demo service the
replay at current settings must reproduce the observed billable time within ±10 %, and for
changed settings (concurrency halved and doubled, min instances 0-3, billing switched) the
monthly cost must be within ±15 % and cold starts per day within ±30 % of the re-simulated
truth (emulator.sim.truth.ground_truth, priced with the same price book). Settings Cloud Run refuses
are skipped with the reason. Run with ``-s`` to see the table.

KNOWN_MISSES lists the cases that miss today, each with the measured miss and why; they are
reported, not hidden: the tolerances are not loosened for them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest

import config
from costmodel import prices
from costmodel.bill import Usage, price
from costmodel.inputs import service_input
from costmodel.whatif import evaluate

pytestmark = pytest.mark.slow

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BILLABLE_TOL, COST_TOL, STARTS_TOL = 0.10, 0.15, 0.30

# (service, case, metric): why it misses (measured on the seed-42, 7-day demo fleet). Empty
# since the replay models each instance-stack level's within-minute peaks (Poisson
# upcrossings carried through the idle retention, costmodel/instance_stack.py) and counts a
# deployment's first instance as a cold start; the seven earlier misses and their causes are
# in the git history of this file.
KNOWN_MISSES: dict[tuple[str, str, str], str] = {}


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    import emulator
    from collectors import clients as client_mod
    from collectors import logs, monitoring, services
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
        events = logs.fetch_instance_events(clients, [spec.project], window, settings=settings)
    finally:
        clients.close()
        emu.stop()
    assert points.quality.complete
    assert revisions.quality.complete
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


def test_accuracy_against_ground_truth(demo: dict[str, Any]) -> None:
    from emulator.sim.model import SimSettings
    from emulator.sim.truth import ground_truth

    spec = demo["spec"]
    rows: list[dict[str, Any]] = []
    for svc in spec.services:
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
        w = evaluate(data, concurrencies=[halved, doubled], min_instances=[0, 1, 2, 3])
        t = w.table[~w.table["current"]]
        other = "instance" if s.billing == "request" else "request"
        cases: list[tuple[str, SimSettings, dict[str, object] | None]] = [
            ("current", SimSettings(), None)
        ]
        for c in sorted({halved, doubled} - {s.concurrency}):
            cases.append((f"concurrency {c}", SimSettings(concurrency=c), {"concurrency": c}))
        for m in range(4):
            cases.append((f"min {m}", SimSettings(min_instances=m), {"min_instances": m}))
        cases.append(
            (f"billing {other}", SimSettings(cpu_idle=other == "request"), {"billing": other})
        )
        rows.append(
            {
                "service": svc.name,
                "case": "replay vs observed billable",
                "model": w.calibration.replayed_billable_s,
                "truth": w.calibration.observed_billable_s,
                "metric": "billable_s",
                "error": w.calibration.billable_error,
            }
        )
        for name, sim, change in cases:
            if change is None:
                row = w.current
            else:
                want = {
                    "concurrency": s.concurrency,
                    "min_instances": s.min_instances,
                    "billing": s.billing,
                    **change,
                }
                m = t
                for k, v in want.items():
                    m = m[m[k] == v]
                row = m.iloc[0]
                if not row["allowed"]:
                    rows.append({"service": svc.name, "case": name, "skipped": row["reason"]})
                    continue
            try:
                gt = ground_truth(spec, svc.region, svc.name, sim)
            except ValueError as exc:  # e.g. min above max instances: Cloud Run refuses it
                rows.append({"service": svc.name, "case": name, "skipped": str(exc)})
                continue
            cost = _truth_cost(gt, svc.region)
            starts = gt.cold_starts / gt.days
            rows.append(
                {
                    "service": svc.name,
                    "case": name,
                    "metric": "cost",
                    "model": float(row["monthly_cost"]),
                    "truth": cost,
                    "error": float(row["monthly_cost"]) / cost - 1,
                }
            )
            rows.append(
                {
                    "service": svc.name,
                    "case": name,
                    "metric": "cold_starts",
                    "model": float(row["cold_starts_per_day"]),
                    "truth": starts,
                    "error": float(row["cold_starts_per_day"]) / starts - 1 if starts else 0.0,
                }
            )
    table = pd.DataFrame(rows)
    tol = {"billable_s": BILLABLE_TOL, "cost": COST_TOL, "cold_starts": STARTS_TOL}
    judged = table.dropna(subset=["metric"]).copy()
    judged["limit"] = judged["metric"].map(tol)
    judged["ok"] = judged["error"].abs() <= judged["limit"]
    judged["known"] = [(r.service, r.case, r.metric) in KNOWN_MISSES for r in judged.itertuples()]
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
    misses = judged[~judged["ok"]]
    unexpected = misses[~misses["known"]]
    for r in misses[misses["known"]].itertuples():
        print(
            f"known miss {r.service} / {r.case} / {r.metric}: {r.error:+.1%} "
            f"({KNOWN_MISSES[(r.service, r.case, r.metric)]})"
        )
    assert unexpected.empty, unexpected[["service", "case", "metric", "error"]].to_string()
    # every demo service was judged, and current-settings billable time within 10 %
    assert set(judged["service"]) == {s.name for s in spec.services}
    cur = judged[judged["metric"] == "billable_s"]
    assert (cur["error"].abs() <= BILLABLE_TOL).all()
