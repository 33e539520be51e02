"""`make deploy ... DRY_RUN=1`: a complete, private, least-privilege plan that needs no gcloud;
and the declarative service spec agrees with the deploy command."""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Iterator

import pytest

from deploy import spec
from deploy.options import build
from tests._deploy_helpers import ROOT, bare_path_dir, make_deploy

VIEWERS = {"roles/monitoring.viewer", "roles/logging.viewer", "roles/run.viewer"}
SA = "runwatch-dashboard@host-proj-1.iam.gserviceaccount.com"
PINNED = "europe-west1-docker.pkg.dev/host-proj-1/cloud-run-source-deploy/runwatch@sha256:" + (
    "0123456789abcdef" * 4
)


@pytest.fixture(scope="module")
def bare_path() -> Iterator[str]:
    with bare_path_dir() as path:
        yield path


def _make(path: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return make_deploy(path, **variables)


def _commands(script: str) -> list[list[str]]:
    """Every gcloud invocation in the script, split into words (guards and captures too)."""
    out: list[list[str]] = []
    for line in script.splitlines():
        if line.startswith(("#", "echo ")) or not line.strip():
            continue
        words = shlex.split(line.replace("$(", " ").replace(")", " ").replace("|", " | "))
        current: list[str] = []
        for word in words:
            word = word.split("=", 1)[1] if word.endswith("gcloud") and "=" in word else word
            if word == "gcloud":
                if current:
                    out.append(current)
                current = ["gcloud"]
            elif current and word in ("||", "|", "]", "2>/dev/null"):
                out.append(current)
                current = []
            elif current:
                current.append(word)
        if current:
            out.append(current)
    return out


def _flag(cmd: list[str], name: str) -> str | None:
    for word in cmd:
        if word.startswith(f"--{name}="):
            return word.split("=", 1)[1]
    return None


def _verb(cmd: list[str], *verb: str) -> bool:
    words = [w for w in cmd if not w.startswith("-")]
    return any(words[i : i + len(verb)] == list(verb) for i in range(len(words)))


@pytest.fixture(scope="module")
def plan(bare_path: str) -> str:
    done = _make(
        bare_path,
        PROJECT="host-proj-1",
        REGION="europe-west1",
        WATCH_PROJECTS="prod-proj-1,stage-proj-2",
        INVOKERS="group:sre@example.com",
        DRY_RUN="1",
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_dry_run_is_valid_bash_and_runs_nothing(plan: str) -> None:
    assert plan.startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n"], input=plan, text=True, check=True)


def test_deploy_is_private_and_uses_the_dedicated_account(plan: str) -> None:
    assert "allUsers" not in plan
    assert "allAuthenticatedUsers" not in plan
    cmds = _commands(plan)
    deploys = [c for c in cmds if _verb(c, "run", "deploy")]
    assert len(deploys) == 1
    deploy = deploys[0]
    assert "--no-allow-unauthenticated" in deploy
    assert "--allow-unauthenticated" not in deploy
    assert "--iap" in deploy
    assert "--session-affinity" in deploy
    assert _flag(deploy, "service-account") == SA
    assert _flag(deploy, "source") == "."
    assert int(_flag(deploy, "timeout") or 0) >= 3600
    assert _flag(deploy, "min-instances") == "0"
    assert 1 <= int(_flag(deploy, "max-instances") or 0) <= 10
    assert _flag(deploy, "set-secrets") == (
        "STREAMLIT_SERVER_COOKIE_SECRET=runwatch-cookie-secret:latest"
    )
    creates = [c for c in cmds if _verb(c, "service-accounts", "create")]
    assert [c[4] for c in creates] == ["runwatch-dashboard"]
    assert not [c for c in cmds if _verb(c, "keys", "create")], "no key files, ever"


def test_only_viewer_roles_on_the_watched_projects(plan: str) -> None:
    cmds = _commands(plan)
    project_grants = {
        (c[3], _flag(c, "member"), _flag(c, "role"))
        for c in cmds
        if _verb(c, "projects", "add-iam-policy-binding")
    }
    expected = {
        (p, f"serviceAccount:{SA}", role)
        for p in ("prod-proj-1", "stage-proj-2")
        for role in VIEWERS
    }
    assert project_grants == expected
    other = [c for c in cmds if "add-iam-policy-binding" in c and not _verb(c, "projects")]
    for cmd in other:
        role, member = _flag(cmd, "role"), _flag(cmd, "member") or ""
        if _verb(cmd, "secrets"):
            assert (role, member) == ("roles/secretmanager.secretAccessor", f"serviceAccount:{SA}")
            assert cmd[3] == "runwatch-cookie-secret"
        elif _verb(cmd, "iap", "web"):
            assert (role, member) == ("roles/iap.httpsResourceAccessor", "group:sre@example.com")
        else:
            assert _verb(cmd, "run", "services")
            assert role == "roles/run.invoker"
            assert member.startswith("serviceAccount:")
            assert "IAP_AGENT" in member


def test_every_creation_is_guarded_by_a_check(plan: str) -> None:
    for line in plan.splitlines():
        if line.startswith("echo "):
            continue
        if (
            any(v in line for v in (" create ", "add-iam-policy-binding"))
            and "identity create" not in line
        ):
            assert line.startswith('[ -n "$(gcloud '), line
            assert " || " in line, line


def test_single_instance_needs_no_secret_and_iam_fallback(bare_path: str) -> None:
    done = _make(
        bare_path,
        PROJECT="host-proj-1",
        REGION="europe-west1",
        MAX_INSTANCES="1",
        IAP="0",
        INVOKERS="user:ana@example.com",
        DRY_RUN="1",
    )
    assert done.returncode == 0, done.stderr
    cmds = _commands(done.stdout)
    assert not [c for c in cmds if _verb(c, "secrets")]
    deploy = next(c for c in cmds if _verb(c, "run", "deploy"))
    assert "--no-iap" in deploy
    assert "--clear-secrets" in deploy
    grants = [c for c in cmds if _verb(c, "run", "services", "add-iam-policy-binding")]
    assert [(_flag(c, "member"), _flag(c, "role")) for c in grants] == [
        ("user:ana@example.com", "roles/run.invoker")
    ]


@pytest.mark.parametrize(
    ("variables", "needle"),
    [
        ({"INVOKERS": "allUsers"}, "public"),
        ({"INVOKERS": "user:allAuthenticatedUsers"}, "public"),
        ({"INVOKERS": "bob"}, "IAM principal"),
        ({"REGION": "Europe West"}, "region"),
        ({"WATCH_PROJECTS": "p;rm -rf"}, "project id"),
        ({"MAX_INSTANCES": "50"}, "MAX_INSTANCES"),
    ],
)
def test_bad_options_are_refused_with_a_message(
    bare_path: str, variables: dict[str, str], needle: str
) -> None:
    base = {"PROJECT": "host-proj-1", "REGION": "europe-west1", "DRY_RUN": "1"}
    done = _make(bare_path, **{**base, **variables})
    assert done.returncode != 0
    assert needle in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_missing_project_prints_usage(bare_path: str) -> None:
    done = _make(bare_path, REGION="europe-west1", DRY_RUN="1")
    assert done.returncode != 0
    assert "usage: make deploy PROJECT=" in done.stderr


def test_checked_in_spec_is_the_rendered_spec() -> None:
    assert (ROOT / "deploy" / "service.yaml").read_text() == spec.render_spec(
        spec.template_options(), spec.template_image()
    ), "deploy/service.yaml is stale: regenerate it with deploy.spec.render_spec"


def test_spec_agrees_with_the_deploy_flags(bare_path: str) -> None:
    done = _make(
        bare_path,
        PROJECT="host-proj-1",
        REGION="europe-west1",
        WATCH_PROJECTS="prod-proj-1",
        DRY_RUN="1",
    )
    deploy = next(c for c in _commands(done.stdout) if _verb(c, "run", "deploy"))
    opts = build(project="host-proj-1", region="europe-west1", watch_projects="prod-proj-1")
    svc = spec.service_spec(opts, PINNED)
    tmpl = svc["spec"]["template"]
    ann = tmpl["metadata"]["annotations"]
    container = tmpl["spec"]["containers"][0]
    assert svc["metadata"]["name"] == deploy[4]
    assert svc["metadata"]["labels"]["cloud.googleapis.com/location"] == _flag(deploy, "region")
    assert svc["metadata"]["annotations"]["run.googleapis.com/ingress"] == _flag(deploy, "ingress")
    assert svc["metadata"]["annotations"]["run.googleapis.com/iap-enabled"] == "true"
    assert ann["autoscaling.knative.dev/minScale"] == _flag(deploy, "min-instances")
    assert ann["autoscaling.knative.dev/maxScale"] == _flag(deploy, "max-instances")
    assert ann["run.googleapis.com/sessionAffinity"] == "true"
    assert ann["run.googleapis.com/cpu-throttling"] == "true"
    assert "--cpu-throttling" in deploy
    assert ann["run.googleapis.com/startup-cpu-boost"] == "true"
    assert "--cpu-boost" in deploy
    assert tmpl["spec"]["serviceAccountName"] == _flag(deploy, "service-account")
    assert str(tmpl["spec"]["timeoutSeconds"]) == _flag(deploy, "timeout")
    assert str(tmpl["spec"]["containerConcurrency"]) == _flag(deploy, "concurrency")
    assert container["resources"]["limits"] == {
        "cpu": _flag(deploy, "cpu"),
        "memory": _flag(deploy, "memory"),
    }
    assert str(container["ports"][0]["containerPort"]) == _flag(deploy, "port")
    env_flag = (_flag(deploy, "set-env-vars") or "").removeprefix("^@^")
    flag_env = dict(item.split("=", 1) for item in env_flag.split("@"))
    spec_env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    assert spec_env == flag_env
    assert flag_env["RUNWATCH_PROJECTS"] == "prod-proj-1"
    secret_env = {
        e[
            "name"
        ]: f"{e['valueFrom']['secretKeyRef']['name']}:{e['valueFrom']['secretKeyRef']['key']}"
        for e in container["env"]
        if "valueFrom" in e
    }
    assert [f"{k}={v}" for k, v in secret_env.items()] == [_flag(deploy, "set-secrets")]


def _image_lines(text: str) -> list[str]:
    return [
        line.split(":", 1)[1].strip().strip('"')
        for line in text.splitlines()
        if line.strip().removeprefix("- ").startswith("image:")
    ]


def test_checked_in_spec_pins_the_image_by_digest() -> None:
    images = _image_lines((ROOT / "deploy" / "service.yaml").read_text())
    assert len(images) == 1
    name, _, digest = images[0].partition("@")
    assert digest == spec.TEMPLATE_DIGEST, "the image must be pinned by digest, not by a tag"
    assert ":" not in name.rsplit("/", 1)[1], "no tag (an absent tag means :latest)"


def _print_spec(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(sys.executable, "-m", "deploy", "--project=host-proj-1", "--region=europe-west1"),
            "--print-spec",
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "image",
    [
        "",
        PINNED.split("@")[0],
        PINNED.split("@")[0] + ":latest",
        PINNED.split("@")[0] + ":v1",
        PINNED[:-1],
        PINNED + " --no-iap",
    ],
)
def test_print_spec_refuses_an_unpinned_image(image: str) -> None:
    done = _print_spec(f"--image={image}")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "IMAGE" in done.stderr
    assert "sha256" in done.stderr


def test_print_spec_runs_the_digest_it_was_given() -> None:
    done = _print_spec(f"--image={PINNED}")
    assert done.returncode == 0, done.stderr
    assert _image_lines(done.stdout) == [PINNED]


def test_the_catalog_api_is_enabled_and_needs_no_role(plan: str) -> None:
    # the Cost page's prices come from the Cloud Billing Catalog: public prices, no IAM role,
    # only the API enabled on the dashboard's project
    enabled = [c for c in _commands(plan) if _verb(c, "services", "enable")]
    assert any("cloudbilling.googleapis.com" in c for c in enabled), enabled
    roles = {_flag(c, "role") for c in _commands(plan) if "add-iam-policy-binding" in c}
    assert not any(r and "billing" in r for r in roles)
