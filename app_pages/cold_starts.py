"""Cold starts: instance starts by reason, startup latency, per-revision rates, recent events."""

from __future__ import annotations

import streamlit as st

import app_data
import charts
import presentation
import widgets
from presentation import columns


def _figures(figures: list[presentation.Figure]) -> None:
    """The four headline figures, side by side."""
    for col, figure in zip(st.columns(4), figures, strict=True):
        widgets.metric(col, figure)


def _fleet(run_view: app_data.View) -> None:
    """Every service: counts and startup times from Cloud Monitoring (no logs are read)."""
    st.caption(
        "All services · instance starts counted by the startup-latency metric (one sample per "
        "start); choose a service to see its starts by reason, OOM kills and 429 rejections "
        "from its logs"
    )
    view = widgets.loaded("the fleet's cold starts", lambda: app_data.fleet_cold_starts(run_view))
    if view is None:
        return
    widgets.quality_banner(view.quality)
    widgets.project_failures(view.failed_projects)
    top = st.container()  # the figures above the chart, sent after it
    st.plotly_chart(
        charts.ranked_bars(
            view.per_service,
            label="service",
            value="per_day",
            title="Cold starts per day, services with the most",
            unit="starts/day",
        ),
        key="cs_fleet_ranked",
    )
    with top:
        _figures(
            presentation.cold_start_figures(
                view.starts,
                view.per_day,
                view.per_1k_requests,
                view.startup_p95_ms,
                p95_help="From container/startup_latencies, every service's samples merged",
                p95_bound=view.startup_p95_bound,
            )
        )
    st.subheader("Per service")
    st.dataframe(
        view.per_service,
        hide_index=True,
        key="cs_per_service",
        column_config=widgets.column_config(columns.COLD_START_SERVICE_COLUMNS),
    )
    widgets.csv_button(view.per_service, "cold-starts-by-service.csv", "cs_service_csv")


def show() -> None:
    """The page. Returns early (rather than st.stop()) where there is nothing more to show, so
    the router still draws the sidebar after it."""
    run_view = st.session_state["view"]  # the run's scope and window, resolved once
    scope = run_view.scope
    st.title("Cold starts")
    if not scope.service:
        _fleet(run_view)
        return
    st.caption(f"{scope.service} · instance starts from the platform's own logs")

    view = widgets.loaded("instance events", lambda: app_data.cold_starts(run_view))
    if view is None:
        return

    widgets.quality_banner(view.quality)
    if view.events_missing:  # nothing from the logs: say so, never "0 starts"
        _without_events(view)
        return
    # The figures sit above the charts but are sent after them: the browser starts loading
    # plotly while it draws them (bench/bench_dashboard.py, time to first chart).
    top = st.container()
    _charts(view)
    with top:
        _summary(view)
    _tables(view)


P95_HELP = "From container/startup_latencies (one sample per start)"


def _without_events(view: app_data.ColdStartsView) -> None:
    """The figures the startup-latency metric still gives when the logs could not be read."""
    s = view.summary
    st.warning(presentation.events_missing_note(s.starts_metric))
    _figures(
        presentation.cold_start_figures(
            s.starts_metric,
            view.metric_per_day,
            float("nan"),
            s.startup_p95_ms,
            p95_help=P95_HELP,
            p95_bound=s.startup_p95_bound,
        )
    )


def _charts(view: app_data.ColdStartsView) -> None:
    """Starts over time by reason, and the startup times from the logs."""
    s = view.summary
    if s.starts == 0:
        st.info("No instance started in this window: nothing scaled up, rolled out or recycled.")
        return
    st.plotly_chart(
        charts.bars_over_time(
            view.over_time,
            title=f"Instance starts per {view.bucket} by reason",
            unit="starts",
            color="reason",
            colors=charts.REASON_COLORS,
        ),
        key="cs_over_time",
    )
    st.plotly_chart(
        charts.histogram(
            view.startup_ms,
            title="Startup time (start → ready probe, from logs)",
            unit="ms",
            percentiles=view.startup_percentiles,
        ),
        key="cs_startup",
    )


def _summary(view: app_data.ColdStartsView) -> None:
    """The headline figures, starts by reason, and whether the logs agree with the metric."""
    s = view.summary
    _figures(
        presentation.cold_start_figures(
            s.starts,
            s.per_day,
            s.per_1k_requests,
            s.startup_p95_ms,
            p95_help=P95_HELP,
            p95_bound=s.startup_p95_bound,
        )
    )
    *reasons, failures = presentation.start_reason_figures(s.by_reason, s.oom_kills, s.rejected_429)
    e, f, g, h = st.columns(4)
    for col, figure in zip((e, f, g), reasons, strict=False):
        widgets.metric(col, figure)
    widgets.metric(h, failures)
    if s.logs_disagree:
        st.warning(presentation.logs_disagree_note(s.starts, s.starts_metric))


def _tables(view: app_data.ColdStartsView) -> None:
    """Per revision, the recent starts, and the failures, each with its CSV."""
    st.subheader("Per revision")
    st.dataframe(
        view.per_revision,
        hide_index=True,
        key="cs_per_revision",
        column_config=widgets.column_config(columns.COLD_START_REVISION_COLUMNS),
    )
    widgets.csv_button(view.per_revision, "cold-starts.csv", "cs_csv")

    st.subheader("Recent starts")
    st.dataframe(view.recent_starts, hide_index=True, key="cs_recent")
    widgets.csv_button(view.recent_starts, "recent-starts.csv", "cs_recent_csv")
    st.subheader("Platform failures")
    st.caption(
        "Cloud Run's own messages in the system and request logs; an application's own 4xx "
        "and 5xx answers are not among them"
    )
    st.dataframe(view.failure_counts, hide_index=True, key="cs_failure_counts")
    widgets.csv_button(view.failure_counts, "platform-failures.csv", "cs_fail_counts_csv")
    if view.failures.empty:
        st.info("No platform failure in this window.")
    else:
        st.dataframe(view.failures, hide_index=True, key="cs_failures")
        widgets.csv_button(view.failures, "failures.csv", "cs_fail_csv")
    widgets.links(view.links)


show()
