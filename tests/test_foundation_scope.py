"""Deep links are input: scope.from_query validates every value and round-trips to_query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

import scope
from foundation import names

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PROJECTS = ("runwatch-demo",)


def parse(params: dict[str, str]) -> tuple[scope.Scope, list[str]]:
    return scope.from_query(params, projects=PROJECTS, default_window="24h", now=NOW)


def test_round_trip_of_a_full_scope() -> None:
    s = scope.Scope(
        project="runwatch-demo",
        window="custom",
        regions=("europe-west1", "asia-southeast1"),
        service="checkout-api",
        revisions=("checkout-api-00012-abc", "checkout-api-00011-xyz"),
        start=NOW - timedelta(hours=3),
        end=NOW - timedelta(hours=1),
    )
    back, warnings = parse(scope.to_query(s))
    assert warnings == []
    assert back == s


def test_invalid_values_are_dropped_with_warnings() -> None:
    s, warnings = parse(
        {
            "project": "someone-elses",
            "window": "2w",
            "service": 'a" OR resource.type="x',
            "region": "europe-west1,../etc",
            "rev": "ok-rev-1,BAD REV",
        }
    )
    assert s.project == "runwatch-demo"
    assert s.window == "24h"
    assert s.service == ""
    assert s.regions == ("europe-west1",)
    assert s.revisions == ("ok-rev-1",)
    assert len(warnings) == 5


def test_custom_window_must_be_ordered_and_bounded() -> None:
    too_long = {"window": "custom", "start": "2026-10-01T00:00:00+00:00", "end": NOW.isoformat()}
    s, warnings = parse(too_long)
    assert s.window == "24h"
    assert s.start is None
    assert warnings
    naive = {"window": "custom", "start": "2026-11-28T01:00:00", "end": "2026-11-28T02:00:00"}
    assert parse(naive)[0].window == "24h"


@given(
    st.dictionaries(
        st.sampled_from(["project", "window", "service", "region", "rev", "start", "end"]),
        st.text(max_size=80),
    )
)
def test_no_input_yields_an_invalid_name(params: dict[str, str]) -> None:
    s, _ = parse(params)
    assert s.project in PROJECTS
    assert s.window in (*scope.PRESETS, scope.CUSTOM)
    if s.service:
        names.service(s.service)
    for r in s.regions:
        names.region(r)
    for r in s.revisions:
        names.revision(r)


def test_several_projects_default_to_all_of_them() -> None:
    watched = ("team-a-prod", "team-b-prod", "team-c-prod")
    every, warnings = scope.from_query({}, projects=watched, default_window="24h", now=NOW)
    assert every.project == scope.ALL_PROJECTS
    assert warnings == []
    assert "project" not in scope.to_query(every)
    one, _ = scope.from_query(
        {"project": "team-b-prod"}, projects=watched, default_window="24h", now=NOW
    )
    assert one.project == "team-b-prod"
    assert (
        scope.from_query(scope.to_query(one), projects=watched, default_window="24h", now=NOW)[0]
        == one
    )
    other, warnings = scope.from_query(
        {"project": "not-ours"}, projects=watched, default_window="24h", now=NOW
    )
    assert other.project == scope.ALL_PROJECTS
    assert warnings == ["Project 'not-ours' is not watched here; showing all watched projects."]
