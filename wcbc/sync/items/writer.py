"""The apply step's writes: product and variation updates, 100 per WooCommerce batch call.

Products go through ``products/batch``, variations through ``products/{parent}/variations/batch``
(WooCommerce refuses variation ids on the products endpoint). An item whose write fails inside a batch is
recorded failed (on hold after ``[items] max_attempts``); the others go on.

With ``[woocommerce] concurrency`` > 1 the batch calls run on a pool, at most that many in flight; the
state is written only in the calling thread, through :class:`~wcbc.sync.common.apply.Ledger`: the "sent"
journal rows before a call is handed to the pool, and each call's outcomes (one transaction: link + record
+ journal of every product in it) when it is handled, in the order the calls were sent.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from wcbc.core.errors import SYSTEMIC, RemoteError
from wcbc.sync.common.apply import Ledger, Link
from wcbc.sync.common.pool import drain_and_stop
from wcbc.sync.items.catalog import LINK_KIND, WooProduct
from wcbc.sync.items.plan import Update, record_id
from wcbc.sync.items.report import ItemOutcome

log = logging.getLogger("wcbc.items")

BATCH = 100  # WooCommerce takes at most 100 updates per batch call


@dataclass
class _Sent:
    """A batch call on its way: what was sent, and the call's future."""

    queue: list[Update]
    parent: int
    future: Future[list[Any]]


class Writer:
    """Queues product updates and sends them 100 per batch call; records each item's outcome.

    :meth:`flush_all` waits for every call; :meth:`settle` for the calls holding one item; :meth:`close`
    (after an error too) handles what is still in flight and stops the pool.
    """

    def __init__(self, woo: Any, ledger: Ledger, config: Any, *, on_outcome: Callable[[ItemOutcome], None],
                 concurrency: int | None = None) -> None:
        self.woo, self.ledger, self.config = woo, ledger, config
        self.state = ledger.state
        self.on_outcome = on_outcome
        workers = concurrency if concurrency is not None else config.woocommerce.concurrency
        self.concurrency = max(1, int(workers))
        self.queues: dict[int, list[Update]] = {}
        self.failed_numbers: set[str] = set()
        self.batches = 0
        self._pool: ThreadPoolExecutor | None = None
        self._pending: collections.deque[_Sent] = collections.deque()
        self._in_flight: collections.Counter[str] = collections.Counter()  # item number -> calls pending

    def add(self, update: Update) -> None:
        queue = self.queues.setdefault(update.parent, [])
        queue.append(update)
        if len(queue) >= BATCH:
            self.flush(update.parent)

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
        with self.state.batch():  # the intent is committed before the call
            for update in queue:
                detail = {"product": update.product.id, "parent": parent or None, "changes": update.public,
                          "before": update.before}
                self.ledger.journal(record_id(update.item.number), "sent", detail)
        body = [update.changes for update in queue]
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
        self._in_flight.update(update.item.number for update in queue)
        while self._pending and self._pending[0].future.done():
            self._settle_next()

    def settle(self, number: str) -> None:
        """Handle the calls sent so far that hold item ``number`` (then ``failed_numbers`` knows it)."""
        while self._in_flight.get(number) and self._pending:
            self._settle_next()

    def close(self) -> None:
        """Handle the calls still in flight (best effort: the first error stops it) and stop the pool."""
        pool, self._pool = self._pool, None
        drain_and_stop(self._pending, self._settle_next, pool, log=log, what="batch answers")

    def _send(self, parent: int, body: list[dict[str, Any]]) -> list[Any]:
        return self.woo.batch_variations(parent, body) if parent else self.woo.batch_products(body)

    def _settle_next(self) -> None:
        sent = self._pending.popleft()
        for update in sent.queue:
            number = update.item.number
            self._in_flight[number] -= 1
            if self._in_flight[number] <= 0:
                del self._in_flight[number]
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
        with self.state.batch():  # the outcomes, one transaction (no HTTP call inside)
            for update, result in zip(queue, results, strict=False):
                if result.ok:
                    self._written(update, result.item or {})
                else:
                    detail = result.error or {}
                    message = f"{detail.get('code') or 'error'}: {detail.get('message') or 'refused'}"
                    self._failed(update, message, detail.get("code"))
            for update in queue[len(results):]:
                self._failed(update, error, None)

    def _written(self, update: Update, answer: dict) -> None:
        item, product = update.item, update.product
        rid = record_id(item.number)
        try:
            after = WooProduct.from_api(answer, parent_id=product.parent_id if product.is_variation else None)
        except (KeyError, TypeError, ValueError):
            after = product.applied(update.changes)
        after.sku = after.sku or product.sku
        after.restore = update.restore  # what a block changed, for the unblock to put back
        link = Link(LINK_KIND, str(after.id), str(item.id or ""), item.number, after.link_data())
        if item.number in self.failed_numbers:  # another product of the item failed: the record stays so
            with self.state.batch():
                self.state.link_set(link.kind, link.woo_id, link.bc_id, link.bc_number, link.data)
                self.ledger.journal(rid, "result", {"status": "done", "product": product.id})
        else:
            self.ledger.done(rid, "item", item.number, links=[link],
                             data={"product": product.id, "changes": update.public},
                             detail={"product": product.id})
        self.on_outcome(ItemOutcome(item.number, "updated", product.id, update.public, update.before))

    def _failed(self, update: Update, message: str, code: str | None) -> None:
        item, product = update.item, update.product
        rid = record_id(item.number)
        text = f"item {item.number} -> product {product.id}: {message}"
        if code and (code.endswith("_invalid_id") or code == "woocommerce_rest_invalid_product_id"):
            # The product is gone (or moved): forget the link so the next run searches by SKU.
            self.state.link_delete(LINK_KIND, str(product.id))
        if item.number in self.failed_numbers:
            status = (self.state.record_get(rid) or {}).get("status", "failed")
            self.ledger.journal(rid, "result", {"status": status, "error": text})
        else:
            self.failed_numbers.add(item.number)
            status = self.ledger.fail(rid, "item", item.number, text,
                                      max_attempts=self.config.items.max_attempts)
        log.error("%s", text)
        self.on_outcome(ItemOutcome(item.number, status, product.id, update.public, update.before,
                                    message=text))
