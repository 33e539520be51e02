"""The dashboard's global scope and its URL form (deep links).

Pure: no streamlit. URL query parameters are user input: every value is validated with
foundation.names, and anything invalid is dropped with a plain-words warning rather than reaching
a filter. ``to_query`` and ``from_query`` round-trip a valid scope.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from foundation import names
from foundation.window import PRESETS, InvalidWindow, TimeWindow

# The sidebar widgets' keys in the session state, by scope field (a page that changes the scope,
# e.g. the overview opening a service, sets the widget's value before the sidebar is drawn).
WIDGET_KEYS = {
    "project": "scope_project",
    "window": "scope_window",
    "regions": "scope_regions",
    "service": "scope_service",
    "start": "scope_start",
    "end": "scope_end",
}
CUSTOM = "custom"
MAX_CUSTOM = timedelta(days=30)
MIN_CUSTOM = timedelta(minutes=1)  # the finest points Monitoring aligns to
# No Cloud Run metric or log is older (Cloud Monitoring's predecessor started in 2006); a start
# before it is a typo or a probe, and year-1 times would reach the API filters.
EARLIEST = datetime(2006, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(minutes=5)


ALL_PROJECTS = ""  # Scope.project when the view covers every watched project


@dataclass(frozen=True)
class Scope:
    project: str  # one watched project, or ALL_PROJECTS (only when several are watched)
    window: str = "24h"  # one of foundation.window.PRESETS or CUSTOM
    regions: tuple[str, ...] = ()  # empty: every region
    service: str = ""  # empty: every service
    revisions: tuple[str, ...] = ()  # revisions page selection; empty: those with traffic
    start: datetime | None = None  # custom window only, UTC
    end: datetime | None = None
    extra: Mapping[str, str] = field(default_factory=dict)  # page-specific validated params

    def with_service(self, service: str) -> Scope:
        return replace(self, service=names.service(service) if service else "", revisions=())


@dataclass(frozen=True)
class View:
    """One script run's scope with its time window, resolved once (app_data.resolve) from one
    reading of the clock (``at``): every table, total and chart of the run uses this window.
    Hashable; a loader's cache key is its scope and window (``at`` is left out)."""

    scope: Scope
    window: TimeWindow
    at: datetime  # the clock reading the window was resolved from

    @property
    def key(self) -> tuple[object, ...]:
        s = self.scope
        return (s.project, s.regions, s.service, s.window, self.window)


def _first(value: str | Sequence[str] | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return value[0] if value else ""


def _parse_time(raw: str) -> datetime:
    t = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError("no timezone")
    return t


def _custom_range(
    params: Mapping[str, str | Sequence[str]], now: datetime
) -> tuple[datetime | None, datetime | None, str]:
    """The link's custom start and end and "", or None, None and why they cannot be queried.

    A range TimeWindow would refuse later, outside any handler, is refused here instead."""
    try:
        start = _parse_time(_first(params.get("start")))
        end = _parse_time(_first(params.get("end")))
    except ValueError:
        return None, None, "start and end must be ISO 8601 times with a timezone"
    if not start < end:
        return None, None, "the start must be before the end"
    if end - start > MAX_CUSTOM:
        return None, None, "it may span at most 30 days"
    if end - start < MIN_CUSTOM:
        return None, None, "it must span at least a minute"
    if start < EARLIEST:
        return None, None, f"it may not start before {EARLIEST:%Y}"
    if end > now + FUTURE_SLACK:
        return None, None, "it may not end in the future"
    try:
        TimeWindow.custom(start, end)
    except InvalidWindow:
        return None, None, "it covers no whole minute"
    return start, end, ""


def from_query(
    params: Mapping[str, str | Sequence[str]],
    *,
    projects: Sequence[str],
    default_window: str,
    now: datetime,
) -> tuple[Scope, list[str]]:
    """Build a Scope from URL query parameters; return it with warnings for what was dropped."""
    warnings: list[str] = []
    # several watched projects: the default is all of them; one: that one
    default = ALL_PROJECTS if len(projects) > 1 else (projects[0] if projects else "")
    project = _first(params.get("project"))
    if project and project not in projects:
        shown = "all watched projects" if default == ALL_PROJECTS else default
        warnings.append(f"Project {project[:40]!r} is not watched here; showing {shown}.")
    if project not in projects:
        project = default

    window = _first(params.get("window")) or default_window
    start = end = None
    if window == CUSTOM:
        start, end, problem = _custom_range(params, now)
        if problem:
            warnings.append(
                f"The custom time range in the link is not valid ({problem}); showing the last "
                f"{default_window}."
            )
            window, start, end = default_window, None, None
    elif window not in PRESETS:
        warnings.append(f"Unknown time window {window[:20]!r}; showing the last {default_window}.")
        window = default_window

    def valid(kind: str, raw: str, check: object) -> str | None:
        try:
            return check(raw)  # type: ignore[operator, no-any-return]
        except names.InvalidName:
            warnings.append(f"Ignored {kind} {raw[:60]!r} from the link: not a valid name.")
            return None

    regions = tuple(
        r
        for raw in _first(params.get("region")).split(",")
        if raw and (r := valid("region", raw, names.region))
    )
    service = _first(params.get("service"))
    service = (valid("service", service, names.service) or "") if service else ""
    revisions = tuple(
        r
        for raw in _first(params.get("rev")).split(",")
        if raw and (r := valid("revision", raw, names.revision))
    )
    scope = Scope(
        project=project,
        window=window,
        regions=tuple(dict.fromkeys(regions)),
        service=service,
        revisions=tuple(dict.fromkeys(revisions)),
        start=start,
        end=end,
    )
    return scope, warnings


def to_query(scope: Scope) -> dict[str, str]:
    """The URL query parameters that reproduce this scope (empty values left out)."""
    q = {"project": scope.project} if scope.project else {}
    q["window"] = scope.window
    if scope.regions:
        q["region"] = ",".join(scope.regions)
    if scope.service:
        q["service"] = scope.service
    if scope.revisions:
        q["rev"] = ",".join(scope.revisions)
    if scope.window == CUSTOM and scope.start and scope.end:
        q["start"] = scope.start.isoformat()
        q["end"] = scope.end.isoformat()
    return q
