"""The apply step of item sync and reconcile, and its dry-run twin: the one branch point of a dry run.

Both take the same calls from the orchestrator (the planned decisions, in order). :class:`Apply` performs
them: product writes through the batching :class:`~wcbc.sync.items.writer.Writer`, everything recorded
through :class:`~wcbc.sync.common.apply.Ledger` (each journal row with the run id; link + record + journal
of one record in one transaction), inbox rows claimed and settled, bookmarks moved. :class:`DryRun` writes
nothing anywhere (not even an inbox claim): it collects the planned writes and reports each as
``would_update``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from wcbc.core.time import odata_literal, parse
from wcbc.sync.common import cursors
from wcbc.sync.common.apply import Ledger
from wcbc.sync.common.bookmark import capped
from wcbc.sync.common.plan import Plan
from wcbc.sync.items.catalog import LINK_KIND, WooProduct
from wcbc.sync.items.plan import Update, record_id
from wcbc.sync.items.read import BCItem
from wcbc.sync.items.report import ItemOutcome
from wcbc.sync.items.writer import Writer

log = logging.getLogger("wcbc.items")

INBOX_SOURCE = "business_central"

LinkRow = tuple[str, str, str | None, dict[str, Any] | None]  # (product id, item id, item number, data)


class Sink(Protocol):
    """What the orchestrators hand the planned decisions to: :class:`Apply` or :class:`DryRun`."""

    plan: Plan

    def take_inbox(self) -> list[dict[str, Any]]: ...
    def inbox_done(self, rows: list[dict[str, Any]]) -> None: ...
    def inbox_release(self, rows: list[dict[str, Any]]) -> None: ...
    def read(self, item: BCItem) -> None: ...
    def linked(self, item: BCItem, product: WooProduct) -> None: ...
    def no_write(self, number: str, status: str, reason: str,
                 detail: dict[str, Any] | None = None) -> None: ...
    def fail(self, number: str, cause: str) -> str: ...
    def price_skipped(self, number: str, reason: str) -> None: ...
    def inbox_failed(self, row: dict[str, Any], cause: str) -> str: ...
    def update(self, update: Update) -> None: ...
    def unchanged(self, item: BCItem, product: WooProduct) -> None: ...
    def link_many(self, rows: list[LinkRow]) -> None: ...
    def link(self, item: BCItem, product: WooProduct) -> None: ...
    def advance(self, name: str, value: str) -> None: ...
    def flush(self, parent: int) -> None: ...
    def flush_all(self) -> None: ...
    def close(self) -> None: ...


def sink_for(woo: Any, state: Any, config: Any, plan: Plan, on_outcome: Callable[[ItemOutcome], None], *,
             dry_run: bool, run_id: int | None) -> Sink:
    """The one branch point of a dry run: the same plan, shown instead of performed."""
    if dry_run:
        return DryRun(state, plan, on_outcome)
    return Apply(woo, state, config, plan, on_outcome, run_id=run_id)


class DryRun:
    """The plan, shown: every write is collected in ``plan`` and reported ``would_update``."""

    def __init__(self, state: Any, plan: Plan, on_outcome: Callable[[ItemOutcome], None]) -> None:
        self.state = state
        self.plan = plan
        self.on_outcome = on_outcome

    # the inbox: looked at, never claimed
    def take_inbox(self) -> list[dict[str, Any]]:
        return self.state.inbox_list(status="pending", source=INBOX_SOURCE)

    def inbox_done(self, rows: list[dict[str, Any]]) -> None:
        pass

    def inbox_release(self, rows: list[dict[str, Any]]) -> None:
        pass

    # what was read and decided
    def read(self, item: BCItem) -> None:
        pass

    def linked(self, item: BCItem, product: WooProduct) -> None:
        pass

    def no_write(self, number: str, status: str, reason: str, detail: dict[str, Any] | None = None) -> None:
        pass

    def fail(self, number: str, cause: str) -> str:
        return "failed"

    def price_skipped(self, number: str, reason: str) -> None:
        pass

    def inbox_failed(self, row: dict[str, Any], cause: str) -> str:
        return "failed"

    def update(self, update: Update) -> None:
        self.plan.add(update.write)
        self.on_outcome(ItemOutcome(update.item.number, "would_update", update.product.id, update.public,
                                    update.before))

    def unchanged(self, item: BCItem, product: WooProduct) -> None:
        pass

    def link_many(self, rows: list[LinkRow]) -> None:
        pass

    def link(self, item: BCItem, product: WooProduct) -> None:
        pass

    def advance(self, name: str, value: str) -> None:
        pass

    # the writes in flight: there are none
    def flush(self, parent: int) -> None:
        pass

    def flush_all(self) -> None:
        pass

    def close(self) -> None:
        pass


class Apply:
    """The plan, performed and recorded."""

    def __init__(self, woo: Any, state: Any, config: Any, plan: Plan,
                 on_outcome: Callable[[ItemOutcome], None], *, run_id: int | None) -> None:
        self.state = state
        self.plan = plan
        self.ledger = Ledger(state, run_id)
        self.writer = Writer(woo, self.ledger, config, on_outcome=on_outcome)
        self.max_attempts = int(config.items.max_attempts)

    def take_inbox(self) -> list[dict[str, Any]]:
        return self.state.inbox_claim(INBOX_SOURCE, limit=10_000, worker="sync-items")

    def inbox_done(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.state.inbox_done(row["id"])

    def inbox_release(self, rows: list[dict[str, Any]]) -> None:
        """Back to pending: the next run reads the notifications again."""
        for row in rows:
            try:
                self.state.inbox_retry(row["id"])
            except Exception:  # noqa: BLE001 - called while an error propagates: never mask it
                log.debug("could not release inbox row %s", row["id"])

    def read(self, item: BCItem) -> None:
        self.ledger.journal(record_id(item.number), "read", {
            "unitPrice": str(item.unit_price), "inventory": str(item.inventory), "blocked": item.blocked,
            "modified": item.modified})

    def linked(self, item: BCItem, product: WooProduct) -> None:
        """A product found by SKU: linked to the item, and the journal says so, together."""
        with self.state.batch():
            self.link(item, product)
            self.ledger.journal(record_id(item.number), "linked", {
                "product": product.id, "type": product.type, "parent": product.parent_id or None})

    def no_write(self, number: str, status: str, reason: str, detail: dict[str, Any] | None = None) -> None:
        self.ledger.put(record_id(number), "item", number, status, error=reason,
                        detail=detail if detail is not None else {"reason": reason})

    def fail(self, number: str, cause: str) -> str:
        """The item's record fails (counted toward on hold); its writes, if any, leave it failed."""
        self.writer.settle(number)  # the answers of its writes already sent come first
        self.writer.failed_numbers.add(number)
        return self.ledger.fail(record_id(number), "item", number, cause, max_attempts=self.max_attempts)

    def price_skipped(self, number: str, reason: str) -> None:
        self.ledger.journal(record_id(number), "price_skipped", {"reason": reason})

    def inbox_failed(self, row: dict[str, Any], cause: str) -> str:
        """A notification that cannot be read: its inbox row and an ``inbox:<id>`` record fail with the
        cause, together."""
        with self.state.batch():
            self.state.inbox_fail(row["id"], cause[:1000])
            self.ledger.put(f"inbox:{row['id']}", "inbox", str(row["id"]), "failed", error=cause,
                            step="result", detail={"status": "failed", "error": cause})
        return "failed"

    def update(self, update: Update) -> None:
        """The write is journaled and queued. An item's journal is in the order of its decisions whatever
        the concurrency: the answers of the item's writes already sent (another product of the same SKU)
        are recorded first."""
        self.plan.add(update.write)
        self.writer.settle(update.item.number)
        self.ledger.journal(update.write.record, "mapped", {"product": update.product.id,
                                                            "changes": update.public})
        self.writer.add(update)

    def unchanged(self, item: BCItem, product: WooProduct) -> None:
        """The product is right: the item's record is done, unless another of its products failed."""
        self.writer.settle(item.number)  # a write of another of its products sent already counts
        if item.number in self.writer.failed_numbers:
            return
        rid = record_id(item.number)
        record = self.state.record_get(rid)
        if record is None or record["status"] != "done":
            self.ledger.done(rid, "item", item.number, data={"product": product.id},
                             detail={"product": product.id, "unchanged": True})

    def link_many(self, rows: list[LinkRow]) -> None:
        if rows:
            self.state.link_set_many(LINK_KIND, rows)

    def link(self, item: BCItem, product: WooProduct) -> None:
        self.state.link_set(LINK_KIND, str(product.id), str(item.id or ""), item.number, product.link_data())

    def advance(self, name: str, value: str) -> None:
        self.state.cursor_set(name, value)

    def flush(self, parent: int) -> None:
        self.writer.flush(parent)

    def flush_all(self) -> None:
        self.writer.flush_all()

    def close(self) -> None:
        self.writer.close()


def advance_modified(sink: Sink, state: Any, moments: Iterable[datetime | None], started: datetime) -> None:
    """Move ``items.modified_after`` to the newest of ``moments`` (committed items), never past the run's
    start and never back; nothing when no moment is known."""
    known = [m for m in moments if m is not None]
    if not known:
        return
    target = capped(known, started)
    current = parse(state.cursor_get(cursors.ITEMS_MODIFIED_AFTER))
    if current is None or target > current:
        sink.advance(cursors.ITEMS_MODIFIED_AFTER, odata_literal(target))
