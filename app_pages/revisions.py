"""Revisions side by side: cards with deltas, a canary verdict, overlaid time series."""

from __future__ import annotations

import streamlit as st

import app_data
import charts
import presentation
import widgets


def show() -> None:
    """The page. Returns early (rather than st.stop()) where there is nothing more to show, so
    the router still draws the sidebar after it."""
    run_view = st.session_state["view"]  # the run's scope and window, resolved once
    scope = run_view.scope
    st.title("Revisions")

    if not scope.service:
        st.info("Choose a service in the sidebar to compare its revisions.")
        return

    view = widgets.loaded(
        f"the revisions of {scope.service}",
        lambda: app_data.revisions(run_view, list(scope.revisions)),
    )
    if view is None:  # could not be read: said so
        return
    if not view.all_revisions:
        st.info(f"No revisions of {scope.service} in this window and region selection.")
        return
    widgets.quality_banner(view.quality)

    view = _picked(run_view, view)
    if len(view.selected) < 2:
        st.info("Pick at least two revisions to compare them.")

    # Cards, verdict and CSV sit above the charts but are sent after them: the browser starts
    # loading plotly while it draws the cards (bench/bench_dashboard.py, time to first chart).
    top = st.container()
    _over_time(view)
    with top:
        _cards(view)
        if view.verdict is not None:
            _verdict(view.verdict)
            _traffic_commands(view.traffic_commands)
        widgets.csv_button(view.cards, f"{scope.service}-revisions.csv", "rev_csv")


def _picked(run_view: app_data.View, view: app_data.RevisionsView) -> app_data.RevisionsView:
    """The revisions chosen in the picker (the link remembers them), and their view."""
    picked = st.multiselect(
        "Revisions to compare",
        view.all_revisions,
        default=view.selected,
        key="rev_pick",
        help="By default the revisions that receive traffic now.",
    )
    if picked != view.selected:
        st.query_params["rev"] = ",".join(picked)
        return app_data.revisions(run_view, picked) or view
    return view


def _over_time(view: app_data.RevisionsView) -> None:
    st.plotly_chart(
        charts.panels_over_time(
            [
                charts.Panel(view.request_rate, "Request rate", "req/s", missing_is_zero=True),
                charts.Panel(
                    view.latency, "Latency p50 (solid) / p95 (dash) / p99 (dot)", "ms", "stat"
                ),
                charts.Panel(
                    view.instances, "Instances: active (solid) / idle (dash)", "instances", "state"
                ),
                charts.Panel(view.errors, "5xx errors", "errors/s", missing_is_zero=True),
                charts.Panel(view.cpu, "CPU utilization p50 (solid) / p99 (dash)", "%", "stat"),
                charts.Panel(
                    view.memory, "Memory utilization p50 (solid) / p99 (dash)", "%", "stat"
                ),
                charts.Panel(
                    view.concurrency,
                    "Max concurrent requests per instance p50 (solid) / p99 (dash)",
                    "requests",
                    "stat",
                ),
            ],
            title="Over time, on one time axis (zoom one panel to zoom all)",
            colors=view.colors,
            period_s=view.period_s,
            markers=view.markers,
        ),
        key="rev_over_time",
    )
    widgets.links(view.links)


def _cards(view: app_data.RevisionsView) -> None:
    """One card per chosen revision: its title, configuration and figures against stable."""
    cols = st.columns(max(len(view.selected), 1))
    base = view.cards.set_index("revision")
    for col, rev in zip(cols, view.selected, strict=False):
        card = base.loc[rev]
        ref = base.loc[view.stable] if view.stable and rev != view.stable else None
        with col, st.container(border=True):
            role = presentation.card_role(rev, view.stable, view.candidate)
            st.html(presentation.card_header(rev, view.colors.get(rev, "#444"), role))
            st.caption(presentation.card_caption(card))
            grid = st.columns(2)  # two metrics a row: the cards and the chart fit a screen
            for i, figure in enumerate(presentation.card_figures(card, ref)):
                widgets.metric(grid[i % 2], figure)


def _verdict(v: app_data.Verdict) -> None:
    draw = {"error": st.error, "success": st.success, "info": st.info}
    draw[presentation.verdict_tone(v)](f"**Canary verdict:** {presentation.verdict_headline(v)}")
    with st.expander("How the verdict was reached"):
        st.markdown(presentation.VERDICT_METHOD)
        for line in presentation.verdict_details(v):
            st.markdown(f"- {line}")


def _traffic_commands(commands: list[app_data.TrafficCommand]) -> None:
    """The update-traffic commands the verdict leads to, the suggested one first (copy them:
    the dashboard never runs them). In a popover: its code blocks are drawn only when opened,
    so their highlighter (1.5 MB of script) is not loaded while the chart's is (first chart
    ~200 ms sooner in an A/B in Chromium: README, "Time to first chart")."""
    if not commands:
        return
    ordered = sorted(commands, key=lambda c: not c.recommended)
    suggested = ordered[0].action if ordered[0].recommended else None
    with st.popover(presentation.traffic_commands_label(suggested)):
        st.caption(presentation.TRAFFIC_COMMANDS_NOTE)
        for c in ordered:
            st.markdown(f"**{c.label}** (suggested)" if c.recommended else c.label)
            st.code(c.command, language="bash", wrap_lines=True)


show()
