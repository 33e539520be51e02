"""Recovery: the backend goes away under a served dashboard and comes back on the same address.

The emulator runs as a process of its own (``python -m emulator --port P``) and is killed with
SIGKILL, as a crashed backend or a dropped network would be, then started again on the same
port. The dashboard is not restarted. While the backend is down, a page not loaded before names
the failure and keeps the link's service; once it is back, the same link shows its data again
after the error TTL, without a restart.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

import harness
from tests._browser_helpers import needs_chromium

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]

ERROR_TTL_S = 3
LINK = "/cost?service=checkout-api"
EXPECTED_ALERTS = ("Canary verdict",)


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


@contextlib.contextmanager
def _emulator(port: int) -> Iterator[subprocess.Popen[bytes]]:
    cmd = [sys.executable, "-m", "emulator", "--port", str(port), "--days", "1"]
    proc = subprocess.Popen(
        cmd, cwd=harness.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while not _accepts(port):
            assert proc.poll() is None, f"the emulator exited with {proc.returncode}"
            assert time.monotonic() < deadline, "the emulator did not listen within 120 s"
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def _shows_data(page: Any) -> bool:
    return page.locator(harness.CHART).count() > 0 and not harness.error_texts(
        page, EXPECTED_ALERTS
    )


def test_pages_recover_when_the_backend_returns_without_a_dashboard_restart() -> None:
    port = harness.free_port()
    env = harness.server_env(
        os.environ,
        {
            "RUNWATCH_SOURCE": "demo",
            "RUNWATCH_EMULATOR_ADDRESS": f"127.0.0.1:{port}",
            "RUNWATCH_ERROR_TTL_S": str(ERROR_TTL_S),
        },
    )
    with (
        _emulator(port) as first,
        harness.serve("dashboard.py", env) as served,
        harness.chromium() as b,
    ):
        page = b.new_page()
        page.set_default_timeout(120_000)
        harness.open_page(page, served.url("/revisions?service=checkout-api"))
        assert _shows_data(page), harness.error_texts(page, EXPECTED_ALERTS)

        first.kill()
        first.wait(timeout=10)
        mark = served.log_size()
        harness.open_page(page, served.url(LINK), charts=False)  # not loaded before: nothing cached
        down = harness.visible_text(page)
        assert "checkout-api" in down, "the link's service was dropped during the outage"
        assert "service=checkout-api" in page.url, f"the link was rewritten: {page.url}"
        assert page.locator('[data-testid="stAlertContentError"]').count() or (
            page.locator('[data-testid="stAlertContentWarning"]').count()
        ), "the failure is not named"
        assert "Traceback" not in down
        assert harness.APP_CRASH not in down
        assert not harness.server_errors(served, mark)

        with _emulator(port):
            back = time.monotonic()
            recovered = False
            while time.monotonic() - back < ERROR_TTL_S + 60:
                time.sleep(1.0)
                harness.open_page(page, served.url(LINK), charts=False)
                if _shows_data(page):
                    recovered = True
                    break
            took = time.monotonic() - back
            assert recovered, f"still failing {took:.0f} s after the backend returned"
            assert "service=checkout-api" in page.url
            assert not harness.server_errors(served, mark)
