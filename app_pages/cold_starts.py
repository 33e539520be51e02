"""Cold starts: instance starts by reason, startup latency, per-revision rates, recent events."""

from __future__ import annotations

import streamlit as st

import app_data
import charts
import widgets


def _figures(
    starts: float, per_day: float, per_1k: float, startup_p95_ms: float, *, p95_help: str
) -> None:
    """The four headline figures ("—" where unknown)."""
    a, b, c, d = st.columns(4)
    a.metric("Cold starts", f"{starts:,.0f}", help="Instance starts in the window (all reasons)")
    b.metric("Per day", f"{per_day:,.1f}")
    c.metric("Per 1k requests", "—" if per_1k != per_1k else f"{per_1k:.2f}")
    p95 = "—" if startup_p95_ms != startup_p95_ms else f"{startup_p95_ms:,.0f} ms"
    d.metric("Startup p95", p95, help=p95_help)


def _fleet(run_view: app_data.View) -> None:
    """Every service: counts and startup times from Cloud Monitoring (no logs are read)."""
    st.caption(
        "All services · instance starts counted by the startup-latency metric (one sample per "
        "start); choose a service to see its starts by reason, OOM kills and 429 rejections "
        "from its logs"
    )
    try:
        view = app_data.fleet_cold_starts(run_view)
    except app_data.DataError as err:
        st.error(f"Could not load the fleet's cold starts: {widgets.plain(err)}")
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
            view.starts,
            view.per_day,
            view.per_1k_requests,
            view.startup_p95_ms,
            p95_help="From container/startup_latencies, every service's samples merged",
        )
    st.subheader("Per service")
    st.dataframe(
        view.per_service,
        hide_index=True,
        key="cs_per_service",
        column_config={
            "cold_starts": st.column_config.NumberColumn("cold starts", format="%.0f"),
            "per_day": st.column_config.NumberColumn("per day", format="%.1f"),
            "requests": st.column_config.NumberColumn(format="%.0f"),
            "per_1k_requests": st.column_config.NumberColumn("per 1k requests", format="%.2f"),
            "startup_p50_ms": st.column_config.NumberColumn("startup p50 (ms)", format="%.0f"),
            "startup_p95_ms": st.column_config.NumberColumn("startup p95 (ms)", format="%.0f"),
        },
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

    try:
        view = app_data.cold_starts(run_view)
    except app_data.DataError as err:
        st.error(f"Could not load instance events: {widgets.plain(err)}")
        return

    widgets.quality_banner(view.quality)

    s = view.summary
    if view.events_missing:  # nothing from the logs: say so, never "0 starts"
        st.warning(
            "The instance events could not be read, so starts by reason, startup times from "
            "the logs, OOM kills and 429 rejections are unknown. The startup-latency metric "
            f"counts {s.starts_metric:,.0f} starts in this window."
        )
        _figures(
            s.starts_metric,
            view.metric_per_day,
            float("nan"),
            s.startup_p95_ms,
            p95_help="From container/startup_latencies (one sample per start)",
        )
        return
    # The figures sit above the charts but are sent after them: the browser starts loading
    # plotly while it draws them (bench/bench_dashboard.py, time to first chart).
    top = st.container()
    if s.starts == 0:
        st.info("No instance started in this window: nothing scaled up, rolled out or recycled.")
    else:
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
        pcts = {k: v for k, v in (("p50", s.startup_p50_ms), ("p95", s.startup_p95_ms)) if v == v}
        st.plotly_chart(
            charts.histogram(
                view.startup_ms,
                title="Startup time (start → ready probe, from logs)",
                unit="ms",
                percentiles=pcts,
            ),
            key="cs_startup",
        )

    with top:
        _figures(
            s.starts,
            s.per_day,
            s.per_1k_requests,
            s.startup_p95_ms,
            p95_help="From container/startup_latencies (one sample per start)",
        )
        e, f, g, h = st.columns(4)
        for col, (reason, n) in zip((e, f, g), sorted(s.by_reason.items()), strict=False):
            col.metric(f"Starts: {reason}", f"{n:,}")
        h.metric("OOM kills / 429 rejections", f"{s.oom_kills:,} / {s.rejected_429:,}")
        if s.agreement == s.agreement and abs(s.agreement - 1) > 0.05:
            st.warning(
                f"Logs show {s.starts:,} starts but the startup-latency metric counts "
                f"{s.starts_metric:,.0f}: some log entries may be missing."
            )

    st.subheader("Per revision")
    st.dataframe(
        view.per_revision,
        hide_index=True,
        key="cs_per_revision",
        column_config={"per_1k_requests": st.column_config.NumberColumn(format="%.2f")},
    )
    widgets.csv_button(view.per_revision, "cold-starts.csv", "cs_csv")

    st.subheader("Recent starts")
    st.dataframe(view.recent_starts, hide_index=True, key="cs_recent")
    widgets.csv_button(view.recent_starts, "recent-starts.csv", "cs_recent_csv")
    st.subheader("Out-of-memory kills, exits and rejected requests")
    if view.failures.empty:
        st.info("None in this window.")
    else:
        st.dataframe(view.failures, hide_index=True, key="cs_failures")
        widgets.csv_button(view.failures, "failures.csv", "cs_fail_csv")


show()
