"""``reconcile --orders``, the order-to-cash half (issue 15): it only reports.

* ``paid_invoice_open``: a web order the store shows paid whose posted BC invoice is still open (only
  with ``[payments] journals`` set: without it finance applies payments by hand, and every invoice is
  open until they do);
* ``shipped_not_completed``: a web order whose BC order was shipped and is gone from the open sales
  orders (fully shipped and invoiced, §10.3) while the web order is not completed. An order shipped in
  full but not invoiced yet is left to ``sync-fulfilment`` (its lines would need one more read per order).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wcbc.sync.reconcile.report import OrderIssue, OrdersCheck

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


def compare_o2c(check: OrdersCheck, web: dict[str, dict[str, Any]],
                documents: dict[str, list[dict[str, Any]]],
                shipped: dict[str, list[str]], *, payments_on: bool) -> None:
    """Add the order-to-cash issues between the web orders and the BC documents and shipments (pure)."""
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
