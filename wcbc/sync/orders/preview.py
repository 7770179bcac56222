"""``sync-orders --dry-run``: the plans printed instead of performed.

:class:`Preview` has the methods of :class:`wcbc.sync.orders.apply.Applier` and writes nothing at all:
no inbox claim, no journal, record, link or bookmark, no BC or WooCommerce write. What it reports is
derived from the plans alone: ``would_book`` with the document (and a new buyer's customer, once per
buyer) in :attr:`Report.preview`, the other decisions as a real run would report them.
"""

from __future__ import annotations

import datetime as dt

from wcbc.sync.orders.plan import OrderPlan, Policy
from wcbc.sync.orders.report import Outcome, Report


class Preview:
    def __init__(self, *, policy: Policy, report: Report) -> None:
        self.policy = policy
        self.report = report
        self._customers: set[str] = set()  # buyers whose new customer is already shown

    def claim_inbox(self) -> list[dict]:
        return []  # a claim is a write: the inbox is left to the next real run

    def inbox_done(self, rows: list[dict]) -> None:
        pass

    def inbox_release(self, rows: list[dict]) -> None:
        pass

    def not_found(self, order_id: int) -> None:
        pass

    def bookmark(self, name: str, moment: dt.datetime) -> None:
        pass

    def end_page(self, *, defer: bool) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def settle(self, plan: OrderPlan) -> Outcome:
        result = "linked" if plan.decision == "linked_by_meta" else plan.decision
        message = "already in BC" if plan.decision == "linked" else plan.message
        return Outcome(plan.order_id, plan.number, result, document=plan.document, message=message)

    def book(self, plans: list[OrderPlan]) -> tuple[list[Outcome], BaseException | None]:
        return [self._would_book(p) for p in plans], None

    def _would_book(self, plan: OrderPlan) -> Outcome:
        if plan.decision == "linked":
            return self.settle(plan)
        if plan.decision == "rejected":
            return Outcome(plan.order_id, plan.number, "failed", message=plan.message)
        customer = plan.write("create_customer")
        if customer is not None and customer.key not in self._customers:
            self._customers.add(customer.key)
            self.report.preview.append({"order": plan.order.get("number"), "create_customer": customer.body})
        document = plan.write("create_document")
        assert document is not None
        self.report.preview.append({"order": plan.number, "entity": self.policy.entity,
                                    "document": document.body, "woo_total": str(plan.order.get("total"))})
        lines = len(document.body.get(self.policy.lines_key, []))
        return Outcome(plan.order_id, plan.number, "would_book", message=f"{lines} lines")
