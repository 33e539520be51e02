"""README's promises: the two commands are Makefile targets; configuration matches config.py."""

from __future__ import annotations

import importlib
import re
import subprocess
from pathlib import Path

import config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()


def _first_screen() -> str:
    return "\n".join(README.splitlines()[:40])


def test_first_screen_shows_exactly_the_two_commands() -> None:
    block = re.search(r"```sh\n(.*?)```", _first_screen(), re.S)
    assert block, "README's first screen has no sh code block"
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_readme_commands_are_makefile_targets_with_descriptions() -> None:
    for target in ("demo", "test", "lint", "bench"):
        assert re.search(rf"^{target}:.*## \S", MAKEFILE, re.M), (
            f"make {target} lacks a target/help"
        )


def test_make_help_lists_every_target() -> None:
    out = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    targets = re.findall(r"^([a-zA-Z_-]+):(?!=)", MAKEFILE, re.M)
    for target in targets:
        assert f"make {target}" in out, f"make help does not describe {target}"


def test_configuration_section_is_generated_from_config() -> None:
    block = re.search(r"<!-- config:start -->\n(.*?)\n<!-- config:end -->", README, re.S)
    assert block, "README lacks the generated configuration block"
    assert block.group(1) == config.markdown_table()


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


def _resolves(dotted: str) -> bool:
    """``dotted`` (package.module.name...) names a module or an attribute of one ("st." is
    Streamlit, as the code imports it)."""
    parts = (
        dotted.replace("st.", "streamlit.", 1).split(".")
        if dotted.startswith("st.")
        else (dotted.split("."))
    )
    for i in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        try:
            for name in parts[i:]:
                obj = getattr(obj, name)
        except AttributeError:
            return False
        return True
    return False


def test_architecture_paths_name_code_that_exists() -> None:
    """docs/architecture.md and README's architecture section lead to real functions and files:
    every `dotted.name` and `path.py` they quote exists (a rename must update them)."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    text += README.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    dotted = set(re.findall(r"`([a-z_]+(?:\.[A-Za-z_]+)+)(?:\([^`]*\))?`", text))
    files = set(re.findall(r"`([A-Za-z_/]+\.(?:py|md|json))`", text))
    dotted -= {f.removesuffix(".py").removesuffix(".md").removesuffix(".json") for f in files}
    dotted = {d for d in dotted if not d.endswith((".py", ".md", ".json"))}
    assert len(dotted) >= 30, "the architecture paths are no longer quoted as dotted names"
    assert [d for d in sorted(dotted) if not _resolves(d)] == []
    assert [f for f in sorted(files) if not (ROOT / f).exists()] == []
