"""sync-orders, step 1 of 3: everything the run reads, from WooCommerce, BC and the state DB. No writes.

* candidates: orders named on the command line or by webhooks (read fresh: a delivery is only a hint),
  orders that failed before (:meth:`Reader.failed_order_ids`: the poll's bookmark has moved past them),
  and the poll's pages (:meth:`Reader.orders_modified`);
* :meth:`Reader.known`: the state's record and link of each order of a page, and its buyer's customer link;
* :meth:`Reader.found`: all the BC lookups a page needs, sent together (up to ``concurrency`` at once):
  documents by externalDocumentNumber on salesOrders and salesInvoices, with their lines' type and
  description (ONE query per entity and filter chunk settles whatever a crash or a lost state DB left
  behind; the lines prove whose document it is), the SKUs not checked yet in this run
  (items by number), and the unlinked buyers by e-mail;
* :meth:`Reader.documents`: the same document lookup for a few orders, which settles a POST whose answer
  was lost.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from wcbc.adapters.bc import odata
from wcbc.core.errors import NotFoundError
from wcbc.sync.common.cursors import ORDERS_MODIFIED_AFTER
from wcbc.sync.mapping import orders as mapping
from wcbc.sync.orders.buyers import email_equals, email_filters, group_by_email
from wcbc.sync.orders.plan import LOOKUP_ENTITIES, Found, Known, Policy, buyer_link_key, external_number

log = logging.getLogger("wcbc.orders")

Query = tuple[str, dict[str, str]]
LINES = {"salesOrders": "salesOrderLines", "salesInvoices": "salesInvoiceLines"}


class Reader:
    """The read step of one run. Keeps the items checked so far, so each SKU is asked of BC once a run."""

    def __init__(self, *, woo: Any, bc: Any, state: Any, policy: Policy, options: mapping.MappingOptions,
                 concurrency: int) -> None:
        self.woo, self.bc, self.state = woo, bc, state
        self.policy = policy
        self.options = options
        self.concurrency = concurrency
        self.items: dict[str, bool | None] = {}  # BC item number (upper) -> blocked; None = not a BC item

    # ------------------------------------------------------------------ candidates

    def failed_order_ids(self, limit: int = 500) -> list[int]:
        """Orders that failed before (not on hold): retried until they succeed or go on hold."""
        keys = [r["id"].partition(":")[2] for r in self.state.records(status="failed", kind="order")]
        return [int(k) for k in keys if k.isdigit()][:limit]

    def fetch(self, ids: list[int]) -> tuple[list[dict], list[int]]:
        """The orders as they are now, and the ids WooCommerce no longer has."""
        orders, missing = [], []
        for order_id in ids:
            try:
                orders.append(self.woo.get_order(order_id))
            except NotFoundError:
                log.warning("order %s: not found in WooCommerce (deleted?)", order_id)
                missing.append(order_id)
        return orders, missing

    def bookmark(self) -> str | None:
        return self.state.cursor_get(ORDERS_MODIFIED_AFTER)

    def orders_modified(self, start: dt.datetime, upper: dt.datetime) -> Iterator[dict]:
        """The poll: orders modified in [start, upper), oldest change first."""
        return self.woo.iter_orders(modified_after=start, modified_before=upper)

    # ------------------------------------------------------------------ the state of a page

    def known(self, orders: list[dict]) -> Known:
        known = Known()
        for order in orders:
            order_id = int(order["id"])  # the store's own id: the poll and fetch only pass integer ids
            record = self.state.record_get(f"order:{order_id}")
            if record:
                known.records[order_id] = record
            link = self.state.link_get("order", str(order_id))
            if link:
                known.links[order_id] = link
            key = buyer_link_key(order, self.options)
            if key and key not in known.customers:
                customer = self.state.link_get("customer", key)
                if customer:
                    known.customers[key] = customer["bc_number"]
        return known

    # ------------------------------------------------------------------ BC lookups of a page

    def _document_queries(self, orders: list[dict]) -> list[Query]:
        numbers = sorted({n for n in (external_number(o, self.policy) for o in orders) if n})
        return [
            (entity, {"$filter": flt, "$expand": f"{LINES[entity]}($select=lineType,description)",
                      **odata.SCHEMA_2_1})
            for entity in LOOKUP_ENTITIES
            for flt in odata.in_chunks("externalDocumentNumber", numbers)
        ]

    @staticmethod
    def _merge_documents(queries: list[Query], answers: list[list[dict]]) -> dict[str, list[dict]]:
        """Every document per (upper-cased) externalDocumentNumber, the preferred one first: a posted
        invoice beats a draft, an invoice beats an order that was shipped."""
        found: dict[str, list[dict]] = {}
        for (entity, _), docs in zip(queries, answers, strict=True):
            for doc in docs:
                key = str(doc.get("externalDocumentNumber", "")).upper()
                doc["@entity"] = entity
                if entity == "salesInvoices":
                    found.setdefault(key, []).insert(0, doc)
                else:
                    found.setdefault(key, []).append(doc)
        return found

    def documents(self, orders: list[dict]) -> dict[str, list[dict]]:
        """One query per entity (per filter chunk): externalDocumentNumber in (...); all documents per key."""
        queries = self._document_queries(orders)
        return self._merge_documents(queries, [list(self.bc.iter(e, p)) for e, p in queries])

    def found(self, orders: list[dict], *, skus: set[str], emails: set[str]) -> Found:
        """The page's documents, the ``skus`` not checked yet and the buyers' ``emails``, asked together."""
        docs = self._document_queries(orders)
        items = [
            ("items", {"$filter": flt, "$select": "number,blocked", **odata.SCHEMA_2_1})
            for flt in odata.in_chunks("number", sorted(skus))
        ]
        customers = [
            ("customers", {"$filter": flt, "$select": "id,number,displayName,email", **odata.SCHEMA_2_1})
            for flt in email_filters(emails)
        ]
        queries = docs + items + customers
        if self.concurrency > 1 and len(queries) > 1:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(queries))) as pool:
                answers = list(pool.map(lambda q: list(self.bc.iter(q[0], q[1])), queries))
        else:
            answers = [list(self.bc.iter(e, p)) for e, p in queries]
        for found_items in answers[len(docs) : len(docs) + len(items)]:
            for item in found_items:
                self.items[str(item["number"]).upper()] = bool(item.get("blocked"))
        for sku in skus:
            self.items.setdefault(sku, None)
        by_email, same_email = group_by_email(c for found in answers[len(docs) + len(items) :] for c in found)
        candidates = self._merge_documents(docs, answers[: len(docs)])
        preferred = {key: found[0] for key, found in candidates.items()}
        return Found(preferred, self.items, by_email, candidates, same_email)

    def customers_by_email(self, email: str) -> list[dict]:
        """BC's customers with this e-mail (settles a customer POST whose answer was lost)."""
        return list(self.bc.iter("customers", {"$filter": email_equals(email)}))
