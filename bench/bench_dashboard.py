"""Dashboard benchmarks in Debian's Chromium against the demo, served as `make demo` serves it.

- Time to first chart: navigation start -> the first plotly chart drawn and visible (timed in the
  page, from performance.now()), median of REPEATS loads per page with a warm server, divided by
  the same for bench/floor_app.py (a one-chart Streamlit page served the same way, measured
  interleaved in the same run) -> ``dashboard_<page>_first_chart_ratio`` (target <= 1.5).
- What-if: moving the "Min instances" control on the cost page -> the rerun that updates the
  estimate. "server" is the script run as the browser sees it (Streamlit's running -> not
  running status messages, both over loopback), "total" adds the widget's debounce and the
  drawing, from the key press to the end of the run.
- Where the time goes: ``dashboard_<page>_script_run_ms``, the page's first script run (server
  side, as the browser sees it), median over the same loads.
- Memory: VmRSS of the server process with 1 and with 10 browser sessions open on the overview.

``run()`` returns figures with units in their names; ``make bench`` records them. Not a test.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import harness

DEMO_DAYS = "7"  # make demo's default history
REPEATS = 5
WHATIF_REPEATS = 6
SESSIONS = 10

# Runs in every page before its own scripts: time the first drawn, visible chart, record the
# script-run state changes and the last key press (all on the page's performance.now() clock,
# whose origin is the navigation start).
PROBE_JS = """
(() => {
  const firstChart = () => {
    const svg = document.querySelector('.js-plotly-plot .main-svg');
    const box = svg && svg.getBoundingClientRect();
    if (box && box.width > 0 && box.height > 0) { window.__firstChartMs = performance.now(); }
    else { requestAnimationFrame(firstChart); }
  };
  requestAnimationFrame(firstChart);
  window.__runs = [];
  let last = '';
  new MutationObserver(() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const state = app && app.getAttribute('data-test-script-state');
    if (state && state !== last) { last = state; window.__runs.push([performance.now(), state]); }
  }).observe(document, {subtree: true, childList: true, attributes: true,
                        attributeFilter: ['data-test-script-state']});
  window.addEventListener('keydown', () => { window.__keyAt = performance.now(); }, true);
})();
"""


def _first_load(browser: Any, url: str) -> tuple[float, float]:
    """(ms to the first drawn chart, ms of the page's first script run) of one fresh session."""
    page = browser.new_page()
    try:
        page.goto(url, wait_until="commit", timeout=120_000)
        page.wait_for_function("window.__firstChartMs !== undefined", timeout=120_000)
        first_chart = float(page.evaluate("window.__firstChartMs"))
        harness.wait_idle(page, 120_000)  # leave the server quiet for the next load
        runs = page.evaluate("window.__runs")
        start = next(t for t, state in runs if state == "running")
        end = next(t for t, state in runs if state == "notRunning" and t > start)
        return first_chart, float(end - start)
    finally:
        page.close()


def _first_chart_figures(
    browser: Any, dash: harness.Served, floor: harness.Served
) -> dict[str, float]:
    targets = {"floor": floor.url("/")} | {
        name.replace("-", "_"): dash.url(path) for name, path in harness.PAGES.items()
    }
    for url in targets.values():  # warm: caches, the simulated fleet, the browser's JS cache
        _first_load(browser, url)
    charts: dict[str, list[float]] = {name: [] for name in targets}
    runs: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(REPEATS):  # interleaved, so load on this shared machine hits all alike
        for name, url in targets.items():
            first_chart, run_ms = _first_load(browser, url)
            charts[name].append(first_chart)
            runs[name].append(run_ms)
    floor_ms = statistics.median(charts["floor"])
    out = {
        "dashboard_floor_first_chart_ms": round(floor_ms, 1),
        "dashboard_floor_script_run_ms": round(statistics.median(runs["floor"]), 1),
    }
    for name in targets:
        if name != "floor":
            ms = statistics.median(charts[name])
            out[f"dashboard_{name}_first_chart_ms"] = round(ms, 1)
            out[f"dashboard_{name}_first_chart_ratio"] = round(ms / floor_ms, 2)
            out[f"dashboard_{name}_script_run_ms"] = round(statistics.median(runs[name]), 1)
    return out


def _whatif_figures(browser: Any, dash: harness.Served) -> dict[str, float]:
    page = browser.new_page()
    try:
        harness.open_page(page, dash.url(harness.PAGES["cost"]))
        slider = page.locator('[data-testid="stSlider"]').filter(has_text="Min instances")
        thumb = slider.get_by_role("slider")
        server, total = [], []
        for i in range(WHATIF_REPEATS):
            before = int(page.evaluate("window.__runs.length"))
            thumb.focus()
            page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
            page.wait_for_function(
                f"window.__runs.length >= {before + 2} && "
                "window.__runs[window.__runs.length - 1][1] === 'notRunning'",
                timeout=60_000,
            )
            runs = page.evaluate("window.__runs")[before:]
            start = next(t for t, state in runs if state == "running")
            end = runs[-1][0]
            server.append(end - start)
            total.append(end - float(page.evaluate("window.__keyAt")))
            harness.wait_idle(page)
        return {
            "dashboard_whatif_update_server_ms": round(statistics.median(server), 1),
            "dashboard_whatif_update_total_ms": round(statistics.median(total), 1),
        }
    finally:
        page.close()


def _memory_figures(browser: Any, dash: harness.Served) -> dict[str, float]:
    out = {"dashboard_rss_no_session_mb": round(dash.rss_mb(), 1)}
    url = dash.url(harness.PAGES["overview"])
    pages = [browser.new_page()]
    try:
        harness.open_page(pages[0], url)
        time.sleep(1)
        out["dashboard_rss_1_session_mb"] = round(dash.rss_mb(), 1)
        more = [browser.new_page() for _ in range(SESSIONS - 1)]
        pages += more
        for page in more:  # all ten open at once: the runs overlap on the server
            page.goto(url, wait_until="commit")
        for page in more:
            harness.wait_idle(page, 120_000)
            page.wait_for_selector(harness.CHART, state="visible", timeout=120_000)
        time.sleep(1)
        out[f"dashboard_rss_{SESSIONS}_sessions_mb"] = round(dash.rss_mb(), 1)
        out["dashboard_rss_peak_mb"] = round(dash.peak_rss_mb(), 1)
    finally:
        for page in pages:
            page.close()
    return out


def run() -> dict[str, float | int | str]:
    if not harness.have_chromium():
        return {"dashboard_bench": f"skipped: {harness.CHROMIUM} is not installed"}
    dash_env = harness.server_env(
        os.environ, {"RUNWATCH_SOURCE": "demo", "RUNWATCH_DEMO_DAYS": DEMO_DAYS}
    )
    results: dict[str, float | int | str] = {"dashboard_demo_days": int(DEMO_DAYS)}
    with (
        harness.serve("dashboard.py", dash_env) as dash,
        harness.serve("bench/floor_app.py", harness.server_env(os.environ, {})) as floor,
        harness.chromium() as browser,
    ):
        browser.add_init_script(PROBE_JS)
        results.update(_memory_figures(browser, dash))  # first: a fresh server, one page's data
        results.update(_first_chart_figures(browser, dash, floor))
        results.update(_whatif_figures(browser, dash))
        results["dashboard_floor_rss_mb"] = round(floor.rss_mb(), 1)
    return results


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value}")
