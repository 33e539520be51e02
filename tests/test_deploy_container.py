"""The container contract: start the server exactly as the Dockerfile does, with PORT set and
as a non-root user; /_stcore/health answers, the page is served, SIGTERM stops it within 10 s.

The default test maps the image's paths (/opt/venv, /app) onto this checkout. With
RUNWATCH_IMAGE_ROOT set (``make image-check`` sets it to a mounted, really built image) the
``image`` test runs the same command from the image's own filesystem with chroot.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from tests._deploy_helpers import (
    ROOT,
    Served,
    free_port,
    instructions,
    serve_and_stop,
    start_command,
    unprivileged_can_run_python,
)

IMAGE_ROOT = os.environ.get("RUNWATCH_IMAGE_ROOT", "")
NOBODY = (65534, 65534)


def _check(served: Served) -> None:
    tail = served.output[-3000:]
    assert served.health == "ok", f"no health answer; server output:\n{tail}"
    assert served.page_status == 200
    assert '<div id="root">' in served.page, served.page[:300]
    assert served.returncode is not None, "still running 15 s after SIGTERM"
    assert served.exit_s < 10.0, f"took {served.exit_s:.1f} s to stop after SIGTERM"
    assert "Traceback" not in served.output, tail


def _user_env(home: str, port: int) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "PORT": str(port),
        "LANG": "C.UTF-8",
        "RUNWATCH_SOURCE": "demo",
        "RUNWATCH_DEMO_DAYS": "1",
    }


def _local_command() -> list[str]:
    """The Dockerfile's start command with the image's paths mapped onto this checkout."""
    if not (ROOT / "dashboard.py").is_file():
        pytest.skip("dashboard.py is not written yet: nothing to serve")
    argv = start_command()
    assert argv[0] == "/opt/venv/bin/python", argv
    assert argv[1].startswith("/app/"), argv
    assert dict(instructions()).get("WORKDIR") == "/app"
    return [sys.executable, str(ROOT / argv[1].removeprefix("/app/")), *argv[2:]]


def test_start_command_serves_on_port_and_stops_on_sigterm() -> None:
    local = _local_command()
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        served = serve_and_stop(local, _user_env(home, port), port)
    _check(served)


def test_start_command_as_non_root_user() -> None:
    local = _local_command()
    if os.geteuid() != 0:
        pass  # already unprivileged: the test above covers it
    elif shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot drop to a non-root user here")
    elif not unprivileged_can_run_python(*NOBODY):
        pytest.skip(
            f"{sys.executable} is not executable by an unprivileged user on this machine "
            "(interpreter under a private home); `make image-check` runs the image as its "
            "non-root user instead"
        )
    else:
        local = [
            "setpriv",
            f"--reuid={NOBODY[0]}",
            f"--regid={NOBODY[1]}",
            "--clear-groups",
            *local,
        ]
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        if os.geteuid() == 0:
            os.chown(home, *NOBODY)
        served = serve_and_stop(local, _user_env(home, port), port)
    _check(served)


@pytest.mark.skipif(not IMAGE_ROOT, reason="set by `make image-check` after a real podman build")
def test_image_start_command_from_the_image_filesystem() -> None:
    root = Path(IMAGE_ROOT)
    uid_gid = next(value for word, value in instructions() if word == "USER")
    assert (root / "opt/venv/bin/python").exists()
    assert (root / "app/dashboard.py").is_file(), "dashboard.py is missing from the image"
    assert not (root / "app/tests").exists()
    assert not (root / "app/.venv").exists()
    port = free_port()
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    argv = [chroot, f"--userspec={uid_gid}", str(root), *start_command()]
    env = _user_env("/home/runwatch", port)
    env["PATH"] = "/opt/venv/bin:/usr/local/bin:/usr/bin:/bin"
    served = serve_and_stop(argv, env, port, start_timeout_s=120)
    _check(served)
