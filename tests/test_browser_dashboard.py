"""The dashboard in a real browser: Debian's Chromium driven by Playwright against `make demo`.

One server for the module, started as `make demo` starts it (2 days of simulated history to keep
it quick). Every page is opened by URL, read as a user reads it (text, charts, table cells) and
saved as a full-page screenshot in artifacts/screenshots/. Errors are looked for both on the page
and in the server log, since the browser only gets a generic notice (client.showErrorDetails).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

import harness
from tests._browser_helpers import needs_chromium

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]

PAGES = harness.PAGES
# The revisions page shows a regressed canary in an st.error box on purpose.
EXPECTED_ALERTS = ("Canary verdict",)
DEEP_LINK = "/revisions?service=checkout-api&window=6h"
NUMBER = re.compile(r"\d")


@dataclass
class FirstVisit:
    """What a deep link opened as the very first visit of a freshly started server showed."""

    errors: list[str]
    server_errors: list[str]
    charts: int
    screenshot: str


@dataclass
class Dashboard:
    served: harness.Served
    browser: Any  # playwright BrowserContext
    first_visit: FirstVisit


@pytest.fixture(scope="module")
def dashboard() -> Iterator[Dashboard]:
    env = harness.server_env(os.environ, {"RUNWATCH_SOURCE": "demo", "RUNWATCH_DEMO_DAYS": "2"})
    with harness.serve("dashboard.py", env) as served, harness.chromium() as browser:
        page = browser.new_page()
        # A bookmark opened right after a restart: the first run of the server's life.
        harness.open_page(page, served.url(DEEP_LINK), charts=False)
        first = FirstVisit(
            errors=harness.error_texts(page, EXPECTED_ALERTS),
            server_errors=harness.server_errors(served, 0),
            charts=page.locator(harness.CHART).count(),
            screenshot=str(harness.screenshot(page, "first-visit-deep-link")),
        )
        # Warm the caches (the simulated fleet is built on the first load) from the root URL.
        harness.open_page(page, served.url("/"))
        page.close()
        yield Dashboard(served, browser, first)


@pytest.fixture
def page(dashboard: Dashboard) -> Iterator[Any]:
    p = dashboard.browser.new_page()
    p.set_default_timeout(60_000)
    try:
        yield p
    finally:
        p.close()


def assert_clean(page: Any, dashboard: Dashboard, log_mark: int, shot: str) -> None:
    errors = harness.error_texts(page, EXPECTED_ALERTS) + harness.server_errors(
        dashboard.served, log_mark
    )
    assert not errors, f"errors shown (screenshot {shot}):\n" + "\n\n".join(errors)


def metric_values(page: Any) -> list[str]:
    values: list[str] = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    return values


def test_deep_link_works_as_first_visit(dashboard: Dashboard) -> None:
    first = dashboard.first_visit
    problems = first.errors + first.server_errors
    assert not problems, (
        f"opening {DEEP_LINK} as the first visit after the server started failed "
        f"(screenshot {first.screenshot}):\n" + "\n\n".join(problems)
    )
    assert first.charts > 0, f"no chart on the first visit (screenshot {first.screenshot})"


@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_charts_and_numbers(dashboard: Dashboard, page: Any, name: str) -> None:
    mark = dashboard.served.log_size()
    harness.open_page(page, dashboard.served.url(PAGES[name]))
    shot = str(harness.screenshot(page, name))
    assert_clean(page, dashboard, mark, shot)
    charts = page.locator(harness.CHART)
    assert charts.count() > 0, f"no chart on {name} (screenshot {shot})"
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box, f"chart {i} on {name} has no box"
        assert min(box["width"], box["height"]) > 100, f"chart {i} on {name} is empty"
        # every chart carries its unit on an axis title (plotly draws it as SVG text)
        assert charts.nth(i).locator(".g-ytitle, .g-xtitle").count() > 0, (
            f"chart {i} on {name} has no axis title (screenshot {shot})"
        )
    cells = page.evaluate(
        "() => Array.from(document.querySelectorAll('[data-testid=\"stDataFrame\"] td'))"
        ".map(td => td.textContent)"
    )
    numbers = [v for v in metric_values(page) + cells if NUMBER.search(v)]
    assert numbers, f"no figure (metric or table cell with a number) on {name} (screenshot {shot})"


def test_pick_revisions(dashboard: Dashboard, page: Any) -> None:
    mark = dashboard.served.log_size()
    harness.open_page(page, dashboard.served.url(PAGES["revisions"]))
    picker = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Revisions to compare")
    tags = picker.locator('[data-testid="stMultiSelectTagsContainer"] [data-tag]')
    before = [t.get_attribute("aria-label") for t in tags.all()]
    assert len(before) >= 2, f"expected the revisions with traffic preselected, got {before}"
    assert len(page.get_by_text("p99", exact=True).all()) == len(before), "one card per revision"

    picker.locator("input").click()
    options = page.get_by_role("option")
    options.first.wait_for(state="visible")
    added = options.first.inner_text().strip()
    assert added not in before
    options.first.click()
    page.keyboard.press("Escape")
    harness.settle(page)
    after = [t.get_attribute("aria-label") for t in tags.all()]
    assert after == [*before, added]
    assert len(page.get_by_text("p99", exact=True).all()) == len(after), "a card was not added"
    assert added in page.url, f"the URL does not carry the picked revision: {page.url}"
    harness.screenshot(page, "revisions-picked")

    # remove the stable revision: one card fewer
    picker.get_by_role("button", name=f"Remove {before[0]}").click()
    harness.settle(page)
    remaining = [t.get_attribute("aria-label") for t in tags.all()]
    assert remaining == after[1:]
    assert len(page.get_by_text("p99", exact=True).all()) == len(remaining)
    assert page.locator(harness.CHART).count() > 0
    assert_clean(page, dashboard, mark, "artifacts/screenshots/revisions-picked.png")


UTILIZATION_PANELS = {  # panel title -> its subplot (the panels' order on the revisions page)
    "Instances: active (solid) / idle (dash)": "x3y3",
    "CPU utilization p50 (solid) / p99 (dash)": "x5y5",
    "Memory utilization p50 (solid) / p99 (dash)": "x6y6",
    "Max concurrent requests per instance p50 (solid) / p99 (dash)": "x7y7",
}


def test_revisions_chart_cpu_and_memory_utilization(dashboard: Dashboard, page: Any) -> None:
    mark = dashboard.served.log_size()
    harness.open_page(page, dashboard.served.url("/revisions?service=checkout-api&window=24h"))
    shot = str(harness.screenshot(page, "revisions-utilization"))
    assert_clean(page, dashboard, mark, shot)
    chart = page.locator(harness.CHART).first
    titles = chart.locator(".annotation-text").evaluate_all("els => els.map(e => e.textContent)")
    assert "no data in this window" not in titles, f"an empty panel (screenshot {shot})"
    for title, subplot in UTILIZATION_PANELS.items():
        assert title in titles, f"no panel {title!r} (screenshot {shot})"
        lines = chart.locator(f".subplot.{subplot} .scatterlayer .trace path.js-line")
        assert lines.count() >= 2, f"panel {title!r} draws no line (screenshot {shot})"


def slider_value(thumb: Any) -> str | None:
    value: str | None = thumb.get_attribute("aria-valuetext") or thumb.get_attribute(
        "aria-valuenow"
    )
    return value


def estimate_text(page: Any) -> str:
    """The what-if estimate ("Monthly cost" metric) if the page has one, else all its text."""
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Monthly cost")
    return str(metric.first.inner_text()) if metric.count() else harness.visible_text(page)


def test_cost_slider_moves_the_estimate(dashboard: Dashboard, page: Any) -> None:
    mark = dashboard.served.log_size()
    harness.open_page(page, dashboard.served.url(PAGES["cost"]))
    sliders = page.locator('[data-testid="stSlider"]')
    assert sliders.count() > 0, "no slider on the cost page (the what-if controls)"
    thumb = sliders.first.get_by_role("slider")
    label = sliders.first.locator('[data-testid="stWidgetLabel"]').inner_text()
    before, estimate_before = slider_value(thumb), estimate_text(page)
    thumb.focus()
    # to the far end of its range: any control worth having moves the estimate there
    page.keyboard.press("End")
    harness.settle(page)
    if slider_value(thumb) == before:  # it was at the end already
        page.keyboard.press("Home")
        harness.settle(page)
    after = slider_value(thumb)
    assert after != before, f"slider {label!r} did not move"
    shot = str(harness.screenshot(page, "cost-slider-moved"))
    assert estimate_text(page) != estimate_before, (
        f"moving {label!r} from {before} to {after} did not change the estimate (screenshot {shot})"
    )
    assert page.locator(harness.CHART).count() > 0
    assert_clean(page, dashboard, mark, shot)


def test_deep_link_reproduces_the_view(dashboard: Dashboard, page: Any) -> None:
    mark = dashboard.served.log_size()
    harness.open_page(page, dashboard.served.url(DEEP_LINK))
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_by_role("combobox", name="Time window").input_value() == "6 hours"
    assert sidebar.get_by_role("combobox", name="Service").input_value() == "checkout-api"
    # the shown range is six hours long
    caption = sidebar.inner_text()
    times = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d", caption)
    assert len(times) >= 2, f"no time range in the sidebar: {caption!r}"
    start, end = (datetime.strptime(t, "%Y-%m-%d %H:%M") for t in times[:2])
    assert (end - start).total_seconds() == 6 * 3600
    assert "service=checkout-api" in page.url
    assert "window=6h" in page.url
    assert page.get_by_role("heading", name="Revisions").count() > 0
    shot = str(harness.screenshot(page, "deep-link"))
    assert_clean(page, dashboard, mark, shot)


@pytest.fixture(scope="module")
def overview_text(dashboard: Dashboard) -> str:
    page = dashboard.browser.new_page()
    try:
        harness.open_page(page, dashboard.served.url(PAGES["overview"]))
        return harness.visible_text(page)
    finally:
        page.close()


@pytest.mark.parametrize(
    ("finding", "pattern"),
    [
        (
            "the canary's p99 regression",
            r"p99[^\n]{0,80}(regress|worse|\+\d)|regress[^\n]{0,120}p99",
        ),
        ("the idle min-instance waste", r"idle min[- ]instances? cost"),
        ("the 429s", r"requests? rejected"),
    ],
)
def test_new_user_sees_it_on_the_overview(overview_text: str, finding: str, pattern: str) -> None:
    found = re.search(pattern, overview_text, re.IGNORECASE) is not None
    assert found, (
        f"{finding} is not visible as text on the overview at {harness.VIEWPORT['width']} px wide "
        f"(looked for /{pattern}/ in the page text and the rendered table cells; "
        "screenshot artifacts/screenshots/overview.png)"
    )


def test_selecting_a_service_in_the_overview_opens_its_revisions(
    dashboard: Dashboard, page: Any
) -> None:
    mark = dashboard.served.log_size()
    harness.open_page(page, dashboard.served.url(PAGES["overview"]))
    grid = page.locator('[data-testid="stDataFrame"]').first
    rows = page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-testid="stDataFrame"] tbody tr'))
              .map(tr => tr.textContent)"""
    )
    index = next(i for i, text in enumerate(rows) if "checkout-api" in text)
    box = grid.bounding_box()
    assert box, "the services table has no box"
    row_px = 35  # st.dataframe's default row height, the header row is as tall
    page.mouse.click(box["x"] + 12, box["y"] + row_px * (index + 1) + row_px / 2)
    page.wait_for_url(re.compile(r"/revisions\?.*service=checkout-api"), timeout=60_000)
    harness.wait_idle(page)
    shot = str(harness.screenshot(page, "overview-row-opens-revisions"))
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_by_role("combobox", name="Service").input_value() == "checkout-api"
    assert page.get_by_text("Revisions to compare").count() == 1, f"not the revisions page ({shot})"
    assert len(page.get_by_text("p99", exact=True).all()) >= 2, f"no revision cards ({shot})"
    assert_clean(page, dashboard, mark, shot)


def test_from_a_regressed_canary_to_its_rollback_command(dashboard: Dashboard, page: Any) -> None:
    """As a new user: open the canary's revisions, read the verdict, copy the rollback."""
    mark = dashboard.served.log_size()
    harness.open_page(page, dashboard.served.url("/revisions?service=checkout-api&window=24h"))
    assert page.get_by_text("Canary verdict:").count() > 0
    opener = page.get_by_role("button", name="Act on the verdict: traffic commands")
    assert opener.count() == 1, "no traffic commands under the verdict"
    assert "(suggested: roll back)" in opener.inner_text()  # a regression: roll back
    assert page.locator('[data-testid="stCode"]').count() == 0  # drawn only when opened
    opener.click()
    suggested = page.get_by_text("(suggested)", exact=False).filter(has_text="Roll back").first
    suggested.wait_for(state="visible")
    assert "Roll back" in suggested.inner_text()
    code = page.locator('[data-testid="stCode"]').filter(has_text="update-traffic checkout-api")
    code.first.wait_for(state="visible")  # the highlighter loads on opening
    assert code.count() >= 2
    assert "=100" in code.first.inner_text()
    shot = str(harness.screenshot(page, "revisions-rollback-command"))
    assert_clean(page, dashboard, mark, shot)


def test_from_a_cheaper_setting_to_its_update_command(dashboard: Dashboard, page: Any) -> None:
    """As a new user: move a what-if control, open the command that applies it."""
    mark = dashboard.served.log_size()
    harness.open_page(page, dashboard.served.url(PAGES["cost"]))
    slider = page.locator('[data-testid="stSlider"]').filter(has_text="Concurrency")
    thumb = slider.get_by_role("slider")
    thumb.focus()
    page.keyboard.press("Home")  # the lowest concurrency: a setting other than the current one
    harness.settle(page)
    opener = page.get_by_role(
        "button", name="Apply this setting: the gcloud command and the YAML it changes"
    )
    assert opener.count() == 1, "no command for the chosen setting"
    opener.click()
    code = page.locator('[data-testid="stCode"]').filter(has_text="gcloud run services update")
    code.first.wait_for(state="visible")
    assert "--concurrency=" in code.first.inner_text()
    shot = str(harness.screenshot(page, "cost-update-command"))
    assert_clean(page, dashboard, mark, shot)
