"""Which aligners and reducers a metric accepts, the kind and value type they produce, and
how series group under group_by_fields (Monitoring's documented rules)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.api import aggregate as agg
from emulator.api.errors import invalid
from emulator.api.series_index import MetricGroup


def _check_aligner(g: MetricGroup, aligner: str, reducer: str) -> None:
    if g.is_distribution:
        if aligner in ("RATE", "MAX", "MIN", "MEAN", "COUNT"):
            raise invalid(
                f"The aligner ALIGN_{aligner} is not valid for metric {g.metric_type} "
                f"with value type DISTRIBUTION."
            )
        if aligner in ("DELTA", "SUM") and reducer in ("MAX", "MIN"):
            raise invalid(f"The reducer REDUCE_{reducer} is not valid for distributions.")
    else:
        if aligner in agg.PERCENTILES:
            raise invalid(
                f"The aligner ALIGN_{aligner} is only valid for distribution metrics; "
                f"{g.metric_type} has value type {g.value_type}."
            )
    if g.kind == "GAUGE" and aligner in ("DELTA", "RATE"):
        raise invalid(
            f"The aligner ALIGN_{aligner} is not valid for metric {g.metric_type} of kind GAUGE."
        )


def _aligned_type(g: MetricGroup, aligner: str) -> tuple[str, str, str]:
    if aligner in ("DELTA", "SUM"):
        return g.kind, g.value_type, g.unit
    if aligner == "COUNT":
        return g.kind, "INT64", "1"
    if aligner == "RATE":
        return "GAUGE", "DOUBLE", "1/s" if g.unit == "1" else f"{g.unit}/s"
    if aligner in ("MAX", "MIN"):
        return "GAUGE", g.value_type, g.unit
    return "GAUGE", "DOUBLE", g.unit  # MEAN, PERCENTILE_xx


def _reduced_type(kind: str, vtype: str, reducer: str, dist: bool) -> tuple[str, str]:
    if reducer == "COUNT":
        return kind, "INT64"
    if reducer == "MEAN":
        return kind, "DOUBLE"
    if reducer in agg.PERCENTILES:
        return "GAUGE", "DOUBLE"
    return kind, vtype  # SUM, MAX, MIN


def _group(
    series: list[Any], group_by: tuple[tuple[str, str], ...], project: str
) -> list[tuple[tuple[Mapping[str, str], Mapping[str, str]], list[int]]]:
    groups: dict[tuple[str, ...], list[int]] = {}
    for j, s in enumerate(series):
        key = tuple(
            (s.resource_labels if where == "resource" else s.metric_labels).get(k, "")
            for where, k in group_by
        )
        groups.setdefault(key, []).append(j)
    out: list[tuple[tuple[Mapping[str, str], Mapping[str, str]], list[int]]] = []
    for key in sorted(groups):
        # project_id is an ordinary resource label: kept when every member shares it (always
        # within one project; across a metrics scope only when the group is one project's)
        pids = {series[j].resource_labels.get("project_id", project) for j in groups[key]}
        res = {"project_id": pids.pop()} if len(pids) == 1 else {}
        met: dict[str, str] = {}
        for (where, k), v in zip(group_by, key, strict=True):
            if v:
                (res if where == "resource" else met)[k] = v
        out.append(((res, met), groups[key]))
    return out
