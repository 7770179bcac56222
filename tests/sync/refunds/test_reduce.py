"""The pure reduction of an open BC sales order by refunds (wcbc.sync.refunds.reduce, plan's choice)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.sync.refunds.test_memo import ORDER, line, refund
from wcbc.core.errors import RecordError
from wcbc.sync.mapping.orders import MappingOptions
from wcbc.sync.refunds import reduce
from wcbc.sync.refunds.plan import RefundPolicy, plan_refunds

OPTIONS = MappingOptions(shipping_account="6610")
POLICY = RefundPolicy(refund_account="6640", amount_account="6630", target="sales_order")


def bc_line(seq: int, kind: str, number: str, qty: str, price: str, **kw: object) -> dict:
    return {
        "id": f"l{seq}",
        "@odata.etag": f'W/"{seq}"',
        "sequence": seq,
        "lineType": kind,
        "lineObjectNumber": number,
        "description": kw.pop("description", ""),
        "quantity": qty,
        "unitPrice": price,
        "discountAmount": "0",
        "shippedQuantity": kw.pop("shipped", "0"),
        "invoicedQuantity": kw.pop("invoiced", "0"),
        **kw,
    }


def sales_order(*extra: dict, shipped: str = "0", status: str = "Draft") -> dict:
    return {
        "@entity": "salesOrders",
        "id": "o1",
        "number": "S-ORD1",
        "status": status,
        "customerNumber": "C1",
        "salesOrderLines": [
            {"lineType": "Comment", "description": "WooCommerce order #1017", "sequence": 10000},
            bc_line(20000, "Item", "TSHIRT-001", "2", "18", shipped=shipped),
            bc_line(30000, "Item", "MUG-001", "1", "12"),
            bc_line(40000, "Account", "6610", "1", "10", description="Flat rate"),
            *extra,
        ],
    }


R29 = refund(29, "19.31", [line(1, "TSHIRT-001", 1, "18.00", "1.31")])
R30 = refund(30, "12.87", [line(2, "MUG-001", 1, "12.00", "0.87")])
SHIP = refund(31, "10.73", shipping=[{**line(3, "", 1, "10.00", "0.73")}])


def keyed(r: dict) -> dict:
    return {**r, "_key": f"1017-R{r['id']}"}


def test_targets_not_deltas_patch_delete_and_shipping() -> None:
    changes = reduce.plan_reduction(ORDER, sales_order(), [keyed(R29)], "1017-R29", OPTIONS, "6630")
    assert [(c.action, c.line["sequence"], c.body) for c in changes] == [("patch", 20000, {"quantity": 1})]
    both = [keyed(R29), keyed(R30), keyed(SHIP)]
    changes = reduce.plan_reduction(ORDER, sales_order(), both, "1017-R31", OPTIONS, "6630")
    assert [(c.action, c.line["sequence"]) for c in changes] == [("patch", 20000), ("delete", 30000),
                                                                  ("delete", 40000)]
    done = sales_order()
    done["salesOrderLines"][1]["quantity"] = "1"
    assert reduce.plan_reduction(ORDER, done, [keyed(R29)], "1017-R29", OPTIONS, "6630") == []  # once


def test_a_line_already_deleted_is_left_and_an_amount_only_refund_is_a_negative_line() -> None:
    gone = sales_order()
    del gone["salesOrderLines"][2]
    amount = refund(32, "5.00")
    changes = reduce.plan_reduction(ORDER, gone, [keyed(R30), keyed(amount)], "1017-R32", OPTIONS, "6630")
    assert [(c.action, c.body) for c in changes] == [
        ("add", {"lineType": "Account", "lineObjectNumber": "6630", "description": "Refund 1017-R32 not tied "
                 "to a line", "quantity": 1, "unitPrice": -5})
    ]
    text = changes[0].body["description"]
    added = sales_order(bc_line(50000, "Account", "6630", "1", "-5", description=text))
    assert reduce.plan_reduction(ORDER, added, [keyed(amount)], "1017-R32", OPTIONS, "6630") == []
    with pytest.raises(RecordError, match="refund_amount_account"):
        reduce.plan_reduction(ORDER, sales_order(), [keyed(amount)], "1017-R32", OPTIONS, None)


def test_shipped_released_or_ambiguous_orders_are_not_reducible() -> None:
    shipped = sales_order(shipped="2")
    with pytest.raises(reduce.NotReducible, match="already shipped or invoiced"):
        reduce.plan_reduction(ORDER, shipped, [keyed(R29)], "1017-R29", OPTIONS, "6630")
    one = sales_order(shipped="1")
    assert reduce.plan_reduction(ORDER, one, [keyed(R29)], "1017-R29", OPTIONS, "6630")  # down to shipped
    with pytest.raises(reduce.NotReducible, match="Open"):
        reduce.plan_reduction(ORDER, sales_order(status="Open"), [keyed(R29)], "1017-R29", OPTIONS, "6630")
    twice = sales_order(bc_line(50000, "Item", "MUG-001", "1", "12"))
    with pytest.raises(reduce.NotReducible, match="told apart"):
        reduce.plan_reduction(ORDER, twice, [keyed(R29)], "1017-R29", OPTIONS, "6630")


def test_markers_and_the_expected_total() -> None:
    doc = sales_order({"lineType": "Comment", "description": reduce.marker_text("1017-R29")})
    assert reduce.markers(doc) == {"1017-R29"}
    assert reduce.expected_total(ORDER, [R29, R30]) == Decimal("62.21") - Decimal("19.31") - Decimal("12.87")


def test_plan_reduces_marks_or_credits() -> None:
    [p] = plan_refunds(ORDER, [R29], {}, {}, [sales_order()], POLICY, OPTIONS, None, sales_order())
    assert p.decision == "reduce" and [w.action for w in p.writes] == ["reduce_order"]
    assert [c.body for c in p.changes] == [{"quantity": 1}]
    marked = sales_order({"lineType": "Comment", "description": reduce.marker_text("1017-R29")})
    p1, p2 = plan_refunds(ORDER, [R29, R30], {}, {}, [marked], POLICY, OPTIONS, None, marked)
    assert p1.decision == "marked" and p1.writes == []
    assert p2.decision == "reduce" and [k["id"] for k in p2.reduced] == [29, 30]  # on top of R29
    shipped = sales_order(shipped="2")
    [p] = plan_refunds(ORDER, [R29], {}, {}, [shipped], POLICY, OPTIONS, None, shipped)
    assert p.decision == "credit"  # what is shipped will be invoiced: a credit memo
    invoice_policy = RefundPolicy(refund_account="6640", amount_account="6630", target="sales_invoice")
    [p] = plan_refunds(ORDER, [R29], {}, {}, [sales_order()], invoice_policy, OPTIONS, None, sales_order())
    assert p.decision == "credit"
    done = {29: {"status": "done", "data": {"key": "1017-R29", "reduced": True}}}
    p1, p2 = plan_refunds(ORDER, [R29, R30], done, {}, [sales_order()], POLICY, OPTIONS, None, sales_order())
    assert p1.decision == "unchanged" and [k["id"] for k in p2.reduced] == [29, 30]


class FakeBC:
    """BC answering the fresh read with ``doc``; records the writes."""

    def __init__(self, doc: dict) -> None:
        self.doc, self.writes = doc, []

    def get(self, path: str, params: dict | None = None) -> dict:
        return dict(self.doc)

    def patch(self, path: str, body: dict, etag: str) -> dict:
        self.writes.append(("PATCH", path, etag))
        return {}

    def delete(self, path: str, etag: str) -> None:
        self.writes.append(("DELETE", path, etag))

    def post(self, path: str, body: dict, **kw: object) -> dict:
        self.writes.append(("POST", path, body.get("description")))
        return {}


def test_apply_fails_the_refund_alone_when_bc_changed_or_the_total_differs(tmp_path) -> None:
    from wcbc.core.state import State
    from wcbc.sync.orders.report import Report
    from wcbc.sync.refunds.apply import RefundApplier

    [p] = plan_refunds(ORDER, [R29], {}, {}, [sales_order()], POLICY, OPTIONS, None, sales_order())
    with State(tmp_path / "state.db") as state:
        shipped = FakeBC(sales_order(shipped="2"))  # shipped in BC between the read and the write
        applier = RefundApplier(bc=shipped, state=state, policy=POLICY, report=Report(), run_id=None,
                                lookup=None, options=OPTIONS)
        out = applier.refund(p)
        assert out.result == "failed" and "cannot be reduced now" in str(out.message) and shipped.writes == []
        off = FakeBC({**sales_order(), "totalAmountIncludingTax": "1.00"})
        applier.bc = off
        out = applier.refund(p)
        assert out.result == "failed" and "totals 1.00" in str(out.message)
        assert "nothing plugged" in str(out.message)
        assert [w[0] for w in off.writes] == ["PATCH"]  # no marker: the next run checks again
        assert off.writes[0][2] == 'W/"20000"'  # If-Match: the line's ETag
        assert state.record_get("refund:17-29")["attempts"] == 2


def test_refund_tax_sums_the_tax_given_back() -> None:
    from decimal import Decimal

    from wcbc.sync.refunds.memo import refund_tax

    refund = {"line_items": [{"total": "-10.00", "total_tax": "-0.73"}],
              "shipping_lines": [{"total": "-5.00", "total_tax": "-0.36"}], "fee_lines": []}
    assert refund_tax(refund) == Decimal("1.09")
    assert refund_tax({"amount": "3.00"}) == Decimal(0)
