"""The dashboard's settings, read from the environment when first used, once per process.

Importing app_data reads nothing: ``configured()`` is the dashboard's only caller of
config.load, and in gcp mode without projects its first call asks the metadata server for the
dashboard's own project. Every module of the dashboard asks it (or ``settings()``) for what it
needs, when it needs it; none keeps a copy.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import config


@dataclass(frozen=True)
class Configuration:
    """The settings and the configuration problem found reading them."""

    settings: config.Settings
    problem: str = ""  # shown on every page; "" when none
    stops: bool = False  # the problem stops the dashboard: every page shows it, and no data


_LOCK = threading.Lock()
_LOADED: Configuration | None = None  # until the first call of configured()


def _read() -> Configuration:
    """The settings, a configuration problem to show on every page and whether that problem
    stops the dashboard.

    When the environment asks for live data, a bad setting stops it: every page shows the error
    and no data (the settings returned watch no project and are never the demo). Only when
    nothing asked for live data do the defaults (the demo) keep the app drawable."""
    try:
        settings = config.load()
        if settings.source == "gcp" and not settings.projects:
            from collectors.identity import runtime_identity  # the metadata server, on Cloud Run

            found = runtime_identity(timeout_s=1.0)
            settings = config.with_discovered_project(settings, found and found.project_id)
        return Configuration(settings)
    except config.ConfigError as exc:
        if config.live_requested():
            return Configuration(
                replace(config.load({}), source="gcp", projects=()), str(exc), stops=True
            )
        return Configuration(config.load({}), str(exc))


def configured() -> Configuration:
    """The process's configuration, read on the first call (under a lock: one reading, even
    when several sessions start at once)."""
    global _LOADED
    if _LOADED is None:
        with _LOCK:
            if _LOADED is None:
                _LOADED = _read()
    return _LOADED


def settings() -> config.Settings:
    """The process's settings (see configured())."""
    return configured().settings
