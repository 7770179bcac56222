"""The pure split of a refund of an open BC sales order that reaches shipped or invoiced quantity
(wcbc.sync.refunds.split, plan's choice): the unshipped part reduces, the rest is one credit memo <key>-S."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.sync.refunds.test_memo import ORDER, line, refund
from tests.sync.refunds.test_reduce import OPTIONS, POLICY, R29, bc_line
from wcbc.core.errors import UnreachableError
from wcbc.sync.refunds import reduce, split
from wcbc.sync.refunds.plan import plan_refunds

BOTH = refund(
    40, "32.18", [line(1, "TSHIRT-001", 1, "18.00", "1.31"), line(2, "MUG-001", 1, "12.00", "0.87")]
)
TWO = refund(41, "38.62", [line(1, "TSHIRT-001", 2, "36.00", "2.62")])


def order_doc(*extra: dict, tshirt: str = "2", mug_invoiced: str = "1") -> dict:
    return {
        "@entity": "salesOrders",
        "id": "o1",
        "number": "S-ORD1",
        "status": "Draft",
        "customerNumber": "C1",
        "salesOrderLines": [
            {"lineType": "Comment", "description": "WooCommerce order #1017", "sequence": 10000},
            bc_line(20000, "Item", "TSHIRT-001", tshirt, "18"),
            bc_line(30000, "Item", "MUG-001", "1", "12", shipped=mug_invoiced, invoiced=mug_invoiced),
            bc_line(40000, "Account", "6610", "1", "10", description="Flat rate"),
            *extra,
        ],
    }


INVOICE = {"@entity": "salesInvoices", "number": "PS-INV1", "status": "Open", "customerNumber": "C1"}


def test_the_unshipped_line_reduces_and_the_invoiced_one_is_a_credit_memo_for_the_rest() -> None:
    doc = order_doc()
    [p] = plan_refunds(ORDER, [BOTH], {}, {}, [doc, INVOICE], POLICY, OPTIONS, None, doc)
    assert p.decision == "reduce" and p.parts == {1: Decimal(1)}
    assert [(c.action, c.line["sequence"], c.body) for c in p.changes] == [("patch", 20000, {"quantity": 1})]
    assert p.reduced[-1]["amount"] == "19.31" and reduce.expected_total(ORDER, p.reduced) == Decimal("42.90")
    assert p.credit_key == "1017-R40-S" and p.credit_amount == Decimal("12.87")
    assert [w.action for w in p.writes] == ["reduce_order", "create_credit_memo"]
    body = p.write("create_credit_memo").body
    assert body["externalDocumentNumber"] == "1017-R40-S" and body["invoiceNumber"] == "PS-INV1"
    items = [ln for ln in body["salesCreditMemoLines"] if ln["lineType"] != "Comment"]
    assert [(ln["lineObjectNumber"], ln["quantity"]) for ln in items] == [("6640", 1)]  # mug, not restocked


def test_a_line_partly_shipped_splits_by_quantity_with_amounts_pro_rata() -> None:
    doc = order_doc(mug_invoiced="0")
    doc["salesOrderLines"][1]["shippedQuantity"] = "1"  # 1 of 2 T-shirts shipped, not invoiced
    [p] = plan_refunds(ORDER, [TWO], {}, {}, [doc], POLICY, OPTIONS, None, doc)
    assert p.decision == "reduce" and p.parts == {1: Decimal(1)}
    assert p.reduced[-1]["amount"] == "19.31" and p.credit_amount == Decimal("19.31")
    assert "invoiceNumber" not in p.write("create_credit_memo").body  # BC invoices it when posted


def test_the_marker_names_the_part_and_rebuilds_it_from_bc_alone() -> None:
    text = reduce.marker_text("1017-R40", {1: Decimal(1)}, Decimal("19.31"))
    assert text == "WooCommerce refund 1017-R40 part 19.31: 1x1"
    marked = order_doc({"lineType": "Comment", "description": text}, tshirt="1")
    assert reduce.marker_parts(marked) == {"1017-R40": {1: Decimal(1)}}
    assert reduce.markers(marked) == {"1017-R40"}
    [p] = plan_refunds(ORDER, [BOTH], {}, {}, [marked], POLICY, OPTIONS, None, marked)
    assert p.decision == "marked" and p.changes == [] and p.credit_key == "1017-R40-S"
    assert [w.action for w in p.writes] == ["create_credit_memo"]  # the memo is still owed (looked up first)
    p1, p2 = plan_refunds(ORDER, [BOTH, refund(42, "19.31", [line(1, "TSHIRT-001", 1, "18.00", "1.31")])],
                          {}, {}, [marked], POLICY, OPTIONS, None, marked)
    assert p2.decision == "reduce" and [c.action for c in p2.changes] == ["delete"]  # on top of the part only
    done = {40: {"status": "done", "data": {"key": "1017-R40", "reduced": True, "parts": {"1": "1"}}}}
    p1, p2 = plan_refunds(ORDER, [BOTH, refund(42, "19.31", [line(1, "TSHIRT-001", 1, "18.00", "1.31")])],
                          done, {}, [marked], POLICY, OPTIONS, None, marked)
    assert p1.decision == "unchanged" and p2.reduced[0]["amount"] == "19.31"


def test_not_split_when_nothing_or_everything_reduces_or_it_does_not_fit() -> None:
    doc = order_doc()
    assert split.plan_split(ORDER, doc, [], {**R29, "_key": "1017-R29"}, "1017-R29", OPTIONS) is None  # all
    mug = refund(43, "12.87", [line(2, "MUG-001", 1, "12.00", "0.87")])
    [p] = plan_refunds(ORDER, [mug], {}, {}, [doc], POLICY, OPTIONS, None, doc)
    assert p.decision == "credit" and p.key == "1017-R43"  # all of it invoiced: one memo, the plain key
    long = "X" * 32 + "-R40"
    assert split.credit_key(long) is None
    assert split.plan_split(ORDER, doc, [], BOTH, long, OPTIONS) is None
    released = {**doc, "status": "Open"}
    [p] = plan_refunds(ORDER, [BOTH], {}, {}, [released], POLICY, OPTIONS, None, released)
    assert p.decision == "credit" and p.key == "1017-R40"


def test_take_and_rest_add_up_to_the_refund() -> None:
    parts = {1: Decimal(1)}
    part, rest = split.take(TWO, parts), split.rest(TWO, parts)
    assert Decimal(part["amount"]) + Decimal(rest["amount"]) == Decimal("38.62")
    assert part["line_items"][0]["total"] == "18.00" and rest["line_items"][0]["total"] == "18.00"
    assert part["line_items"][0]["quantity"] == "1" and rest["line_items"][0]["quantity"] == "1"


class SplitBC:
    """BC for the apply step: the order (its total follows the T-shirt line), the credit memos posted."""

    def __init__(self, doc: dict, memo_total: str) -> None:
        self.doc, self.memo_total, self.down = doc, memo_total, False
        self.memos: list[dict] = []
        self.writes: list[tuple[str, str]] = []

    def get(self, path: str, params: dict | None = None) -> dict:
        qty = Decimal(str(self.doc["salesOrderLines"][1]["quantity"]))
        return {**self.doc, "totalAmountIncludingTax": str(Decimal("62.21") - (2 - qty) * Decimal("19.31"))}

    def patch(self, path: str, body: dict, etag: str) -> dict:
        self.writes.append(("PATCH", path))
        self.doc["salesOrderLines"][1].update(body)
        return {}

    def delete(self, path: str, etag: str) -> None:
        self.writes.append(("DELETE", path))
        self.memos = [m for m in self.memos if m["id"] not in path]

    def post(self, path: str, body: dict, **kw: object) -> dict:
        self.writes.append(("POST", path))
        if path.endswith("salesOrderLines"):
            self.doc["salesOrderLines"].append({"lineType": "Comment", **body})
            return {}
        if self.down:
            raise UnreachableError("BC down", system="business_central")
        memo = {"id": f"m{len(self.writes)}", "number": f"PS-CM{len(self.writes)}", "status": "Draft",
                "externalDocumentNumber": body["externalDocumentNumber"],
                "totalAmountIncludingTax": self.memo_total}
        self.memos.append(memo)
        return memo

    def lookup(self, key: str) -> dict | None:
        return next((m for m in self.memos if m["externalDocumentNumber"] == key), None)


def test_apply_reduces_marks_then_credits_once_across_a_crash_and_a_memo_that_differs(tmp_path) -> None:
    from wcbc.core.state import State
    from wcbc.sync.orders.report import Report
    from wcbc.sync.refunds.apply import RefundApplier

    bc = SplitBC(order_doc(), "1.00")
    bc.down = True  # the credit memo's POST is lost: the run stops after the marker
    with State(tmp_path / "state.db") as state:
        applier = RefundApplier(bc=bc, state=state, policy=POLICY, report=Report(), run_id=None,
                                lookup=bc.lookup, options=OPTIONS)

        def run() -> object:
            doc = bc.get("")
            [p] = plan_refunds(ORDER, [BOTH], {}, {}, [doc, INVOICE], POLICY, OPTIONS, None, doc)
            return applier.refund(p)

        with pytest.raises(UnreachableError):
            run()
        assert reduce.markers(bc.doc) == {"1017-R40"} and bc.memos == []
        bc.down = False
        out = run()  # the memo differs from the rest of the refund: deleted, the refund fails
        assert out.result == "failed" and "1017-R40-S" in str(out.message) and bc.memos == []
        bc.memo_total = "12.87"
        patches = [w for w in bc.writes if w[0] == "PATCH"]
        out = run()
        assert out.result == "credited" and [m["externalDocumentNumber"] for m in bc.memos] == ["1017-R40-S"]
        assert [w for w in bc.writes if w[0] == "PATCH"] == patches  # reduced once
        data = state.record_get("refund:17-40")["data"]
        assert data["parts"] == {"1": "1"} and data["credit_key"] == "1017-R40-S"
        assert data["credit_amount"] == "12.87" and data["reduced"] is True
        assert data["amount"] == "19.31" and data["tax"] == "1.31"  # the reduced part, for reconcile
        run()
        assert len(bc.memos) == 1
