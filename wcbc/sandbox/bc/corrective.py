"""Corrections of a posted sales invoice (business-central.md §10.2): Microsoft.NAV.cancel, cancelAndSend
and makeCorrectiveCreditMemo, with their refusals in the order BC checks them.

UNDOCUMENTED: how AL's `\\` line break in these labels reaches the wire. Sandbox choice: each backslash is
a newline, so `paid.\\To reverse` reads "paid.\n\nTo reverse". Clients match a phrase, never the whole text.
"""

from __future__ import annotations

from typing import Any

from wcbc.sandbox.bc.docs import create_document
from wcbc.sandbox.bc.odata import BCError
from wcbc.sandbox.bc.posting import check_post_failure, invoice_status, post_credit_memo
from wcbc.sandbox.bc.store import Company, Store, dialog, modify

POSTED_ONLY = "The action can be applied to a posted invoice only."
PAID = (
    "You cannot cancel this posted sales invoice because it is fully or partially paid.\n\n"
    "To reverse a paid sales invoice, you must manually create a sales credit memo."
)


def _posted(inv: dict[str, Any]) -> None:
    if not inv.get("_posted"):
        raise dialog(POSTED_ONLY)


def _copy_body(inv: dict[str, Any]) -> dict[str, Any]:
    """A credit memo body copying the invoice (CopyDocumentMgt), applied to it."""
    lines = []
    for ln in inv["_lines"]:
        if ln["lineType"] == "Comment":
            lines.append({"description": ln["description"]})
            continue
        body: dict[str, Any] = {
            "lineType": ln["lineType"],
            "lineObjectNumber": ln["lineObjectNumber"],
            "description": ln["description"],
            "quantity": float(ln["quantity"]),
            "unitPrice": float(ln["unitPrice"]),
        }
        if ln["taxCode"]:
            body["taxCode"] = ln["taxCode"]
        if ln.get("_disc") == "percent":
            body["discountPercent"] = float(ln["discountPercent"])
        elif ln.get("_disc") == "amount":
            body["discountAmount"] = float(ln["discountAmount"])
        lines.append(body)
    return {
        "customerId": inv["customerId"],
        "billToCustomerId": inv["billToCustomerId"],
        "externalDocumentNumber": inv["externalDocumentNumber"],
        "currencyCode": inv["currencyCode"],
        "invoiceNumber": inv["number"],
        "discountAmount": float(inv["discountAmount"]),
        "salesCreditMemoLines": lines,
    }


def _test_cancel_allowed(comp: Company, inv: dict[str, Any]) -> None:
    """CorrectPostedSalesInvoice.TestCorrectInvoiceIsAllowed(Cancelling = true), the checks the sandbox
    models: paid, corrective, blocked customer (INFERRED: Blocked = All), blocked item."""
    if inv["totalAmountIncludingTax"] != inv["remainingAmount"]:
        raise dialog(PAID)
    if inv.get("_corrective"):
        raise dialog(
            "You cannot cancel this posted sales invoice because it represents a correction of a credit memo."
        )
    cust = comp.customers.rows.get(inv["billToCustomerId"])
    if cust is not None and cust["blocked"] == "All":
        raise dialog(
            f"You cannot cancel this posted sales invoice because customer {cust['displayName']} is blocked."
        )
    for ln in inv["_lines"]:
        item = comp.items.rows.get(ln.get("itemId") or "") if ln["lineType"] == "Item" else None
        if item is not None and item["blocked"]:
            raise dialog(
                f"You cannot cancel this posted sales invoice because item {item['number']} "
                f"{item['displayName']} is blocked."
            )


def cancel_invoice(store: Store, comp: Company, inv: dict[str, Any], *, send: bool = False) -> dict[str, Any]:
    """Microsoft.NAV.cancel: a corrective credit memo copying the invoice, posted applied to it; the invoice
    reads Canceled, the credit memo Corrective. Returns the credit memo."""
    _posted(inv)
    if inv.get("_canceled"):
        raise dialog("The invoice cannot be canceled because it has already been canceled.")
    _test_cancel_allowed(comp, inv)
    if send:
        _check_send_to(comp, inv)
    try:
        check_post_failure(store, "salesInvoices", inv, "cancel")
    except BCError as err:
        # BC commits the copy before posting it: the draft credit memo stays behind.
        create_document(store, comp, "creditMemo", _copy_body(inv))
        raise BCError(
            err.status,
            err.code,
            "Canceling the invoice failed because of the following error: \n\n"
            f"{err.message}\n\nA credit memo is created but not posted.",
        ) from err
    cm = create_document(store, comp, "creditMemo", _copy_body(inv))
    post_credit_memo(store, comp, cm, corrective=True)
    inv["_canceled"] = True
    modify(store, comp, "salesInvoices", inv, {"status": invoice_status(inv)})
    if send:
        _send(store, comp, inv, "cancelAndSend")
    return cm


def make_corrective_credit_memo(store: Store, comp: Company, inv: dict[str, Any]) -> dict[str, Any]:
    """Microsoft.NAV.makeCorrectiveCreditMemo: a DRAFT credit memo copying every line, applied to the
    invoice; nothing is posted. Found afterwards with
    $filter=invoiceNumber eq '<no.>' and status eq 'Draft'."""
    _posted(inv)
    if inv["remainingAmount"] == 0:
        raise dialog("The invoice is closed. The corrective credit memo will not be applied to the invoice.")
    if inv["remainingAmount"] != inv["totalAmountIncludingTax"]:
        raise dialog(
            "The invoice is partially paid or credited. The corrective credit memo may not be fully "
            "closed by the invoice."
        )
    if inv.get("orderId") and inv["orderId"] in comp.salesOrders.rows:
        # The invoice came from an order that still exists: BC asks a confirmation, which a web-service call
        # cannot answer (INFERRED code; the message is the sandbox's, UNDOCUMENTED).
        raise BCError(
            400,
            "Application_CallbackNotAllowed",
            "Callback functions are not allowed. The invoice was posted from an order that is not fully "
            "invoiced and a confirmation is required.",
        )
    return create_document(store, comp, "creditMemo", _copy_body(inv))


def send(store: Store, comp: Company, set_name: str, doc: dict[str, Any], *, post: bool) -> None:
    """send / postAndSend on invoices and credit memos (§3.5, §10.1). postAndSend posts, COMMITs, then
    e-mails: a missing address fails after the document is posted. send works on a draft or posted invoice
    but only on a posted credit memo."""
    from wcbc.sandbox.bc.posting import post_credit_memo, post_invoice

    if post:
        if set_name == "salesInvoices":
            post_invoice(store, comp, doc)
        else:
            post_credit_memo(store, comp, doc)
    elif set_name == "salesCreditMemos" and not doc.get("_posted"):
        raise dialog("The action can be applied to a posted credit memo only.")
    _check_send_to(comp, doc)
    _send(store, comp, doc, "postAndSend" if post else "send")


def _check_send_to(comp: Company, doc: dict[str, Any]) -> None:
    cust = comp.customers.rows.get(doc["billToCustomerId"])
    if not (doc.get("email") or (cust or {}).get("email")):
        # The contract gives the first sentence; the rest is the sandbox's wording.
        raise dialog("The send-to email is empty. Specify an email address for the customer.")


def _send(store: Store, comp: Company, doc: dict[str, Any], action: str) -> None:
    cust = comp.customers.rows.get(doc["billToCustomerId"]) or {}
    store.outbox.append(
        {"action": action, "number": doc["number"], "to": doc.get("email") or cust.get("email", "")}
    )
