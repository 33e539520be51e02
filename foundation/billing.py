"""Google's identifier of Cloud Run in the Cloud Billing Catalog: the parent of its SKUs
(docs/facts.md, Prices: From the Cloud Billing Catalog). One home for the collectors that list
the SKUs, the cost model that names where its prices came from, and the emulator that serves
them."""

from __future__ import annotations

CLOUD_RUN_SERVICE = "services/152E-C115-5142"
