"""The bench's side of bench/scale_emulator.py: the emulator started in a process of its own
(so the simulated fleet's memory is not the dashboard's) and asked, over its stdin/stdout
line protocol, for its RPC counts and memory. Used by bench/bench_scale.py."""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EMULATOR_START_TIMEOUT_S = 600.0
CALLS_QUIET_S = 2.0  # a visit's RPCs: counted until none came for this long
CALLS_SETTLE_CAP_S = 120.0


class ScaleEmulator:
    """bench/scale_emulator.py in a subprocess, asked over its stdin/stdout line protocol."""

    def __init__(self, services: int, projects: tuple[str, ...], days: int) -> None:
        self._log = Path(tempfile.mkdtemp(prefix="runwatch-scale-emu-")) / "emulator.log"
        cmd = [
            sys.executable,
            str(ROOT / "bench" / "scale_emulator.py"),
            "--days",
            str(days),
            "--services",
            str(services),
            "--project",
            projects[0],
            "--projects",
            ",".join(projects),
        ]
        with self._log.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                bufsize=1,
            )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            line = self._next(EMULATOR_START_TIMEOUT_S)
            while not line.startswith("ready "):  # nothing else is expected; skip it anyway
                line = self._next(EMULATOR_START_TIMEOUT_S)
            self.ready: dict[str, Any] = json.loads(line.removeprefix("ready "))
        except BaseException:
            self.stop()
            raise
        self.address: str = self.ready["address"]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _next(self, timeout_s: float) -> str:
        try:
            line = self._lines.get(timeout=timeout_s)
        except queue.Empty:
            raise RuntimeError(f"scale_emulator: no answer in {timeout_s:.0f} s") from None
        if line is None:
            tail = self._log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"scale_emulator exited ({self.proc.poll()}):\n{tail}")
        return line

    def ask(self, command: str, timeout_s: float = 60.0) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._next(timeout_s)

    def calls(self) -> dict[str, int]:
        counts: dict[str, int] = json.loads(self.ask("calls"))
        return counts

    def reset(self) -> None:
        self.ask("reset")

    def rss_mb(self) -> float:
        return float(self.ask("rss"))

    def settled_calls(self) -> dict[str, int]:
        """The counts once no RPC came for CALLS_QUIET_S (at most CALLS_SETTLE_CAP_S)."""
        last, since = self.calls(), time.monotonic()
        deadline = since + CALLS_SETTLE_CAP_S
        while time.monotonic() < deadline:
            time.sleep(0.25)
            now = self.calls()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= CALLS_QUIET_S:
                break
        return last

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
