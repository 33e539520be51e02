"""The price book: Cloud Run rates, tiers, free tier and discounts, loaded from prices.json.

Rates live in the data file (with its source URL and as-of date), never as constants in code.
A rate marked ``confirmed: false`` is carried through to every bill that uses it so the UI can
say so. Unknown regions are refused (``CannotEstimate``), never silently given a tier.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from costmodel.errors import CannotEstimate

PRICES_JSON = Path(__file__).resolve().parent / "prices.json"
BILLING_MODES = ("request", "instance")
FREE_TIER_MODES = ("all", "requests", "none")


@dataclass(frozen=True)
class Rate:
    price: float  # dollars per unit
    unit: str
    confirmed: bool = True
    sku: str = ""  # the Cloud Billing Catalog SKU it was read from ("" : the bundled book)


@dataclass(frozen=True)
class TierRates:
    tier: str
    cpu_active: Rate  # request-based, while starting or serving
    cpu_idle: Rate  # request-based, idle minimum instances
    memory_active: Rate
    memory_idle: Rate
    requests: Rate  # per million requests (request-based only)
    instance_cpu: Rate  # instance-based, whole lifetime
    instance_memory: Rate

    def used_by(self, billing: str) -> tuple[str, ...]:
        """Names of the rates a billing mode uses."""
        if billing == "request":
            return ("cpu_active", "cpu_idle", "memory_active", "memory_idle", "requests")
        return ("instance_cpu", "instance_memory")

    def unconfirmed(self, billing: str) -> tuple[str, ...]:
        """Names of the rates used by a billing mode that no primary source confirmed."""
        return tuple(
            f"Tier {self.tier} {n.replace('_', ' ')}"
            for n in self.used_by(billing)
            if not getattr(self, n).confirmed
        )

    def not_from_sku(self, billing: str) -> tuple[str, ...]:
        """Names of the rates used by a billing mode that no catalog SKU gave."""
        return tuple(n.replace("_", " ") for n in self.used_by(billing) if not getattr(self, n).sku)


@dataclass(frozen=True)
class Allowance:
    vcpu_s: float
    gib_s: float
    requests: float


@dataclass(frozen=True)
class Cud:
    key: str
    label: str
    discount: float  # fraction, 0.17 = 17 %
    billing: tuple[str, ...]
    applies_to: tuple[str, ...]  # cpu | memory | requests
    confirmed: bool


@dataclass(frozen=True)
class PriceBook:
    source: str
    as_of: str
    currency: str
    rounding_s: float
    instance_min_lifetime_s: float
    month_days: float
    tiers: Mapping[str, TierRates]
    region_tiers: Mapping[str, str]
    free_tier: Mapping[str, Allowance]  # billing mode -> monthly allowance
    free_tier_priced_at: str  # the tier whose prices value the free tier
    cuds: Mapping[str, Cud]
    gpu_supported: bool
    # a region's own rates where they differ from its tier's (instance-based SKUs are per region)
    region_rates: Mapping[str, TierRates] = field(default_factory=dict)

    @property
    def month_s(self) -> float:
        return self.month_days * 86_400.0

    def tier(self, region: str) -> str:
        try:
            return self.region_tiers[region]
        except KeyError:
            raise CannotEstimate(
                f"region {region!r} is not in the price book ({self.source}, as of "
                f"{self.as_of}), so its price tier is unknown"
            ) from None

    def rates(self, region: str) -> TierRates:
        tier = self.tier(region)
        return self.region_rates.get(region) or self.tiers[tier]

    def free_tier_value(self, billing: str) -> tuple[float, float, float]:
        """Dollar value of the monthly free tier: (cpu, memory, requests)."""
        allow = self.free_tier[billing]
        base = self.tiers[self.free_tier_priced_at]
        if billing == "request":
            return (
                allow.vcpu_s * base.cpu_active.price,
                allow.gib_s * base.memory_active.price,
                allow.requests / 1e6 * base.requests.price,
            )
        return (
            allow.vcpu_s * base.instance_cpu.price,
            allow.gib_s * base.instance_memory.price,
            0.0,
        )

    def cud(self, key: str | None) -> Cud | None:
        if key is None or key == "none":
            return None
        try:
            return self.cuds[key]
        except KeyError:
            choices = ", ".join(["none", *self.cuds])
            raise ValueError(
                f"unknown committed use discount {key!r}: use one of {choices}"
            ) from None


def _rate(raw: Mapping[str, Any]) -> Rate:
    return Rate(float(raw["price"]), str(raw["unit"]), bool(raw.get("confirmed", True)))


def parse(data: Mapping[str, Any]) -> PriceBook:
    """Build a PriceBook from the JSON structure of prices.json."""
    tiers: dict[str, TierRates] = {}
    for tier, raw in data["tiers"].items():
        req, inst = raw["request"], raw["instance"]
        tiers[tier] = TierRates(
            tier=tier,
            cpu_active=_rate(req["cpu_active"]),
            cpu_idle=_rate(req["cpu_idle"]),
            memory_active=_rate(req["memory_active"]),
            memory_idle=_rate(req["memory_idle"]),
            requests=_rate(req["requests"]),
            instance_cpu=_rate(inst["cpu"]),
            instance_memory=_rate(inst["memory"]),
        )
    region_tiers: dict[str, str] = {}
    for tier, regions in data["regions"].items():
        for region in regions:
            if region in region_tiers:
                raise ValueError(f"price book lists region {region} in two tiers")
            region_tiers[region] = tier
    free = data["free_tier"]
    free_tier = {
        mode: Allowance(
            float(free[mode]["vcpu_s"]), float(free[mode]["gib_s"]), float(free[mode]["requests"])
        )
        for mode in BILLING_MODES
    }
    cuds = {
        key: Cud(
            key=key,
            label=str(raw["label"]),
            discount=float(raw["discount"]),
            billing=tuple(raw["billing"]),
            applies_to=tuple(raw["applies_to"]),
            confirmed=bool(raw.get("confirmed", True)),
        )
        for key, raw in data["cuds"].items()
    }
    return PriceBook(
        source=str(data["source"]),
        as_of=str(data["as_of"]),
        currency=str(data["currency"]),
        rounding_s=float(data["rounding_s"]),
        instance_min_lifetime_s=float(data["instance_min_lifetime_s"]),
        month_days=float(data["month_days"]),
        tiers=tiers,
        region_tiers=region_tiers,
        free_tier=free_tier,
        free_tier_priced_at=str(free["priced_at_tier"]),
        cuds=cuds,
        gpu_supported=bool(data["gpu"]["supported"]),
    )


@lru_cache(maxsize=4)
def load(path: Path = PRICES_JSON) -> PriceBook:
    """Load and validate the price book (cached: the file is read once per process)."""
    return parse(json.loads(path.read_text()))
