"""What leaves the machine on `make deploy`: `gcloud run deploy --source .` uploads the
directory to Cloud Build as .gcloudignore allows, and the build copies into the image what
.dockerignore allows. Both must keep every file the Dockerfile copies and drop every secret."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests._deploy_helpers import ROOT, docker_ignored, gcloud_ignored, instructions

# Left out of the walk below: large, and checked as secrets/caches by name instead.
_SKIP_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}

SECRETS = (
    ".env",
    ".env.production",
    "app_data/.env",
    ".streamlit/secrets.toml",
    "app_pages/.streamlit/secrets.toml",
    "key.json",
    "collectors/key.json",
    "app_data/runwatch-sa-3f2a9c.json",
    "costmodel/application_default_credentials.json",
    "sa-credentials.json",
    "key.json.key",
    "deploy/tls.pem",
    "insights/private.key",
    "cert.p12",
    "id_rsa",
    "export/x.csv",
    "export/runs.parquet",
    "collectors/export/x.csv",
    "app_pages/runs.csv",
    "exports/2024.xlsx",
    ".venv/bin/python",
    "venv/bin/python",
    ".git/config",
    "artifacts/screenshot.png",
    "tests/test_x.py",
    "collectors/__pycache__/x.cpython-311.pyc",
    ".pytest_cache/v/cache/lastfailed",
    "bench/results.json",
)


def _tree() -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
        rel = os.path.relpath(dirpath, ROOT)
        for name in filenames:
            out.append(name if rel == "." else f"{rel}/{name}")
    return sorted(out)


def _copied() -> list[str]:
    """Every file the Dockerfile's COPY instructions put into the image."""
    tree = _tree()
    out: set[str] = set()
    for word, rest in instructions():
        if word != "COPY":
            continue
        *sources, _dest = [a for a in shlex.split(rest) if not a.startswith("--")]
        for source in sources:
            source = source.strip("/")
            if source in ("", "."):
                out.update(p for p in tree if not docker_ignored(p))
            else:
                assert not docker_ignored(source), f"COPY {source}: .dockerignore drops it"
                out.update(p for p in tree if p == source or p.startswith(source + "/"))
    return sorted(out)


def test_there_is_a_gcloudignore() -> None:
    # Without one, gcloud uploads everything .gitignore does not list, .env and keys included.
    assert (ROOT / ".gcloudignore").is_file()


def test_everything_the_build_copies_is_uploaded() -> None:
    copied = _copied()
    for needed in ("requirements.txt", "dashboard.py", "deploy/serve.py", "costmodel/prices.json"):
        assert needed in copied  # the walk found the app
    for path in (*copied, "Dockerfile", ".dockerignore", ".streamlit/config.toml"):
        assert not gcloud_ignored(path), f"{path} is not uploaded, the build needs it"


@pytest.mark.parametrize("path", SECRETS)
def test_secrets_keys_exports_and_caches_are_not_uploaded(path: str) -> None:
    assert gcloud_ignored(path), f"{path} would be uploaded to Cloud Build"


@pytest.mark.parametrize("path", SECRETS)
def test_secrets_keys_exports_and_caches_are_not_in_the_image(path: str) -> None:
    assert docker_ignored(path), f"{path} would be copied into the image"


def test_ignored_directories_are_ignored_as_directories() -> None:
    for directory in (".git", ".venv", "export", "collectors/export", "artifacts", "tests"):
        assert gcloud_ignored(directory, is_dir=True), directory
    for directory in (
        "app_data",
        "app_pages",
        "collectors",
        "costmodel",
        "deploy",
        "emulator",
        "foundation",
    ):
        assert not gcloud_ignored(directory, is_dir=True), directory


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="needs the Google Cloud CLI")
def test_gcloud_itself_uploads_what_the_rules_say(tmp_path: Path) -> None:
    """gcloud's own reader of .gcloudignore (it runs offline), on a tree holding the files
    the build copies and every secret above: it uploads exactly what the rules predict."""
    tree = tmp_path / "src"
    paths = sorted({*_copied(), *SECRETS, "Dockerfile", ".dockerignore", ".gitignore"})
    for rel in paths:
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text("x")
    shutil.copy(ROOT / ".gcloudignore", tree / ".gcloudignore")
    done = subprocess.run(
        ["gcloud", "meta", "list-files-for-upload", str(tree)],
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "CLOUDSDK_CONFIG": str(tmp_path / "gcloud-config"),
            "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    uploaded = set(done.stdout.split())
    assert uploaded == {p for p in paths if not gcloud_ignored(p)}
    assert not uploaded & set(SECRETS)
