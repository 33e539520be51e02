"""Cloud Billing Catalog API v1 (CloudCatalog.ListSkus) for the Cloud Run service.

The SKUs are shaped as Google lists them (docs/facts.md, Prices): request-based CPU, memory and
min-instance SKUs per price tier (``service_regions``: the tier's regions), one global
"Requests" SKU whose first 2 million requests are a free tier, instance-based CPU and memory
SKUs per region, and Jobs and Worker Pools SKUs runwatch does not model. The descriptions keep
Google's irregularities (a doubled space in "Services CPU Tier 2  (Request-based billing)", a
doubled word in "... in in asia-northeast1"). Prices are the pricing page's; instance-based
southamerica-east1 is priced higher than the rest of Tier 2 (a simulated difference, so that
per-region prices are exercised). Prices are in USD only: another currency_code is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from google.cloud import billing_v1
from google.protobuf.message import Message

from emulator.api.errors import invalid, not_found
from emulator.api.paging import page_of
from foundation.billing import CLOUD_RUN_SERVICE

CATALOG = "google.cloud.billing.v1.CloudCatalog"

TIER_REGIONS: dict[str, list[str]] = {
    "1": [
        "asia-east1",
        "asia-northeast1",
        "asia-northeast2",
        "asia-south1",
        "europe-north1",
        "europe-north2",
        "europe-southwest1",
        "europe-west1",
        "europe-west4",
        "europe-west8",
        "europe-west9",
        "me-west1",
        "northamerica-south1",
        "us-central1",
        "us-east1",
        "us-east4",
        "us-east5",
        "us-south1",
        "us-west1",
        "us-west8",
    ],
    "2": [
        "africa-south1",
        "asia-east2",
        "asia-northeast3",
        "asia-southeast1",
        "asia-southeast2",
        "asia-south2",
        "australia-southeast1",
        "australia-southeast2",
        "europe-central2",
        "europe-west10",
        "europe-west12",
        "europe-west2",
        "europe-west3",
        "europe-west6",
        "me-central1",
        "me-central2",
        "northamerica-northeast1",
        "northamerica-northeast2",
        "southamerica-east1",
        "southamerica-west1",
        "us-west2",
        "us-west3",
        "us-west4",
    ],
}
# description (a {tier} placeholder for Tier 2's wording), usage unit, price by tier
REQUEST_BASED: tuple[tuple[str, str, dict[str, float]], ...] = (
    ("Services CPU{tier} (Request-based billing)", "s", {"1": 0.000024, "2": 0.0000336}),
    ("Services Memory{tier} (Request-based billing)", "GiBy.s", {"1": 0.0000025, "2": 0.0000035}),
    ("Services Min Instance CPU{tier} (Request-based billing)", "s", {"1": 2.5e-6, "2": 3.5e-6}),
    (
        "Services Min Instance Memory{tier} (Request-based billing)",
        "GiBy.s",
        {"1": 0.0000025, "2": 0.0000035},
    ),
)
TIER_WORDING = {"1": "", "2": " Tier 2"}
INSTANCE_BASED = {"1": (0.000018, 0.000002), "2": (0.0000216, 0.0000024)}  # (cpu, memory)
REGION_INSTANCE_PRICES = {"southamerica-east1": (0.0000243, 0.0000027)}  # simulated difference
FREE_REQUESTS = 2_000_000
REQUEST_PRICE = 0.0000004  # per request beyond the free tier
_UNIT_TEXT = {"s": "second", "GiBy.s": "gibibyte second", "count": "count"}


def _sku_id(description: str) -> str:
    h = hashlib.sha1(description.encode()).hexdigest().upper()
    return f"{h[0:4]}-{h[4:8]}-{h[8:12]}"


def _sku(
    description: str, regions: list[str], unit: str, tiers: list[tuple[float, float]], group: str
) -> Any:
    sku = billing_v1.Sku.pb()()
    sku.sku_id = _sku_id(description)
    sku.name = f"{CLOUD_RUN_SERVICE}/skus/{sku.sku_id}"
    sku.description = description
    sku.category.service_display_name = "Cloud Run"
    sku.category.resource_family = "ApplicationServices"
    sku.category.resource_group = group
    sku.category.usage_type = "OnDemand"
    sku.service_regions.extend(regions)
    sku.service_provider_name = "Google"
    sku.geo_taxonomy.type_ = (
        billing_v1.GeoTaxonomy.Type.GLOBAL
        if regions == ["global"]
        else billing_v1.GeoTaxonomy.Type.REGIONAL
    )
    if regions != ["global"]:
        sku.geo_taxonomy.regions.extend(regions)
    info = sku.pricing_info.add()
    info.summary = ""
    info.effective_time.FromSeconds(1_764_547_200)  # 2025-12-01
    expr = info.pricing_expression
    expr.usage_unit = unit
    expr.usage_unit_description = _UNIT_TEXT[unit]
    expr.base_unit = unit
    expr.base_unit_description = _UNIT_TEXT[unit]
    expr.base_unit_conversion_factor = 1.0
    expr.display_quantity = 1.0
    for start, price in tiers:
        rate = expr.tiered_rates.add()
        rate.start_usage_amount = start
        rate.unit_price.currency_code = "USD"
        units = int(price)
        rate.unit_price.units = units
        rate.unit_price.nanos = round((price - units) * 1e9)
    info.aggregation_info.aggregation_level = billing_v1.AggregationInfo.AggregationLevel.ACCOUNT
    info.aggregation_info.aggregation_interval = (
        billing_v1.AggregationInfo.AggregationInterval.MONTHLY
    )
    info.aggregation_info.aggregation_count = 1
    info.currency_conversion_rate = 1.0
    return sku


def cloud_run_skus() -> list[Any]:
    """Every Cloud Run SKU the emulator lists, in a fixed order."""
    out = []
    for text, unit, prices in REQUEST_BASED:
        for tier, regions in TIER_REGIONS.items():
            description = text.format(tier=TIER_WORDING[tier])
            if tier == "2" and description.startswith("Services CPU Tier 2"):
                description = description.replace("Tier 2 ", "Tier 2  ")  # as Google writes it
            group = "CPU" if "CPU" in text else "RAM"
            out.append(_sku(description, list(regions), unit, [(0.0, prices[tier])], group))
    out.append(
        _sku(
            "Requests",
            ["global"],
            "count",
            [(0.0, 0.0), (float(FREE_REQUESTS), REQUEST_PRICE)],
            "Requests",
        )
    )
    for tier, regions in TIER_REGIONS.items():
        for region in regions:
            cpu, memory = REGION_INSTANCE_PRICES.get(region, INSTANCE_BASED[tier])
            where = f"in in {region}" if region == "asia-northeast1" else f"in {region}"
            for what, unit, price, group in (
                ("CPU", "s", cpu, "CPU"),
                ("Memory", "GiBy.s", memory, "RAM"),
            ):
                out.append(
                    _sku(
                        f"Services {what} (Instance-based billing) {where}",
                        [region],
                        unit,
                        [(0.0, price)],
                        group,
                    )
                )
                for kind in ("Jobs", "Worker Pools"):  # priced like instance-based services
                    out.append(
                        _sku(f"{kind} {what} in {region}", [region], unit, [(0.0, price)], group)
                    )
    return out


class CatalogService:
    """CloudCatalog.ListSkus for Cloud Run; any other service is NOT_FOUND."""

    def __init__(self) -> None:
        self.skus = cloud_run_skus()

    def handlers(self) -> dict[str, dict[str, tuple[Callable[[Any], bytes | Message], Any]]]:
        return {CATALOG: {"ListSkus": (self.list_skus, billing_v1.ListSkusRequest.pb())}}

    def list_skus(self, req: Any) -> Any:
        if req.parent != CLOUD_RUN_SERVICE:
            raise not_found(f"Service {req.parent!r} was not found.")
        if req.currency_code not in ("", "USD"):
            raise invalid(f"The emulator lists prices in USD only, not {req.currency_code!r}.")
        items, token = page_of(self.skus, req, ("skus", req.parent))
        resp = billing_v1.ListSkusResponse.pb()()
        resp.skus.extend(items)
        resp.next_page_token = token
        return resp
