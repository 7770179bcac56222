"""Posting: Microsoft.NAV.post on draft invoices and credit memos, Microsoft.NAV.shipAndInvoice on orders
(whole or partial, by each line's shipQuantity / invoiceQuantity), posted shipments, item ledger entries,
and the customer ledger behind invoices' remainingAmount/status and credit memos' application.

Every check runs before any change, so a refused post leaves everything as it was (no number consumed).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from wcbc.sandbox.bc.docs import recalc, refresh_invoice_id, to_text
from wcbc.sandbox.bc.odata import BCError
from wcbc.sandbox.bc.schema import BLANK_DATE
from wcbc.sandbox.bc.store import Company, Store, add_ledger_entry, dialog, modify, money

ZERO = Decimal(0)
NOTHING_TO_POST = "There is nothing to post because the document does not contain a quantity or amount."
ORDER_ONLY_FIELDS = (
    "orderDate",
    "partialShipping",
    "requestedDeliveryDate",
    "fullyShipped",
    "status",
    "_lines",
    "_v",
    "_sortno",
)
ORDER_LINE_ONLY = ("shippedQuantity", "invoicedQuantity", "invoiceQuantity", "shipQuantity")


def field_error(message: str) -> BCError:
    return BCError(400, "Application_FieldValidationException", message)


# --------------------------------------------------------------------------- failure knob


def check_post_failure(store: Store, set_name: str, doc: dict[str, Any], action: str) -> None:
    """The admin knob `fail_posting`: a matching rule makes this post fail with the configured BC error."""
    for rule in list(store.post_failures):
        if rule.get("set") not in (None, set_name) or rule.get("action") not in (None, action):
            continue
        if rule.get("id") not in (None, doc["id"]):
            continue
        ext = rule.get("externalDocumentNumber")
        if ext is not None and ext.strip().upper() != doc.get("externalDocumentNumber"):
            continue
        if rule.get("times") is not None:
            rule["times"] -= 1
            if rule["times"] <= 0:
                store.post_failures.remove(rule)
        raise BCError(rule["status"], rule["code"], rule["message"])


# --------------------------------------------------------------------------- checks


def _postable(doc: dict[str, Any], what: str) -> list[dict[str, Any]]:
    if not doc["_lines"]:
        raise dialog(f"Please add at least one line item to the {what}.")
    return [
        ln
        for ln in doc["_lines"]
        if ln["lineType"] in ("Item", "Account") and ln["lineObjectNumber"] and ln["quantity"] != 0
    ]


def _check_customer(comp: Company, doc: dict[str, Any], blocked: tuple[str, ...]) -> None:
    cust = comp.customers.rows.get(doc["customerId"])
    if cust is not None and cust["blocked"] in blocked:
        raise field_error(
            f"You cannot post this type of document when Customer {cust['number']} is blocked with type "
            f"{cust['blocked']}"
        )


def _check_items(comp: Company, lines: list[dict[str, Any]]) -> None:
    for line in lines:
        if line["lineType"] == "Item":
            item = comp.items.rows.get(line["itemId"])
            if item is not None and item["blocked"]:
                raise field_error(
                    f"Blocked must be equal to 'No'  in Item: No.={item['number']}. Current value is 'Yes'."
                )


def _ledger(
    store: Store,
    comp: Company,
    doc: dict[str, Any],
    lines: list[tuple[dict[str, Any], Decimal]],
    doc_no: str,
    doc_type: str,
    sign: int,
) -> None:
    """Item ledger entries for Inventory items: sign -1 for a shipment/invoice, +1 restocks (credit memo)."""
    for line, qty in lines:
        item = comp.items.rows.get(line["itemId"]) if line["lineType"] == "Item" else None
        if item is None or item["type"] != "Inventory" or not qty:
            continue
        share = line.get("netAmount", ZERO) * qty / line["quantity"] if line["quantity"] else ZERO
        add_ledger_entry(
            store,
            comp,
            item["number"],
            sign * qty,
            "Sale",
            document_number=doc_no,
            document_type=doc_type,
            source_type="Customer",
            source_number=doc["customerNumber"],
            sales_amount=-sign * money(share),
            cost_amount=sign * money(qty * item["unitCost"]),
            posting_date=doc["postingDate"],
            description=line["description"],
        )


# --------------------------------------------------------------------------- customer ledger


def invoice_status(inv: dict[str, Any]) -> str:
    """SalesInvoiceAggregator: Cancelled -> Canceled, Corrective -> Corrective, Closed -> Paid, else Open."""
    if not inv.get("_posted"):
        return "Draft"
    if inv.get("_canceled"):
        return "Canceled"
    if inv.get("_corrective"):
        return "Corrective"
    return "Paid" if inv["remainingAmount"] == 0 else "Open"


def credit_memo_status(cm: dict[str, Any]) -> str:
    if not cm.get("_posted"):
        return "Draft"
    if cm.get("_canceled"):
        return "Canceled"
    if cm.get("_corrective"):
        return "Corrective"
    return "Paid" if cm["_remaining"] == 0 else "Open"


def open_invoice(comp: Company, number: str, customer_id: str) -> dict[str, Any] | None:
    """The open Cust. Ledger Entry of type Invoice with this number for the bill-to customer."""
    for inv in comp.salesInvoices.find("number", number):
        if inv.get("_posted") and inv["billToCustomerId"] == customer_id and inv["remainingAmount"] != 0:
            return inv
    return None


def no_open_entry(comp: Company, number: str, customer_id: str) -> BCError:
    """Gen. Jnl.-Post Line's FindFirst on the applies-to entry found nothing (§10.1). The filter text after
    the first sentence is platform-generated and UNDOCUMENTED; so is the HTTP status (sandbox: 400)."""
    cust = comp.customers.rows.get(customer_id)
    return BCError(
        400,
        "Internal_DataNotFoundFilter",
        "There is no Cust. Ledger Entry within the filter.  Filters: Customer No.: "
        f"{cust['number'] if cust else ''}, Open: Yes, Document Type: Invoice, Document No.: {number}",
    )


def apply_to_invoice(comp: Company, inv: dict[str, Any], amount: Decimal) -> Decimal:
    """Apply up to ``amount`` (positive) to an open invoice; returns what was applied. The invoice header is
    not modified (Remaining Amount and Closed live on the Cust. Ledger Entry): no ETag change, no webhook."""
    applied = min(amount, inv["remainingAmount"])
    inv["remainingAmount"] -= applied
    inv["status"] = invoice_status(inv)
    return applied


def refresh_balance(comp: Company, customer_id: str) -> None:
    """customers.balanceDue is a FlowField over the customer's open entries (no record change)."""
    cust = comp.customers.rows.get(customer_id)
    if cust is None:
        return
    due = ZERO
    for inv in comp.salesInvoices.rows.values():
        if inv.get("_posted") and inv["billToCustomerId"] == customer_id:
            due += inv["remainingAmount"]
    for cm in comp.salesCreditMemos.rows.values():
        if cm.get("_posted") and cm["billToCustomerId"] == customer_id:
            due -= cm["_remaining"]
    for pay in comp.payment_entries:
        if pay["customerId"] == customer_id:
            due -= pay["remaining"]
    cust["balanceDue"] = due


# --------------------------------------------------------------------------- invoices


def post_invoice(store: Store, comp: Company, doc: dict[str, Any]) -> None:
    """Microsoft.NAV.post: the draft keeps its id, gets a posted number, status Open (Paid when zero)."""
    if doc.get("_posted") or doc["status"] != "Draft":
        raise dialog("The action can be applied to a draft invoice only.")
    postable = _postable(doc, "invoice")
    if not postable:
        raise dialog(NOTHING_TO_POST)
    _check_customer(comp, doc, ("Invoice", "All", "Ship"))
    _check_items(comp, postable)
    check_post_failure(store, "salesInvoices", doc, "post")
    number = comp.next_no("posted_invoice")
    doc["_lines"] = [ln for ln in doc["_lines"] if ln in postable or ln["lineType"] == "Comment"]
    recalc(store, comp, doc)
    _ledger(store, comp, doc, [(ln, ln["quantity"]) for ln in postable], number, "Sales Invoice", -1)
    doc["_posted"] = True
    doc["_sortno"] = "2" + number
    doc["remainingAmount"] = doc["totalAmountIncludingTax"]
    modify(store, comp, "salesInvoices", doc, {"number": number, "status": invoice_status(doc)})
    refresh_balance(comp, doc["billToCustomerId"])


# --------------------------------------------------------------------------- credit memos


def post_credit_memo(store: Store, comp: Company, doc: dict[str, Any], *, corrective: bool = False) -> None:
    """Microsoft.NAV.post on a credit memo (§10.1): same id, a posted number; Item lines restock (INFERRED:
    Sales-Post sets Receive); the application to invoiceNumber is made, or the post fails when that invoice
    has no open entry for the bill-to customer."""
    if doc.get("_posted"):
        raise dialog("The action can be applied to a draft credit memo only.")
    postable = _postable(doc, "credit memo")
    if not postable:
        raise dialog(NOTHING_TO_POST)
    _check_customer(comp, doc, ("All",))
    _check_items(comp, postable)
    if not corrective:
        check_post_failure(store, "salesCreditMemos", doc, "post")
    doc["_lines"] = [ln for ln in doc["_lines"] if ln in postable or ln["lineType"] == "Comment"]
    recalc(store, comp, doc)
    target = None
    if doc.get("invoiceNumber"):
        target = open_invoice(comp, doc["invoiceNumber"], doc["billToCustomerId"])
        if target is None:
            raise no_open_entry(comp, doc["invoiceNumber"], doc["billToCustomerId"])
    number = comp.next_no("posted_credit_memo")
    _ledger(store, comp, doc, [(ln, ln["quantity"]) for ln in postable], number, "Sales Credit Memo", 1)
    doc["_posted"] = True
    doc["_corrective"] = corrective
    doc["_sortno"] = "2" + number
    total = doc["totalAmountIncludingTax"]
    # A credit memo larger than the invoice's remaining amount closes the invoice and stays open for the
    # rest (standard application; INFERRED).
    applied = apply_to_invoice(comp, target, total) if target is not None and total > 0 else ZERO
    doc["_remaining"] = total - applied
    modify(store, comp, "salesCreditMemos", doc, {"number": number, "status": credit_memo_status(doc)})
    refresh_invoice_id(comp, doc)
    refresh_balance(comp, doc["billToCustomerId"])


# --------------------------------------------------------------------------- orders


def ship_and_invoice(
    store: Store, comp: Company, order: dict[str, Any], *, admin: bool = False
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, bool]:
    """Post an order with Ship and Invoice, using each line's shipQuantity / invoiceQuantity (§10.3).

    Sales-Post drops Invoice when no line has a quantity to invoice and Ship when none has a quantity to
    ship (INFERRED: every invoiceQuantity 0 -> a shipment only). Returns (posted invoice or None, posted
    shipment or None, whether the order was deleted because it is fully shipped and invoiced).
    """
    postable = _postable(order, "estimate")
    ship = [(ln, ln["shipQuantity"]) for ln in postable if ln["shipQuantity"] > 0]
    inv = [(ln, ln["invoiceQuantity"]) for ln in postable if ln["invoiceQuantity"] > 0]
    if not ship and not inv:
        raise dialog(NOTHING_TO_POST)
    _check_customer(comp, order, ("Invoice", "All", "Ship") if ship else ("Invoice", "All"))
    _check_items(comp, [ln for ln, _ in ship + inv])
    complete = not order.get("partialShipping", True)
    if (
        ship
        and complete
        and any(ln["shippedQuantity"] + ln["shipQuantity"] < ln["quantity"] for ln in postable)
    ):
        raise dialog(
            "This document cannot be shipped completely. Change the value in the Shipping Advice field "
            "to Partial."
        )
    for ln, qty in inv:
        can = ln["shippedQuantity"] + ln["shipQuantity"] - ln["invoicedQuantity"]
        if qty > can:
            # UNDOCUMENTED wording (sandbox): invoicing more than is shipped (or shipped now) is refused.
            raise dialog(f"You cannot invoice more than {to_text(can)} units.")
    if not admin:
        check_post_failure(store, "salesOrders", order, "shipAndInvoice")
    shipment = _post_shipment(store, comp, order, ship) if ship else None
    invoice = _post_order_invoice(store, comp, order, inv) if inv else None
    for ln, qty in ship:
        ln["shippedQuantity"] += qty
    for ln, qty in inv:
        ln["invoicedQuantity"] += qty
    for ln in order["_lines"]:
        if ln["lineType"] != "Comment":
            ln["shipQuantity"] = ln["quantity"] - ln["shippedQuantity"]
            ln["invoiceQuantity"] = ln["quantity"] - ln["invoicedQuantity"]
            ln["_v"] = ln.get("_v", 1) + 1
    done = all(
        ln["shippedQuantity"] == ln["quantity"] == ln["invoicedQuantity"]
        for ln in order["_lines"]
        if ln["lineType"] != "Comment"
    )
    if done:
        comp.salesOrders.delete(order["id"])
        store.on_change(comp.id, "salesOrders", order["id"], "deleted", store.now())
    else:
        fully = all(
            ln["shippedQuantity"] == ln["quantity"] for ln in order["_lines"] if ln["lineType"] != "Comment"
        )
        modify(store, comp, "salesOrders", order, {"fullyShipped": fully})
    return invoice, shipment, done


def _post_shipment(
    store: Store, comp: Company, order: dict[str, Any], lines: list[tuple[dict[str, Any], Decimal]]
) -> dict[str, Any]:
    number = comp.next_no("shipment")
    now = store.now()
    ship_id = str(uuid.uuid4())
    rec: dict[str, Any] = {k: order.get(k) for k in order if not k.startswith("_")}
    rec.update(
        {
            "id": ship_id,
            "number": number,
            "invoiceDate": order["orderDate"],
            "dueDate": order["postingDate"],
            "customerPurchaseOrderReference": "",
            "currencyCode": order["currencyCode"],
            "orderNumber": order["number"],
            "paymentTermsCode": "",
            "shipmentMethodCode": "",
            "lastModifiedDateTime": now,
            "_v": 1,
            # Sales Shipment Header fields 105, 106, 5794: no API v2.0 page exposes them (§10.4); the
            # custom tracking endpoint (custom.py) does, and page 1350 edits them after posting.
            "_shippingAgentCode": "",
            "_shippingAgentServiceCode": "",
            "_packageTrackingNo": "",
            "_lines": [],
        }
    )
    types = {"Item": "Item", "Account": "G/L Account", "Comment": " "}
    for ln, qty in lines:
        rec["_lines"].append(
            {
                "id": str(uuid.uuid4()),
                "documentId": ship_id,
                "documentNo": number,
                "sequence": ln["sequence"],
                "lineType": types.get(ln["lineType"], ln["lineType"]),
                "lineObjectNumber": ln["lineObjectNumber"],
                "description": ln["description"],
                "description2": ln["description2"],
                "unitOfMeasureCode": ln["unitOfMeasureCode"],
                "unitPrice": ln["unitPrice"],
                "quantity": qty,
                "discountPercent": ln["discountPercent"],
                "taxPercent": ln.get("taxPercent", ZERO),
                "shipmentDate": ln.get("shipmentDate") or BLANK_DATE,
                "_v": 1,
            }
        )
    _ledger(store, comp, order, lines, number, "Sales Shipment", -1)
    comp.salesShipments.insert(rec)
    # salesShipments are not in the documented webhook list (§10.8): nothing is notified.
    return rec


def _post_order_invoice(
    store: Store, comp: Company, order: dict[str, Any], lines: list[tuple[dict[str, Any], Decimal]]
) -> dict[str, Any]:
    """A posted invoice with a NEW id, naming the order in orderId/orderNumber."""
    number = comp.next_no("posted_invoice")
    inv_id = str(uuid.uuid4())
    inv: dict[str, Any] = {k: v for k, v in order.items() if k not in ("id", "number", *ORDER_ONLY_FIELDS)}
    base = sum((ln["_amount"] for ln in order["_lines"] if "_amount" in ln), ZERO)
    inv.update(
        {
            "id": inv_id,
            "number": number,
            "invoiceDate": order["postingDate"],
            "dueDate": order["postingDate"],
            "promisedPayDate": BLANK_DATE,
            "customerPurchaseOrderReference": "",
            "orderId": order["id"],
            "orderNumber": order["number"],
            "disputeStatusId": "",
            "disputeStatus": "",
            "_posted": True,
            "_sortno": "2" + number,
            "_v": 1,
            "lastModifiedDateTime": store.now(),
        }
    )
    copies = []
    amount = ZERO
    chosen = {id(ln): qty for ln, qty in lines}
    for line in order["_lines"]:
        if line["lineType"] != "Comment" and id(line) not in chosen:
            continue
        copy = {k: v for k, v in line.items() if k not in ORDER_LINE_ONLY}
        copy.update({"id": str(uuid.uuid4()), "documentId": inv_id, "_v": 1})
        if id(line) in chosen and chosen[id(line)] != line["quantity"]:
            part = chosen[id(line)]
            copy["quantity"] = part
            if copy.get("_disc") == "amount":
                copy["discountAmount"] = money(line["discountAmount"] * part / line["quantity"])
        if line["quantity"]:
            amount += line.get("_amount", ZERO) * chosen.get(id(line), ZERO) / line["quantity"]
        copies.append(copy)
    inv["_lines"] = copies
    # The order's invoice discount is shared over its partial invoices pro rata (sandbox choice).
    disc = order.get("discountAmount") or ZERO
    inv["discountAmount"] = money(disc * amount / base) if disc and base else ZERO
    recalc(store, comp, inv)
    inv["remainingAmount"] = inv["totalAmountIncludingTax"]
    inv["status"] = invoice_status(inv)
    comp.salesInvoices.insert(inv)
    store.on_change(comp.id, "salesInvoices", inv_id, "created", inv["lastModifiedDateTime"])
    refresh_balance(comp, inv["billToCustomerId"])
    return inv
