"""runwatch: the router. Page config, the global scope in the sidebar, st.navigation.

The scope (project, regions, service, window, revisions) lives in the URL query parameters, so
a link reproduces the view and a reconnect redraws it. Every parameter is validated by
app_data.scope_from_query before anything uses it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

import app_data

st.set_page_config(page_title="runwatch", page_icon="📈", layout="wide")

PAGES = [
    st.Page("app_pages/overview.py", title="Overview", icon="🗺️", default=True),  # served at /
    st.Page("app_pages/revisions.py", title="Revisions", icon="🔀", url_path="revisions"),
    st.Page("app_pages/cold_starts.py", title="Cold starts", icon="🧊", url_path="cold-starts"),
    st.Page("app_pages/cost.py", title="Cost & tuning", icon="💲", url_path="cost"),
]
WINDOW_LABELS = {
    "1h": "1 hour",
    "6h": "6 hours",
    "24h": "24 hours",
    "7d": "7 days",
    "30d": "30 days",
    "custom": "custom",
}


def sidebar() -> None:
    if app_data.CONFIG_ERROR:
        st.error(f"Configuration problem: {app_data.CONFIG_ERROR}. Using the defaults instead.")
    src = app_data.source()
    with st.sidebar:
        st.markdown(
            f"### runwatch  \n:{'orange' if src.label == 'Demo' else 'green'}-badge"
            f"[{src.label}] {src.detail}"
        )
        scope, warnings = app_data.scope_from_query(st.query_params.to_dict())
        for w in warnings:
            st.warning(w, icon="⚠️")
        project = st.selectbox(
            "Project", src.projects, index=src.projects.index(scope.project), key="scope_project"
        )
        window = st.selectbox(
            "Time window",
            list(WINDOW_LABELS),
            index=list(WINDOW_LABELS).index(scope.window),
            format_func=WINDOW_LABELS.__getitem__,
            key="scope_window",
        )
        start, end = scope.start, scope.end
        if window == "custom":
            start, end = custom_range(scope)
        try:
            with st.spinner("Loading services, metrics and logs…"):
                services = app_data.service_list(scope)
        except app_data.DataError:
            services = None  # the page shows the error in plain words
        region_options = sorted(set(services["location"])) if services is not None else []
        regions = st.multiselect(
            "Regions",
            region_options,
            default=[r for r in scope.regions if r in region_options],
            placeholder="All regions",
            key="scope_regions",
        )
        svc_options = [""] + (sorted(set(services["service"])) if services is not None else [])
        current = scope.service if scope.service in svc_options else ""
        service = st.selectbox(
            "Service",
            svc_options,
            index=svc_options.index(current),
            format_func=lambda s: s or "All services",
            key="scope_service",
        )
        new = app_data.rescope(
            scope,
            project=project,
            window=window,
            regions=tuple(regions),
            service=service,
            start=start,
            end=end,
        )
        if new != scope:
            st.query_params.from_dict(app_data.to_query(new))
        st.caption(app_data.window_label(new))
        st.session_state["scope"] = new


def custom_range(scope: app_data.Scope) -> tuple[datetime, datetime]:
    """Start and end pickers (UTC) for a custom window, defaulting to the last 24 hours."""
    end_default = scope.end or app_data.now()
    start_default = scope.start or end_default - timedelta(hours=24)
    naive = {"start": start_default.replace(tzinfo=None), "end": end_default.replace(tzinfo=None)}
    start = st.datetime_input("From (UTC)", naive["start"], key="scope_start", step=300)
    end = st.datetime_input("To (UTC)", naive["end"], key="scope_end", step=300)
    return start.replace(tzinfo=UTC), end.replace(tzinfo=UTC)


sidebar()
st.navigation(PAGES).run()
