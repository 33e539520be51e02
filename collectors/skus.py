"""Cloud Run's public prices from the Cloud Billing Catalog API (CloudCatalog.ListSkus).

``fetch_skus`` lists the SKUs of the Cloud Run service (``services/152E-C115-5142``) in one
currency and decodes each into a ``CatalogSku``: its id, description, service regions and the
tiered rates of its current pricing info (``units + nanos / 1e9`` per usage unit). Which SKU
prices what is the cost model's job (costmodel.sku_book). Public prices need no IAM role; the
API must be enabled on the caller's project (docs/facts.md, Prices).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.cloud import billing_v1

from collectors import rpc
from collectors.clients import Clients
from collectors.errors import RunwatchError
from foundation.billing import CLOUD_RUN_SERVICE

PAGE_SIZE = 5000  # Cloud Run has a few hundred SKUs: one or two pages
MAX_PAGES = 20


@dataclass(frozen=True)
class CatalogSku:
    sku_id: str
    description: str
    regions: tuple[str, ...]
    usage_unit: str
    currency: str
    tiers: tuple[tuple[float, float], ...]  # (start usage amount, unit price)


def _money(m: Any) -> float:
    return float(m.units) + float(m.nanos) / 1e9


def decode(sku: Any) -> CatalogSku:
    """One Sku message (proto-plus or raw); its latest pricing info (the API lists the
    current one only unless asked for a time range; the last of a timeline is the newest)."""
    infos = list(sku.pricing_info)
    info = infos[-1] if infos else None
    expr = info.pricing_expression if info is not None else None
    rates = list(expr.tiered_rates) if expr is not None else []
    currency = {r.unit_price.currency_code for r in rates}
    return CatalogSku(
        sku_id=str(sku.sku_id),
        description=str(sku.description),
        regions=tuple(str(r) for r in sku.service_regions),
        usage_unit=str(expr.usage_unit) if expr is not None else "",
        currency=currency.pop() if len(currency) == 1 else "",
        tiers=tuple((float(r.start_usage_amount), _money(r.unit_price)) for r in rates),
    )


def fetch_skus(clients: Clients, *, currency: str = "USD") -> list[CatalogSku]:
    """Every Cloud Run SKU, priced in ``currency``. Raises RunwatchError (the API not enabled,
    unreachable, a page lost): a part of the list would price some lines and not others."""
    request = billing_v1.ListSkusRequest(
        parent=CLOUD_RUN_SERVICE, currency_code=currency, page_size=PAGE_SIZE
    )
    paged = clients.pages(
        rpc.LIST_SKUS,
        clients.catalog.list_skus,
        request,
        max_pages=MAX_PAGES,
    )
    if paged.error is not None:
        raise paged.error
    if paged.truncated:
        raise RunwatchError(f"the Cloud Run price list has more than {MAX_PAGES} pages")
    return [decode(s) for page in paged.pages for s in page.skus]
