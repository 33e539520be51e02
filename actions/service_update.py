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


FIELDS = ("concurrency", "min_instances", "max_instances", "billing", "cpu", "memory_gib")
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


def _flag(s: Setting, field: str) -> str:
    """The gcloud flag that sets ``field`` to its value in ``s``."""
    if field == "billing":
        return "--cpu-throttling" if s.billing == "request" else "--no-cpu-throttling"
    value = {
        "concurrency": str(s.concurrency),
        "min_instances": str(s.min_instances),
        "max_instances": str(s.max_instances),
        "cpu": cpu_text(s.cpu),
        "memory_gib": memory_text(s.memory_gib),
    }[field]
    name = {"memory_gib": "memory"}.get(field, field).replace("_", "-")
    return f"--{name}={value}"


def _yaml_line(s: Setting, field: str) -> str:
    """The line of the service's YAML that holds ``field`` at its value in ``s``."""
    return {
        "concurrency": f"containerConcurrency: {s.concurrency}",
        "min_instances": f"autoscaling.knative.dev/minScale: '{s.min_instances}'",
        "max_instances": f"autoscaling.knative.dev/maxScale: '{s.max_instances}'",
        "billing": f"run.googleapis.com/cpu-throttling: '{str(s.billing == 'request').lower()}'",
        "cpu": f"cpu: '{cpu_text(s.cpu)}'",
        "memory_gib": f"memory: {memory_text(s.memory_gib)}",
    }[field]


def _changed(current: Setting, chosen: Setting) -> list[str]:
    """The fields that differ, in the command's order."""
    return [f for f in FIELDS if getattr(current, f) != getattr(chosen, f)]


def update_command(
    current: Setting, chosen: Setting, *, project: str, region: str, service: str
) -> str:
    """The ``gcloud run services update`` line that turns ``current`` into ``chosen`` ("" when
    they are the same)."""
    changed = _changed(current, chosen)
    if not changed:
        return ""
    flags = " ".join(_flag(chosen, f) for f in changed)
    return f"gcloud run services update {names.service(service)} {where(project, region)} {flags}"


def yaml_changes(current: Setting, chosen: Setting) -> list[str]:
    """The changed lines of the service's YAML (``gcloud run services describe S --format
    export``), old then new as a diff: annotations under spec.template.metadata, the rest
    under spec.template.spec."""
    return [
        line
        for f in _changed(current, chosen)
        for line in (f"- {_yaml_line(current, f)}", f"+ {_yaml_line(chosen, f)}")
    ]
