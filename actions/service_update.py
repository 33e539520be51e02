"""The command that applies a what-if's setting to a service, and the lines of the service's
YAML it changes (docs/facts.md, Admin API: the fields and their Knative annotations).

``gcloud run services update S --project=P --region=R`` with only the flags that change:
``--concurrency``, ``--min-instances`` and ``--max-instances`` (revision-level, as the what-if's
settings are each revision's), ``--cpu-throttling`` (request-based billing) or
``--no-cpu-throttling`` (instance-based), ``--cpu``, ``--memory``. It deploys a new revision
that gets all the traffic unless the service pins its traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from actions.shell import where
from foundation import names


@dataclass(frozen=True)
class Setting:
    """A service's settings as the what-if's rows hold them."""

    concurrency: int
    min_instances: int
    max_instances: int
    billing: str  # request | instance
    cpu: float
    memory_gib: float

    @classmethod
    def of(cls, row: Mapping[str, object] | Any) -> Setting:
        """The setting of a what-if row (its costmodel.whatif.SETTING keys; a mapping or a
        pandas row)."""

        def number(key: str) -> float:
            return float(str(row[key]))

        return cls(
            concurrency=int(number("concurrency")),
            min_instances=int(number("min_instances")),
            max_instances=int(number("max_instances")),
            billing=str(row["billing"]),
            cpu=number("cpu"),
            memory_gib=number("memory_gib"),
        )


FLAGS = (  # every flag the command may use (tests check them against gcloud's own list)
    "--project",
    "--region",
    "--concurrency",
    "--min-instances",
    "--max-instances",
    "--cpu-throttling",
    "--no-cpu-throttling",
    "--cpu",
    "--memory",
)


def cpu_text(cpu: float) -> str:
    """A CPU limit as gcloud and the YAML take it: whole vCPUs as "2", below 1 as "500m"."""
    return f"{cpu:g}" if cpu >= 1 else f"{round(cpu * 1000)}m"


def memory_text(gib: float) -> str:
    """Memory as gcloud and the YAML take it: "512Mi", "2Gi"."""
    mib = round(gib * 1024)
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def _changes(current: Setting, chosen: Setting) -> list[tuple[str, str, str]]:
    """(flag, value, YAML line) of each setting that changes."""
    out = []
    if chosen.concurrency != current.concurrency:
        out.append(
            (
                "--concurrency",
                str(chosen.concurrency),
                f"containerConcurrency: {chosen.concurrency}",
            )
        )
    if chosen.min_instances != current.min_instances:
        out.append(
            (
                "--min-instances",
                str(chosen.min_instances),
                f"autoscaling.knative.dev/minScale: '{chosen.min_instances}'",
            )
        )
    if chosen.max_instances != current.max_instances:
        out.append(
            (
                "--max-instances",
                str(chosen.max_instances),
                f"autoscaling.knative.dev/maxScale: '{chosen.max_instances}'",
            )
        )
    if chosen.billing != current.billing:
        throttled = chosen.billing == "request"
        out.append(
            (
                "--cpu-throttling" if throttled else "--no-cpu-throttling",
                "",
                f"run.googleapis.com/cpu-throttling: '{str(throttled).lower()}'",
            )
        )
    if chosen.cpu != current.cpu:
        out.append(("--cpu", cpu_text(chosen.cpu), f"cpu: '{cpu_text(chosen.cpu)}'"))
    if chosen.memory_gib != current.memory_gib:
        mem = memory_text(chosen.memory_gib)
        out.append(("--memory", mem, f"memory: {mem}"))
    return out


def update_command(
    current: Setting, chosen: Setting, *, project: str, region: str, service: str
) -> str:
    """The ``gcloud run services update`` line that turns ``current`` into ``chosen`` ("" when
    they are the same)."""
    changes = _changes(current, chosen)
    if not changes:
        return ""
    flags = " ".join(f"{flag}={value}" if value else flag for flag, value, _ in changes)
    return f"gcloud run services update {names.service(service)} {where(project, region)} {flags}"


def yaml_changes(current: Setting, chosen: Setting) -> list[str]:
    """The changed lines of the service's YAML (``gcloud run services describe S --format
    export``), old then new as a diff: annotations under spec.template.metadata, the rest
    under spec.template.spec."""
    before = {flag: line for flag, _, line in _changes(chosen, current)}
    lines = []
    for flag, _, line in _changes(current, chosen):
        old = before.get(flag) or before.get(_opposite(flag), "")
        if old:
            lines.append(f"- {old}")
        lines.append(f"+ {line}")
    return lines


def _opposite(flag: str) -> str:
    return {
        "--cpu-throttling": "--no-cpu-throttling",
        "--no-cpu-throttling": "--cpu-throttling",
    }.get(flag, flag)
