"""Helpers for the deploy tests: the Dockerfile's start command, a served-process check,
`make deploy` on a bare PATH, and the matching rules of .dockerignore and .gcloudignore."""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
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


@contextlib.contextmanager
def bare_path_dir() -> Iterator[str]:
    """A PATH with make, bash and python3 only: proves the dry run needs no gcloud."""
    with tempfile.TemporaryDirectory() as tmp:
        for tool in ("make", "bash", "sh", "touch"):
            found = shutil.which(tool)
            if found:
                os.symlink(os.path.realpath(found), Path(tmp) / tool)
        # The interpreter behind the venv, without the venv: the dry run needs the stdlib only.
        os.symlink(os.path.realpath(sys.executable), Path(tmp) / "python3")
        yield tmp


def make_deploy(path: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """``make deploy NAME=VALUE ...``: each value is one argv item of make, as a shell would
    pass a quoted word."""
    args = [f"{k}={v}" for k, v in variables.items()]
    return subprocess.run(
        [shutil.which("make") or "make", "--no-print-directory", "deploy", *args],
        cwd=ROOT,
        env={"PATH": path, "HOME": "/tmp"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _ignore_lines(name: str) -> list[str]:
    lines = []
    for raw in (ROOT / name).read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _docker_glob(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match plus ``**``) as a regular expression."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def docker_ignored(path: str) -> bool:
    """Docker's rule for .dockerignore: a pattern matches a path or one of its parent
    directories; the last matching line wins and ``!`` re-includes (even inside an excluded
    directory)."""
    result = False
    parts = path.split("/")
    for line in _ignore_lines(".dockerignore"):
        negate = line.startswith("!")
        rx = _docker_glob(line.lstrip("!").strip("/"))
        if any(rx.fullmatch("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            result = not negate
    return result


def _gcloud_match(parts: list[str], path: str | None) -> bool:
    """gcloud's pattern match: pattern parts against path parts, right to left. ``path`` ""
    is the upload root; a leading "" part (a pattern starting with "/") anchors at the root."""
    if not parts:
        return True
    if path is None:
        return False
    if path == "":
        rest, part = None, ""
    elif "/" in path:
        rest, part = path.rsplit("/", 1)
    else:
        rest, part = "", path
    last, head = parts[-1], parts[:-1]
    if last == "**":
        anchored = head if head[:1] == [""] else ["", *head]
        pieces = path.split("/") if path else []
        prefixes = ["", *("/".join(pieces[:n]) for n in range(1, len(pieces) + 1))]
        return any(_gcloud_match(anchored, prefix) for prefix in prefixes)
    if not fnmatch.fnmatchcase(part, last):
        return False
    return _gcloud_match(head, rest)


def gcloud_ignored(path: str, *, is_dir: bool = False) -> bool:
    """Whether ``gcloud run deploy --source .`` leaves ``path`` out, by the rules of its
    .gcloudignore reader: lines in order; a match on a directory carries to everything under
    it, and what sits under an ignored directory cannot be re-included."""
    pieces = path.split("/")
    prefixes = ["", *("/".join(pieces[:n]) for n in range(1, len(pieces) + 1))]
    state: dict[str, bool | None] = dict.fromkeys(prefixes)  # True: ignored, False: included
    for line in _ignore_lines(".gcloudignore"):
        negate = line.startswith("!")
        body = line[1:] if negate else line
        dir_only = body.endswith("/")
        parts = body.rstrip("/").split("/")
        inherited: bool | None = None
        for prefix in prefixes:
            if inherited is not None:
                found: bool | None = inherited
            elif dir_only and prefix == path and not is_dir:
                found = None
            else:
                found = (not negate) if _gcloud_match(parts, prefix) else None
            if found is not None:
                state[prefix] = found
            inherited = True if state[prefix] else found
    return bool(state[path])
