"""sync-fulfilment (shipments), step 3 of 3: the one place that writes, recording through the Ledger.

Each write is looked up before it is created (a kill or a lost state DB between two writes repeats
nothing): the tracking item by its number on the extension's route, the note by the shipment number in the
order's customer notes. The status goes together with the meta key that marks the shipment done, in one
order update; those updates wait until the run's notes and tracking items are written and go out in
``orders/batch`` calls of 100 (:meth:`Applier.flush`; after the tracking, as the Completed e-mail shows
it). The shipment's link, its ``done`` record and the journal row commit in one transaction (Ledger.done)
once its update is confirmed.

With ``[woocommerce] concurrency`` > 1 the notes and tracking items of several shipments are written at
once, by a small pool (at most that many shipments in flight; two shipments of one order never at the
same time, as the extension keeps an order's tracking items in one meta value). A worker only talks to
WooCommerce and returns what it did as journal rows; the state is written in the calling thread alone,
through the Ledger: the intent (``pending`` + the writes planned) before the shipment is handed to the
pool, its rows and outcome when its worker is done, in the order the shipments were sent.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from wcbc.core.errors import SYSTEMIC, AmbiguousWriteError, RecordError, WcbcError
from wcbc.sync.common.apply import Ledger, Link
from wcbc.sync.common.batching import chunks
from wcbc.sync.common.outcome import Outcome
from wcbc.sync.common.plan import Write
from wcbc.sync.common.pool import drain_and_stop
from wcbc.sync.shipments.plan import Policy, ShipmentPlan

log = logging.getLogger("wcbc.shipments")
KIND = "shipment"
BATCH = 100  # WooCommerce's orders/batch limit


class LostAnswer(RecordError):
    """A write's answer was lost and the lookup does not show it yet: retried, not counted toward on_hold
    (the shipment did nothing wrong)."""


@dataclass
class _Done:
    """What a worker did for one shipment: its journal rows, in order, and the error that stopped it."""

    rows: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    error: BaseException | None = None


class Applier:
    def __init__(self, *, woo: Any, state: Any, policy: Policy, run_id: int | None,
                 replay: bool = False, concurrency: int = 1) -> None:
        self.woo, self.state, self.policy, self.replay = woo, state, policy, replay
        self.ledger = Ledger(state, run_id)
        self.waiting: list[tuple[ShipmentPlan, dict[str, Any]]] = []
        self.concurrency = max(1, int(concurrency))
        self._pool: ThreadPoolExecutor | None = None
        self._pending: collections.deque[tuple[ShipmentPlan, Future[_Done]]] = collections.deque()
        self._settled: list[Outcome] = []  # outcomes of shipments whose writes failed, for flush

    def apply(self, plan: ShipmentPlan) -> Outcome | None:
        """The shipment's outcome, or None when its order update waits for :meth:`flush`."""
        rid, number = plan.rid, plan.number
        record = self.state.record_get(rid)
        if plan.decision == "skipped":
            if record and record["status"] == "skipped":
                return Outcome(rid, "unchanged", number, message=plan.reason)
            self.ledger.put(rid, KIND, number, "skipped", error=plan.reason)
            return Outcome(rid, "skipped", number, message=plan.reason)
        if plan.decision == "unchanged":
            if not record or record["status"] != "done":
                self.ledger.journal(rid, "retried",
                                    {"settled_by_lookup": "order meta", "order": plan.order_id})
                self.ledger.done(rid, KIND, number, links=[self._link(plan)], detail={"order": plan.order_id})
            return Outcome(rid, "unchanged", number, document=str(plan.order_id))
        if record and record["status"] == "on_hold" and not self.replay:
            return Outcome(rid, "held", number, message=f"on hold: wcbc replay {rid}")
        self.ledger.intend(rid, KIND, number, {"order": plan.order_id, "full": plan.full,
                                               "writes": [w.action for w in plan.writes]})
        if self.concurrency <= 1:
            done: Future[_Done] = Future()
            done.set_result(self._writes(plan))
            return self._settle(plan, done)
        while self._pending and (len(self._pending) >= self.concurrency
                                 or any(p.order_id == plan.order_id for p, _ in self._pending)):
            self._settle_next()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="wcbc-ship")
        self._pending.append((plan, self._pool.submit(self._writes, plan)))
        while self._pending and self._pending[0][1].done():
            self._settle_next()
        return None

    def close(self) -> None:
        """Record what the shipments still in flight did (best effort after an error); stop the pool."""
        pool, self._pool = self._pool, None
        drain_and_stop(self._pending, self._settle_next, pool, log=log, what="shipment writes")

    def _settle_next(self) -> None:
        plan, future = self._pending.popleft()
        outcome = self._settle(plan, future)
        if outcome is not None:
            self._settled.append(outcome)

    def _settle(self, plan: ShipmentPlan, future: Future[_Done]) -> Outcome | None:
        """Record one shipment's writes (calling thread); its order update waits for :meth:`flush`."""
        done = future.result()
        for step, detail in done.rows:
            self.ledger.journal(plan.rid, step, detail)
        if isinstance(done.error, SYSTEMIC):
            raise done.error
        if isinstance(done.error, LostAnswer):
            return self._failed(plan, str(done.error), counted=False)
        if isinstance(done.error, WcbcError):
            return self._failed(plan, str(done.error))
        if done.error is not None:
            raise done.error
        for write in plan.writes:
            if write.action == "update_order":
                status = write.body.get("status") or "meta only"
                self.ledger.journal(plan.rid, "sent", {"update_order": status})
                self.waiting.append((plan, write.body))
        return None

    def _writes(self, plan: ShipmentPlan) -> _Done:
        """The shipment's note and tracking item, each looked up before it is created (no state here)."""
        done, oid, number = _Done(), plan.order_id, plan.number
        try:
            for write in plan.writes:
                if write.action == "add_tracking":
                    self._once(done, write, lambda w=write: self._has_tracking(oid, w.key),
                               lambda w=write: self.woo.add_shipment_tracking(oid, w.body))
                elif write.action == "add_note":
                    self._once(done, write, lambda: self._has_note(oid, number),
                               lambda w=write: self.woo.add_customer_note(oid, w.body["note"]))
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread, which raises or records
            done.error = exc
        return done

    def _once(self, done: _Done, write: Write, found: Callable[[], bool], create: Callable[[], Any]) -> None:
        """Look up, then create: a write whose answer was lost is settled by the same lookup."""
        if found():
            done.rows.append(("retried", {write.action: "found on the order"}))
            return
        done.rows.append(("sent", {write.action: write.key}))
        try:
            create()
        except AmbiguousWriteError as exc:
            if not found():
                raise LostAnswer(f"the answer to {write.action} was lost ({exc}); not found yet") from exc
            done.rows.append(("retried", {write.action: "settled by lookup"}))

    def _has_tracking(self, order_id: int, number: str) -> bool:
        return number in {str(t.get("tracking_number")) for t in self.woo.shipment_trackings(order_id)}

    def _has_note(self, order_id: int, shipment_number: str) -> bool:
        return any(f"(shipment {shipment_number})" in str(n.get("note"))
                   for n in self.woo.customer_notes(order_id))

    def _link(self, plan: ShipmentPlan) -> Link:
        return Link("shipment", f"{plan.order_id}:{plan.number}", str(plan.shipment.get("id") or plan.number),
                    str(plan.shipment.get("orderNumber") or ""),
                    {"order_id": plan.order_id, "full": plan.full})

    def flush(self) -> list[Outcome]:
        """Send the waiting order updates (status + meta key) per 100; settle each shipment by its result."""
        while self._pending:
            self._settle_next()
        outcomes, self._settled = self._settled, []
        waiting, self.waiting = self.waiting, []
        for part in chunks(waiting, BATCH):
            try:
                results = self.woo.batch_orders([{"id": p.order_id, **body} for p, body in part])
            except SYSTEMIC:
                raise
            except WcbcError as exc:  # the call failed, not these shipments: not counted toward on_hold
                outcomes += [self._failed(p, str(exc), counted=False) for p, _ in part]
                continue
            for (plan, body), result in zip(part, results, strict=True):
                if not result.ok:
                    error = result.error or {}
                    outcomes.append(self._failed(plan, f"{error.get('code')}: {error.get('message')}"))
                    continue
                status = body.get("status")
                self.ledger.done(plan.rid, KIND, plan.number, links=[self._link(plan)],
                                 detail={"order": plan.order_id, "full": plan.full, "status": status})
                outcomes.append(Outcome(plan.rid, "shipped", plan.number, document=str(plan.order_id),
                                        detail={"full": plan.full, **({"status": status} if status else {})}))
        return outcomes

    def _failed(self, plan: ShipmentPlan, message: str, *, counted: bool = True) -> Outcome:
        if counted:
            status = self.ledger.fail(plan.rid, KIND, plan.number, message,
                                      max_attempts=self.policy.max_attempts)
        else:
            status = "failed"
            self.ledger.fail_uncounted(plan.rid, KIND, plan.number, message)
        log.warning("shipment %s: %s", plan.number, message)
        return Outcome(plan.rid, status, plan.number, document=str(plan.order_id), message=message)
