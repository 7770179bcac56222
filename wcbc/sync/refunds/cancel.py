"""Cancellations, step 2 of 3: what a cancelled booked order's BC document needs. Pure.

A booked order that became ``cancelled`` (or ``refunded`` without any refund record), record
``cancel:<order id>``, following business-central.md §10.2/§10.3: an open sales order with nothing shipped
is deleted (If-Match); a draft invoice is deleted; a posted invoice still fully open is cancelled (BC's
``cancel`` posts a corrective credit memo) and, when BC refuses the cancel for another reason (a closed
period, say), reversed by a full credit memo of the order's lines (Item lines: the goods come back),
keyed ``<order number>-C``, applied to the invoice and posted; a shipped order or a paid (or partly
credited) invoice is not touched but becomes a conflict saying what to do; ``orders.on_cancel =
"report"`` makes every case a conflict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from wcbc.core.errors import RecordError
from wcbc.sync.common.plan import Write
from wcbc.sync.mapping.money import MoneyError, parse_money
from wcbc.sync.mapping.orders import MappingOptions, document_number
from wcbc.sync.mapping.orders.text import EXTERNAL_DOCUMENT_NUMBER_MAX, _utf16_len
from wcbc.sync.refunds import memo
from wcbc.sync.refunds.plan import RefundPolicy, _is_posted

CANCEL_DECISIONS = ("unchanged", "held", "undo", "conflict", "gone")


@dataclass
class CancelPlan:
    order: dict[str, Any]
    decision: str
    message: str | None = None
    document: dict[str, Any] | None = None
    writes: list[Write] = field(default_factory=list)
    fallback: Write | None = None  # the full credit memo, when BC refuses the cancel
    total: Decimal | None = None  # what the fallback credit memo must total

    def __post_init__(self) -> None:
        if self.decision not in CANCEL_DECISIONS:
            raise ValueError(f"unknown decision {self.decision!r}")

    @property
    def rid(self) -> str:
        return f"cancel:{self.order['id']}"

    @property
    def number(self) -> str:
        return f"{self.order.get('number', self.order['id'])} cancellation"


def _shipped(doc: Mapping[str, Any]) -> Decimal:
    total = Decimal(0)
    for line in doc.get("salesOrderLines") or []:
        try:
            total += parse_money(line.get("shippedQuantity") or 0)
        except MoneyError:
            continue
    return total


def plan_cancel(
    order: dict[str, Any],
    record: Mapping[str, Any] | None,
    doc: dict[str, Any] | None,
    policy: RefundPolicy,
    options: MappingOptions | None = None,
    item_numbers: Mapping[str, str] | None = None,
    reversal: Mapping[str, Any] | None = None,
) -> CancelPlan:
    """What a cancelled booked order's BC document needs. ``doc``: the document read fresh (a sales order
    with ``salesOrderLines`` expanded, or an invoice, ``@entity`` set), None when BC holds none."""
    if record and record.get("status") in ("done", "conflict"):
        return CancelPlan(order, "unchanged")
    if record and record.get("status") == "on_hold" and not policy.replay:
        return CancelPlan(order, "held", message="on hold: run `wcbc replay` once fixed")
    if doc is None:
        return CancelPlan(order, "gone", message="BC holds no document for the order any more")
    entity, number, key = doc["@entity"], str(doc.get("number")), str(order["id"])
    label = f"{'sales order' if entity == 'salesOrders' else 'invoice'} {number}"
    if entity == "salesInvoices" and doc.get("status") == "Canceled":
        return CancelPlan(order, "gone", document=doc, message=f"{label} is already cancelled in BC")
    if reversal is not None and _is_posted(reversal):  # our full credit memo (<number>-C) is posted
        return CancelPlan(
            order,
            "gone",
            document=doc,
            message=f"{label} is already reversed by credit memo {reversal.get('number')}",
        )
    why: str | None = None
    if entity == "salesOrders" and _shipped(doc) > 0:
        why = (
            f"{label} is partly or fully shipped: post a return (sales return order or credit memo) in BC, "
            "then delete or finish the order by hand"
        )
    elif entity == "salesInvoices" and _is_posted(doc) and _partly_settled(doc):
        why = (
            f"{label} is paid or partly credited, so BC refuses to cancel it: make a sales credit memo for "
            "what is left and refund the payment"
        )
    if why is None and policy.on_cancel == "report":
        why = f'orders.on_cancel = "report": undo {label} in BC by hand'
    if why is not None:
        return CancelPlan(order, "conflict", document=doc, message=f"order cancelled in the store; {why}")
    plan = CancelPlan(order, "undo", document=doc)
    if entity == "salesOrders":
        plan.writes.append(Write(plan.rid, "delete_order", "bc", key, note=label))
        plan.message = f"{label} deleted"
    elif not _is_posted(doc):
        plan.writes.append(Write(plan.rid, "delete_invoice", "bc", key, note=label))
        plan.message = f"draft {label} deleted"
    else:
        plan.writes.append(
            Write(plan.rid, "cancel_invoice", "bc", key, note=f"{label}: Microsoft.NAV.cancel")
        )
        plan.message = f"posted {label} cancelled (corrective credit memo)"
        if options is not None:
            plan.fallback, plan.total = full_credit_memo(order, doc, policy, options, item_numbers)
    return plan


def full_credit_memo(
    order: dict[str, Any],
    invoice: Mapping[str, Any],
    policy: RefundPolicy,
    options: MappingOptions,
    item_numbers: Mapping[str, str] | None,
) -> tuple[Write | None, Decimal | None]:
    """The credit memo that reverses the whole invoice from the order's lines, or (None, None) when the
    order's lines cannot be mapped (then a refused cancel fails for a person)."""
    try:
        key = f"{document_number(order, policy.number_prefix)}-C"
        total = parse_money(invoice.get("totalAmountIncludingTax"))
        if _utf16_len(key) > EXTERNAL_DOCUMENT_NUMBER_MAX:
            return None, None
        whole = {
            "id": "C",
            "amount": str(order.get("total")),
            "reason": "order cancelled",
            "date_created": str(order.get("date_modified") or ""),
        }
        restocked = {
            int(li["id"]): memo.money(li.get("quantity"), "quantity") for li in order.get("line_items") or []
        }
        body = memo.map_credit_memo(
            order,
            whole,
            options,
            customer_number=str(invoice.get("customerNumber")),
            refund_account=policy.refund_account,
            amount_account=policy.amount_account,
            restocked=restocked,
            invoice_number=str(invoice.get("number")),
            item_numbers=item_numbers,
        )
    except (RecordError, MoneyError, ValueError):
        return None, None
    body["externalDocumentNumber"] = key
    return Write(
        f"cancel:{order['id']}", "create_credit_memo", "bc", key, body, note="salesCreditMemos"
    ), total


def _partly_settled(doc: Mapping[str, Any]) -> bool:
    if doc.get("status") == "Paid":
        return True
    try:
        return parse_money(doc.get("remainingAmount")) != parse_money(doc.get("totalAmountIncludingTax"))
    except MoneyError:
        return False
