"""reconcile --orders, order-to-cash half: paid orders with open invoices, shipped orders not completed."""

from __future__ import annotations

from wcbc.sync.reconcile.o2c import compare_o2c
from wcbc.sync.reconcile.report import OrdersCheck


def web(status: str, paid: bool, oid: int) -> dict:
    return {"id": oid, "number": str(oid), "total": "10.00", "status": status,
            "date_paid": "2026-12-01T10:00:00" if paid else None}


def inv(number: str, status: str) -> dict:
    return {"entity": "salesInvoices", "id": f"id-{number}", "number": number, "status": status,
            "remaining": "10" if status == "Open" else "0", "orderNumber": ""}


def test_paid_order_with_open_invoice_and_shipped_order_not_completed() -> None:
    check = OrdersCheck(since="2026-12-01")
    orders = {"1": web("processing", True, 1), "2": web("completed", True, 2),
              "3": web("processing", False, 3),
              "4": web("processing", True, 4)}
    documents = {"1": [inv("I-1", "Open")], "2": [inv("I-2", "Paid")], "3": [inv("I-3", "Open")],
                 "4": [{"entity": "salesOrders", "id": "o4", "number": "S-4"}]}
    shipped = {"1": ["SH-1"], "2": ["SH-2"], "4": ["SH-4"]}
    compare_o2c(check, orders, documents, shipped, payments_on=True)
    assert {(i.kind, i.external_number) for i in check.issues} == {
        ("paid_invoice_open", "1"),  # paid, invoice open
        ("shipped_not_completed", "1"),  # shipped and invoiced (order gone), web order still processing
    }  # 2 completed and paid; 3 not paid; 4: its BC order is still open (partly shipped)


def test_paid_invoice_open_is_not_reported_while_payments_are_off() -> None:
    check = OrdersCheck(since="2026-12-01")
    compare_o2c(check, {"1": web("completed", True, 1)}, {"1": [inv("I-1", "Open")]}, {}, payments_on=False)
    assert check.issues == []


def lines(*qty: tuple[int, int, int]) -> list[dict]:
    return [{"lineType": "Item", "lineObjectNumber": f"SKU-{i}", "quantity": q, "shippedQuantity": s,
             "invoicedQuantity": inv} for i, (q, s, inv) in enumerate(qty)]


def test_an_open_order_shipped_in_full_but_not_invoiced_is_reported() -> None:
    check = OrdersCheck(since="2026-12-01")
    orders = {str(n): web("processing", True, n) for n in (5, 6, 7, 8)}
    documents = {str(n): [{"entity": "salesOrders", "id": f"o{n}", "number": f"S-{n}"}] for n in (5, 6, 7, 8)}
    shipped = {"5": ["SH-5"], "6": ["SH-6"], "7": ["SH-7"]}
    order_lines = {"S-5": lines((2, 2, 0), (1, 1, 1)),  # shipped in full, one line not invoiced
                   "S-6": lines((2, 1, 0)),  # partly shipped: not this issue
                   "S-7": lines((2, 2, 2)),  # shipped and invoiced (BC would delete it)
                   "S-8": lines((1, 1, 0))}  # no shipment in the period
    compare_o2c(check, orders, documents, shipped, payments_on=True, order_lines=order_lines)
    assert [(i.kind, i.external_number, i.documents) for i in check.issues] == [
        ("shipped_not_invoiced", "5", ["salesOrders S-5", "salesShipments SH-5"])]
    assert "SKU-0" in check.issues[0].detail and "SKU-1" not in check.issues[0].detail
