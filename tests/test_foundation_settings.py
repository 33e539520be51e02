"""The dashboard reads its settings when first used, not at import, and caches through one
decorator (app_data.memory.cached).

Importing app_data must read no setting and reach no network: in gcp mode without projects the
first reading asks the metadata server. Each case imports app_data in a fresh process (the
settings are read once per process) and records its network look-ups with an audit hook.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import streamlit as st
from _fresh_process import run_script

ROOT = Path(__file__).resolve().parent.parent

_IMPORT_THEN_READ = """
import json, os, sys

seen = []
def hook(event, args):
    if event in ("socket.getaddrinfo", "socket.connect"):
        seen.append([event, str(args[0] if event == "socket.getaddrinfo" else args[1])])
sys.addaudithook(hook)

import app_data
import widgets
at_import = list(seen)
late = sys.argv[1]
if late:
    os.environ["RUNWATCH_PROJECTS"] = late  # set after the import: read only if read later
first = app_data.configured()
os.environ["RUNWATCH_PROJECTS"] = "changed-after-first-use"
again = app_data.configured()
print(json.dumps({
    "at_import": at_import,
    "at_first_use": seen[len(at_import):],
    "projects": list(first.settings.watched_projects),
    "problem": first.problem,
    "stops": first.stops,
    "once": again is first,
}))
"""


def _import_then_read(late_projects: str) -> dict[str, Any]:
    # RUNWATCH_SOURCE=gcp and no RUNWATCH_PROJECTS: the metadata server would be asked
    done = run_script(
        _IMPORT_THEN_READ, late_projects, env={"RUNWATCH_SOURCE": "gcp"}, timeout_s=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def test_importing_app_data_reads_no_setting() -> None:
    out = _import_then_read("late-project")
    assert out["at_import"] == [], "importing app_data reached the network"
    assert out["projects"] == ["late-project"], "the settings were read before the first use"
    assert out["problem"] == ""
    assert out["once"], "the settings are read once per process"
    assert out["at_first_use"] == [], "projects given: no metadata server to ask"


def test_the_metadata_server_is_asked_on_first_use_not_at_import() -> None:
    out = _import_then_read("")
    assert out["at_import"] == [], "importing app_data reached the network"
    hosts = [arg for event, arg in out["at_first_use"] if event == "socket.getaddrinfo"]
    assert "metadata.google.internal" in hosts, out["at_first_use"]
    assert "RUNWATCH_PROJECTS" in out["problem"]  # no metadata server answered here
    assert out["stops"], "gcp asked for: the problem stops the dashboard, never the demo"
    assert out["projects"] == []


# ------------------------------------------------------------------------ one cache decorator


def _python_files() -> list[Path]:
    skip = (".venv", "tests", "bench", "artifacts")
    return [p for p in sorted(ROOT.rglob("*.py")) if p.relative_to(ROOT).parts[0] not in skip]


def test_st_cache_data_is_used_by_memory_cached_alone() -> None:
    users: dict[str, int] = {}
    for path in _python_files():
        tree = ast.parse(path.read_text())
        uses = [
            n
            for n in ast.walk(tree)
            if (isinstance(n, ast.Attribute) and n.attr == "cache_data")
            or (isinstance(n, ast.Name) and n.id == "cache_data")
            or (isinstance(n, ast.alias) and n.name.split(".")[-1] == "cache_data")
        ]
        if uses:
            users[str(path.relative_to(ROOT))] = len(uses)
    assert users == {"app_data/memory.py": 1}


def test_every_cached_loader_goes_through_memory_cached() -> None:
    decorated = []
    for name in ("__init__.py", "loaders.py"):
        tree = ast.parse((ROOT / "app_data" / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                for d in node.decorator_list:
                    assert isinstance(d, ast.Name), (name, node.name)
                    assert d.id == "cached", (name, node.name)
                    decorated.append(node.name)
    assert {"_fleet", "_collect", "_listing", "_overview", "_cost"} <= set(decorated)


_CALLS: list[int] = []


def _counted(n: int) -> int:
    _CALLS.append(n)
    return n * 2


def test_memory_cached_caches_and_is_emptied_by_a_clear(demo_emulator: Any) -> None:
    from app_data import memory

    # the session's demo settings are in the environment (demo_emulator) before the first use
    load = memory.cached(_counted)
    assert _CALLS == [], "wrapping loads nothing"
    assert load(3) == 6
    assert load(3) == 6
    assert _CALLS == [3]
    st.cache_data.clear()
    assert load(3) == 6
    assert _CALLS == [3, 3], "st.cache_data.clear() empties the loaders' caches"
