"""Which settings Cloud Run accepts, and memory strings.

Rules (Cloud Run docs "Configure CPU limits" and "Configure memory limits" for services):
- cpu between 0.08 and 8; above 1 only whole numbers.
- below 1 vCPU: concurrency must be 1 and billing request-based; memory above 512 MiB needs at
  least 0.5 vCPU, above 1 GiB at least 1 vCPU.
- memory above 4 GiB needs at least 2 vCPU, above 8 GiB 4, above 16 GiB 6, above 24 GiB 8; at
  most 32 GiB. 4 vCPU need at least 2 GiB, 6 and 8 vCPU at least 4 GiB.
- concurrency 1..1000; 0 <= min instances <= max instances.
"""

from __future__ import annotations

import re

_MEMORY_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(Ki|Mi|Gi|Ti|k|K|M|G|T)?\s*$")
_FACTORS = {
    None: 1.0,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
}
_MEMORY_MIN_CPU = ((24.0, 8.0), (16.0, 6.0), (8.0, 4.0), (4.0, 2.0), (1.0, 1.0), (0.5, 0.5))
_CPU_MIN_MEMORY = ((6.0, 4.0), (4.0, 2.0))


def parse_memory_gib(text: str) -> float:
    """'256Mi' -> 0.25, '2Gi' -> 2.0, '512M' -> 0.477 (decimal units as Kubernetes reads them)."""
    match = _MEMORY_RE.match(text)
    if not match:
        raise ValueError(f"memory {text!r} is not a quantity such as 256Mi, 512Mi or 2Gi")
    number, suffix = match.groups()
    value = float(number) * _FACTORS[suffix] / 2.0**30
    if value <= 0:
        raise ValueError(f"memory {text!r} must be more than zero")
    return value


def forbidden(
    *,
    cpu: float,
    memory_gib: float,
    concurrency: int,
    billing: str,
    min_instances: int = 0,
    max_instances: int = 100,
) -> str | None:
    """Why Cloud Run would refuse this setting, or None when it is allowed."""
    if not 0.08 <= cpu <= 8:
        return f"cpu {cpu:g} is outside Cloud Run's 0.08-8 vCPU"
    if cpu > 1 and abs(cpu - round(cpu)) > 1e-9:
        return f"cpu {cpu:g}: above 1 vCPU only whole numbers are allowed"
    if not 1 <= concurrency <= 1000:
        return f"concurrency {concurrency} is outside 1-1000"
    if billing not in ("request", "instance"):
        return f"billing {billing!r} is not request or instance"
    if cpu < 1 and concurrency > 1:
        return f"concurrency {concurrency} needs at least 1 vCPU (cpu is {cpu:g})"
    if cpu < 1 and billing == "instance":
        return f"instance-based billing needs at least 1 vCPU (cpu is {cpu:g})"
    if memory_gib > 32 + 1e-9:
        return f"memory {memory_gib:g} GiB is above Cloud Run's 32 GiB"
    for limit, need in _MEMORY_MIN_CPU:
        if memory_gib > limit + 1e-9 and cpu < need - 1e-9:
            return f"memory above {limit:g} GiB needs at least {need:g} vCPU (cpu is {cpu:g})"
    for cpus, need in _CPU_MIN_MEMORY:
        if cpu >= cpus - 1e-9 and memory_gib < need - 1e-9:
            return f"{cpu:g} vCPU need at least {need:g} GiB of memory"
    if min_instances < 0 or max_instances < 1:
        return "min instances must be >= 0 and max instances >= 1"
    if min_instances > max_instances:
        return f"min instances {min_instances} is above max instances {max_instances}"
    return None
