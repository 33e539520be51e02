"""`make deploy` hands every option to ``python3 -m deploy`` verbatim, as one argument each:
no value can run a command (backticks, ``$(...)``, make's own ``$(shell ...)``) or add a flag
(a quote followed by ``--no-iap``). Each hostile value is refused by deploy's validation,
which names the option and shows the value exactly as it was typed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._deploy_helpers import bare_path_dir, make_deploy

BASE = {"PROJECT": "host-proj-1", "REGION": "europe-west1", "DRY_RUN": "1"}
VALID = {
    "PROJECT": "host-proj-1",
    "REGION": "europe-west1",
    "WATCH_PROJECTS": "prod-proj-1",
    "INVOKERS": "group:sre@example.com",
    "MAX_INSTANCES": "2",
}
# What each payload would run without the fix: the shell (backtick, $(...) after make turns
# $$ into $) or make itself ($(shell ...) is expanded when make exports the variable).
PAYLOADS = {
    "backtick": "`touch {mark}`",
    "dollar-paren": "$$(touch {mark})",
    "make-shell": "$(shell touch {mark})",
}


@pytest.fixture(scope="module")
def bare_path() -> Iterator[str]:
    with bare_path_dir() as path:
        yield path


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
@pytest.mark.parametrize("name", sorted(VALID))
def test_a_command_in_a_value_never_runs(
    bare_path: str, tmp_path: Path, name: str, payload: str
) -> None:
    mark = tmp_path / "ran"
    value = VALID[name] + PAYLOADS[payload].format(mark=mark)
    done = make_deploy(bare_path, **{**BASE, name: value})
    assert not mark.exists(), f"{name}={value} ran a command"
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert name in done.stderr, done.stderr
    assert repr(value)[:60] in done.stderr, "deploy must see the value as typed"
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("INVOKERS", 'group:sre@example.com" --no-iap "'),
        ("WATCH_PROJECTS", 'prod-proj-1" --no-iap --invokers "user:ana@example.com'),
        ("PROJECT", "--no-iap"),
        ("REGION", "europe-west1 --no-iap"),
        ("MAX_INSTANCES", '2" --no-iap "'),
    ],
)
def test_a_quote_in_a_value_cannot_add_a_flag(bare_path: str, name: str, value: str) -> None:
    done = make_deploy(bare_path, **{**BASE, "INVOKERS": "group:sre@example.com", name: value})
    assert "--no-iap" not in done.stdout, f"{name}={value} switched IAP off"
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert name in done.stderr, done.stderr
    assert repr(value) in done.stderr


def test_odd_but_valid_values_arrive_unchanged(bare_path: str) -> None:
    done = make_deploy(
        bare_path,
        **BASE,
        WATCH_PROJECTS=" prod-proj-1 , stage-proj-2 ",
        INVOKERS="group:sre@example.com, user:o'brien@example.com",
    )
    assert done.returncode == 0, done.stderr
    assert "--iap" in done.stdout.split()
    assert "--member=user:o'\"'\"'brien@example.com" in done.stdout  # shell-quoted by the plan
    assert "RUNWATCH_PROJECTS=prod-proj-1,stage-proj-2" in done.stdout


@pytest.mark.parametrize(("name", "value"), [("DRY_RUN", "ture"), ("IAP", "nein")])
def test_an_unknown_switch_value_is_refused(bare_path: str, name: str, value: str) -> None:
    # DRY_RUN=ture must not fall through to a real deployment.
    done = make_deploy(bare_path, **{**BASE, name: value})
    assert done.returncode == 2
    assert done.stdout == ""
    assert f"{name}={value}" in done.stderr, done.stderr
    assert "gcloud" not in done.stderr


@pytest.mark.parametrize(
    ("value", "iap_flag"), [("0", "--no-iap"), ("no", "--no-iap"), ("", "--iap")]
)
def test_iap_switch_still_works(bare_path: str, value: str, iap_flag: str) -> None:
    done = make_deploy(bare_path, **BASE, IAP=value, INVOKERS="user:ana@example.com")
    assert done.returncode == 0, done.stderr
    assert iap_flag in done.stdout.split()
