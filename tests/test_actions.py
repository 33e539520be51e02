"""The commands runwatch gives to copy (actions/): the service update of a what-if's setting and
its YAML lines, and a canary's traffic commands; flags checked against gcloud's own help where
gcloud is installed."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess

import pytest

from actions import service_update, traffic
from actions.service_update import Setting, update_command, yaml_changes
from actions.traffic import canary_commands, next_share
from foundation.names import InvalidName

CURRENT = Setting(80, 1, 20, "request", 1.0, 0.5)
WHERE = {"project": "shop-prod-1", "region": "europe-west1", "service": "checkout-api"}


def _flags(command: str) -> dict[str, str]:
    argv = shlex.split(command)
    return {a.split("=", 1)[0]: ([*a.split("=", 1), ""])[1] for a in argv if a.startswith("--")}


def test_only_the_changed_settings_are_flagged() -> None:
    chosen = Setting(40, 0, 20, "instance", 2.0, 1.0)
    command = update_command(CURRENT, chosen, **WHERE)
    assert command.startswith("gcloud run services update checkout-api ")
    assert _flags(command) == {
        "--project": "shop-prod-1",
        "--region": "europe-west1",
        "--concurrency": "40",
        "--min-instances": "0",
        "--no-cpu-throttling": "",
        "--cpu": "2",
        "--memory": "1Gi",
    }
    back = update_command(chosen, CURRENT, **WHERE)
    assert "--cpu-throttling" in shlex.split(back)
    assert _flags(back)["--memory"] == "512Mi"
    assert update_command(CURRENT, CURRENT, **WHERE) == ""


@pytest.mark.parametrize(
    ("cpu", "text"), [(0.08, "80m"), (0.5, "500m"), (1.0, "1"), (2.0, "2"), (8.0, "8")]
)
def test_cpu_as_gcloud_takes_it(cpu: float, text: str) -> None:
    assert service_update.cpu_text(cpu) == text


@pytest.mark.parametrize(
    ("gib", "text"), [(0.125, "128Mi"), (0.5, "512Mi"), (1.0, "1Gi"), (32, "32Gi")]
)
def test_memory_as_gcloud_takes_it(gib: float, text: str) -> None:
    assert service_update.memory_text(gib) == text


def test_yaml_lines_old_then_new() -> None:
    chosen = Setting(40, 1, 50, "instance", 1.0, 0.5)
    assert yaml_changes(CURRENT, chosen) == [
        "- containerConcurrency: 80",
        "+ containerConcurrency: 40",
        "- autoscaling.knative.dev/maxScale: '20'",
        "+ autoscaling.knative.dev/maxScale: '50'",
        "- run.googleapis.com/cpu-throttling: 'true'",
        "+ run.googleapis.com/cpu-throttling: 'false'",
    ]


def test_bad_names_never_reach_a_command() -> None:
    with pytest.raises(InvalidName):
        update_command(
            CURRENT, Setting(40, 1, 20, "request", 1.0, 0.5), **{**WHERE, "service": "a;b"}
        )
    with pytest.raises(InvalidName):
        canary_commands(
            service="checkout-api", project="shop-prod-1", region="europe-west1",
            stable="checkout-api-001", candidate="$(rm -rf /)", shares={}, status="regression",
        )  # fmt: skip


def _split(command: str) -> dict[str, int]:
    to = _flags(command)["--to-revisions"]
    return {k: int(v) for k, v in (p.split("=") for p in to.split(","))}


def test_canary_commands_name_every_share_adding_to_100() -> None:
    shares = {"api-001": 80.0, "api-002": 10.0, "api-003": 10.0}  # a tag-less third revision
    got = canary_commands(
        service="checkout-api", project="shop-prod-1", region="europe-west1",
        stable="api-001", candidate="api-003", shares=shares, status="no_difference",
    )  # fmt: skip
    by = {c.action: c for c in got}
    assert _split(by["rollback"].command) == {"api-001": 100}
    assert _split(by["promote"].command) == {"api-003": 100}
    step = _split(by["next_step"].command)
    assert step == {"api-003": 25, "api-002": 10, "api-001": 65}
    assert sum(step.values()) == 100
    assert [c.action for c in got if c.recommended] == ["next_step"]
    assert all(
        c.command.startswith("gcloud run services update-traffic checkout-api ") for c in got
    )


@pytest.mark.parametrize(
    ("status", "suggested"),
    [
        ("regression", ["rollback"]),
        ("improvement", ["next_step"]),
        ("not_enough_data", []),
        ("unknown", []),
    ],
)
def test_the_verdict_suggests(status: str, suggested: list[str]) -> None:
    got = canary_commands(
        service="checkout-api", project="shop-prod-1", region="europe-west1",
        stable="api-001", candidate="api-002", shares={"api-001": 90, "api-002": 10},
        status=status,
    )  # fmt: skip
    assert [c.action for c in got if c.recommended] == suggested


def test_the_last_step_is_the_promotion() -> None:
    assert [next_share(p) for p in (0, 5, 7, 25, 50, 99)] == [5, 10, 10, 50, 100, 100]
    got = canary_commands(
        service="checkout-api", project="shop-prod-1", region="europe-west1",
        stable="api-001", candidate="api-002", shares={"api-001": 50, "api-002": 50},
        status="improvement",
    )  # fmt: skip
    assert [c.action for c in got] == ["rollback", "promote"]
    assert got[-1].recommended


def _gcloud_help(*command: str) -> str:
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        pytest.skip("gcloud is not installed on this machine: the flags are checked where it is")
    done = subprocess.run(
        [gcloud, *command, "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    plain = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)  # the help's bold and underline
    return re.sub(r"--\[no-\]([a-z-]+)", r"--\1 --no-\1", plain)  # both forms of a switch


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        (("run", "services", "update"), (*service_update.FLAGS, "--min")),
        (("run", "services", "update-traffic"), traffic.FLAGS),
        (
            ("scheduler", "jobs", "create", "http"),
            ("--schedule", "--time-zone", "--uri", "--http-method", "--headers",
             "--message-body", "--oauth-service-account-email", "--location", "--project"),
        ),
    ],
)  # fmt: skip
def test_every_flag_is_one_gcloud_lists(command: tuple[str, ...], flags: tuple[str, ...]) -> None:
    listed = set(re.findall(r"--[a-z][a-z-]*", _gcloud_help(*command)))
    for flag in flags:
        assert flag in listed, f"gcloud {' '.join(command)} does not list {flag}"
