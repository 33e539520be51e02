"""Helpers for the deploy tests: the Dockerfile's start command, and a served-process check."""

from __future__ import annotations

import contextlib
import json
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def instructions(text: str | None = None) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = DOCKERFILE.read_text() if text is None else text
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def start_command() -> list[str]:
    """ENTRYPOINT + CMD of the Dockerfile, both required to be exec form (JSON arrays)."""
    argv: list[str] = []
    for word, rest in instructions():
        if word in ("ENTRYPOINT", "CMD"):
            argv += json.loads(rest)
    return argv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout_s: float = 5.0) -> tuple[int, str]:
    try:
        with _NO_PROXY.open(url, timeout=timeout_s) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


@dataclass
class Served:
    health: str
    page_status: int
    page: str
    started_s: float
    exit_s: float
    returncode: int | None
    output: str


def serve_and_stop(
    argv: list[str], env: dict[str, str], port: int, *, start_timeout_s: float = 90.0
) -> Served:
    """Start ``argv``, wait for /_stcore/health, fetch /, send SIGTERM, time the exit."""
    # Output goes to a file, not a pipe: a full pipe would block the server.
    with tempfile.TemporaryFile(mode="w+") as log:
        t0 = time.monotonic()
        proc = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        base = f"http://127.0.0.1:{port}"
        health = ""
        try:
            while time.monotonic() - t0 < start_timeout_s and proc.poll() is None:
                with contextlib.suppress(OSError):
                    status, body = http_get(base + "/_stcore/health", 2.0)
                    if status == 200:
                        health = body
                        break
                time.sleep(0.25)
            started = time.monotonic() - t0
            page_status, page = http_get(base + "/", 10.0) if health else (0, "")
            t1 = time.monotonic()
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
            exit_s = time.monotonic() - t1
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.seek(0)
        output = log.read()
    return Served(health, page_status, page, started, exit_s, proc.returncode, output)


def unprivileged_can_run_python(uid: int, gid: int) -> bool:
    """Can ``uid`` exec this interpreter? (Not when it lives under a private home directory.)"""
    probe = "import os, sys; sys.exit(0 if os.access(sys.executable, os.X_OK) else 3)"
    done = subprocess.run(
        [
            "setpriv",
            f"--reuid={uid}",
            f"--regid={gid}",
            "--clear-groups",
            sys.executable,
            "-c",
            probe,
        ],
        capture_output=True,
        check=False,
        timeout=30,
    )
    return done.returncode == 0
