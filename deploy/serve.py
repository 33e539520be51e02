"""Container entry point: start the dashboard on the port Cloud Run gives in ``$PORT``.

The Dockerfile's exec-form ENTRYPOINT runs this file; it validates ``$PORT`` (default 8080) and
replaces itself with Streamlit through ``os.execv``, so Streamlit keeps the process id and
receives Cloud Run's SIGTERM directly (no shell, no wrapper process in between).

This launcher sits outside the app packages and is the one place besides config.py that reads
the environment: the port is the platform's contract, not a runwatch setting. Every other
server option comes from ``.streamlit/config.toml`` next to dashboard.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 8080
# Host headers Streamlit accepts on its websocket (DNS rebinding, see .streamlit/config.toml).
# Cloud Run's front end routes a request here only when its Host names this service: one of its
# *.run.app URLs, whose exact name Cloud Run assigns at the first deploy. Behind a load balancer
# with another domain, list it in STREAMLIT_SERVER_ALLOWED_HOSTS (space-separated) instead.
ALLOWED_HOSTS = ("localhost", "127.0.0.1", "*.run.app")


class LaunchError(ValueError):
    """The environment cannot start the dashboard (the message says why)."""


def port_from(env: dict[str, str] | os._Environ[str]) -> int:
    raw = env.get("PORT", "").strip() or str(DEFAULT_PORT)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise LaunchError(f"PORT={raw!r} is not a TCP port number (1-65535)")
    return int(raw)


def streamlit_argv(
    port: int, app_dir: Path = APP_DIR, allowed_hosts: tuple[str, ...] = ALLOWED_HOSTS
) -> list[str]:
    """The Streamlit command line; server options not given here come from config.toml."""
    hosts = [arg for host in allowed_hosts for arg in ("--server.allowedHosts", host)]
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_dir / "dashboard.py"),
        "--server.port",
        str(port),
        "--server.address",
        "0.0.0.0",
        "--server.headless",
        "true",
        *hosts,
    ]


def main() -> None:
    try:
        port = port_from(os.environ)
    except LaunchError as exc:
        print(f"runwatch: {exc}", file=sys.stderr)
        sys.exit(2)
    if not (APP_DIR / "dashboard.py").is_file():
        print(f"runwatch: {APP_DIR / 'dashboard.py'} is missing", file=sys.stderr)
        sys.exit(2)
    # Streamlit reads .streamlit/config.toml from the working directory.
    os.chdir(APP_DIR)
    hosts = tuple(os.environ.get("STREAMLIT_SERVER_ALLOWED_HOSTS", "").split()) or ALLOWED_HOSTS
    argv = streamlit_argv(port, allowed_hosts=hosts)
    sys.stdout.flush()
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
