"""The price book from the Cloud Billing Catalog's SKUs: read over gRPC from the emulator with
the real CloudCatalogClient, every price named by the SKU that gave it, bad lines kept at the
bundled price with the reason."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

import emulator
from collectors import clients as clients_mod
from collectors.errors import RunwatchError
from collectors.skus import CatalogSku, fetch_skus
from costmodel import prices
from costmodel.bill import money
from costmodel.errors import CannotEstimate
from costmodel.estimate import Workload, estimate
from costmodel.sku_book import CATALOG_SOURCE, book_from_skus, fold
from emulator.api import billing
from tests._collect_logs_helpers import FAST_POLICY, small_fleet

FLEET = small_fleet(starts_per_revision=1)
READ_AT = "2026-12-03T22:00:00Z"


@pytest.fixture(scope="module")
def emu() -> Iterator[emulator.Emulator]:
    with emulator.start(FLEET) as e:
        yield e


@pytest.fixture
def clients(emu: emulator.Emulator) -> Iterator[clients_mod.Clients]:
    emu.faults.clear()
    c = clients_mod.for_emulator(emu.address, policy=FAST_POLICY)
    yield c
    c.close()
    emu.faults.clear()


def _book(
    clients: clients_mod.Clients,
) -> tuple[prices.PriceBook, tuple[str, ...], tuple[str, ...]]:
    got = book_from_skus(fetch_skus(clients), prices.load(), read_at=READ_AT)
    return got.book, got.fallbacks, got.ignored


def test_every_price_of_every_region_comes_from_a_sku(clients: clients_mod.Clients) -> None:
    book, fallbacks, ignored = _book(clients)
    assert fallbacks == ()
    assert book.source == CATALOG_SOURCE
    assert book.as_of == READ_AT
    skus = {s.sku_id: s for s in fetch_skus(clients)}
    for tier, regions in billing.TIER_REGIONS.items():
        for region in regions:
            rates = book.rates(region)
            assert book.tier(region) == tier
            for name in (*rates.used_by("request"), *rates.used_by("instance")):
                rate = getattr(rates, name)
                sku_id, _, description = rate.sku.partition(" ")
                sku = skus[sku_id]  # the SKU that gave the price, as the API listed it
                assert description == " ".join(sku.description.split())
                paid = next(p for _, p in sku.tiers if p > 0)
                factor = 1e6 if name == "requests" else 1.0
                assert rate.price == pytest.approx(paid * factor, rel=1e-12)
                if name.startswith("instance"):
                    assert region in sku.regions
                elif name != "requests":
                    assert region in sku.regions
                    assert ("Tier 2" in sku.description) == (tier == "2")
    # Google's irregular wordings are read: a doubled space, a doubled word
    assert "  " in skus[book.tiers["2"].cpu_active.sku.split()[0]].description
    assert " in in asia-northeast1" in book.rates("asia-northeast1").instance_cpu.sku
    # instance-based prices are per region, not per tier
    assert book.rates("southamerica-east1").instance_cpu.price == pytest.approx(0.0000243)
    assert book.rates("asia-southeast1").instance_cpu.price == pytest.approx(0.0000216)
    # the free requests come from the Requests SKU's free first tier
    assert book.free_tier["request"].requests == billing.FREE_REQUESTS
    # Jobs and Worker Pools price nothing runwatch models
    assert any(i.startswith("Jobs CPU in") for i in ignored)
    assert any(i.startswith("Worker Pools Memory in") for i in ignored)


def test_the_worked_example_from_the_catalog(clients: clients_mod.Clients) -> None:
    book, _, _ = _book(clients)
    w = Workload(10_000_000, 200, 0.167, 0.25, 1, "request", "europe-west1")
    assert money(estimate(w, free_tier="requests", book=book).bill.total) == "$12.47"
    assert money(estimate(w, free_tier="all", book=book).bill.total) == "$7.25"


def _sku(description: str, price: float, **kw: object) -> CatalogSku:
    base: dict[str, object] = {
        "sku_id": f"TEST-{abs(hash(description)) % 10_000:04d}-0000",
        "description": description,
        "regions": ("europe-west1",),
        "usage_unit": "s",
        "currency": "USD",
        "tiers": ((0.0, price),),
    }
    base.update(kw)
    return CatalogSku(**base)  # type: ignore[arg-type]


def test_bad_lines_keep_the_bundled_price_and_say_why() -> None:
    bundled = prices.load()
    skus = [
        _sku("Services CPU (Request-based billing)", 0.00003, currency="EUR"),
        _sku("Services Memory (Request-based billing)", 0.0, usage_unit="GiBy.s"),
        _sku("Services Min Instance CPU (Request-based billing)", -1e-6),
        _sku("Services Min Instance Memory (Request-based billing)", 1e-6, usage_unit="GBy.mo"),
        _sku("Services CPU Tier 2 (Request-based billing)", 0.0, tiers=()),
        _sku("A SKU nobody has heard of", 1.0),
    ]
    got = book_from_skus(skus, bundled, read_at=READ_AT)
    text = "\n".join(got.fallbacks)
    for line, why in [
        ("Tier 1 cpu active", "priced in EUR"),
        ("Tier 1 memory active", "no positive price"),
        ("Tier 1 cpu idle", "a negative price"),
        ("Tier 1 memory idle", "usage unit 'GBy.mo'"),
        ("Tier 2 cpu active", "no tiered rate"),
        ("Tier 2 memory active", "no SKU"),
        ("requests", "no SKU"),
    ]:
        assert re.search(rf"^{line}: .*{re.escape(why)}", text, re.M), (line, text)
    assert not got.complete
    for tier in ("1", "2"):  # never $0: every line that fell back kept the bundled price
        for name in ("cpu_active", "memory_active", "cpu_idle", "memory_idle", "requests"):
            rate = getattr(got.book.tiers[tier], name)
            assert rate == getattr(bundled.tiers[tier], name)
            assert rate.price > 0
    assert got.ignored == ("A SKU nobody has heard of",)


def test_a_region_listed_by_both_tiers_keeps_its_bundled_tier() -> None:
    """The catalog contradicting itself about a region's tier is said, and the bundled book's
    tier is kept (a region neither book places is refused, never guessed)."""
    bundled = prices.load()
    assert bundled.tier("europe-west1") == "1"
    assert "nowhere-east9" not in bundled.region_tiers
    regions = ("europe-west1", "nowhere-east9")
    skus = [
        _sku("Services CPU Tier 2 (Request-based billing)", 0.0000336, regions=regions),
        _sku("Services CPU (Request-based billing)", 0.000024, regions=regions),
    ]
    got = book_from_skus(skus, bundled, read_at=READ_AT)
    assert got.book.tier("europe-west1") == "1"
    with pytest.raises(CannotEstimate, match="nowhere-east9"):
        got.book.tier("nowhere-east9")
    text = "\n".join(got.fallbacks)
    assert "region europe-west1: listed by Tier 1 and Tier 2 SKUs, the bundled Tier 1 kept" in text
    assert "region nowhere-east9: listed by Tier 1 and Tier 2 SKUs, so refused" in text


def test_older_and_irregular_names_are_matched() -> None:
    skus = [
        _sku("CPU Allocation Time", 0.000024),
        _sku("Memory Allocation Time (tier 2)", 0.0000035, usage_unit="GiBy.s"),
        _sku("Idle Min-Instance CPU Allocation Time", 0.0000025),
        _sku("Services  Min Instance  Memory (Request-based billing)", 2.5e-6, usage_unit="GiBy.s"),
        _sku(
            "Services CPU (Instance-based billing) in in europe-west1",
            1 / 3600 * 0.0648,
            usage_unit="s",
        ),
        _sku(
            "Services Memory (Instance-based billing) in europe-west1", 0.0072, usage_unit="GiBy.h"
        ),
    ]
    book = book_from_skus(skus, prices.load(), read_at=READ_AT).book
    t1, t2 = book.tiers["1"], book.tiers["2"]
    assert t1.cpu_active.sku.endswith("CPU Allocation Time")
    assert t2.memory_active.sku.endswith("Memory Allocation Time (tier 2)")
    assert t1.cpu_idle.sku
    assert t1.memory_idle.sku
    ew1 = book.rates("europe-west1")
    assert ew1.instance_cpu.price == pytest.approx(0.000018)
    assert ew1.instance_memory.price == pytest.approx(0.000002)  # per hour, converted
    assert fold("Services CPU Tier 2  (Request-based billing)") == (
        "services cpu tier 2 (request-based billing)"
    )


def test_the_catalog_not_enabled_is_a_plain_error(
    clients: clients_mod.Clients, emu: emulator.Emulator
) -> None:
    emu.faults.set("ListSkus:PERMISSION_DENIED")
    with pytest.raises(
        RunwatchError, match=r"gcloud services enable cloudbilling\.googleapis\.com"
    ):
        fetch_skus(clients)
