"""config.py: one frozen Settings from the environment; bad values name the variable."""

from __future__ import annotations

import dataclasses

import pytest

import config


def test_defaults_are_demo_mode() -> None:
    s = config.load({})
    assert s.source == "demo"
    assert s.is_demo
    assert s.watched_projects == ("runwatch-demo",)
    assert s.default_window == "24h"
    assert s.demo_days == 7
    assert s.free_tier is True
    assert s.log_calls_per_minute < 60  # under Google's entries.list quota


def test_project_switches_to_gcp_and_lists_are_parsed() -> None:
    s = config.load(
        {
            "RUNWATCH_PROJECTS": " prod-app-123 , staging-app-9,prod-app-123",
            "RUNWATCH_REGIONS": "europe-west1",
        }
    )
    assert s.source == "gcp"
    assert s.projects == ("prod-app-123", "staging-app-9")  # de-duplicated, order kept
    assert s.watched_projects == s.projects
    assert s.regions == ("europe-west1",)


def test_settings_are_frozen() -> None:
    s = config.load({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.source = "gcp"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"RUNWATCH_SOURCE": "prod"}, "RUNWATCH_SOURCE"),
        ({"RUNWATCH_PROJECTS": 'bad"project'}, "RUNWATCH_PROJECTS"),
        ({"RUNWATCH_REGIONS": "europe west1"}, "RUNWATCH_REGIONS"),
        ({"RUNWATCH_DEMO_DAYS": "31"}, "RUNWATCH_DEMO_DAYS"),
        ({"RUNWATCH_DEMO_DAYS": "seven"}, "RUNWATCH_DEMO_DAYS"),
        ({"RUNWATCH_DEFAULT_WINDOW": "2w"}, "RUNWATCH_DEFAULT_WINDOW"),
        ({"RUNWATCH_FREE_TIER": "maybe"}, "RUNWATCH_FREE_TIER"),
        ({"RUNWATCH_EMULATOR_ADDRESS": "localhost"}, "RUNWATCH_EMULATOR_ADDRESS"),
        ({"RUNWATCH_EMULATOR_ADDRESS": "localhost:99999"}, "RUNWATCH_EMULATOR_ADDRESS"),
        ({"RUNWATCH_DEMO_PROJECT": "X"}, "RUNWATCH_DEMO_PROJECT"),
        ({"RUNWATCH_CACHE_TTL_S": "59"}, "RUNWATCH_CACHE_TTL_S"),
        ({"RUNWATCH_DEMO_SERVICES": "5001"}, "RUNWATCH_DEMO_SERVICES"),
        ({"RUNWATCH_DEMO_SERVICES": "many"}, "RUNWATCH_DEMO_SERVICES"),
        ({"RUNWATCH_DEMO_PROJECTS": "ok-project,Bad_Project"}, "RUNWATCH_DEMO_PROJECTS"),
        ({"RUNWATCH_METRICS_SCOPE_PROJECT": "a b"}, "RUNWATCH_METRICS_SCOPE_PROJECT"),
    ],
)
def test_invalid_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(config.ConfigError) as err:
        config.load(env)
    assert variable in str(err.value)


def test_every_settings_field_has_a_table_row() -> None:
    table_fields = {v.name.removeprefix("RUNWATCH_").lower() for v in config.SETTINGS_TABLE}
    fields = {f.name for f in dataclasses.fields(config.Settings)}
    # "projects" -> RUNWATCH_PROJECTS etc.; every field is driven by exactly one variable
    assert fields == table_fields


def test_gcp_without_projects_takes_the_discovered_project_or_says_what_to_set() -> None:
    s = config.load({"RUNWATCH_SOURCE": "gcp"})
    assert s.source == "gcp"
    assert s.projects == ()
    assert config.with_discovered_project(s, "prod-app-123").watched_projects == ("prod-app-123",)
    with pytest.raises(config.ConfigError) as err:
        config.with_discovered_project(s, None)
    assert "RUNWATCH_PROJECTS" in str(err.value)
    demo = config.load({})
    assert config.with_discovered_project(demo, None) is demo


def test_a_demo_fleet_over_several_projects_is_watched_whole() -> None:
    s = config.load(
        {"RUNWATCH_DEMO_SERVICES": "120", "RUNWATCH_DEMO_PROJECTS": "demo-a, demo-b,demo-a"}
    )
    assert s.demo_services == 120
    assert s.watched_projects == ("demo-a", "demo-b")
    plain = config.load({})
    assert plain.demo_services is None
    assert plain.watched_projects == ("runwatch-demo",)
    live = config.load({"RUNWATCH_PROJECTS": "prod-one", "RUNWATCH_DEMO_PROJECTS": "demo-a"})
    assert live.watched_projects == ("prod-one",)  # demo settings do not touch live mode
