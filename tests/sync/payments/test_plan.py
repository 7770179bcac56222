"""The payments planner (pure): which orders are paid into which journal, and what is reported."""

from __future__ import annotations

from decimal import Decimal

from wcbc.sync.payments.plan import Policy, document_number, plan_payment

POLICY = Policy(journals={"stripe": "WEB-STRIPE"}, tolerance=Decimal("0.01"))
INVOICE = {"id": "inv-1", "number": "PS-INV1", "status": "Open", "currencyCode": "USD",
           "remainingAmount": 26.81, "totalAmountIncludingTax": 26.81}


def order(**over: object) -> dict:
    base = {"id": 17, "number": "17", "status": "processing", "total": "26.81", "currency": "USD",
            "payment_method": "stripe", "transaction_id": "ch_3N" + "x" * 40,
            "date_paid": "2026-12-07T09:00:00", "date_paid_gmt": "2026-12-07T17:00:00"}
    return {**base, **over}


def test_paid_order_becomes_one_payment_then_a_post() -> None:
    plan = plan_payment(order(), dict(INVOICE), POLICY)
    assert plan.decision == "pay" and plan.key == "WCP-17" and plan.journal == "WEB-STRIPE"
    create, post = plan.writes
    assert (create.action, create.system, create.key) == ("create_payment", "bc", "WCP-17")
    assert create.body == {"documentNumber": "WCP-17", "externalDocumentNumber": ("ch_3N" + "x" * 40)[:35],
                           "amount": -26.81, "appliesToInvoiceId": "inv-1", "postingDate": "2026-12-07",
                           "description": "Web order 17 (stripe)"}
    assert (post.action, post.body) == ("post_journal", {"journal": "WEB-STRIPE"})


def test_reported_cases() -> None:
    assert plan_payment(order(payment_method="bacs"), dict(INVOICE), POLICY).decision == "skipped"
    assert plan_payment(order(date_paid=None), dict(INVOICE), POLICY).reason.startswith("not paid")
    refunded = plan_payment(order(status="refunded", refunds=[{"id": 5, "total": "-26.81"}]), dict(INVOICE),
                            POLICY)
    assert refunded.decision == "held" and "refunded 26.81 in the store" in refunded.reason
    assert plan_payment(order(currency="EUR"), dict(INVOICE), POLICY).decision == "skipped"
    assert plan_payment(order(), {**INVOICE, "status": "Paid"}, POLICY).decision == "settled"
    partly = plan_payment(order(), {**INVOICE, "remainingAmount": 10}, POLICY)
    assert partly.decision == "held" and "partly settled" in partly.reason
    differs = plan_payment(order(total="30.00"), dict(INVOICE), POLICY)
    assert differs.decision == "held" and "paid 30.00" in differs.reason
    assert plan_payment(order(payment_method="Stripe"), dict(INVOICE), POLICY).decision == "pay"


def test_document_number_is_code20() -> None:
    assert document_number({"number": "x" * 30}, "wcp-") == ("WCP-" + "X" * 30)[:20]


def test_partly_refunded_order_is_paid_and_its_refund_reported() -> None:
    plan = plan_payment(order(refunds=[{"id": 5, "total": "-5.00"}]), dict(INVOICE), POLICY)
    assert plan.decision == "pay" and plan.writes[0].body["amount"] == -26.81
    assert plan.warning.startswith("refunded 5.00 in the store: book its refund payment in BC by hand")
    assert plan_payment(order(), dict(INVOICE), POLICY).warning == ""
