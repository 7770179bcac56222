"""BC simulator: salesCreditMemos + salesCreditMemoLines (business-central.md §10.1) over HTTPS: deep insert,
Code[35] externalDocumentNumber, If-Match, the application fields and their refusals, post (same id, new
number, restock) and the application's effect, including the failure at posting on a closed invoice."""

from __future__ import annotations

import requests

from tests.sandbox.bc.helpers import assert_error, get, item, jane, posted_invoice
from wcbc.sandbox.bc.testing import BCSandbox

# The fields of page 30038 and 30046 as business-central.md §10.1 lists them.
CREDIT_MEMO_FIELDS = {
    "id",
    "number",
    "externalDocumentNumber",
    "creditMemoDate",
    "postingDate",
    "dueDate",
    "customerId",
    "customerNumber",
    "customerName",
    "billToName",
    "billToCustomerId",
    "billToCustomerNumber",
    "shortcutDimension1Code",
    "shortcutDimension2Code",
    "currencyId",
    "currencyCode",
    "paymentTermsId",
    "shipmentMethodId",
    "salesperson",
    "pricesIncludeTax",
    "discountAmount",
    "discountAppliedBeforeTax",
    "totalAmountExcludingTax",
    "totalTaxAmount",
    "totalAmountIncludingTax",
    "status",
    "lastModifiedDateTime",
    "invoiceId",
    "invoiceNumber",
    "phoneNumber",
    "email",
    "customerReturnReasonId",
    *(
        p + f
        for p in ("sellTo", "billTo")
        for f in ("AddressLine1", "AddressLine2", "City", "Country", "State")
    ),
    "sellToPostCode",
    "billToPostCode",
}
CREDIT_MEMO_LINE_FIELDS = {
    "id",
    "documentId",
    "sequence",
    "itemId",
    "accountId",
    "lineType",
    "lineObjectNumber",
    "description",
    "description2",
    "unitOfMeasureId",
    "unitOfMeasureCode",
    "unitPrice",
    "quantity",
    "discountAmount",
    "discountPercent",
    "taxCode",
    "shipmentDate",
    "itemVariantId",
    "locationId",
    "discountAppliedBeforeTax",
    "amountExcludingTax",
    "taxPercent",
    "totalTaxAmount",
    "amountIncludingTax",
    "invoiceDiscountAllocation",
    "netAmount",
    "netTaxAmount",
    "netAmountIncludingTax",
}


def cm_body(sbx: BCSandbox, ext: str = "wc-1001-r1", **extra: object) -> dict:
    body = {
        "customerNumber": jane(sbx)["number"],
        "externalDocumentNumber": ext,
        "salesCreditMemoLines": [
            {"lineType": "Item", "lineObjectNumber": "TSHIRT-001", "quantity": 1, "unitPrice": 18},
            {"lineType": "Account", "lineObjectNumber": "6610", "quantity": 1, "unitPrice": 10},
            {"description": "Refund 1234"},
        ],
    }
    body.update(extra)
    return body


def test_deep_insert_shape_code35_and_read_only_fields(sbx: BCSandbox, s: requests.Session) -> None:
    body = cm_body(sbx, "  wc-1001-r1 ", pricesIncludeTax=True, billToAddressLine1="9 Credit Road")
    r = s.post(f"{sbx.company_url}/salesCreditMemos", json=body)
    assert r.status_code == 201, r.text
    cm = r.json()
    assert set(cm) == {"@odata.context", "@odata.etag", "salesCreditMemoLines"} | CREDIT_MEMO_FIELDS
    assert "shipToName" not in cm and "remainingAmount" not in cm
    assert cm["externalDocumentNumber"] == "WC-1001-R1"
    assert cm["status"] == "Draft" and cm["number"] == "S-CR104001"
    assert cm["pricesIncludeTax"] is False  # read-only: ignored, follows the customer
    assert cm["billToAddressLine1"] == "9 Credit Road"  # editable on credit memos, unlike invoices
    assert cm["invoiceId"] == "00000000-0000-0000-0000-000000000000" and cm["invoiceNumber"] == ""
    lines = cm["salesCreditMemoLines"]
    assert [ln["lineType"] for ln in lines] == ["Item", "Account", "Comment"]
    assert [ln["sequence"] for ln in lines] == [10000, 20000, 30000]
    assert set(lines[0]) == {"@odata.etag"} | CREDIT_MEMO_LINE_FIELDS
    # positive amounts: 18.00 + 1.31 tax; 10.00 + 0.73 tax
    assert cm["totalAmountExcludingTax"] == 28 and cm["totalTaxAmount"] == 2.04
    assert cm["totalAmountIncludingTax"] == 30.04
    r = s.get(
        f"{sbx.company_url}/salesCreditMemos", params={"$filter": "externalDocumentNumber eq 'WC-1001-R1'"}
    )
    assert [c["id"] for c in r.json()["value"]] == [cm["id"]]
    assert_error(
        s.post(f"{sbx.company_url}/salesCreditMemos", json=cm_body(sbx, "x" * 36)),
        400,
        "Application_StringExceededLength",
        "The length of the string is 36, but it must be less than or equal to 35 characters. Value: "
        + "X" * 36,
    )


def test_write_refusals(sbx: BCSandbox, s: requests.Session) -> None:
    url = f"{sbx.company_url}/salesCreditMemos"
    cases = [
        ({"externalDocumentNumber": "X"}, 'A "customerNumber" or a "customerId" must be provided.'),
        ({"customerNumber": "NOPE"}, "The sell-to customer cannot be found."),
        (
            {"customerNumber": jane(sbx)["number"], "currencyCode": "XYZ"},
            'The "currencyCode" does not match to a Currency.',
        ),
        (
            {
                "customerNumber": jane(sbx)["number"],
                "customerReturnReasonId": "11111111-2222-3333-4444-555555555555",
            },
            'The "customerReturnReasonId" does not match to a Reason Code.',
        ),
    ]
    for body, message in cases:
        assert_error(s.post(url, json=body), 400, "Application_DialogException", message)
    other = sbx.bc.add_customer("Other", "other@example.test")
    assert_error(
        s.post(url, json={"customerNumber": jane(sbx)["number"], "customerId": other["id"]}),
        400,
        "Application_DialogException",
        "The sell-to customer values do not match to a specific Customer.",
    )
    draft = s.post(f"{sbx.company_url}/salesInvoices", json={"customerNumber": jane(sbx)["number"]}).json()
    assert_error(
        s.post(url, json={"customerNumber": jane(sbx)["number"], "invoiceId": draft["id"]}),
        400,
        "Application_DialogException",
        'The "invoiceId" does not match to an Invoice.',
    )
    inv = posted_invoice(s, sbx)
    assert_error(
        s.post(
            url, json={"customerNumber": jane(sbx)["number"], "invoiceId": inv["id"], "invoiceNumber": "PS-X"}
        ),
        400,
        "Application_DialogException",
        'The "invoiceId" and "invoiceNumber" do not match to a specific Invoice.',
    )
    blank = "00000000-0000-0000-0000-000000000000"
    r = s.post(
        url,
        json={
            "customerNumber": jane(sbx)["number"],
            "customerReturnReasonId": blank,
            "paymentTermsId": blank,
            "shipmentMethodId": blank,
        },
    )
    assert r.status_code == 201, r.text  # blank GUIDs are "none"
    # invoiceNumber is not checked on write; invoiceId is filled on read only when a posted invoice has it.
    r = s.post(url, json={"customerNumber": jane(sbx)["number"], "invoiceNumber": "no-such-invoice"})
    assert r.status_code == 201 and r.json()["invoiceNumber"] == "NO-SUCH-INVOICE"
    assert r.json()["invoiceId"] == "00000000-0000-0000-0000-000000000000"
    r = s.post(url, json={"customerNumber": jane(sbx)["number"], "invoiceId": inv["id"]})
    assert (
        r.status_code == 201
        and r.json()["invoiceNumber"] == inv["number"]
        and r.json()["invoiceId"] == inv["id"]
    )
    # A blank GUID clears the application.
    r = s.patch(
        f"{url}({r.json()['id']})",
        json={"invoiceId": "00000000-0000-0000-0000-000000000000"},
        headers={"If-Match": r.json()["@odata.etag"]},
    )
    assert r.status_code == 200 and r.json()["invoiceNumber"] == ""
    # Blocked: "Invoice" still allows credit memos, "All" does not.
    sbx.bc.comp().customers.rows[other["id"]]["blocked"] = "Invoice"
    assert s.post(url, json={"customerId": other["id"]}).status_code == 201
    sbx.bc.comp().customers.rows[other["id"]]["blocked"] = "All"
    assert_error(
        s.post(url, json={"customerId": other["id"]}),
        400,
        "Application_FieldValidationException",
        f"You cannot create this type of document when Customer {other['number']} is blocked with type All",
    )


def test_lines_scope_if_match_and_crud(sbx: BCSandbox, s: requests.Session) -> None:
    cm = s.post(f"{sbx.company_url}/salesCreditMemos", json=cm_body(sbx)).json()
    assert_error(
        s.get(f"{sbx.company_url}/salesCreditMemoLines"),
        400,
        "Application_DialogException",
        "You must specify an id or a Document Id to get the lines.",
    )
    r = s.get(f"{sbx.company_url}/salesCreditMemoLines", params={"$filter": f"documentId eq {cm['id']}"})
    assert len(r.json()["value"]) == 3
    lines_url = f"{sbx.company_url}/salesCreditMemos({cm['id']})/salesCreditMemoLines"
    r = s.post(
        lines_url, json={"lineType": "Item", "lineObjectNumber": "MUG-001", "quantity": 2, "unitPrice": 12.5}
    )
    assert r.status_code == 201 and r.json()["sequence"] == 40000 and r.json()["amountExcludingTax"] == 25
    line = r.json()
    assert_error(s.patch(f"{lines_url}({line['id']})", json={"quantity": 1}), 400, "BadRequest_InvalidToken")
    r = s.patch(f"{lines_url}({line['id']})", json={"quantity": 1}, headers={"If-Match": line["@odata.etag"]})
    assert r.status_code == 200 and r.json()["amountExcludingTax"] == 12.5
    assert_error(
        s.patch(
            f"{lines_url}({line['id']})", json={"quantity": 3}, headers={"If-Match": line["@odata.etag"]}
        ),
        409,
        "Request_EntityChanged",
        "Another user has already changed the record.",
    )
    assert_error(
        s.patch(
            f"{lines_url}({line['id']})", json={"lineObjectNumber": "CAP-001"}, headers={"If-Match": "*"}
        ),
        400,
        "Application_DialogException",
        'The value for "lineObjectNumber" cannot be modified.',
    )
    assert s.delete(f"{lines_url}({line['id']})", headers={"If-Match": "*"}).status_code == 204
    head = get(s, f"{sbx.company_url}/salesCreditMemos({cm['id']})")
    assert head["totalAmountIncludingTax"] == 30.04 and head["@odata.etag"] != cm["@odata.etag"]


def test_header_patch_and_delete_need_if_match(sbx: BCSandbox, s: requests.Session) -> None:
    cm = s.post(f"{sbx.company_url}/salesCreditMemos", json=cm_body(sbx)).json()
    url = f"{sbx.company_url}/salesCreditMemos({cm['id']})"
    assert_error(s.patch(url, json={"externalDocumentNumber": "b"}), 400, "BadRequest_InvalidToken")
    assert_error(s.delete(url), 400, "BadRequest_InvalidToken")
    r = s.patch(url, json={"externalDocumentNumber": "wc-1001-r2"}, headers={"If-Match": cm["@odata.etag"]})
    assert r.status_code == 200 and r.json()["externalDocumentNumber"] == "WC-1001-R2"
    assert_error(s.delete(url, headers={"If-Match": cm["@odata.etag"]}), 409, "Request_EntityChanged")
    assert s.delete(url, headers={"If-Match": r.json()["@odata.etag"]}).status_code == 204
    assert s.get(url).status_code == 404


def test_post_keeps_id_new_number_and_restocks(sbx: BCSandbox, s: requests.Session) -> None:
    before = item(s, sbx, "TSHIRT-001")
    cm = s.post(f"{sbx.company_url}/salesCreditMemos", json=cm_body(sbx)).json()
    url = f"{sbx.company_url}/salesCreditMemos({cm['id']})"
    r = s.post(f"{url}/Microsoft.NAV.post")
    assert r.status_code == 204 and r.content == b""
    posted = get(s, url)
    assert posted["id"] == cm["id"] and posted["number"] == "PS-CR104001"
    assert posted["status"] == "Open"  # not applied: an open credit on the customer's balance
    assert posted["@odata.etag"] != cm["@odata.etag"]
    assert item(s, sbx, "TSHIRT-001")["inventory"] == before["inventory"] + 1
    entry = sbx.bc.ledger_entries("TSHIRT-001")[-1]
    assert (entry["entryType"], entry["documentType"], entry["quantity"], entry["documentNumber"]) == (
        "Sale",
        "Sales_x0020_Credit_x0020_Memo",
        1,
        "PS-CR104001",
    )
    assert get(s, f"{sbx.company_url}/customers({jane(sbx)['id']})")["balanceDue"] == -30.04
    assert_error(
        s.post(f"{url}/Microsoft.NAV.post"),
        400,
        "Application_DialogException",
        "The action can be applied to a draft credit memo only.",
    )
    posted_msg = "The credit memo has been posted and can no longer be modified."
    assert_error(
        s.patch(url, json={"externalDocumentNumber": "x"}, headers={"If-Match": "*"}),
        400,
        "Application_DialogException",
        posted_msg,
    )
    assert_error(
        s.post(f"{url}/salesCreditMemoLines", json={"description": "late"}),
        400,
        "Application_DialogException",
        posted_msg,
    )
    # Sandbox choice (UNDOCUMENTED): a posted credit memo cannot be deleted.
    assert_error(s.delete(url, headers={"If-Match": "*"}), 400, "Application_DialogException")


def test_post_refusals_no_line_and_nothing_to_post(sbx: BCSandbox, s: requests.Session) -> None:
    url = f"{sbx.company_url}/salesCreditMemos"
    empty = s.post(url, json={"customerNumber": jane(sbx)["number"]}).json()
    assert_error(
        s.post(f"{url}({empty['id']})/Microsoft.NAV.post"),
        400,
        "Application_DialogException",
        "Please add at least one line item to the credit memo.",
    )
    comment = s.post(
        url, json={"customerNumber": jane(sbx)["number"], "salesCreditMemoLines": [{"description": "note"}]}
    ).json()
    assert_error(
        s.post(f"{url}({comment['id']})/Microsoft.NAV.post"),
        400,
        "Application_DialogException",
        "There is nothing to post because the document does not contain a quantity or amount.",
    )
    assert get(s, f"{url}({comment['id']})")["status"] == "Draft"


def test_application_reduces_then_closes_the_invoice(sbx: BCSandbox, s: requests.Session) -> None:
    inv = posted_invoice(s, sbx)  # 40 + 2.90 tax, 10 + 0.73 tax = 53.63
    assert inv["status"] == "Open" and inv["remainingAmount"] == 53.63
    url = f"{sbx.company_url}/salesCreditMemos"
    part = s.post(url, json=cm_body(sbx, invoiceNumber=inv["number"])).json()
    assert part["invoiceId"] == inv["id"]
    assert s.post(f"{url}({part['id']})/Microsoft.NAV.post").status_code == 204
    assert get(s, f"{url}({part['id']})")["status"] == "Paid"  # its own entry is closed
    after = get(s, f"{sbx.company_url}/salesInvoices({inv['id']})")
    assert after["remainingAmount"] == 23.59 and after["status"] == "Open"
    # Remaining Amount lives on the ledger entry: the invoice header (and its ETag) is unchanged.
    assert after["@odata.etag"] == inv["@odata.etag"]
    big = s.post(
        url,
        json=cm_body(
            sbx,
            "wc-1001-r2",
            invoiceId=inv["id"],
            salesCreditMemoLines=[
                {"lineType": "Account", "lineObjectNumber": "6630", "quantity": 1, "unitPrice": 30}
            ],
        ),
    ).json()
    assert s.post(f"{url}({big['id']})/Microsoft.NAV.post").status_code == 204
    closed = get(s, f"{sbx.company_url}/salesInvoices({inv['id']})")
    assert closed["remainingAmount"] == 0 and closed["status"] == "Paid"
    assert get(s, f"{url}({big['id']})")["status"] == "Open"  # 6.41 of it stays open as a credit
    r = s.get(f"{sbx.company_url}/salesInvoices", params={"$filter": "status eq 'Paid'"})
    assert [i["id"] for i in r.json()["value"]] == [inv["id"]]


def test_applied_to_a_closed_invoice_fails_when_posted_not_when_created(
    sbx: BCSandbox, s: requests.Session
) -> None:
    inv = posted_invoice(s, sbx)
    url = f"{sbx.company_url}/salesCreditMemos"
    full = s.post(
        url,
        json=cm_body(
            sbx,
            invoiceId=inv["id"],
            salesCreditMemoLines=[
                {"lineType": "Account", "lineObjectNumber": "6630", "quantity": 1, "unitPrice": 53.63}
            ],
        ),
    ).json()
    assert s.post(f"{url}({full['id']})/Microsoft.NAV.post").status_code == 204
    assert get(s, f"{sbx.company_url}/salesInvoices({inv['id']})")["status"] == "Paid"
    stock = item(s, sbx, "TSHIRT-001")["inventory"]
    late = s.post(url, json=cm_body(sbx, "wc-1001-r3", invoiceId=inv["id"]))
    assert late.status_code == 201  # accepted on write
    text = assert_error(
        s.post(f"{url}({late.json()['id']})/Microsoft.NAV.post"),
        400,
        "Internal_DataNotFoundFilter",
        starts="There is no Cust. Ledger Entry within the filter.",
    )
    assert inv["number"] in text
    unchanged = get(s, f"{url}({late.json()['id']})")
    assert unchanged["status"] == "Draft" and unchanged["number"] == late.json()["number"]
    assert item(s, sbx, "TSHIRT-001")["inventory"] == stock  # nothing restocked
    # An invoice number that does not exist for this customer fails the same way.
    ghost = s.post(url, json=cm_body(sbx, "wc-1001-r4", invoiceNumber="PS-INV999999")).json()
    assert_error(
        s.post(f"{url}({ghost['id']})/Microsoft.NAV.post"),
        400,
        "Internal_DataNotFoundFilter",
        starts="There is no Cust. Ledger Entry within the filter.",
    )
    # Without the application the same credit memo posts (a credit on the customer's balance).
    r = s.patch(f"{url}({ghost['id']})", json={"invoiceNumber": ""}, headers={"If-Match": "*"})
    assert r.status_code == 200
    assert s.post(f"{url}({ghost['id']})/Microsoft.NAV.post").status_code == 204
    # The next posted number was not consumed by the failed posts.
    assert get(s, f"{url}({ghost['id']})")["number"] == "PS-CR104002"


def test_webhook_subscriptions_only_where_documented(sbx: BCSandbox, s: requests.Session) -> None:
    for name in ("salesShipments", "customerPayments", "salesCreditMemoLines"):
        r = s.post(
            f"{sbx.base_url}/subscriptions",
            json={
                "notificationUrl": "https://127.0.0.1:9/hook",
                "resource": f"/api/v2.0/companies({sbx.company_id})/{name}",
            },
        )
        assert_error(
            r,
            400,
            "BadRequest_ResourceNotFound",
            f"The entity '{name}' does not support webhook subscriptions.",
        )
