"""sync-items: Business Central item prices and stock -> WooCommerce products and variations.

Which items are looked at in a run (every BC read is batched; no per-item GETs):

1. BC notifications waiting in the inbox (source ``business_central``). A notification carries no data:
   ``items(<id>)`` names an item to read back; ``collection`` (over 1,000 changes) widens the modified poll
   to the time in its filter; ``deleted`` is recorded and reported, never deleted from WooCommerce.
2. Items whose ``lastModifiedDateTime`` is after the bookmark ``items.modified_after`` (price, block...).
3. Item ledger entries after ``items.ledger_entry``: stock movements change no item record and fire no item
   webhook, so the entries name the items whose stock moved.
4. Items that failed in an earlier run (not those on hold: ``wcbc replay`` re-runs them).

Items are read with one ``number eq .. or number eq ..`` (or ``id eq ..``) query per chunk and handled in
chunks of 100, each one look up -> update -> link: the product comes from the links table (no search), else
from one ``?sku=`` search per chunk; the values (:mod:`.stock`) are compared with what WooCommerce
has and only the differences are written, 100 per ``products/batch`` or ``variations/batch`` call (up to
``WOO_CONCURRENCY`` calls in flight; their answers are recorded in the calling thread, in send order). An item
whose write fails inside a batch is recorded failed (on hold after ``[items] max_attempts``); the others go
on. Bookmarks move only past committed work and never past the run's start.

Stock = BC inventory - quantity still to ship on open BC sales orders - quantity on web orders not yet
booked in BC (see :class:`Reservations` for which order statuses hold stock), floored at 0.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from wcbc.adapters.bc import odata
from wcbc.core.errors import AuthError, RemoteError, ThrottledError, UnreachableError
from wcbc.sync.items import stock
from wcbc.sync.items.catalog import Catalog, SkuMap, WooProduct, sku_key, woo_concurrency

log = logging.getLogger("wcbc.items")

CURSOR_MODIFIED = "items.modified_after"
CURSOR_LEDGER = "items.ledger_entry"
SYSTEMIC = (AuthError, UnreachableError, ThrottledError)
# `type` is read too: a Service or Non-Inventory item has no stock to push (its inventory reads 0).
ITEM_FIELDS = "id,number,displayName,type,unitPrice,inventory,blocked,priceIncludesTax,lastModifiedDateTime"
CHUNK = 100
# WooCommerce order statuses whose lines WooCommerce has already taken out of its own stock
# (wc_maybe_reduce_stock_levels runs on payment and on the change to processing, completed or on-hold).
RESERVING_STATUSES = ("processing", "on-hold", "completed")
NO_STOCK_TYPES = {"Service", "Non-Inventory", "Non_x002D_Inventory"}
_ITEM_RESOURCE = re.compile(r"/items\(([0-9A-Fa-f-]{36})\)\s*$")
_COLLECTION_TIME = re.compile(r"lastModifiedDateTime\s+gt\s+([0-9T:.\-]+Z?)", re.IGNORECASE)


# ---------------------------------------------------------------------------- small helpers


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_time(value: str | None) -> dt.datetime | None:
    """A BC or WooCommerce timestamp (``...Z``, an offset, or bare UTC) as an aware UTC datetime."""
    if not value:
        return None
    text = str(value).strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def bc_time(moment: dt.datetime) -> str:
    """An OData datetime literal: ``2026-11-26T20:15:00.123Z`` (milliseconds only when there are any)."""
    moment = moment.astimezone(dt.UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@dataclass(slots=True)
class BCItem:
    """A BC item, reduced to what item sync needs."""

    id: str
    number: str
    name: str
    type: str
    unit_price: Any
    inventory: Any
    blocked: bool
    price_includes_tax: bool
    modified: str

    @property
    def key(self) -> str:
        return sku_key(self.number)

    @property
    def modified_at(self) -> dt.datetime | None:
        return parse_time(self.modified)

    @property
    def has_stock(self) -> bool:
        return self.type not in NO_STOCK_TYPES

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> BCItem:
        return cls(
            id=str(data.get("id") or ""),
            number=str(data.get("number") or ""),
            name=str(data.get("displayName") or ""),
            type=str(data.get("type") or "Inventory"),
            unit_price=data.get("unitPrice"),
            inventory=data.get("inventory"),
            blocked=bool(data.get("blocked")),
            price_includes_tax=bool(data.get("priceIncludesTax")),
            modified=str(data.get("lastModifiedDateTime") or ""),
        )


def read_items(bc: Any, flt: str | None = None, *, orderby: str | None = None) -> Iterator[BCItem]:
    """Items (only the fields item sync needs), in BC's largest pages."""
    params: dict[str, str] = {"$select": ITEM_FIELDS}
    if flt:
        params["$filter"] = flt
    if orderby:
        params["$orderby"] = orderby
    for data in bc.iter("items", params):
        yield BCItem.from_api(data)


def newest_ledger_entry(bc: Any) -> int | None:
    """The highest item ledger entry number (one call), or None when the ledger is empty."""
    params = {"$select": "entryNumber", "$orderby": "entryNumber desc", "$top": "1"}
    rows = list(bc.iter("itemLedgerEntries", params, page_size=1))
    return int(rows[0]["entryNumber"]) if rows else None


# ---------------------------------------------------------------------------- reservations


@dataclass
class Reservations:
    """Quantities that must not be sold again in the store, per BC item number (upper-cased).

    * ``open``: still to ship on open BC sales orders (and unposted invoices when orders.target is
      ``sales_invoice``): BC's ``inventory`` drops only when a shipment or invoice is posted.
    * ``unbooked``: on WooCommerce orders not in BC yet. Statuses that hold stock are those after which
      WooCommerce has reduced its own stock: ``processing``, ``on-hold`` and ``completed``. ``pending``
      (unpaid), ``failed``, ``cancelled`` and ``refunded`` hold nothing. An order counts until it has an
      ``order`` link (booked). Read per run: orders in a booked status modified since the order sync's
      bookmark (minus its overlap), every order in a reserving status the order sync does not book (for
      example ``on-hold``: it may stay for days), and the orders whose booking failed or is on hold.
    """

    open: dict[str, Decimal] = field(default_factory=dict)
    unbooked: dict[str, Decimal] = field(default_factory=dict)
    orders_read: int = 0

    def stock(self, item: BCItem) -> int:
        return stock.sellable_stock(item.inventory, self.open.get(item.key, 0),
                                    self.unbooked.get(item.key, 0))

    @classmethod
    def read(cls, woo: Any, bc: Any, state: Any, config: Any, skus: SkuMap, *,
             started: dt.datetime) -> Reservations:
        result = cls()
        if not config.items.hold_unbooked:
            return result
        result.open = read_open_quantities(bc, config)
        orders = list(_unbooked_orders(woo, state, config, started))
        result.orders_read = len(orders)
        booked = {str(link["woo_id"]) for link in _order_links(state, orders)}
        per_sku = stock.unbooked_quantities(orders, booked)
        for sku, quantity in per_sku.items():
            number = skus.number_for(sku)
            result.unbooked[number] = result.unbooked.get(number, Decimal(0)) + quantity
        return result


def read_open_quantities(bc: Any, config: Any) -> dict[str, Decimal]:
    """One read of the open sales orders with their lines (only the fields needed), BC's largest pages."""
    line_fields = "lineType,lineObjectNumber,quantity,shippedQuantity"
    documents: list[dict] = list(bc.iter("salesOrders", {
        "$select": "id,number",
        "$expand": f"salesOrderLines($select={line_fields})",
    }))
    if getattr(config.orders, "target", "") == "sales_invoice":
        documents += list(bc.iter("salesInvoices", {
            "$filter": "status eq 'Draft'",
            "$select": "id,number,status",
            "$expand": "salesInvoiceLines($select=lineType,lineObjectNumber,quantity)",
        }))
    return stock.open_quantities(documents)


def _order_links(state: Any, orders: list[dict]) -> list[dict]:
    links = []
    for order in orders:
        link = state.link_get("order", str(order.get("id")))
        if link:
            links.append(link)
    return links


def _unbooked_orders(woo: Any, state: Any, config: Any, started: dt.datetime) -> Iterator[dict]:
    booked_statuses = [s for s in RESERVING_STATUSES if s in config.orders.statuses]
    # Reserving statuses the order sync does not book wait in WooCommerce for as long as they stay so.
    waiting = [s for s in RESERVING_STATUSES if s not in config.orders.statuses and s != "completed"]
    seen: set[int] = set()
    if booked_statuses:
        cursor = parse_time(state.cursor_get("orders.modified_after"))
        if cursor is not None:
            since = cursor - dt.timedelta(seconds=int(getattr(config.orders, "overlap_seconds", 300)))
        elif config.orders.start_date:
            since = parse_time(str(config.orders.start_date)) or started - dt.timedelta(days=1)
        else:
            since = started - dt.timedelta(days=1)
        for order in woo.iter_orders(modified_after=since, status=",".join(booked_statuses)):
            if order["id"] not in seen:
                seen.add(order["id"])
                yield order
    if waiting:
        for order in woo.iter_orders(status=",".join(waiting)):
            if order["id"] not in seen:
                seen.add(order["id"])
                yield order
    # Orders whose booking failed or is on hold (usually none): read one by one.
    for status in ("failed", "on_hold", "pending"):
        for record in state.records(status=status, kind="order"):
            order_id = str(record["id"]).partition(":")[2]
            if not order_id.isdigit() or int(order_id) in seen:
                continue
            try:
                order = woo.get_order(int(order_id))
            except SYSTEMIC:
                raise
            except RemoteError:
                continue
            seen.add(order["id"])
            if order.get("status") in RESERVING_STATUSES:
                yield order


# ---------------------------------------------------------------------------- values and writes


@dataclass
class ItemOutcome:
    number: str
    result: str  # updated | unchanged | would_update | skipped | unknown | deleted | held | failed | on_hold
    product_id: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "result": self.result, "product_id": self.product_id,
                "changes": self.changes, "before": self.before, "message": self.message}


def store_price(item: BCItem, config: Any) -> stock.StorePrice:
    """The price for the store (``ConfigError`` when a tax conversion is needed and no rate is set)."""
    return stock.price_for_store(
        item.unit_price,
        bc_includes_tax=item.price_includes_tax,
        store_includes_tax=bool(config.items.prices_include_tax or config.woocommerce.prices_include_tax),
        tax_rate=config.items.tax_rate,
        decimals=config.woocommerce.decimals,
        blocked=item.blocked,
    )


def changes_for(product: WooProduct, price: str | None, quantity: int | None) -> dict[str, Any]:
    """The minimal update of one product: never a price on a variable parent, never stock on a variable
    parent that does not manage stock itself (its variations carry it)."""
    if product.type == "variable" and product.manage_stock is not True:
        quantity = None
    return stock.product_changes(product.as_product(), price=price, stock=quantity)


def _before(product: WooProduct, changes: dict[str, Any]) -> dict[str, Any]:
    current = product.as_product()
    return {k: current.get(k) for k in changes if k != "id"}


_Queued = tuple[BCItem, WooProduct, dict[str, Any]]


@dataclass
class _Sent:
    """A batch call on its way: what was sent, and the call's future."""

    queue: list[_Queued]
    parent: int
    future: Future[list[Any]]


class Writer:
    """Queues product updates and sends them 100 per batch call; records each item's outcome.

    Products go through ``products/batch``, variations through ``products/{parent}/variations/batch``
    (WooCommerce refuses variation ids on the products endpoint). A failed item does not stop the others.

    With ``concurrency`` > 1 the batch calls run on a pool, at most ``concurrency`` in flight; the state
    is written only in the calling thread: the "sent" journal rows before a call is handed to the pool, and
    each call's outcomes (one transaction) when it is handled, in the order the calls were sent.
    :meth:`flush_all` waits for every call; :meth:`settle` for the calls holding one item; :meth:`close`
    (after an error too) handles what is still in flight and stops the pool.
    """

    def __init__(self, woo: Any, state: Any, catalog: Catalog, config: Any, *, dry_run: bool,
                 run_id: int | None, on_outcome: Any, concurrency: int | None = None) -> None:
        self.woo, self.state, self.catalog, self.config = woo, state, catalog, config
        self.dry_run = dry_run
        self.run_id = run_id
        self.on_outcome = on_outcome
        self.concurrency = max(1, int(concurrency if concurrency is not None else woo_concurrency(config)))
        self.queues: dict[int, list[_Queued]] = {}
        self.failed_numbers: set[str] = set()
        self.batches = 0
        self._pool: ThreadPoolExecutor | None = None
        self._pending: collections.deque[_Sent] = collections.deque()
        self._in_flight: collections.Counter[str] = collections.Counter()  # item number -> calls pending

    def add(self, item: BCItem, product: WooProduct, changes: dict[str, Any]) -> None:
        before = _before(product, changes)
        if self.dry_run:
            self.on_outcome(ItemOutcome(item.number, "would_update", product.id, _public(changes), before))
            return
        parent = product.parent_id if product.is_variation else 0
        queue = self.queues.setdefault(parent, [])
        queue.append((item, product, changes))
        if len(queue) >= CHUNK:
            self.flush(parent)

    def flush_all(self) -> None:
        """Send everything queued and handle every call's answer."""
        for parent in list(self.queues):
            self.flush(parent)
        while self._pending:
            self._settle_next()

    def flush(self, parent: int) -> None:
        """Send the queue of one parent (0: simple products); its answer may be handled later."""
        queue = self.queues.pop(parent, [])
        if not queue:
            return
        with _bulk(self.state):  # the intent is committed before the call
            for item, product, changes in queue:
                detail = {"product": product.id, "parent": parent or None, "changes": _public(changes),
                          "before": _before(product, changes)}
                self.state.journal(f"item:{item.number}", "sent", detail, run_id=self.run_id)
        body = [changes for _, _, changes in queue]
        self.batches += 1
        if self.concurrency <= 1:
            future: Future[list[Any]] = Future()
            try:
                future.set_result(self._send(parent, body))
            except BaseException as exc:  # noqa: BLE001 - handled (or raised) by _handle, as in the pool
                future.set_exception(exc)
            self._handle(_Sent(queue, parent, future))
            return
        while len(self._pending) >= self.concurrency:
            self._settle_next()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="wcbc-batch")
        self._pending.append(_Sent(queue, parent, self._pool.submit(self._send, parent, body)))
        self._in_flight.update(item.number for item, _, _ in queue)
        while self._pending and self._pending[0].future.done():
            self._settle_next()

    def settle(self, number: str) -> None:
        """Handle the calls sent so far that hold item ``number`` (then ``failed_numbers`` knows it)."""
        while self._in_flight.get(number) and self._pending:
            self._settle_next()

    def close(self) -> None:
        """Handle the calls still in flight (best effort: the first error stops it) and stop the pool."""
        try:
            while self._pending:
                self._settle_next()
        except BaseException as exc:  # noqa: BLE001 - closing after an error: never mask that one
            log.debug("batch answers not recorded while closing: %s", type(exc).__name__)
            self._pending.clear()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    def _send(self, parent: int, body: list[dict[str, Any]]) -> list[Any]:
        return self.woo.batch_variations(parent, body) if parent else self.woo.batch_products(body)

    def _settle_next(self) -> None:
        sent = self._pending.popleft()
        for item, _, _ in sent.queue:
            self._in_flight[item.number] -= 1
            if self._in_flight[item.number] <= 0:
                del self._in_flight[item.number]
        try:
            self._handle(sent)
        except BaseException:
            # The call failed as a whole (systemic, or not a remote error): the calls sent after it are
            # answered (or fail) anyway; record what they did, then raise the first error.
            while self._pending:
                later = self._pending.popleft()
                try:
                    self._handle(later)
                except BaseException as exc:  # noqa: BLE001 - the first error is the one raised
                    log.debug("a later batch call failed too: %s", type(exc).__name__)
            self._in_flight.clear()
            raise

    def _handle(self, sent: _Sent) -> None:
        """Record the answer of one batch call (in the calling thread, one transaction)."""
        queue = sent.queue
        try:
            results = sent.future.result()
        except SYSTEMIC:
            raise
        except RemoteError as exc:
            results = []
            error = str(exc)
        else:
            error = "no answer for this item in the batch"
        with _bulk(self.state):  # the outcomes, one transaction when the state can (no HTTP call inside)
            for (item, product, changes), result in zip(queue, results, strict=False):
                if result.ok:
                    self._written(item, product, changes, result.item or {})
                else:
                    detail = result.error or {}
                    message = f"{detail.get('code') or 'error'}: {detail.get('message') or 'refused'}"
                    self._failed(item, product, changes, message, detail.get("code"))
            for item, product, changes in queue[len(results):]:
                self._failed(item, product, changes, error, None)

    def _written(self, item: BCItem, product: WooProduct, changes: dict[str, Any], answer: dict) -> None:
        rid = f"item:{item.number}"
        try:
            after = WooProduct.from_api(answer, parent_id=product.parent_id if product.is_variation else None)
        except (KeyError, TypeError, ValueError):
            after = product.applied(changes)
        after.sku = after.sku or product.sku
        self.catalog.remember(item.number, item.id, after)
        if item.number not in self.failed_numbers:
            self.state.record_done(rid, "item", item.number,
                                   data={"product": product.id, "changes": _public(changes)})
        self.state.journal(rid, "result", {"status": "done", "product": product.id}, run_id=self.run_id)
        self.on_outcome(ItemOutcome(item.number, "updated", product.id, _public(changes),
                                    _before(product, changes)))

    def _failed(self, item: BCItem, product: WooProduct, changes: dict[str, Any], message: str,
                code: str | None) -> None:
        rid = f"item:{item.number}"
        text = f"item {item.number} -> product {product.id}: {message}"
        if code and (code.endswith("_invalid_id") or code == "woocommerce_rest_invalid_product_id"):
            # The product is gone (or moved): forget the link so the next run searches by SKU.
            self.state.link_delete("product", str(product.id))
        if item.number in self.failed_numbers:
            status = (self.state.record_get(rid) or {}).get("status", "failed")
        else:
            self.failed_numbers.add(item.number)
            status = self.state.record_fail(rid, "item", item.number, text,
                                            max_attempts=self.config.items.max_attempts)
        self.state.journal(rid, "result", {"status": status, "error": text}, run_id=self.run_id)
        log.error("%s", text)
        self.on_outcome(ItemOutcome(item.number, status, product.id, _public(changes),
                                    _before(product, changes), message=text))


def _bulk(state: Any) -> Any:
    """One transaction for a batch's state writes when the state offers ``batch()`` (else one commit each)."""
    batch = getattr(state, "batch", None)
    return batch() if callable(batch) else contextlib.nullcontext()


def _public(changes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in changes.items() if k != "id"}


# ---------------------------------------------------------------------------- the report


@dataclass
class ItemReport:
    outcomes: list[ItemOutcome] = field(default_factory=list)
    items_read: int = 0
    notifications: int = 0
    ledger_entries: int = 0
    dry_run: bool = False
    calls: dict[str, int] = field(default_factory=dict)

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.result] = counts.get(outcome.result, 0) + 1
        return counts

    @property
    def failed(self) -> bool:
        return any(o.result in ("failed", "on_hold") for o in self.outcomes)

    @property
    def unknown(self) -> list[str]:
        return [o.number for o in self.outcomes if o.result == "unknown"]

    def by_number(self) -> dict[str, str]:
        """Item number -> the worst result of its products (failed > on_hold > updated > ...)."""
        rank = {"failed": 0, "on_hold": 1, "unknown": 2, "skipped": 3, "held": 4, "deleted": 5,
                "would_update": 6, "updated": 7, "unchanged": 8}
        result: dict[str, str] = {}
        for outcome in self.outcomes:
            current = result.get(outcome.number)
            if current is None or rank.get(outcome.result, 9) < rank.get(current, 9):
                result[outcome.number] = outcome.result
        return result

    def summary(self) -> dict[str, Any]:
        return {"items_read": self.items_read, "notifications": self.notifications,
                "ledger_entries": self.ledger_entries, **self.counts, "calls": self.calls}


# ---------------------------------------------------------------------------- the sync


@dataclass
class _Wanted:
    """What the inbox, the polls and the failed records ask for in one run."""

    ids: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    since: dt.datetime | None = None
    deleted: list[str] = field(default_factory=list)
    ledger_max: int | None = None
    ledger_entries: int = 0


class ItemSync:
    def __init__(self, woo: Any, bc: Any, state: Any, config: Any, dry_run: bool = False, *,
                 run_id: int | None = None) -> None:
        self.woo, self.bc, self.state, self.config = woo, bc, state, config
        self.dry_run = dry_run
        self.run_id = run_id
        self.skus = SkuMap.load(config.items.mapping_file)
        self.catalog = Catalog(woo, state, self.skus, dry_run=dry_run, run_id=run_id,
                               concurrency=woo_concurrency(config))
        self.report = ItemReport(dry_run=dry_run)
        self.writer = Writer(woo, state, self.catalog, config, dry_run=dry_run, run_id=run_id,
                             on_outcome=self.report.outcomes.append)
        self._reservations: Reservations | None = None
        self._reported: set[str] = set()
        self._replay = False
        self.started = utcnow()

    # ------------------------------------------------------------------ entry points

    def run(self) -> ItemReport:
        """Drain BC notifications, poll modified items and ledger entries, push what differs."""
        self.started = utcnow()
        calls_before = self._calls()
        rows: list[dict] = []
        if self.dry_run:
            # Look without claiming: a dry run writes nothing, not even a claim.
            peeked = self.state.inbox_list(status="pending", source="business_central")
            wanted = self._from_inbox(peeked)
            self.report.notifications = len(peeked)
        else:
            rows = self.state.inbox_claim("business_central", limit=10_000, worker="sync-items")
            wanted = self._from_inbox(rows)
            self.report.notifications = len(rows)
        try:
            self._report_deleted(wanted.deleted)
            items: dict[str, BCItem] = {}
            # The poll first: the notified items are usually among the modified ones it returns, and only
            # the others are read by id.
            newest_polled = self._poll_modified(wanted.since, items)
            self._read_by_ids(wanted.ids - _ids_of(items), items)
            self._poll_ledger(wanted)
            for record in self.state.records(status="failed", kind="item"):
                wanted.numbers.add(str(record["key"]))
            self._read_by_numbers(wanted.numbers, items)
            self.report.items_read = len(items)
            self.report.ledger_entries = wanted.ledger_entries
            self._process(items, newest_polled)
            if not self.dry_run and wanted.ledger_max is not None:
                self.state.cursor_set(CURSOR_LEDGER, str(wanted.ledger_max))
            for row in rows:
                self.state.inbox_done(row["id"])
        except BaseException:
            self.writer.close()
            for row in rows:
                try:  # back to pending: the next run reads the notification again
                    self.state.inbox_retry(row["id"])
                except Exception:  # noqa: BLE001 - never mask the original error
                    log.debug("could not release inbox row %s", row["id"])
            raise
        self.writer.close()
        self.report.calls = self._calls_since(calls_before)
        return self.report

    def replay(self, numbers: Iterable[str]) -> dict[str, str]:
        """Re-read the named items and push them, on hold or not. Returns item number -> result."""
        self.started = utcnow()
        self._replay = True
        items: dict[str, BCItem] = {}
        wanted = [str(n) for n in numbers]
        self._read_by_numbers(set(wanted), items)
        for number in wanted:
            if sku_key(number) not in items:
                self.report.outcomes.append(
                    ItemOutcome(number, "unknown", message="no such item in Business Central"))
        try:
            self._process(items, None)
        finally:
            self.writer.close()
        return self.report.by_number()

    # ------------------------------------------------------------------ what to read

    def _from_inbox(self, rows: list[dict]) -> _Wanted:
        wanted = _Wanted()
        for row in rows:
            resource = unquote(str(row.get("resource_id") or ""))
            topic = str(row.get("topic") or "")
            body = _json(row.get("body"))
            if "/items" not in resource:
                log.debug("inbox:%s is not about items (%s): ignored", row.get("id"), resource[:80])
                continue
            if topic == "collection":
                match = _COLLECTION_TIME.search(resource)
                moment = parse_time(match.group(1)) if match else None
                if moment is None:
                    # No filter (a delete was among the changes): go back a little before the notice.
                    noticed = parse_time(body.get("lastModifiedDateTime")) or self.started
                    moment = noticed - dt.timedelta(minutes=5)
                wanted.since = moment if wanted.since is None else min(wanted.since, moment)
                continue
            match = _ITEM_RESOURCE.search(resource)
            if not match:
                continue
            item_id = match.group(1).lower()
            if topic == "deleted":
                wanted.deleted.append(item_id)
            else:
                wanted.ids.add(item_id)
        return wanted

    def _report_deleted(self, item_ids: list[str]) -> None:
        for item_id in dict.fromkeys(item_ids):
            link = self.state.link_by_bc("product", item_id)
            number = str(link.get("bc_number")) if link else f"(id {item_id})"
            reason = "deleted in Business Central: the WooCommerce product is left as it is"
            if link and not self.dry_run:
                rid = f"item:{number}"
                self.state.record_put(rid, "item", number, "skipped", error=reason)
                self.state.journal(rid, "skipped", {"reason": reason, "product": link.get("woo_id")},
                                   run_id=self.run_id)
            log.warning("item %s: %s", number, reason)
            self.report.outcomes.append(ItemOutcome(number, "deleted", int(link["woo_id"]) if link else None,
                                                    message=reason))

    def _read_by_ids(self, ids: set[str], items: dict[str, BCItem]) -> None:
        guids = [uuid.UUID(i) for i in sorted(ids) if _is_guid(i)]
        for flt in odata.any_of_chunks("id", guids):  # type: ignore[arg-type]
            for item in read_items(self.bc, flt):
                items[item.key] = item

    def _read_by_numbers(self, numbers: set[str], items: dict[str, BCItem]) -> None:
        missing = sorted({str(n).strip() for n in numbers if str(n).strip() and sku_key(n) not in items})
        for flt in odata.any_of_chunks("number", missing):
            for item in read_items(self.bc, flt):
                items[item.key] = item

    def _poll_modified(self, since: dt.datetime | None, items: dict[str, BCItem]) -> dt.datetime | None:
        """Items modified after the bookmark (or an earlier collection time). Returns the newest seen."""
        cursor = parse_time(self.state.cursor_get(CURSOR_MODIFIED))
        if cursor is None:
            cursor = self.started - dt.timedelta(days=1)
            log.info("no %s bookmark: polling items modified in the last 24 hours "
                     "(run `wcbc reconcile` once for a full initial load)", CURSOR_MODIFIED)
        start = cursor if since is None else min(cursor, since)
        newest: dt.datetime | None = None
        for item in read_items(self.bc, f"lastModifiedDateTime gt {bc_time(start)}"):
            items[item.key] = item
            moment = item.modified_at
            if moment and (newest is None or moment > newest):
                newest = moment
        return newest

    def _poll_ledger(self, wanted: _Wanted) -> None:
        last = self.state.cursor_get(CURSOR_LEDGER)
        if last is None or not str(last).lstrip("-").isdigit():
            # First run: start from the newest entry; earlier movements are in `inventory` already.
            wanted.ledger_max = newest_ledger_entry(self.bc) or 0
            return
        highest = int(last)
        for entry in self.bc.iter("itemLedgerEntries", {"$filter": f"entryNumber gt {int(last)}",
                                                         "$select": "entryNumber,itemNumber"}):
            wanted.ledger_entries += 1
            highest = max(highest, int(entry.get("entryNumber") or 0))
            if entry.get("itemNumber"):
                wanted.numbers.add(str(entry["itemNumber"]))
        if highest > int(last):
            wanted.ledger_max = highest

    # ------------------------------------------------------------------ processing

    def reservations(self) -> Reservations:
        if self._reservations is None:
            self._reservations = Reservations.read(self.woo, self.bc, self.state, self.config, self.skus,
                                                   started=self.started)
        return self._reservations

    def _process(self, items: dict[str, BCItem], newest_polled: dt.datetime | None) -> None:
        ordered = sorted(items.values(), key=lambda i: (i.modified_at or self.started, i.key))
        for chunk in chunks(ordered, CHUNK):
            self._process_chunk(chunk)
            self.writer.flush_all()
            self._advance(chunk, newest_polled)
        if newest_polled is not None:
            self._advance([], newest_polled)

    def _advance(self, chunk: list[BCItem], newest_polled: dt.datetime | None) -> None:
        """Move the modified bookmark past committed items only, never past the run's start."""
        if self.dry_run or self._replay:
            return
        moments = [m for m in (i.modified_at for i in chunk) if m is not None]
        if not chunk and newest_polled is not None:
            moments = [newest_polled]
        if not moments:
            return
        target = min(max(moments), self.started)
        current = parse_time(self.state.cursor_get(CURSOR_MODIFIED))
        if current is None or target > current:
            self.state.cursor_set(CURSOR_MODIFIED, bc_time(target))

    def _process_chunk(self, chunk: list[BCItem]) -> None:
        active: list[BCItem] = []
        for item in chunk:
            rid = f"item:{item.number}"
            record = self.state.record_get(rid)
            if record and record["status"] == "on_hold" and not self._replay:
                self.report.outcomes.append(ItemOutcome(item.number, "held",
                                                        message="on hold: run `wcbc replay` once fixed"))
                continue
            if not self.dry_run:
                read = {"unitPrice": str(item.unit_price), "inventory": str(item.inventory),
                        "blocked": item.blocked, "modified": item.modified}
                self.state.journal(rid, "read", read, run_id=self.run_id)
            price = store_price(item, self.config)
            if price.skipped:
                self._skip(item, price.skip_reason or "skipped")
                continue
            active.append(item)
        if not active:
            return
        products = self._products(active)
        for item in active:
            found = products.get(item.key)
            if not found:
                self._unknown(item)
                continue
            price = store_price(item, self.config)
            quantity = self.reservations().stock(item) if item.has_stock else None
            for product in found:
                changes = changes_for(product, price.price, quantity)
                if changes:
                    if not self.dry_run:
                        detail = {"product": product.id, "changes": _public(changes)}
                        self.state.journal(f"item:{item.number}", "mapped", detail, run_id=self.run_id)
                    self.writer.add(item, product, changes)
                else:
                    self._unchanged(item, product)

    def _products(self, items: list[BCItem]) -> dict[str, list[WooProduct]]:
        """Item key -> its products: from the links, else one ``?sku=`` search for the chunk."""
        found: dict[str, list[WooProduct]] = {}
        unlinked: list[BCItem] = []
        for item in items:
            product = self.catalog.linked(item.id)
            if product is not None and sku_key(product.sku) == sku_key(self.skus.sku_for(item.number)):
                found[item.key] = [product]
            else:
                unlinked.append(item)
        if unlinked:
            searched = self.catalog.search([i.number for i in unlinked])
            by_key = {i.key: i for i in unlinked}
            for key, products in searched.items():
                item = by_key.get(key)
                if item is None:
                    continue
                found[key] = products
                for product in products:
                    self.catalog.remember(item.number, item.id, product)
                    if not self.dry_run:
                        self.state.journal(f"item:{item.number}", "linked",
                                           {"product": product.id, "type": product.type,
                                            "parent": product.parent_id or None}, run_id=self.run_id)
        return found

    def _skip(self, item: BCItem, reason: str) -> None:
        rid = f"item:{item.number}"
        if item.key not in self._reported:
            self._reported.add(item.key)
            if not self.dry_run:
                self.state.record_put(rid, "item", item.number, "skipped", error=reason)
                self.state.journal(rid, "skipped", {"reason": reason}, run_id=self.run_id)
            log.warning("item %s: %s: nothing written", item.number, reason)
            self.report.outcomes.append(ItemOutcome(item.number, "skipped", message=reason))

    def _unknown(self, item: BCItem) -> None:
        """An item with no WooCommerce product: reported once per run, however often it was named."""
        if item.key in self._reported:
            return
        self._reported.add(item.key)
        sku = self.skus.sku_for(item.number)
        reason = f"no WooCommerce product or variation has SKU {sku!r}"
        if not self.dry_run:
            rid = f"item:{item.number}"
            self.state.record_put(rid, "item", item.number, "skipped", error=reason)
            self.state.journal(rid, "skipped", {"reason": reason}, run_id=self.run_id)
        log.info("item %s: %s", item.number, reason)
        self.report.outcomes.append(ItemOutcome(item.number, "unknown", message=reason))

    def _unchanged(self, item: BCItem, product: WooProduct) -> None:
        if not self.dry_run:
            self.writer.settle(item.number)  # a write of another of its products sent already counts
        if not self.dry_run and item.number not in self.writer.failed_numbers:
            rid = f"item:{item.number}"
            record = self.state.record_get(rid)
            if record is None or record["status"] != "done":
                self.state.record_done(rid, "item", item.number, data={"product": product.id})
        self.report.outcomes.append(ItemOutcome(item.number, "unchanged", product.id))

    # ------------------------------------------------------------------ call counting

    def _calls(self) -> dict[str, int]:
        return {"woocommerce": _total(self.woo), "business_central": _total(self.bc)}

    def _calls_since(self, before: dict[str, int]) -> dict[str, int]:
        now = self._calls()
        return {k: now[k] - before.get(k, 0) for k in now}


def _ids_of(items: dict[str, BCItem]) -> set[str]:
    """The ids of items read, as the inbox writes them (lower-case GUIDs)."""
    ids = set()
    for item in items.values():
        try:
            ids.add(str(uuid.UUID(item.id)))
        except ValueError:
            ids.add(item.id.lower())
    return ids


def _total(client: Any) -> int:
    calls = getattr(client, "calls", None)
    if calls is None:
        return 0
    try:
        return int(sum(calls.values()))
    except (AttributeError, TypeError):
        return 0


def _json(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes | bytearray):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return {}
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return body if isinstance(body, dict) else {}
