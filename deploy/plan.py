"""The deployment as an ordered list of gcloud steps, and its rendering as a shell script.

A ``Step`` is one mutating gcloud command, optionally guarded by a read-only ``check`` whose
non-empty output means "already done" (describe before create), so a second run changes
nothing. ``deploy_argv`` holds every service setting; deploy/spec.py renders the same settings
as a declarative service spec, and a test keeps the two in agreement.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from deploy.options import (
    IAP_USER_ROLE,
    INVOKER_ROLE,
    SECRET_ROLE,
    VIEWER_ROLES,
    Options,
)

# A value another step captured, written {{NAME}} inside an argument.
IAP_AGENT = "IAP_AGENT"
_URL_MARK = "@URL@"
_REF = re.compile(r"\{\{([A-Z_]+)\}\}")
RANDOM_SECRET_CMD = "python3 -c 'import secrets; print(secrets.token_urlsafe(48), end=\"\")'"


@dataclass(frozen=True)
class Step:
    title: str
    argv: tuple[str, ...]
    check: tuple[str, ...] | None = None  # read-only; non-empty output: already done
    capture: str | None = None  # keep the command's output under this name
    random_stdin: bool = False  # pipe a fresh random secret into the command
    timeout_s: float = 300.0

    @property
    def mutates(self) -> bool:
        return self.capture is None


def apis(opts: Options) -> tuple[str, ...]:
    out = [
        "run.googleapis.com",
        "cloudbuild.googleapis.com",
        "artifactregistry.googleapis.com",
        "iam.googleapis.com",
        "cloudresourcemanager.googleapis.com",
        "monitoring.googleapis.com",
        "logging.googleapis.com",
        "cloudbilling.googleapis.com",  # the Catalog's public prices (no role needed)
    ]
    if opts.needs_cookie_secret:
        out.append("secretmanager.googleapis.com")
    if opts.iap:
        out.append("iap.googleapis.com")
    return tuple(out)


def _has_binding(get_policy: list[str], role: str, principal: str) -> tuple[str, ...]:
    return (
        *get_policy,
        "--flatten=bindings[].members",
        f'--filter=bindings.role="{role}" AND bindings.members="{principal}"',
        "--format=value(bindings.role)",
    )


def deploy_argv(opts: Options) -> tuple[str, ...]:
    """The one command that builds the image from source (Cloud Build) and deploys it."""
    env = "@".join(f"{k}={v}" for k, v in opts.env_vars())
    argv = [
        *("gcloud", "beta", "run", "deploy", opts.service),
        f"--project={opts.project}",
        f"--region={opts.region}",
        f"--source={opts.source}",
        f"--service-account={opts.sa_email}",
        "--no-allow-unauthenticated",
        "--iap" if opts.iap else "--no-iap",
        f"--ingress={opts.ingress}",
        "--session-affinity",
        f"--timeout={opts.timeout_s}",
        "--min-instances=0",
        f"--max-instances={opts.max_instances}",
        f"--concurrency={opts.concurrency}",
        f"--cpu={opts.cpu}",
        f"--memory={opts.memory}",
        "--cpu-throttling",
        "--cpu-boost",
        f"--port={opts.port}",
        f"--set-env-vars=^@^{env}",
    ]
    if opts.needs_cookie_secret:
        argv.append(f"--set-secrets=STREAMLIT_SERVER_COOKIE_SECRET={opts.cookie_secret}:latest")
    else:
        argv.append("--clear-secrets")
    argv += ["--labels=app=runwatch", "--quiet"]
    return tuple(argv)


def steps(opts: Options) -> list[Step]:
    """Every step of the deployment, in order: APIs, the dashboard's service account and its
    viewer roles, the cookie secret (when needed), the build and deploy, who may invoke."""
    p = f"--project={opts.project}"
    out = [
        Step("Enable the APIs", ("gcloud", "services", "enable", *apis(opts), p), timeout_s=600),
        _account_step(opts),
        *_viewer_steps(opts),
    ]
    if opts.needs_cookie_secret:
        out += _secret_steps(opts)
    if opts.iap:
        out.append(
            Step(
                "Find (or create) the IAP service agent",
                (
                    "gcloud",
                    "beta",
                    "services",
                    "identity",
                    "create",
                    "--service=iap.googleapis.com",
                    p,
                    "--format=value(email)",
                ),
                capture=IAP_AGENT,
            )
        )
    out.append(
        Step("Build with Cloud Build and deploy (private)", deploy_argv(opts), timeout_s=1800)
    )
    out += _iap_invoker_steps(opts) if opts.iap else _iam_invoker_steps(opts)
    return out


def _account_step(opts: Options) -> Step:
    p = f"--project={opts.project}"
    return Step(
        "Create the dashboard's own service account (no keys)",
        (
            *("gcloud", "iam", "service-accounts", "create", opts.account_id, p),
            "--display-name=runwatch dashboard (read-only)",
        ),
        check=(
            "gcloud",
            "iam",
            "service-accounts",
            "describe",
            opts.sa_email,
            p,
            "--format=value(email)",
        ),
    )


def _viewer_steps(opts: Options) -> list[Step]:
    """The read-only roles on every watched project."""
    sa_member = f"serviceAccount:{opts.sa_email}"
    out = []
    for watched in opts.watch_projects:
        for role in VIEWER_ROLES:
            out.append(
                Step(
                    f"Grant {role} on project {watched}",
                    (
                        *("gcloud", "projects", "add-iam-policy-binding", watched),
                        f"--member={sa_member}",
                        f"--role={role}",
                        "--condition=None",
                        "--format=none",
                    ),
                    check=_has_binding(
                        ["gcloud", "projects", "get-iam-policy", watched], role, sa_member
                    ),
                )
            )
    return out


def _secret_steps(opts: Options) -> list[Step]:
    """The shared Streamlit cookie secret, and the dashboard's right to read it."""
    p, secret = f"--project={opts.project}", opts.cookie_secret
    sa_member = f"serviceAccount:{opts.sa_email}"
    return [
        Step(
            "Create the shared Streamlit cookie secret (random, never printed)",
            (
                "gcloud",
                "secrets",
                "create",
                secret,
                p,
                "--replication-policy=automatic",
                "--data-file=-",
            ),
            check=("gcloud", "secrets", "describe", secret, p, "--format=value(name)"),
            random_stdin=True,
        ),
        Step(
            f"Let the dashboard read that one secret ({SECRET_ROLE})",
            (
                "gcloud",
                "secrets",
                "add-iam-policy-binding",
                secret,
                p,
                f"--member={sa_member}",
                f"--role={SECRET_ROLE}",
                "--format=none",
            ),
            check=_has_binding(
                ["gcloud", "secrets", "get-iam-policy", secret, p], SECRET_ROLE, sa_member
            ),
        ),
    ]


def _iap_invoker_steps(opts: Options) -> list[Step]:
    """With IAP: only IAP's service agent invokes the service; the invokers pass IAP."""
    p, r, s = f"--project={opts.project}", f"--region={opts.region}", opts.service
    service_policy = ["gcloud", "run", "services", "get-iam-policy", s, p, r]
    agent = f"serviceAccount:{{{{{IAP_AGENT}}}}}"
    out = [
        Step(
            "Let IAP (and only IAP) invoke the service",
            (
                "gcloud",
                "run",
                "services",
                "add-iam-policy-binding",
                s,
                p,
                r,
                f"--member={agent}",
                f"--role={INVOKER_ROLE}",
                "--format=none",
            ),
            check=_has_binding(service_policy, INVOKER_ROLE, agent),
        )
    ]
    iap_policy = [
        "gcloud",
        "beta",
        "iap",
        "web",
        "get-iam-policy",
        p,
        "--resource-type=cloud-run",
        r,
        f"--service={s}",
    ]
    for who in opts.invokers:
        out.append(
            Step(
                f"Let {who} through IAP",
                (
                    "gcloud",
                    "beta",
                    "iap",
                    "web",
                    "add-iam-policy-binding",
                    p,
                    "--resource-type=cloud-run",
                    r,
                    f"--service={s}",
                    f"--member={who}",
                    f"--role={IAP_USER_ROLE}",
                    "--condition=None",
                    "--format=none",
                ),
                check=_has_binding(iap_policy, IAP_USER_ROLE, who),
            )
        )
    return out


def _iam_invoker_steps(opts: Options) -> list[Step]:
    """Without IAP: the invokers call the service with IAM alone."""
    p, r, s = f"--project={opts.project}", f"--region={opts.region}", opts.service
    service_policy = ["gcloud", "run", "services", "get-iam-policy", s, p, r]
    return [
        Step(
            f"Let {who} invoke the service (IAM, no IAP)",
            (
                "gcloud",
                "run",
                "services",
                "add-iam-policy-binding",
                s,
                p,
                r,
                f"--member={who}",
                f"--role={INVOKER_ROLE}",
                "--format=none",
            ),
            check=_has_binding(service_policy, INVOKER_ROLE, who),
        )
        for who in opts.invokers
    ]


def url_argv(opts: Options) -> tuple[str, ...]:
    return (
        "gcloud",
        "run",
        "services",
        "describe",
        opts.service,
        f"--project={opts.project}",
        f"--region={opts.region}",
        "--format=value(status.url)",
    )


def access_help(opts: Options, url: str) -> str:
    """How to open the dashboard and give a colleague access."""
    p, r, s = opts.project, opts.region, opts.service
    if opts.iap:
        grant = (
            f"gcloud beta iap web add-iam-policy-binding --project={p} "
            f"--resource-type=cloud-run --region={r} --service={s} "
            f"--member=user:COLLEAGUE@EXAMPLE.COM --role={IAP_USER_ROLE}"
        )
        how = f"Open {url} in a browser and sign in with a Google account that was granted access."
    else:
        grant = (
            f"gcloud run services add-iam-policy-binding {s} --project={p} --region={r} "
            f"--member=user:COLLEAGUE@EXAMPLE.COM --role={INVOKER_ROLE}"
        )
        how = (
            f"Without IAP a browser cannot sign in: run gcloud run services proxy {s} "
            f"--project={p} --region={r} --port=8080 and open http://localhost:8080."
        )
    return f"runwatch is deployed at {url}\n{how}\nGive a colleague access:\n  {grant}"


def _shell_arg(arg: str) -> str:
    """Quote one argument; a {{NAME}} inside becomes a "${NAME}" expansion."""
    parts = _REF.split(arg)
    if len(parts) == 1:
        return shlex.quote(arg)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f'"${{{part}}}"')
        elif part:
            out.append(shlex.quote(part))
    return "".join(out)


def shell_line(argv: tuple[str, ...]) -> str:
    return " ".join(_shell_arg(a) for a in argv)


def render_shell(opts: Options) -> str:
    """The dry run: every gcloud command, as a bash script equivalent to the live run."""
    lines = [
        "#!/usr/bin/env bash",
        f"# runwatch deployment plan for project {opts.project}, region {opts.region}.",
        "# Dry run: nothing was executed. Checks (describe before create) guard each creation.",
        "set -euo pipefail",
    ]
    for step in steps(opts):
        lines.append(f"\n# {step.title}")
        cmd = shell_line(step.argv)
        if step.random_stdin:
            cmd = f"{RANDOM_SECRET_CMD} | {cmd}"
        if step.capture:
            cmd = f"{step.capture}=$({cmd})"
        if step.check:
            cmd = f'[ -n "$({shell_line(step.check)} 2>/dev/null)" ] || {cmd}'
        lines.append(cmd)
    lines += ["\n# Where it runs, and how to grant access", f"URL=$({shell_line(url_argv(opts))})"]
    for text in access_help(opts, _URL_MARK).splitlines():
        parts = text.split(_URL_MARK)
        lines.append("echo " + '"${URL}"'.join(shlex.quote(part) if part else "" for part in parts))
    return "\n".join(lines) + "\n"
