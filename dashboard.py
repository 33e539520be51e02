"""runwatch: the router. Page config, the global scope in the sidebar, st.navigation.

The scope (project, regions, service, window, revisions) lives in the URL query parameters, so
a link reproduces the view and a reconnect redraws it. Every parameter is validated by
app_data.scope_from_query before anything uses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import streamlit as st

import app_data
import widgets

st.set_page_config(page_title="runwatch", page_icon="📈", layout="wide")

PAGES = [
    st.Page("app_pages/overview.py", title="Overview", icon="🗺️", default=True),  # served at /
    st.Page("app_pages/revisions.py", title="Revisions", icon="🔀", url_path="revisions"),
    st.Page("app_pages/cold_starts.py", title="Cold starts", icon="🧊", url_path="cold-starts"),
    st.Page("app_pages/cost.py", title="Cost & tuning", icon="💲", url_path="cost"),
]
WINDOW_LABELS = app_data.WINDOW_LABELS


# The sidebar widgets' keys (app_data.WIDGET_KEYS); a key present in st.session_state holds the
# user's latest choice.
WIDGET_KEYS = app_data.WIDGET_KEYS


def _choice(key: str, options: Sequence[Any], fallback: Any) -> Any:
    """The user's choice for a sidebar widget if it is still an option, else ``fallback``.

    Runs before the widget exists in this run, so a stale choice can still be dropped here.
    """
    if key not in st.session_state:
        return fallback
    if st.session_state[key] in options:
        return st.session_state[key]
    del st.session_state[key]
    return fallback


def project_options(watched: Sequence[str]) -> list[str]:
    """The project choices: every watched project, and "" (all of them) when several."""
    return ["", *watched] if len(watched) > 1 else list(watched)


Options = tuple[list[str], list[str]]  # the sidebar's region and service choices


def listed_options(view: app_data.View) -> tuple[Any, list[str], list[str]]:
    """The Admin API's listing of the view's services (None when it failed: the page says
    why) and the sidebar's region and service choices from it. The view's own regions and
    service stay choices when the listing failed or lacks them: the page then says what it
    could not read, rather than the link silently losing its service."""
    try:
        with st.spinner("Listing the services (Cloud Run Admin API)…"):
            services = app_data.service_list(view)
        region_options = sorted(set(services["location"]))
        svc_options = ["", *sorted(set(services["service"]))]
    except app_data.DataError:
        services = None
        region_options, svc_options = [], [""]
    region_options = sorted({*region_options, *view.scope.regions})
    if view.scope.service and view.scope.service not in svc_options:
        svc_options = [*svc_options, view.scope.service]
    return services, region_options, svc_options


def resolve_view() -> tuple[app_data.View, list[str], Options | None]:
    """This run's view: the link's scope, with the sidebar choices the user made applied, and
    its time window, from one reading of the clock.

    Returns the view, the link's warnings and, when this run read the listing of services, the
    sidebar's region and service choices (None: the sidebar reads them after the page). The page
    runs before the sidebar is drawn (the browser gets the page's charts first), so the choices
    are read from the widgets' session state rather than from their return values. A session's
    first run (a link opened) has no choices to check against the listing, so the listing is
    read after the page: a service's page then waits for no call about the rest of the fleet
    (the service's project, when the link names none, comes from Monitoring for that service).
    """
    src = app_data.source()
    at = app_data.now()  # the run's one clock reading
    query, warnings = app_data.scope_from_query(st.query_params.to_dict(), at)
    project = _choice(WIDGET_KEYS["project"], project_options(src.projects), query.project)
    window = _choice(WIDGET_KEYS["window"], list(WINDOW_LABELS), query.window)
    start, end = query.start, query.end
    if window == "custom":
        start, end = custom_range(query, draw=False)
    scope = app_data.rescope(query, at, project=project, window=window, start=start, end=end)
    chosen_before = any(key in st.session_state for key in WIDGET_KEYS.values())
    if chosen_before:  # the user's choices are checked against the services listed
        services, region_options, svc_options = listed_options(app_data.resolve(scope, at))
    else:  # a link's first run: its choices stand (validated as names by scope_from_query)
        services, region_options = None, list(query.regions)
        svc_options = ["", query.service] if query.service else [""]
    chosen = st.session_state.get(WIDGET_KEYS["regions"], scope.regions)
    regions = [r for r in chosen if r in region_options]
    if WIDGET_KEYS["regions"] in st.session_state:
        st.session_state[WIDGET_KEYS["regions"]] = regions
    current = scope.service if scope.service in svc_options else ""
    service = _choice(WIDGET_KEYS["service"], svc_options, current)
    if service and not scope.project:  # its pages need its project
        if services is not None:
            owners = services.loc[services["service"] == service, "project_id"]
            owner = str(owners.iloc[0]) if len(owners) else ""
        else:
            owner = app_data.service_project(app_data.resolve(scope, at), service)
        scope = app_data.rescope(scope, at, project=owner)
    new = app_data.rescope(scope, at, regions=tuple(regions), service=service)
    if new != query:
        st.query_params.from_dict(app_data.to_query(new))
    options = (region_options, svc_options) if chosen_before else None
    return app_data.resolve(new, at), warnings, options


def sidebar(view: app_data.View, warnings: list[str], options: Options | None) -> None:
    """The scope widgets, drawn after the page. Each keeps its value in st.session_state under
    WIDGET_KEYS; the value resolve_view chose is the widget's starting value. ``options``: the
    region and service choices, when resolve_view read them (else the listing is read here)."""
    scope = view.scope
    if options is None:
        _, region_options, svc_options = listed_options(view)
    else:
        region_options, svc_options = options
    if app_data.configured().problem:
        problem = widgets.plain(app_data.configured().problem)
        st.error(f"Configuration problem: {problem}. Using the defaults instead.")
    src = app_data.source()

    def start_at(key: str, options: Sequence[Any], value: Any) -> dict[str, int]:
        # A widget whose key is in session state takes its value from there.
        return {} if key in st.session_state else {"index": list(options).index(value)}

    with st.sidebar:
        st.markdown(
            f"### runwatch  \n:{'orange' if src.label == 'Demo' else 'green'}-badge"
            f"[{src.label}] {widgets.plain(src.detail)}"
        )
        for w in warnings:
            st.warning(widgets.plain(w), icon="⚠️")
        projects = project_options(src.projects)
        st.selectbox(
            "Project",
            projects,
            format_func=lambda p: p or f"All projects ({len(src.projects)})",
            key=WIDGET_KEYS["project"],
            **start_at(WIDGET_KEYS["project"], projects, scope.project),
        )
        st.selectbox(
            "Time window",
            list(WINDOW_LABELS),
            format_func=WINDOW_LABELS.__getitem__,
            key=WIDGET_KEYS["window"],
            **start_at(WIDGET_KEYS["window"], list(WINDOW_LABELS), scope.window),
        )
        if scope.window == "custom":
            custom_range(scope, draw=True)
        st.multiselect(
            "Regions",
            region_options,
            default=None if WIDGET_KEYS["regions"] in st.session_state else list(scope.regions),
            placeholder="All regions",
            key=WIDGET_KEYS["regions"],
        )
        st.selectbox(
            "Service",
            svc_options,
            format_func=lambda s: s or "All services",
            key=WIDGET_KEYS["service"],
            **start_at(WIDGET_KEYS["service"], svc_options, scope.service),
        )
        st.caption(app_data.window_label(view))


def custom_range(scope: app_data.Scope, *, draw: bool) -> tuple[datetime, datetime]:
    """Start and end (UTC) of a custom window: the pickers' values, else the scope's, else the
    last 24 hours. With ``draw``, the two pickers are drawn."""
    end_default = scope.end or app_data.now()
    start_default = scope.start or end_default - timedelta(hours=24)
    naive = {"start": start_default.replace(tzinfo=None), "end": end_default.replace(tzinfo=None)}
    picked = {}
    for name, label in (("start", "From (UTC)"), ("end", "To (UTC)")):
        key = WIDGET_KEYS[name]
        if draw:
            default = None if key in st.session_state else naive[name]
            picked[name] = st.datetime_input(label, default, key=key, step=300)
        else:
            picked[name] = st.session_state.get(key) or naive[name]
    return picked["start"].replace(tzinfo=UTC), picked["end"].replace(tzinfo=UTC)


def stopped_by_config() -> None:
    """Every page when the environment asked for live data but a setting is invalid: the
    problem, naming the variable, and no data (never the demo fleet in its place)."""
    st.navigation(PAGES)  # every page's link still resolves, to this message
    st.title("runwatch")
    st.error(
        f"Configuration problem: {widgets.plain(app_data.configured().problem)}. No data is shown "
        "until the setting is fixed and the dashboard restarted."
    )


if app_data.configured().stops:  # settings are read once per process, on the first run
    stopped_by_config()
    st.stop()
view, warnings, options = resolve_view()
st.session_state["view"] = view  # what every page of this run reads
try:
    st.navigation(PAGES).run()
finally:  # also when the page failed: the scope stays changeable
    sidebar(view, warnings, options)
app_data.freeze_heap_once()
