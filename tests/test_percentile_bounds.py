"""A percentile in a bucket layout's underflow or overflow bucket is a bound, never a number.

Google does not publish request_latencies' layout; public runbooks quote bounds that fit an
exponential layout whose first bound is about 10 ms. Here the emulator serves such a coarse
layout (first bound 10 ms, last 40,960 ms), where a fast service's requests nearly all fall
below the first bound and a slow one's above the last: its p95 is shown as "< 10 ms" or
"> 40,960 ms" in the overview's table and CSV, on the revision cards and in their CSV.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

import emulator
import presentation
from collectors import catalog, clients, distributions, monitoring, schema
from emulator.sim.fleet import simulate
from emulator.sim.model import BucketLayout, FleetSpec, RevisionSpec
from foundation.window import TimeWindow
from insights import overview, revisions
from tests._fleet_builder import latest_traffic, services

END = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
START = END - timedelta(hours=6)
PROJECT = "bounds-demo"
COARSE = BucketLayout("exponential", num_finite_buckets=12, growth_factor=2.0, scale=10.0)
FIRST, LAST = 10.0, 10.0 * 2.0**12


def _rev(name: str, median_ms: float, timeout_s: int = 300) -> RevisionSpec:
    return RevisionSpec(
        name,
        END - timedelta(days=3),
        cpu=1.0,
        memory_gib=0.5,
        concurrency=80,
        latency_median_ms=median_ms,
        latency_sigma=0.2,
        timeout_s=timeout_s,
    )


TABLE = (
    ("europe-west1", "fast-api", _rev("fast-api-00001-abc", 2.0)),
    ("europe-west1", "normal-api", _rev("normal-api-00001-abc", 150.0)),
    ("europe-west1", "slow-batch", _rev("slow-batch-00001-abc", 90_000.0)),
)


@pytest.fixture(scope="module")
def emu() -> Iterator[emulator.Emulator]:
    svcs = services(TABLE, latest_traffic(END - timedelta(days=2)), 2.0)
    spec = FleetSpec(PROJECT, 123456, START, END, svcs, 11, latency_layout=COARSE)
    with emulator.start(simulate(spec)) as e:
        yield e


@pytest.fixture(scope="module")
def totals(emu: emulator.Emulator) -> pd.DataFrame:
    c = clients.for_emulator(emu.address)
    try:
        w = TimeWindow.custom(START, END, alignment_s=60).whole()
        got = monitoring.fetch_metrics(c, [PROJECT], w, None, catalog.WINDOW_TOTALS)
    finally:
        c.close()
    assert got.quality.complete
    return got.frame


def test_edge_buckets_give_their_bound_and_where() -> None:
    bounds = np.array([10.0, 20.0, 40.0])  # buckets: <10, [10,20), [20,40), >=40
    counts = np.array([[97, 2, 1, 0], [0, 0, 1, 99], [0, 50, 50, 0]])
    values, edges = distributions.percentiles_with_edges(bounds, counts, [50.0, 95.0, 99.0])
    np.testing.assert_array_equal(edges, [[-1, -1, 0], [1, 1, 1], [0, 0, 0]])
    np.testing.assert_allclose(values[0], [10.0, 10.0, 20.0])
    np.testing.assert_allclose(values[1], [40.0, 40.0, 40.0])
    # inside the finite buckets: interpolated by the rank's share of its bucket, as before
    np.testing.assert_allclose(values[2], [20.0, 20.0 + 20.0 * 45 / 50, 20.0 + 20.0 * 49 / 50])
    assert distributions.percentiles(bounds, counts, [50.0])[0, 0] == 10.0


def test_the_overview_shows_a_bound_not_an_interpolation(totals: pd.DataFrame) -> None:
    table = overview.service_table(
        totals,
        schema.empty(schema.REVISIONS),
        schema.empty(schema.TRAFFIC),
        pd.DataFrame(),
        window_s=6 * 3600.0,
    ).set_index("service")
    assert table.loc["fast-api", "p95_bound"] == "<"
    assert table.loc["fast-api", "p95_ms"] == FIRST
    assert table.loc["slow-batch", "p95_bound"] == ">"
    assert table.loc["slow-batch", "p95_ms"] == LAST
    assert table.loc["normal-api", "p95_bound"] == ""
    assert FIRST < table.loc["normal-api", "p95_ms"] < LAST
    csv = table.reset_index()[["service", "p95_bound", "p95_ms"]].to_csv(index=False)
    assert "fast-api,<,10.0" in csv
    assert f"slow-batch,>,{LAST}" in csv


def test_the_revision_cards_say_less_than_and_more_than(totals: pd.DataFrame) -> None:
    texts = {}
    for _, service, rev in TABLE:
        cards = revisions.cards(
            schema.empty(schema.METRIC_POINTS),
            totals,
            schema.empty(schema.REVISIONS),
            schema.empty(schema.TRAFFIC),
            pd.DataFrame(),
            service=service,
            selected=[rev.name],
        )
        card = cards.set_index("revision").loc[rev.name]
        texts[service] = {
            f.label: f.value for f in presentation.card_figures(card, None) if f.label[0] == "p"
        }
    assert texts["fast-api"] == {"p50": "< 10 ms", "p95": "< 10 ms", "p99": "< 10 ms"}
    assert texts["slow-batch"]["p95"] == "> 40,960 ms"
    assert all(t[0].isdigit() for t in texts["normal-api"].values())


def test_a_change_against_a_bound_is_not_a_percentage() -> None:
    card = pd.Series({"p95_ms": 10.0, "p95_bound": "<"})
    ref = pd.Series({"p95_ms": 120.0, "p95_bound": ""})
    assert presentation.card_value(card, ref, "p95_ms", "{:,.0f} ms") == ("< 10 ms", None)
    assert presentation.card_value(ref, card, "p95_ms", "{:,.0f} ms") == ("120 ms", None)


def test_with_the_demos_layout_nothing_is_a_bound(demo_emulator: Any) -> None:
    import app_data

    scope, _ = app_data.scope_from_query({"window": "24h"})
    table = app_data.overview(app_data.resolve(scope)).table
    assert (table["p95_bound"] == "").all()
    assert table["p95_ms"].notna().all()
