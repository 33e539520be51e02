"""python -m emulator: serve the simulated fleet on one port until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import UTC, datetime
from types import FrameType

from emulator.api import faults as faults_mod
from emulator.api.faults import Faults, FaultSpecError, parse_spec
from emulator.api.servers import start


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m emulator",
        description="Serve Google's Monitoring, Logging and Cloud Run Admin v2 APIs on one "
        "loopback gRPC port, answering from a simulated Cloud Run fleet.",
        epilog="FAULTS SPEC\n" + (faults_mod.__doc__ or "").split("Spec grammar", 1)[-1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, default=0, help="port to listen on (0: any free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--days", type=int, default=7, help="days of simulated history, 1-30")
    p.add_argument("--seed", type=int, default=42, help="seed of the simulation")
    p.add_argument("--project", default="runwatch-demo", help="project id of the fleet")
    p.add_argument(
        "--services",
        type=int,
        default=None,
        metavar="N",
        help="services in the fleet: the demo's 7, then generated variations (default: 7)",
    )
    p.add_argument(
        "--projects",
        default="",
        metavar="P1,P2,...",
        help="projects the services are spread over (the first holds the demo's; "
        "default: --project)",
    )
    p.add_argument(
        "--scoping-project",
        default="",
        metavar="P0",
        help="a project whose ListTimeSeries reads every project's series (a metrics scope)",
    )
    p.add_argument("--faults", default="", metavar="SPEC", help="faults to inject (see below)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not 0 <= args.port <= 65535:
        print(f"error: --port must be 0-65535, got {args.port}", file=sys.stderr)
        return 2
    if not 1 <= args.days <= 30:
        print(f"error: --days must be between 1 and 30, got {args.days}", file=sys.stderr)
        return 2
    try:
        faults = Faults(parse_spec(args.faults))
    except FaultSpecError as e:
        print(f"error: --faults: {e}", file=sys.stderr)
        return 2
    projects = [p.strip() for p in args.projects.split(",") if p.strip()] or None
    try:
        emu = start(
            host=args.host,
            port=args.port,
            now=datetime.now(UTC),  # the outermost entry: the only place the clock is read
            days=args.days,
            seed=args.seed,
            project=args.project,
            faults=faults,
            services=args.services,
            projects=projects,
            scoping_project=args.scoping_project,
        )
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    done = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print(f"emulator listening on {emu.address}", flush=True)
    done.wait()
    emu.stop(grace=1.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
