"""Static checks of the Dockerfile, .dockerignore and the production Streamlit config
(docs/reliability.md items 13 and 19)."""

from __future__ import annotations

import json
import re
import tomllib

from tests._deploy_helpers import DOCKERFILE, ROOT, docker_ignored, instructions

TEXT = DOCKERFILE.read_text()
STEPS = instructions()


def _values(word: str) -> list[str]:
    return [rest for w, rest in STEPS if w == word]


def test_base_is_a_pinned_build_argument() -> None:
    first = STEPS[0]
    assert first[0] == "ARG", "ARG BASE_IMAGE must come before FROM"
    name, _, default = first[1].partition("=")
    assert name == "BASE_IMAGE"
    image, _, tag = default.partition(":")
    assert image in ("python", "docker.io/library/python")
    # An exact patch version (3.11.N-slim...) or a digest, never a moving "3.11-slim" or latest.
    assert "@sha256:" in default or re.fullmatch(r"3\.11\.\d+-slim(-[a-z]+)?", tag), default
    assert _values("FROM") == ["${BASE_IMAGE}"]


def test_runs_as_a_fixed_non_root_user() -> None:
    users = _values("USER")
    assert users, "no USER instruction: the container would run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), "use a numeric uid so the runtime can check it is not root"
    assert int(uid) != 0
    after = [w for w, _ in STEPS[[w for w, _ in STEPS].index("USER") :]]
    assert "RUN" not in after, "nothing may run after USER"
    assert "COPY" not in after, "nothing may be copied after USER (files would be root's)"


def test_exec_form_start_that_reads_port() -> None:
    entry = _values("ENTRYPOINT") + _values("CMD")
    assert entry, "no start command"
    for value in entry:
        argv = json.loads(value)  # exec form is a JSON array; shell form fails here
        assert all(isinstance(a, str) for a in argv)
        assert not {"sh", "/bin/sh", "bash", "/bin/bash"} & set(argv)
    launcher = (ROOT / json.loads(entry[0])[1].removeprefix("/app/")).read_text()
    assert '"PORT"' in launcher
    assert "os.execv" in launcher
    env = " ".join(_values("ENV"))
    assert re.search(r"\bPORT=8080\b", env)
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", env)
    assert "8080" in _values("EXPOSE")


def test_dependencies_are_installed_before_the_code_is_copied() -> None:
    words = [(w, r) for w, r in STEPS if w in ("COPY", "RUN")]
    copy_req = next(i for i, (w, r) in enumerate(words) if w == "COPY" and "requirements.txt" in r)
    pip = next(i for i, (w, r) in enumerate(words) if w == "RUN" and "pip install" in r)
    copy_all = next(i for i, (w, r) in enumerate(words) if w == "COPY" and r.startswith(". "))
    assert copy_req < pip < copy_all
    assert "python3 -m venv /opt/venv" in TEXT


def test_no_secrets_in_the_image() -> None:
    lowered = " ".join(f"{w} {r}" for w, r in STEPS).lower()  # instructions, not comments
    for word in ("password", "token", "api_key", "apikey", "credentials", "private_key"):
        assert word not in lowered, f"{word!r} appears in the Dockerfile"
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in TEXT
    for _, rest in STEPS:
        assert not re.search(r"\.(json|pem|p12|key)\b", rest) or "requirements" in rest


def test_dockerignore_keeps_secrets_and_tests_out_and_the_app_in() -> None:
    for path in (
        ".venv/bin/python",
        "tests/test_x.py",
        ".git/config",
        "key.json.key",
        "sa-credentials.json",
        ".env",
        ".streamlit/secrets.toml",
        "bench/x.py",
        "harness/x.py",
        "collectors/__pycache__/x.pyc",
        "artifacts/a.png",
        "export/x.parquet",
    ):
        assert docker_ignored(path), f"{path} would be sent to the build"
    packages = sorted(
        p.name
        for p in ROOT.iterdir()
        if p.is_dir()
        and any(p.glob("*.py"))
        and p.name not in ("tests", "bench", "harness", "deploy", ".venv", ".ci")
        and not p.name.startswith(".")
    )
    for path in (
        "requirements.txt",
        "dashboard.py",
        "config.py",
        ".streamlit/config.toml",
        "deploy/serve.py",
        "costmodel/prices.json",
        *(f"{pkg}/__init__.py" for pkg in packages),
    ):
        assert not docker_ignored(path), f"{path} is left out of the image"


def test_streamlit_production_config() -> None:
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server, client = cfg["server"], cfg["client"]
    assert server["headless"] is True
    assert server["fileWatcherType"] == "none"
    assert server.get("enableXsrfProtection", True) is True
    assert server.get("enableCORS", True) is True
    assert server["maxUploadSize"] <= 1
    assert "cookieSecret" not in server
    assert cfg["browser"]["gatherUsageStats"] is False
    # false is deprecated and means "stacktrace" in Streamlit >= 1.4x: tracebacks would show.
    assert client["showErrorDetails"] == "none"
    assert client["toolbarMode"] == "viewer"
