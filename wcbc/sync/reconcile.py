"""reconcile: compare every BC item with every WooCommerce product and put the differences right.

Reads (the call budget the benchmark checks):

* BC: every item in ceil(items / 20,000) calls (BC's largest page, only the fields compared), the open
  sales orders with their lines in one more, the item ledger's newest entry number in one more;
* WooCommerce: products 100 a page, the variations of each variable product (one call each), the web
  orders that still hold stock (usually two calls), and writes 100 per batch call.

Products are streamed page by page and compared against an index of BC items that keeps only the compared
fields (20,000 items stay well under 200 MB). Products whose values differ are queued and written 100 at a
time; a product edited by hand in WooCommerce is put back to BC's values. With ``dry_run`` nothing is
written anywhere (no WooCommerce write, no state write): the report lists what would change.

``orders=True`` adds an order check for a period: web orders (booked statuses) with no BC document, BC
documents (sales orders and invoices with an external document number) with no web order, two BC
documents for one web order, and totals that differ beyond ``[orders] total_tolerance``. It only reports.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from wcbc.core.errors import RecordError
from wcbc.sync.items.catalog import Catalog, SkuMap, WooProduct, woo_concurrency
from wcbc.sync.items.sync import (
    CURSOR_LEDGER,
    CURSOR_MODIFIED,
    BCItem,
    ItemOutcome,
    Reservations,
    Writer,
    bc_time,
    changes_for,
    newest_ledger_entry,
    parse_time,
    read_items,
    store_price,
    utcnow,
)
from wcbc.sync.mapping import orders as mapping

log = logging.getLogger("wcbc.reconcile")
# Without a bulk link write in the state, up to this many new links are saved one commit each.
NEW_LINKS_ONE_BY_ONE = 500


@dataclass
class Difference:
    """One product whose values differ from BC (written, or to write in a dry run, or failed)."""

    number: str
    product_id: int
    sku: str
    before: dict[str, Any]
    after: dict[str, Any]
    result: str  # updated | would_update | failed | on_hold
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "product_id": self.product_id,
            "sku": self.sku,
            "before": self.before,
            "after": self.after,
            "result": self.result,
            "message": self.message,
        }


@dataclass
class OrderIssue:
    kind: str  # missing_in_bc | missing_in_woo | duplicate | total_differs
    external_number: str
    order_id: int | None = None
    documents: list[str] = field(default_factory=list)
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "external_number": self.external_number,
            "order_id": self.order_id,
            "documents": self.documents,
            "detail": self.detail,
        }


@dataclass
class OrdersCheck:
    since: str
    woo_orders: int = 0
    bc_documents: int = 0
    matched: int = 0
    issues: list[OrderIssue] = field(default_factory=list)

    def of(self, kind: str) -> list[OrderIssue]:
        return [i for i in self.issues if i.kind == kind]

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "woo_orders": self.woo_orders,
            "bc_documents": self.bc_documents,
            "matched": self.matched,
            "issues": [i.as_dict() for i in self.issues],
        }


@dataclass
class ReconcileReport:
    dry_run: bool = False
    bc_items: int = 0
    woo_products: int = 0  # products and variations listed
    differences: list[Difference] = field(default_factory=list)
    already_right: int = 0
    woo_only: list[str] = field(default_factory=list)  # SKUs in WooCommerce that no BC item has
    bc_only: list[str] = field(default_factory=list)  # BC item numbers with no WooCommerce product
    duplicates: dict[str, list[int]] = field(default_factory=dict)  # SKU -> product/variation ids
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (item number, reason): blocked, price 0
    without_sku: int = 0
    orders: OrdersCheck | None = None
    calls: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def updated(self) -> list[Difference]:
        return [d for d in self.differences if d.result == "updated"]

    @property
    def failed(self) -> bool:
        return any(d.result in ("failed", "on_hold") for d in self.differences)

    @property
    def has_differences(self) -> bool:
        return bool(self.differences or (self.orders and self.orders.issues))

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for diff in self.differences:
            counts[diff.result] = counts.get(diff.result, 0) + 1
        result: dict[str, Any] = {
            "bc_items": self.bc_items,
            "woo_products": self.woo_products,
            "already_right": self.already_right,
            **counts,
            "woo_only": len(self.woo_only),
            "bc_only": len(self.bc_only),
            "duplicates": len(self.duplicates),
            "skipped": len(self.skipped),
            "dry_run": self.dry_run,
        }
        if self.orders is not None:
            for issue in self.orders.issues:
                key = f"orders_{issue.kind}"
                result[key] = result.get(key, 0) + 1
        return result

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "differences": [d.as_dict() for d in self.differences],
            "woo_only_skus": self.woo_only,
            "bc_only_items": self.bc_only,
            "duplicate_skus": self.duplicates,
            "skipped_items": [{"number": n, "reason": r} for n, r in self.skipped],
            "orders": self.orders.as_dict() if self.orders else None,
            "calls": self.calls,
        }


class Reconciler:
    def __init__(
        self,
        woo: Any,
        bc: Any,
        state: Any,
        config: Any,
        dry_run: bool = False,
        *,
        run_id: int | None = None,
        on_progress: Callable[..., None] | None = None,
    ) -> None:
        self.woo, self.bc, self.state, self.config = woo, bc, state, config
        self.dry_run = dry_run
        self.run_id = run_id
        self.on_progress = on_progress or (lambda n=1: None)
        self.skus = SkuMap.load(config.items.mapping_file)
        self.catalog = Catalog(woo, state, self.skus, dry_run=dry_run, run_id=run_id,
                               concurrency=woo_concurrency(config))
        self.report = ReconcileReport(dry_run=dry_run)
        self.writer = Writer(
            woo, state, self.catalog, config, dry_run=dry_run, run_id=run_id, on_outcome=self._outcome
        )
        self._skus_by_id: dict[int, str] = {}
        self._new_links: list[tuple[str, str, str, dict[str, Any]]] = []

    # ------------------------------------------------------------------ entry point

    def run(self, orders: bool = False, since: dt.datetime | None = None) -> ReconcileReport:
        started = utcnow()
        before = {
            "woocommerce": dict(getattr(self.woo, "calls", {}) or {}),
            "business_central": dict(getattr(self.bc, "calls", {}) or {}),
        }
        ledger_top = newest_ledger_entry(self.bc)
        items = self._read_items()
        newest = max((m for m in (i.modified_at for i in items.values()) if m is not None), default=None)
        reservations = Reservations.read(
            self.woo, self.bc, self.state, self.config, self.skus, started=started
        )
        try:
            self._compare(items, reservations)
        finally:
            self.writer.close()  # after an error too: the writes in flight are recorded, the pool stopped
        if not self.dry_run:
            self._bookmarks(newest, started, ledger_top)
        if orders:
            self.report.orders = self._check_orders(since, started)
        self.report.calls = {
            "woocommerce": _delta(getattr(self.woo, "calls", {}) or {}, before["woocommerce"]),
            "business_central": _delta(getattr(self.bc, "calls", {}) or {}, before["business_central"]),
        }
        return self.report

    # ------------------------------------------------------------------ items

    def _read_items(self) -> dict[str, BCItem]:
        items: dict[str, BCItem] = {}
        for item in read_items(self.bc):
            if not item.number:
                continue
            items[item.key] = item
        self.report.bc_items = len(items)
        return items

    def _bookmarks(self, newest: dt.datetime | None, started: dt.datetime, ledger_top: int | None) -> None:
        """Everything read is now in WooCommerce: sync-items need not read it again."""
        if self.report.failed:
            return  # failed items are retried by sync-items; keep its bookmarks where they are
        if newest is not None:
            target = min(newest, started)
            current = parse_time(self.state.cursor_get(CURSOR_MODIFIED))
            if current is None or target > current:
                self.state.cursor_set(CURSOR_MODIFIED, bc_time(target))
        if ledger_top is not None:
            current_entry = self.state.cursor_get(CURSOR_LEDGER)
            if current_entry is None or not current_entry.isdigit() or ledger_top > int(current_entry):
                self.state.cursor_set(CURSOR_LEDGER, str(ledger_top))

    def _compare(self, items: dict[str, BCItem], reservations: Reservations) -> None:
        seen: dict[str, int] = {}  # SKU key -> first product id
        matched: set[str] = set()
        skipped: set[str] = set()
        prices: dict[str, str | None] = {}
        watched = {r["key"] for r in self.state.records(status="failed", kind="item")}
        watched |= {r["key"] for r in self.state.records(status="on_hold", kind="item")}
        open_parent = 0
        # closing(): an error in the loop stops the listing's reader threads at once
        with contextlib.closing(self.catalog.iter_all()) as listing:
            for product in listing:
                self.report.woo_products += 1
                self.on_progress(1)
                parent = product.parent_id if product.is_variation else 0
                if open_parent and parent != open_parent:
                    self.writer.flush(open_parent)  # the variations of one parent come together: one call
                open_parent = parent
                if not product.sku.strip():
                    self.report.without_sku += 1
                    continue
                key = product.key
                if key in seen:
                    ids = self.report.duplicates.setdefault(product.sku.strip(), [seen[key]])
                    ids.append(product.id)
                else:
                    seen[key] = product.id
                number_key = self.skus.number_for(product.sku)
                item = items.get(number_key)
                if item is None:
                    if product.type != "variable":
                        self.report.woo_only.append(product.sku)
                    continue
                matched.add(number_key)
                if number_key not in prices:
                    price = store_price(item, self.config)
                    if price.skipped:
                        prices[number_key] = None
                        if number_key not in skipped:
                            skipped.add(number_key)
                            self._skip(item, price.skip_reason or "skipped")
                    else:
                        prices[number_key] = price.price
                if prices[number_key] is None:
                    continue
                quantity = reservations.stock(item) if item.has_stock else None
                changes = changes_for(product, prices[number_key], quantity)
                if changes:
                    self._skus_by_id[product.id] = product.sku
                    self.writer.add(item, product, changes)
                else:
                    self.report.already_right += 1
                    self._refresh_link(item, product, item.number in watched or item.key in watched)
        self.writer.flush_all()
        self._save_new_links()
        self.report.bc_only = sorted(items[k].number for k in items.keys() - matched)
        self.report.woo_only.sort()

    def _refresh_link(self, item: BCItem, product: WooProduct, was_failing: bool) -> None:
        """Keep the links table right for products already right: a stale link is rewritten; new links
        are saved together at the end (one transaction when the state offers ``link_set_many``)."""
        if self.dry_run:
            return
        link = self.state.link_get("product", str(product.id))
        if link is None:
            self._new_links.append((str(product.id), item.id, item.number, product.link_data()))
        elif link.get("bc_id") != item.id or link.get("data") != product.link_data():
            self.catalog.remember(item.number, item.id, product)
        if was_failing:
            self.writer.settle(item.number)  # a write of another of its products sent already counts
        if was_failing and item.number not in self.writer.failed_numbers:
            self.state.record_done(f"item:{item.number}", "item", item.number, data={"product": product.id})

    def _save_new_links(self) -> None:
        if not self._new_links:
            return
        bulk = getattr(self.state, "link_set_many", None)
        if callable(bulk):
            bulk("product", self._new_links)
        elif len(self._new_links) <= NEW_LINKS_ONE_BY_ONE:
            for woo_id, bc_id, number, data in self._new_links:
                self.state.link_set("product", woo_id, bc_id, number, data)
        else:
            # One commit per link would make a large first reconcile slow: sync-items links these lazily
            # (one ?sku= search per 100 items) the first time it needs them.
            log.info(
                "%d products are right but not linked yet; sync-items links them when needed",
                len(self._new_links),
            )
        self._new_links = []

    def _skip(self, item: BCItem, reason: str) -> None:
        self.report.skipped.append((item.number, reason))
        if not self.dry_run:
            rid = f"item:{item.number}"
            self.state.record_put(rid, "item", item.number, "skipped", error=reason)
            self.state.journal(rid, "skipped", {"reason": reason, "by": "reconcile"}, run_id=self.run_id)

    def _outcome(self, outcome: ItemOutcome) -> None:
        product_id = outcome.product_id or 0
        self.report.differences.append(
            Difference(
                number=outcome.number,
                product_id=product_id,
                sku=self._skus_by_id.get(product_id, ""),
                before=outcome.before,
                after=outcome.changes,
                result=outcome.result,
                message=outcome.message,
            )
        )

    # ------------------------------------------------------------------ orders

    def _check_orders(self, since: dt.datetime | None, started: dt.datetime) -> OrdersCheck:
        cfg = self.config.orders
        if since is None:
            start_date = parse_time(str(cfg.start_date)) if cfg.start_date else None
            since = start_date or started - dt.timedelta(days=30)
        check = OrdersCheck(since=bc_time(since))
        prefix = cfg.number_prefix or ""
        web: dict[str, dict[str, Any]] = {}  # external number -> {"id", "total"}
        for order in self.woo.iter_orders(modified_after=since, status=",".join(cfg.statuses)):
            check.woo_orders += 1
            try:
                number = mapping.document_number(order, prefix)
            except RecordError as exc:
                check.issues.append(
                    OrderIssue("missing_in_bc", str(order.get("number")), order.get("id"), detail=str(exc))
                )
                continue
            web[number.upper()] = {
                "id": order.get("id"),
                "total": order.get("total"),
                "number": order.get("number"),
            }
        documents: dict[str, list[dict[str, Any]]] = {}
        day = since.date().isoformat()
        for entity, date_field, fields in (
            (
                "salesOrders",
                "orderDate",
                "id,number,externalDocumentNumber,totalAmountIncludingTax,orderDate",
            ),
            (
                "salesInvoices",
                "invoiceDate",
                "id,number,externalDocumentNumber,totalAmountIncludingTax,invoiceDate,orderNumber,status",
            ),
        ):
            params = {"$filter": f"{date_field} ge {day} and externalDocumentNumber ne ''", "$select": fields}
            for doc in self.bc.iter(entity, params):
                ext = str(doc.get("externalDocumentNumber") or "").strip().upper()
                if not ext:
                    continue
                check.bc_documents += 1
                documents.setdefault(ext, []).append(
                    {
                        "entity": entity,
                        "id": doc.get("id"),
                        "number": str(doc.get("number") or ""),
                        "total": doc.get("totalAmountIncludingTax"),
                        "orderNumber": doc.get("orderNumber") or "",
                    }
                )
        tolerance = Decimal(str(cfg.total_tolerance))
        for ext, info in sorted(web.items()):
            docs = documents.get(ext)
            if not docs:
                check.issues.append(
                    OrderIssue(
                        "missing_in_bc",
                        ext,
                        info["id"],
                        detail=f"web order {info['number']} has no BC document",
                    )
                )
                continue
            check.matched += 1
            distinct = _distinct_documents(docs)
            if len(distinct) > 1:
                check.issues.append(
                    OrderIssue(
                        "duplicate",
                        ext,
                        info["id"],
                        [f"{d['entity']} {d['number']}" for d in distinct],
                        detail=f"{len(distinct)} BC documents carry external document number {ext}",
                    )
                )
            doc = next((d for d in distinct if d["entity"] == "salesInvoices"), distinct[0])
            try:
                result = mapping.compare_totals(
                    {"total": info["total"], "number": info["number"]},
                    {"totalAmountIncludingTax": doc["total"]},
                    tolerance,
                )
            except RecordError as exc:
                check.issues.append(
                    OrderIssue("total_differs", ext, info["id"], [doc["number"]], detail=str(exc))
                )
                continue
            if not result.within_tolerance:
                check.issues.append(
                    OrderIssue(
                        "total_differs",
                        ext,
                        info["id"],
                        [f"{doc['entity']} {doc['number']}"],
                        detail=f"WooCommerce {result.woo_total} vs BC {result.bc_total} "
                        f"(difference {result.difference}, tolerance {tolerance})",
                    )
                )
        for ext, docs in sorted(documents.items()):
            if ext in web:
                continue
            distinct = _distinct_documents(docs)
            if len(distinct) > 1:
                check.issues.append(
                    OrderIssue(
                        "duplicate",
                        ext,
                        None,
                        [f"{d['entity']} {d['number']}" for d in distinct],
                        detail=f"{len(distinct)} BC documents carry external document number {ext}",
                    )
                )
            linked = any(self.state.link_by_bc("order", str(d["id"])) for d in distinct)
            if not linked:
                check.issues.append(
                    OrderIssue(
                        "missing_in_woo",
                        ext,
                        None,
                        [f"{d['entity']} {d['number']}" for d in distinct],
                        detail="no WooCommerce order in the period carries this number",
                    )
                )
        return check


def _distinct_documents(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents of one external number, without the invoice made by shipping one of the orders.

    Shipping and invoicing an order leaves the order (until fully invoiced) and a posted invoice whose
    ``orderNumber`` names it: one sale, not a duplicate.
    """
    orders = {d["number"] for d in docs if d["entity"] == "salesOrders"}
    result = []
    seen: set[tuple[str, str]] = set()
    for doc in docs:
        if doc["entity"] == "salesInvoices" and doc.get("orderNumber") and doc["orderNumber"] in orders:
            continue
        key = (doc["entity"], str(doc["id"]))
        if key not in seen:
            seen.add(key)
            result.append(doc)
    return result


def _delta(now: Any, before: dict[str, int]) -> dict[str, int]:
    result = {}
    for key, value in dict(now).items():
        diff = int(value) - int(before.get(key, 0))
        if diff:
            result[key] = diff
    result["total"] = sum(result.values())
    return result


__all__ = ["Difference", "OrderIssue", "OrdersCheck", "ReconcileReport", "Reconciler"]
