"""What lives as long as the dashboard's process: the embedded emulator (demo mode), the API
clients, the clock and the data source's description.

Streamlit's caches are not the place for these (see below); they are created once, under a
lock, and kept in this module.
"""

from __future__ import annotations

import ctypes
import gc
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from app_data.configuration import settings
from collectors.clients import Clients, from_settings

# Streamlit's caches are not the place for what must live as long as the process: any viewer
# can send Streamlit's clear-cache message over the websocket, which empties st.cache_data and
# st.cache_resource for every session. A cached emulator would then be started again (the old
# one kept serving, each a few hundred MB) and every view collected again. So the emulator, the
# clients, the error and last-good memory live in this module, created once under a lock.
_PROCESS_LOCK = threading.Lock()
_EMULATORS: dict[tuple[Any, ...], Any] = {}
_CLIENTS: dict[str, Clients] = {}


def _emulator(
    project: str,
    days: int,
    seed: int,
    services: int | None,
    projects: tuple[str, ...],
    scoping: str,
) -> Any:
    key = (project, days, seed, services, projects, scoping)
    with _PROCESS_LOCK:
        emu = _EMULATORS.get(key)
        if emu is None:
            import emulator  # demo mode only: the emulator is the embedded default data source

            with st.spinner("Starting the demo fleet (a few seconds, once)…"):
                emu = emulator.start(
                    now=datetime.now(UTC),
                    days=days,
                    seed=seed,
                    project=project,
                    services=services,
                    projects=projects or None,
                    scoping_project=scoping,
                )
            _EMULATORS[key] = emu
        return emu


def emulator_handle() -> Any | None:
    """The embedded emulator (demo mode without RUNWATCH_EMULATOR_ADDRESS), else None."""
    s = settings()
    if s.is_demo and not s.emulator_address:
        home = s.demo_projects[0] if s.demo_projects else s.demo_project
        return _emulator(
            home,
            s.demo_days,
            s.demo_seed,
            s.demo_services,
            s.demo_projects,
            s.metrics_scope_project,
        )
    return None


_FROZEN = threading.Event()
_FREEZING = threading.Lock()


def freeze_heap_once() -> None:
    """After the first full run: collect, then move every object alive to the collector's
    permanent generation (gc.freeze), once per process.

    The modules, the clients and (in demo mode) the simulated fleet are ~0.4 million objects
    that live as long as the process. Left in the collector's oldest generation, each full
    collection walked them all: a 0.2-0.3 s pause holding the GIL about once per page load.
    Frozen, a collection walks only what runs allocate. Garbage made later is collected as
    usual.
    """
    if _FROZEN.is_set():
        return
    with _FREEZING:
        if _FROZEN.is_set():
            return
        gc.collect()
        gc.freeze()
        _FROZEN.set()


def _clients(address: str) -> Clients:
    with _PROCESS_LOCK:
        built = _CLIENTS.get(address)
        if built is None:
            built = _CLIENTS[address] = from_settings(settings(), address)
        return built


def clients() -> Clients:
    emu = emulator_handle()
    return _clients(emu.address if emu is not None else settings().emulator_address)


def now() -> datetime:
    """The clock the dashboard reads (the only place): the demo fleet's end in demo mode."""
    emu = emulator_handle()
    if emu is not None:
        return emu.fleet.spec.end  # type: ignore[no-any-return]
    return datetime.now(UTC)


@dataclass(frozen=True)
class Source:
    label: str  # "Demo" | "Live"
    detail: str
    projects: tuple[str, ...]


@st.cache_resource(ttl=3600)
def _identity() -> str:
    """Who the dashboard runs as (metadata server on Cloud Run), for tracing a missing role."""
    from collectors.identity import runtime_identity

    found = runtime_identity(timeout_s=1.0)
    return found.describe() if found else "identity: Application Default Credentials"


def source() -> Source:
    s = settings()
    if s.is_demo:
        where = s.emulator_address or "embedded emulator"
        detail = f"simulated fleet ({where}), data until {now():%H:%M} UTC"
        return Source("Demo", detail, s.watched_projects)
    return Source("Live", f"Google Cloud APIs · {_identity()}", s.watched_projects)


def _libc_trim() -> Callable[[], None] | None:
    """glibc's malloc_trim, or None where the C library has none (not glibc)."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    return lambda: trim(0)


_TRIM = _libc_trim()


def release_memory() -> None:
    """Hand memory freed by a big load back to the system: Arrow's pool (pandas' string
    columns) keeps freed blocks for reuse, and glibc keeps freed arenas mapped. Without this the
    dashboard's resident memory stays at the peak of its biggest load (measured on 500
    services: 589 MB after a load, 490 MB after both releases). Called after the loads whose
    transient data is large (the fleet's per-minute detail)."""
    import pyarrow

    pyarrow.default_memory_pool().release_unused()
    if _TRIM is not None:
        _TRIM()
