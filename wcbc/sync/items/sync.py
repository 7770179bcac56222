"""sync-items: Business Central item prices and stock -> WooCommerce products and variations.

Which items are looked at in a run (every BC read is batched; no per-item GETs):

1. BC notifications waiting in the inbox (source ``business_central``). A notification carries no data:
   ``items(<id>)`` names an item to read back; ``collection`` (over 1,000 changes) widens the modified poll
   to the time in its filter; ``deleted`` is recorded and reported, never deleted from WooCommerce.
2. Items whose ``lastModifiedDateTime`` is after the bookmark ``items.modified_after`` (price, block...).
3. Item ledger entries after ``items.ledger_entry``: stock movements change no item record and fire no item
   webhook, so the entries name the items whose stock moved.
4. Items that failed in an earlier run (not those on hold: ``wcbc replay`` re-runs them).

Each run has the three steps of every sync. Read (:mod:`.read`, :mod:`.catalog`, :mod:`.reservations`):
items are read with one ``number eq .. or number eq ..`` (or ``id eq ..``) query per chunk and handled in
chunks of 100; the product comes from the links table (no search), else from one ``?sku=`` search per
chunk. Plan (:mod:`.plan`, pure): the values (:mod:`.stock`) are compared with what WooCommerce has and
only the differences become writes. Apply (:mod:`.apply`, :mod:`.writer`): 100 writes per
``products/batch`` or ``variations/batch`` call (up to ``[woocommerce] concurrency`` calls in flight),
recorded in the calling thread, in send order. A dry run is the same plan with :class:`DryRun` in place of
:class:`Apply`: shown, nothing written. Bookmarks move only past committed work and never past the run's
start.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from wcbc.core.time import utcnow
from wcbc.sync.common import cursors
from wcbc.sync.common.batching import chunks
from wcbc.sync.items.apply import advance_modified, sink_for
from wcbc.sync.items.catalog import LINK_KIND, Catalog, SkuMap, WooProduct, sku_key
from wcbc.sync.items.plan import ITEM_ERRORS, ItemPlan, plan_item, record_id, screen
from wcbc.sync.items.read import BCItem, ItemReader, ids_of, wanted_from_inbox
from wcbc.sync.items.report import ItemOutcome, ItemReport
from wcbc.sync.items.reservations import Reservations

log = logging.getLogger("wcbc.items")

CHUNK = 100  # items looked up, planned and written together
DELETED_REASON = "deleted in Business Central: the WooCommerce product is left as it is"


class ItemSync:
    """One sync-items run (:meth:`run`) or replay of named items (:meth:`replay`)."""

    def __init__(self, woo: Any, bc: Any, state: Any, config: Any, dry_run: bool = False, *,
                 run_id: int | None = None) -> None:
        self.woo, self.bc, self.state, self.config = woo, bc, state, config
        self.dry_run = dry_run
        self.run_id = run_id
        self.skus = SkuMap.load(config.items.mapping_file)
        self.catalog = Catalog(woo, state, self.skus, concurrency=config.woocommerce.concurrency)
        self.report = ItemReport(dry_run=dry_run)
        outcome = self.report.outcomes.append
        # The one branch point of a dry run: the same plan, shown instead of performed.
        self.sink = sink_for(woo, state, config, self.report.plan, outcome, dry_run=dry_run, run_id=run_id)
        self._reservations: Reservations | None = None
        self._reported: set[str] = set()
        self._replay = False
        self.started = utcnow()

    # ------------------------------------------------------------------ entry points

    def run(self) -> ItemReport:
        """Drain BC notifications, poll modified items and ledger entries, push what differs."""
        self.started = utcnow()
        calls_before = self._calls()
        rows = self.sink.take_inbox()
        wanted = wanted_from_inbox(rows, self.started)
        self.report.notifications = len(rows)
        bad_rows = {id(row) for row, _ in wanted.bad}
        for row, cause in wanted.bad:  # a notification that cannot be read fails alone
            log.error("%s", cause)
            status = self.sink.inbox_failed(row, cause)
            self.report.outcomes.append(ItemOutcome(f"inbox:{row.get('id')}", status, message=cause))
        rows = [row for row in rows if id(row) not in bad_rows]
        reader = ItemReader(self.bc, self.state, self.started)
        try:
            self._deleted(wanted.deleted)
            items: dict[str, BCItem] = {}
            # The poll first: the notified items are usually among the modified ones it returns, and only
            # the others are read by id.
            newest_polled = reader.modified(wanted.since, items)
            reader.by_ids(wanted.ids - ids_of(items), items)
            reader.ledger(wanted)
            for record in self.state.records(status="failed", kind="item"):
                wanted.numbers.add(str(record["key"]))
            reader.by_numbers(wanted.numbers, items)
            self.report.items_read = len(items)
            self.report.ledger_entries = wanted.ledger_entries
            self._process(items, newest_polled)
            if wanted.ledger_max is not None:
                self.sink.advance(cursors.ITEMS_LEDGER_ENTRY, str(wanted.ledger_max))
            self.sink.inbox_done(rows)
        except BaseException:
            self.sink.close()
            self.sink.inbox_release(rows)
            raise
        self.sink.close()
        self.report.calls = self._calls_since(calls_before)
        return self.report

    def replay(self, numbers: Iterable[str]) -> dict[str, str]:
        """Re-read the named items and push them, on hold or not. Returns item number -> result."""
        self.started = utcnow()
        self._replay = True
        items: dict[str, BCItem] = {}
        wanted = [str(n) for n in numbers]
        ItemReader(self.bc, self.state, self.started).by_numbers(set(wanted), items)
        for number in wanted:
            if sku_key(number) not in items:
                self.report.outcomes.append(
                    ItemOutcome(number, "unknown", message="no such item in Business Central"))
        try:
            self._process(items, None)
        finally:
            self.sink.close()
        return self.report.by_number()

    def reservations(self) -> Reservations:
        """Read once per run, and only when an item with stock has a product to write it to."""
        if self._reservations is None:
            self._reservations = Reservations.read(self.woo, self.bc, self.state, self.config, self.skus,
                                                   started=self.started)
        return self._reservations

    # ------------------------------------------------------------------ chunks: read, plan, apply

    def _process(self, items: dict[str, BCItem], newest_polled: datetime | None) -> None:
        ordered = sorted(items.values(), key=lambda i: (i.modified_at or self.started, i.key))
        for chunk in chunks(ordered, CHUNK):
            self._process_chunk(chunk)
            self.sink.flush_all()
            self._advance([i.modified_at for i in chunk])
        if newest_polled is not None:
            self._advance([newest_polled])

    def _advance(self, moments: list[datetime | None]) -> None:
        """The modified bookmark moves past committed items only (a replay leaves it alone)."""
        if not self._replay:
            advance_modified(self.sink, self.state, moments, self.started)

    def _process_chunk(self, chunk: list[BCItem]) -> None:
        active: list[BCItem] = []
        for item in chunk:
            record = self.state.record_get(record_id(item.number))
            held = bool(record and record["status"] == "on_hold" and not self._replay)
            if not held:
                self.sink.read(item)
            screened = screen(item, self.config, held=held)
            if screened is not None:
                self._decided(screened)
            else:
                active.append(item)
        if not active:
            return
        products = self._products(active)
        needs_stock = any(item.has_stock and products.get(item.key) for item in active)
        reservations = self.reservations() if needs_stock else Reservations()
        for item in active:
            try:
                plan = plan_item(item, products.get(item.key, []), reservations, self.config,
                                 sku=self.skus.sku_for(item.number))
            except ITEM_ERRORS as exc:  # the planner catches its own; this is the last line per item
                plan = ItemPlan(item.number, "failed", item, reason=f"cannot be planned: {exc}",
                                failure=f"cannot be planned: {exc}")
            self._decided(plan)

    def _products(self, items: list[BCItem]) -> dict[str, list[WooProduct]]:
        """Item key -> its products: from the links, else one ``?sku=`` search for the chunk (and the
        products found are linked). A blocked item's products are always searched: a block must see the
        store's live backorders setting, which a hand edit may have changed since the link was saved."""
        found: dict[str, list[WooProduct]] = {}
        unlinked: list[BCItem] = []
        remembered: dict[int, WooProduct] = {}
        for item in items:
            product = self.catalog.linked(item.id)
            if product is not None and sku_key(product.sku) == sku_key(self.skus.sku_for(item.number)):
                if item.blocked is not True:
                    found[item.key] = [product]
                    continue
                remembered[product.id] = product
            unlinked.append(item)
        if unlinked:
            by_key = {i.key: i for i in unlinked}
            for key, products in self.catalog.search([i.number for i in unlinked]).items():
                item = by_key.get(key)
                if item is None:
                    continue
                for product in products:
                    if product.id in remembered and product.restore is None:
                        product.restore = remembered[product.id].restore
                found[key] = products
                for product in products:
                    self.sink.linked(item, product)
        return found

    def _decided(self, plan: ItemPlan) -> None:
        """Hand one item's plan to the apply step (or the dry run), and report it."""
        if plan.decision == "held":
            self.report.outcomes.append(ItemOutcome(plan.number, "held", message=plan.reason))
            return
        key = sku_key(plan.number)
        if plan.decision in ("failed", "skipped", "unknown"):
            if key in self._reported:  # reported once per run, however often it was named
                return
            self._reported.add(key)
        if plan.failure:
            # A hostile value: the record fails with its cause (visible in `wcbc failures`, retried by the
            # next run and by `wcbc replay`); what could still be planned is written all the same.
            log.error("item %s: %s", plan.number, plan.failure)
            status = self.sink.fail(plan.number, plan.failure)
            self.report.outcomes.append(ItemOutcome(plan.number, status, message=plan.failure))
        if plan.decision in ("failed", "skipped", "unknown"):
            if plan.decision == "failed" or plan.failure:
                return
            reason = plan.reason or plan.decision
            self.sink.no_write(plan.number, "skipped", reason)
            if plan.decision == "skipped":
                log.warning("item %s: %s: nothing written", plan.number, reason)
            else:
                log.info("item %s: %s", plan.number, reason)
            self.report.outcomes.append(ItemOutcome(plan.number, plan.decision, message=reason))
            return
        assert plan.item is not None
        if plan.price_note:
            log.warning("item %s: price not written: %s", plan.number, plan.price_note)
            self.sink.price_skipped(plan.number, plan.price_note)
            self.report.price_skipped.append((plan.number, plan.price_note))
        for product, update in plan.products:
            if update is not None:
                self.sink.update(update)
            else:
                self.sink.unchanged(plan.item, product)
                self.report.outcomes.append(ItemOutcome(plan.number, "unchanged", product.id))

    def _deleted(self, item_ids: list[str]) -> None:
        for item_id in dict.fromkeys(item_ids):
            link = self.state.link_by_bc(LINK_KIND, item_id)
            number = str(link.get("bc_number")) if link else f"(id {item_id})"
            if link:
                self.sink.no_write(number, "skipped", DELETED_REASON,
                                   {"reason": DELETED_REASON, "product": link.get("woo_id")})
            log.warning("item %s: %s", number, DELETED_REASON)
            self.report.outcomes.append(ItemOutcome(number, "deleted", int(link["woo_id"]) if link else None,
                                                    message=DELETED_REASON))

    # ------------------------------------------------------------------ call counting

    def _calls(self) -> dict[str, int]:
        return {"woocommerce": _total(self.woo), "business_central": _total(self.bc)}

    def _calls_since(self, before: dict[str, int]) -> dict[str, int]:
        now = self._calls()
        return {k: now[k] - before.get(k, 0) for k in now}


def _total(client: Any) -> int:
    calls = getattr(client, "calls", None)
    if calls is None:
        return 0
    try:
        return int(sum(calls.values()))
    except (AttributeError, TypeError):
        return 0
