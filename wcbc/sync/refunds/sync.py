"""Refunds and cancellations of booked orders, run by sync-orders after each page it books.

Read (:mod:`.read`) -> plan (:mod:`.plan` for refunds, :mod:`.cancel` for cancellations, both pure) ->
apply (:mod:`.apply`), or with ``--dry-run`` the plans printed (:class:`RefundPreview`): the one branch
point. A read that fails (the refunds, the order's BC document) fails that order only, as
``refund:<order>-read``, and the next run reads it again. Orders without refunds, booked refunds or a
cancellation cost no call at all. What the step finds is appended to the order sync's report (results
``credited``, ``reduced``, ``linked``, ``withdrawn``, ``undone``, ``conflict``, ``failed``, ``on_hold``,
``would_credit``, ``would_reduce``, ``would_undo``), numbered ``<order> refund <id>`` or
``<order> cancellation``.
"""

from __future__ import annotations

from typing import Any

from wcbc.core.errors import SYSTEMIC, RecordError, RemoteError
from wcbc.sync.mapping.orders import MappingOptions
from wcbc.sync.orders.report import Outcome, Report
from wcbc.sync.refunds import plan as planner
from wcbc.sync.refunds.apply import RefundApplier
from wcbc.sync.refunds.cancel import CancelPlan, plan_cancel
from wcbc.sync.refunds.read import RefundReader


class RefundPreview:
    """``--dry-run``: what the applier would do, written nowhere."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def refund(self, plan: planner.RefundPlan) -> Outcome | None:
        if plan.decision == "unchanged":
            return None
        if plan.decision == "reduce":
            self.report.preview.append(
                {
                    "order": plan.order.get("number"),
                    "refund": plan.refund_id,
                    "entity": "salesOrderLines",
                    "sales_order": (plan.sales_order or {}).get("number"),
                    "key": plan.key,
                    "line_changes": [c.preview() for c in plan.changes],
                    "refund_amount": str(plan.amount),
                    **self._split_preview(plan),
                }
            )
            split = f", the rest as credit memo {plan.credit_key}" if plan.credit_key else ""
            return Outcome(
                int(plan.order["id"]), plan.number, "would_reduce",
                message=f"{len(plan.changes)} changes{split}",
            )
        create = plan.write("create_credit_memo")
        if create is not None:
            self.report.preview.append(
                {
                    "order": plan.order.get("number"),
                    "refund": plan.refund_id,
                    "entity": "salesCreditMemos",
                    "document": create.body,
                    "refund_amount": str(plan.amount),
                    "post": bool(plan.write("post")),
                }
            )
            lines = len(create.body.get("salesCreditMemoLines", []))
            return Outcome(int(plan.order["id"]), plan.number, "would_credit", message=f"{lines} lines")
        result = "failed" if plan.decision == "rejected" else plan.decision
        return Outcome(int(plan.order["id"]), plan.number, result, message=plan.message)

    @staticmethod
    def _split_preview(plan: planner.RefundPlan) -> dict[str, Any]:
        """A split refund's credit memo for the shipped part, shown with its reduction."""
        create = plan.write("create_credit_memo")
        if not plan.credit_key or create is None:
            return {}
        return {"credit_memo": create.body, "credit_amount": str(plan.credit_amount)}

    def read_ok(self, order: dict[str, Any]) -> None:
        pass

    def read_failed(self, order: dict[str, Any], message: str) -> Outcome:
        return Outcome(int(order["id"]), f"{order.get('number')} refunds", "failed", message=message)

    def cancel(self, plan: CancelPlan) -> Outcome | None:
        if plan.decision == "unchanged":
            return None
        result = "would_undo" if plan.decision == "undo" else plan.decision
        return Outcome(int(plan.order["id"]), plan.number, result, message=plan.message)


class RefundStep:
    def __init__(
        self,
        *,
        woo: Any,
        bc: Any,
        state: Any,
        config: Any,
        options: MappingOptions,
        report: Report,
        item_numbers: dict[str, str],
        dry_run: bool = False,
        run_id: int | None = None,
        replay: bool = False,
    ) -> None:
        self.policy = planner.RefundPolicy.from_config(config, replay=replay)
        self.options = options
        self.report = report
        self.item_numbers = item_numbers
        self.reader = RefundReader(woo=woo, bc=bc, state=state, prefix=self.policy.number_prefix)
        self.sink: RefundApplier | RefundPreview = (
            RefundPreview(report)
            if dry_run
            else RefundApplier(
                bc=bc,
                state=state,
                policy=self.policy,
                report=report,
                run_id=run_id,
                lookup=self._lookup,
                options=options,
                item_numbers=item_numbers,
            )
        )

    def _lookup(self, key: str) -> dict[str, Any] | None:
        return self.reader.lookups([], [key])[1].get(key.upper())

    def failed_order_ids(self) -> list[int]:
        """Orders with a failed refund or cancellation: read again by the next run (not those on hold)."""
        return self.reader.failed_order_ids()

    def page(self, orders: list[dict[str, Any]]) -> None:
        """Refunds and cancellations of the page's booked orders."""
        records = self.reader.records({int(o["id"]) for o in orders})
        todo = []
        for order in orders:
            booked = records.get(int(order["id"]), {})
            if not planner.needs_look(order, len(booked)):
                continue
            link = self.reader.link(int(order["id"]))
            # A booked order whose status left orders.statuses is not linked again after a lost state DB:
            # a refunded or cancelled one is still looked up in BC here.
            if link is not None or order.get("status") in ("refunded", "cancelled"):
                todo.append((order, link, booked))
        if not todo:
            return
        keys = [
            k
            for o, _, booked in todo
            for k in self.reader.memo_keys(o, [int(r["id"]) for r in o.get("refunds") or []])
        ]
        keys += [
            str((r.get("data") or {}).get("key"))
            for _, _, booked in todo
            for r in booked.values()
            if (r.get("data") or {}).get("key")
        ]
        keys += [
            f"{self.reader.ext(o)}-C" for o, _, _ in todo if planner.is_cancelled(o) and self.reader.ext(o)
        ]
        docs, memos = self.reader.lookups([o for o, _, _ in todo], keys)
        for order, link, booked in todo:
            order_docs = docs.get((self.reader.ext(order) or "").upper(), [])
            if link is None and not order_docs:
                continue  # never booked: nothing to undo or credit
            try:
                self._order(order, link, booked, memos, order_docs)
                self.sink.read_ok(order)
            except SYSTEMIC:
                raise
            except (RecordError, RemoteError) as exc:  # a read failed: this order only, retried next run
                self._add(
                    self.sink.read_failed(order, f"order {order.get('number')}: refunds not read: {exc}")
                )

    def _order(
        self,
        order: dict[str, Any],
        link: dict[str, Any] | None,
        booked: dict[int, dict[str, Any]],
        memos: dict[str, dict[str, Any]],
        order_docs: list[dict[str, Any]],
    ) -> None:
        refunds = self.reader.refunds(order)
        sales_order = (
            self.reader.open_sales_order(order, refunds, booked, order_docs)
            if self.policy.target == "sales_order"
            else None
        )
        plans = planner.plan_refunds(
            order,
            refunds,
            booked,
            memos,
            order_docs,
            self.policy,
            self.options,
            self.item_numbers,
            sales_order,
        )
        for p in plans:
            self._add(self.sink.refund(p))
        if planner.is_cancelled(order):
            record = self.reader.record(f"cancel:{order['id']}")
            if record and record.get("status") in ("done", "conflict"):
                return
            doc = self.reader.order_document(order, link or {})
            reversal = memos.get(f"{self.reader.ext(order)}-C".upper())
            plan = plan_cancel(order, record, doc, self.policy, self.options, self.item_numbers, reversal)
            self._add(self.sink.cancel(plan))

    def _add(self, outcome: Outcome | None) -> None:
        if outcome is not None:
            self.report.outcomes.append(outcome)
