"""BC simulator: sales orders/invoices, deep insert atomicity, lines, tax maths, posting, ledger entries."""

from __future__ import annotations

import pytest
import requests

from tests.contracts import assert_shape
from tests.contracts import bc_example as example
from wcbc.sandbox.bc.testing import BCSandbox


def assert_error(r: requests.Response, status: int, code: str, message: str | None = None) -> None:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code, err
    if message is not None:
        assert err["message"].split("  CorrelationId:  ")[0] == message


def jane(sbx: BCSandbox) -> dict:
    return next(c for c in sbx.bc.customers() if c["email"] == "jane.doe@example.test")


def order_body(sbx: BCSandbox, ext: str = "wc-1001", **extra) -> dict:
    body = {
        "customerNumber": jane(sbx)["number"],
        "externalDocumentNumber": ext,
        "orderDate": "2026-11-20",
        "shipToName": "Jane Doe",
        "shipToAddressLine1": "2 Side St",
        "shipToCity": "Oakland",
        "shipToState": "CA",
        "shipToCountry": "US",
        "shipToPostCode": "94607",
        "currencyCode": "",
        "salesOrderLines": [
            {"lineType": "Item", "lineObjectNumber": "TSHIRT-001", "quantity": 2, "unitPrice": 18},
            {
                "lineType": "Item",
                "lineObjectNumber": "MUG-001",
                "quantity": 1,
                "unitPrice": 12.5,
                "discountAmount": 1.25,
            },
            {"lineType": "Account", "lineObjectNumber": "6610", "quantity": 1, "unitPrice": 10},
            {"description": "Order note"},
        ],
    }
    body.update(extra)
    return body


def test_deep_insert_order_shape_and_totals(sbx: BCSandbox, s: requests.Session) -> None:
    r = s.post(f"{sbx.company_url}/salesOrders", json=order_body(sbx, "  wc-1001 "))
    assert r.status_code == 201, r.text
    order = r.json()
    assert_shape(order, example("post-salesorder-response.json"), skip=("documentLines",))
    assert "documentLines" not in order
    assert order["number"].startswith("S-ORD")
    assert order["externalDocumentNumber"] == "WC-1001"
    assert order["status"] == "Draft" and order["currencyCode"] == "USD"
    assert order["shipToCity"] == "Oakland" and order["sellToCity"] == "San Francisco"
    lines = order["salesOrderLines"]
    assert_shape(lines[0], example("post-salesorderline-response.json"))
    assert [ln["sequence"] for ln in lines] == [10000, 20000, 30000, 40000]
    assert [ln["lineType"] for ln in lines] == ["Item", "Item", "Account", "Comment"]
    # 36.00 -> tax 2.61; 11.25 -> 0.8156 -> 0.82; 10.00 -> 0.725 -> 0.73 (per line, half away from zero)
    assert [ln["totalTaxAmount"] for ln in lines] == [2.61, 0.82, 0.73, 0]
    assert lines[1]["discountPercent"] == 10
    assert order["totalAmountExcludingTax"] == 57.25
    assert order["totalTaxAmount"] == 4.16
    assert order["totalAmountIncludingTax"] == 61.41
    r = s.get(f"{sbx.company_url}/salesOrders({order['id']})", params={"$expand": "salesOrderLines"})
    assert len(r.json()["salesOrderLines"]) == 4


def test_external_document_number_limit(sbx: BCSandbox, s: requests.Session) -> None:
    r = s.post(f"{sbx.company_url}/salesOrders", json=order_body(sbx, "x" * 36))
    assert_error(
        r,
        400,
        "Application_StringExceededLength",
        "The length of the string is 36, but it must be less than or equal to 35 characters. "
        f"Value: {'X' * 36}",
    )
    r = s.post(f"{sbx.company_url}/salesOrders", json=order_body(sbx, " " + "y" * 35 + " "))
    assert r.status_code == 201


@pytest.mark.parametrize(
    ("line", "status", "code", "message"),
    [
        (
            {"lineType": "Item", "lineObjectNumber": "NOPE", "quantity": 1},
            400,
            "Application_DialogException",
            "Item does not exist.",
        ),
        (
            {"lineObjectNumber": "MUG-001", "quantity": 1},
            404,
            "Internal_RecordNotFound",
            None,
        ),  # Comment default
        (
            {"lineType": "Account", "lineObjectNumber": "9999", "quantity": 1},
            400,
            "Application_DialogException",
            "Account does not exist.",
        ),
        (
            {"itemId": "00000000-0000-0000-0000-000000000009", "quantity": 1},
            400,
            "Application_DialogException",
            "Item does not exist.",
        ),
        ({"lineType": "Item", "lineObjectNumber": "MUG-001", "quantity": "one"}, 400, "BadRequest", None),
        ({"lineType": "Thing", "lineObjectNumber": "MUG-001"}, 400, "Unknown", None),
    ],
)
def test_deep_insert_is_atomic(
    sbx: BCSandbox, s: requests.Session, line: dict, status: int, code: str, message: str | None
) -> None:
    body = order_body(sbx, "wc-atomic")
    body["salesOrderLines"].insert(1, line)
    assert_error(s.post(f"{sbx.company_url}/salesOrders", json=body), status, code, message)
    assert sbx.bc.sales_orders() == []
    assert sbx.bc.documents_by_external_number("WC-ATOMIC") == []
    # Nothing was consumed from the number series either.
    ok = s.post(f"{sbx.company_url}/salesOrders", json=order_body(sbx, "wc-after"))
    assert ok.json()["number"] == "S-ORD101001"


def test_customer_resolution_errors(sbx: BCSandbox, s: requests.Session) -> None:
    url = f"{sbx.company_url}/salesOrders"
    assert_error(
        s.post(url, json={"externalDocumentNumber": "x"}),
        400,
        "Application_DialogException",
        'A "customerNumber" or a "customerId" must be provided.',
    )
    assert_error(
        s.post(url, json={"customerNumber": "NOPE"}),
        400,
        "Application_DialogException",
        "The sell-to customer cannot be found.",
    )
    other = sbx.bc.add_customer("Other", "other@example.test")
    assert_error(
        s.post(url, json={"customerNumber": jane(sbx)["number"], "customerId": other["id"]}),
        400,
        "Application_DialogException",
        "The sell-to customer values do not match to a specific Customer.",
    )
    # business-central.md §10.6: `true` is refused only once the order has a Sales Tax line; on a POST the
    # check runs before any line exists, so it passes.
    r = s.post(url, json={"customerId": other["id"], "pricesIncludeTax": True})
    assert r.status_code == 201 and r.json()["pricesIncludeTax"] is True
    order = s.post(
        url,
        json={
            "customerId": other["id"],
            "salesOrderLines": [{"lineType": "Item", "lineObjectNumber": "MUG-001", "quantity": 1}],
        },
    ).json()
    assert_error(
        s.patch(f"{url}({order['id']})", json={"pricesIncludeTax": True}, headers={"If-Match": "*"}),
        400,
        "Application_DialogException",
        'The "pricesIncludeTax" cannot be set to true if VAT Calculation Type is Sales Tax.',
    )
    r = s.post(url, json={"customerId": other["id"], "currencyCode": "EUR"})
    assert r.status_code == 201 and r.json()["currencyCode"] == "EUR"


def test_unit_price_omitted_uses_item_price_and_blocked_item(sbx: BCSandbox, s: requests.Session) -> None:
    body = {
        "customerNumber": jane(sbx)["number"],
        "salesInvoiceLines": [{"lineType": "Item", "lineObjectNumber": "HOODIE-S", "quantity": 1}],
    }
    r = s.post(f"{sbx.company_url}/salesInvoices", json=body)
    assert r.status_code == 201
    assert r.json()["salesInvoiceLines"][0]["unitPrice"] == 45
    sbx.bc.block_item("HOODIE-S")
    assert_error(
        s.post(f"{sbx.company_url}/salesInvoices", json=body), 400, "Application_FieldValidationException"
    )


def test_invoice_shape_post_keeps_id_and_lowers_inventory(sbx: BCSandbox, s: requests.Session) -> None:
    body = {
        "customerNumber": jane(sbx)["number"],
        "externalDocumentNumber": "WC-2001",
        "pricesIncludeTax": True,
        "salesInvoiceLines": [
            {"lineType": "Item", "lineObjectNumber": "MUG-001", "quantity": 3, "unitPrice": 12.5}
        ],
    }
    r = s.post(f"{sbx.company_url}/salesInvoices", json=body)
    assert r.status_code == 201, r.text
    inv = r.json()
    assert_shape(inv, example("post-salesinvoice-response.json"))
    assert_shape(inv["salesInvoiceLines"][0], example("post-salesinvoiceline-response.json"))
    assert inv["status"] == "Draft" and inv["number"].startswith("S-INV")
    assert inv["pricesIncludeTax"] is False  # read-only on invoices: ignored
    assert inv["totalAmountIncludingTax"] == 40.22  # 37.50 + 2.72
    url = f"{sbx.company_url}/salesInvoices({inv['id']})"
    before = s.get(f"{sbx.company_url}/items", params={"$filter": "number eq 'MUG-001'"}).json()["value"][0]
    r = s.post(f"{url}/Microsoft.NAV.post")
    assert r.status_code == 204 and r.content == b""
    posted = s.get(url).json()
    assert posted["id"] == inv["id"]
    assert posted["number"].startswith("PS-INV") and posted["number"] != inv["number"]
    assert posted["status"] == "Open" and posted["remainingAmount"] == 40.22
    assert posted["@odata.etag"] != inv["@odata.etag"]
    mug = s.get(f"{sbx.company_url}/items", params={"$filter": "number eq 'MUG-001'"}).json()["value"][0]
    assert mug["inventory"] == 22
    # Stock is a FlowField over the ledger: the item record itself is untouched.
    assert mug["lastModifiedDateTime"] == before["lastModifiedDateTime"]
    assert mug["@odata.etag"] == before["@odata.etag"]
    sale = sbx.bc.ledger_entries("MUG-001")[-1]
    assert (sale["entryType"], sale["quantity"], sale["documentNumber"]) == ("Sale", -3, posted["number"])
    assert_error(
        s.post(f"{url}/Microsoft.NAV.post"),
        400,
        "Application_DialogException",
        "The action can be applied to a draft invoice only.",
    )
    assert_error(
        s.patch(url, json={"externalDocumentNumber": "X"}, headers={"If-Match": "*"}),
        400,
        "Application_DialogException",
        "The invoice has been posted and can no longer be modified.",
    )


def test_post_errors_no_lines_and_nothing_to_post(sbx: BCSandbox, s: requests.Session) -> None:
    cust = jane(sbx)["number"]
    inv = s.post(f"{sbx.company_url}/salesInvoices", json={"customerNumber": cust}).json()
    assert_error(
        s.post(f"{sbx.company_url}/salesInvoices({inv['id']})/Microsoft.NAV.post"),
        400,
        "Application_DialogException",
        "Please add at least one line item to the invoice.",
    )
    inv = s.post(
        f"{sbx.company_url}/salesInvoices",
        json={
            "customerNumber": cust,
            "salesInvoiceLines": [
                {"description": "only a comment"},
                {"lineType": "Item", "lineObjectNumber": "CAP-001"},
            ],
        },
    ).json()
    assert_error(
        s.post(f"{sbx.company_url}/salesInvoices({inv['id']})/Microsoft.NAV.post"),
        400,
        "Application_DialogException",
        "There is nothing to post because the document does not contain a quantity or amount.",
    )
    order = s.post(f"{sbx.company_url}/salesOrders", json={"customerNumber": cust}).json()
    assert_error(
        s.post(f"{sbx.company_url}/salesOrders({order['id']})/Microsoft.NAV.shipAndInvoice"),
        400,
        "Application_DialogException",
        "Please add at least one line item to the estimate.",
    )


def test_ship_and_invoice_creates_new_invoice_and_deletes_order(sbx: BCSandbox, s: requests.Session) -> None:
    order = s.post(f"{sbx.company_url}/salesOrders", json=order_body(sbx, "wc-3001")).json()
    # An open order does not lower inventory.
    assert sbx.bc.items()[0]["inventory"] == 100
    r = s.post(f"{sbx.company_url}/salesOrders({order['id']})/Microsoft.NAV.shipAndInvoice")
    assert r.status_code == 204
    assert s.get(f"{sbx.company_url}/salesOrders({order['id']})").status_code == 404
    r = s.get(
        f"{sbx.company_url}/salesInvoices",
        params={"$filter": "externalDocumentNumber eq 'WC-3001'", "$expand": "salesInvoiceLines"},
    )
    (inv,) = r.json()["value"]
    assert inv["id"] != order["id"]
    assert inv["orderId"] == order["id"] and inv["orderNumber"] == order["number"]
    assert inv["status"] == "Open" and inv["totalAmountIncludingTax"] == order["totalAmountIncludingTax"]
    assert len(inv["salesInvoiceLines"]) == 4
    tshirt = next(i for i in sbx.bc.items() if i["number"] == "TSHIRT-001")
    assert tshirt["inventory"] == 98
    docs = sbx.bc.documents_by_external_number("wc-3001")
    assert [d["@kind"] for d in docs] == ["salesInvoice"]


def test_lines_endpoints_and_scope(sbx: BCSandbox, s: requests.Session) -> None:
    order = s.post(f"{sbx.company_url}/salesOrders", json={"customerNumber": jane(sbx)["number"]}).json()
    lines_url = f"{sbx.company_url}/salesOrders({order['id']})/salesOrderLines"
    r = s.post(
        lines_url,
        json=example("post-salesorderline-request.json")
        | {"itemId": sbx.bc.items()[1]["id"], "lineObjectNumber": "MUG-001", "taxCode": "TAXABLE"},
    )
    assert r.status_code == 201, r.text
    line = r.json()
    assert line["documentId"] == order["id"] and line["sequence"] == 10000
    assert line["amountExcludingTax"] == 16767.6
    head = s.get(f"{sbx.company_url}/salesOrders({order['id']})").json()
    assert head["totalAmountExcludingTax"] == 16767.6 and head["@odata.etag"] != order["@odata.etag"]
    assert_error(
        s.get(f"{sbx.company_url}/salesOrderLines"),
        400,
        "Application_DialogException",
        "You must specify an Id or a Document Id to get the lines.",
    )
    r = s.get(f"{sbx.company_url}/salesOrderLines", params={"$filter": f"documentId eq {order['id']}"})
    assert [ln["id"] for ln in r.json()["value"]] == [line["id"]]
    r = s.patch(f"{lines_url}({line['id']})", json={"quantity": 2}, headers={"If-Match": line["@odata.etag"]})
    assert r.status_code == 200 and r.json()["amountExcludingTax"] == 2794.6
    assert_error(
        s.patch(f"{lines_url}({line['id']})", json={"sequence": 5}, headers={"If-Match": "*"}),
        400,
        "Application_DialogException",
    )
    assert s.delete(f"{lines_url}({line['id']})", headers={"If-Match": "*"}).status_code == 204
    assert s.get(lines_url).json()["value"] == []


def test_invoice_discount_and_account_lines(sbx: BCSandbox, s: requests.Session) -> None:
    body = {
        "customerNumber": jane(sbx)["number"],
        "discountAmount": 5,
        "salesInvoiceLines": [
            {"lineType": "Item", "lineObjectNumber": "HOODIE-S", "quantity": 1, "unitPrice": 45},
            {"lineType": "Account", "lineObjectNumber": "6630", "quantity": 1, "unitPrice": 0.01},
        ],
    }
    inv = s.post(f"{sbx.company_url}/salesInvoices", json=body).json()
    assert inv["discountAmount"] == 5
    assert inv["totalAmountExcludingTax"] == 40.01
    hoodie, rounding = inv["salesInvoiceLines"]
    assert rounding["taxPercent"] == 0 and rounding["totalTaxAmount"] == 0
    assert hoodie["invoiceDiscountAllocation"] + rounding["invoiceDiscountAllocation"] == 5
    assert inv["totalTaxAmount"] == round(hoodie["netAmount"] * 0.0725 + 1e-9, 2)
