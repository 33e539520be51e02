"""Cost & tuning: observed cost, what-if controls with an instant estimate, Pareto and advice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

import app_data
import charts
import presentation
import presentation.cost
import widgets
from presentation import columns

CONTROLS = ("cost_concurrency", "cost_min", "cost_max", "cost_billing")  # the what-if widgets


@st.fragment
def what_if(view: app_data.CostView, cpu: float | None, mem: float | None) -> None:
    """Controls and their instant estimate: a rerun of this fragment only, not the page."""
    st.subheader("What if…")
    cur = view.current
    ss = st.session_state
    opts, start = _choices(view)
    # The controls are drawn after the estimate and the heatmap, in a container above them (the
    # browser gets the chart first); their values come from the widgets' session state.
    for key in CONTROLS:
        if key in ss and ss[key] not in opts[key]:
            del ss[key]  # another service's setting: start from this one's
    conc, mins, most, billing = (ss.get(key, start[key]) for key in CONTROLS)
    controls = st.container()
    plane = _plane(view, cpu, mem, most)
    choice = app_data.pick(
        view.table,
        cur,
        view.calibration_error,
        concurrency=conc,
        min_instances=mins,
        max_instances=most,
        billing=billing,
        cpu=plane[0],
        memory_gib=plane[1],
    )
    numbers = st.container()  # above the heatmap, sent after it
    if view.elsewhere is not None:
        st.info(presentation.cost.region_caption(view.elsewhere))
    if view.vs_observed is not None:
        st.caption(presentation.cost.current_vs_observed_caption(view.vs_observed))
    if view.partial:
        st.warning(f"These estimates are partial: {view.partial}.")
    st.caption(
        presentation.cost.calibration_caption(
            view.calibration_error, view.calibration_notes, view.history
        )
    )
    st.plotly_chart(
        charts.heatmap(
            app_data.labelled(view.table, billing, plane=plane),
            x="concurrency",
            y="min_instances",
            z="monthly_cost",
            z_unit="$/month",
            title=presentation.cost.heatmap_title(
                billing, *plane, view.elsewhere.there if view.elsewhere else ""
            ),
        ),
        key="cost_heatmap",
    )
    with numbers:
        if not choice.allowed:
            st.warning(f"Cloud Run does not allow this setting: {choice.reason}.")
        else:
            for col, figure in zip(
                st.columns(4), presentation.cost.estimate_figures(choice), strict=True
            ):
                widgets.metric(col, figure)
            chosen = dict(
                zip(app_data.SETTING, (conc, mins, most, billing, *plane[:2]), strict=True)
            )
            _apply(*app_data.apply_lines(view, chosen))
    with controls:
        _controls(opts, start, billing)


def _apply(command: str, yaml_lines: list[str]) -> None:
    """The command that applies the chosen setting, and the YAML lines it changes, in a
    popover (drawn when opened: the code highlighter loads then, not with the estimate)."""
    if not command:
        return
    with st.popover("Apply this setting: the gcloud command and the YAML it changes"):
        st.caption(presentation.cost.APPLY_NOTE)
        st.code(command, language="bash", wrap_lines=True)
        st.code("\n".join(yaml_lines), language="diff")


def _plane(
    view: app_data.CostView, cpu: float | None, mem: float | None, most: float
) -> tuple[float, float, int]:
    """The estimate card's size and max instances: the plane the heatmap and the Pareto chart
    show."""
    cur = view.current
    return (cpu or float(cur["cpu"]), mem or float(cur["memory_gib"]), int(most))


def _pareto(view: app_data.CostView, cpu: float | None, mem: float | None) -> None:
    """Cost against cold starts in the card's plane (the max the what-if control holds)."""
    most = st.session_state.get("cost_max", view.current["max_instances"])
    st.plotly_chart(
        charts.pareto(
            app_data.labelled(view.table, plane=_plane(view, cpu, mem, most)),
            x="monthly_cost",
            y="cold_starts_per_day",
            x_unit="$/month",
            y_unit="cold starts/day",
            label="label",
            title="Monthly cost against cold starts",
        ),
        key="cost_pareto",
    )


def _variants(view: app_data.CostView) -> None:
    """Scheduled min instances and the startup CPU boost: the current settings so changed,
    and the commands that put a schedule in place, in an expander open once asked. The inputs'
    values come from the session state (read by show())."""
    v = view.variants
    ss = st.session_state
    asked = bool(ss.get("cost_schedule") or ss.get("cost_boost"))
    with st.expander("Scheduled min instances and startup CPU boost", expanded=asked):
        left, mid, right = st.columns([3, 1, 2])
        left.text_input(
            "Scheduled min instances",
            key="cost_schedule",
            placeholder="2@mon-fri 08:00-20:00; 0 otherwise",
            help=presentation.cost.SCHEDULE_HELP,
        )
        mid.text_input("Time zone", key="cost_schedule_tz", placeholder="UTC")
        right.toggle(
            presentation.cost.boost_label(v.boost_on),
            key="cost_boost",
        )
        if v.schedule_refused:
            st.warning(f"This schedule cannot be carried out: {v.schedule_refused}.")
        if len(v.table) > 1:
            st.dataframe(
                presentation.cost.variants_table(v.table),
                hide_index=True,
                key="cost_variants",
                column_config=widgets.column_config(presentation.cost.VARIANT_FORMATS),
            )
            if st.session_state.get("cost_boost"):
                st.caption(presentation.cost.boost_note(v.boost_factor))
        if v.schedule_commands:
            st.caption(
                "Cloud Run has no schedule of its own: these Cloud Scheduler jobs set the "
                "service-level min instances at each change (runwatch never runs them)."
            )
            st.code("\n".join(v.schedule_commands), language="bash", wrap_lines=True)


def _choices(view: app_data.CostView) -> tuple[dict[str, list[object]], dict[str, object]]:
    """Each control's options (the values in the grid) and its start (the current setting)."""
    cur = view.current
    opts: dict[str, list[object]] = {
        "cost_concurrency": app_data.options(view.table, "concurrency"),
        "cost_min": app_data.options(view.table, "min_instances"),
        "cost_max": app_data.options(view.table, "max_instances"),
        "cost_billing": ["request", "instance"],
    }
    start: dict[str, object] = {
        "cost_concurrency": int(cur["concurrency"]),
        "cost_min": int(cur["min_instances"]),
        "cost_max": int(cur["max_instances"]),
        "cost_billing": str(cur["billing"]),
    }
    return opts, start


def _controls(opts: dict[str, list[object]], start: dict[str, object], billing: object) -> None:
    """The what-if widgets; a widget already in the session state keeps its value."""
    ss = st.session_state
    c1, c2, c3, c4 = st.columns(4)
    keep = {key: ({} if key in ss else {"value": start[key]}) for key in CONTROLS}
    c1.select_slider(
        "Concurrency",
        opts["cost_concurrency"],
        key="cost_concurrency",
        **keep["cost_concurrency"],
    )
    c2.select_slider("Min instances", opts["cost_min"], key="cost_min", **keep["cost_min"])
    c3.select_slider(
        "Max instances",
        opts["cost_max"],
        key="cost_max",
        help="Above it Cloud Run refuses requests with 429: see Rejected (429) / day",
        **keep["cost_max"],
    )
    c4.radio(
        "Billing",
        opts["cost_billing"],
        horizontal=True,
        key="cost_billing",
        index=opts["cost_billing"].index(billing),
        format_func=lambda b: f"{b}-based",
    )


def pricing_options() -> None:
    """The pricing widgets; their values are read from the session state by show()."""
    ss = st.session_state
    with st.expander("Pricing options", expanded=False):
        left, right = st.columns(2)
        left.toggle(
            "Apply the monthly free tier",
            key="cost_free",
            help="The free tier is per billing account: switch it "
            "off if other services already use it.",
            **({} if "cost_free" in ss else {"value": app_data.settings().free_tier}),
        )
        right.selectbox(
            "Committed use discount",
            list(app_data.CUD_CHOICES),
            format_func=app_data.CUD_CHOICES.__getitem__,
            key="cost_cud",
        )
        left.selectbox(
            "vCPU",
            app_data.CPU_CHOICES,
            index=None,
            key="cost_cpu",
            placeholder="current",
            help="Evaluate the grid at another CPU limit",
        )
        right.selectbox(
            "Memory (GiB)",
            app_data.MEMORY_CHOICES_GIB,
            index=None,
            key="cost_mem",
            placeholder="current",
        )
        left.selectbox(
            "Prices of region",
            app_data.price_regions(),
            index=None,
            key="cost_region",
            placeholder="where it runs",
            help="The same traffic at another region's prices (latency is not modelled)",
        )


def show() -> None:
    """The page. Returns early (rather than st.stop()) where there is nothing more to show, so
    the router still draws the sidebar after it."""
    run_view = st.session_state["view"]  # the run's scope and window, resolved once
    scope = run_view.scope
    st.title("Cost & tuning")

    if not scope.service:
        st.info("Choose a service in the sidebar to see its cost and tune its settings.")
        return

    # The pricing options are drawn after the charts (in a container above them): their values
    # come from the widgets' session state, as the sidebar's do (see dashboard.py).
    options_box = st.container()
    ss = st.session_state
    asked = {
        "free_tier": bool(ss.get("cost_free", app_data.settings().free_tier)),
        "cud": ss.get("cost_cud", ""),
        "cpu": ss.get("cost_cpu"),
        "memory_gib": ss.get("cost_mem"),
        "price_region": ss.get("cost_region") or "",
        "min_schedule": str(ss.get("cost_schedule") or "").strip(),
        "schedule_tz": str(ss.get("cost_schedule_tz") or "").strip() or "UTC",
        "startup_cpu_boost": "flip" if ss.get("cost_boost") else "",
    }
    estimates(run_view, asked)
    with options_box:
        pricing_options()


def estimates(run_view: app_data.View, asked: Mapping[str, Any]) -> None:
    """Observed cost, the what-if controls and charts, the scheduled-min and boost variants,
    and the advice; ``asked``: the pricing options and variants (app_data.cost's keywords)."""
    scope = run_view.scope
    view = widgets.loaded(
        scope.service,
        lambda: app_data.cost(run_view, **asked),
        spinner="Replaying the observed traffic under other settings…",
    )
    if view is None:
        return

    widgets.quality_banner(view.quality)
    if len(view.regions) > 1:
        st.caption(f"{view.service} runs in {', '.join(view.regions)}; showing {view.region}.")

    # The observed cost sits above the what-if charts but is sent after them: the browser starts
    # loading plotly while it draws the table (bench/bench_dashboard.py, time to first chart).
    observed = st.container()
    cpu, mem = asked.get("cpu"), asked.get("memory_gib")
    if not view.cannot_estimate:
        what_if(view, cpu, mem)
        _pareto(view, cpu, mem)
        _variants(view)
    with observed:
        st.subheader(f"Observed cost over the last {view.history}")
        st.caption(
            widgets.plain(presentation.cost.observed_caption(view.totals, view.price_source))
        )
        st.dataframe(
            view.observed,
            hide_index=True,
            key="cost_observed",
            column_config=widgets.column_config(columns.MONEY_COLUMNS),
        )
        widgets.csv_button(view.observed, f"{view.service}-observed-cost.csv", "cost_observed_csv")

    if view.cannot_estimate:
        st.info(
            "Cannot estimate the monthly cost under the current or other settings because "
            f"{view.cannot_estimate}."
        )
        return
    _advice(view)


def _advice(view: app_data.CostView) -> None:
    """The advice (or why there is none), the unconfirmed rates, the grid as CSV."""
    st.subheader("Advice")
    if view.advice_withheld:
        st.info(f"No advice because {view.advice_withheld}.")
    else:
        for tip in view.advice or ["No change would save enough to recommend one."]:
            st.markdown(f"- {tip}")
    if view.unconfirmed:
        st.warning(
            "Some rates used are not confirmed by Google's pricing page: "
            + ", ".join(view.unconfirmed)
        )
    widgets.csv_button(
        view.table,
        f"{view.service}-whatif.csv",
        "cost_grid_csv",
        label="Download the what-if grid (CSV)",
    )


show()
