"""Telling the store what was booked: the BC number as order meta, and an order note.

* The meta (:data:`wcbc.sync.mapping.orders.DOCUMENT_META_KEY`) goes out in one ``orders/batch`` call per
  100 orders. During the poll it waits until the last page was read: the store pages by offset ordered by
  date_modified, so writing while paging would move the written orders behind the unread ones, shift the
  unread ones onto pages already read, and the poll would never see them. The ``order.updated`` echo it
  causes is recognised by the order's fingerprint.
* With ``orders.add_note``, one note per newly booked order (WooCommerce has no batch for notes), sent by
  a small pool (``woocommerce.concurrency``) in the background: a note does not move date_modified, so it
  cannot disturb the paging, and it overlaps the next page's BC work. :meth:`WriteBack.close` waits.

Both are cosmetic next to the link: a failure is logged and the next run writes the meta again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from wcbc.core.errors import WcbcError
from wcbc.sync.common.batching import chunks
from wcbc.sync.mapping.orders import DOCUMENT_META_KEY

log = logging.getLogger("wcbc.orders")

BATCH = 100  # WooCommerce's orders/batch limit


def meta_update(order_id: int, number: str) -> dict[str, Any]:
    """The orders/batch update that puts the BC number on an order."""
    return {"id": order_id, "meta_data": [{"key": DOCUMENT_META_KEY, "value": number}]}


def note_text(number: str) -> str:
    return f"Booked in Business Central as {number} by wcbc."


class WriteBack:
    """The write-backs and notes of one run."""

    def __init__(self, woo: Any, *, workers: int, on_answer: Callable[[dict], None] | None = None) -> None:
        self.woo = woo
        self.workers = workers
        self.on_answer = on_answer  # each order WooCommerce answers with (a reading of the store's clock)
        self.page: list[dict[str, Any]] = []  # this page's meta updates
        self.deferred: list[dict[str, Any]] = []  # the poll's, sent once its last page was read
        self._notes: ThreadPoolExecutor | None = None

    def meta(self, order_id: int, number: str) -> None:
        self.page.append(meta_update(order_id, number))

    def note(self, order_id: int, number: str) -> None:
        if self._notes is None:
            self._notes = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="wcbc-notes")
        self._notes.submit(self._add_note, order_id, note_text(number))

    def end_page(self, *, defer: bool) -> None:
        """Send this page's meta updates now, or keep them for :meth:`flush` (the poll)."""
        updates, self.page = self.page, []
        if defer:
            self.deferred.extend(updates)
        else:
            self._send(updates)

    def flush(self) -> None:
        updates, self.deferred = self.deferred, []
        self._send(updates)

    def close(self) -> None:
        if self._notes is not None:
            self._notes.shutdown(wait=True)
            self._notes = None

    def _send(self, updates: list[dict[str, Any]]) -> None:
        for part in chunks(updates, BATCH):
            try:
                for result in self.woo.batch_orders(part):
                    if not result.ok:
                        log.warning("write-back to order %s failed: %s", result.id, result.error)
                    elif self.on_answer is not None and isinstance(result.item, dict):
                        self.on_answer(result.item)
            except WcbcError as exc:
                # The BC document exists and is linked: a failed write-back loses nothing.
                log.warning("write-back of BC numbers failed (%s); the next run will retry it", exc)

    def _add_note(self, order_id: int, text: str) -> None:
        try:
            self.woo.add_order_note(order_id, text)
        except WcbcError as exc:  # cosmetic: the meta write-back is what counts
            log.warning("order %s: the note naming its BC document was not added (%s)", order_id, exc)
