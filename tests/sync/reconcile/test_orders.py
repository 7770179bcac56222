"""The order check's comparison with plain data (what the two reads return): no HTTP, no state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from wcbc.sync.reconcile.orders import compare, distinct_documents
from wcbc.sync.reconcile.report import OrdersCheck


def doc(entity: str, number: str, total: str, order_number: str = "") -> dict[str, Any]:
    return {"entity": entity, "id": f"id-{number}", "number": number, "total": Decimal(total),
            "orderNumber": order_number}


def issues(check: OrdersCheck) -> set[tuple[str, str]]:
    return {(i.kind, i.external_number) for i in check.issues}


def test_compare_finds_each_kind_of_issue() -> None:
    web = {"WEB-1": {"id": 1, "total": "10.00", "number": "1"},
           "WEB-2": {"id": 2, "total": "5.00", "number": "2"},
           "WEB-3": {"id": 3, "total": "20.00", "number": "3"},
           "WEB-4": {"id": 4, "total": "7.00", "number": "4"},
           "WEB-5": {"id": 5, "total": "8.00", "number": "5"}}
    documents = {"WEB-1": [doc("salesOrders", "S-1", "10.00")],
                 "WEB-3": [doc("salesOrders", "S-3", "19.00")],
                 "WEB-4": [doc("salesOrders", "S-4", "7.00"), doc("salesInvoices", "I-4", "7.00")],
                 "WEB-5": [doc("salesOrders", "S-5", "8.00"), doc("salesInvoices", "I-5", "8.00", "S-5")],
                 "PHONE-9": [doc("salesOrders", "S-9", "3.00")],
                 "LINKED-8": [doc("salesOrders", "S-8", "3.00")]}
    check = OrdersCheck(since="2026-11-01T00:00:00Z")
    compare(check, web, documents, Decimal("0.01"), lambda document_id: document_id == "id-S-8")
    assert issues(check) == {("missing_in_bc", "WEB-2"), ("total_differs", "WEB-3"), ("duplicate", "WEB-4"),
                             ("missing_in_woo", "PHONE-9")}
    assert check.matched == 4
    differs = next(i for i in check.issues if i.kind == "total_differs")
    assert differs.documents == ["salesOrders S-3"] and "tolerance 0.01" in differs.detail


def test_the_invoice_of_a_shipped_order_is_the_same_sale() -> None:
    order, invoice = doc("salesOrders", "S-1", "8.00"), doc("salesInvoices", "I-1", "8.00", "S-1")
    assert distinct_documents([order, invoice, order]) == [order]
    other = doc("salesInvoices", "I-2", "8.00")
    assert distinct_documents([order, other]) == [order, other]


def test_tax_and_currency_of_a_booked_document_are_checked() -> None:
    web = {"WEB-1": {"id": 1, "total": "10.72", "number": "1", "tax": "0.72", "currency": "EUR"},
           "WEB-2": {"id": 2, "total": "10.00", "number": "2", "tax": "0.00", "currency": "USD"}}
    first = {**doc("salesInvoices", "I-1", "10.72"), "tax": Decimal("0.72"), "currency": "USD"}
    second = {**doc("salesOrders", "S-2", "10.00"), "tax": Decimal("0.70"), "currency": "USD"}
    documents = {"WEB-1": [first], "WEB-2": [second]}
    check = OrdersCheck(since="2026-11-01T00:00:00Z")
    compare(check, web, documents, Decimal("0.01"), lambda document_id: False)
    assert issues(check) == {("currency_differs", "WEB-1"), ("tax_differs", "WEB-2")}
    tax = next(i for i in check.issues if i.kind == "tax_differs")
    assert "0.00 vs BC 0.70" in tax.detail and tax.documents == ["salesOrders S-2"]
