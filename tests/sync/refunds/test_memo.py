"""The pure refund -> credit memo mapping (wcbc.sync.refunds.memo)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from wcbc.core.errors import RecordError
from wcbc.sync.mapping.orders import MappingOptions
from wcbc.sync.refunds import memo

OPTIONS = MappingOptions(shipping_account="6610", fee_account="6620")
ORDER = {
    "id": 17,
    "number": "1017",
    "currency": "USD",
    "total": "62.21",
    "line_items": [
        {
            "id": 1,
            "sku": "TSHIRT-001",
            "name": "T-shirt",
            "quantity": 2,
            "subtotal": "36.00",
            "total": "36.00",
            "total_tax": "2.61",
            "meta_data": [{"key": "_restock_refunded_items", "value": "1"}],
        },
        {
            "id": 2,
            "sku": "MUG-001",
            "name": "Mug",
            "quantity": 1,
            "subtotal": "12.00",
            "total": "12.00",
            "total_tax": "0.87",
            "meta_data": [],
        },
    ],
    "shipping_lines": [{"id": 3, "method_title": "Flat rate", "total": "10.00", "total_tax": "0.73"}],
    "fee_lines": [],
}


def line(original: int, sku: str, qty: int, total: str, tax: str) -> dict:
    return {
        "id": 90 + original,
        "sku": sku,
        "name": sku,
        "quantity": -qty,
        "subtotal": f"-{total}",
        "total": f"-{total}",
        "total_tax": f"-{tax}",
        "meta_data": [{"key": "_refunded_item_id", "value": str(original)}],
    }


def refund(
    rid: int, amount: str, lines: list[dict] | None = None, shipping: list[dict] | None = None
) -> dict:
    return {
        "id": rid,
        "amount": amount,
        "reason": "",
        "date_created": "2026-12-07T08:00:00",
        "line_items": lines or [],
        "shipping_lines": shipping or [],
        "fee_lines": [],
    }


def body_lines(body: dict) -> list[tuple]:
    return [
        (ln["lineType"], ln.get("lineObjectNumber"), ln.get("quantity"), ln.get("unitPrice"))
        for ln in body["salesCreditMemoLines"]
        if ln["lineType"] != "Comment"
    ]


def test_key_is_order_number_and_refund_id_within_35() -> None:
    assert memo.credit_memo_number(ORDER, 29) == "1017-R29"
    assert memo.credit_memo_number(ORDER, 29, "web-") == "WEB-1017-R29"
    with pytest.raises(RecordError, match="35"):
        memo.credit_memo_number(ORDER, 12345678901, "X" * 25)
    assert memo.record_id(17, 29) == "refund:17-29"


def test_restocked_line_is_an_item_line_the_rest_an_account_line() -> None:
    r = refund(
        29, "51.48", [line(1, "TSHIRT-001", 2, "36.00", "2.61"), line(2, "MUG-001", 1, "12.00", "0.87")]
    )
    body = memo.map_credit_memo(
        ORDER,
        r,
        OPTIONS,
        customer_number="C1",
        refund_account="6640",
        amount_account="6630",
        restocked={1: Decimal(1)},
        invoice_number="PS-INV1",
    )
    assert body["externalDocumentNumber"] == "1017-R29" and body["invoiceNumber"] == "PS-INV1"
    assert body["creditMemoDate"] == body["postingDate"] == "2026-12-07"
    assert body_lines(body) == [
        ("Item", "TSHIRT-001", 1, 18.0),
        ("Account", "6640", 1, 18.0),
        ("Account", "6640", 1, 12.0),
    ]


def test_shipping_fee_and_amount_not_tied_to_a_line() -> None:
    r = refund(
        30,
        "15.73",
        shipping=[
            {"id": 99, "total": "-10.00", "total_tax": "-0.73", "method_title": "Flat rate", "meta_data": []}
        ],
    )
    body = memo.map_credit_memo(
        ORDER, r, OPTIONS, customer_number="C1", refund_account=None, amount_account="6630", restocked={}
    )
    assert body_lines(body) == [("Account", "6610", 1, 10.0), ("Account", "6630", 1, 5.0)]
    with pytest.raises(RecordError, match="refund_amount_account"):
        memo.map_credit_memo(
            ORDER, r, OPTIONS, customer_number="C1", refund_account=None, amount_account=None, restocked={}
        )


def test_not_restocked_line_needs_the_refund_account() -> None:
    r = refund(31, "13.05", [line(1, "TSHIRT-001", 1, "12.00", "1.05")])
    with pytest.raises(RecordError, match="orders.refund_account"):
        memo.map_credit_memo(
            ORDER, r, OPTIONS, customer_number="C1", refund_account=None, amount_account="6630", restocked={}
        )


def test_a_line_less_full_refund_is_built_from_the_order_lines_none_restocked() -> None:
    r = refund(32, "62.21")
    body = memo.map_credit_memo(
        ORDER, r, OPTIONS, customer_number="C1", refund_account="6640", amount_account="6630", restocked={}
    )
    assert body_lines(body) == [
        ("Account", "6640", 1, 36.0),
        ("Account", "6640", 1, 12.0),
        ("Account", "6610", 1, 10.0),
    ]
    partial = memo.map_credit_memo(
        ORDER,
        refund(33, "20.00"),
        OPTIONS,
        customer_number="C1",
        refund_account="6640",
        amount_account="6630",
        restocked={},
    )
    assert body_lines(partial) == [("Account", "6630", 1, 20.0)]
    after_another = memo.map_credit_memo(
        ORDER,
        r,
        OPTIONS,
        customer_number="C1",
        refund_account="6640",
        amount_account="6630",
        restocked={},
        prior_refunds=1,
    )
    assert body_lines(after_another) == [("Account", "6630", 1, 62.21)]


def test_currency_goes_on_the_credit_memo() -> None:
    options = MappingOptions(shipping_account="6610", local_currency="USD")
    body = memo.map_credit_memo(
        {**ORDER, "currency": "EUR"},
        refund(34, "5.00"),
        options,
        customer_number="C1",
        refund_account=None,
        amount_account="6630",
        restocked={},
    )
    assert body["currencyCode"] == "EUR"


def test_restock_goes_to_the_newest_new_refund_after_what_booked_ones_took() -> None:
    order = {
        **ORDER,
        "line_items": [
            {**ORDER["line_items"][0], "meta_data": [{"key": "_restock_refunded_items", "value": "2"}]}
        ],
    }
    old, new = (
        refund(40, "1", [line(1, "TSHIRT-001", 1, "18", "1.31")]),
        refund(41, "1", [line(1, "TSHIRT-001", 1, "18", "1.31")]),
    )
    assert memo.allocate_restock(order, [old, new], {}) == {41: {1: Decimal(1)}, 40: {1: Decimal(1)}}
    assert memo.allocate_restock(order, [new], {1: Decimal(1)}) == {41: {1: Decimal(1)}}
    assert memo.allocate_restock(order, [new], {1: Decimal(2)}) == {41: {}}


def test_without_restocked_is_what_the_order_still_holds_back() -> None:
    held = memo.without_restocked(ORDER)
    assert [li["quantity"] for li in held["line_items"]] == ["1", "1"]  # 2 - 1 restocked; the mug untouched
    plain = {**ORDER, "line_items": [ORDER["line_items"][1]]}
    assert memo.without_restocked(plain) is plain
