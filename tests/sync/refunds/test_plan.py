"""The pure decisions of refunds and cancellations (wcbc.sync.refunds.plan)."""

from __future__ import annotations

from tests.sync.refunds.test_memo import ORDER, line, refund
from wcbc.sync.mapping.orders import MappingOptions
from wcbc.sync.refunds.cancel import plan_cancel
from wcbc.sync.refunds.plan import RefundPolicy, is_cancelled, needs_look, plan_refunds

OPTIONS = MappingOptions(shipping_account="6610")
POLICY = RefundPolicy(refund_account="6640", amount_account="6630", post=True)
INVOICE = {
    "@entity": "salesInvoices",
    "id": "i1",
    "number": "PS-INV1",
    "status": "Open",
    "customerNumber": "C1",
    "totalAmountIncludingTax": 62.21,
    "remainingAmount": 62.21,
}
R29 = refund(29, "13.05", [line(1, "TSHIRT-001", 1, "12.00", "1.05")])


def test_new_refund_is_a_credit_memo_applied_to_the_open_invoice_then_posted() -> None:
    [p] = plan_refunds(ORDER, [R29], {}, {}, [INVOICE], POLICY, OPTIONS)
    assert p.decision == "credit" and p.rid == "refund:17-29" and p.key == "1017-R29"
    assert [w.action for w in p.writes] == ["create_credit_memo", "post"]
    assert p.write("create_credit_memo").body["invoiceNumber"] == "PS-INV1"
    paid = {**INVOICE, "status": "Paid", "remainingAmount": 0}
    [p] = plan_refunds(ORDER, [R29], {}, {}, [paid], RefundPolicy(refund_account="6640"), OPTIONS)
    assert "invoiceNumber" not in p.write("create_credit_memo").body  # a closed invoice: not applied
    assert [w.action for w in p.writes] == ["create_credit_memo"]


def test_found_in_bc_is_linked_done_is_unchanged_no_document_is_rejected() -> None:
    found = {"id": "m1", "number": "1001", "status": "Draft", "externalDocumentNumber": "1017-R29"}
    [p] = plan_refunds(ORDER, [R29], {}, {"1017-R29": found}, [INVOICE], POLICY, OPTIONS)
    assert p.decision == "linked" and [w.action for w in p.writes] == ["post"]
    done = {29: {"status": "done", "data": {"key": "1017-R29"}}}
    [p] = plan_refunds(ORDER, [R29], done, {}, [INVOICE], POLICY, OPTIONS)
    assert p.decision == "unchanged" and p.writes == []
    [p] = plan_refunds(ORDER, [R29], {}, {}, [], POLICY, OPTIONS)
    assert p.decision == "rejected" and "no document" in str(p.message)


def test_a_refund_deleted_in_the_store() -> None:
    done = {29: {"status": "done", "data": {"key": "1017-R29"}}}
    draft = {"id": "m1", "number": "1001", "status": "Draft", "@odata.etag": "W/1"}
    [p] = plan_refunds(ORDER, [], done, {"1017-R29": draft}, [INVOICE], POLICY, OPTIONS)
    assert p.decision == "withdrawn" and [w.action for w in p.writes] == ["delete_credit_memo"]
    [p] = plan_refunds(ORDER, [], done, {"1017-R29": {**draft, "status": "Open"}}, [INVOICE], POLICY, OPTIONS)
    assert p.decision == "conflict" and "posted" in str(p.message)
    [p] = plan_refunds(ORDER, [], done, {}, [INVOICE], POLICY, OPTIONS)
    assert p.decision == "gone"


def test_what_needs_a_look() -> None:
    assert not needs_look({"status": "processing", "refunds": []}, 0)
    assert needs_look({"status": "processing", "refunds": [{"id": 1}]}, 0)
    assert needs_look({"status": "processing", "refunds": []}, 1)  # a booked refund may have been deleted
    assert is_cancelled({"status": "cancelled"}) and is_cancelled({"status": "refunded", "refunds": []})
    assert not is_cancelled({"status": "refunded", "refunds": [{"id": 1}]})


def order_doc(shipped: int = 0) -> dict:
    return {
        "@entity": "salesOrders",
        "id": "o1",
        "number": "S1",
        "status": "Open",
        "salesOrderLines": [{"shippedQuantity": shipped}],
    }


def test_cancellation_decisions() -> None:
    order = {**ORDER, "status": "cancelled"}
    p = plan_cancel(order, None, order_doc(), POLICY)
    assert p.decision == "undo" and [w.action for w in p.writes] == ["delete_order"] and p.rid == "cancel:17"
    assert plan_cancel(order, None, order_doc(shipped=1), POLICY).decision == "conflict"
    draft = {**INVOICE, "status": "Draft"}
    assert [w.action for w in plan_cancel(order, None, draft, POLICY).writes] == ["delete_invoice"]
    assert [w.action for w in plan_cancel(order, None, INVOICE, POLICY).writes] == ["cancel_invoice"]
    paid = plan_cancel(order, None, {**INVOICE, "remainingAmount": 10}, POLICY)
    assert paid.decision == "conflict" and "credit memo" in str(paid.message)
    assert plan_cancel(order, None, {**INVOICE, "status": "Canceled"}, POLICY).decision == "gone"
    assert plan_cancel(order, None, None, POLICY).decision == "gone"
    assert plan_cancel(order, {"status": "done"}, INVOICE, POLICY).decision == "unchanged"
    report = RefundPolicy(on_cancel="report")
    assert plan_cancel(order, None, order_doc(), report).decision == "conflict"


def test_a_posted_invoice_carries_its_fallback_full_credit_memo() -> None:
    order = {**ORDER, "status": "cancelled"}
    p = plan_cancel(order, None, INVOICE, POLICY, OPTIONS)
    assert p.fallback is not None and p.fallback.key == "1017-C" and str(p.total) == "62.21"
    body = p.fallback.body
    assert body["invoiceNumber"] == "PS-INV1" and body["customerNumber"] == "C1"
    kinds = [(ln["lineType"], ln.get("lineObjectNumber")) for ln in body["salesCreditMemoLines"]]
    assert kinds[1:] == [("Item", "TSHIRT-001"), ("Item", "MUG-001"), ("Account", "6610")]
    reversed_ = plan_cancel(
        order,
        None,
        {**INVOICE, "status": "Paid", "remainingAmount": 0},
        POLICY,
        OPTIONS,
        reversal={"number": "PS-CR1", "status": "Paid"},
    )
    assert reversed_.decision == "gone"
