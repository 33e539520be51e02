"""``python3 -m deploy --project=P --region=R [...]``: deploy runwatch to Cloud Run.

``--dry-run`` prints the plan as a bash script and runs nothing (no gcloud needed).
``--print-spec`` prints the declarative service spec for ``gcloud beta run services replace``.
Otherwise every step runs in order through gcloud: a step whose check finds it already done is
skipped, a failing step stops the run with gcloud's own message above ours.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import subprocess
import sys
from collections.abc import Sequence

from deploy import plan, spec
from deploy.options import OptionError, Options, build, pinned_image


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python3 -m deploy", description=__doc__.splitlines()[0])
    ap.add_argument("--project", required=True, help="project the dashboard runs in")
    ap.add_argument("--region", required=True, help="Cloud Run region, e.g. europe-west1")
    ap.add_argument("--watch-projects", default="", help="comma-separated; default: --project")
    ap.add_argument("--invokers", default="", help="comma-separated user:/group:/domain: members")
    ap.add_argument("--service", default="runwatch")
    ap.add_argument("--max-instances", default="2", help="1 to 10")
    ap.add_argument("--ingress", default="all")
    ap.add_argument("--no-iap", action="store_true", help="IAM invoker access instead of IAP")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    mode.add_argument("--print-spec", action="store_true", help="print the service spec YAML")
    ap.add_argument("--image", default="", help="with --print-spec: IMAGE@sha256:DIGEST")
    return ap


def _flag(raw: str) -> bool:
    return raw.strip().lower() in ("1", "true", "yes", "on")


class StepFailed(RuntimeError):
    pass


def _run(
    argv: Sequence[str], *, timeout_s: float, stdin: str | None = None, quiet: bool = False
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(argv),
            input=stdin,
            text=True,
            timeout=timeout_s,
            check=False,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL if quiet else None,
        )
    except subprocess.TimeoutExpired:
        raise StepFailed(
            f"gave up after {timeout_s:.0f} s: {plan.shell_line(tuple(argv))}"
        ) from None


def execute(opts: Options) -> str:
    """Run the plan through gcloud; return the service URL."""
    captured: dict[str, str] = {}
    for step in plan.steps(opts):

        def fill(argv: tuple[str, ...]) -> tuple[str, ...]:
            out = []
            for arg in argv:
                for name, value in captured.items():
                    arg = arg.replace("{{" + name + "}}", value)
                out.append(arg)
            return tuple(out)

        if step.check:
            found = _run(fill(step.check), timeout_s=120, quiet=True)
            if found.returncode == 0 and found.stdout.strip():
                print(f"= {step.title}: already done", flush=True)
                continue
        print(f"+ {step.title}", flush=True)
        stdin = secrets.token_urlsafe(48) if step.random_stdin else None
        done = _run(fill(step.argv), timeout_s=step.timeout_s, stdin=stdin)
        if done.returncode != 0:
            raise StepFailed(f"{step.title} failed (gcloud exit status {done.returncode})")
        if step.capture:
            value = done.stdout.strip()
            if not value:
                raise StepFailed(f"{step.title}: gcloud printed nothing")
            captured[step.capture] = value
        elif done.stdout.strip():
            print(done.stdout.strip(), flush=True)
    url = _run(plan.url_argv(opts), timeout_s=120).stdout.strip()
    return url or "(URL not known yet)"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        opts = build(
            project=args.project.strip(),
            region=args.region.strip(),
            watch_projects=args.watch_projects,
            invokers=args.invokers,
            service=args.service.strip(),
            max_instances=args.max_instances,
            iap=not args.no_iap,
            ingress=args.ingress.strip(),
        )
    except OptionError as exc:
        print(f"deploy: {exc}", file=sys.stderr)
        return 2
    if args.print_spec:
        try:
            image = pinned_image(args.image.strip())
        except OptionError as exc:
            print(f"deploy: {exc}", file=sys.stderr)
            return 2
        sys.stdout.write(spec.render_spec(opts, image))
        return 0
    if args.dry_run:
        sys.stdout.write(plan.render_shell(opts))
        return 0
    if shutil.which("gcloud") is None:
        print(
            "deploy: gcloud not found: install the Google Cloud CLI "
            "(https://cloud.google.com/sdk/docs/install) or use DRY_RUN=1",
            file=sys.stderr,
        )
        return 2
    account = _run(
        ["gcloud", "auth", "list", "--filter=status:ACTIVE", "--format=value(account)"],
        timeout_s=60,
        quiet=True,
    ).stdout.strip()
    if not account:
        print("deploy: no active gcloud account: run `gcloud auth login` first", file=sys.stderr)
        return 2
    print(f"Deploying runwatch to {opts.project}/{opts.region} as {account}", flush=True)
    try:
        url = execute(opts)
    except StepFailed as exc:
        print(
            f"deploy: {exc}; fix the cause and run the same command again "
            "(finished steps are skipped)",
            file=sys.stderr,
        )
        return 1
    print(plan.access_help(opts, url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
