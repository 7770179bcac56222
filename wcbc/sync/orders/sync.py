"""sync-orders: each WooCommerce order becomes exactly one BC sales document.

:class:`OrderSync` is the thin orchestrator of the three steps every sync has:

1. read (:mod:`.read`): candidates from the webhook inbox (a hint: the order is read fresh), explicit ids,
   orders that failed before, then the poll's pages (:mod:`.poll`); per page, the state's records and
   links and ONE round of BC lookups (documents by externalDocumentNumber, items, customers by e-mail);
2. plan (:mod:`.plan`, pure): per order a decision (unchanged, conflict, held, skipped, linked, book,
   rejected...) and the writes it needs, each with its idempotency key;
3. apply (:mod:`.apply`): the writes, through the adapters, recorded through the Ledger (link, record and
   journal of an order in one transaction), the BC number written back (:mod:`.writeback`).

``--dry-run`` is the one branch: the same plans go to :class:`~wcbc.sync.orders.preview.Preview`, which
prints them and writes nothing, instead of :class:`~wcbc.sync.orders.apply.Applier`. The bookmark moves
only past orders whose outcome (done, failed, skipped...) is committed, by the store's clock
(:mod:`.poll`, :mod:`.clock`); ``clock`` is this host's (injectable: tests skew it).

Every order is isolated: whatever its content makes a step raise, that order alone fails with the cause
(:func:`wcbc.sync.orders.plan.isolated`; the apply step likewise) and the run goes on. Keys are claimed per
run: an order whose externalDocumentNumber equals, for BC, one already taken in this run is refused
before any write.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Any

from wcbc.core.time import utcnow
from wcbc.sync.common.batching import chunks
from wcbc.sync.common.outcome import Outcomes
from wcbc.sync.items.catalog import SkuMap
from wcbc.sync.mapping import orders as mapping
from wcbc.sync.orders import plan
from wcbc.sync.orders.apply import Applier
from wcbc.sync.orders.clock import StoreClock
from wcbc.sync.orders.poll import poll as poll_window
from wcbc.sync.orders.preview import Preview
from wcbc.sync.orders.read import Reader
from wcbc.sync.orders.report import Outcome, Report
from wcbc.sync.refunds.sync import RefundStep

__all__ = ["OrderSync", "Outcome", "Report"]

log = logging.getLogger("wcbc.orders")

EXPLICIT_PAGE = 100  # orders named on the command line or by webhooks, read and booked per 100


class OrderSync:
    def __init__(
        self,
        *,
        woo: Any,
        bc: Any,
        state: Any,
        config: Any,
        dry_run: bool = False,
        replay: bool = False,
        force: bool = False,
        concurrency: int | None = None,
        run_id: int | None = None,
        on_progress: Callable[..., None] | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or utcnow
        self.store_clock = StoreClock(woo, self.clock)
        self.keys: dict[str, Any] = {}  # externalDocumentNumbers claimed in this run -> {"id", "number"}
        self.options = mapping.MappingOptions.from_config(config)
        self.policy = plan.Policy.from_config(config, self.options, replay=replay, force=force)
        self.concurrency = concurrency or config.business_central.max_concurrency
        self.report = Report(outcomes=Outcomes(on_add=on_progress))
        # Shops whose SKUs differ from BC item numbers map them in [items] mapping_file (both directions).
        self.skus = SkuMap.load(config.items.mapping_file)
        self.item_numbers = self.skus.numbers_by_sku()
        self.reader = Reader(woo=woo, bc=bc, state=state, policy=self.policy, options=self.options,
                             concurrency=self.concurrency)
        self.sink: Applier | Preview
        if dry_run:
            self.sink = Preview(policy=self.policy, report=self.report)
        else:
            self.sink = Applier(woo=woo, bc=bc, state=state, reader=self.reader, policy=self.policy,
                                options=self.options, report=self.report, run_id=run_id,
                                concurrency=self.concurrency, woo_concurrency=config.woocommerce.concurrency,
                                store_clock=self.store_clock)
        self.refunds = RefundStep(woo=woo, bc=bc, state=state, config=config, options=self.options,
                                  report=self.report, item_numbers=self.item_numbers, dry_run=dry_run,
                                  run_id=run_id, replay=replay)

    # ------------------------------------------------------------------ entry point

    def run(
        self,
        *,
        since: dt.datetime | None = None,
        order_ids: Iterable[int] | None = None,
        limit: int | None = None,
        poll: bool = True,
        drain_inbox: bool = True,
        retry_failed: bool | None = None,
    ) -> Report:
        """Book the candidates; returns the report.

        ``poll``: read the orders modified since the bookmark. ``retry_failed``: try again the orders that
        failed before (default: as ``poll``; serve's per-delivery runs poll nothing and retry nothing, or
        every delivery would use up an order's attempts). Explicit ``order_ids`` exclude both, and the inbox.
        """
        started = self.clock().replace(microsecond=0)
        explicit = [int(i) for i in order_ids or []]
        retry = (poll if retry_failed is None else retry_failed) and not explicit
        inbox_rows = self.sink.claim_inbox() if drain_inbox and not explicit else []
        try:
            report = self._run(started, explicit, inbox_rows, since=since, limit=limit, poll=poll,
                               retry=retry)
        finally:
            self.sink.close()
        self._check_clock(report)
        return report

    def _check_clock(self, report: Report) -> None:
        """Warn when this host's clock and the store's disagree by more than half the overlap."""
        report.clock_skew = self.store_clock.skew()
        warning = self.store_clock.warning(int(self.config.orders.overlap_seconds))
        if warning:
            log.warning("%s", warning)
            report.warnings.append(warning)

    def _run(self, started: dt.datetime, explicit: list[int], inbox_rows: list[dict], *,
             since: dt.datetime | None, limit: int | None, poll: bool, retry: bool) -> Report:
        hinted = sorted({int(r["resource_id"]) for r in inbox_rows
                         if str(r.get("resource_id") or "").isdigit()})
        budget = limit
        try:
            # 1. orders named on the command line or by webhooks, and the failed ones: read fresh.
            retried = self.reader.failed_order_ids() + self.refunds.failed_order_ids() if retry else []
            wanted = list(dict.fromkeys(explicit + hinted + retried))
            seen = set(wanted)  # the poll does not read them a second time
            for ids in chunks(wanted, EXPLICIT_PAGE):
                orders, missing = self.reader.fetch(ids)
                for order_id in missing:
                    self.sink.not_found(order_id)
                if budget is not None:
                    orders = orders[:budget]
                    budget -= len(orders)
                self._page(orders, defer=False)
                if budget is not None and budget <= 0:
                    break
            self.sink.inbox_done(inbox_rows)
            # 2. the poll backfills whatever a webhook missed.
            if poll and not explicit and (budget is None or budget > 0):
                poll_window(reader=self.reader, sink=self.sink, process=lambda p: self._page(p, defer=True),
                            cfg=self.config.orders, since=since, started=started, seen=seen, budget=budget,
                            clock=self.store_clock)
        except BaseException:
            self.sink.inbox_release(inbox_rows)
            raise
        return self.report

    # ------------------------------------------------------------------ one page

    def _page(self, orders: list[dict], *, defer: bool) -> None:
        """Read, plan and settle one page; its write-back is sent now or, during the poll, deferred."""
        orders = [o for o in orders if _has_id(o)]
        known = self.reader.known(orders)
        waiting: list[dict] = []
        to_book: list[plan.OrderPlan] = []
        for order in orders:
            triaged = plan.isolated(order, lambda o=order: plan.triage(o, known, self.policy))
            if triaged is None:
                waiting.append(order)
                continue
            if triaged.decision == "rejected":  # unreadable: recorded as failed by the apply step
                to_book.append(triaged)
                continue
            if triaged.link is not None:  # booked before: its key stays claimed in this run
                key = plan.external_number(order, self.policy)
                if key:
                    self.keys.setdefault(key, {"id": order["id"], "number": order.get("number")})
            self.report.outcomes.append(self.sink.settle(triaged))
        systemic: BaseException | None = None
        if waiting:
            found = self.reader.found(
                waiting,
                skus=plan.wanted_skus(waiting, self.skus, self.reader.items),
                emails=plan.wanted_emails(waiting, known, self.options),
            )
            plans = [plan.decide(o, known, found, self.policy, self.options, self.skus, self.item_numbers,
                                 claimed=self.keys) for o in waiting]
            for p in plans:
                if p.decision in ("book", "rejected", "linked"):
                    to_book.append(p)  # BC writes, or a failure to record: each order isolated
                else:
                    self.report.outcomes.append(self.sink.settle(p))
        if to_book:
            outcomes, systemic = self.sink.book(to_book)
            for outcome in outcomes:
                self.report.outcomes.append(outcome)
        self.sink.end_page(defer=defer)
        if systemic is not None:
            raise systemic
        self.refunds.page(orders)  # refunds and cancellations of the page's booked orders


def _has_id(order: Any) -> bool:
    """Only an order with the store's integer id can be recorded (and so failed, retried, replayed)."""
    ok = isinstance(order, dict) and isinstance(order.get("id"), int) and not isinstance(order["id"], bool)
    if not ok:
        log.error("an order without an integer id was skipped: %.200r", order)
    return ok
