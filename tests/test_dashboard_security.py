"""Untrusted text reaches the page as plain text, and the websocket refuses foreign Host headers.

Link parameters and API error messages are shown in st.warning/st.error, which render markdown
(links, images, Streamlit's ``:color[...]`` and ``:material/...:`` directives, ``$...$`` math,
bare-URL autolinks). AppTest gives each element's markdown source: the tests check that every
ASCII punctuation character of the untrusted part is backslash-escaped, which CommonMark renders
as that character, and that a reader still sees the text itself. A Chromium test checks what the
browser really builds from such a link.

DNS rebinding: a page on an attacker's domain that resolves to the dashboard's address is
same-origin with itself, so only a Host allow-list stops it from opening the websocket.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import harness
from tests._browser_helpers import needs_chromium
from tests._pages import PAGE_FILES

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")
ASCII_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

LINK = "[x](//evil.example)"
IMAGE = "![x](https://evil.example/p.png)"
PAYLOADS = (
    LINK,
    IMAGE,
    "www.evil.example/x",
    "https://evil.example",
    "user@evil.example",
    "<https://evil.example>",
    ":red[boom] :material/home: :orange-badge[x]",
    "$x^2$ and $$y$$",
    "&lt;b&gt; &#x5B;x&#x5D;",
    "**bold** _it_ ~~gone~~ `code`",
    "line one\n# heading\n- item\n\n> quote",
    "[x]: https://evil.example\n[x]",
    "WWW.evil.example HTTP://evil.example mailto:a@evil.example",
    "\\[x](//evil.example)",  # a backslash of its own must not cancel ours
)


def unescaped(markdown: str) -> list[str]:
    """ASCII punctuation characters in ``markdown`` that a backslash does not make literal."""
    found, i = [], 0
    while i < len(markdown):
        c = markdown[i]
        if c == "\\" and i + 1 < len(markdown) and markdown[i + 1] in ASCII_PUNCTUATION:
            i += 2
            continue
        if c in ASCII_PUNCTUATION:
            found.append(c)
        i += 1
    return found


def read(markdown: str) -> str:
    """What a reader sees of escaped markdown: backslash escapes resolved, invisible word
    joiners (U+2060, which keep bare URLs from being linked) left out."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")


def evil_host(url: str) -> bool:
    return "evil" in (urllib.parse.urlsplit(url).hostname or "")


def assert_inert(markdown: str) -> None:
    assert unescaped(markdown) == [], markdown
    for live in ("](", "![", "://", "www.", "\n"):
        assert live not in markdown, (live, markdown)


@pytest.fixture(scope="module")
def app_data(demo_emulator: Any) -> Iterator[Any]:
    import app_data as module

    assert module.settings().emulator_address == demo_emulator.address, "settings read too early"
    return module


@pytest.mark.parametrize("text", PAYLOADS)
def test_plain_makes_every_markdown_construct_literal(app_data: Any, text: str) -> None:
    import widgets

    shown = widgets.plain(text)
    assert_inert(shown)
    assert read(shown) == " ".join(text.split()), "the reader must see the text itself"


def test_plain_bounds_the_length(app_data: Any) -> None:
    import widgets

    shown = widgets.plain("a" * 5000, limit=100)
    assert len(read(shown)) == 100
    assert shown.endswith("…")


def _run(params: dict[str, str], page: str | None = None) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def _boxes(at: AppTest) -> list[str]:
    return [
        str(e.value)
        for kind in ("error", "warning", "info", "success", "markdown", "caption")
        for e in getattr(at, kind)
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"service": LINK},
        {"service": IMAGE},
        {"region": "www.evil.example", "rev": ":red[boom]"},
        {"project": "$x^2$ https://evil.example", "window": "[x](//evil.ex)"},
        {"service": "x\n# heading\n![x](https://evil.example/p.png)"},
    ],
)
def test_link_parameters_are_echoed_as_plain_text(emu: Any, params: dict[str, str]) -> None:
    at = _run(params)
    assert not at.exception
    echoed = [b for b in _boxes(at) if "evil" in read(b) or "boom" in read(b) or "x^2" in read(b)]
    assert echoed, f"the link's values should be named in a warning: {_boxes(at)}"
    for box in echoed:
        assert_inert(box)
    seen = read(" ".join(echoed))
    for value in params.values():  # shown as text (repr, bounded), not dropped
        assert " ".join(value.split())[:12] in seen.replace("\\n", " "), (value, seen)


@pytest.mark.parametrize(
    "page",
    PAGE_FILES,
)
def test_api_error_messages_are_shown_as_plain_text(emu: Any, page: str) -> None:
    emu.faults.set("ListTimeSeries:PERMISSION_DENIED")
    at = _run({"service": "checkout-api"}, page)
    assert not at.exception
    # an error box, or (the overview, whose configuration still loads) the partial-data banner
    boxes = [*at.error, *at.warning]
    errors = [str(e.value) for e in boxes if "Permission denied" in str(e.value)]
    assert errors, [e.value for e in boxes]
    for box in errors:
        message = box.split(": ", 1)[1]  # "Could not load ...: <the API's message>"
        for reason in re.split(r"(?<!\\); ", message):  # a banner joins its reasons
            assert_inert(reason)
        assert "roles/monitoring.viewer" in read(message)


def test_partial_data_reasons_are_shown_as_plain_text(emu: Any) -> None:
    emu.faults.set("ListLogEntries:PERMISSION_DENIED")
    at = _run({"service": "checkout-api"}, "app_pages/cold_starts.py")  # a service: its logs
    banners = [str(w.value) for w in at.warning if str(w.value).startswith("Data is partial: ")]
    assert banners, [w.value for w in at.warning]
    reasons = banners[0].removeprefix("Data is partial: ")
    for reason in re.split(r"(?<!\\); ", reasons):
        assert_inert(reason)
    assert "roles/logging.viewer" in read(reasons)


# ------------------------------------------------------------------ a served dashboard, for real


@pytest.fixture(scope="module")
def served() -> Iterator[harness.Served]:
    env = harness.server_env(os.environ, {"RUNWATCH_SOURCE": "demo", "RUNWATCH_DEMO_DAYS": "1"})
    with harness.serve("dashboard.py", env) as running:
        yield running


@pytest.mark.browser
@needs_chromium
def test_a_hostile_link_builds_no_link_image_or_math_in_the_browser(served: harness.Served) -> None:
    query = urllib.parse.urlencode(
        {
            "service": LINK,
            "region": IMAGE,
            "project": "www.evil.example $x^2$",
            "rev": ":red[boom]",
            "window": "a@evil.example",
        }
    )
    with harness.chromium() as browser:
        page = browser.new_page()
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url))
        harness.open_page(page, served.url(f"/?{query}"))
        alerts = page.locator('[data-testid="stAlert"]')
        text = " ".join(alerts.all_inner_texts()).replace("\u2060", "")  # invisible
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        images = page.eval_on_selector_all("img[src]", "els => els.map(e => e.src)")
        math = alerts.locator(".katex").count()
        coloured = alerts.locator(".stMarkdownColoredText, .stMarkdownBadge").count()
        icons = alerts.locator('[data-testid="stIconMaterial"]').count()
        page.close()
    for value in (LINK, IMAGE, "www.evil.example $x^2$", ":red[boom]", "a@evil.example"):
        assert value in text, (value, text)  # shown, as text
    assert not [h for h in hrefs if evil_host(h)], hrefs
    assert not [s for s in images if evil_host(s)], images
    assert not [u for u in fetched if evil_host(u)], fetched
    assert math == 0
    assert coloured == 0
    assert icons == 0


def _websocket_handshake(port: int, host: str) -> int:
    """HTTP status of a websocket upgrade to Streamlit's stream as a rebinding page sends it:
    the attacker's host name in Host, and the same origin (its own page) in Origin."""
    request = (
        "GET /_stcore/stream HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Origin: http://{host}:{port}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: streamlit\r\n"
        "\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request.encode())
        status_line = conn.makefile("rb").readline().decode()
    return int(status_line.split()[1])


def test_a_foreign_host_header_is_refused_on_the_websocket(served: harness.Served) -> None:
    assert _websocket_handshake(served.port, "localhost") == 101
    assert _websocket_handshake(served.port, "127.0.0.1") == 101
    assert _websocket_handshake(served.port, "evil.example") == 403
    assert _websocket_handshake(served.port, "localhost.evil.example") == 403


def test_the_container_accepts_its_run_app_host_only() -> None:
    from deploy import serve

    port = harness.free_port()
    env = harness.server_env(os.environ, {"RUNWATCH_SOURCE": "demo", "RUNWATCH_DEMO_DAYS": "1"})
    argv = serve.streamlit_argv(port)
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if _websocket_handshake(port, "localhost") == 101:
                    break
            except OSError:
                pass
            assert proc.poll() is None, f"{argv} exited with {proc.returncode}"
            assert time.monotonic() < deadline, "the container's server did not start"
            time.sleep(0.3)
        assert _websocket_handshake(port, "runwatch-123456789012.europe-west1.run.app") == 101
        assert _websocket_handshake(port, "evil.example") == 403
        assert _websocket_handshake(port, "run.app.evil.example") == 403
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
