"""Run every benchmark module, print a table, write bench/results.json and the README's table.

Each ``bench/bench_<area>.py`` exposes ``run() -> dict[str, float | int | str]`` (figure name with
its unit -> value). Figures are measured, never asserted: machines here are shared and noisy, so
the benchmarks report ratios against a floor measured in the same run where that is meaningful.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results.json"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def discover(only: list[str]) -> list[str]:
    mods = sorted(p.stem for p in HERE.glob("bench_*.py"))
    return [m for m in mods if not only or any(o in m for o in only)]


def fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def table(results: dict[str, object]) -> str:
    lines = ["| Benchmark | Figure |", "|---|---|"]
    lines += [f"| `{k}` | {fmt(v)} |" for k, v in results.items() if k != "machine"]
    return "\n".join(lines)


def update_readme(results: dict[str, object]) -> None:
    if not README.exists():
        return
    text = README.read_text()
    if START not in text or END not in text:
        return
    machine = results["machine"]
    assert isinstance(machine, dict)
    block = (
        f"{START}\nMeasured by `make bench` on {machine['date']} on a {machine['cores']}-core "
        f"{machine['platform']} machine (Python {machine['python']}):\n\n{table(results)}\n{END}"
    )
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    README.write_text(head + block + tail)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("only", nargs="*", help="run only modules whose name contains this")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite README's table")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    results: dict[str, object] = {
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.machine(),
            "python": platform.python_version(),
            "date": dt.date.today().isoformat(),
        }
    }
    if RESULTS.exists() and args.only:
        results = {**json.loads(RESULTS.read_text()), "machine": results["machine"]}
    failed = False
    for name in discover(args.only):
        t0 = time.perf_counter()
        print(f"running {name} ...", flush=True)
        try:
            figures = importlib.import_module(f"bench.{name}").run()
        except Exception:
            traceback.print_exc()
            failed = True
            continue
        results.update(figures)
        print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(results))
    if not args.no_readme:
        update_readme(results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
