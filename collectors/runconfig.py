"""Cloud Run Admin API v2 resources -> SERVICES / REVISIONS / TRAFFIC rows (pure).

Input is raw protobuf (``run_v2.Service.pb()`` / ``run_v2.Revision.pb()`` instances), as read
over gRPC or parsed from a JSON export with ``google.protobuf.json_format``. Documented defaults
are applied where a field is unset, and each is said here once:

- **Concurrency**: ``max_instance_request_concurrency`` 0/unset means 80 when the revision has
  at least 1 vCPU, else 1 (docs/facts.md, Admin API); ``concurrency_set`` is then False.
- **Billing**: ``resources.cpu_idle`` true means request-based billing (CPU only during
  requests), false instance-based. The field has no presence in proto3, so "unset" and false
  look the same. The API reference (ResourceRequirements.cpu_idle) says it is "true by default.
  However, if ResourceRequirements is set, the caller must explicitly set this field to true to
  preserve the default behavior." So: a container without ``resources`` is request-based; one
  with ``resources`` and cpu_idle false is instance-based. For several containers (sidecars) the
  ingress container (the one with a port, else the first) decides.
- **CPU / memory**: summed over the containers (an instance is billed for all of them); a
  container without a limit counts Cloud Run's defaults, 1 vCPU and 512 MiB. Quantities use
  Kubernetes syntax: ``"1"``, ``"0.5"``, ``"1000m"``; ``"512Mi"``, ``"2Gi"``, ``"256M"``
  (decimal megabytes), plain bytes.
- **Max instances**: a revision's ``max_instance_count`` 0 means the default, 100. Service-level
  min/max 0 means "not set" (<NA>).
- **Traffic**: what is in effect (``traffic_statuses``) when the API reports it, else the
  requested ``traffic``; a LATEST entry (or one naming no revision) resolves to
  ``latest_ready_revision`` and is flagged ``latest``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from collectors import schema

DEFAULT_CPU = 1.0
DEFAULT_MEMORY_GIB = 0.5
DEFAULT_MAX_INSTANCES = 100
TRAFFIC_LATEST = 1  # TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
_SCALING_MODES = {0: "AUTOMATIC", 1: "AUTOMATIC", 2: "MANUAL"}
_EXEC_ENV = {0: "", 1: "gen1", 2: "gen2"}
_INGRESS = {
    0: "",
    1: "all",
    2: "internal",
    3: "internal-and-cloud-load-balancing",
    4: "none",
}

_QUANTITY_RE = re.compile(
    r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?\s*([A-Za-z]*)\s*$"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"": 1.0, "m": 1e-3, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}


def parse_quantity(text: str) -> float:
    """A Kubernetes quantity (``"1000m"``, ``"0.5"``, ``"512Mi"``, ``"1e3"``) as a number."""
    m = _QUANTITY_RE.match(text or "")
    if not m:
        raise ValueError(f"{text!r} is not a resource quantity such as 1, 500m, 512Mi or 2Gi")
    number = float(m.group(1)) * (10.0 ** int(m.group(2)) if m.group(2) else 1.0)
    suffix = m.group(3)
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    raise ValueError(f"{text!r} has an unknown unit suffix {suffix!r}")


def parse_cpu(text: str) -> float:
    """vCPU from a cpu limit: ``"1"`` -> 1.0, ``"1000m"`` -> 1.0, ``"0.5"`` -> 0.5."""
    value = parse_quantity(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"cpu limit {text!r} is not a positive number of vCPU")
    return value


def parse_memory_gib(text: str) -> float:
    """GiB from a memory limit: ``"512Mi"`` -> 0.5, ``"2Gi"`` -> 2.0, ``"256M"`` -> 0.238…"""
    value = parse_quantity(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"memory limit {text!r} is not a positive size")
    return value / 2**30


def default_concurrency(cpu: float) -> int:
    """Cloud Run's concurrency when unset: 80 with at least 1 vCPU, else 1."""
    return 80 if cpu >= 1.0 else 1


def short_name(full: str) -> str:
    """Last path segment: ``projects/p/locations/r/services/s/revisions/x`` -> ``x``."""
    return full.rstrip("/").rsplit("/", 1)[-1] if full else ""


def parse_resource_name(full: str) -> tuple[str, str]:
    """(project, location) from ``projects/P/locations/L/...``; empty strings if absent."""
    parts = full.split("/")
    project = parts[1] if len(parts) > 1 and parts[0] == "projects" else ""
    location = parts[3] if len(parts) > 3 and parts[2] == "locations" else ""
    return project, location


def _ts(pb_ts: Any) -> Any:
    """A tz-aware pandas Timestamp, or NaT for an unset protobuf Timestamp."""
    if pb_ts.seconds == 0 and pb_ts.nanos == 0:
        return pd.NaT
    return pd.Timestamp(pb_ts.seconds * 1_000_000_000 + pb_ts.nanos, unit="ns", tz="UTC")


def _duration_s(pb_dur: Any) -> float:
    if pb_dur.seconds == 0 and pb_dur.nanos == 0:
        return float("nan")
    return float(pb_dur.seconds) + float(pb_dur.nanos) / 1e9


def container_resources(containers: Iterable[Any]) -> dict[str, Any]:
    """cpu, memory_gib, gpu, billing and startup_cpu_boost of a revision's containers.

    Raises ValueError when a limit cannot be parsed (the caller records it as a data-quality
    note and leaves the figure unknown).
    """
    items = list(containers)
    cpu = 0.0
    mem = 0.0
    gpu = 0
    boost = False
    for c in items:
        limits = c.resources.limits
        cpu += parse_cpu(limits["cpu"]) if "cpu" in limits else DEFAULT_CPU
        mem += parse_memory_gib(limits["memory"]) if "memory" in limits else DEFAULT_MEMORY_GIB
        if "nvidia.com/gpu" in limits:
            gpu += int(parse_quantity(limits["nvidia.com/gpu"]))
        boost = boost or bool(c.resources.startup_cpu_boost)
    if not items:
        cpu, mem = DEFAULT_CPU, DEFAULT_MEMORY_GIB
    ingress = next((c for c in items if len(c.ports) > 0), items[0] if items else None)
    request_based = True
    if ingress is not None and ingress.HasField("resources"):
        request_based = bool(ingress.resources.cpu_idle)
    return {
        "cpu": cpu,
        "memory_gib": mem,
        "gpu": gpu,
        "billing": "request" if request_based else "instance",
        "startup_cpu_boost": boost,
    }


def _resources_or_unknown(containers: Iterable[Any], what: str, notes: list[str]) -> dict[str, Any]:
    try:
        return container_resources(containers)
    except ValueError as exc:
        notes.append(f"{what}: {exc}; its cpu/memory are shown as unknown")
        return {
            "cpu": np.nan,
            "memory_gib": np.nan,
            "gpu": pd.NA,
            "billing": "",
            "startup_cpu_boost": False,
        }


def _concurrency(raw: int, cpu: float) -> tuple[Any, bool]:
    if raw > 0:
        return raw, True
    if math.isnan(cpu):
        return pd.NA, False
    return default_concurrency(cpu), False


def _int_or_na(value: int) -> Any:
    return value if value > 0 else pd.NA


def revision_row(rev: Any, notes: list[str] | None = None) -> dict[str, Any]:
    """One REVISIONS row from a raw ``google.cloud.run.v2.Revision``."""
    notes = notes if notes is not None else []
    project, location = parse_resource_name(rev.name)
    res = _resources_or_unknown(rev.containers, f"revision {short_name(rev.name)}", notes)
    concurrency, is_set = _concurrency(rev.max_instance_request_concurrency, res["cpu"])
    max_n = rev.scaling.max_instance_count
    return {
        "project_id": project,
        "location": location,
        "service": short_name(rev.service),
        "revision": short_name(rev.name),
        **res,
        "concurrency": concurrency,
        "concurrency_set": is_set,
        "min_instances": rev.scaling.min_instance_count,
        "max_instances": max_n if max_n > 0 else DEFAULT_MAX_INSTANCES,
        "timeout_s": _duration_s(rev.timeout),
        "execution_environment": _EXEC_ENV.get(int(rev.execution_environment), ""),
        "create_time": _ts(rev.create_time),
    }


def service_row(svc: Any) -> dict[str, Any]:
    """One SERVICES row from a raw ``google.cloud.run.v2.Service``."""
    project, location = parse_resource_name(svc.name)
    scaling = svc.scaling
    manual = scaling.manual_instance_count if scaling.HasField("manual_instance_count") else pd.NA
    return {
        "project_id": project,
        "location": location,
        "service": short_name(svc.name),
        "latest_ready_revision": short_name(svc.latest_ready_revision),
        "latest_created_revision": short_name(svc.latest_created_revision),
        "service_min_instances": _int_or_na(scaling.min_instance_count),
        "service_max_instances": _int_or_na(scaling.max_instance_count),
        "scaling_mode": _SCALING_MODES.get(int(scaling.scaling_mode), "AUTOMATIC"),
        "manual_instance_count": manual,
        "ingress": _INGRESS.get(int(svc.ingress), ""),
        "uri": svc.uri,
        "create_time": _ts(svc.create_time),
        "update_time": _ts(svc.update_time),
    }


def traffic_rows(svc: Any) -> list[dict[str, Any]]:
    """TRAFFIC rows of a raw Service: in-effect statuses, else the requested split."""
    project, location = parse_resource_name(svc.name)
    latest = short_name(svc.latest_ready_revision)
    entries = list(svc.traffic_statuses) or list(svc.traffic)
    rows = []
    for t in entries:
        follows_latest = int(t.type_) == TRAFFIC_LATEST or not t.revision
        rows.append(
            {
                "project_id": project,
                "location": location,
                "service": short_name(svc.name),
                "revision": short_name(t.revision) if t.revision else latest,
                "tag": t.tag,
                "percent": int(t.percent),
                "latest": follows_latest,
            }
        )
    return rows


def template_revision_row(svc: Any, notes: list[str] | None = None) -> dict[str, Any]:
    """A REVISIONS-shaped row for the service's template (what the next revision will be).

    Used to fill in configuration when ListRevisions is unavailable: the template describes the
    latest created revision when the service is in a steady state.
    """
    notes = notes if notes is not None else []
    project, location = parse_resource_name(svc.name)
    tpl = svc.template
    res = _resources_or_unknown(tpl.containers, f"service {short_name(svc.name)}", notes)
    concurrency, is_set = _concurrency(tpl.max_instance_request_concurrency, res["cpu"])
    max_n = tpl.scaling.max_instance_count
    return {
        "project_id": project,
        "location": location,
        "service": short_name(svc.name),
        "revision": short_name(svc.latest_created_revision) or tpl.revision,
        **res,
        "concurrency": concurrency,
        "concurrency_set": is_set,
        "min_instances": tpl.scaling.min_instance_count,
        "max_instances": max_n if max_n > 0 else DEFAULT_MAX_INSTANCES,
        "timeout_s": _duration_s(tpl.timeout),
        "execution_environment": _EXEC_ENV.get(int(tpl.execution_environment), ""),
        "create_time": _ts(svc.update_time),
    }


def frame(rows: list[dict[str, Any]], frame_schema: schema.Schema) -> pd.DataFrame:
    """Rows -> a conformed frame (empty rows -> the schema's empty frame)."""
    if not rows:
        return schema.empty(frame_schema)
    df = pd.DataFrame(rows)
    for col, dtype in frame_schema.items():
        if dtype == schema.TS and col in df:
            df[col] = pd.to_datetime(df[col], utc=True)
    return schema.conform(df, frame_schema)
