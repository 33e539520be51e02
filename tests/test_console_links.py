"""Links into Google's console: built from the scope, escaped, and carrying the very filters the
collectors sent (compared with the requests the emulator received over the wire)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import streamlit as st

from collectors import catalog, logfilters
from collectors.filters import monitoring_filter
from collectors.rpc import LIST_LOG_ENTRIES, LIST_TIME_SERIES
from foundation.names import InvalidName
from insights import console_links as console

END = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
START = END - timedelta(hours=6)


def _logs_parts(url: str) -> tuple[str, str, str]:
    """(query, time range, project) of a Logs Explorer link, decoded as the console does."""
    split = urlsplit(url)
    assert split.netloc == "console.cloud.google.com"
    head, query, span = split.path.split(";")
    assert head == "/logs/query"
    assert query.startswith("query=")
    assert span.startswith("timeRange=")
    raw = query.removeprefix("query=").replace("%2528", "%28").replace("%2529", "%29")
    return (
        unquote(raw),
        unquote(span.removeprefix("timeRange=")),
        parse_qs(split.query)["project"][0],
    )


def test_a_service_page() -> None:
    url = console.service_url("runwatch-demo", "europe-west1", "checkout-api")
    assert url == (
        "https://console.cloud.google.com/run/detail/europe-west1/checkout-api/metrics"
        "?project=runwatch-demo"
    )
    assert (
        console.service_url("team-prod-1", "us-central1", "api", tab="logs")
        .split("?")[0]
        .endswith("/api/logs")
    )


@pytest.mark.parametrize(
    ("project", "region", "service"),
    [
        ("runwatch-demo", "europe-west1", 'api"OR"x'),
        ("runwatch-demo", "europe-west1", "../admin"),
        ("runwatch-demo", "europe west1", "api"),
        ("Bad_Project", "europe-west1", "api"),
    ],
)
def test_names_are_validated_before_any_link(project: str, region: str, service: str) -> None:
    with pytest.raises(InvalidName):
        console.service_url(project, region, service)
    with pytest.raises(InvalidName):
        console.lifecycle_logs_url(project, [region], service, START, END)
    with pytest.raises(InvalidName):
        console.metrics_url(project, region, service, "request_count", 60)


@pytest.mark.parametrize("logs", [("system",), ("requests",)])
def test_logs_explorer_carries_the_collectors_filter(logs: tuple[str, ...]) -> None:
    url = console.lifecycle_logs_url("runwatch-demo", ["europe-west1"], "shop", START, END, logs)
    # nothing a browser or the console's router would read: every reserved character encoded
    assert not re.search(r"[ ()\"<>]", url)
    query, span, project = _logs_parts(url)
    assert query == logfilters.instance_events_filter(
        "runwatch-demo", START, END, services=["shop"], regions=["europe-west1"], logs=logs
    )
    assert span == "2026-03-02T06:00:00.000Z/2026-03-02T12:00:00.000Z"
    assert project == "runwatch-demo"


CHARTED = (
    "request_count",
    "request_latencies",
    "instance_count",
    "cpu_utilizations",
    "memory_utilizations",
    "max_request_concurrencies",
)


@pytest.mark.parametrize("metric", CHARTED)
def test_metrics_explorer_charts_what_the_collectors_read(metric: str) -> None:
    url = console.metrics_url("runwatch-demo", "europe-west1", "checkout-api", metric, 300)
    split = urlsplit(url)
    assert split.path == "/monitoring/metrics-explorer"
    params = parse_qs(split.query)
    assert params["project"] == ["runwatch-demo"]
    state = json.loads(params["pageState"][0])
    ts = state["xyChart"]["dataSets"][0]["timeSeriesFilter"]
    spec = catalog.spec(metric)
    assert ts["filter"] == monitoring_filter(
        spec.metric_type, services=["checkout-api"], regions=["europe-west1"]
    )
    (agg,) = ts["aggregations"]
    assert agg["perSeriesAligner"] == catalog.Aligner(spec.aligner).name
    assert agg["crossSeriesReducer"] == catalog.Reducer(spec.reducer).name
    assert agg["alignmentPeriod"] == "300s"
    assert 'resource.label."revision_name"' in agg["groupByFields"]


def test_the_cold_starts_page_links_the_filters_it_read_with(demo_emulator: Any) -> None:
    import app_data

    st.cache_data.clear()  # the page's own reads, not an earlier test's cached ones
    app_data.forget()
    scope, _ = app_data.scope_from_query({"service": "image-resizer", "window": "24h"})
    demo_emulator.calls.reset()
    view = app_data.cold_starts(app_data.resolve(scope))
    sent = {r.filter for r in demo_emulator.calls.requests(LIST_LOG_ENTRIES.name.rsplit("/")[-1])}
    assert len(sent) == 2  # the lifecycle, then the platform's request failures
    links = dict(view.links)
    assert links["Cloud Run console"].startswith(
        "https://console.cloud.google.com/run/detail/asia-southeast1/image-resizer/logs?"
    )
    linked = {_logs_parts(url)[0] for label, url in view.links if label.startswith("Logs Explorer")}
    assert linked == sent


def test_the_revisions_page_links_its_charts_metrics(demo_emulator: Any) -> None:
    import app_data

    st.cache_data.clear()  # the page's own reads, not an earlier test's cached ones
    app_data.forget()
    scope, _ = app_data.scope_from_query({"service": "checkout-api", "window": "24h"})
    demo_emulator.calls.reset()
    view = app_data.revisions(app_data.resolve(scope))
    assert view is not None
    sent = {r.filter for r in demo_emulator.calls.requests(LIST_TIME_SERIES.name.rsplit("/")[-1])}
    charts = [url for label, url in view.links if label.startswith("Metrics Explorer")]
    assert len(charts) == len(CHARTED)
    for url in charts:
        state = json.loads(parse_qs(urlsplit(url).query)["pageState"][0])
        flt = state["xyChart"]["dataSets"][0]["timeSeriesFilter"]["filter"]
        assert flt in sent, flt  # the page's own query of that metric


def test_the_overview_links_every_service(demo_emulator: Any) -> None:
    import app_data

    scope, _ = app_data.scope_from_query({"window": "24h"})
    table = app_data.overview(app_data.resolve(scope)).table
    for row in table.itertuples():
        assert row.console == console.service_url(row.project_id, row.location, row.service)
