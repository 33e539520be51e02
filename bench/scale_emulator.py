"""The emulator in a process of its own, answering for its RPC counts on stdin/stdout.

Used by bench/bench_scale.py (its side: bench/scale_emulator_client.py), so the simulated
fleet's memory is not the dashboard's and the bench can still read how many RPCs of each
method the dashboard made. Takes the arguments of
``python -m emulator`` that a generated fleet needs (--days, --seed, --project, --services,
--projects). Once serving it prints one line, ``ready {json}`` (the address, the build time,
the services per project), then answers one line per command:

- ``calls``: one JSON line, ``{full gRPC method name: calls since the last reset}``
- ``reset``: clears the counts, answers ``ok``
- ``rss``: the process's VmRSS in MiB (the simulated fleet and the server)
- ``quit`` or end of input: stops the server and exits

Logging goes to stderr; stdout carries only the answers.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator.api.servers import start


def _rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+)\s+kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else float("nan")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python bench/scale_emulator.py", description=__doc__)
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--project", default="runwatch-demo")
    p.add_argument("--services", type=int, default=None)
    p.add_argument("--projects", default="")
    args = p.parse_args(argv)
    projects = [x.strip() for x in args.projects.split(",") if x.strip()] or None
    t0 = time.perf_counter()
    emu = start(
        now=datetime.now(UTC),
        days=args.days,
        seed=args.seed,
        project=args.project,
        services=args.services,
        projects=projects,
    )
    built_s = time.perf_counter() - t0
    try:
        spec = emu.fleet.spec
        per_project = Counter(spec.project_of(svc) for svc in spec.services)
        ready = {"address": emu.address, "start_s": round(built_s, 2), "services": per_project}
        print("ready " + json.dumps(ready), flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "calls":
                print(json.dumps(emu.calls.snapshot()), flush=True)
            elif command == "reset":
                emu.calls.reset()
                print("ok", flush=True)
            elif command == "rss":
                print(f"{_rss_mb():.1f}", flush=True)
            elif command == "quit":
                break
            else:
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
    finally:
        emu.stop(grace=1.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
