"""``python -m collectors export``: collect a window for analysts or to check a setup.

    python -m collectors export [--source demo|gcp] [--project P] [--region R] [--service S]
                                [--window 7d] [--out DIR] [--csv] [--json]

Writes every frame (Parquet, or CSV with --csv) to DIR and prints a summary (one JSON object
with --json). Exit status: 0 on success (partial data included: the summary says what is
missing), 1 when a collector failed outright or Google could not be reached (one line on
stderr, no traceback), 2 on bad flags or configuration.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from foundation import names
from foundation.window import PRESETS

PROG = "python -m collectors"


def _validator(check: Callable[[object], str]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        try:
            return check(value)
        except names.InvalidName as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="runwatch collectors")
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser(
        "export",
        help="collect every frame for a window and write it to files",
        description="Collect metrics, lifecycle logs and configuration for a window; write "
        "every frame to files and print a summary.",
    )
    exp.add_argument(
        "--source",
        choices=("demo", "gcp"),
        help="demo: start the embedded emulator; gcp: Google Cloud with Application Default "
        "Credentials (default: RUNWATCH_SOURCE, see config.py)",
    )
    exp.add_argument(
        "--project",
        action="append",
        type=_validator(names.project),
        help="project id (repeatable; default: RUNWATCH_PROJECTS, or the demo project)",
    )
    exp.add_argument(
        "--region",
        action="append",
        type=_validator(names.region),
        help="region (repeatable; default: every region)",
    )
    exp.add_argument(
        "--service",
        action="append",
        type=_validator(names.service),
        help="service name (repeatable; default: every service)",
    )
    exp.add_argument("--window", choices=tuple(PRESETS), default="7d", help="default: 7d")
    exp.add_argument(
        "--out", type=Path, default=Path("runwatch-export"), help="default: ./runwatch-export"
    )
    exp.add_argument("--csv", action="store_true", help="write CSV instead of Parquet")
    exp.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    return parser


def _fail(message: str, code: int = 1) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def export(args: argparse.Namespace, now: datetime) -> int:
    import config
    from collectors import clients as clients_mod
    from collectors import export as export_mod
    from collectors.collect import collect
    from collectors.errors import RunwatchError
    from foundation.window import TimeWindow

    try:
        settings = config.load()
    except config.ConfigError as exc:
        return _fail(f"configuration: {exc}", 2)
    source = args.source or settings.source
    window = TimeWindow.preset(args.window, now)
    emu: Any = None
    try:
        if source == "demo":
            projects = list(args.project or [settings.demo_project])
            if len(projects) != 1:
                return _fail("the demo fleet lives in one project: give at most one --project", 2)
            address = settings.emulator_address
            if not address:
                # The one place in collectors/ that imports the emulator: lazily, here in the
                # CLI entry (only app_data in demo mode, the tests and this command line start
                # it; README.md, Architecture, and tests/test_foundation_layering.py).
                import emulator

                days = max(settings.demo_days, math.ceil(window.span.total_seconds() / 86400))
                emu = emulator.start(
                    now=now, days=min(days, 30), seed=settings.demo_seed, project=projects[0]
                )
                address = emu.address
            clients = clients_mod.for_emulator(
                address, policy=clients_mod.policy_from_settings(settings)
            )
        else:
            projects = list(args.project or settings.projects)
            if not projects:
                return _fail("--source gcp needs --project or RUNWATCH_PROJECTS", 2)
            clients = clients_mod.for_google(policy=clients_mod.policy_from_settings(settings))
        try:
            scope = _scope(args.service, args.region or settings.regions)
            bundle = collect(clients, projects, window, scope, settings=settings)
            if bundle.errors and all(r.frame.empty for r in bundle.frames.values()):
                return _fail(bundle.errors[0])  # nothing came back: no empty files
            files = export_mod.write_frames(bundle, args.out, csv=args.csv)
        finally:
            clients.close()
        data = export_mod.summary(
            bundle, source=source, projects=projects, window=window, files=files
        )
        print(json.dumps(data) if args.json else export_mod.text_summary(data))
        if bundle.errors:
            return _fail(bundle.errors[0])
        return 0
    except RunwatchError as exc:
        return _fail(exc.message)
    except (OSError, ValueError) as exc:
        return _fail(f"{type(exc).__name__}: {exc}")
    finally:
        if emu is not None:
            emu.stop()


def _scope(services: Sequence[str] | None, regions: Sequence[str]) -> Any:
    from collectors.monitoring import MetricScope

    return MetricScope(services=tuple(services or ()), regions=tuple(regions))


def main(argv: Sequence[str] | None = None, *, now: datetime | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "export":
        try:
            # The outermost entry: the only place the export reads the clock.
            return export(args, now or datetime.now(UTC))
        except KeyboardInterrupt:
            return _fail("interrupted", 130)
        except Exception as exc:  # no traceback for users: one line that says what failed
            return _fail(f"unexpected {type(exc).__name__}: {exc}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
