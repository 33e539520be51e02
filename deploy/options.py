"""What a deployment is made of: validated options and the fixed security choices.

The roles are the whole permission set of the dashboard's identity (docs/reliability.md item 18):
read-only roles on the watched projects, plus read access to one secret when more than one
instance may run (the shared Streamlit cookie secret, item 15).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from foundation import names

VIEWER_ROLES = ("roles/monitoring.viewer", "roles/logging.viewer", "roles/run.viewer")
SECRET_ROLE = "roles/secretmanager.secretAccessor"
INVOKER_ROLE = "roles/run.invoker"
IAP_USER_ROLE = "roles/iap.httpsResourceAccessor"
INGRESS_CHOICES = ("all", "internal", "internal-and-cloud-load-balancing")
# Google's limit of Logging entries.list calls a minute per project, shared with other readers;
# runwatch keeps 50 of them and splits them across the instances that may run at once.
LOG_CALLS_PER_MINUTE_TOTAL = 50

# An IAM principal as IAM spells it: the kind in its exact case, then an ASCII e-mail address or
# domain name (no whitespace, quotes or shell characters; re.ASCII: no Unicode look-alikes).
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = rf"(?:{_LABEL}\.)+[A-Za-z]{{2,63}}"
_MEMBER = re.compile(
    rf"(?:(?:user|group|serviceAccount):[A-Za-z0-9._%+'-]+@|domain:)(?P<domain>{_DOMAIN})",
    re.ASCII,
)
_PUBLIC = ("allusers", "allauthenticatedusers")
# Public mail services: anyone can open an account there, so a domain: principal of one of them
# lets the whole world in. A distinctive provider name matches with any suffix (yahoo.co.uk,
# hotmail.fr ...); providers whose name is a common word are listed as exact domains.
# fmt: off
CONSUMER_PROVIDERS = frozenset(
    {
        "gmail", "googlemail", "yahoo", "ymail", "rocketmail", "hotmail", "outlook",
        "windowslive", "aol", "icloud", "protonmail", "gmx", "yandex", "zohomail", "tutanota",
        "fastmail", "hushmail", "rediffmail", "mailfence", "posteo",
    }
)
CONSUMER_DOMAINS = frozenset(
    {
        "126.com", "163.com", "aim.com", "att.net", "bk.ru", "btinternet.com", "comcast.net",
        "daum.net", "email.com", "free.fr", "freenet.de", "guerrillamail.com", "hanmail.net",
        "inbox.com", "inbox.ru", "interia.pl", "laposte.net", "libero.it", "list.ru", "live.ca",
        "live.co.uk", "live.com", "live.com.au", "live.de", "live.fr", "live.it", "live.nl",
        "mac.com", "mail.com", "mail.ru", "mailinator.com", "me.com", "msn.com", "naver.com",
        "o2.pl", "onet.pl", "orange.fr", "pm.me", "proton.me", "qq.com", "rambler.ru",
        "seznam.cz", "sfr.fr", "sina.com", "t-online.de", "tuta.com", "tuta.io", "verizon.net",
        "web.de", "wp.pl", "ya.ru", "yeah.net", "yopmail.com", "zoho.com",
    }
)
# fmt: on
_COUNTRY_SUFFIX = re.compile(r"[a-z]{2,63}|(?:co|com|net|org)\.[a-z]{2}", re.ASCII)


def consumer_domain(domain: str) -> bool:
    """Is ``domain`` (or a domain it is under) a public mail service?"""
    labels = domain.lower().rstrip(".").split(".")
    for i in range(len(labels) - 1):
        name, suffix = labels[i], ".".join(labels[i + 1 :])
        if ".".join(labels[i:]) in CONSUMER_DOMAINS:
            return True
        if name in CONSUMER_PROVIDERS and _COUNTRY_SUFFIX.fullmatch(suffix):
            return True
    return False


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
    # "all" on purpose: IAP on Cloud Run guards the run.app URL itself, and the plan sends
    # browsers there (IAP) or `gcloud run services proxy` (IAM without IAP); the internal
    # settings would shut both out. Who gets in is decided by IAP/IAM, which stay on.
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
    folded = "".join(value.split()).lower()
    if folded in _PUBLIC or folded.endswith((":allusers", ":allauthenticatedusers")):
        raise OptionError(f"INVOKERS: {value!r} would make the dashboard public; name people")
    found = _MEMBER.fullmatch(value)
    if not found:
        raise OptionError(
            f"INVOKERS: {value!r} is not an IAM principal: use user:EMAIL, group:EMAIL, "
            "serviceAccount:EMAIL or domain:DOMAIN (no spaces or quotes)"
        )
    if value.startswith("domain:") and consumer_domain(found.group("domain")):
        raise OptionError(
            f"INVOKERS: {value!r} is a public mail domain: anyone can open an account there, "
            "so it would make the dashboard readable by anyone; name people with user:EMAIL "
            "or use group:EMAIL or your own organisation's domain:"
        )
    return value


_PINNED_IMAGE = re.compile(
    r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?(?:/[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?)+"
    r"@sha256:[0-9a-f]{64}",
    re.ASCII,
)


def pinned_image(ref: str) -> str:
    """An image reference pinned by digest: a tag (``:latest``) can later point at other code."""
    if not _PINNED_IMAGE.fullmatch(ref):
        raise OptionError(
            f"IMAGE: {ref!r} is not pinned: give REGISTRY/PATH@sha256:DIGEST (64 hex digits), "
            "the digest the deployed revision runs (gcloud run revisions describe REVISION "
            "--format='value(status.imageDigest)'); a tag such as :latest can be moved"
        )
    return ref


def max_instances_of(raw: int | str) -> int:
    text = str(raw).strip()
    if not text.isdigit() or not 1 <= int(text) <= 10:
        raise OptionError(
            f"MAX_INSTANCES={raw!r}: a whole number between 1 and 10 (each instance has its "
            "own caches and its own share of the Logging quota)"
        )
    return int(text)


def build(
    *,
    project: str,
    region: str,
    watch_projects: str | Sequence[str] = "",
    invokers: str | Sequence[str] = "",
    service: str = "runwatch",
    max_instances: int | str = 2,
    iap: bool = True,
    ingress: str = "all",
) -> Options:
    """Validated Options; raise OptionError naming the option and the bad value."""
    watched = _split(watch_projects) or (project,)
    for option, check, values in (
        ("PROJECT", names.project, (project,)),
        ("REGION", names.region, (region,)),
        ("SERVICE", names.service, (service,)),
        ("WATCH_PROJECTS", names.project, watched),
    ):
        for value in values:
            try:
                check(value)
            except names.InvalidName as exc:
                raise OptionError(f"{option}: {exc}") from None
    count = max_instances_of(max_instances)
    if ingress not in INGRESS_CHOICES:
        raise OptionError(f"INGRESS={ingress!r} must be one of {', '.join(INGRESS_CHOICES)}")
    return Options(
        project=project,
        region=region,
        watch_projects=watched,
        invokers=tuple(member(m) for m in _split(invokers)),
        service=service,
        max_instances=count,
        iap=iap,
        ingress=ingress,
    )
