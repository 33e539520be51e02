"""Ground truth for the cost model: re-simulate one service under other settings.

``ground_truth`` replays the same arrivals (same seed, same traffic split, same per-request
service times, scaled only when the vCPU changes) with the settings applied to every revision
of the service, and reports what it really billed and suffered.

Background services of generated fleets (emulator.sim.fleetgen; simulated per minute by
fluid.py) have a truth of their own kind: the per-minute model re-run under the settings,
on the same per-minute arrivals, and its own accounting of requests, 429s, starts and
billable time (no request-level cold-start waits or queueing; see fluid.py).

Settings (``SimSettings``) apply to every revision of the service; besides the scalar ones:

- a min schedule (``min_schedule``, foundation/min_schedule.py): the min instances follow its
  windows, as the jobs carrying out a schedule would set them; outside the windows it is the
  schedule's base. Each revision runs with the floor per second (the schedule's floor of each
  minute from the window start); a min below the current instances' level makes them ordinary
  idle instances (idle retention, then shutdown);
- startup CPU boost on or off (``startup_cpu_boost``): shorter starts, and the boost's extra
  vCPU billed from each start until 10 s after the instance is ready (UNCONFIRMED billing,
  emulator/sim/instances.py; ``GroundTruth.boost_vcpu_seconds``).

CLI::

    python -m emulator.sim.truth --service checkout-api [--region europe-west1] [--days 7]
        [--seed 42] [--services N] [--projects P1,P2] [--concurrency K] [--min-instances M]
        [--max-instances X] [--billing request|instance] [--cpu C] [--memory-gib G]
        [--min-schedule "2@mon-fri 08:00-20:00"] [--schedule-tz Europe/Berlin]
        [--startup-cpu-boost on|off] [--json]

``--min-schedule``'s base (the min outside its windows) is ``--min-instances`` when given,
else the min instances of the service's serving revision: the one with the largest traffic
share at the window's end (the newest of those on a tie), whose settings a schedule's jobs
would change. ``--schedule-tz`` (an IANA name, default UTC) is the zone of the schedule's
times. A schedule that cannot be carried out exits 2 with ``error: <reason>``, like every
refused setting.
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
from emulator.sim.model import FleetSpec, GroundTruth, RevisionSpec, ServiceSpec, SimSettings
from emulator.sim.service import simulate_service, truth_of
from foundation.min_schedule import MinSchedule


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


def serving_revision(svc: ServiceSpec) -> RevisionSpec:
    """The revision with the largest traffic share at the window's end (the last traffic
    change; the newest of those on a tie)."""
    last = svc.traffic[-1].percents
    return max(svc.revisions, key=lambda r: (last.get(r.name, 0), r.create_time, r.name))


def _schedule(spec: FleetSpec, region: str, args: argparse.Namespace) -> MinSchedule | None:
    """The CLI's min schedule over its base (see the module docstring); None without one."""
    if args.min_schedule is None:
        if args.schedule_tz is not None:
            raise ValueError("--schedule-tz needs --min-schedule")
        return None
    found = [s for s in spec.services if s.region == region and s.name == args.service]
    if not found:  # ground_truth says which services there are
        ground_truth(spec, region, args.service, SimSettings())
    rev = serving_revision(found[0])
    base = rev.min_instances if args.min_instances is None else args.min_instances
    top = rev.max_instances if args.max_instances is None else args.max_instances
    return MinSchedule.parse(
        args.min_schedule, base=base, tz=args.schedule_tz or "UTC", max_instances=top
    )


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
    p.add_argument(
        "--min-schedule",
        help="scheduled min instances, e.g. '2@mon-fri 08:00-20:00' (base: --min-instances, "
        "else the serving revision's min instances)",
    )
    p.add_argument("--schedule-tz", help="time zone of the schedule's times (default UTC)")
    p.add_argument("--startup-cpu-boost", choices=("on", "off"))
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
        boost = args.startup_cpu_boost
        settings = SimSettings(
            concurrency=args.concurrency,
            min_instances=args.min_instances,
            max_instances=args.max_instances,
            cpu_idle=None if args.billing is None else args.billing == "request",
            cpu=args.cpu,
            memory_gib=args.memory_gib,
            min_schedule=_schedule(spec, region, args),
            startup_cpu_boost=None if boost is None else boost == "on",
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
