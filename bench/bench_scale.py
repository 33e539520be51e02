"""How the dashboard holds up as the fleet grows: 7, 100 and 500 services, 24 h and 7 d windows.

For each fleet the emulator runs in a process of its own (bench/scale_emulator.py, so the
simulated fleet's memory is not the dashboard's), always with 7 days of history (the 500-service
fleet builds in about 20 s, so a 1-day fleet for 24h-only runs would save little, and both
windows then read the same fleet). For each window a fresh dashboard is served against it per
page (``RUNWATCH_SOURCE=demo RUNWATCH_EMULATOR_ADDRESS=<the emulator>``) with a fresh Chromium
profile, so every first visit is a deep link's first visit to a cold server:

- overview (``/?window=W``), revisions and cost of checkout-api (``/revisions?service=...``,
  ``/cost?service=...``; a demo service, in every fleet's first project): time to the first
  drawn, visible chart in Debian's Chromium on the first visit and on a second one (a new
  browser page, same server; the median of SECOND_VISITS such pages, whose first one's RPCs are
  counted), timed in the page as bench/bench_dashboard.py does (its PROBE_JS)
  -> ``scale_<N>svc_<W>_<page>_{first,second}_chart_s``, the server's script run as the browser
  sees it -> ``..._script_run_s``, and the RPCs the emulator answered during each visit, per
  method (short name) and in total -> ``..._{first,second}_calls_<Method>``. A visit's calls
  are counted until none came for 2 s after the page went idle (work the page left running in
  the background counts for that visit).
- memory of the overview's server (VmRSS): with the first visit's page open
  (``scale_<N>svc_<W>_rss_1_session_mb``) and with 10 sessions open on the overview
  (``..._rss_10_sessions_mb``), plus its peak (VmHWM).
- ratios in the same run against the 7-service fleet: ``scale_overview_first_visit_ratio_<N>_vs_7``
  (target <= 3 for 500), ``scale_overview_second_visit_ratio_<N>_vs_7`` (target <= 1.5),
  ``scale_revisions_time_ratio_<N>_vs_7`` (first visit; target <= 1.2) and
  ``scale_revisions_second_visit_ratio_<N>_vs_7``, ``scale_cost_time_ratio_<N>_vs_7``. Names
  without a window are the 24h window (the dashboard's default); the 7d ones end in ``_7d``.

Projects: the 500-service fleet spreads over runwatch-demo,runwatch-a,runwatch-b; the bench
passes them in RUNWATCH_DEMO_PROJECTS, so the dashboard watches all three and its overview
shows every service ("All projects"). ``scale_<N>svc_projects_watched`` and
``scale_<N>svc_services_watched`` say what it was.

A second visit normally makes no RPC (the views are cached); one that does (a ``_second_calls_``
figure above 0) most likely crossed a RUNWATCH_CACHE_TTL_S boundary, to which window ends are
rounded, and reloaded the view: its time is then a first visit's.

First visits are one load each (a cold server per load), so their ratios are noisy on a shared
machine: read them alongside the per-visit RPC counts, which are exact.

Each page load is time-boxed (PAGE_TIMEOUT_S); a load that does not draw a chart in time is
recorded as "timeout", one that shows Streamlit's exception instead as "error" (and the
exception's first lines in ``..._error``). Every child process (emulator, dashboards, browser)
is stopped at the end.

Environment (for quick runs):
- RUNWATCH_BENCH_SCALE_FLEETS: comma-separated fleet sizes out of 7,100,500 (default: all)
- RUNWATCH_BENCH_SCALE_WINDOWS: comma-separated windows out of 24h,7d (default "24h,7d")
- RUNWATCH_BENCH_SCALE_PAGES: comma-separated pages out of overview,revisions,cost (default: all)

``run()`` returns figures with units in their names; ``make bench`` records them. Not a test.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import harness
from bench.bench_dashboard import PROBE_JS
from bench.scale_emulator_client import ScaleEmulator

FLEETS: dict[int, tuple[str, ...]] = {  # services -> the projects they are spread over
    7: ("runwatch-demo",),
    100: ("runwatch-demo",),
    500: ("runwatch-demo", "runwatch-a", "runwatch-b"),
}
WINDOWS = ("24h", "7d")
DEFAULT_WINDOW = "24h"  # config's RUNWATCH_DEFAULT_WINDOW default: its ratios carry no suffix
EMULATOR_DAYS = 7
SERVICE = "checkout-api"
PAGES = {
    "overview": "/?window={window}",
    "revisions": f"/revisions?service={SERVICE}&window={{window}}",
    "cost": f"/cost?service={SERVICE}&window={{window}}",
}
SESSIONS = 10
SECOND_VISITS = 3  # second-visit times: the median of this many (calls: the first's)
PAGE_TIMEOUT_S = 600.0
TIMEOUT = "timeout"
ERROR = "error"

Figures = dict[str, float | int | str]


@contextlib.contextmanager
def scale_emulator(services: int, projects: tuple[str, ...]) -> Iterator[ScaleEmulator]:
    emu = ScaleEmulator(services, projects, EMULATOR_DAYS)
    try:
        yield emu
    finally:
        emu.stop()


# Drawn a chart, or shown Streamlit's exception element (the script raised: no chart comes).
CHART_OR_ERROR_JS = (
    "window.__firstChartMs !== undefined || "
    "document.querySelector('[data-testid=\"stException\"]') !== null"
)
EXCEPTION_JS = """
() => Array.from(document.querySelectorAll('[data-testid="stException"]'))
    .map(e => e.innerText.split('\\n').filter(l => l.trim()).slice(0, 2).join(' ')).join(' | ')
"""


@dataclass
class Visit:
    first_chart_s: float | str  # or TIMEOUT, or ERROR when the page raised before any chart
    script_run_s: float | str
    error: str = ""  # the page's exception, if it showed one
    page: Any = None  # kept open when asked


def _visit(browser: Any, url: str, keep_open: bool = False) -> Visit:
    """One fresh browser page on ``url``: seconds to its first drawn chart and of its first
    script run, or "timeout" when the chart (or the run's end) took more than PAGE_TIMEOUT_S,
    or "error" when the page showed an exception instead of a chart."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + PAGE_TIMEOUT_S

    def left_ms() -> float:
        return max(1_000.0, (deadline - time.monotonic()) * 1000)

    page = browser.new_page()
    first_chart: float | str = TIMEOUT
    script_run: float | str = TIMEOUT
    error = ""
    try:
        page.goto(url, wait_until="commit", timeout=left_ms())
        page.wait_for_function(CHART_OR_ERROR_JS, timeout=left_ms())
        if page.evaluate("window.__firstChartMs !== undefined"):
            first_chart = round(float(page.evaluate("window.__firstChartMs")) / 1000, 3)
        harness.wait_idle(page, left_ms())
        error = str(page.evaluate(EXCEPTION_JS))[:300]
        if error and first_chart == TIMEOUT:
            first_chart = ERROR
        runs = page.evaluate("window.__runs")
        start = next(t for t, state in runs if state == "running")
        end = next(t for t, state in runs if state == "notRunning" and t > start)
        script_run = round(float(end - start) / 1000, 3)
    except (PlaywrightError, StopIteration):
        pass  # a timeout (or a run never seen to end): what was measured stays, the rest TIMEOUT
    if not keep_open:
        page.close()
        page = None
    return Visit(first_chart, script_run, error, page)


def _call_figures(prefix: str, counts: dict[str, int]) -> Figures:
    short: dict[str, int] = {}
    for method, n in counts.items():
        name = method.rsplit("/", 1)[-1]
        short[name] = short.get(name, 0) + n
    out: Figures = {f"{prefix}_calls_{name}": n for name, n in sorted(short.items())}
    out[f"{prefix}_calls_total"] = sum(short.values())
    return out


def _visit_figures(prefix: str, visit: Visit, counts: dict[str, int]) -> Figures:
    out: Figures = {
        f"{prefix}_chart_s": visit.first_chart_s,
        f"{prefix}_script_run_s": visit.script_run_s,
        **_call_figures(prefix, counts),
    }
    if visit.error:
        out[f"{prefix}_error"] = visit.error
    return out


def _median(visits: list[Visit], field: str) -> float | str:
    """The median of the visits' ``field``; a visit that failed (TIMEOUT, ERROR) fails it."""
    values = [getattr(v, field) for v in visits]
    failed = [v for v in values if isinstance(v, str)]
    return failed[0] if failed else round(statistics.median(values), 3)


def _sessions_rss(browser: Any, dash: harness.Served, url: str, already_open: int) -> float | str:
    """VmRSS of the server with SESSIONS sessions open on ``url`` (``already_open`` are)."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + PAGE_TIMEOUT_S
    pages = [browser.new_page() for _ in range(SESSIONS - already_open)]
    try:
        for page in pages:  # all at once: the runs overlap on the server
            page.goto(url, wait_until="commit", timeout=PAGE_TIMEOUT_S * 1000)
        for page in pages:
            left = max(1_000.0, (deadline - time.monotonic()) * 1000)
            harness.wait_idle(page, left)
            page.wait_for_selector(harness.CHART, state="visible", timeout=left)
        time.sleep(1)
        return round(dash.rss_mb(), 1)
    except PlaywrightError:
        return TIMEOUT
    finally:
        for page in pages:
            page.close()


def _page_figures(
    emu: ScaleEmulator, dash_env: dict[str, str], page_name: str, window: str, prefix: str
) -> Figures:
    """First and second visit of one page on a fresh dashboard (and, for the overview, its
    memory with 1 and SESSIONS sessions)."""
    out: Figures = {}
    with harness.serve("dashboard.py", dash_env) as dash, harness.chromium() as browser:
        browser.add_init_script(PROBE_JS)
        url = dash.url(PAGES[page_name].format(window=window))
        overview = page_name == "overview"
        emu.reset()
        first = _visit(browser, url, keep_open=overview)
        out.update(_visit_figures(f"{prefix}_{page_name}_first", first, emu.settled_calls()))
        if first.page is not None:
            time.sleep(1)
            out[f"{prefix}_rss_1_session_mb"] = round(dash.rss_mb(), 1)
            first.page.close()
        emu.reset()
        second = _visit(browser, url, keep_open=overview)
        out.update(_visit_figures(f"{prefix}_{page_name}_second", second, emu.settled_calls()))
        more = [_visit(browser, url) for _ in range(SECOND_VISITS - 1)]  # times only
        out[f"{prefix}_{page_name}_second_chart_s"] = _median([second, *more], "first_chart_s")
        out[f"{prefix}_{page_name}_second_script_run_s"] = _median([second, *more], "script_run_s")
        if second.page is not None:
            try:  # sessions that draw no chart would only wait out the time box
                drew = isinstance(second.first_chart_s, float)
                out[f"{prefix}_rss_{SESSIONS}_sessions_mb"] = (
                    _sessions_rss(browser, dash, url, already_open=1)
                    if drew
                    else second.first_chart_s
                )
            finally:
                second.page.close()
            out[f"{prefix}_rss_peak_mb"] = round(dash.peak_rss_mb(), 1)
    return out


def _watched(dash_env: dict[str, str], emu: ScaleEmulator) -> tuple[str, int]:
    """The projects the dashboard watches with this environment, and their services."""
    import config

    projects = config.load(dash_env).watched_projects
    services = sum(int(emu.ready["services"].get(p, 0)) for p in projects)
    return ",".join(projects), services


def _fleet_figures(services: int, windows: list[str], pages: list[str]) -> Figures:
    projects = FLEETS[services]
    fleet = f"scale_{services}svc"
    out: Figures = {}
    with scale_emulator(services, projects) as emu:
        out[f"{fleet}_emulator_start_s"] = emu.ready["start_s"]
        out[f"{fleet}_emulator_rss_mb"] = emu.rss_mb()
        out[f"{fleet}_projects"] = ",".join(projects)
        dash_env = harness.server_env(
            os.environ,
            {
                "RUNWATCH_SOURCE": "demo",
                "RUNWATCH_EMULATOR_ADDRESS": emu.address,
                "RUNWATCH_DEMO_PROJECT": projects[0],
                "RUNWATCH_DEMO_PROJECTS": ",".join(projects),
            },
        )
        watched, watched_services = _watched(dash_env, emu)
        out[f"{fleet}_projects_watched"] = watched
        out[f"{fleet}_services_watched"] = watched_services
        for window in windows:
            for page_name in pages:
                print(f"  bench_scale: {services} services, {window}, {page_name}", flush=True)
                out.update(_page_figures(emu, dash_env, page_name, window, f"{fleet}_{window}"))
    return out


def _ratio(a: float | int | str | None, b: float | int | str | None) -> float | str | None:
    if a is None or b is None:
        return None
    if isinstance(a, str) or isinstance(b, str) or not b:
        return str(a) if isinstance(a, str) else str(b) if isinstance(b, str) else ERROR
    return round(float(a) / float(b), 2)


def _ratio_figures(results: Figures, fleets: list[int], windows: list[str]) -> Figures:
    out: Figures = {}
    if 7 not in fleets:
        return out
    wanted = {  # ratio name -> the figure it compares
        "overview_first_visit": "overview_first_chart_s",
        "overview_second_visit": "overview_second_chart_s",
        "revisions_time": "revisions_first_chart_s",
        "revisions_second_visit": "revisions_second_chart_s",
        "cost_time": "cost_first_chart_s",
        "cost_second_visit": "cost_second_chart_s",
    }
    for window in windows:
        suffix = "" if window == DEFAULT_WINDOW else f"_{window}"
        for n in fleets:
            if n == 7:
                continue
            for ratio, figure in wanted.items():
                value = _ratio(
                    results.get(f"scale_{n}svc_{window}_{figure}"),
                    results.get(f"scale_7svc_{window}_{figure}"),
                )
                if value is not None:
                    out[f"scale_{ratio}_ratio_{n}_vs_7{suffix}"] = value
    return out


def _choice(var: str, allowed: list[str], default: list[str]) -> list[str]:
    raw = os.environ.get(var, "").strip()
    chosen = [part.strip() for part in raw.split(",") if part.strip()] if raw else default
    bad = [c for c in chosen if c not in allowed]
    if bad:
        raise ValueError(f"{var}: {', '.join(bad)} not among {','.join(allowed)}")
    return [a for a in allowed if a in chosen]


def run() -> Figures:
    if not harness.have_chromium():
        return {"scale_bench": f"skipped: {harness.CHROMIUM} is not installed"}
    all_fleets = [str(n) for n in FLEETS]
    fleets = [int(n) for n in _choice("RUNWATCH_BENCH_SCALE_FLEETS", all_fleets, all_fleets)]
    windows = _choice("RUNWATCH_BENCH_SCALE_WINDOWS", list(WINDOWS), list(WINDOWS))
    pages = _choice("RUNWATCH_BENCH_SCALE_PAGES", list(PAGES), list(PAGES))
    results: Figures = {
        "scale_emulator_days": EMULATOR_DAYS,
        "scale_page_timeout_s": PAGE_TIMEOUT_S,
    }
    for services in fleets:
        results.update(_fleet_figures(services, windows, pages))
    results.update(_ratio_figures(results, fleets, windows))
    return results


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value}")
