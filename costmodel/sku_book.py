"""The price book from the Cloud Billing Catalog's Cloud Run SKUs (services/152E-C115-5142).

``book_from_skus`` takes the SKUs as plain records (``Sku``: what collectors.catalog decodes
from the API's messages) and the bundled book, and gives a PriceBook whose every rate names the
SKU it came from. A line the catalog does not give usably (no SKU, another currency, a unit it
does not convert, no positive price) keeps the bundled rate, and ``CatalogBook.fallbacks`` says
which and why: never a silent $0. SKU descriptions are matched after folding case, runs of
spaces and doubled words ("Services CPU Tier 2  (Request-based billing)", "... in in
asia-northeast1"); older names ("CPU Allocation Time", "Idle Min-Instance ...") are matched
too. Which SKU prices what, and the names seen, are in docs/facts.md (Prices).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from costmodel import prices
from costmodel.prices import Allowance, PriceBook, Rate, TierRates
from foundation.billing import CLOUD_RUN_SERVICE

CATALOG_SOURCE = f"Cloud Billing Catalog API ({CLOUD_RUN_SERVICE})"

# usage unit -> (factor to the book's unit, the book's unit)
_UNITS: Mapping[str, Mapping[str, tuple[float, str]]] = {
    "cpu": {"s": (1.0, "vCPU-second"), "h": (1 / 3600, "vCPU-second")},
    "memory": {"GiBy.s": (1.0, "GiB-second"), "GiBy.h": (1 / 3600, "GiB-second")},
    "requests": {"count": (1e6, "million requests")},
}
_REQUEST = re.compile(
    r"^services (?P<idle>min instance )?(?P<what>cpu|memory)(?P<tier2> tier 2)? "
    r"\(request-based billing\)$"
)
_OLD_REQUEST = re.compile(
    r"^(?P<idle>idle min-instance )?(?P<what>cpu|memory) allocation time"
    r"(?P<tier2> \(tier 2\)| tier 2)?$"
)
_INSTANCE = re.compile(
    r"^services (?P<what>cpu|memory) \(instance-based billing\) in (?P<region>[a-z]+-[a-z]+\d+)$"
)
_REQUESTS = re.compile(r"^requests$")


class Sku(Protocol):
    """One SKU as the collector decodes it: its first (current) pricing info."""

    @property
    def sku_id(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def regions(self) -> Sequence[str]: ...
    @property
    def usage_unit(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def tiers(self) -> Sequence[tuple[float, float]]: ...  # (start usage, unit price)


@dataclass(frozen=True)
class CatalogBook:
    """The book built from the catalog, and what it could not take from it."""

    book: PriceBook
    fallbacks: tuple[str, ...]  # "<line>: <why>": the bundled price is kept for it
    ignored: tuple[str, ...]  # SKU descriptions that price nothing runwatch models

    @property
    def complete(self) -> bool:
        return not self.fallbacks

    @property
    def source(self) -> PriceSource:
        """The prices to use, with the lines kept from the bundled book named."""
        return PriceSource(self.book, "; ".join(self.fallbacks))


def read_at(now: datetime) -> str:
    """When the catalog was read, as a price book's as-of (the dashboard and the CLI alike)."""
    return now.strftime("%Y-%m-%d %H:%M UTC")


def unreadable(why: str) -> PriceSource:
    """The bundled book, when the catalog cannot be read, and why."""
    return PriceSource(prices.load(), f"the Cloud Billing Catalog could not be read: {why}")


@dataclass(frozen=True)
class PriceSource:
    """The prices every cost figure of a run uses, and what to say about them: ``note`` names
    the lines (or the whole book) that are the bundled book's instead of the catalog's."""

    book: PriceBook
    note: str = ""

    @property
    def text(self) -> str:
        """Where the prices come from, for a caption: the source and its date."""
        b = self.book
        said = f" ({self.note})" if self.note else ""
        return f"{b.source} (as of {b.as_of}){said}"


def fold(description: str) -> str:
    """A SKU description matched as text: lower case, single spaces, no doubled word."""
    words = description.casefold().split()
    out = [w for i, w in enumerate(words) if i == 0 or w != words[i - 1]]
    return " ".join(out)


def _line(sku: Sku) -> tuple[str, str, str] | None:
    """(kind, tier or region, rate name) of a SKU runwatch models; None for others."""
    text = fold(sku.description)
    for pattern in (_REQUEST, _OLD_REQUEST):
        m = pattern.match(text)
        if m:
            tier = "2" if m["tier2"] else "1"
            name = f"{m['what']}_{'idle' if m['idle'] else 'active'}"
            return "request", tier, name
    m = _INSTANCE.match(text)
    if m:
        return "instance", m["region"], f"instance_{m['what']}"
    if _REQUESTS.match(text):
        return "requests", "", "requests"
    return None


def _price(sku: Sku, kind: str, currency: str) -> tuple[float, float, str] | str:
    """(price in the book's unit, free usage before it, the book's unit) or why the SKU cannot
    price a line."""
    if sku.currency != currency:
        return f"priced in {sku.currency or 'no currency'}, not {currency}"
    unit = _UNITS[kind].get(sku.usage_unit)
    if unit is None:
        return f"usage unit {sku.usage_unit!r} is not one runwatch converts"
    tiers = sorted(sku.tiers)
    if not tiers:
        return "no tiered rate"
    if any(p < 0 for _, p in tiers):
        return "a negative price"
    paid = [(start, p) for start, p in tiers if p > 0]
    if not paid:
        return "no positive price"
    start, price = paid[0]
    return price * unit[0], start, unit[1]


def _kind(name: str) -> str:
    """The quantity a rate prices: cpu, memory or requests."""
    return next(k for k in ("cpu", "memory", "requests") if k in name)


def book_from_skus(skus: Iterable[Sku], bundled: PriceBook, *, read_at: str) -> CatalogBook:
    """The price book from ``skus`` (``read_at``: when they were read, the book's as-of),
    every rate not given by a usable SKU kept from ``bundled``."""
    rates = {t: {n: getattr(r, n) for n in RATE_NAMES} for t, r in bundled.tiers.items()}
    region_tiers: dict[str, str] = {}
    regional: dict[str, dict[str, Rate]] = {}
    fallbacks: list[str] = []
    ignored: list[str] = []
    free_requests: float | None = None
    both: set[str] = set()  # regions listed by SKUs of both tiers
    for sku in skus:
        line = _line(sku)
        if line is None:
            ignored.append(_spaced(sku.description))
            continue
        kind, where, name = line
        if kind == "request" and where not in rates:
            ignored.append(_spaced(sku.description))
            continue
        got = _price(sku, _kind(name), bundled.currency)
        if isinstance(got, str):
            fallbacks.append(f"{_label(kind, where, name)}: SKU {sku.sku_id} has {got}")
            continue
        price, free, unit = got
        rate = Rate(price, unit, True, _source(sku))
        if kind == "request":
            rates[where][name] = rate
            for region in sku.regions:
                if region_tiers.setdefault(region, where) != where:
                    both.add(region)
        elif kind == "instance":
            regional.setdefault(where, {})[name] = rate
        else:
            for per_tier in rates.values():
                per_tier["requests"] = rate
            free_requests = free
    for tier, named in sorted(rates.items()):
        for name in (*REQUEST_RATES, "requests"):
            label = _label("request" if name != "requests" else "requests", tier, name)
            if not named[name].sku and not any(f.startswith(label) for f in fallbacks):
                fallbacks.append(f"{label}: no SKU")
    for region in sorted(both):  # the catalog contradicts itself: the bundled tier, if any
        kept = bundled.region_tiers.get(region)
        if kept is None:
            del region_tiers[region]
            fallbacks.append(f"region {region}: listed by Tier 1 and Tier 2 SKUs, so refused")
        else:
            region_tiers[region] = kept
            fallbacks.append(
                f"region {region}: listed by Tier 1 and Tier 2 SKUs, the bundled Tier {kept} kept"
            )
    book_tiers = {t: TierRates(tier=t, **named) for t, named in rates.items()}
    known = {**bundled.region_tiers, **region_tiers}
    region_rates: dict[str, TierRates] = {}
    for region, own in sorted(regional.items()):
        if region not in known:
            ignored.append(f"instance-based SKUs of {region} (a region in no price tier)")
            continue
        base = book_tiers[known[region]]
        region_rates[region] = dataclasses.replace(
            base,
            instance_cpu=own.get("instance_cpu", base.instance_cpu),
            instance_memory=own.get("instance_memory", base.instance_memory),
        )
    free_tier = dict(bundled.free_tier)
    if free_requests is not None:
        allow = free_tier["request"]
        free_tier["request"] = Allowance(allow.vcpu_s, allow.gib_s, free_requests)
    book = dataclasses.replace(
        bundled,
        source=CATALOG_SOURCE,
        as_of=read_at,
        tiers=book_tiers,
        region_tiers=known,
        region_rates=region_rates,
        free_tier=free_tier,
    )
    return CatalogBook(book, tuple(fallbacks), tuple(sorted(set(ignored))))


REQUEST_RATES = ("cpu_active", "cpu_idle", "memory_active", "memory_idle")
RATE_NAMES = (*REQUEST_RATES, "requests", "instance_cpu", "instance_memory")


def _label(kind: str, where: str, name: str) -> str:
    if kind == "request":
        return f"Tier {where} {name.replace('_', ' ')}"
    if kind == "instance":
        return f"{where} {name.replace('_', ' ')}"
    return "requests"


def _spaced(description: str) -> str:
    return " ".join(description.split())


def _source(sku: Sku) -> str:
    return f"{sku.sku_id} {_spaced(sku.description)}"
