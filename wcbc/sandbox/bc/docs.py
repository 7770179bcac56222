"""Sales orders, sales invoices and sales credit memos with their lines: deep insert (atomic), header and
line validation, line maths with the sandbox's own tax setup (Decimal, rounding per line). Posting lives in
posting.py, the invoice corrections in corrective.py.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from wcbc.sandbox.bc.odata import BCError, EntityType
from wcbc.sandbox.bc.schema import (
    BLANK_DATE,
    BLANK_GUID,
    SALES_CREDIT_MEMO,
    SALES_CREDIT_MEMO_LINE,
    SALES_INVOICE,
    SALES_INVOICE_LINE,
    SALES_ORDER,
    SALES_ORDER_LINE,
)
from wcbc.sandbox.bc.store import (
    Company,
    Store,
    dialog,
    modify,
    money,
    not_found,
    unit_round,
)

KINDS: dict[str, tuple[str, EntityType, EntityType, str]] = {
    # kind -> (entity set, header type, line type, lines nav)
    "order": ("salesOrders", SALES_ORDER, SALES_ORDER_LINE, "salesOrderLines"),
    "invoice": ("salesInvoices", SALES_INVOICE, SALES_INVOICE_LINE, "salesInvoiceLines"),
    "creditMemo": ("salesCreditMemos", SALES_CREDIT_MEMO, SALES_CREDIT_MEMO_LINE, "salesCreditMemoLines"),
}
POSTED_MSGS = {
    "invoice": "The invoice has been posted and can no longer be modified.",
    "creditMemo": "The credit memo has been posted and can no longer be modified.",
}
POSTED_MSG = POSTED_MSGS["invoice"]
# Which customer `blocked` values refuse creating each kind of document (business-central.md §10.7).
CREATE_BLOCKED = {"order": ("Ship", "Invoice", "All"), "invoice": ("Invoice", "All"), "creditMemo": ("All",)}


def kind_of_set(set_name: str) -> str:
    if set_name.startswith("salesOrder"):
        return "order"
    return "creditMemo" if set_name.startswith("salesCreditMemo") else "invoice"


def _refuse_posted(kind: str, doc: dict[str, Any]) -> None:
    if doc.get("_posted"):
        raise dialog(POSTED_MSGS.get(kind, POSTED_MSG))


def has_sales_tax_line(store: Store, doc: dict[str, Any]) -> bool:
    """Under US Sales Tax every Item/Account line's VAT Calculation Type is Sales Tax."""
    return store.tax_mode == "sales_tax" and any(
        ln["lineType"] in ("Item", "Account") for ln in doc.get("_lines", [])
    )


# --------------------------------------------------------------------------- customer resolution


def _resolve_customer(
    store: Store, comp: Company, values: dict[str, Any], kind: str = "order"
) -> dict[str, Any]:
    cid, cno = values.get("customerId"), values.get("customerNumber")
    if not cid and not cno:
        raise dialog('A "customerNumber" or a "customerId" must be provided.')
    by_id = comp.customers.rows.get(cid) if cid else None
    if cid and by_id is None:
        raise dialog("The sell-to customer cannot be found.")
    if cno:
        found = comp.customers.find("number", cno)
        if not found:
            raise dialog("The sell-to customer cannot be found.")
        if by_id is not None and found[0]["id"] != by_id["id"]:
            raise dialog("The sell-to customer values do not match to a specific Customer.")
        by_id = found[0]
    assert by_id is not None
    if by_id["blocked"] in CREATE_BLOCKED[kind]:
        raise BCError(
            400,
            "Application_FieldValidationException",
            f"You cannot create this type of document when Customer {by_id['number']} is blocked with "
            f"type {by_id['blocked']}",
        )
    return by_id


def _customer_fields(cust: dict[str, Any], kind: str = "order") -> dict[str, Any]:
    """What a new document copies from its sell-to customer (which is also the bill-to customer here).
    pricesIncludeTax follows the customer's "Prices Including VAT" (§10.6)."""
    out: dict[str, Any] = {
        "customerId": cust["id"],
        "customerNumber": cust["number"],
        "customerName": cust["displayName"],
        "billToName": cust["displayName"],
        "billToCustomerId": cust["id"],
        "billToCustomerNumber": cust["number"],
        "shipToName": cust["displayName"],
        "shipToContact": "",
        "email": cust["email"],
        "phoneNumber": cust["phoneNumber"],
        "currencyCode": cust["currencyCode"],
        "currencyId": cust["currencyId"],
        "pricesIncludeTax": bool(cust.get("_pricesIncludingVat")),
    }
    if kind == "creditMemo":
        del out["shipToName"], out["shipToContact"]
    for prefix in ("sellTo", "billTo") if kind == "creditMemo" else ("sellTo", "billTo", "shipTo"):
        out[prefix + "AddressLine1"] = cust["addressLine1"]
        out[prefix + "AddressLine2"] = cust["addressLine2"]
        out[prefix + "City"] = cust["city"]
        out[prefix + "Country"] = cust["country"]
        out[prefix + "State"] = cust["state"]
        out[prefix + "PostCode"] = cust["postalCode"]
    return out


# --------------------------------------------------------------------------- headers


def _check_prices_include_tax(store: Store, values: dict[str, Any], doc: dict[str, Any] | None) -> None:
    """salesOrders only (read-only on invoices and credit memos): `true` is refused only when the order
    already has a Sales Tax line, so a deep-insert POST passes (§10.6, AL L410-426)."""
    if values.get("pricesIncludeTax") and doc is not None and has_sales_tax_line(store, doc):
        raise dialog('The "pricesIncludeTax" cannot be set to true if VAT Calculation Type is Sales Tax.')


def create_document(store: Store, comp: Company, kind: str, body: Any) -> dict[str, Any]:
    """POST salesOrders / salesInvoices / salesCreditMemos, with optional inline lines (deep insert): all or
    nothing. Always a draft (the status is read-only)."""
    set_name, htype, ltype, nav = KINDS[kind]
    values, navs = store.coerce(htype, body, navs=(nav,))
    cust = _resolve_customer(store, comp, values, kind)
    today = store.today()
    rec: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "externalDocumentNumber": "",
        "postingDate": today,
        "shortcutDimension1Code": "",
        "shortcutDimension2Code": "",
        "pricesIncludeTax": False,
        "paymentTermsId": "",
        "shipmentMethodId": "",
        "salesperson": "",
        "discountAmount": Decimal(0),
        "discountAppliedBeforeTax": False,
        "lastModifiedDateTime": store.now(),
        "_v": 1,
        "_lines": [],
        "_posted": False,
    }
    rec.update(_customer_fields(cust, kind))
    if kind == "creditMemo":
        rec.update(
            {
                "creditMemoDate": today,
                "dueDate": today,
                "invoiceId": "",
                "invoiceNumber": "",
                "customerReturnReasonId": "",
                "status": "Draft",
            }
        )
    elif kind == "order":
        rec.update(
            {
                "orderDate": today,
                "partialShipping": True,
                "requestedDeliveryDate": BLANK_DATE,
                "fullyShipped": False,
                "status": "Draft",
            }
        )
    else:
        rec.update(
            {
                "invoiceDate": today,
                "dueDate": today,
                "promisedPayDate": BLANK_DATE,
                "customerPurchaseOrderReference": "",
                "orderId": "",
                "orderNumber": "",
                "disputeStatusId": "",
                "disputeStatus": "",
                "remainingAmount": Decimal(0),
                "status": "Draft",
            }
        )
    _apply_header(store, comp, kind, rec, values)
    if kind == "invoice" and "dueDate" not in values:
        rec["dueDate"] = rec["invoiceDate"]
    if kind == "creditMemo" and "dueDate" not in values:
        rec["dueDate"] = rec["creditMemoDate"]
    lines: list[dict[str, Any]] = []
    for raw in navs.get(nav, []):
        lines.append(build_line(store, comp, kind, rec, raw, lines))
    # Everything validated: commit.
    rec["_lines"] = lines
    series = {"order": "order", "invoice": "invoice", "creditMemo": "credit_memo"}[kind]
    rec["number"] = comp.next_no(series)
    rec["_sortno"] = "1" + rec["number"]
    recalc(store, comp, rec)
    table = comp.table(set_name)
    assert table is not None
    table.insert(rec)
    store.on_change(comp.id, set_name, rec["id"], "created", rec["lastModifiedDateTime"])
    return rec


def _apply_header(
    store: Store, comp: Company, kind: str, rec: dict[str, Any], values: dict[str, Any]
) -> None:
    _check_prices_include_tax(store, values, rec if kind == "order" else None)
    pair = store.currency_pair(comp, values)
    if pair is not None:
        rec["currencyCode"], rec["currencyId"] = pair
    if kind == "creditMemo":
        _apply_credit_memo_refs(comp, rec, values)
    for key, value in values.items():
        if key.startswith("_") or key in ("customerId", "customerNumber", "currencyCode", "currencyId"):
            continue
        if key in ("invoiceId", "invoiceNumber", "customerReturnReasonId"):
            continue
        if key in ("billToCustomerId", "billToCustomerNumber"):
            found = (
                comp.customers.rows.get(value)
                if key == "billToCustomerId"
                else next(iter(comp.customers.find("number", value)), None)
            )
            if found is None:
                raise dialog("The bill-to customer cannot be found.")
            other = "billToCustomerNumber" if key == "billToCustomerId" else "billToCustomerId"
            if other in values and values[other] != found[other.replace("billToCustomer", "").lower()]:
                raise dialog("The bill-to customer values do not match to a specific Customer.")
            rec["billToCustomerId"], rec["billToCustomerNumber"] = found["id"], found["number"]
            rec["billToName"] = found["displayName"]
            continue
        if key == "discountAmount" and value < 0:
            raise dialog("The invoice discount amount cannot be negative.")
        rec[key] = value


def _apply_credit_memo_refs(comp: Company, rec: dict[str, Any], values: dict[str, Any]) -> None:
    """invoiceId / invoiceNumber (Applies-to Doc. No.), customerReturnReasonId, and the ids that must resolve
    on a credit memo (business-central.md §10.1)."""
    inv_id, inv_no = values.get("invoiceId"), values.get("invoiceNumber")
    if "invoiceId" in values:
        if inv_id and inv_id != BLANK_GUID:
            inv = comp.salesInvoices.rows.get(inv_id)
            if inv is None or not inv.get("_posted"):
                raise dialog('The "invoiceId" does not match to an Invoice.')
            if inv_no is not None and inv_no != inv["number"]:
                raise dialog('The "invoiceId" and "invoiceNumber" do not match to a specific Invoice.')
            rec["invoiceNumber"] = inv["number"]
        else:
            rec["invoiceNumber"] = inv_no or ""  # a blank GUID clears the application
    elif inv_no is not None:
        rec["invoiceNumber"] = inv_no  # not checked on write
    if values.get("customerReturnReasonId", BLANK_GUID) != BLANK_GUID:
        # The sandbox has no Reason Codes (customerReturnReasons): any id is unknown.
        raise dialog('The "customerReturnReasonId" does not match to a Reason Code.')
    if values.get("paymentTermsId", BLANK_GUID) != BLANK_GUID:
        raise dialog('The "paymentTermsId" does not match to a Payment Terms.')  # none in the sandbox
    if values.get("shipmentMethodId", BLANK_GUID) != BLANK_GUID:
        raise dialog('The "shipmentMethodId" does not match to a Shipment Method.')  # none in the sandbox
    refresh_invoice_id(comp, rec)


def refresh_invoice_id(comp: Company, rec: dict[str, Any]) -> dict[str, Any]:
    """invoiceId is a page variable: on read it names the posted invoice whose number is invoiceNumber."""
    found = [i for i in comp.salesInvoices.find("number", rec.get("invoiceNumber")) if i.get("_posted")]
    rec["invoiceId"] = found[0]["id"] if rec.get("invoiceNumber") and found else ""
    return rec


def update_document(store: Store, comp: Company, kind: str, rec: dict[str, Any], body: Any) -> dict[str, Any]:
    set_name, htype, _, nav = KINDS[kind]
    _refuse_posted(kind, rec)
    values, navs = store.coerce(htype, body, navs=(nav,))
    if navs:
        # Deep PATCH is not supported (business-central.md §2).
        raise BCError(
            400, "BadRequest_NotSupported", "Deep update is not supported; patch the lines one by one."
        )
    if "customerId" in values or "customerNumber" in values:
        probe = {"customerId": values.get("customerId"), "customerNumber": values.get("customerNumber")}
        cust = _resolve_customer(store, comp, probe, kind)
        if cust["id"] != rec["customerId"]:
            rec.update(_customer_fields(cust, kind))
    draft = dict(rec)
    _apply_header(store, comp, kind, draft, values)
    changes = {k: v for k, v in draft.items() if rec.get(k) != v}
    modify(store, comp, set_name, rec, changes)
    recalc(store, comp, rec)
    return rec


# --------------------------------------------------------------------------- lines


def build_line(
    store: Store, comp: Company, kind: str, doc: dict[str, Any], body: Any, siblings: list[dict[str, Any]]
) -> dict[str, Any]:
    ltype = KINDS[kind][2]
    values, _ = store.coerce(ltype, body)
    if values.get("documentId") and values["documentId"] != doc["id"]:
        raise dialog('The value for "documentId" cannot be modified.')
    line: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "documentId": doc["id"],
        "itemId": "",
        "accountId": "",
        "lineType": "Comment",
        "lineObjectNumber": "",
        "description": "",
        "description2": "",
        "unitOfMeasureId": "",
        "unitOfMeasureCode": "",
        "quantity": Decimal(0),
        "unitPrice": Decimal(0),
        "discountAmount": Decimal(0),
        "discountPercent": Decimal(0),
        "taxCode": "",
        "shipmentDate": doc.get("orderDate") or doc.get("invoiceDate"),
        "itemVariantId": "",
        "locationId": "",
        "_v": 1,
    }
    if kind == "order":
        line.update({"shippedQuantity": Decimal(0), "invoicedQuantity": Decimal(0)})
    seq = values.get("sequence")
    if seq is None:
        seq = max((s["sequence"] for s in siblings), default=0) + 10000
    elif any(s["sequence"] == seq for s in siblings):
        raise BCError(
            400,
            "Internal_EntityWithSameKeyExists",
            f"The Sales Line already exists. Identification fields and values: Line No.='{seq}'",
        )
    line["sequence"] = seq
    _resolve_line_object(store, comp, line, values)
    for key in (
        "description",
        "description2",
        "unitOfMeasureCode",
        "shipmentDate",
        "itemVariantId",
        "locationId",
        "quantity",
    ):
        if key in values:
            line[key] = values[key]
    if "taxCode" in values:
        if values["taxCode"] not in store.tax_rates:
            raise not_found("Tax Group", f"Code='{values['taxCode']}'")
        line["taxCode"] = values["taxCode"]
    if "unitPrice" in values:
        line["unitPrice"] = values["unitPrice"]
    elif "_itemPrice" in line:
        line["unitPrice"] = _default_price(store, comp, doc, line)
    _apply_discounts(line, values)
    if kind == "order":
        line["invoiceQuantity"] = values.get("invoiceQuantity", line["quantity"])
        line["shipQuantity"] = values.get("shipQuantity", line["quantity"])
        check_quantities(line)
    _check_currency_factor(comp, kind, doc)
    return line


def _check_currency_factor(comp: Company, kind: str, doc: dict[str, Any]) -> None:
    """A foreign currency without an exchange rate for the posting date: lines cannot be added (§10.6)."""
    code = doc.get("currencyCode")
    cur = comp.currencies.find("code", code) if code else []
    if cur and not cur[0].get("_rate", True):
        doc_type = {"order": "Order", "invoice": "Invoice", "creditMemo": "Credit Memo"}[kind]
        raise BCError(
            400,
            "Application_FieldValidationException",
            f"Currency Factor must have a value in Sales Header: Document Type={doc_type}, "
            f"No.={doc.get('number') or ''}. It cannot be zero or empty.",
        )


def check_quantities(line: dict[str, Any]) -> None:
    """Qty. to Ship / Qty. to Invoice of an order line cannot exceed what is outstanding (SalesLine
    L4385-4388)."""
    if line["lineType"] == "Comment":
        return
    ship_max = line["quantity"] - line["shippedQuantity"]
    inv_max = line["quantity"] - line["invoicedQuantity"]
    if line["shipQuantity"] > ship_max:
        raise dialog(f"You cannot ship more than {to_text(ship_max)} units.")
    if line["invoiceQuantity"] > inv_max:
        raise dialog(f"You cannot invoice more than {to_text(inv_max)} units.")
    if line["quantity"] < line["shippedQuantity"]:
        # UNDOCUMENTED wording (sandbox): BC refuses a quantity below what was already shipped.
        raise dialog(f"Quantity must not be less than {to_text(line['shippedQuantity'])} (already shipped).")


def to_text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _resolve_line_object(store: Store, comp: Company, line: dict[str, Any], values: dict[str, Any]) -> None:
    item_id, account_id = values.get("itemId"), values.get("accountId")
    if item_id and account_id:
        raise dialog('Both "itemId" and "accountId" are specified. Specify only one of them.')
    line_type = values.get("lineType", "Item" if item_id else "Account" if account_id else "Comment")
    number = values.get("lineObjectNumber", "")
    item = account = None
    if item_id:
        item = comp.items.rows.get(item_id)
        if item is None:
            raise dialog("Item does not exist.")
        line_type = "Item"
    elif account_id:
        account = comp.accounts.rows.get(account_id)
        if account is None:
            raise dialog("Account does not exist.")
        line_type = "Account"
    elif number:
        if line_type == "Item":
            found = comp.items.find("number", number)
            if not found:
                raise dialog("Item does not exist.")
            item = found[0]
        elif line_type == "Account":
            found = comp.accounts.find("number", number)
            if not found:
                raise dialog("Account does not exist.")
            account = found[0]
        elif line_type == "Comment":
            # Inferred from the AL code: a comment line's No. is validated as a Standard Text code.
            raise not_found("Standard Text", f"Code='{number}'")
        else:
            raise not_found(line_type, f"No.='{number}'")
    line["lineType"] = line_type
    if item is not None:
        if item["blocked"]:
            raise BCError(
                400,
                "Application_FieldValidationException",
                f"Blocked must be equal to 'No'  in Item: No.={item['number']}. Current value is 'Yes'.",
            )
        line.update(
            {
                "itemId": item["id"],
                "lineObjectNumber": item["number"],
                "description": item["displayName"],
                "unitOfMeasureCode": item["baseUnitOfMeasureCode"],
                "taxCode": item["taxGroupCode"],
                "_itemPrice": item["unitPrice"],
                "_priceInclTax": item["priceIncludesTax"],
            }
        )
    elif account is not None:
        line.update(
            {
                "accountId": account["id"],
                "lineObjectNumber": account["number"],
                "description": account["displayName"],
                "taxCode": account.get("_taxGroup", ""),
            }
        )


def _default_price(store: Store, comp: Company, doc: dict[str, Any], line: dict[str, Any]) -> Decimal:
    """unitPrice omitted: the item card price (the sandbox has no price lists), converted when the item
    price includes tax and the document does not."""
    price: Decimal = line["_itemPrice"]
    if line.get("_priceInclTax") and not doc.get("pricesIncludeTax"):
        cust = comp.customers.rows.get(doc.get("billToCustomerId") or doc["customerId"])  # bill-to: tax
        liable = cust is None or cust["taxLiable"] or store.tax_mode == "vat"
        rate = store.tax_rates.get(line["taxCode"], Decimal(0)) if liable else Decimal(0)
        price = unit_round(price / (1 + rate / 100))
    return price


def _apply_discounts(line: dict[str, Any], values: dict[str, Any]) -> None:
    # BC validates page fields in order: discountAmount before discountPercent, so a percent wins.
    if "discountAmount" in values:
        line["discountAmount"] = values["discountAmount"]
        line["_disc"] = "amount"
    if "discountPercent" in values:
        if not Decimal(0) <= values["discountPercent"] <= Decimal(100):
            raise dialog("The value in the Line Discount % field must be between 0 and 100.")
        line["discountPercent"] = values["discountPercent"]
        line["_disc"] = "percent"


def recalc(store: Store, comp: Company, doc: dict[str, Any]) -> None:
    """Line amounts and document totals with the sandbox tax setup (rounded per line, half away from zero)."""
    cust = comp.customers.rows.get(doc.get("billToCustomerId") or doc["customerId"])  # bill-to decides tax
    liable = cust is None or cust["taxLiable"] or store.tax_mode == "vat"
    incl = bool(doc.get("pricesIncludeTax"))
    for line in doc["_lines"]:
        gross = money(line["quantity"] * line["unitPrice"])
        mode = line.get("_disc")
        if mode == "percent":
            line["discountAmount"] = money(gross * line["discountPercent"] / 100)
        elif mode == "amount":
            line["discountAmount"] = money(line["discountAmount"])
            line["discountPercent"] = (
                unit_round(line["discountAmount"] / gross * 100) if gross else Decimal(0)
            )
        line["_amount"] = gross - line["discountAmount"]
        line["taxPercent"] = (
            store.tax_rates.get(line["taxCode"], Decimal(0))
            if (liable and line["lineType"] in ("Item", "Account"))
            else Decimal(0)
        )
    amounts = [line["_amount"] for line in doc["_lines"]]
    base = sum(amounts, Decimal(0))
    disc = money(doc.get("discountAmount") or Decimal(0))
    if disc > base and disc:
        raise dialog(f"The maximum invoice discount amount is {base}.")
    allocated = Decimal(0)
    lines_with_amount = [line for line in doc["_lines"] if line["_amount"]]
    totals = [Decimal(0), Decimal(0), Decimal(0)]
    for line in doc["_lines"]:
        alloc = Decimal(0)
        if disc and line["_amount"]:
            alloc = (
                disc - allocated if line is lines_with_amount[-1] else money(disc * line["_amount"] / base)
            )
            allocated += alloc
        rate = line["taxPercent"]
        if incl:
            gross_incl = line["_amount"] - alloc
            net = money(gross_incl / (1 + rate / 100))
            tax = gross_incl - net
            line["amountExcludingTax"] = money(line["_amount"] / (1 + rate / 100))
        else:
            net = line["_amount"] - alloc
            tax = money(net * rate / 100)
            line["amountExcludingTax"] = line["_amount"]
        line.update(
            {
                "invoiceDiscountAllocation": alloc,
                "netAmount": net,
                "netTaxAmount": tax,
                "netAmountIncludingTax": net + tax,
                "totalTaxAmount": tax,
                "amountIncludingTax": net + tax,
                "discountAppliedBeforeTax": bool(alloc),
            }
        )
        totals[0] += net
        totals[1] += tax
        totals[2] += net + tax
    doc["discountAmount"] = disc
    doc["discountAppliedBeforeTax"] = bool(disc)
    doc["totalAmountExcludingTax"], doc["totalTaxAmount"], doc["totalAmountIncludingTax"] = totals


def add_line(store: Store, comp: Company, kind: str, doc: dict[str, Any], body: Any) -> dict[str, Any]:
    _refuse_posted(kind, doc)
    line = build_line(store, comp, kind, doc, body, doc["_lines"])
    doc["_lines"].append(line)
    doc["_lines"].sort(key=lambda ln: ln["sequence"])
    try:
        recalc(store, comp, doc)
    except BCError:
        doc["_lines"].remove(line)
        recalc(store, comp, doc)
        raise
    _touch(store, comp, kind, doc)
    return line


def update_line(
    store: Store, comp: Company, kind: str, doc: dict[str, Any], line: dict[str, Any], body: Any
) -> dict[str, Any]:
    _refuse_posted(kind, doc)
    ltype = KINDS[kind][2]
    values, _ = store.coerce(ltype, body)
    if "sequence" in values and values["sequence"] != line["sequence"]:
        raise dialog("The value for sequence cannot be modified. Delete and insert the line again.")
    if "documentId" in values and values["documentId"] != doc["id"]:
        raise dialog('The value for "documentId" cannot be modified.')
    if (
        "lineObjectNumber" in values
        and values["lineObjectNumber"] != line["lineObjectNumber"]
        and line["lineObjectNumber"]
    ):
        raise dialog('The value for "lineObjectNumber" cannot be modified.')
    if "taxCode" in values and values["taxCode"] not in store.tax_rates:
        raise not_found("Tax Group", f"Code='{values['taxCode']}'")
    backup = dict(line)
    if ("lineObjectNumber" in values or "itemId" in values or "accountId" in values) and not line[
        "lineObjectNumber"
    ]:
        probe = dict(values)
        probe.setdefault("lineType", line["lineType"])
        _resolve_line_object(store, comp, line, probe)
        if "unitPrice" not in values and "_itemPrice" in line:
            line["unitPrice"] = _default_price(store, comp, doc, line)
    for key in (
        "description",
        "description2",
        "unitOfMeasureCode",
        "shipmentDate",
        "quantity",
        "unitPrice",
        "invoiceQuantity",
        "shipQuantity",
        "taxCode",
    ):
        if key in values:
            line[key] = values[key]
    _apply_discounts(line, values)
    try:
        if kind == "order":
            if "quantity" in values:
                # Changing the quantity re-initialises what to ship and invoice to the outstanding amount.
                line.setdefault("shipQuantity", Decimal(0))
                if "shipQuantity" not in values:
                    line["shipQuantity"] = max(line["quantity"] - line["shippedQuantity"], Decimal(0))
                if "invoiceQuantity" not in values:
                    line["invoiceQuantity"] = max(line["quantity"] - line["invoicedQuantity"], Decimal(0))
            check_quantities(line)
        recalc(store, comp, doc)
    except BCError:
        line.clear()
        line.update(backup)
        recalc(store, comp, doc)
        raise
    line["_v"] = line.get("_v", 1) + 1
    _touch(store, comp, kind, doc)
    return line


def delete_line(store: Store, comp: Company, kind: str, doc: dict[str, Any], line: dict[str, Any]) -> None:
    _refuse_posted(kind, doc)
    doc["_lines"].remove(line)
    recalc(store, comp, doc)
    _touch(store, comp, kind, doc)


def _touch(store: Store, comp: Company, kind: str, doc: dict[str, Any]) -> None:
    """A line change is a header change: new ETag, lastModifiedDateTime, an `updated` notification."""
    modify(store, comp, KINDS[kind][0], doc, {})
