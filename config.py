"""One frozen Settings object, read from the environment in one place.

No other module reads ``os.environ``. ``SETTINGS_TABLE`` is the single list of variables, their
defaults and help; ``python config.py --markdown`` prints the README's configuration table and a
test keeps the README in sync with it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import NamedTuple

from foundation import names
from foundation.window import PRESETS


class ConfigError(ValueError):
    """An environment variable holds a value runwatch cannot use."""


class Var(NamedTuple):
    name: str
    default: str
    help: str


SETTINGS_TABLE: tuple[Var, ...] = (
    Var(
        "RUNWATCH_SOURCE",
        "",
        "`demo` (embedded emulator with a simulated fleet) or `gcp` (Google Cloud). "
        "Empty: `gcp` when RUNWATCH_PROJECTS is set, else `demo`.",
    ),
    Var(
        "RUNWATCH_PROJECTS",
        "",
        "Comma-separated project ids to watch (gcp source). Empty with RUNWATCH_SOURCE=gcp: "
        "the dashboard's own project, from the metadata server (on Cloud Run).",
    ),
    Var(
        "RUNWATCH_REGIONS",
        "",
        "Comma-separated regions to limit the view to. Empty: every region with services.",
    ),
    Var(
        "RUNWATCH_EMULATOR_ADDRESS",
        "",
        "host:port of a running `python -m emulator`. Empty in demo mode: start one in-process.",
    ),
    Var(
        "RUNWATCH_METRICS_SCOPE_PROJECT",
        "",
        "A scoping project whose Cloud Monitoring metrics scope holds every watched project: "
        "the overview reads metrics there once (told apart by the project_id label), the "
        "configuration per project. Empty: metrics are read per project.",
    ),
    Var("RUNWATCH_DEMO_PROJECT", "runwatch-demo", "Project id the emulator's fleet lives in."),
    Var(
        "RUNWATCH_DEMO_SERVICES",
        "",
        "Services in the demo fleet: the demo's 7, then generated variations (up to 5000). "
        "Empty: the demo's 7.",
    ),
    Var(
        "RUNWATCH_DEMO_PROJECTS",
        "",
        "Comma-separated projects the demo's services are spread over (the first holds the "
        "demo's 7); the dashboard watches them all. Empty: RUNWATCH_DEMO_PROJECT alone.",
    ),
    Var(
        "RUNWATCH_DEMO_DAYS",
        "7",
        "Days of simulated history in demo mode (1-30). 7 days simulate in about 3 s and take"
        " about 0.5 GB; 30 days about 20 s and 2 GB.",
    ),
    Var("RUNWATCH_DEMO_SEED", "42", "Seed of the simulated fleet (same seed, same data)."),
    Var("RUNWATCH_DEFAULT_WINDOW", "24h", "Time window shown first: 1h, 6h, 24h, 7d or 30d."),
    Var(
        "RUNWATCH_CACHE_TTL_S",
        "300",
        "Seconds a loaded view (a project's metrics, logs and configuration for a window) is "
        "reused by every session; window ends are rounded to it (60-86400).",
    ),
    Var("RUNWATCH_ERROR_TTL_S", "30", "Seconds an API error is remembered before trying again."),
    Var("RUNWATCH_RPC_TIMEOUT_S", "30", "Timeout of one API call, in seconds."),
    Var(
        "RUNWATCH_LOG_CALLS_PER_MINUTE",
        "50",
        "Process-wide budget of Logging entries.list calls a minute per project "
        "(Google allows 60, shared with other readers).",
    ),
    Var(
        "RUNWATCH_LOG_MAX_PAGES",
        "50",
        "Most log pages (1,000 entries each) read per query; beyond, the result is truncated.",
    ),
    Var(
        "RUNWATCH_FREE_TIER",
        "true",
        "Apply Cloud Run's monthly free tier to cost figures (it is per billing account).",
    ),
    Var(
        "RUNWATCH_BOOST_STARTUP_PERCENT",
        "60",
        "How long a start with startup CPU boost takes, in percent of one without, for the Cost "
        "page's boost on/off (Google publishes no figure: an assumption).",
    ),
)

_DEFAULTS: dict[str, str] = {v.name: v.default for v in SETTINGS_TABLE}


@dataclass(frozen=True)
class Settings:
    source: str
    projects: tuple[str, ...]
    regions: tuple[str, ...]
    emulator_address: str
    demo_project: str
    demo_services: int | None  # None: the demo's own services
    demo_projects: tuple[str, ...]  # empty: demo_project alone
    metrics_scope_project: str  # "" : read metrics per project
    demo_days: int
    demo_seed: int
    default_window: str
    cache_ttl_s: int
    error_ttl_s: int
    rpc_timeout_s: float
    log_calls_per_minute: int
    log_max_pages: int
    free_tier: bool
    boost_startup_percent: int = 60

    @property
    def is_demo(self) -> bool:
        return self.source == "demo"

    @property
    def watched_projects(self) -> tuple[str, ...]:
        if self.is_demo:
            return self.demo_projects or (self.demo_project,)
        return self.projects


def _int(env: Mapping[str, str], name: str, lo: int, hi: int) -> int:
    raw = env.get(name, _DEFAULTS[name]).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value} is out of range: it must be between {lo} and {hi}")
    return value


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, _DEFAULTS[name]).strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a yes/no value: use true or false")


def _names(env: Mapping[str, str], name: str, check: object) -> tuple[str, ...]:
    raw = env.get(name, _DEFAULTS[name])
    items = [part.strip() for part in raw.split(",") if part.strip()]
    out: list[str] = []
    for item in items:
        try:
            out.append(check(item))  # type: ignore[operator]
        except names.InvalidName as exc:
            raise ConfigError(f"{name}: {exc}") from None
    return tuple(dict.fromkeys(out))


def _address(env: Mapping[str, str], name: str) -> str:
    raw = env.get(name, _DEFAULTS[name]).strip()
    if not raw:
        return ""
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{name}={raw!r} is not host:port (for example 127.0.0.1:8090)")
    return raw


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raise ConfigError naming the variable on bad input."""
    import os

    env = os.environ if env is None else env
    projects = _names(env, "RUNWATCH_PROJECTS", names.project)
    source = env.get("RUNWATCH_SOURCE", "").strip().lower() or ("gcp" if projects else "demo")
    if source not in ("demo", "gcp"):
        raise ConfigError(f"RUNWATCH_SOURCE={source!r} must be demo or gcp")
    # gcp without RUNWATCH_PROJECTS: the dashboard asks the metadata server (on Cloud Run) for
    # its own project; see with_discovered_project.
    demo_project = env.get("RUNWATCH_DEMO_PROJECT", _DEFAULTS["RUNWATCH_DEMO_PROJECT"]).strip()
    try:
        names.project(demo_project)
    except names.InvalidName as exc:
        raise ConfigError(f"RUNWATCH_DEMO_PROJECT: {exc}") from None
    raw_services = env.get("RUNWATCH_DEMO_SERVICES", "").strip()
    demo_services = _int(env, "RUNWATCH_DEMO_SERVICES", 1, 5000) if raw_services else None
    scope_project = env.get("RUNWATCH_METRICS_SCOPE_PROJECT", "").strip()
    if scope_project:
        try:
            names.project(scope_project)
        except names.InvalidName as exc:
            raise ConfigError(f"RUNWATCH_METRICS_SCOPE_PROJECT: {exc}") from None
    window = env.get("RUNWATCH_DEFAULT_WINDOW", _DEFAULTS["RUNWATCH_DEFAULT_WINDOW"]).strip()
    if window not in PRESETS:
        raise ConfigError(f"RUNWATCH_DEFAULT_WINDOW={window!r} must be one of {', '.join(PRESETS)}")
    return Settings(
        source=source,
        projects=projects,
        regions=_names(env, "RUNWATCH_REGIONS", names.region),
        emulator_address=_address(env, "RUNWATCH_EMULATOR_ADDRESS"),
        demo_project=demo_project,
        demo_services=demo_services,
        demo_projects=_names(env, "RUNWATCH_DEMO_PROJECTS", names.project),
        metrics_scope_project=scope_project,
        demo_days=_int(env, "RUNWATCH_DEMO_DAYS", 1, 30),
        demo_seed=_int(env, "RUNWATCH_DEMO_SEED", 0, 2**31 - 1),
        default_window=window,
        cache_ttl_s=_int(env, "RUNWATCH_CACHE_TTL_S", 60, 86_400),
        error_ttl_s=_int(env, "RUNWATCH_ERROR_TTL_S", 0, 3_600),
        rpc_timeout_s=float(_int(env, "RUNWATCH_RPC_TIMEOUT_S", 1, 600)),
        log_calls_per_minute=_int(env, "RUNWATCH_LOG_CALLS_PER_MINUTE", 1, 1_000),
        log_max_pages=_int(env, "RUNWATCH_LOG_MAX_PAGES", 1, 1_000),
        free_tier=_bool(env, "RUNWATCH_FREE_TIER"),
        boost_startup_percent=_int(env, "RUNWATCH_BOOST_STARTUP_PERCENT", 10, 100),
    )


def live_requested(env: Mapping[str, str] | None = None) -> bool:
    """Whether the environment asks for live data (any project given, or a source other than
    demo), read without validating: a bad setting must then stop live mode, not turn it into
    the demo."""
    import os

    env = os.environ if env is None else env
    source = env.get("RUNWATCH_SOURCE", "").strip().lower()
    return bool(env.get("RUNWATCH_PROJECTS", "").strip()) or source not in ("", "demo")


def with_discovered_project(settings: Settings, project: str | None) -> Settings:
    """Settings whose gcp source watches ``project`` when RUNWATCH_PROJECTS named none.

    Raises ConfigError when there is still nothing to watch."""
    if settings.source != "gcp" or settings.projects:
        return settings
    if not project:
        raise ConfigError(
            "RUNWATCH_SOURCE=gcp needs RUNWATCH_PROJECTS (the project ids to watch); on Cloud "
            "Run the dashboard's own project is used, but no metadata server answered here"
        )
    return replace(settings, projects=(names.project(project),))


def markdown_table() -> str:
    """The README's configuration table, generated from SETTINGS_TABLE."""
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for var in SETTINGS_TABLE:
        default = f"`{var.default}`" if var.default else "(empty)"
        lines.append(f"| `{var.name}` | {default} | {var.help} |")
    return "\n".join(lines)


def write_readme(path: str = "README.md") -> None:
    """Replace the README's generated configuration block with the current table."""
    import re
    from pathlib import Path

    readme = Path(path)
    block = f"<!-- config:start -->\n{markdown_table()}\n<!-- config:end -->"
    text = re.sub(
        r"<!-- config:start -->.*?<!-- config:end -->",
        lambda _: block,
        readme.read_text(),
        flags=re.S,
    )
    readme.write_text(text)


if __name__ == "__main__":
    if sys.argv[1:] == ["--markdown"]:
        print(markdown_table())
    elif sys.argv[1:] == ["--write-readme"]:
        write_readme()
    else:
        try:
            print(load())
        except ConfigError as exc:
            print(f"configuration error: {exc}", file=sys.stderr)
            sys.exit(2)
