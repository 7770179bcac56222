"""sync-fulfilment (payments), step 2 of 3: pure decisions and writes with their idempotency keys.

Decisions: ``pay`` (writes ``create_payment`` then ``post_journal``), ``settled`` (the invoice is no longer
open: an earlier run's payment, or someone else's), ``skipped`` (not paid in the store, cancelled, an
unmapped payment method, another currency: reported once), ``held`` (refunded in full, the invoice
partly settled already, a paid amount that differs: a person decides; the record goes on hold). A
partly refunded order is paid in full and its refund reported (``warning``): API v2.0 cannot book a
refund payment (README).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from wcbc.sync.common.plan import Write

SKIP_STATUSES = frozenset({"cancelled", "failed", "pending", "trash", "checkout-draft"})


def record_id(order_id: int) -> str:
    return f"payment:{order_id}"


def money(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


@dataclass(frozen=True)
class Policy:
    journals: dict[str, str]
    document_prefix: str = "WCP-"
    tolerance: Decimal = Decimal("0.01")
    max_attempts: int = 3

    @classmethod
    def from_config(cls, cfg: Any) -> Policy:
        p = cfg.payments
        return cls(journals={k.lower(): v for k, v in p.journals.items()}, document_prefix=p.document_prefix,
                   tolerance=cfg.orders.total_tolerance, max_attempts=p.max_attempts)


@dataclass
class PaymentPlan:
    order_id: int
    invoice: dict[str, Any]
    decision: str
    reason: str = ""
    key: str = ""
    journal: str = ""
    writes: list[Write] = field(default_factory=list)
    warning: str = ""

    @property
    def rid(self) -> str:
        return record_id(self.order_id)


def document_number(order: Mapping[str, Any], prefix: str) -> str:
    """The payment line's documentNumber (Code20): the key looked up before creating."""
    return f"{prefix}{order.get('number') or order.get('id')}".upper()[:20]


def plan_payment(order: Mapping[str, Any], invoice: dict[str, Any], policy: Policy) -> PaymentPlan:
    oid = int(order["id"])
    key = document_number(order, policy.document_prefix)
    if str(invoice.get("status")) != "Open":
        return PaymentPlan(oid, invoice, "settled", reason=f"invoice {invoice.get('number')} is "
                           f"{invoice.get('status')}", key=key)
    if not order.get("date_paid"):
        return PaymentPlan(oid, invoice, "skipped", reason="not paid in the store (no date_paid)", key=key)
    status = str(order.get("status") or "")
    if status == "refunded":
        return PaymentPlan(oid, invoice, "held", key=key, reason="order refunded in full in the store: "
                           + (refund_warning(order) or "settle the invoice by hand"))
    if status in SKIP_STATUSES:
        return PaymentPlan(oid, invoice, "skipped", reason=f"order status {status!r}", key=key)
    method = str(order.get("payment_method") or "")
    journal = policy.journals.get(method.lower())
    if not journal:
        return PaymentPlan(oid, invoice, "skipped", key=key,
                           reason=f"payment method {method!r} has no journal in [payments] journals")
    currency = str(order.get("currency") or "").upper()
    inv_currency = str(invoice.get("currencyCode") or "").upper()
    if currency and inv_currency and currency != inv_currency:
        return PaymentPlan(oid, invoice, "skipped", key=key,
                           reason=f"order in {currency}, invoice in {inv_currency}")
    amount = money(order.get("total"))
    remaining, total = money(invoice.get("remainingAmount")), money(invoice.get("totalAmountIncludingTax"))
    if abs(remaining - total) > policy.tolerance:
        return PaymentPlan(oid, invoice, "held", key=key, journal=journal,
                           reason=f"invoice {invoice.get('number')} is partly settled already "
                                  f"({remaining} of {total} open): apply the payment by hand")
    if abs(amount - remaining) > policy.tolerance:
        return PaymentPlan(oid, invoice, "held", key=key, journal=journal,
                           reason=f"paid {amount} but invoice {invoice.get('number')} has {remaining} open")
    rid = record_id(oid)
    body = {
        "documentNumber": key,
        "externalDocumentNumber": str(order.get("transaction_id") or "")[:35],
        "amount": float(-amount),
        "appliesToInvoiceId": invoice["id"],
        "postingDate": str(order.get("date_paid_gmt") or order.get("date_paid"))[:10],
        "description": f"Web order {order.get('number')} ({method})"[:100],
    }
    writes = [Write(rid, "create_payment", "bc", key, body=body, note=f"journal {journal}"),
              Write(rid, "post_journal", "bc", key, body={"journal": journal})]
    return PaymentPlan(oid, invoice, "pay", key=key, journal=journal, writes=writes,
                       warning=refund_warning(order))


def refund_warning(order: Mapping[str, Any]) -> str:
    """Refunds in the store cannot be booked as refund payments through API v2.0 (README, §10.5): a
    person books them in BC. Said once, with the payment."""
    refunded = sum((abs(money(r.get("total"))) for r in order.get("refunds") or []), Decimal(0))
    if not refunded:
        return ""
    return (f"refunded {refunded} in the store: book its refund payment in BC by hand (a cash receipt "
            "journal Refund line applied to the credit memo; API v2.0 cannot)")
