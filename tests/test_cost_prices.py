"""Price book, cost lines, the pricing page's worked example and golden breakdowns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from costmodel import prices
from costmodel.bill import Usage, money, price
from costmodel.errors import CannotEstimate
from costmodel.estimate import Workload, estimate
from costmodel.limits import forbidden, parse_memory_gib

GOLDEN = Path(__file__).parent / "golden" / "cost_estimate.json"


def _worked_example(free_tier: str) -> float:
    w = Workload(10_000_000, 200, 0.167, 0.25, 1, "request", "europe-west1")
    return estimate(w, free_tier=free_tier).bill.total


def test_worked_example_to_the_cent() -> None:
    # cloud.google.com/run/pricing (docs/facts.md, Prices):
    # CPU 10e6 x 0.2 x 0.167 x 0.000024 = 8.016,
    # memory 10e6 x 0.2 x 0.25 x 0.0000025 = 1.25, requests (10e6 - 2e6) x 0.40 / 1e6 = 3.20.
    # "Without the free tier" keeps the 2 M free requests: 12.466 -> $12.47; with the CPU and
    # memory free tier (180,000 vCPU-s and 360,000 GiB-s at Tier 1 prices) 7.246 -> $7.25.
    assert money(_worked_example("requests")) == "$12.47"
    assert money(_worked_example("all")) == "$7.25"
    assert _worked_example("requests") == pytest.approx(8.016 + 1.25 + 3.20, abs=1e-9)
    assert _worked_example("all") == pytest.approx(
        (334_000 - 180_000) * 0.000024 + (500_000 - 360_000) * 0.0000025 + 3.20, abs=1e-9
    )
    assert _worked_example("none") == pytest.approx(8.016 + 1.25 + 4.00, abs=1e-9)


def _golden_cases() -> list[dict[str, object]]:
    return json.loads(GOLDEN.read_text())["cases"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", _golden_cases(), ids=lambda c: str(c["name"]))
def test_golden_breakdowns(case: dict[str, object]) -> None:
    spec = dict(case["input"])  # type: ignore[call-overload]
    free_tier = spec.pop("free_tier")
    memory = parse_memory_gib(spec.pop("memory"))
    w = Workload(
        requests_per_month=spec["requests_per_month"],
        latency_ms=spec["latency_ms"],
        cpu=spec["cpu"],
        memory_gib=memory,
        concurrency=spec["concurrency"],
        billing=spec["billing"],
        region=spec["region"],
        min_instances=spec["min_instances"],
    )
    bill = estimate(w, free_tier=free_tier).bill
    got = [(ln.name, ln.unit, ln.quantity, ln.unit_price, ln.cost) for ln in bill.lines]
    want = [
        (g["name"], g["unit"], g["quantity"], g["unit_price"], g["cost"]) for g in case["lines"]
    ]  # type: ignore[attr-defined]
    assert [g[:2] for g in got] == [w_[:2] for w_ in want]
    for g, w_ in zip(got, want, strict=True):
        assert g[2] == pytest.approx(w_[2], rel=1e-9, abs=1e-9), g[0]
        assert g[3] == pytest.approx(w_[3], rel=1e-12), g[0]
        assert g[4] == pytest.approx(w_[4], rel=1e-9, abs=1e-12), g[0]
    assert bill.total == pytest.approx(case["total"], rel=1e-9, abs=1e-12)
    assert list(bill.unconfirmed) == case["unconfirmed_rates"]


def test_region_tiers_and_unknown_region() -> None:
    book = prices.load()
    assert book.tier("europe-west1") == "1"
    assert book.tier("europe-west2") == "2"
    assert book.tier("asia-southeast1") == "2"
    assert len(book.region_tiers) == 20 + 23  # docs/facts.md, Prices, lists
    with pytest.raises(CannotEstimate, match="mars-north1"):
        book.tier("mars-north1")
    with pytest.raises(CannotEstimate, match="not in the price book"):
        estimate(Workload(1e6, 100, 1, 0.5, 80, "request", "mars-north1"))


def test_price_book_carries_source_and_flags() -> None:
    book = prices.load()
    assert book.source.startswith("https://cloud.google.com/run/pricing")
    assert book.as_of
    assert not book.tiers["2"].instance_cpu.confirmed
    assert book.tiers["1"].instance_cpu.confirmed
    assert book.tiers["2"].unconfirmed("request") == ()
    assert book.month_days == 365.25 / 12


def test_gpu_and_forbidden_settings_cannot_be_estimated() -> None:
    with pytest.raises(CannotEstimate, match="GPU"):
        estimate(Workload(1e6, 100, 4, 16, 80, "instance", "europe-west1", gpu=1))
    with pytest.raises(CannotEstimate, match="concurrency 8 needs at least 1 vCPU"):
        estimate(Workload(1e6, 100, 0.5, 0.5, 8, "request", "europe-west1"))
    with pytest.raises(CannotEstimate, match="instance-based billing needs at least 1 vCPU"):
        estimate(Workload(1e6, 100, 0.5, 0.5, 1, "instance", "europe-west1"))


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"cpu": 1, "memory_gib": 6, "concurrency": 80, "billing": "request"}, "above 4 GiB"),
        ({"cpu": 2, "memory_gib": 12, "concurrency": 80, "billing": "request"}, "above 8 GiB"),
        ({"cpu": 0.4, "memory_gib": 0.75, "concurrency": 1, "billing": "request"}, "0.5 vCPU"),
        ({"cpu": 0.6, "memory_gib": 2, "concurrency": 1, "billing": "request"}, "above 1 GiB"),
        ({"cpu": 4, "memory_gib": 1, "concurrency": 80, "billing": "request"}, "at least 2 GiB"),
        ({"cpu": 1.5, "memory_gib": 1, "concurrency": 80, "billing": "request"}, "whole numbers"),
        ({"cpu": 1, "memory_gib": 1, "concurrency": 1001, "billing": "request"}, "1-1000"),
        ({"cpu": 1, "memory_gib": 40, "concurrency": 80, "billing": "request"}, "32 GiB"),
    ],
)
def test_forbidden_settings(kw: dict[str, object], reason: str) -> None:
    got = forbidden(**kw)  # type: ignore[arg-type]
    assert got is not None
    assert reason in got


def test_allowed_settings() -> None:
    for kw in (
        {"cpu": 1, "memory_gib": 4, "concurrency": 80, "billing": "instance"},
        {"cpu": 0.167, "memory_gib": 0.25, "concurrency": 1, "billing": "request"},
        {"cpu": 8, "memory_gib": 32, "concurrency": 1000, "billing": "request"},
    ):
        assert forbidden(**kw) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "gib"), [("256Mi", 0.25), ("2Gi", 2.0), ("512M", 512e6 / 2**30), ("1.5Gi", 1.5)]
)
def test_parse_memory(text: str, gib: float) -> None:
    assert parse_memory_gib(text) == pytest.approx(gib)


def test_parse_memory_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="256Mi"):
        parse_memory_gib("lots")


def test_committed_use_discounts() -> None:
    book = prices.load()
    use = Usage("instance", active_vcpu_s=1_000_000, active_gib_s=500_000)
    gross = 1_000_000 * 0.000018 + 500_000 * 0.000002
    assert price(use, book, "europe-west1", free_tier="none").total == pytest.approx(gross)
    assert price(use, book, "europe-west1", free_tier="none", cud="flex-3y").total == pytest.approx(
        gross * (1 - 0.46)
    )
    req = Usage("request", active_vcpu_s=1_000_000, active_gib_s=500_000, requests=3e6)
    gross_r = 1_000_000 * 0.000024 + 500_000 * 0.0000025 + 3 * 0.40
    # Flexible CUDs cover instance-based billing only; the Cloud Run CUD covers both.
    assert price(req, book, "europe-west1", free_tier="none", cud="flex-1y").total == pytest.approx(
        gross_r
    )
    assert price(
        req, book, "europe-west1", free_tier="none", cud="cloud-run-1y"
    ).total == pytest.approx(gross_r * 0.83)
    # After opting in to the spend-based model, a flexible CUD also takes 17 % off request-based
    # services (CPU, memory and requests), and nothing more off instance-based ones.
    assert price(
        req, book, "europe-west1", free_tier="none", cud="flex-request"
    ).total == pytest.approx(gross_r * 0.83)
    assert price(
        use, book, "europe-west1", free_tier="none", cud="flex-request"
    ).total == pytest.approx(gross)
    with pytest.raises(ValueError, match="unknown committed use discount"):
        price(req, book, "europe-west1", cud="lifetime")


def test_free_tier_never_makes_a_credit() -> None:
    book = prices.load()
    tiny = Usage("request", active_vcpu_s=10, active_gib_s=10, requests=100)
    bill = price(tiny, book, "europe-west1")
    assert bill.total == pytest.approx(0.0, abs=1e-12)
    assert all(ln.cost >= -1e-12 for ln in bill.lines if not ln.name.startswith("Free"))
