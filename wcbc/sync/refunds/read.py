"""Refunds and cancellations, step 1 of 3: what the step reads (adapters and the state DB only).

Per page of orders the order sync handled: the state's refund records and order links (no call), then,
only for the booked orders that have refunds, booked refunds or a cancellation: the refunds with their
lines (``GET /orders/{id}/refunds``), ONE round of BC lookups for the page (the orders' documents by
externalDocumentNumber on salesOrders and salesInvoices, the credit memos by externalDocumentNumber), and,
for a cancellation, the order's BC document read fresh with its lines.
"""

from __future__ import annotations

import logging
from typing import Any

from wcbc.adapters.bc import odata
from wcbc.core.errors import NotFoundError, RecordError
from wcbc.sync.mapping.orders import document_number

log = logging.getLogger("wcbc.refunds")

ORDER_ENTITIES = ("salesOrders", "salesInvoices")


class RefundReader:
    def __init__(self, *, woo: Any, bc: Any, state: Any, prefix: str) -> None:
        self.woo, self.bc, self.state = woo, bc, state
        self.prefix = prefix

    def records(self, order_ids: set[int]) -> dict[int, dict[int, dict[str, Any]]]:
        """order id -> refund id -> the refund's state record."""
        out: dict[int, dict[int, dict[str, Any]]] = {}
        for rec in self.state.records(kind="refund"):
            order, _, refund = rec["id"].partition(":")[2].partition("-")
            if order.isdigit() and refund.isdigit() and int(order) in order_ids:
                out.setdefault(int(order), {})[int(refund)] = rec
        return out

    def failed_order_ids(self, limit: int = 500) -> list[int]:
        ids = []
        for kind in ("refund", "cancel"):
            for rec in self.state.records(status="failed", kind=kind):
                order = rec["id"].partition(":")[2].partition("-")[0]
                if order.isdigit():
                    ids.append(int(order))
        return list(dict.fromkeys(ids))[:limit]

    def link(self, order_id: int) -> dict[str, Any] | None:
        return self.state.link_get("order", str(order_id))

    def record(self, record_id: str) -> dict[str, Any] | None:
        return self.state.record_get(record_id)

    def refunds(self, order: dict[str, Any]) -> list[dict[str, Any]]:
        return self.woo.order_refunds(order["id"]) if order.get("refunds") else []

    def ext(self, order: dict[str, Any]) -> str | None:
        try:
            return document_number(order, self.prefix)
        except RecordError:
            return None

    def lookups(
        self, orders: list[dict[str, Any]], memo_keys: list[str]
    ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
        """The orders' BC documents by externalDocumentNumber (upper) and the credit memos by key (upper)."""
        numbers = sorted({n for n in (self.ext(o) for o in orders) if n})
        docs: dict[str, list[dict[str, Any]]] = {}
        for entity in ORDER_ENTITIES:
            for flt in odata.in_chunks("externalDocumentNumber", numbers):
                for doc in self.bc.iter(entity, {"$filter": flt, **odata.SCHEMA_2_1}):
                    doc["@entity"] = entity
                    docs.setdefault(str(doc.get("externalDocumentNumber", "")).upper(), []).append(doc)
        memos: dict[str, dict[str, Any]] = {}
        for flt in odata.in_chunks("externalDocumentNumber", sorted(set(memo_keys))):
            for doc in self.bc.iter("salesCreditMemos", {"$filter": flt, **odata.SCHEMA_2_1}):
                memos[str(doc.get("externalDocumentNumber", "")).upper()] = doc
        return docs, memos

    def memo_keys(self, order: dict[str, Any], refund_ids: list[int]) -> list[str]:
        ext = self.ext(order)
        return [f"{ext}-R{rid}".upper() for rid in refund_ids] if ext else []

    def order_document(self, order: dict[str, Any], link: dict[str, Any]) -> dict[str, Any] | None:
        """The order's BC document as it is now: the linked one (a sales order with its lines), else what
        BC holds under its externalDocumentNumber (a posted invoice made from the order, say)."""
        entity = (link.get("data") or {}).get("entity")
        bc_id = str(link.get("bc_id") or "")
        if entity == "salesOrders" and not bc_id.startswith("number:"):
            try:
                doc = self.bc.get(f"salesOrders({bc_id})", {"$expand": "salesOrderLines"})
                doc["@entity"] = "salesOrders"
                return doc
            except NotFoundError:
                pass
        ext = self.ext(order)
        found = None
        for entity_set in ORDER_ENTITIES:
            for flt in odata.in_chunks("externalDocumentNumber", [ext] if ext else []):
                for doc in self.bc.iter(entity_set, {"$filter": flt, **odata.SCHEMA_2_1}):
                    doc["@entity"] = entity_set
                    if found is None or entity_set == "salesInvoices":
                        found = doc
        if found is not None and found["@entity"] == "salesOrders":
            found = self.bc.get(f"salesOrders({found['id']})", {"$expand": "salesOrderLines"})
            found["@entity"] = "salesOrders"
        return found

    def open_sales_order(
        self, order: dict[str, Any], refunds: list[dict[str, Any]], booked: dict[int, dict[str, Any]],
        order_docs: list[dict[str, Any]],
    ) -> dict[str, Any] | None:
        """The order's BC sales order read fresh with its lines, when a refund not yet booked may reduce it
        (target ``sales_order``); None otherwise (no call)."""
        if not any((booked.get(int(r["id"])) or {}).get("status") != "done" for r in refunds):
            return None
        doc = next((d for d in order_docs if d.get("@entity") == "salesOrders"), None)
        return self.sales_order(str(doc["id"])) if doc is not None else None

    def sales_order(self, bc_id: str) -> dict[str, Any]:
        doc = self.bc.get(f"salesOrders({bc_id})", {"$expand": "salesOrderLines"})
        doc["@entity"] = "salesOrders"
        return doc
