"""Links into Google's console for what a view shows (pure: URL strings, no API call).

- a service's page in the Cloud Run console;
- Logs Explorer with the very filters the collectors send for a service's instance lifecycle
  and the platform's request failures (collectors.logfilters), over the same window;
- Metrics Explorer with the Monitoring filter, aligner, reducer and grouping the collectors use
  for one metric of one service (collectors.filters, collectors.catalog).

Every name is validated (foundation.names) and every filter value quoted before it is put in a
filter, and every part of a URL is percent-encoded. The URL shapes are the console's own, as its
"copy link" writes them (docs/facts.md, Console links): Logs Explorer's query and time range are
path parameters (``;query=…;timeRange=START%2FEND``), with parentheses encoded twice as the
console encodes them; Metrics Explorer's chart is a JSON ``pageState``, whose time range is left
to the console (its format for an absolute range is not documented).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import quote

from collectors import catalog, logfilters
from collectors.filters import monitoring_filter
from foundation import names

CONSOLE = "https://console.cloud.google.com"


def _part(text: str) -> str:
    """Percent-encode every reserved character; "(" and ")" twice (the console's router reads
    them in a path parameter otherwise)."""
    return quote(text, safe="").replace("%28", "%2528").replace("%29", "%2529")


def _stamp(ts: datetime) -> str:
    if ts.tzinfo is None:
        raise ValueError(f"{ts!r} has no time zone")
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def service_url(project: str, region: str, service: str, tab: str = "metrics") -> str:
    """The service's page in the Cloud Run console (``tab``: metrics, revisions, logs, ...)."""
    if tab not in ("metrics", "revisions", "logs", "networking", "security", "yaml"):
        raise ValueError(f"unknown Cloud Run console tab {tab!r}")
    p, r, s = names.project(project), names.region(region), names.service(service)
    return f"{CONSOLE}/run/detail/{quote(r, safe='')}/{quote(s, safe='')}/{tab}?project={p}"


def logs_url(project: str, query: str, start: datetime, end: datetime) -> str:
    """Logs Explorer running ``query`` (a Logging filter) over [start, end) in ``project``."""
    p = names.project(project)
    span = quote(f"{_stamp(start)}/{_stamp(end)}", safe="")
    return f"{CONSOLE}/logs/query;query={_part(query)};timeRange={span}?project={p}"


def lifecycle_logs_url(
    project: str,
    regions: Iterable[str],
    service: str,
    start: datetime,
    end: datetime,
    logs: tuple[str, ...] = logfilters.LOGS,
) -> str:
    """Logs Explorer with a filter runwatch reads a service's starts and platform failures
    with: ``logs`` ("system": the instance lifecycle; "requests": the platform's request-log
    messages; the collectors send one query of each); ``regions``: those the read was narrowed
    to, every region when empty."""
    query = logfilters.instance_events_filter(
        project, start, end, services=(service,), regions=tuple(regions), logs=logs
    )
    return logs_url(project, query, start, end)


def _group_field(label: str) -> str:
    """``resource.label.revision_name`` as Metrics Explorer writes it:
    ``resource.label."revision_name"``."""
    head, _, name = label.rpartition(".")
    return f'{head}."{name}"'


def metrics_url(project: str, region: str, service: str, metric: str, period_s: int) -> str:
    """Metrics Explorer charting catalog metric ``metric`` (a short name, e.g.
    "request_latencies") of one service per revision, aligned and reduced as the collectors
    read it, at ``period_s`` seconds."""
    spec = catalog.spec(metric)
    if period_s <= 0:
        raise ValueError(f"alignment period must be positive, got {period_s}")
    flt = monitoring_filter(spec.metric_type, services=(service,), regions=(region,))
    aggregation = {
        "perSeriesAligner": catalog.Aligner(spec.aligner).name,
        "crossSeriesReducer": catalog.Reducer(spec.reducer).name,
        "alignmentPeriod": f"{int(period_s)}s",
        "groupByFields": [_group_field(f) for f in spec.group_by],
    }
    state = {
        "xyChart": {
            "dataSets": [
                {
                    "timeSeriesFilter": {
                        "filter": flt,
                        "minAlignmentPeriod": f"{int(period_s)}s",
                        "aggregations": [aggregation],
                    },
                    "plotType": "LINE",
                }
            ]
        }
    }
    page_state = quote(json.dumps(state, separators=(",", ":")), safe="")
    p = names.project(project)
    return f"{CONSOLE}/monitoring/metrics-explorer?pageState={page_state}&project={p}"
