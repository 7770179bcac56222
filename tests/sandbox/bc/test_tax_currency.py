"""BC simulator: tax-exempt customers, tax groups on lines, taxGroups/taxAreas, currencies and the company's
currency, pricesIncludeTax following the customer, and the knob that makes a post fail
(business-central.md §3.4, §10.6), over HTTPS."""

from __future__ import annotations

import requests

from tests.sandbox.bc.helpers import admin, assert_error, get, jane
from wcbc.sandbox.bc.testing import BCSandbox

LINES = [
    {"lineType": "Item", "lineObjectNumber": "TSHIRT-001", "quantity": 2, "unitPrice": 20},
    {"lineType": "Account", "lineObjectNumber": "6610", "quantity": 1, "unitPrice": 10},
]


def invoice(s: requests.Session, sbx: BCSandbox, customer: str, **extra: object) -> requests.Response:
    return s.post(
        f"{sbx.company_url}/salesInvoices",
        json={"customerNumber": customer, "salesInvoiceLines": LINES, **extra},
    )


def test_a_customer_not_tax_liable_gets_no_tax(sbx: BCSandbox, s: requests.Session) -> None:
    r = s.post(f"{sbx.company_url}/customers", json={"displayName": "Exempt School", "taxLiable": False})
    exempt = r.json()
    assert exempt["taxLiable"] is False
    for set_name, nav in (
        ("salesInvoices", "salesInvoiceLines"),
        ("salesCreditMemos", "salesCreditMemoLines"),
    ):
        doc = s.post(
            f"{sbx.company_url}/{set_name}", json={"customerNumber": exempt["number"], nav: LINES}
        ).json()
        assert doc["totalTaxAmount"] == 0 and doc["totalAmountIncludingTax"] == 50
        assert [ln["taxPercent"] for ln in doc[nav]] == [0, 0]
    s.patch(
        f"{sbx.company_url}/customers({exempt['id']})", json={"taxLiable": True}, headers={"If-Match": "*"}
    )
    assert invoice(s, sbx, exempt["number"]).json()["totalTaxAmount"] == 3.63
    # Under VAT, tax liability does not exempt (the VAT posting groups do).
    sbx.bc.set_tax_mode("vat")
    s.patch(
        f"{sbx.company_url}/customers({exempt['id']})", json={"taxLiable": False}, headers={"If-Match": "*"}
    )
    assert invoice(s, sbx, exempt["number"]).json()["totalTaxAmount"] == 3.63


def test_tax_groups_and_tax_codes_on_lines(sbx: BCSandbox, s: requests.Session) -> None:
    groups = get(s, f"{sbx.company_url}/taxGroups")["value"]
    assert {g["code"] for g in groups} == {"TAXABLE", "NONTAXABLE"}
    assert {g["taxType"] for g in groups} == {"Sales_x0020_Tax"}
    assert set(groups[0]) == {"@odata.etag", "id", "code", "displayName", "taxType", "lastModifiedDateTime"}
    assert (
        admin(sbx, "POST", "taxGroups", {"code": "reduced", "percent": 5, "name": "Reduced"}).status_code
        == 200
    )
    again = get(s, f"{sbx.company_url}/taxGroups", **{"$filter": "code eq 'REDUCED'"})["value"]
    assert again[0]["displayName"] == "Reduced"
    assert get(s, f"{sbx.company_url}/taxGroups")["value"][0]["id"] == groups[0]["id"]  # stable ids
    assert [a["code"] for a in get(s, f"{sbx.company_url}/taxAreas")["value"]] == ["CA"]
    assert_error(
        s.post(f"{sbx.company_url}/taxGroups", json={"code": "X"}), 405, "BadRequest_MethodNotAllowed"
    )
    lines = [
        {**LINES[0], "taxCode": "reduced"},
        {**LINES[1], "taxCode": "NONTAXABLE"},
    ]
    doc = s.post(
        f"{sbx.company_url}/salesInvoices",
        json={"customerNumber": jane(sbx)["number"], "salesInvoiceLines": lines},
    ).json()
    assert [ln["taxCode"] for ln in doc["salesInvoiceLines"]] == ["REDUCED", "NONTAXABLE"]
    assert [ln["taxPercent"] for ln in doc["salesInvoiceLines"]] == [5, 0]
    assert doc["totalTaxAmount"] == 2
    line = doc["salesInvoiceLines"][1]
    url = f"{sbx.company_url}/salesInvoices({doc['id']})/salesInvoiceLines({line['id']})"
    r = s.patch(url, json={"taxCode": "TAXABLE"}, headers={"If-Match": "*"})
    assert r.status_code == 200 and r.json()["taxPercent"] == 7.25
    assert_error(
        s.patch(url, json={"taxCode": "NOPE"}, headers={"If-Match": "*"}),
        404,
        "Internal_RecordNotFound",
        "The Tax Group does not exist. Identification fields and values: Code='NOPE'",
    )
    assert_error(
        s.post(
            f"{sbx.company_url}/salesOrders",
            json={
                "customerNumber": jane(sbx)["number"],
                "salesOrderLines": [{**LINES[0], "taxCode": "NOPE"}],
            },
        ),
        404,
        "Internal_RecordNotFound",
    )
    sbx.bc.set_tax_mode("vat")
    assert {g["taxType"] for g in get(s, f"{sbx.company_url}/taxGroups")["value"]} == {"VAT"}
    # Under VAT, taxAreas are the VAT Business Posting Groups.
    assert [a["code"] for a in get(s, f"{sbx.company_url}/taxAreas")["value"]] == ["DOMESTIC", "EU", "EXPORT"]


def test_currency_codes_as_bc_translates_them(sbx: BCSandbox, s: requests.Session) -> None:
    codes = [c["code"] for c in get(s, f"{sbx.company_url}/currencies")["value"]]
    assert codes == ["EUR", "GBP"]  # the LCY (USD) is not a Currency record
    cust = jane(sbx)["number"]
    for set_name in ("salesOrders", "salesInvoices", "salesCreditMemos"):
        url = f"{sbx.company_url}/{set_name}"
        for code in ("XYZ", "EURO-DOLLAR"):  # cut to 10 characters first, then looked up
            assert_error(
                s.post(url, json={"customerNumber": cust, "currencyCode": code}),
                400,
                "Application_DialogException",
                'The "currencyCode" does not match to a Currency.',
            )
        assert_error(
            s.post(url, json={"customerNumber": cust, "currencyId": "11111111-2222-3333-4444-555555555555"}),
            400,
            "Application_DialogException",
            'The "currencyId" does not match to a Currency.',
        )
        gbp = next(c for c in get(s, f"{sbx.company_url}/currencies")["value"] if c["code"] == "GBP")
        assert_error(
            s.post(url, json={"customerNumber": cust, "currencyCode": "EUR", "currencyId": gbp["id"]}),
            400,
            "Application_DialogException",
            "The currency values do not match to a specific Currency.",
        )
        lcy = s.post(url, json={"customerNumber": cust, "currencyCode": "usd"}).json()
        assert lcy["currencyCode"] == "USD" and lcy["currencyId"] == "00000000-0000-0000-0000-000000000000"
        eur = s.post(url, json={"customerNumber": cust, "currencyCode": "eur"}).json()
        assert eur["currencyCode"] == "EUR" and eur["currencyId"] != "00000000-0000-0000-0000-000000000000"


def test_company_currency_knob_and_missing_exchange_rate(sbx: BCSandbox, s: requests.Session) -> None:
    assert admin(sbx, "POST", "currencies/local", {"code": "eur"}).status_code == 200
    assert [c["code"] for c in get(s, f"{sbx.company_url}/currencies")["value"]] == ["GBP"]
    r = admin(sbx, "POST", "currencies", {"code": "usd", "name": "US Dollar", "symbol": "$"})
    assert r.status_code == 201 and r.json()["code"] == "USD"
    cust = jane(sbx)["number"]
    doc = s.post(
        f"{sbx.company_url}/salesInvoices", json={"customerNumber": cust, "currencyCode": "EUR"}
    ).json()
    assert doc["currencyCode"] == "EUR" and doc["currencyId"] == "00000000-0000-0000-0000-000000000000"
    assert (
        admin(
            sbx, "POST", "currencies", {"code": "CHF", "name": "Swiss Franc", "exchangeRate": False}
        ).status_code
        == 201
    )
    r = s.post(
        f"{sbx.company_url}/salesOrders",
        json={"customerNumber": cust, "currencyCode": "CHF", "salesOrderLines": LINES},
    )
    assert_error(
        r,
        400,
        "Application_FieldValidationException",
        starts="Currency Factor must have a value in Sales Header:",
    )
    header = s.post(f"{sbx.company_url}/salesOrders", json={"customerNumber": cust, "currencyCode": "CHF"})
    assert header.status_code == 201  # the header alone is accepted (a notification in BC)
    assert_error(
        s.post(f"{sbx.company_url}/salesOrders({header.json()['id']})/salesOrderLines", json=LINES[0]),
        400,
        "Application_FieldValidationException",
        starts="Currency Factor must have a value",
    )
    # A document without currencyCode takes the customer's.
    s.patch(
        f"{sbx.company_url}/customers({jane(sbx)['id']})",
        json={"currencyCode": "GBP"},
        headers={"If-Match": "*"},
    )
    assert (
        s.post(f"{sbx.company_url}/salesInvoices", json={"customerNumber": cust}).json()["currencyCode"]
        == "GBP"
    )


def test_prices_include_tax_follows_the_customer_on_invoices_and_credit_memos(
    sbx: BCSandbox, s: requests.Session
) -> None:
    cust = jane(sbx)
    r = invoice(s, sbx, cust["number"], pricesIncludeTax=True)
    assert r.json()["pricesIncludeTax"] is False  # read-only: ignored
    sbx.bc.set_tax_mode("vat")
    r = admin(sbx, "POST", f"customers/{cust['number']}/pricesIncludingVat", {"value": True})
    assert r.status_code == 200
    for set_name, nav in (
        ("salesInvoices", "salesInvoiceLines"),
        ("salesCreditMemos", "salesCreditMemoLines"),
    ):
        doc = s.post(
            f"{sbx.company_url}/{set_name}", json={"customerNumber": cust["number"], nav: LINES[:1]}
        ).json()
        assert doc["pricesIncludeTax"] is True
        assert doc["totalAmountIncludingTax"] == 40 and doc["totalTaxAmount"] == 2.7  # 40 / 1.0725
    order = s.post(f"{sbx.company_url}/salesOrders", json={"customerNumber": cust["number"]}).json()
    assert order["pricesIncludeTax"] is True  # orders default to it, and may change it
    r = s.patch(
        f"{sbx.company_url}/salesOrders({order['id']})",
        json={"pricesIncludeTax": False},
        headers={"If-Match": "*"},
    )
    assert r.status_code == 200 and r.json()["pricesIncludeTax"] is False


def test_fail_posting_knob_answers_with_a_bc_error(sbx: BCSandbox, s: requests.Session) -> None:
    cust = jane(sbx)["number"]
    doc = invoice(s, sbx, cust, externalDocumentNumber="wc-900").json()
    rule = {
        "setName": "salesInvoices",
        "externalDocumentNumber": "wc-900",
        "code": "Application_FieldValidationException",
        "message": "Gen. Bus. Posting Group must have a value in Customer: No.=C10000. It cannot be zero or "
        "empty.",
        "times": 1,
    }
    assert admin(sbx, "POST", "postFailures", rule).status_code == 201
    url = f"{sbx.company_url}/salesInvoices({doc['id']})"
    assert_error(s.post(f"{url}/Microsoft.NAV.post"), 400, rule["code"], rule["message"])
    kept = get(s, url)
    assert kept["status"] == "Draft" and kept["number"] == doc["number"]
    other = invoice(s, sbx, cust, externalDocumentNumber="wc-901").json()
    assert s.post(f"{sbx.company_url}/salesInvoices({other['id']})/Microsoft.NAV.post").status_code == 204
    assert s.post(f"{url}/Microsoft.NAV.post").status_code == 204  # times=1: used up
    assert get(s, url)["number"] == "PS-INV103002"  # the failed post consumed no number
    # Any status: a 500 from a credit-memo post until cleared.
    sbx.bc.fail_posting(set_name="salesCreditMemos", status=500, code="Internal_ServerError", message="Boom.")
    cm = s.post(
        f"{sbx.company_url}/salesCreditMemos", json={"customerNumber": cust, "salesCreditMemoLines": LINES}
    ).json()
    assert_error(
        s.post(f"{sbx.company_url}/salesCreditMemos({cm['id']})/Microsoft.NAV.post"),
        500,
        "Internal_ServerError",
        "Boom.",
    )
    sbx.bc.clear_post_failures()
    assert s.post(f"{sbx.company_url}/salesCreditMemos({cm['id']})/Microsoft.NAV.post").status_code == 204
