"""reconcile: compare every BC item with every WooCommerce product and put the differences right.

Reads (the call budget the benchmark checks):

* BC: every item in ceil(items / 20,000) calls (BC's largest page, only the fields compared), the open
  sales orders with their lines in one more, the item ledger's newest entry number in one more;
* WooCommerce: products 100 a page, the variations of each variable product (one call each), the web
  orders that still hold stock (usually two calls), and writes 100 per batch call.

Products are streamed page by page and compared against an index of BC items that keeps only the compared
fields (20,000 items stay well under 200 MB). The plan of each product is the item planner's
(:func:`wcbc.sync.items.plan.update_for`); the writes go through the same apply step as sync-items, 100 at
a time; a product edited by hand in WooCommerce is put back to BC's values. A dry run is the same plan
shown (:class:`~wcbc.sync.items.apply.DryRun`): no WooCommerce write, no state write.

``orders=True`` adds the order check of :mod:`wcbc.sync.reconcile.orders` for a period; it only reports.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from wcbc.core.time import utcnow
from wcbc.sync.common import cursors
from wcbc.sync.items.apply import LinkRow, advance_modified, sink_for
from wcbc.sync.items.catalog import Catalog, SkuMap, WooProduct
from wcbc.sync.items.plan import ITEM_ERRORS, Target, target_for, update_for
from wcbc.sync.items.read import BCItem, newest_ledger_entry, read_items
from wcbc.sync.items.report import ItemOutcome
from wcbc.sync.items.reservations import Reservations
from wcbc.sync.reconcile.orders import check_orders
from wcbc.sync.reconcile.report import Difference, ReconcileReport

log = logging.getLogger("wcbc.reconcile")


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
        self.catalog = Catalog(woo, state, self.skus, concurrency=config.woocommerce.concurrency)
        self.report = ReconcileReport(dry_run=dry_run)
        # The one branch point of a dry run: the same plan, shown instead of performed.
        self.sink = sink_for(woo, state, config, self.report.plan, self._outcome, dry_run=dry_run,
                             run_id=run_id)
        self._skus_by_id: dict[int, str] = {}
        self._new_links: list[LinkRow] = []

    # ------------------------------------------------------------------ entry point

    def run(self, orders: bool = False, since: datetime | None = None) -> ReconcileReport:
        started = utcnow()
        before = {"woocommerce": _calls(self.woo), "business_central": _calls(self.bc)}
        ledger_top = newest_ledger_entry(self.bc)
        items = self._read_items()
        newest = max((m for m in (i.modified_at for i in items.values()) if m is not None), default=None)
        reservations = Reservations.read(self.woo, self.bc, self.state, self.config, self.skus,
                                         started=started)
        try:
            self._compare(items, reservations)
        finally:
            self.sink.close()  # after an error too: the writes in flight are recorded, the pool stopped
        self._bookmarks(newest, started, ledger_top)
        if orders:
            self.report.orders = check_orders(self.woo, self.bc, self.state, self.config, since, started)
        self.report.calls = {
            "woocommerce": _delta(_calls(self.woo), before["woocommerce"]),
            "business_central": _delta(_calls(self.bc), before["business_central"]),
        }
        return self.report

    # ------------------------------------------------------------------ read

    def _read_items(self) -> dict[str, BCItem]:
        items: dict[str, BCItem] = {}
        for item in read_items(self.bc):
            if not item.number:
                continue
            items[item.key] = item
        self.report.bc_items = len(items)
        return items

    # ------------------------------------------------------------------ plan and apply, product by product

    def _compare(self, items: dict[str, BCItem], reservations: Reservations) -> None:
        seen: dict[str, int] = {}  # SKU key -> first product id
        matched: set[str] = set()
        targets: dict[str, Target] = {}  # item key -> what its products should show
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
                    self.sink.flush(open_parent)  # the variations of one parent come together: one call
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
                if number_key not in targets:
                    targets[number_key] = self._target(item, reservations)
                target = targets[number_key]
                if not target.writes_anything:
                    continue
                product = self._remembered(product, target)
                try:
                    update = update_for(item, product, target)
                except ITEM_ERRORS as exc:
                    self._fail(item.number, f"product {product.id}: {exc}", product.id)
                    continue
                if update is not None:
                    self._skus_by_id[product.id] = product.sku
                    self.sink.update(update)
                else:
                    self.report.already_right += 1
                    self._already_right(item, product, item.number in watched or item.key in watched)
        self.sink.flush_all()
        self.sink.link_many(self._new_links)  # one transaction, however many
        self._new_links = []
        self.report.bc_only = sorted(items[k].number for k in items.keys() - matched)
        self.report.woo_only.sort()

    def _target(self, item: BCItem, reservations: Reservations) -> Target:
        """What the item's products should show; a skipped price (reported once: the stock is still
        compared) and a hostile value (the item's record fails) are recorded here."""
        target = target_for(item, reservations, self.config)
        if target.failure:
            self._fail(item.number, target.failure, 0)
        elif target.price_note:
            reason = target.price_note
            self.report.skipped.append((item.number, reason))
            self.sink.no_write(item.number, "skipped", reason, {"reason": reason, "by": "reconcile"})
        return target

    def _fail(self, number: str, cause: str, product_id: int) -> None:
        log.error("item %s: %s", number, cause)
        status = self.sink.fail(number, cause)
        self._outcome(ItemOutcome(number, status, product_id or None, message=cause))

    def _remembered(self, product: WooProduct, target: Target) -> WooProduct:
        """The listing knows nothing of a block: what one changed is in the product's link, read only for
        the products a block concerns (a blocked item's, or one out of stock)."""
        if not (target.blocked or product.stock_status == "outofstock"):
            return product
        link = self.state.link_get("product", str(product.id))
        remembered = WooProduct.from_link(link) if link else None
        if remembered is not None and remembered.restore:
            product.restore = remembered.restore
        return product

    def _already_right(self, item: BCItem, product: WooProduct, was_failing: bool) -> None:
        """Keep the links table right for products already right: a stale link is rewritten at once, new
        links are saved together at the end; an item that was failing is done."""
        link = self.state.link_get("product", str(product.id))
        if link is None:
            self._new_links.append((str(product.id), item.id, item.number, product.link_data()))
        elif link.get("bc_id") != item.id or link.get("data") != product.link_data():
            self.sink.link(item, product)
        if was_failing:
            self.sink.unchanged(item, product)

    def _bookmarks(self, newest: datetime | None, started: datetime, ledger_top: int | None) -> None:
        """Everything read is now in WooCommerce: sync-items need not read it again."""
        if self.report.failed:
            return  # failed items are retried by sync-items; keep its bookmarks where they are
        advance_modified(self.sink, self.state, [newest], started)
        if ledger_top is not None:
            current = self.state.cursor_get(cursors.ITEMS_LEDGER_ENTRY)
            if current is None or not current.isdigit() or ledger_top > int(current):
                self.sink.advance(cursors.ITEMS_LEDGER_ENTRY, str(ledger_top))

    def _outcome(self, outcome: ItemOutcome) -> None:
        product_id = outcome.product_id or 0
        self.report.differences.append(Difference(
            number=outcome.number,
            product_id=product_id,
            sku=self._skus_by_id.get(product_id, ""),
            before=outcome.before,
            after=outcome.changes,
            result=outcome.result,
            message=outcome.message,
        ))


def _calls(client: Any) -> dict[str, int]:
    return dict(getattr(client, "calls", {}) or {})


def _delta(now: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    result = {}
    for key, value in now.items():
        diff = int(value) - int(before.get(key, 0))
        if diff:
            result[key] = diff
    result["total"] = sum(result.values())
    return result
