"""Refunds and cancellations, step 3 of 3: perform the plans; the one place that writes, through the Ledger.

A credit memo follows look up -> create -> check -> link: the intent is recorded ("pending") before the
POST, the credit memo's total is read back from BC's answer and compared with the refund to the cent (no
rounding line: a draft whose total differs is deleted with If-Match and the refund fails with a table of
what differs), it is posted when the policy posts, and its link, record and journal row are committed in
one transaction. A crash between the POST and the commit is settled by the next run's lookup of the
externalDocumentNumber. Cancellations delete (If-Match) or cancel the order's document, or record a
conflict. Every journal row carries the run id.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

from wcbc.core.errors import SYSTEMIC, RecordError, RemoteError, UnreachableError
from wcbc.sync.common.apply import Ledger, Link
from wcbc.sync.orders.report import Outcome, Report
from wcbc.sync.refunds import memo, reduce, restore, undo
from wcbc.sync.refunds.cancel import CancelPlan
from wcbc.sync.refunds.memo import difference_table, total_difference
from wcbc.sync.refunds.plan import RefundPlan, RefundPolicy

log = logging.getLogger("wcbc.refunds")
CENT = Decimal("0.005")


class RefundApplier:
    def __init__(
        self, *, bc: Any, state: Any, policy: RefundPolicy, report: Report, run_id: int | None, lookup: Any,
        options: Any = None, item_numbers: dict[str, str] | None = None,
    ) -> None:
        self.options, self.item_numbers = options, item_numbers or {}
        self.bc, self.state = bc, state
        self.policy = policy
        self.report = report
        self.ledger = Ledger(state, run_id)
        self.lookup = lookup  # key -> the credit memo BC holds under it, or None (settles a lost answer)

    # ------------------------------------------------------------------ refunds

    def refund(self, plan: RefundPlan) -> Outcome | None:
        """Perform one refund's plan; systemic errors (BC down) propagate."""
        order_id = int(plan.order["id"])
        if plan.decision == "unchanged":
            return None
        if plan.decision == "held":
            return Outcome(order_id, plan.number, "held", message=plan.message)
        if plan.decision == "gone":
            self._withdraw(plan, {"reason": plan.message})
            return Outcome(order_id, plan.number, "withdrawn", message=plan.message)
        if plan.decision == "conflict":
            self._conflict(plan.rid, plan.key, plan.message or "", plan.found)
            return Outcome(order_id, plan.number, "conflict", message=plan.message)
        try:
            if plan.decision == "rejected":
                raise RecordError(str(plan.message))
            if plan.decision == "withdrawn":
                assert plan.found is not None
                self.ledger.journal(plan.rid, "sent", {"delete": plan.found.get("number")})
                self.bc.delete(f"salesCreditMemos({plan.found['id']})", plan.found.get("@odata.etag") or "*")
                self._withdraw(plan, {"deleted": plan.found.get("number")})
                return Outcome(
                    order_id,
                    plan.number,
                    "withdrawn",
                    document=plan.found.get("number"),
                    message=plan.message,
                )
            if plan.decision in ("reduce", "marked"):
                return self._reduce(plan)
            return self._credit(plan)
        except SYSTEMIC:
            raise
        except (RecordError, RemoteError) as exc:
            message = f"order {plan.order.get('number')} refund {plan.refund_id}: {exc}"
            status = self.ledger.fail(
                plan.rid, "refund", plan.key or "-", message, max_attempts=self.policy.max_attempts
            )
            log.error("%s", message)
            return Outcome(order_id, plan.number, status, message=message)

    def _credit(self, plan: RefundPlan) -> Outcome:
        create = plan.write("create_credit_memo")
        if plan.found is not None:
            doc = plan.found
            self.ledger.journal(
                plan.rid, "answered", {"lookup": "salesCreditMemos", "found": doc.get("number")}
            )
            result = "linked"
        else:
            assert create is not None
            self.ledger.intend(plan.rid, "refund", plan.key, create.body, data={"intent": plan.key})
            self.ledger.journal(
                plan.rid, "sent", {"entity": "salesCreditMemos", "externalDocumentNumber": plan.key}
            )
            try:
                doc = self.bc.post("salesCreditMemos", create.body)
            except UnreachableError:
                found = self.lookup(plan.key)
                if not found:
                    raise
                self.ledger.journal(plan.rid, "retried", {"settled_by_lookup": found.get("number")})
                doc = found
            self.ledger.journal(
                plan.rid,
                "answered",
                {
                    "id": doc.get("id"),
                    "number": doc.get("number"),
                    "total": doc.get("totalAmountIncludingTax"),
                },
            )
            result = "credited"
        difference = total_difference(plan.amount, doc)
        if difference is None or abs(difference) >= CENT:
            return self._refuse(plan, doc, create.body if create else None)
        if plan.write("post") and doc.get("status") in ("Draft", "In Review", None):
            self.ledger.journal(
                plan.rid, "sent", {"action": "Microsoft.NAV.post", "document": doc.get("number")}
            )
            self.bc.action(f"salesCreditMemos({doc['id']})/Microsoft.NAV.post")
            doc = self.bc.get(f"salesCreditMemos({doc['id']})")
        number = str(doc.get("number"))
        data = {
            "key": plan.key,
            "credit_memo": number,
            "id": doc.get("id"),
            "amount": str(plan.amount),
            "status": doc.get("status"),
            "restocked": {str(k): str(v) for k, v in plan.restocked.items()},
        }
        link = Link("refund", f"{plan.order['id']}-{plan.refund_id}", str(doc["id"]), number, data)
        self.ledger.done(
            plan.rid,
            "refund",
            plan.key,
            links=(link,),
            data=data,
            detail={"credit_memo": number, "amount": str(plan.amount)},
        )
        return Outcome(int(plan.order["id"]), plan.number, result, document=number)

    def _reduce(self, plan: RefundPlan) -> Outcome:
        """Reduce the open sales order: read it fresh, its marker looked up first (done once, even after a
        lost state DB), the line changes made (If-Match), its total checked against the store's order total
        less the reduced refunds to the cent (no plug: the lines are set back, :mod:`.undo`, and the refund
        fails with what differs), the marker comment line added, then link, record and journal committed
        together."""
        assert plan.sales_order is not None
        order_id = str(plan.sales_order["id"])
        doc = self.reader_sales_order(order_id)
        before = undo.before_of(self.state.journal_for(plan.rid), doc)
        changes: list[dict] = []
        touched: set[str] = set()
        result = "linked"
        if plan.key.upper() not in reduce.markers(doc):
            self.ledger.journal(
                plan.rid, "sent",
                {"reduce": doc.get("number"), "key": plan.key, "before": restore.snapshot(before)},
            )
            try:
                steps = reduce.plan_reduction(
                    plan.order, doc, plan.reduced, plan.key, self.options, self.policy.amount_account,
                    self.item_numbers,
                )
            except (reduce.NotReducible, ValueError, ArithmeticError) as exc:  # BC changed since the read
                raise RecordError(f"sales order {doc.get('number')} cannot be reduced now: {exc}") from None
            base = f"salesOrders({order_id})/salesOrderLines"
            for step in steps:
                line = step.line or {}
                self.line_write(base, step)
                changes.append(step.preview())
                if line.get("lineType") == "Item" and line.get("itemId"):
                    touched.add(str(line["itemId"]).lower())
            doc = self.reader_sales_order(order_id)
            want = reduce.expected_total(plan.order, plan.reduced)
            difference = total_difference(want, doc)
            if difference is None or abs(difference) >= CENT:
                raise undo.undo_reduction(self, plan, before, doc, want, changes)
            part = memo.money(plan.reduced[-1].get("amount"), "amount") if plan.parts else None
            marker = reduce.marker_text(plan.key, plan.parts, part)
            self.bc.post(base, {"lineType": "Comment", "description": marker})
            result = "reduced"
        credit, created = self._credit_part(plan) if plan.credit_key else (None, False)
        if created and result == "linked":
            result = "credited"  # the marker was there, the credit memo for the shipped part made now
        number = str(doc.get("number"))
        data = {
            "key": plan.key,
            "reduced": True,
            "sales_order": number,
            "id": order_id,
            "amount": str(plan.amount),
            "tax": str(memo.refund_tax(plan.reduced[-1])) if plan.reduced else "0",
            "changes": changes,
            "restocked": {str(k): str(v) for k, v in plan.restocked.items()},
        }
        if credit is not None:  # a split refund: the reduced part (store line id: qty) and the credit memo
            data["parts"] = {str(k): str(v) for k, v in plan.parts.items()}
            data["amount"] = str(plan.amount - plan.credit_amount)  # reduced (reconcile subtracts it)
            data["refund_amount"] = str(plan.amount)
            data.update(credit_key=plan.credit_key, credit_memo=credit.get("number"),
                        credit_id=credit.get("id"), credit_amount=str(plan.credit_amount))
        link = Link("refund", f"{plan.order['id']}-{plan.refund_id}", order_id, number, data)
        with self.state.batch():
            self.ledger.done(
                plan.rid, "refund", plan.key, links=(link,), data=data,
                detail={"sales_order": number, "amount": str(plan.amount), "changes": len(changes)},
            )
            for item_id in sorted(touched):
                self._stock_moved(item_id, plan.key)
        return Outcome(int(plan.order["id"]), plan.number, result, document=number)

    def _credit_part(self, plan: RefundPlan) -> tuple[dict[str, Any], bool]:
        """A split refund's credit memo ``<key>-S`` (the part on shipped quantity), after the reduction:
        looked up, created, its total checked against the part to the cent (a draft that differs is deleted
        and the refund fails: the next run finds the marker and makes only this memo again), posted."""
        create = plan.write("create_credit_memo")
        assert create is not None
        doc = self.lookup(plan.credit_key)
        created = doc is None
        if doc is None:
            self.ledger.journal(
                plan.rid, "sent", {"entity": "salesCreditMemos", "externalDocumentNumber": plan.credit_key}
            )
            try:
                doc = self.bc.post("salesCreditMemos", create.body)
            except UnreachableError:
                doc = self.lookup(plan.credit_key)
                if not doc:
                    raise
        self.ledger.journal(plan.rid, "answered", {"credit_memo": doc.get("number"),
                                                   "total": doc.get("totalAmountIncludingTax")})
        difference = total_difference(plan.credit_amount, doc)
        if difference is None or abs(difference) >= CENT:
            table = difference_table(create.body, doc, plan.credit_amount)
            if doc.get("status") in ("Draft", None):
                self.bc.delete(f"salesCreditMemos({doc['id']})", doc.get("@odata.etag") or "*")
            raise RecordError(
                f"the order is reduced (marker {plan.key}) but the credit memo {plan.credit_key} for the "
                f"shipped part differs from it (draft deleted):\n{table}"
            )
        if plan.write("post") and doc.get("status") in ("Draft", "In Review", None):
            self.ledger.journal(
                plan.rid, "sent", {"action": "Microsoft.NAV.post", "document": doc.get("number")}
            )
            self.bc.action(f"salesCreditMemos({doc['id']})/Microsoft.NAV.post")
            doc = self.bc.get(f"salesCreditMemos({doc['id']})")
        return doc, created

    def line_write(self, base: str, step: reduce.LineChange) -> None:
        line = step.line or {}
        if step.action == "patch":
            self.bc.patch(f"{base}({line['id']})", step.body, line.get("@odata.etag") or "*")
        elif step.action == "delete":
            self.bc.delete(f"{base}({line['id']})", line.get("@odata.etag") or "*")
        else:
            self.bc.post(base, step.body)

    def _stock_moved(self, item_id: str, key: str) -> None:
        """What the reduced order held back is free again: the item is queued for sync-items the way a BC
        notification queues it (``/items(<id>)`` in the inbox), since a sales order line change fires no
        item notification and writes no item ledger entry."""
        resource = f"/items({item_id})"
        body = json.dumps({"resource": resource, "changeType": "updated", "reason": f"refund {key}"})
        self.state.inbox_add("business_central", "updated", resource, body.encode("utf-8"))

    def reader_sales_order(self, bc_id: str) -> dict:
        doc = self.bc.get(f"salesOrders({bc_id})", {"$expand": "salesOrderLines"})
        doc["@entity"] = "salesOrders"
        return doc

    def _refuse(self, plan: RefundPlan, doc: dict, body: dict | None) -> Outcome:
        table = difference_table(body, doc, plan.amount)
        if doc.get("status") in ("Draft", None):
            self.ledger.journal(plan.rid, "sent", {"delete": doc.get("number"), "reason": "total differs"})
            self.bc.delete(f"salesCreditMemos({doc['id']})", doc.get("@odata.etag") or "*")
        message = (
            f"order {plan.order.get('number')} refund {plan.refund_id}: the credit memo's total differs "
            f"from the refund (draft deleted, nothing booked):\n{table}"
        )
        status = self.ledger.fail(
            plan.rid, "refund", plan.key, message, max_attempts=self.policy.max_attempts
        )
        log.error("%s", message)
        return Outcome(int(plan.order["id"]), plan.number, status, message=message)

    def _withdraw(self, plan: RefundPlan, detail: dict[str, Any]) -> None:
        """A refund the store deleted: its link goes, its record is skipped ("withdrawn"), together."""
        with self.state.batch():
            self.state.link_delete("refund", f"{plan.order['id']}-{plan.refund_id}")
            self.state.record_put(
                plan.rid, "refund", plan.key, "skipped", error="withdrawn: " + str(plan.message)
            )
            self.state.journal(plan.rid, "withdrawn", detail, run_id=self.ledger.run_id)

    def _conflict(self, rid: str, key: str, message: str, document: dict | None) -> None:
        with self.state.batch():
            self.state.conflict_add(rid, {"document": (document or {}).get("number"), "changes": [message]})
            self.state.record_put(rid, rid.partition(":")[0], key, "conflict", error=message)
            self.state.journal(rid, "conflict", {"message": message}, run_id=self.ledger.run_id)

    def read_ok(self, order: dict[str, Any]) -> None:
        """A read that failed before went through: its failure is settled."""
        record = self.state.record_get(f"refund:{order['id']}-read")
        if record is not None and record["status"] != "done":
            self.ledger.done(f"refund:{order['id']}-read", "refund", str(order["id"]), detail={"read": "ok"})

    def read_failed(self, order: dict[str, Any], message: str) -> Outcome:
        """The order's refunds or BC document could not be read: failed (``refund:<order>-read``), so the
        next run reads the order again."""
        status = self.ledger.fail(
            f"refund:{order['id']}-read",
            "refund",
            str(order["id"]),
            message,
            max_attempts=self.policy.max_attempts,
        )
        log.error("%s", message)
        return Outcome(int(order["id"]), f"{order.get('number')} refunds", status, message=message)

    # ------------------------------------------------------------------ cancellations

    def cancel(self, plan: CancelPlan) -> Outcome | None:
        order_id, key = int(plan.order["id"]), str(plan.order["id"])
        if plan.decision == "unchanged":
            return None
        if plan.decision == "held":
            return Outcome(order_id, plan.number, "held", message=plan.message)
        if plan.decision == "conflict":
            self._conflict(plan.rid, key, plan.message or "", plan.document)
            return Outcome(order_id, plan.number, "conflict", message=plan.message)
        if plan.decision == "gone":
            self.ledger.put(
                plan.rid,
                "cancel",
                key,
                "done",
                step="result",
                detail={"status": "done", "message": plan.message},
            )
            return Outcome(order_id, plan.number, "undone", message=plan.message)
        doc = plan.document
        assert doc is not None
        try:
            for write in plan.writes:
                self.ledger.journal(plan.rid, "sent", {"action": write.action, "document": doc.get("number")})
                if write.action == "delete_order":
                    self.bc.delete(f"salesOrders({doc['id']})", doc.get("@odata.etag") or "*")
                elif write.action == "delete_invoice":
                    self.bc.delete(f"salesInvoices({doc['id']})", doc.get("@odata.etag") or "*")
                elif write.action == "cancel_invoice":
                    self._cancel_invoice(plan, doc)
        except SYSTEMIC:
            raise
        except (RecordError, RemoteError) as exc:
            message = f"order {plan.order.get('number')}: cancelling {doc.get('number')} in BC failed: {exc}"
            status = self.ledger.fail(plan.rid, "cancel", key, message, max_attempts=self.policy.max_attempts)
            return Outcome(order_id, plan.number, status, message=message)
        self.ledger.put(
            plan.rid,
            "cancel",
            key,
            "done",
            step="result",
            detail={"status": "done", "document": doc.get("number"), "message": plan.message},
        )
        return Outcome(order_id, plan.number, "undone", document=str(doc.get("number")), message=plan.message)

    def _cancel_invoice(self, plan: CancelPlan, doc: dict) -> None:
        """BC's cancel; refused (not for being paid: that was a conflict), the full credit memo instead:
        looked up by its key, created, its total checked against the invoice's, posted."""
        try:
            self.bc.action(f"salesInvoices({doc['id']})/Microsoft.NAV.cancel")
            return
        except SYSTEMIC:
            raise
        except RemoteError as exc:
            if plan.fallback is None:
                raise
            self.ledger.journal(plan.rid, "refused", {"cancel": str(exc)[:500], "instead": plan.fallback.key})
        memo = self.lookup(plan.fallback.key)
        if memo is None:
            self.ledger.journal(plan.rid, "sent", {"entity": "salesCreditMemos", "key": plan.fallback.key})
            memo = self.bc.post("salesCreditMemos", plan.fallback.body)
        difference = total_difference(plan.total or Decimal(0), memo)
        if difference is None or abs(difference) >= CENT:
            if memo.get("status") in ("Draft", None):
                self.bc.delete(f"salesCreditMemos({memo['id']})", memo.get("@odata.etag") or "*")
            table = difference_table(plan.fallback.body, memo, plan.total or Decimal(0))
            raise RecordError(
                f"BC refused the cancel and the full credit memo differs from the invoice "
                f"(draft deleted):\n{table}"
            )
        if memo.get("status") in ("Draft", None):
            self.bc.action(f"salesCreditMemos({memo['id']})/Microsoft.NAV.post")
        plan.message = f"posted invoice {doc.get('number')} reversed by credit memo {plan.fallback.key}"

