"""sync-fulfilment (shipments), step 3 of 3: the one place that writes, recording through the Ledger.

Each write is looked up before it is created (a kill or a lost state DB between two writes repeats
nothing): the tracking item by its number on the extension's route, the note by the shipment number in the
order's customer notes. The status goes together with the meta key that marks the shipment done, in one
order update; those updates wait until the run's notes and tracking items are written and go out in
``orders/batch`` calls of 100 (:meth:`Applier.flush`; after the tracking, as the Completed e-mail shows
it). The shipment's link, its ``done`` record and the journal row commit in one transaction (Ledger.done)
once its update is confirmed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from wcbc.core.errors import SYSTEMIC, AmbiguousWriteError, RecordError, WcbcError
from wcbc.sync.common.apply import Ledger, Link
from wcbc.sync.common.batching import chunks
from wcbc.sync.common.outcome import Outcome
from wcbc.sync.common.plan import Write
from wcbc.sync.shipments.plan import Policy, ShipmentPlan

log = logging.getLogger("wcbc.shipments")
KIND = "shipment"
BATCH = 100  # WooCommerce's orders/batch limit


class LostAnswer(RecordError):
    """A write's answer was lost and the lookup does not show it yet: retried, not counted toward on_hold
    (the shipment did nothing wrong)."""


class Applier:
    def __init__(self, *, woo: Any, state: Any, policy: Policy, run_id: int | None,
                 replay: bool = False) -> None:
        self.woo, self.state, self.policy, self.replay = woo, state, policy, replay
        self.ledger = Ledger(state, run_id)
        self.waiting: list[tuple[ShipmentPlan, dict[str, Any]]] = []

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
        try:
            self._ship(plan)
        except SYSTEMIC:
            raise
        except LostAnswer as exc:
            return self._failed(plan, str(exc), counted=False)
        except WcbcError as exc:
            return self._failed(plan, str(exc))
        return None

    def _once(self, rid: str, write: Write, found: Callable[[], bool], create: Callable[[], Any]) -> None:
        """Look up, then create: a write whose answer was lost is settled by the same lookup."""
        if found():
            self.ledger.journal(rid, "retried", {write.action: "found on the order"})
            return
        self.ledger.journal(rid, "sent", {write.action: write.key})
        try:
            create()
        except AmbiguousWriteError as exc:
            if not found():
                raise LostAnswer(f"the answer to {write.action} was lost ({exc}); not found yet") from exc
            self.ledger.journal(rid, "retried", {write.action: "settled by lookup"})

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
        outcomes: list[Outcome] = []
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

    def _ship(self, plan: ShipmentPlan) -> None:
        rid, number, oid = plan.rid, plan.number, plan.order_id
        self.ledger.intend(rid, KIND, number, {"order": oid, "full": plan.full,
                                                "writes": [w.action for w in plan.writes]})
        for write in plan.writes:
            if write.action == "add_tracking":
                self._once(rid, write, lambda w=write: self._has_tracking(oid, w.key),
                           lambda w=write: self.woo.add_shipment_tracking(oid, w.body))
            elif write.action == "add_note":
                self._once(rid, write, lambda: self._has_note(oid, number),
                           lambda w=write: self.woo.add_customer_note(oid, w.body["note"]))
            elif write.action == "update_order":
                self.ledger.journal(rid, "sent", {"update_order": write.body.get("status") or "meta only"})
                self.waiting.append((plan, write.body))
