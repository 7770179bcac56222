"""Customer payments (business-central.md §10.5): customerPaymentJournals (batches of the Cash Receipts
template), customerPayments (their lines), journals (the General template's batches) and
journals({id})/Microsoft.NAV.post, which posts every line of the batch it finds by SystemId, whatever the
template (INFERRED in the contract from the AL code: the sandbox follows it).

Posting is all or nothing (Gen. Jnl.-Post Batch runs in one transaction); the posted payments become
customer entries applied to the invoices they name, which is what salesInvoices' remainingAmount/status
show. v2.0 has no customer-ledger-entry resource: `BCApp.payment_entries()` is the admin view.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from wcbc.sandbox.bc.odata import BCError
from wcbc.sandbox.bc.posting import (
    apply_to_invoice,
    check_post_failure,
    no_open_entry,
    open_invoice,
    refresh_balance,
)
from wcbc.sandbox.bc.schema import BLANK_GUID, CUSTOMER_PAYMENT, CUSTOMER_PAYMENT_JOURNAL
from wcbc.sandbox.bc.store import Company, Store, dialog, modify

ZERO = Decimal(0)
CASH_TEMPLATE = "CASH RECE"  # the default Cash Receipts template's name (CRONUS)
GENERAL_TEMPLATE = "GENERAL"


def _field_error(message: str) -> BCError:
    return BCError(400, "Application_FieldValidationException", message)


# --------------------------------------------------------------------------- batches


def new_batch(
    store: Store, comp: Company, values: dict[str, Any], *, template: str = CASH_TEMPLATE
) -> dict[str, Any]:
    table = comp.customerPaymentJournals if template == CASH_TEMPLATE else comp.journals
    code = values.get("code", "")
    if not code:
        raise _field_error(
            f"Name must have a value in Gen. Journal Batch: Journal Template Name={template}, Name=. "
            "It cannot be zero or empty."
        )
    if table.find("code", code):
        raise BCError(
            400,
            "Internal_EntityWithSameKeyExists",
            "The record in table Gen. Journal Batch already exists. Identification fields and values: "
            f"Journal Template Name='{template}',Name='{code}'",
        )
    rec: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "code": code,
        "displayName": values.get("displayName", ""),
        "templateDisplayName": template,
        "balancingAccountId": "",
        "balancingAccountNumber": "",
        "lastModifiedDateTime": store.now(),
        "_v": 1,
        "_lines": [],
        "_template": template,
    }
    _set_balancing(comp, rec, values)
    table.insert(rec)
    set_name = "customerPaymentJournals" if template == CASH_TEMPLATE else "journals"
    store.on_change(comp.id, set_name, rec["id"], "created", rec["lastModifiedDateTime"])
    return rec


def _set_balancing(comp: Company, rec: dict[str, Any], values: dict[str, Any]) -> None:
    if "balancingAccountId" not in values:
        return
    acc_id = values["balancingAccountId"]
    if not acc_id or acc_id == BLANK_GUID:
        rec["balancingAccountId"], rec["balancingAccountNumber"] = "", ""
        return
    acc = comp.accounts.rows.get(acc_id)
    if acc is None:
        # UNDOCUMENTED wording (the page's "does not match" pattern).
        raise dialog('The "balancingAccountId" does not match to a G/L Account.')
    rec["balancingAccountId"], rec["balancingAccountNumber"] = acc["id"], acc["number"]


def update_batch(store: Store, comp: Company, rec: dict[str, Any], body: Any) -> dict[str, Any]:
    values, _ = store.coerce(CUSTOMER_PAYMENT_JOURNAL, body)
    if "code" in values and values["code"] != rec["code"]:
        if not values["code"] or comp.customerPaymentJournals.find("code", values["code"]):
            raise BCError(
                400,
                "Internal_EntityWithSameKeyExists",
                "The record in table Gen. Journal Batch already exists. Identification fields and values: "
                f"Journal Template Name='{CASH_TEMPLATE}',Name='{values['code']}'",
            )
        for line in rec["_lines"]:
            line["journalDisplayName"] = values["code"]
    draft = dict(rec)
    _set_balancing(comp, draft, values)
    changes = {k: draft[k] for k in ("balancingAccountId", "balancingAccountNumber")}
    changes.update({k: values[k] for k in ("code", "displayName") if k in values})
    return modify(store, comp, "customerPaymentJournals", rec, changes)


def find_batch(comp: Company, batch_id: str) -> dict[str, Any] | None:
    """journals' OnFindRecord: a key lookup returns any batch by SystemId, whatever the template."""
    return comp.journals.rows.get(batch_id) or comp.customerPaymentJournals.rows.get(batch_id)


# --------------------------------------------------------------------------- lines


def _customer(comp: Company, values: dict[str, Any]) -> dict[str, Any] | None:
    cid, cno = values.get("customerId"), values.get("customerNumber")
    by_id = by_no = None
    if cid and cid != BLANK_GUID:
        by_id = comp.customers.rows.get(cid)
        if by_id is None:
            raise dialog('The "customerId" does not match to a Customer.')
    if cno:
        found = comp.customers.find("number", cno)
        if not found:
            raise dialog('The "customerNumber" does not match to a Customer.')
        by_no = found[0]
    if by_id is not None and by_no is not None and by_id["id"] != by_no["id"]:
        raise dialog("The customer values do not match to a specific Customer.")
    return by_id or by_no


def _applies_to(comp: Company, values: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """(appliesToInvoiceNumber to store or None when not sent, the posted invoice it names)."""
    inv_id, inv_no = values.get("appliesToInvoiceId"), values.get("appliesToInvoiceNumber")
    if inv_id and inv_id != BLANK_GUID:
        inv = comp.salesInvoices.rows.get(inv_id)
        if inv is None or not inv.get("_posted"):
            raise dialog(
                'The "appliesToInvoiceId" should be the ID of an Open, Paid, Corrective, or Canceled Invoice.'
            )
        if inv_no is not None and inv_no != inv["number"]:
            raise dialog("The Applies To Invoice values do not match to the same Invoice.")
        return inv["number"], inv
    if "appliesToInvoiceId" in values and inv_no is None:
        return "", None  # a blank GUID clears the application
    if inv_no is not None:
        return inv_no, posted_invoice(comp, inv_no)  # not checked on write
    return None, None


def posted_invoice(comp: Company, number: str) -> dict[str, Any] | None:
    found = [i for i in comp.salesInvoices.find("number", number) if i.get("_posted")] if number else []
    return found[0] if found else None


def refresh_applies_to(comp: Company, line: dict[str, Any]) -> dict[str, Any]:
    """appliesToInvoiceId is a page variable: the posted invoice with appliesToInvoiceNumber, else blank."""
    inv = posted_invoice(comp, line.get("appliesToInvoiceNumber", ""))
    line["appliesToInvoiceId"] = inv["id"] if inv else ""
    return line


def _next_document_number(comp: Company, batch: dict[str, Any]) -> str:
    """documentNumber left blank: INFERRED from `Library API - General Journal`.InitializeLine: the previous
    line's number incremented, else the next number of the batch's No. Series."""
    if batch["_lines"]:
        last = batch["_lines"][-1]["documentNumber"]
        m = re.search(r"(\d+)(\D*)$", last)
        if m:
            digits = str(int(m.group(1)) + 1).zfill(len(m.group(1)))
            return last[: m.start(1)] + digits + m.group(2)
    return comp.next_no("payment")


def new_payment(store: Store, comp: Company, batch: dict[str, Any], body: Any) -> dict[str, Any]:
    values, _ = store.coerce(CUSTOMER_PAYMENT, body)
    if values.get("journalId") and values["journalId"] != batch["id"]:
        raise dialog("The Journal Id cannot be changed.")
    if "journalDisplayName" in values and values["journalDisplayName"] != batch["code"]:
        raise dialog("The Journal Id and Journal Display Name do not match.")
    cust = _customer(comp, values)
    applies_no, inv = _applies_to(comp, values)
    if cust is None and inv is not None:
        cust = comp.customers.rows.get(inv["billToCustomerId"])  # filled from the invoice's bill-to
    seq = values.get("lineNumber")
    if seq is None:
        seq = max((ln["lineNumber"] for ln in batch["_lines"]), default=0) + 10000
    elif any(ln["lineNumber"] == seq for ln in batch["_lines"]):
        raise BCError(
            400,
            "Internal_EntityWithSameKeyExists",
            "The record in table Gen. Journal Line already exists. Identification fields and values: "
            f"Journal Template Name='{batch['_template']}',Journal Batch Name='{batch['code']}',"
            f"Line No.='{seq}'",
        )
    line: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "journalId": batch["id"],
        "journalDisplayName": batch["code"],
        "lineNumber": seq,
        "customerId": cust["id"] if cust else "",
        "customerNumber": cust["number"] if cust else "",
        "postingDate": values.get("postingDate", store.today()),
        "documentNumber": values.get("documentNumber") or _next_document_number(comp, batch),
        "externalDocumentNumber": values.get("externalDocumentNumber", ""),
        "amount": values.get("amount", ZERO),
        "appliesToInvoiceNumber": applies_no or "",
        "appliesToInvoiceId": "",
        # INFERRED: validating the Account No. copies the customer's name into Description.
        "description": values.get("description", cust["displayName"] if cust else ""),
        "comment": values.get("comment", ""),
        "lastModifiedDateTime": store.now(),
        "_v": 1,
    }
    batch["_lines"].append(line)
    batch["_lines"].sort(key=lambda ln: ln["lineNumber"])
    return refresh_applies_to(comp, line)


def update_payment(
    store: Store, comp: Company, batch: dict[str, Any], line: dict[str, Any], body: Any
) -> dict[str, Any]:
    values, _ = store.coerce(CUSTOMER_PAYMENT, body)
    if "journalId" in values and values["journalId"] != batch["id"]:
        raise dialog("The Journal Id cannot be changed.")
    if "journalDisplayName" in values and values["journalDisplayName"] != batch["code"]:
        raise dialog("The Journal Id and Journal Display Name do not match.")
    if "lineNumber" in values and values["lineNumber"] != line["lineNumber"]:
        raise dialog("The value for lineNumber cannot be modified. Delete and insert the line again.")
    changes: dict[str, Any] = {}
    if "customerId" in values or "customerNumber" in values:
        cust = _customer(comp, values)
        changes.update(
            {"customerId": cust["id"] if cust else "", "customerNumber": cust["number"] if cust else ""}
        )
    applies_no, _ = _applies_to(comp, values)
    if applies_no is not None:
        changes["appliesToInvoiceNumber"] = applies_no
    for key in (
        "postingDate",
        "documentNumber",
        "externalDocumentNumber",
        "amount",
        "description",
        "comment",
    ):
        if key in values:
            changes[key] = values[key]
    line.update(changes)
    line["_v"] = line.get("_v", 1) + 1
    line["lastModifiedDateTime"] = store.now()
    return refresh_applies_to(comp, line)


# --------------------------------------------------------------------------- posting


def post_batch(store: Store, comp: Company, batch: dict[str, Any]) -> list[dict[str, Any]]:
    """journals({id})/Microsoft.NAV.post: every line of the batch, all or nothing. Returns the entries."""
    lines = batch["_lines"]
    if not lines:
        raise dialog("There is nothing to post.")
    template, code = batch["_template"], batch["code"]
    where = f"in Gen. Journal Line: Journal Template Name={template}, Journal Batch Name={code}"
    remaining: dict[str, Decimal] = {}
    plan: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for line in lines:
        if not line["customerId"]:
            raise _field_error(
                f"Account No. must have a value {where}, Line No.={line['lineNumber']}. It cannot be zero or "
                "empty."
            )
        if line["amount"] > 0:
            # Gen. Jnl.-Check Line CheckDocType: a customer Payment must be negative.
            raise _field_error(f"Amount must be negative {where}, Line No.={line['lineNumber']}.")
        if line["amount"] and not batch["balancingAccountId"]:
            raise dialog(
                f"Document No. {line['documentNumber']} is out of balance by {line['amount']:.2f}. "
                "Please check that Posting Date, Document Type, Document No. and Amount are correct for "
                "each line."
            )
        inv = None
        if line["appliesToInvoiceNumber"]:
            cust_id = line["customerId"]
            inv = open_invoice(comp, line["appliesToInvoiceNumber"], cust_id)
            if inv is not None and remaining.setdefault(inv["id"], inv["remainingAmount"]) == 0:
                inv = None
            if inv is None:
                raise no_open_entry(comp, line["appliesToInvoiceNumber"], cust_id)
            remaining[inv["id"]] -= min(-line["amount"], remaining[inv["id"]])
        plan.append((line, inv))
    check_post_failure(store, "customerPaymentJournals", batch, "post")
    entries = []
    for line, inv in plan:
        if not line["amount"]:
            continue  # sandbox choice (UNDOCUMENTED): a zero line posts nothing and is removed
        paid = -line["amount"]
        applied = apply_to_invoice(comp, inv, paid) if inv is not None else ZERO
        entry = {
            "id": str(uuid.uuid4()),
            "entryType": "Payment",
            "journal": batch["code"],
            "customerId": line["customerId"],
            "customerNumber": line["customerNumber"],
            "postingDate": line["postingDate"],
            "documentNumber": line["documentNumber"],
            "externalDocumentNumber": line["externalDocumentNumber"],
            "amount": line["amount"],
            "appliesToInvoiceNumber": line["appliesToInvoiceNumber"],
            "appliedAmount": applied,
            "remaining": paid - applied,  # an over-payment stays open as a credit (INFERRED)
            "balancingAccountNumber": batch["balancingAccountNumber"],
            "description": line["description"],
        }
        comp.payment_entries.append(entry)
        entries.append(entry)
    batch["_lines"] = []
    for cust_id in {line["customerId"] for line in lines}:
        refresh_balance(comp, cust_id)
    return entries
