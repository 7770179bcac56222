"""``reconcile --orders``, the order-to-cash half (issue 15): it only reports.

* ``paid_invoice_open``: a web order the store shows paid whose posted BC invoice is still open (only
  with ``[payments] journals`` set: without it finance applies payments by hand, and every invoice is
  open until they do);
* ``shipped_not_completed``: a web order whose BC order was shipped and is gone from the open sales
  orders (fully shipped and invoiced, §10.3) while the web order is not completed;
* ``shipped_not_invoiced``: a BC sales order still open with a shipment whose every line is shipped in
  full while some line is not invoiced (``invoicedQuantity`` < ``quantity``). The goods are gone but no
  receivable exists: the sale is not in revenue or the buyer's balance, and a web payment has no posted
  invoice to settle (``sync-fulfilment`` pays posted invoices only). Only the open orders that have a
  shipment are read with their lines (``number in (...)``, one call per chunk, not one per order).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from wcbc.adapters.bc import odata
from wcbc.sync.reconcile.report import OrderIssue, OrdersCheck
from wcbc.sync.shipments.plan import fully_shipped

DONE_STATUSES = frozenset({"completed", "cancelled", "refunded", "trash"})


def read_shipped(bc: Any, since: datetime) -> dict[str, list[str]]:
    """External document number -> the numbers of BC shipments posted since ``since``."""
    shipped: dict[str, list[str]] = {}
    params = {"$filter": f"postingDate ge {since.date().isoformat()}",
              "$select": "number,externalDocumentNumber,orderNumber"}
    for s in bc.iter("salesShipments", params):
        ext = str(s.get("externalDocumentNumber") or "").strip().upper()
        if ext:
            shipped.setdefault(ext, []).append(str(s.get("number")))
    return shipped


def shipped_open_orders(documents: dict[str, list[dict[str, Any]]], shipped: dict[str, list[str]]
                        ) -> list[str]:
    """The numbers of the BC sales orders still open that have a shipment (pure)."""
    return sorted({d["number"] for ext in shipped for d in documents.get(ext) or []
                   if d["entity"] == "salesOrders" and d.get("number")})


def read_order_lines(bc: Any, numbers: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Order number (upper case) -> its lines, for the BC sales orders ``numbers`` still open."""
    found: dict[str, list[dict[str, Any]]] = {}
    for flt in odata.in_chunks("number", numbers):
        params = {"$filter": flt, "$select": "id,number", "$expand": "salesOrderLines", **odata.SCHEMA_2_1}
        for doc in bc.iter("salesOrders", params):
            found[str(doc["number"]).upper()] = list(doc.get("salesOrderLines") or [])
    return found


def not_invoiced(lines: list[dict[str, Any]]) -> list[str]:
    """The line numbers (or descriptions) shipped but not (all) invoiced, when every line is shipped in
    full; [] otherwise (pure)."""
    if not lines or not fully_shipped(lines):
        return []
    out = []
    for ln in lines:
        if ln.get("lineType") not in ("Item", "Account"):
            continue
        try:
            left = Decimal(str(ln.get("quantity") or 0)) - Decimal(str(ln.get("invoicedQuantity") or 0))
        except ArithmeticError:
            continue
        if left > 0:
            out.append(str(ln.get("lineObjectNumber") or ln.get("sequence") or ln.get("description") or "?"))
    return out


def compare_o2c(check: OrdersCheck, web: dict[str, dict[str, Any]],
                documents: dict[str, list[dict[str, Any]]],
                shipped: dict[str, list[str]], *, payments_on: bool,
                order_lines: dict[str, list[dict[str, Any]]] | None = None) -> None:
    """Add the order-to-cash issues between the web orders and the BC documents and shipments (pure).
    ``order_lines``: the lines of the open BC orders that have a shipment (:func:`read_order_lines`)."""
    for ext in sorted(shipped):
        for doc in documents.get(ext) or []:
            if doc["entity"] != "salesOrders":
                continue
            left = not_invoiced((order_lines or {}).get(str(doc["number"]).upper()) or [])
            if left:
                info = web.get(ext) or {}
                check.issues.append(OrderIssue(
                    "shipped_not_invoiced", ext, info.get("id"),
                    [f"salesOrders {doc['number']}", *(f"salesShipments {n}" for n in shipped[ext])],
                    detail=f"BC order {doc['number']} is shipped in full but not invoiced "
                           f"(items {', '.join(left)}): post its invoice"))
    for ext, info in sorted(web.items()):
        docs = documents.get(ext) or []
        if payments_on and info.get("date_paid"):
            open_invoices = [d for d in docs if d["entity"] == "salesInvoices" and d.get("status") == "Open"]
            for inv in open_invoices:
                check.issues.append(OrderIssue(
                    "paid_invoice_open", ext, info["id"], [f"salesInvoices {inv['number']}"],
                    detail=f"web order {info['number']} is paid; invoice {inv['number']} still has "
                           f"{inv.get('remaining')} open"))
        open_order = any(d["entity"] == "salesOrders" for d in docs)
        if ext in shipped and not open_order and str(info.get("status")) not in DONE_STATUSES:
            check.issues.append(OrderIssue(
                "shipped_not_completed", ext, info["id"], [f"salesShipments {n}" for n in shipped[ext]],
                detail=f"BC shipped order {info['number']} in full; the web order is {info.get('status')}"))
