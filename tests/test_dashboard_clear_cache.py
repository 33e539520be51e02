"""Any viewer can send Streamlit's clear-cache message; it must cost neither memory nor calls.

Streamlit answers the websocket's ``clear_cache`` message by emptying ``st.cache_data`` and
``st.cache_resource`` for every session. The embedded emulator, the clients and the memory of
fresh results therefore live outside those caches (app_data): a clear starts no second emulator
and, within the cache TTL, makes no API call.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.testing.v1 import AppTest
from websockets.sync.client import connect

import harness

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")


def _clear_as_the_websocket_message_does() -> None:
    """What Streamlit's AppSession does on a ``clear_cache`` BackMsg (for every session)."""
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def app_data(demo_emulator: Any) -> Iterator[Any]:
    import app_data as module

    assert module.settings().emulator_address == demo_emulator.address, "settings read too early"
    st.cache_data.clear()
    module.forget()
    yield module
    st.cache_data.clear()
    module.forget()


def _calls_of(emu: Any, run: Any) -> dict[str, int]:
    before = emu.calls.snapshot()
    run()
    after = emu.calls.snapshot()
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def _overview() -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=120).run()
    assert not at.exception
    assert at.dataframe, "the overview table should be shown"
    return at


@pytest.mark.parametrize("page", ["overview", "cold_starts"])
def test_a_cleared_cache_refetches_nothing_within_the_ttl(
    app_data: Any, demo_emulator: Any, page: str
) -> None:
    def visit() -> None:
        at = AppTest.from_file(DASHBOARD, default_timeout=120)
        at.query_params["service"] = "checkout-api"
        at.run()
        if page != "overview":
            at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception

    for _attempt in range(2):  # the window's end moves every few minutes: retry if crossed
        scope, _ = app_data.scope_from_query({})
        window = app_data.window_of(scope)
        first = _calls_of(demo_emulator, visit)
        _clear_as_the_websocket_message_does()
        again = _calls_of(demo_emulator, visit)
        if app_data.window_of(scope) == window:
            break
    assert first, "the first visit should have read the APIs"
    assert again == {}, f"after a clear of Streamlit's caches the visit called {again}"


def test_the_memory_still_refreshes_once_the_ttl_ran_out(app_data: Any, demo_emulator: Any) -> None:
    _overview()
    _clear_as_the_websocket_message_does()
    app_data.expire()  # as if the TTL had run out
    calls = _calls_of(demo_emulator, _overview)
    monitoring = sum(n for method, n in calls.items() if method.endswith("/ListTimeSeries"))
    assert monitoring > 0, "an expired result must be loaded again"


# ----------------------------------------------------------------- a served demo, for real


def _listening_sockets(pid: int) -> int:
    """TCP sockets in LISTEN state owned by the process (its own fds, not the machine's)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                count += 1
    return count


class _Session:
    """A browser-less Streamlit session over the real websocket."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    def send(self, msg: BackMsg) -> None:
        self.ws.send(msg.SerializeToString())

    def rerun(self, timeout_s: float = 120) -> None:
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        self.send(msg)
        self.wait_finished(timeout_s)

    def wait_finished(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            raw = self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            fwd = ForwardMsg()
            fwd.ParseFromString(raw if isinstance(raw, bytes) else raw.encode())
            if fwd.WhichOneof("type") == "script_finished":
                return
        raise AssertionError(f"the script did not finish within {timeout_s} s")

    def clear_cache(self) -> None:
        msg = BackMsg()
        msg.clear_cache = True
        self.send(msg)


def test_clear_cache_messages_start_no_second_emulator() -> None:
    env = harness.server_env(os.environ, {"RUNWATCH_DEMO_DAYS": "1"})
    with harness.serve("dashboard.py", env) as served:
        url = f"ws://localhost:{served.port}/_stcore/stream"
        with connect(url, subprotocols=["streamlit"]) as ws:  # type: ignore[list-item]
            session = _Session(ws)
            session.rerun()  # starts the embedded emulator and loads the overview
            sockets = _listening_sockets(served.pid)
            for _ in range(3):
                session.clear_cache()
                session.rerun()
            after = _listening_sockets(served.pid)
        assert "Traceback" not in served.log()
    # one listening socket for Streamlit, one for the embedded emulator; each leaked emulator
    # would add its own
    assert after == sockets, f"{after - sockets} more listening sockets after 3 clears"
