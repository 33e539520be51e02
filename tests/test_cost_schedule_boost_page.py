"""Scheduled min instances and startup CPU boost on the Cost page and in ``python -m costmodel
whatif`` (--min-schedule, --schedule-tz, --startup-cpu-boost): one pipeline, the same numbers,
the commands that put the schedule in place, and a schedule that cannot be carried out refused
with its reason. Their comparison with the emulator's re-simulated truth is in
tests/test_cost_accuracy.py."""

from __future__ import annotations

import os
import shlex
from datetime import datetime
from typing import Any

import pytest

from tests._pages import COST, cost_view, pinned_window, visit, window_query
from tests._whatif_cli import whatif, whatif_json

SERVICE = "checkout-api"  # min instances 1 (revision-level), max well above 2
SCHEDULE = "2@mon-fri 08:00-20:00; 0 otherwise"


def _window() -> tuple[datetime, datetime]:
    return pinned_window(2)


def _query(start: datetime, end: datetime) -> dict[str, str]:
    return window_query(SERVICE, start, end)


def _view(start: datetime, end: datetime, **asked: Any) -> Any:
    return cost_view(_query(start, end), **asked)


def test_the_page_and_the_command_line_give_the_same_variants(demo_emulator: Any) -> None:
    start, end = _window()
    page = _view(
        start, end, min_schedule=SCHEDULE, schedule_tz="Europe/Berlin", startup_cpu_boost="flip"
    )
    flip = "off" if page.variants.boost_on else "on"
    window = ("--start", start.isoformat(), "--end", end.isoformat())
    cli = whatif_json(
        SERVICE,
        *window,
        "--min-schedule",
        SCHEDULE,
        "--schedule-tz",
        "Europe/Berlin",
        "--startup-cpu-boost",
        flip,
        env=os.environ,
    )
    got = {v["variant"]: v for v in cli["variants"]}
    assert list(got) == list(page.variants.table["variant"])
    assert next(iter(got)) == "current"
    assert any(name.startswith("scheduled: min 2 mon-fri 08:00-20:00, 0 otherwise") for name in got)
    assert f"startup CPU boost {flip}" in got
    for _, row in page.variants.table.iterrows():
        mine = got[row["variant"]]
        for col in ("monthly_cost", "cold_starts_per_day", "rejected_per_day", "startup_s"):
            assert mine[col] == pytest.approx(float(row[col]), rel=1e-9, nan_ok=True), col
    # "current" is the grid's current row: one number for one thing
    assert got["current"]["monthly_cost"] == pytest.approx(
        cli["current"]["monthly_cost"], rel=1e-12
    )
    # the same commands, naming the service's project and region
    assert cli["schedule_commands"] == list(page.variants.schedule_commands)
    jobs = [shlex.split(c) for c in cli["schedule_commands"] if c.startswith("gcloud scheduler")]
    assert len(jobs) == 2
    assert all(f"--location={page.region}" in argv for argv in jobs)


def test_the_schedule_costs_between_its_floors_and_boost_changes_startup(
    demo_emulator: Any,
) -> None:
    start, end = _window()
    page = _view(start, end, min_schedule=SCHEDULE, startup_cpu_boost="flip")
    v = page.variants.table.set_index("variant")
    scheduled = v.loc[next(n for n in v.index if n.startswith("scheduled:"))]
    low, high = v.loc["min 0 all the time"], v.loc["min 2 all the time"]
    assert low["monthly_cost"] < scheduled["monthly_cost"] < high["monthly_cost"]
    boosted = v.loc[next(n for n in v.index if n.startswith("startup CPU boost"))]
    current = v.loc["current"]
    ratio = boosted["startup_s"] / current["startup_s"]
    assert ratio == pytest.approx(0.6 if not page.variants.boost_on else 1 / 0.6, rel=1e-9)


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        ("2@mon-fri 8-20", "is not a window"),
        ("2@mon-fri 08:00-20:00; 1@fri 19:00-21:00", "overlap on fri at 19:00"),
        ("5000@daily 00:00-24:00", "at most 1000 min instances"),
        ("200@daily 00:00-24:00", "would exceed max instances"),
    ],
)
def test_a_schedule_that_cannot_be_carried_out_is_refused(
    demo_emulator: Any, schedule: str, words: str
) -> None:
    done = whatif(SERVICE, "--min-schedule", schedule, env=os.environ)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr
    assert "Traceback" not in done.stderr


def test_the_cost_page_shows_the_schedule_and_its_commands(demo_emulator: Any) -> None:
    start, end = _window()
    at = visit(COST, _query(start, end))
    assert not at.exception
    assert not [d for d in at.dataframe if "vs_current" in d.value.columns]  # nothing asked yet
    at.text_input(key="cost_schedule").set_value(SCHEDULE).run()
    assert not at.exception
    table = next(d for d in at.dataframe if "vs_current" in d.value.columns).value
    assert table["variant"].iloc[0] == "current"
    assert table["variant"].str.startswith("scheduled: min 2 mon-fri").any()
    code = "\n".join(c.value for c in at.code)
    assert "gcloud scheduler jobs create http" in code
    assert "updateMask=scaling.minInstanceCount" in code
    # a schedule that cannot be carried out: the reason, the rest of the page still there
    at.text_input(key="cost_schedule").set_value("2@mon-fri 08:00-20:00; 1@fri 19:00-21:00").run()
    assert not at.exception
    warned = [w.value for w in at.warning]
    assert any("This schedule cannot be carried out" in w and "overlap" in w for w in warned)
    assert at.select_slider(key="cost_concurrency")  # the what-if is still shown
    # the boost switched: its row and the assumption said
    at.text_input(key="cost_schedule").set_value("").run()
    at.toggle(key="cost_boost").set_value(True).run()
    assert not at.exception
    table = next(d for d in at.dataframe if "vs_current" in d.value.columns).value
    assert table["variant"].str.startswith("startup CPU boost").any()
    assert any("unconfirmed" in c.value for c in at.caption)


def test_the_boost_assumption_is_a_setting(demo_emulator: Any) -> None:
    start, end = _window()
    window = ("--start", start.isoformat(), "--end", end.isoformat())
    env = {**os.environ, "RUNWATCH_BOOST_STARTUP_PERCENT": "50"}
    cli = whatif_json(SERVICE, *window, "--startup-cpu-boost", "on", env=env)
    got = {v["variant"]: v for v in cli["variants"]}
    current, boosted = got["current"], got["startup CPU boost on"]
    assert boosted["startup_s"] / current["startup_s"] == pytest.approx(0.5, rel=1e-9)
    # checkout-api's revisions have no boost: the grid's figures use no boost assumption (the
    # variant's is said beside it)
    assert not any("startup CPU boost" in r for r in cli["unconfirmed_rates"])
    bad = whatif(SERVICE, env={**os.environ, "RUNWATCH_BOOST_STARTUP_PERCENT": "5"})
    assert bad.returncode == 2
    assert "RUNWATCH_BOOST_STARTUP_PERCENT=5 is out of range" in bad.stderr


def test_a_boosted_service_says_its_cost_uses_the_boost_assumption(demo_emulator: Any) -> None:
    start, end = _window()
    window = ("--start", start.isoformat(), "--end", end.isoformat())
    cli = whatif_json("web-frontend", *window, env=os.environ)  # its revisions have the boost
    assert any("startup CPU boost" in r for r in cli["unconfirmed_rates"])
