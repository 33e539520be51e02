"""Ground truth for the cost model: re-simulate one service under other settings.

``ground_truth`` replays the same arrivals (same seed, same traffic split, same per-request
service times, scaled only when the vCPU changes) with the settings applied to every revision
of the service, and reports what it really billed and suffered.

Background services of generated fleets (emulator.sim.fleetgen; simulated per minute by
fluid.py) have a truth of their own kind: the per-minute model re-run under the settings,
on the same per-minute arrivals, and its own accounting of requests, 429s, starts and
billable time (no request-level cold-start waits or queueing; see fluid.py).

CLI::

    python -m emulator.sim.truth --service checkout-api [--region europe-west1] [--days 7]
        [--seed 42] [--services N] [--projects P1,P2] [--concurrency K] [--min-instances M]
        [--max-instances X] [--billing request|instance] [--cpu C] [--memory-gib G] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime

from emulator.sim.fleetgen import build_fleet
from emulator.sim.fluid import simulate_fluid_service
from emulator.sim.model import FleetSpec, GroundTruth, SimSettings
from emulator.sim.service import simulate_service, truth_of


def ground_truth(spec: FleetSpec, region: str, service: str, settings: SimSettings) -> GroundTruth:
    """What ``service`` in ``region`` would bill and suffer over the window under ``settings``.

    Raises ValueError (plain message) for an unknown service or settings Cloud Run refuses.
    """
    for svc in spec.services:
        if svc.region == region and svc.name == service:
            if svc.background:
                runs = simulate_fluid_service(spec, svc, settings)
                return truth_of(runs, spec.minutes * 60)
            return truth_of(simulate_service(spec, svc, settings), spec.minutes * 60)
    known = ", ".join(f"{s.name} ({s.region})" for s in spec.services)
    raise ValueError(f"no service {service!r} in {region!r}; the fleet has: {known}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m emulator.sim.truth",
        description="Re-simulate a demo service under other settings and print its true cost "
        "drivers (billable vCPU/GiB seconds, cold starts, rejections).",
    )
    p.add_argument("--service", required=True, help="service name, e.g. checkout-api")
    p.add_argument("--region", default=None, help="region (default: the service's only one)")
    p.add_argument("--days", type=int, default=7, help="window length in days (1-30)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--project", default="runwatch-demo")
    p.add_argument("--services", type=int, default=None, help="fleet size (emulator.sim.fleetgen)")
    p.add_argument("--projects", default="", help="the fleet's projects, comma-separated")
    p.add_argument("--concurrency", type=int)
    p.add_argument("--min-instances", type=int)
    p.add_argument("--max-instances", type=int)
    p.add_argument("--billing", choices=("request", "instance"))
    p.add_argument("--cpu", type=float)
    p.add_argument("--memory-gib", type=float)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def main(argv: Sequence[str] | None = None, now: datetime | None = None) -> int:
    """CLI entry point; ``now`` defaults to the clock here, at the outermost entry only."""
    args = _parser().parse_args(argv)
    now = now or datetime.now(UTC)
    try:
        projects = [p.strip() for p in args.projects.split(",") if p.strip()] or None
        spec = build_fleet(now, args.days, args.seed, args.project, args.services, projects)
        regions = sorted({s.region for s in spec.services if s.name == args.service})
        region = args.region or (regions[0] if len(regions) == 1 else "")
        if not region:
            names = sorted({s.name for s in spec.services})
            raise ValueError(f"unknown service {args.service!r}; choose one of {names}")
        settings = SimSettings(
            concurrency=args.concurrency,
            min_instances=args.min_instances,
            max_instances=args.max_instances,
            cpu_idle=None if args.billing is None else args.billing == "request",
            cpu=args.cpu,
            memory_gib=args.memory_gib,
        )
        truth = ground_truth(spec, region, args.service, settings)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    data = asdict(truth)
    if args.json:
        print(json.dumps({"service": args.service, "region": region, **data}, indent=2))
    else:
        window = f"{spec.start:%Y-%m-%d %H:%M} .. {spec.end:%Y-%m-%d %H:%M} UTC"
        print(f"{args.service} ({region}), {window}")
        for key, value in data.items():
            shown = f"{value:,.1f}" if isinstance(value, float) else str(value)
            print(f"  {key:<28} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
