"""Command line: `python -m costmodel estimate ...` and `python -m costmodel whatif ...`.

estimate prices a described workload (cost lines + total). whatif collects a service's metrics
(demo: an in-process emulator started lazily inside the command; gcp: Application Default
Credentials), calibrates, evaluates the settings grid and prints the current cost, the best
alternatives and the advice. Errors the user can act on are one line on stderr, exit status 2;
"cannot estimate because ..." exits with 3.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from costmodel.bill import money
from costmodel.errors import CannotEstimate
from costmodel.estimate import Workload, estimate
from costmodel.limits import parse_memory_gib


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m costmodel", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("estimate", help="price a described workload")
    e.add_argument("--requests-per-month", type=float, required=True)
    e.add_argument("--latency-ms", type=float, required=True, help="mean request latency")
    e.add_argument("--cpu", type=float, required=True, help="vCPU per instance, e.g. 1 or 0.5")
    e.add_argument("--memory", required=True, help="memory per instance, e.g. 256Mi or 2Gi")
    e.add_argument("--concurrency", type=int, required=True)
    e.add_argument("--billing", choices=("request", "instance"), required=True)
    e.add_argument("--region", required=True)
    e.add_argument("--min-instances", type=int, default=0)
    e.add_argument("--max-instances", type=int, default=100)
    e.add_argument("--no-free-tier", action="store_true", help="the free tier is used elsewhere")
    e.add_argument("--cud", default=None, help="cloud-run-1y | flex-1y | flex-3y")
    e.add_argument("--json", action="store_true")
    w = sub.add_parser("whatif", help="tune a running service's settings")
    w.add_argument("--service", required=True)
    w.add_argument("--region", default=None)
    w.add_argument("--days", type=int, default=7, help="days of history to replay (1-30)")
    w.add_argument("--source", choices=("demo", "gcp"), default="demo")
    w.add_argument("--project", default=None)
    w.add_argument("--free-tier", action="store_true", help="apply the monthly free tier")
    w.add_argument("--json", action="store_true")
    return p


def _estimate(args: argparse.Namespace) -> dict[str, Any]:
    w = Workload(
        requests_per_month=args.requests_per_month,
        latency_ms=args.latency_ms,
        cpu=args.cpu,
        memory_gib=parse_memory_gib(args.memory),
        concurrency=args.concurrency,
        billing=args.billing,
        region=args.region,
        min_instances=args.min_instances,
        max_instances=args.max_instances,
    )
    est = estimate(w, free_tier="none" if args.no_free_tier else "all", cud=args.cud)
    return est.to_dict()


def _print_estimate(out: dict[str, Any]) -> None:
    print(f"{'line':44s} {'quantity':>16s} {'unit':18s} {'unit price':>12s} {'cost':>10s}")
    for ln in out["lines"]:
        print(
            f"{ln['name']:44s} {ln['quantity']:16,.2f} {ln['unit']:18s} "
            f"{ln['unit_price']:12.8g} {money(ln['cost']):>10s}"
        )
    print(
        f"{'total a month (' + out['region'] + ', Tier ' + out['tier'] + ')':44s} "
        f"{'':16s} {'':18s} {'':12s} {money(out['total']):>10s}"
    )
    if out["unconfirmed_rates"]:
        print("unconfirmed rates used: " + ", ".join(out["unconfirmed_rates"]))
    print(f"prices: {out['price_source']} (as of {out['prices_as_of']})")


def _collect(args: argparse.Namespace, now: datetime) -> tuple[Any, ...]:
    """Metric points, revisions and instance events for the window, from demo or gcp."""
    import config
    from collectors import clients as client_mod
    from collectors import logs, monitoring, names, services
    from collectors.window import TimeWindow

    names.service(args.service)
    if args.region:
        names.region(args.region)
    if not 1 <= args.days <= 30:
        raise ValueError("--days must be between 1 and 30")
    emu = None
    if args.source == "demo":
        import emulator  # lazily: only the demo source starts the emulator

        emu = emulator.start(now=now, days=max(args.days, 1))
        clients = client_mod.for_emulator(emu.address)
        project = emu.fleet.spec.project
        end = emu.fleet.spec.end
    else:
        if not args.project:
            raise ValueError("--source gcp needs --project")
        project = names.project(args.project)
        clients = client_mod.for_google()
        end = now.replace(second=0, microsecond=0) - timedelta(minutes=5)
    try:
        start = end - timedelta(days=args.days)
        window = TimeWindow(start, end, 60)
        regions = (args.region,) if args.region else ()
        cfg = services.fetch_config(clients, [project], regions=regions, services=[args.service])
        scope = monitoring.MetricScope(services=(args.service,), regions=regions)
        points = monitoring.fetch_metrics(clients, [project], window, scope)
        settings = config.load({"RUNWATCH_SOURCE": args.source, "RUNWATCH_PROJECTS": project})
        try:
            events = logs.fetch_instance_events(
                clients, [project], window, scope, settings=settings
            ).frame
        except Exception:  # rejections are optional input: without them demand is served only
            events = None
        return points.frame, cfg.revisions.frame, events, start, end
    finally:
        clients.close()
        if emu is not None:
            emu.stop()


def _whatif(args: argparse.Namespace) -> dict[str, Any]:
    from costmodel.advice import advise
    from costmodel.inputs import service_input
    from costmodel.whatif import evaluate

    now = datetime.now(UTC)  # the outermost entry point: the only clock read
    points, revisions, events, start, end = _collect(args, now)
    revs = revisions[revisions["service"] == args.service]
    if revs.empty:
        raise CannotEstimate(f"service {args.service!r} was not found")
    regions = sorted(set(revs["location"]))
    region = args.region or regions[0]
    if not args.region and len(regions) > 1:
        raise ValueError(f"service {args.service} runs in {', '.join(regions)}: pass --region")
    data = service_input(
        points, revisions, region=region, service=args.service, start=start, end=end, events=events
    )
    w = evaluate(data, free_tier="all" if args.free_tier else "none")
    startup = [r.traffic.startup_s for r in data.revisions]
    tips = advise(w, startup_s=max(startup) if startup else None)

    def rec(row: Any) -> dict[str, Any]:
        keys = (
            "concurrency",
            "min_instances",
            "max_instances",
            "billing",
            "cpu",
            "memory_gib",
            "monthly_cost",
            "cold_starts_per_day",
            "cold_start_share",
            "rejected_per_day",
        )
        return {k: (row[k].item() if hasattr(row[k], "item") else row[k]) for k in keys}

    return {
        "service": args.service,
        "region": region,
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "current": rec(w.current),
        "alternatives": [rec(r) for _, r in w.alternatives(5).iterrows()],
        "advice": tips,
        "calibration_error": w.calibration.billable_error,
        "unconfirmed_rates": list(w.unconfirmed),
    }


def _print_whatif(out: dict[str, Any]) -> None:
    cur = out["current"]
    print(f"{out['service']} ({out['region']}), {out['window']['start']} .. {out['window']['end']}")
    print(f"model error against observed billable time: {out['calibration_error'] * 100:+.1f} %")

    def line(r: dict[str, Any]) -> str:
        return (
            f"concurrency {r['concurrency']:>4}  min {r['min_instances']}  {r['billing']:8s}"
            f"  {money(r['monthly_cost']):>10s}/month  {r['cold_starts_per_day']:7.1f} cold "
            f"starts/day  {r['rejected_per_day']:7.0f} rejected/day"
        )

    print("current:      " + line(cur))
    for r in out["alternatives"]:
        print("alternative:  " + line(r))
    for tip in out["advice"]:
        print("advice: " + tip)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        out = _estimate(args) if args.command == "estimate" else _whatif(args)
    except CannotEstimate as exc:
        print(f"cannot estimate because {exc}", file=sys.stderr)
        return 3
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a collector or API failure: one line, no traceback
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, indent=2, default=float))
    elif args.command == "estimate":
        _print_estimate(out)
    else:
        _print_whatif(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
