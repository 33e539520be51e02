"""The benchmarks and harness/ stand on their own: neither imports the test suite."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).parent.parts)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join([*base, *([node.module] if node.module else [])]))
            elif node.module:
                found.add(node.module)
    return found


def test_bench_and_harness_never_import_tests() -> None:
    files = [p for package in ("bench", "harness") for p in sorted((ROOT / package).rglob("*.py"))]
    assert ROOT / "harness" / "__init__.py" in files
    assert ROOT / "bench" / "bench_dashboard.py" in files
    for path in files:
        bad = {m for m in _imports(path) if m == "tests" or m.startswith("tests.")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_harness_imports_neither_streamlit_nor_playwright_nor_tests() -> None:
    # Streamlit runs in the served subprocess; Playwright is imported when a browser starts.
    code = (
        "import sys, harness\n"
        "roots = {m.split('.')[0] for m in sys.modules}\n"
        "print(','.join(sorted(roots & {'streamlit', 'playwright', 'tests', 'bench'})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"importing harness loaded {out.stdout.strip()}"
