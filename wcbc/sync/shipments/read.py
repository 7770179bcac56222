"""sync-fulfilment (shipments), step 1 of 3: everything the run reads. No writes.

Shipments have no webhooks (business-central.md §10.8): ``salesShipments`` modified since the bookmark
(minus ``fulfilment.overlap_seconds``) are polled with their lines expanded, plus the shipments that
failed before. Per run, for all of them together: the BC orders still open (``number in (...)`` with
their lines: what is left to ship), the custom tracking endpoint (§10.4: no v2.0 page has the tracking
number), and the web orders (one call per 100).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from wcbc.adapters.bc import odata
from wcbc.core.time import odata_literal, parse_strict
from wcbc.sync.common.cursors import SHIPMENTS_MODIFIED_AFTER
from wcbc.sync.shipments.plan import Tracking
from wcbc.sync.shipments.weborders import OrderLinks, confirmed

log = logging.getLogger("wcbc.shipments")


def window_start(since: dt.datetime | None, bookmark: str | None, *, overlap_seconds: int,
                 start_date: str | None, started: dt.datetime) -> dt.datetime:
    """Where the poll starts (pure): --since, else the bookmark minus the overlap, else the start date,
    else 24 hours back."""
    if since is not None:
        return since
    if bookmark:
        return parse_strict(bookmark, "bookmark") - dt.timedelta(seconds=overlap_seconds)
    if start_date:
        return parse_strict(str(start_date), "fulfilment.start_date")
    return started - dt.timedelta(days=1)


class Reader:
    def __init__(self, *, woo: Any, bc: Any, state: Any, config: Any) -> None:
        self.woo, self.bc, self.state, self.config = woo, bc, state, config
        self.links = OrderLinks(state, config.orders.number_prefix)

    def bookmark(self) -> str | None:
        return self.state.cursor_get(SHIPMENTS_MODIFIED_AFTER)

    def modified(self, start: dt.datetime) -> list[dict]:
        return list(self.bc.shipments(f"lastModifiedDateTime gt {odata_literal(start)}"))

    def by_numbers(self, numbers: list[str]) -> list[dict]:
        found: list[dict] = []
        for flt in odata.in_chunks("number", numbers):
            found.extend(self.bc.shipments(flt))
        return found

    def failed_numbers(self) -> list[str]:
        return [r["id"].partition(":")[2] for r in self.state.records(status="failed", kind="shipment")]

    def open_order_lines(self, order_numbers: list[str]) -> dict[str, list[dict]]:
        """The BC orders still there, by number, with their lines (shippedQuantity vs quantity)."""
        found: dict[str, list[dict]] = {}
        for flt in odata.in_chunks("number", order_numbers):
            params = {"$filter": flt, "$select": "id,number", "$expand": "salesOrderLines",
                      **odata.SCHEMA_2_1}
            for doc in self.bc.iter("salesOrders", params):
                found[str(doc["number"]).upper()] = list(doc.get("salesOrderLines") or [])
        return found

    def tracking(self, numbers: list[str]) -> dict[str, Tracking]:
        """The custom endpoint's tracking number and agent per shipment number ({} when not configured)."""
        f = self.config.fulfilment
        if not f.tracking_url or not numbers:
            return {}
        url = self.bc.environment_url(f.tracking_url)
        fields = (f.tracking_key_field, f.tracking_number_field, f.tracking_agent_field)
        select = ",".join(dict.fromkeys(fields))
        out: dict[str, Tracking] = {}
        for flt in odata.any_of_chunks(f.tracking_key_field, numbers):
            for row in self.bc.iter(url, {"$filter": flt, "$select": select}):
                out[str(row.get(f.tracking_key_field)).upper()] = Tracking(
                    str(row.get(f.tracking_number_field) or "").strip(),
                    str(row.get(f.tracking_agent_field) or "").strip())
        return out

    def web_orders(self, shipments: list[dict]) -> dict[str, tuple[int, dict | None]]:
        """Per shipment number: (web order id, the order) or (id, None) when it is not one of wcbc's."""
        candidates: dict[str, tuple[int, bool]] = {}
        for s in shipments:
            candidates[str(s["number"])] = self.links.candidate(
                [s.get("orderNumber")], None, s.get("externalDocumentNumber"))
        ids = {oid for oid, _ in candidates.values() if oid}
        orders = {int(o["id"]): o for o in self.woo.orders_by_ids(ids)} if ids else {}
        out: dict[str, tuple[int, dict | None]] = {}
        for s in shipments:
            oid, linked = candidates[str(s["number"])]
            order = orders.get(oid)
            if order is not None and not linked and not confirmed(order, [s.get("orderNumber")]):
                order = None
            out[str(s["number"])] = (oid, order)
        return out
