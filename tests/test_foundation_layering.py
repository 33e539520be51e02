"""The layers README.md's architecture section describes: imports point one way only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PURE = ("collectors", "costmodel", "emulator", "insights")


def _modules(package: str) -> list[str]:
    return sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / package).rglob("*.py")
        if p.name != "__main__.py"
    )


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_pure_layers_do_not_pull_in_streamlit() -> None:
    modules = [m for pkg in PURE for m in _modules(pkg)] + ["charts", "config", "presentation"]
    modules = [
        m
        for m in modules
        if (ROOT / (m.replace(".", "/") + ".py")).exists()
        or (ROOT / m.replace(".", "/") / "__init__.py").exists()
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'streamlit' or m.startswith('streamlit.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"streamlit imported by a pure layer: {out.stdout[:200]}"
    assert len(modules) >= 5


def test_collectors_and_costmodel_never_import_the_emulator() -> None:
    # The export/what-if command lines may start the emulator lazily inside a function
    # (--source demo); nothing else may.
    for package in ("collectors", "costmodel"):
        for path in (ROOT / package).rglob("*.py"):
            imports = _imports(path, top_level_only=path.name == "__main__.py")
            bad = {m for m in imports if m == "emulator" or m.startswith("emulator.")}
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_the_simulation_never_imports_the_api_room_grpc_or_google() -> None:
    # emulator/sim builds FleetData and its ground truth; only emulator/api speaks gRPC.
    paths = sorted((ROOT / "emulator" / "sim").rglob("*.py"))
    assert ROOT / "emulator" / "sim" / "fleet.py" in paths
    for path in paths:
        tree = ast.parse(path.read_text())
        relative = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
        assert not relative, f"{path.relative_to(ROOT)} imports relatively (lines {relative})"
        bad = {
            m
            for m in _imports(path, top_level_only=False)
            if m.split(".")[0] in ("google", "grpc", "grpc_status")
            or m == "emulator.api"
            or m.startswith("emulator.api.")
            or m == "emulator"  # the package's __init__ is the API room's entry point
        }
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_costmodel_uses_no_google_client() -> None:
    for path in (ROOT / "costmodel").rglob("*.py"):
        bad = {
            m for m in _imports(path, top_level_only=False) if m.split(".")[0] in ("google", "grpc")
        }
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_pages_only_talk_to_app_data_and_charts() -> None:
    allowed_roots = {
        "streamlit",
        "app_data",
        "charts",
        "config",
        "app_pages",
        "widgets",
        "presentation",
        "__future__",
        "typing",
        "datetime",
        "collections",
        "dataclasses",
        "pandas",
    }
    files = [*sorted((ROOT / "app_pages").glob("*.py")), ROOT / "widgets.py", ROOT / "dashboard.py"]
    assert files[-1].exists()
    assert files[-2].exists()
    for path in files:
        bad = {
            m for m in _imports(path, top_level_only=False) if m.split(".")[0] not in allowed_roots
        }
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}: pages go through app_data"


def test_presentation_loads_no_streamlit_collectors_or_google() -> None:
    # The pages' wording and formats: pure, so it is checked (and tested) without a server.
    code = (
        "import sys, presentation\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('streamlit', 'collectors', 'google', 'grpc', 'app_data', 'emulator'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"presentation loads {out.stdout[:200]}"


def test_analysis_returns_data_not_wording() -> None:
    # insights/ hands numbers and records to presentation, which words them: never back.
    for path in (ROOT / "insights").rglob("*.py"):
        imports = _imports(path, top_level_only=False)
        assert "presentation" not in imports, f"{path.relative_to(ROOT)} imports presentation"
        assert "html" not in imports, f"{path.relative_to(ROOT)} builds markup"


def test_only_config_reads_the_environment() -> None:
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        # deploy/serve.py is the container launcher (reads $PORT before Streamlit exists)
        if rel.parts[0] in (".venv", "tests", "bench", "deploy") or rel.name == "config.py":
            continue
        if "os.environ" in path.read_text() or "getenv(" in path.read_text():
            offenders.append(str(rel))
    assert offenders == []
