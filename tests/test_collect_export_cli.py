"""``python -m collectors export``: flags, exit codes, the --json summary and the files."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from collectors import schema
from collectors.rpc import (
    LIST_LOCATIONS,
    LIST_LOG_ENTRIES,
    LIST_REVISIONS,
    LIST_SERVICES,
    LIST_TIME_SERIES,
)

ROOT = Path(__file__).resolve().parent.parent


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNWATCH_")}
    env.update(extra)
    return env


def _run(
    args: list[str], env: dict[str, str], timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "collectors", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--window", "2w"], "invalid choice"),
        (["--service", 'a" OR x="y'], "not a valid Cloud Run service name"),
        (["--project", "X"], "not a valid Google Cloud project id"),
        (["--source", "aws"], "invalid choice"),
    ],
)
def test_bad_flags_exit_2(flags: list[str], message: str, tmp_path: Path) -> None:
    out = _run(["export", *flags, "--out", str(tmp_path)], _env())
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert not list(tmp_path.iterdir())


def test_unreachable_api_is_one_line_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = _env(
        RUNWATCH_SOURCE="demo",
        RUNWATCH_EMULATOR_ADDRESS=f"127.0.0.1:{port}",
        RUNWATCH_RPC_TIMEOUT_S="1",
    )
    out = _run(["export", "--window", "1h", "--out", str(tmp_path)], env, timeout=120)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("python -m collectors: error:")
    assert "UNAVAILABLE" in lines[0]
    assert "Traceback" not in out.stderr
    assert not list(tmp_path.iterdir())  # nothing came back: no empty files


@pytest.mark.slow
def test_demo_export_json_summary_and_files(tmp_path: Path) -> None:
    env = _env(RUNWATCH_SOURCE="demo", RUNWATCH_DEMO_DAYS="1")
    out = _run(["export", "--window", "24h", "--out", str(tmp_path), "--json"], env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data["frames"]) == set(schema.FRAMES)
    assert all(isinstance(n, int) for n in data["frames"].values())
    assert all(data["frames"][f] > 0 for f in schema.FRAMES)
    assert set(data["quality"]) == set(schema.FRAMES)
    for q in data["quality"].values():
        assert q["status"] in ("complete", "partial", "truncated", "stale")
        assert isinstance(q["reasons"], list)
    calls = data["rpc_calls"]
    for method in (
        LIST_TIME_SERIES,
        LIST_LOG_ENTRIES,
        LIST_SERVICES,
        LIST_REVISIONS,
        LIST_LOCATIONS,
    ):
        assert calls.get(method.name, 0) >= 1, method
    assert calls[LIST_LOCATIONS.name] == 1
    cold = data["cold_starts"]
    assert isinstance(cold["from_logs"], int)
    assert isinstance(cold["from_metric"], int)
    assert cold["from_logs"] > 0
    files = sorted(Path(p).name for p in data["files"])
    assert files == sorted(f"{name}.parquet" for name in schema.FRAMES)
    for name, frame_schema in schema.FRAMES.items():
        df = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert len(df) == data["frames"][name]
        assert {c: str(t) for c, t in df.dtypes.items()} == dict(frame_schema), name
    text = _run(["export", "--window", "1h", "--out", str(tmp_path / "csv"), "--csv"], env)
    assert text.returncode == 0, text.stderr
    assert "cold starts:" in text.stdout
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == sorted(
        f"{name}.csv" for name in schema.FRAMES
    )
