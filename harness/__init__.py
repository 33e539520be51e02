"""Serve the dashboard and drive Chromium, for the tests and the benchmarks.

One job: start a Streamlit script on a free port with a given environment and drive Debian's
Chromium at it through Playwright (open a page, wait for the script run and the first chart, read
what a user sees, collect errors from the page and the server log, take screenshots). The tests
(tests/test_browser_dashboard.py, tests/test_dashboard_*.py) and the benchmarks
(bench/bench_dashboard.py, bench/bench_scale.py) both use it; it imports neither, and pytest
bits (skip marks, fixtures) stay in tests/_browser_helpers.py.

The server runs as `make demo` runs it (``python -m streamlit run <script> --server.port …
--server.headless true``) in a subprocess with its own environment dict, which the caller
builds from its own environment (server_env): this package reads no environment variable and
changes none. Nothing here imports Streamlit (it only runs in that subprocess); Playwright is
imported by the functions that drive the browser. Chromium is the system one
(/usr/bin/chromium, installed by .ci/run): Playwright downloads no browser here.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1600, "height": 1000}
# One URL per dashboard page (query parameters carry the scope; two pages need a service).
PAGES = {
    "overview": "/",
    "revisions": "/revisions?service=checkout-api",
    "cold-starts": "/cold-starts",
    "cost": "/cost?service=checkout-api",
}

# Streamlit marks its root element with the script and connection state.
IDLE = (
    '[data-testid="stApp"][data-test-script-state="notRunning"]'
    '[data-test-connection-state="CONNECTED"]'
)
RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'
CHART = ".js-plotly-plot"
# What Streamlit shows instead of a page when the script raised (details go to the server log),
# and the dialog it opens when the URL path names no page (it then runs the default page).
APP_CRASH = "This app has encountered an error"
NO_SUCH_PAGE = "Page not found"


def have_chromium() -> bool:
    return CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(parent: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """``parent`` (the caller's environment) without runwatch or Streamlit settings, plus ``extra``.

    Dropping RUNWATCH_* matters: the AppTest fixture points RUNWATCH_EMULATOR_ADDRESS at its
    own emulator for the length of the session, and the served demo must start its own.
    """
    env = {k: v for k, v in parent.items() if not k.startswith(("RUNWATCH_", "STREAMLIT_"))}
    env.update(extra)
    return env


@dataclass
class Served:
    """A running ``streamlit run`` subprocess."""

    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def url(self, path: str = "/") -> str:
        return f"http://localhost:{self.port}{path}"

    def log(self, since: int = 0) -> str:
        return self.log_path.read_bytes()[since:].decode("utf-8", "replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def _status_mb(self, field: str) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(rf"^{field}:\s+(\d+)\s+kB", status, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"no {field} line in /proc/{self.pid}/status")
        return int(match.group(1)) / 1024

    def rss_mb(self) -> float:
        """Resident memory of the server process now (VmRSS in /proc/<pid>/status), in MiB."""
        return self._status_mb("VmRSS")

    def peak_rss_mb(self) -> float:
        """The most resident memory the server process has had (VmHWM), in MiB."""
        return self._status_mb("VmHWM")


def _health(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200 and resp.read().strip() == b"ok")
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def serve(script: str, env: Mapping[str, str], timeout_s: float = 120) -> Iterator[Served]:
    """Serve ``script`` (relative to the repository root) until the block ends.

    Waits for GET /_stcore/health == "ok"; stops with SIGTERM, then SIGKILL after 10 s.
    """
    port = free_port()
    logdir = Path(tempfile.mkdtemp(prefix="runwatch-serve-"))
    log_path = logdir / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.port",
        str(port),
        "--server.address",
        "localhost",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT)
    served = Served(proc, port, log_path)
    try:
        deadline = time.monotonic() + timeout_s
        while not _health(served.url("/_stcore/health")):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"streamlit run {script} exited with {proc.returncode}:\n{served.log()[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"streamlit run {script} not healthy after {timeout_s:.0f} s:\n"
                    f"{served.log()[-3000:]}"
                )
            time.sleep(0.2)
        yield served
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@contextmanager
def chromium(viewport: Mapping[str, int] = VIEWPORT) -> Iterator[Any]:
    """A Playwright BrowserContext on the system Chromium with a fresh profile directory."""
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="runwatch-chromium-") as profile,
        sync_playwright() as pw,
    ):
        # Playwright takes the profile directory as a parameter (it refuses --user-data-dir).
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=list(CHROMIUM_ARGS),
            viewport={"width": viewport["width"], "height": viewport["height"]},
        )
        try:
            yield context
        finally:
            context.close()


_QUIET_JS = """
([quietMs, capMs]) => new Promise(resolve => {
  const done = (quiet) => { observer.disconnect(); clearTimeout(cap); resolve(quiet); };
  let timer = setTimeout(() => done(true), quietMs);
  const cap = setTimeout(() => done(false), capMs);
  const observer = new MutationObserver(() => {
    clearTimeout(timer);
    timer = setTimeout(() => done(true), quietMs);
  });
  observer.observe(document.body, {subtree: true, childList: true, attributes: true,
                                   characterData: true});
})
"""


def wait_idle(page: Any, timeout_ms: float = 60_000, quiet_ms: int = 400) -> None:
    """Wait until the script run is over, "Running…" is gone and the page stopped changing.

    Streamlit loads some element types (charts, sliders, …) lazily: they appear a moment after
    the run ended, so "idle" also means no DOM change for ``quiet_ms`` (at most 15 s more).
    """
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    page.locator('[data-testid="stStatusWidget"]').filter(has_text="Running").wait_for(
        state="hidden", timeout=timeout_ms
    )
    page.evaluate(_QUIET_JS, [quiet_ms, 15_000])


def settle(page: Any, timeout_ms: float = 60_000) -> None:
    """After an interaction: let the rerun it triggers start (if it does), then wait for idle."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    # the rerun may already be over (fast), or the interaction needs none
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_selector(RUNNING, timeout=1_500)
    wait_idle(page, timeout_ms)


def open_page(page: Any, url: str, timeout_ms: float = 120_000, charts: bool = True) -> None:
    """Go to ``url`` and wait for the first script run to finish (and a chart, if expected)."""
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    wait_idle(page, timeout_ms)
    if charts:
        page.wait_for_selector(CHART, state="visible", timeout=timeout_ms)


_CELLS_JS = """
() => Array.from(document.querySelectorAll('[data-testid="stDataFrame"] td'))
    .map(td => td.textContent).join(' | ')
"""


def visible_text(page: Any) -> str:
    """Text a user can read: the page and sidebar, plus the cells of every dataframe.

    st.dataframe draws on a canvas; its cells are also in an accessibility table in the DOM
    (only the rendered columns, so the test viewport is wide).
    """
    text: str = page.locator('[data-testid="stApp"]').inner_text()
    cells: str = page.evaluate(_CELLS_JS)
    return text + "\n" + cells


def error_texts(page: Any, expected: tuple[str, ...] = ()) -> list[str]:
    """Everything on the page that looks like an error, minus alerts containing ``expected``."""
    found = [
        f"exception element: {t}"
        for t in page.locator('[data-testid="stException"]').all_inner_texts()
    ]
    for alert in page.locator('[data-testid="stAlertContentError"]').all_inner_texts():
        if not any(e in alert for e in expected):
            found.append(f"error alert: {alert}")
    body = page.locator("body").inner_text()
    for marker in ("Traceback", APP_CRASH, NO_SUCH_PAGE):
        if marker in body:
            found.append(f"page text contains {marker!r}")
    return found


def server_errors(served: Served, since: int) -> list[str]:
    """Tracebacks the server logged after byte offset ``since`` (the browser only sees a notice).

    Each one is shortened to its first line and its last lines (where the error is named).
    """
    records = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", served.log(since))
    found = []
    for record in records:
        if "Traceback (most recent call last)" in record:
            lines = record.strip().splitlines()
            found.append("\n".join([lines[0], "…", *lines[-6:]]))
    return found


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot to artifacts/screenshots/<name>.png.

    Streamlit scrolls inside its main container, so a "full page" Playwright shot only shows the
    viewport: grow the viewport to the content's height first (same width: no chart relayout).
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    size = page.viewport_size or dict(VIEWPORT)
    height = page.evaluate(
        """() => Math.max(...['[data-testid="stMain"]', '[data-testid="stSidebarContent"]']
              .map(s => document.querySelector(s)).filter(e => e).map(e => e.scrollHeight),
              document.documentElement.scrollHeight)"""
    )
    page.set_viewport_size(
        {"width": size["width"], "height": min(max(int(height), size["height"]), 12_000)}
    )
    page.wait_for_timeout(300)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path
