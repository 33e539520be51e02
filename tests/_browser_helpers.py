"""The pytest side of the browser tests: the skip where Debian's Chromium is missing.

Serving the dashboard and driving Chromium is harness's job (harness/__init__.py), shared with
the benchmarks; only what needs pytest lives here.
"""

from __future__ import annotations

import pytest

import harness

NO_CHROMIUM = (
    f"{harness.CHROMIUM} is not installed: the browser tests drive Debian's Chromium "
    "(`apt-get install chromium`, which .ci/run does) and never download a browser"
)
needs_chromium = pytest.mark.skipif(not harness.have_chromium(), reason=NO_CHROMIUM)
