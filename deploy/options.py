"""What a deployment is made of: validated options and the fixed security choices.

The roles are the whole permission set of the dashboard's identity (reliability.md item 18):
read-only roles on the watched projects, plus read access to one secret when more than one
instance may run (the shared Streamlit cookie secret, item 15).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from collectors import names

VIEWER_ROLES = ("roles/monitoring.viewer", "roles/logging.viewer", "roles/run.viewer")
SECRET_ROLE = "roles/secretmanager.secretAccessor"
INVOKER_ROLE = "roles/run.invoker"
IAP_USER_ROLE = "roles/iap.httpsResourceAccessor"
INGRESS_CHOICES = ("all", "internal", "internal-and-cloud-load-balancing")
# Google's limit of Logging entries.list calls a minute per project, shared with other readers;
# runwatch keeps 50 of them and splits them across the instances that may run at once.
LOG_CALLS_PER_MINUTE_TOTAL = 50

_MEMBER = re.compile(
    r"^(?:(?:user|group|serviceAccount):[^\s@,;:]+@|domain:)[a-z0-9.-]+\.[a-z]{2,}$", re.I
)
_PUBLIC = ("allusers", "allauthenticatedusers")


class OptionError(ValueError):
    """A deploy option is unusable; the message names it and says what is expected."""


@dataclass(frozen=True)
class Options:
    project: str
    region: str
    watch_projects: tuple[str, ...]
    invokers: tuple[str, ...] = ()
    service: str = "runwatch"
    account_id: str = "runwatch-dashboard"
    max_instances: int = 2
    iap: bool = True
    ingress: str = "all"
    cookie_secret: str = "runwatch-cookie-secret"
    source: str = "."
    timeout_s: int = 3600
    concurrency: int = 80
    cpu: str = "1"
    memory: str = "1Gi"
    port: int = 8080

    @property
    def sa_email(self) -> str:
        return f"{self.account_id}@{self.project}.iam.gserviceaccount.com"

    @property
    def needs_cookie_secret(self) -> bool:
        """Streamlit signs cookies; every instance must share the key when several may run."""
        return self.max_instances > 1

    @property
    def log_calls_per_minute(self) -> int:
        return max(1, LOG_CALLS_PER_MINUTE_TOTAL // self.max_instances)

    @property
    def source_image(self) -> str:
        """Where ``gcloud run deploy --source`` stores the image it builds."""
        return f"{self.region}-docker.pkg.dev/{self.project}/cloud-run-source-deploy/{self.service}"

    def env_vars(self) -> tuple[tuple[str, str], ...]:
        """The dashboard's settings (config.py) on the service, in a stable order."""
        return (
            ("RUNWATCH_SOURCE", "gcp"),
            ("RUNWATCH_PROJECTS", ",".join(self.watch_projects)),
            ("RUNWATCH_LOG_CALLS_PER_MINUTE", str(self.log_calls_per_minute)),
        )


def _split(raw: str | Sequence[str]) -> tuple[str, ...]:
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    return tuple(dict.fromkeys(i.strip() for i in items if i.strip()))


def member(value: str) -> str:
    """An IAM principal allowed to open the dashboard; never a public one."""
    if value.lower() in _PUBLIC or value.lower().endswith((":allusers", ":allauthenticatedusers")):
        raise OptionError(f"INVOKERS: {value!r} would make the dashboard public; name people")
    if not _MEMBER.fullmatch(value):
        raise OptionError(
            f"INVOKERS: {value!r} is not an IAM principal: use user:EMAIL, group:EMAIL, "
            "serviceAccount:EMAIL or domain:DOMAIN"
        )
    return value


def build(
    *,
    project: str,
    region: str,
    watch_projects: str | Sequence[str] = "",
    invokers: str | Sequence[str] = "",
    service: str = "runwatch",
    max_instances: int = 2,
    iap: bool = True,
    ingress: str = "all",
) -> Options:
    """Validated Options; raise OptionError naming the bad value."""
    try:
        names.project(project)
        names.region(region)
        names.service(service)
        watched = _split(watch_projects) or (project,)
        for p in watched:
            names.project(p)
    except names.InvalidName as exc:
        raise OptionError(str(exc)) from None
    if not 1 <= max_instances <= 10:
        raise OptionError(
            f"MAX_INSTANCES={max_instances}: keep it between 1 and 10 (each instance has its "
            "own caches and its own share of the Logging quota)"
        )
    if ingress not in INGRESS_CHOICES:
        raise OptionError(f"INGRESS={ingress!r} must be one of {', '.join(INGRESS_CHOICES)}")
    return Options(
        project=project,
        region=region,
        watch_projects=watched,
        invokers=tuple(member(m) for m in _split(invokers)),
        service=service,
        max_instances=max_instances,
        iap=iap,
        ingress=ingress,
    )
