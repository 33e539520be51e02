"""The layers README.md's architecture section describes: imports point one way only."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PURE = ("foundation", "actions", "collectors", "costmodel", "emulator", "insights")

# Every room of the tree (top-level package or module), lowest first. A room may import the
# standard library, third-party packages, itself and the rooms of lower layers: never a room of
# its own layer or of a higher one. tests/ sits above all of them and may import anything.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("foundation",),  # validated names, time windows: the standard library only
    # one Settings from the environment (the collectors take it as a parameter) · the gcloud
    # commands that carry out what runwatch shows
    ("config", "actions"),
    ("collectors", "costmodel", "charts", "emulator", "deploy"),  # none imports another
    ("insights", "scope"),  # derived views (over the cost model); the dashboard's scope
    ("presentation",),  # the pages' wording of what insights and the cost model give
    ("app_data",),  # the only room importing both streamlit and the collectors
    ("widgets",),
    ("app_pages",),
    ("dashboard",),  # the router
    ("harness",),  # development: serving the dashboard, driving Chromium
    ("bench",),
)
# The command lines may import more, lazily inside a function (the demo source starts the
# emulator; the what-if command line reads through the collectors): these rooms of their own
# layer, and nothing higher.
LAZY_PEERS = {
    "collectors/__main__.py": {"emulator"},
    "costmodel/__main__.py": {"collectors", "emulator"},
}


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


def _layer_of() -> dict[str, int]:
    return {room: i for i, rooms in enumerate(LAYERS) for room in rooms}


def _rooms() -> set[str]:
    """Every top-level module and every top-level directory holding Python, but tests/."""
    found = {p.stem for p in ROOT.glob("*.py")}
    found |= {
        p.name
        for p in ROOT.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name != "tests" and any(p.rglob("*.py"))
    }
    return found


def _room_imports(rel: str, source: str) -> list[tuple[str, bool]]:
    """(imported module, imported inside a function) for every import of one file, wherever it
    stands (top level, under ``if TYPE_CHECKING``, in a function); relative imports resolved
    against the file's package."""
    tree = ast.parse(source)
    functions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
    lazy = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, functions)
        for inner in ast.walk(node)
    }
    package = rel.removesuffix(".py").split("/")[:-1]
    out: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, id(node) in lazy) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([module] if module else [])])
            out.append((module, id(node) in lazy))
    return out


def _layer_violations(rel: str, source: str) -> list[str]:
    """What the file at ``rel`` (relative to the root, "/"-separated) imports against LAYERS."""
    layer_of = _layer_of()
    room = rel.removesuffix(".py").split("/")[0]
    own = layer_of[room]
    bad = []
    for module, in_function in _room_imports(rel, source):
        target = module.split(".")[0]
        if room == "foundation" and target != room and target not in sys.stdlib_module_names:
            bad.append(f"{module} (foundation imports only the standard library)")
        if target == room or target not in layer_of or layer_of[target] < own:
            continue
        if in_function and target in LAZY_PEERS.get(rel, set()):
            continue
        where = "its own layer" if layer_of[target] == own else "a higher layer"
        bad.append(f"{module} ({where})")
    return bad


def test_every_room_has_a_layer() -> None:
    placed = [room for rooms in LAYERS for room in rooms]
    assert len(placed) == len(set(placed)), "a room is in two layers"
    assert _rooms() == set(placed), "place the new room in LAYERS (and README's architecture)"
    for rel in LAZY_PEERS:
        assert (ROOT / rel).is_file(), rel


def test_every_import_follows_the_layer_order() -> None:
    checked = 0
    offenders = []
    for room in sorted(_rooms()):
        paths = [ROOT / f"{room}.py"] if (ROOT / f"{room}.py").is_file() else []
        paths += sorted((ROOT / room).rglob("*.py")) if (ROOT / room).is_dir() else []
        for path in paths:
            rel = path.relative_to(ROOT).as_posix()
            offenders += [f"{rel} imports {b}" for b in _layer_violations(rel, path.read_text())]
            checked += 1
    assert offenders == [], "\n".join(offenders)
    assert checked > 100


def test_the_layer_check_catches_upward_and_sideways_imports() -> None:
    # The checker itself, on sources that break the order (top level and nested).
    assert _layer_violations("config.py", "from collectors import names\n") == [
        "collectors (a higher layer)"
    ]
    assert _layer_violations("collectors/x.py", "def f():\n    import costmodel.bill\n") == [
        "costmodel.bill (its own layer)"
    ]
    assert _layer_violations("foundation/x.py", "import numpy\nfrom . import names\n") == [
        "numpy (foundation imports only the standard library)"
    ]
    assert _layer_violations("insights/x.py", "if True:\n    from app_data import views\n") == [
        "app_data (a higher layer)"
    ]
    lazy = "def main():\n    import emulator\n"
    assert _layer_violations("collectors/__main__.py", lazy) == []
    for eager in ("import emulator\n", "if TYPE_CHECKING:\n    import emulator\n"):
        assert _layer_violations("collectors/__main__.py", eager) == ["emulator (its own layer)"]
    assert _layer_violations("costmodel/__main__.py", "def f():\n    import app_data\n") == [
        "app_data (a higher layer)"
    ]


def test_pure_layers_do_not_pull_in_streamlit() -> None:
    modules = [m for pkg in PURE for m in _modules(pkg)] + [
        "charts",
        "config",
        "scope",
        "presentation",
    ]
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


def test_readme_picture_shows_the_layers() -> None:
    """The README's picture of the layers is LAYERS, highest first, a row per layer."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Architecture\n.*?```text\n(.*?)```", readme, re.S)
    assert block, "README's architecture section has no picture of the layers"
    rows = [
        tuple(name.strip() for name in re.split(r" {2,}", line.strip())[0].split(" · "))
        for line in block.group(1).splitlines()
        if line.strip()
    ]
    assert rows == list(reversed(LAYERS))


def test_the_tests_page_list_is_every_page() -> None:
    """tests/_pages.PAGE_FILES, which every per-page test visits, names each file of app_pages."""
    from tests._pages import PAGE_FILES

    pages = {f"app_pages/{p.name}" for p in (ROOT / "app_pages").glob("*.py")}
    assert set(PAGE_FILES) == pages - {"app_pages/__init__.py"}
    assert len(PAGE_FILES) == len(set(PAGE_FILES))
