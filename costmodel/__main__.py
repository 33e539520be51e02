"""Command line: `python -m costmodel estimate ...` and `python -m costmodel whatif ...`.

estimate prices a described workload (cost lines + total). whatif collects a service's metrics,
revisions and request logs under the settings of config.py (the source, the RPC timeout, the
Logging budget; demo: the running emulator at RUNWATCH_EMULATOR_ADDRESS, else an in-process
one started inside the command; gcp: Application Default Credentials), calibrates, evaluates
the settings grid and prints the current cost, the best alternatives and the advice: the Cost
page's pipeline (costmodel.service_whatif), prices (the Cloud Billing Catalog's, or the bundled
book) and free-tier default (RUNWATCH_FREE_TIER), so for the same window (--start/--end, as a
custom window's link) it prints the page's numbers.

Inputs that failed or came back partial are never hidden: the output names them (text, and
the "quality" field of --json), a figure they leave unknown is printed as unknown with the
reason, and no advice is given from partial data.

Exit status:
  0  success, every input complete
  1  Google (or the emulator) could not give the inputs: nothing was estimated
  2  bad flags or configuration
  3  cannot estimate (the reason is printed: too little data, a setting Cloud Run refuses)
  4  partial data: some input failed or is incomplete; the figures it affects are unknown or
     marked partial, and the output says which input failed
Errors are one line on stderr, in plain words.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from actions.min_schedule import min_schedule_commands
from actions.service_update import Setting, update_command
from costmodel import gaps, prices, sku_book
from costmodel.cli_output import print_estimate, print_whatif, whatif_figures
from costmodel.errors import CannotEstimate
from costmodel.estimate import Workload, estimate
from costmodel.limits import parse_memory_gib
from costmodel.sku_book import PriceSource

OK, API_FAILURE, USAGE, CANNOT_ESTIMATE, PARTIAL = 0, 1, 2, 3, 4


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
    e.add_argument("--cud", default=None, help="cloud-run-1y | flex-1y | flex-3y | flex-request")
    e.add_argument("--json", action="store_true")
    w = sub.add_parser("whatif", help="tune a running service's settings")
    w.add_argument("--service", required=True)
    w.add_argument("--region", default=None)
    w.add_argument("--days", type=int, default=7, help="days of history to replay (1-30)")
    w.add_argument(
        "--start", default=None, help="replay from this ISO 8601 time (with --end, not --days)"
    )
    w.add_argument("--end", default=None, help="replay up to this ISO 8601 time")
    w.add_argument(
        "--source",
        choices=("demo", "gcp"),
        default=None,
        help="demo fleet or Google Cloud (default: RUNWATCH_SOURCE, see config.py)",
    )
    w.add_argument(
        "--project", default=None, help="default: RUNWATCH_PROJECTS, or the demo project"
    )
    w.add_argument(
        "--free-tier",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="apply the monthly free tier (default: RUNWATCH_FREE_TIER, as the dashboard)",
    )
    w.add_argument(
        "--price-region",
        default=None,
        help="price the same traffic at another region's rates (latency is not modelled)",
    )
    w.add_argument(
        "--min-schedule",
        default="",
        help="scheduled min instances, e.g. '2@mon-fri 08:00-20:00; 0 otherwise' (the base "
        "is the current min unless the schedule says one)",
    )
    w.add_argument(
        "--schedule-tz", default="UTC", help="the schedule's time zone (IANA name, default UTC)"
    )
    w.add_argument(
        "--startup-cpu-boost",
        choices=("on", "off"),
        default=None,
        help="the current settings with startup CPU boost on or off",
    )
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


class ApiFailure(Exception):
    """Google (or the emulator) could not give what the command needs; the message says what."""


def _collect(args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    """The service's metric points, revisions and instance events (collectors.collect, with
    their qualities) for the window, from the demo fleet or Google, under the settings of
    config.py (RPC timeout, Logging budget, RUNWATCH_EMULATOR_ADDRESS)."""
    import config
    from collectors import clients as client_mod
    from collectors.collect import collect
    from collectors.errors import RunwatchError
    from collectors.monitoring import MetricScope
    from foundation import names
    from foundation.window import TimeWindow

    names.service(args.service)
    for flag in (args.region, args.price_region):
        if flag:
            names.region(flag)
    if not 1 <= args.days <= 30:
        raise ValueError("--days must be between 1 and 30")
    given = _given_window(args)
    try:
        settings = config.load()
    except config.ConfigError as exc:
        raise ValueError(f"configuration: {exc}") from None
    source = args.source or settings.source
    policy = client_mod.policy_from_settings(settings)
    live_end = now.replace(second=0, microsecond=0) - timedelta(minutes=5)
    emu = None
    if source == "demo":
        project = names.project(args.project or settings.demo_project)
        if settings.emulator_address:  # a running `python -m emulator`, as the dashboard uses
            clients = client_mod.for_emulator(settings.emulator_address, policy=policy)
            end = live_end
        else:
            import emulator  # lazily: only the demo source starts the emulator

            emu = emulator.start(now=now, days=args.days, seed=settings.demo_seed, project=project)
            clients = client_mod.for_emulator(emu.address, policy=policy)
            end = emu.fleet.spec.end
    else:
        chosen = args.project or (settings.projects[0] if len(settings.projects) == 1 else "")
        if not chosen:
            raise ValueError("--source gcp needs --project (or one project in RUNWATCH_PROJECTS)")
        project = names.project(chosen)
        clients = client_mod.for_google(policy=policy)
        end = live_end
    try:
        start, end = given if given else (end - timedelta(days=args.days), end)
        window = TimeWindow(start, end, 60)
        regions = (args.region,) if args.region else ()
        scope = MetricScope(services=(args.service,), regions=regions)
        try:
            bundle = collect(
                clients, [project], window, scope, settings=settings, metrics=gaps.METRICS
            )
        except RunwatchError as exc:
            raise ApiFailure(exc.message) from None
        metrics = bundle.frames["metric_points"]
        if metrics.frame.empty and not metrics.quality.complete:
            # no metric came back (a failed metric is partial, an idle service complete)
            raise ApiFailure(gaps.problem(metrics.quality))
        return {
            "frames": bundle.frames,
            "start": start,
            "end": end,
            "prices": _prices(clients, now),
            "free_tier": settings.free_tier if args.free_tier is None else args.free_tier,
            "project": project,
            "boost_startup_percent": settings.boost_startup_percent,
        }
    finally:
        clients.close()
        if emu is not None:
            emu.stop()


def _given_window(args: argparse.Namespace) -> tuple[datetime, datetime] | None:
    """``--start`` and ``--end`` (both or neither), whole minutes, at most 30 days apart."""
    if args.start is None and args.end is None:
        return None
    if args.start is None or args.end is None:
        raise ValueError("--start and --end go together")
    try:
        start, end = datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)
    except ValueError:
        raise ValueError(
            "--start and --end must be ISO 8601 times, e.g. 2026-12-01T00:00Z"
        ) from None
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("--start and --end need a timezone (Z or +00:00)")
    if start.second or start.microsecond or end.second or end.microsecond:
        raise ValueError("--start and --end must be whole minutes")
    if not timedelta(hours=1) <= end - start <= timedelta(days=30):
        raise ValueError("--end must be 1 hour to 30 days after --start")
    return start.astimezone(UTC), end.astimezone(UTC)


def _prices(clients: Any, now: datetime) -> PriceSource:
    """Cloud Run's prices from the Cloud Billing Catalog, as the dashboard reads them; the
    bundled book, with why, when the catalog cannot be read."""
    from collectors.errors import RunwatchError
    from collectors.skus import fetch_skus

    try:
        skus = fetch_skus(clients)
    except RunwatchError as exc:
        return sku_book.unreadable(exc.message)
    return sku_book.book_from_skus(skus, prices.load(), read_at=sku_book.read_at(now)).source


def _quality(frames: dict[str, Any], holes: gaps.Gaps) -> dict[str, Any]:
    """The "quality" of the output: overall status, what failed, and each input's quality."""
    inputs = {n: frames[n].quality for n in ("metric_points", "revisions", "instance_events")}
    order = {"complete": 0, "truncated": 1, "partial": 2, "stale": 3}
    worst = max((q.status for q in inputs.values()), key=order.__getitem__)
    return {
        "status": "complete" if holes.complete and worst == "complete" else "partial",
        "failed": [f"{name}: {why}" for name, why in holes.failed()],
        "inputs": {n: {"status": q.status, "reasons": list(q.reasons)} for n, q in inputs.items()},
    }


def _whatif(args: argparse.Namespace) -> dict[str, Any]:
    from costmodel.service_whatif import evaluate

    now = datetime.now(UTC)  # the outermost entry point: the only clock read
    got = _collect(args, now)
    frames, start, end = got["frames"], got["start"], got["end"]
    points = frames["metric_points"].frame
    revisions = frames["revisions"].frame
    events = frames["instance_events"].frame
    region = _region_of(args, frames)
    holes = gaps.assess(
        points,
        revisions,
        service=args.service,
        region=region,
        metrics=frames["metric_points"].quality,
        config=frames["revisions"].quality,
        logs=frames["instance_events"].quality,
    )
    out: dict[str, Any] = {
        "service": args.service,
        "region": region,
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "quality": _quality(frames, holes),
        "current": None,
        "alternatives": [],
        "advice": [],
        "calibration_error": None,
        "unknown": holes.whatif,  # why the current cost and the what-if are unknown
        "partial": "",  # why the figures shown are partial
        "unconfirmed_rates": [],
        "prices": got["prices"].text,
    }
    if holes.whatif:
        return out
    w, tips = evaluate(  # the Cost page's pipeline (costmodel.service_whatif)
        points,
        revisions,
        events,
        region=region,
        service=args.service,
        start=start,
        end=end,
        book=got["prices"].book,
        free_tier=got["free_tier"],
        price_region=args.price_region or "",
        advise=not holes.rejections,
        min_schedule=args.min_schedule,
        schedule_tz=args.schedule_tz,
        startup_cpu_boost=args.startup_cpu_boost or "",
        boost_startup_percent=got["boost_startup_percent"],
    )
    if w.schedule_refused:
        raise ValueError(f"--min-schedule: {w.schedule_refused}")
    out["free_tier"] = got["free_tier"]
    out.update(whatif_figures(w, tips, holes.rejections))
    current = Setting.of(w.current)
    for alt in out["alternatives"]:  # the command that applies each
        alt["command"] = update_command(
            current, Setting.of(alt), project=got["project"], region=region, service=args.service
        )
    if w.schedule is not None:
        out["schedule_commands"] = min_schedule_commands(
            w.schedule,
            project=got["project"],
            region=region,
            service=args.service,
            revision_min=int(w.current["min_instances"]),
            now=end,
        )
    return out


def _region_of(args: argparse.Namespace, frames: dict[str, Any]) -> str:
    """The service's region: --region, else its only one (CannotEstimate when not found)."""
    revisions = frames["revisions"].frame
    revs = revisions[revisions["service"] == args.service]
    if revs.empty:
        failed = gaps.problem(frames["revisions"].quality)
        if failed:  # the Admin API failed: not "not found"
            raise ApiFailure(f"the configuration of {args.service} could not be read: {failed}")
        raise CannotEstimate(f"service {args.service!r} was not found")
    regions = sorted(set(revs["location"]))
    region: str = args.region or regions[0]
    if not args.region and len(regions) > 1:
        raise ValueError(f"service {args.service} runs in {', '.join(regions)}: pass --region")
    return region


def _fail(message: str, status: int) -> int:
    print(message, file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        out = _estimate(args) if args.command == "estimate" else _whatif(args)
    except CannotEstimate as exc:
        return _fail(f"cannot estimate because {exc}", CANNOT_ESTIMATE)
    except ApiFailure as exc:
        return _fail(f"error: {exc}", API_FAILURE)
    except ValueError as exc:  # bad flags or configuration (names.InvalidName too)
        return _fail(f"error: {exc}", USAGE)
    except OSError as exc:  # e.g. the embedded emulator could not open a port
        return _fail(f"error: {exc.strerror or exc}", API_FAILURE)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    if args.json:
        print(json.dumps(out, indent=2, default=float))
    elif args.command == "estimate":
        print_estimate(out)
    else:
        print_whatif(out)
    if args.command == "whatif" and out["quality"]["status"] != "complete":
        names = [f.split(":", 1)[0] for f in out["quality"]["failed"]] or ["some input"]
        return _fail(
            f"partial data, figures not trustworthy: {' and '.join(names)} incomplete "
            "(the output says what failed and what is unknown)",
            PARTIAL,
        )
    return OK


if __name__ == "__main__":
    sys.exit(main())
