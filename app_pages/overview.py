"""Overview: every service in scope in one sortable table, with request-rate trends."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

import app_data
import charts
import presentation
import presentation.cost
import widgets
from presentation import columns


def show() -> None:
    """The page. Returns early (rather than st.stop()) where there is nothing more to show, so
    the router still draws the sidebar after it."""
    run_view = st.session_state["view"]  # the run's scope and window, resolved once
    scope = run_view.scope
    st.title("Fleet overview")

    # The table sits above the chart but is read and sent after it: the chart's one query per
    # project comes back long before the table's totals, configuration and detail on a big
    # fleet, and the browser loads plotly while the table is read.
    top = st.container()
    _chart(run_view)
    with top:
        view = widgets.loaded(
            "the fleet",
            lambda: app_data.overview(run_view),
            spinner="Reading every service's totals, configuration and details…",
        )
        if view is None:
            return
        widgets.quality_banner(view.quality)
        widgets.project_failures(view.failed_projects)
        if view.table.empty:
            st.info("No Cloud Run services in this project and region selection.")
            return
        shown, table = _services(view)

    rows = table.selection.rows
    if rows and rows[0] < len(shown):
        _open(scope, shown.iloc[rows[0]])


def _chart(run_view: app_data.View) -> None:
    """The request-rate chart of the busiest services (the rest summed)."""
    try:
        trend = app_data.overview_trend(run_view)
    except app_data.DataError as err:
        st.warning(f"Could not load the request-rate chart: {widgets.plain(err)}")
        return
    if trend.chart.empty:
        return
    st.plotly_chart(
        charts.time_series(
            trend.chart,
            title="Request rate",
            unit="req/s",
            color="series",
            missing_is_zero=True,
            period_s=trend.period_s,
        ),
        key="overview_requests",
    )
    if trend.note:
        st.caption(f"The chart shows {trend.note}; the table lists every service.")


def _services(view: app_data.OverviewView) -> tuple[pd.DataFrame, Any]:
    """What needs a look, then the filterable table of services; the rows shown and the
    table (its selection opens a service)."""
    if view.attention:
        st.subheader("Needs a look")
        lines = presentation.attention_lines(view.attention)
        st.markdown("\n".join(f"- {line}" for line in lines))

    st.subheader("Services")
    st.caption("Select a row to open that service's revisions. Column headers sort.")
    name = st.text_input(
        "Filter services",
        key="overview_filter",
        placeholder=f"name or project, among {len(view.table):,} services",
    )
    shown = app_data.matching(view.table, name)
    if name and shown.empty:
        st.info(f"No service name or project contains “{widgets.plain(name)}”.")
    table = st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="overview_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config=widgets.column_config(columns.OVERVIEW_COLUMNS),
    )
    st.caption(widgets.plain(presentation.cost.prices_caption(view.prices)))
    widgets.csv_button(view.csv, "runwatch-overview.csv", "overview_csv")
    return shown, table


def _open(scope: app_data.Scope, row: pd.Series) -> None:
    """Open the revisions page of the service in ``row``."""
    service, project = str(row["service"]), str(row["project_id"])
    # The sidebar is drawn after the page, so its choices can still be set here.
    st.session_state[app_data.WIDGET_KEYS["service"]] = service
    st.session_state[app_data.WIDGET_KEYS["project"]] = project
    target = app_data.rescope(scope, project=project, service=service)
    st.switch_page("app_pages/revisions.py", query_params=app_data.to_query(target))


show()
