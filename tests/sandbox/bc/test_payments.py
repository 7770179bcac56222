"""BC simulator: customerPaymentJournals, customerPayments and journals({id})/Microsoft.NAV.post
(business-central.md §10.5) over HTTPS: fields and write refusals, the batch posted all or nothing, payments
applied to posted invoices (remainingAmount / status), and why a refund cannot go through customerPayments."""

from __future__ import annotations

import requests

from tests.sandbox.bc.helpers import admin, assert_error, get, jane, posted_invoice
from wcbc.sandbox.bc.testing import BCSandbox

PAYMENT_FIELDS = {
    "id",
    "journalId",
    "journalDisplayName",
    "lineNumber",
    "customerId",
    "customerNumber",
    "postingDate",
    "documentNumber",
    "externalDocumentNumber",
    "amount",
    "appliesToInvoiceId",
    "appliesToInvoiceNumber",
    "description",
    "comment",
    "lastModifiedDateTime",
}
SCOPE = "You must specify a journal batch ID or a journal ID to get a journal line."


def journal(s: requests.Session, sbx: BCSandbox, code: str = "GENERAL") -> dict:
    r = s.get(f"{sbx.company_url}/customerPaymentJournals", params={"$filter": f"code eq '{code}'"})
    (found,) = r.json()["value"]
    return dict(found)


def pay_url(sbx: BCSandbox, batch: dict) -> str:
    return f"{sbx.company_url}/customerPaymentJournals({batch['id']})/customerPayments"


def post_batch(s: requests.Session, sbx: BCSandbox, batch: dict) -> requests.Response:
    return s.post(f"{sbx.company_url}/journals({batch['id']})/Microsoft.NAV.post")


def test_payment_journals_crud_and_no_bound_action(sbx: BCSandbox, s: requests.Session) -> None:
    general = journal(s, sbx)
    assert set(general) == {
        "@odata.etag",
        "id",
        "code",
        "displayName",
        "lastModifiedDateTime",
        "balancingAccountId",
        "balancingAccountNumber",
    }
    assert general["balancingAccountNumber"] == "10100"
    url = f"{sbx.company_url}/customerPaymentJournals"
    r = s.post(url, json={"code": "web-stripe", "displayName": "Stripe"})
    assert (
        r.status_code == 201 and r.json()["code"] == "WEB-STRIPE" and r.json()["balancingAccountNumber"] == ""
    )
    created = r.json()
    assert_error(s.post(url, json={"code": "WEB-STRIPE"}), 400, "Internal_EntityWithSameKeyExists")
    assert_error(s.post(url, json={"code": "X" * 11}), 400, "Application_StringExceededLength")
    bank = sbx.bc.comp().accounts.find("number", "10100")[0]
    assert_error(
        s.patch(f"{url}({created['id']})", json={"displayName": "S"}), 400, "BadRequest_InvalidToken"
    )
    r = s.patch(
        f"{url}({created['id']})",
        json={"balancingAccountId": bank["id"]},
        headers={"If-Match": created["@odata.etag"]},
    )
    assert r.status_code == 200 and r.json()["balancingAccountNumber"] == "10100"
    # No bound actions on customerPaymentJournals (the page's actions are empty).
    assert s.post(f"{url}({created['id']})/Microsoft.NAV.post").status_code == 404
    # journals lists the General template's batches only; a key lookup finds any batch.
    assert [j["code"] for j in get(s, f"{sbx.company_url}/journals")["value"]] == ["DEFAULT"]
    found = get(s, f"{sbx.company_url}/journals({created['id']})")
    assert found["code"] == "WEB-STRIPE" and found["templateDisplayName"] == "CASH RECE"
    assert s.delete(f"{url}({created['id']})", headers={"If-Match": "*"}).status_code == 204


def test_payment_lines_need_a_journal(sbx: BCSandbox, s: requests.Session) -> None:
    url = f"{sbx.company_url}/customerPayments"
    assert_error(s.get(url), 400, "Application_DialogException", SCOPE)
    assert_error(s.post(url, json={"amount": -5}), 400, "Application_DialogException", SCOPE)
    batch = journal(s, sbx)
    r = s.post(url, json={"journalId": batch["id"], "customerNumber": jane(sbx)["number"], "amount": -5})
    assert r.status_code == 201, r.text
    line = r.json()
    assert set(line) == {"@odata.context", "@odata.etag"} | PAYMENT_FIELDS
    assert line["journalDisplayName"] == "GENERAL" and line["lineNumber"] == 10000
    assert line["documentNumber"] == "G02001" and line["description"] == "Jane Doe"
    r = s.get(url, params={"$filter": f"journalId eq {batch['id']}"})
    assert [p["id"] for p in r.json()["value"]] == [line["id"]]


def test_payment_write_refusals(sbx: BCSandbox, s: requests.Session) -> None:
    batch = journal(s, sbx)
    url = pay_url(sbx, batch)
    other = sbx.bc.add_customer("Other", "other@example.test")
    draft = s.post(f"{sbx.company_url}/salesInvoices", json={"customerNumber": jane(sbx)["number"]}).json()
    inv = posted_invoice(s, sbx)
    cases = [
        ({"customerNumber": "NOPE"}, 'The "customerNumber" does not match to a Customer.'),
        (
            {"customerId": "11111111-2222-3333-4444-555555555555"},
            'The "customerId" does not match to a Customer.',
        ),
        (
            {"customerNumber": jane(sbx)["number"], "customerId": other["id"]},
            "The customer values do not match to a specific Customer.",
        ),
        (
            {"appliesToInvoiceId": draft["id"]},
            'The "appliesToInvoiceId" should be the ID of an Open, Paid, Corrective, or Canceled Invoice.',
        ),
        (
            {"appliesToInvoiceId": inv["id"], "appliesToInvoiceNumber": "PS-INV1"},
            "The Applies To Invoice values do not match to the same Invoice.",
        ),
        ({"journalDisplayName": "OTHER"}, "The Journal Id and Journal Display Name do not match."),
    ]
    for body, message in cases:
        assert_error(s.post(url, json=body), 400, "Application_DialogException", message)
    # appliesToInvoiceNumber is not checked on write; the customer comes from the invoice when left out.
    r = s.post(url, json={"appliesToInvoiceNumber": "nowhere", "customerNumber": jane(sbx)["number"]})
    assert r.status_code == 201 and r.json()["appliesToInvoiceId"] == "00000000-0000-0000-0000-000000000000"
    r = s.post(url, json={"appliesToInvoiceId": inv["id"], "amount": -1, "externalDocumentNumber": "ch_3abc"})
    line = r.json()
    assert line["customerNumber"] == jane(sbx)["number"] and line["appliesToInvoiceNumber"] == inv["number"]
    assert line["externalDocumentNumber"] == "CH_3ABC" and line["documentNumber"] == "G02002"
    assert_error(
        s.patch(f"{url}({line['id']})", json={"journalId": draft["id"]}, headers={"If-Match": "*"}),
        400,
        "Application_DialogException",
        "The Journal Id cannot be changed.",
    )
    assert_error(s.patch(f"{url}({line['id']})", json={"amount": -2}), 400, "BadRequest_InvalidToken")
    r = s.patch(f"{url}({line['id']})", json={"amount": -2}, headers={"If-Match": line["@odata.etag"]})
    assert r.status_code == 200 and r.json()["amount"] == -2
    assert s.delete(f"{url}({line['id']})", headers={"If-Match": r.json()["@odata.etag"]}).status_code == 204


def test_payment_applied_closes_the_invoice(sbx: BCSandbox, s: requests.Session) -> None:
    inv = posted_invoice(s, sbx, "WC-500")  # 53.63
    batch = journal(s, sbx)
    url = pay_url(sbx, batch)
    s.post(
        url,
        json={"appliesToInvoiceNumber": inv["number"], "customerNumber": jane(sbx)["number"], "amount": -20},
    )
    assert post_batch(s, sbx, batch).status_code == 204
    part = get(s, f"{sbx.company_url}/salesInvoices({inv['id']})")
    assert part["remainingAmount"] == 33.63 and part["status"] == "Open"
    assert part["@odata.etag"] == inv["@odata.etag"]  # the ledger entry changed, not the invoice header
    assert get(s, url)["value"] == []  # posted lines leave the journal
    r = s.post(
        url,
        json={
            "appliesToInvoiceId": inv["id"],
            "amount": -33.63,
            "externalDocumentNumber": "pi_123",
            "documentNumber": "WEB-1",
        },
    )
    assert r.status_code == 201
    assert post_batch(s, sbx, batch).status_code == 204
    paid = get(s, f"{sbx.company_url}/salesInvoices({inv['id']})")
    assert paid["remainingAmount"] == 0 and paid["status"] == "Paid"
    r = s.get(f"{sbx.company_url}/salesInvoices", params={"$filter": "status eq 'Paid'"})
    assert [i["id"] for i in r.json()["value"]] == [inv["id"]]
    assert get(s, f"{sbx.company_url}/customers({jane(sbx)['id']})")["balanceDue"] == 0
    entries = admin(sbx, "GET", "payments").json()
    assert [(e["documentNumber"], e["externalDocumentNumber"], e["amount"]) for e in entries] == [
        ("G02001", "", "-20"),
        ("WEB-1", "PI_123", "-33.63"),
    ]
    assert_error(post_batch(s, sbx, batch), 400, "Application_DialogException", "There is nothing to post.")


def test_batch_posting_is_all_or_nothing(sbx: BCSandbox, s: requests.Session) -> None:
    inv = posted_invoice(s, sbx, "WC-501")
    batch = journal(s, sbx)
    url = pay_url(sbx, batch)
    s.post(url, json={"appliesToInvoiceId": inv["id"], "amount": -10})
    bad = s.post(url, json={"customerNumber": jane(sbx)["number"], "amount": 5}).json()
    assert_error(
        post_batch(s, sbx, batch),
        400,
        "Application_FieldValidationException",
        "Amount must be negative in Gen. Journal Line: Journal Template Name=CASH RECE, "
        f"Journal Batch Name=GENERAL, Line No.={bad['lineNumber']}.",
    )
    assert len(get(s, url)["value"]) == 2
    assert get(s, f"{sbx.company_url}/salesInvoices({inv['id']})")["remainingAmount"] == 53.63
    s.delete(f"{url}({bad['id']})", headers={"If-Match": "*"})
    # Applying to a closed invoice fails at posting; the valid line is not posted either.
    other = posted_invoice(s, sbx, "WC-502")
    s.post(url, json={"appliesToInvoiceId": other["id"], "amount": -53.63})
    s.post(url, json={"appliesToInvoiceId": other["id"], "amount": -1})
    text = assert_error(
        post_batch(s, sbx, batch),
        400,
        "Internal_DataNotFoundFilter",
        starts="There is no Cust. Ledger Entry within the filter.",
    )
    assert other["number"] in text
    assert get(s, f"{sbx.company_url}/salesInvoices({inv['id']})")["remainingAmount"] == 53.63
    assert get(s, f"{sbx.company_url}/salesInvoices({other['id']})")["remainingAmount"] == 53.63


def test_unknown_batch_unbalanced_batch_and_the_failure_knob(sbx: BCSandbox, s: requests.Session) -> None:
    ghost = "11111111-2222-3333-4444-555555555555"
    assert_error(
        s.post(f"{sbx.company_url}/journals({ghost})/Microsoft.NAV.post"),
        400,
        "Application_DialogException",
        f"The General Journal Batch with ID {ghost} cannot be found.",
    )
    r = s.post(f"{sbx.company_url}/customerPaymentJournals", json={"code": "NOBAL"})
    batch = r.json()
    s.post(
        pay_url(sbx, batch),
        json={"customerNumber": jane(sbx)["number"], "amount": -7, "documentNumber": "D1"},
    )
    assert_error(
        post_batch(s, sbx, batch),
        400,
        "Application_DialogException",
        starts="Document No. D1 is out of balance by -7.00.",
    )
    general = journal(s, sbx)
    s.post(pay_url(sbx, general), json={"customerNumber": jane(sbx)["number"], "amount": -7})
    r = admin(
        sbx,
        "POST",
        "postFailures",
        {
            "setName": "customerPaymentJournals",
            "message": "The journal is locked.",
            "code": "Application_DialogException",
        },
    )
    assert r.status_code == 201
    assert_error(post_batch(s, sbx, general), 400, "Application_DialogException", "The journal is locked.")
    assert_error(post_batch(s, sbx, general), 400, "Application_DialogException", "The journal is locked.")
    assert admin(sbx, "DELETE", "postFailures").json() == {"cleared": 1}
    assert post_batch(s, sbx, general).status_code == 204
    # An unapplied payment is a credit on the customer's balance.
    assert get(s, f"{sbx.company_url}/customers({jane(sbx)['id']})")["balanceDue"] == -7


def test_a_refund_cannot_be_applied_to_a_credit_memo_through_customer_payments(
    sbx: BCSandbox, s: requests.Session
) -> None:
    """customerPayments lines are Payments applied to Invoices (§10.5): a refund (positive amount) fails
    Gen. Jnl.-Check Line, and a credit-memo number is not an open invoice entry."""
    inv = posted_invoice(s, sbx, "WC-600")
    cm = s.post(
        f"{sbx.company_url}/salesCreditMemos",
        json={
            "customerNumber": jane(sbx)["number"],
            "salesCreditMemoLines": [
                {"lineType": "Account", "lineObjectNumber": "6630", "quantity": 1, "unitPrice": 5}
            ],
        },
    ).json()
    s.post(f"{sbx.company_url}/salesCreditMemos({cm['id']})/Microsoft.NAV.post")
    posted_cm = get(s, f"{sbx.company_url}/salesCreditMemos({cm['id']})")
    batch = journal(s, sbx)
    url = pay_url(sbx, batch)
    refund = s.post(
        url,
        json={
            "customerNumber": jane(sbx)["number"],
            "appliesToInvoiceNumber": posted_cm["number"],
            "amount": 5,
        },
    ).json()
    assert_error(
        post_batch(s, sbx, batch),
        400,
        "Application_FieldValidationException",
        starts="Amount must be negative",
    )
    s.patch(f"{url}({refund['id']})", json={"amount": -5}, headers={"If-Match": "*"})
    assert_error(
        post_batch(s, sbx, batch),
        400,
        "Internal_DataNotFoundFilter",
        starts="There is no Cust. Ledger Entry within the filter.",
    )
    assert get(s, f"{sbx.company_url}/salesCreditMemos({cm['id']})")["status"] == "Open"
    assert get(s, f"{sbx.company_url}/salesInvoices({inv['id']})")["status"] == "Open"


def test_post_with_job_queue_only_schedules(sbx: BCSandbox, s: requests.Session) -> None:
    inv = posted_invoice(s, sbx, "WC-700")
    batch = journal(s, sbx)
    assert admin(sbx, "POST", "jobQueue", {"postWithJobQueue": True}).status_code == 200
    s.post(
        pay_url(sbx, batch), json={"appliesToInvoiceId": inv["id"], "amount": -inv["totalAmountIncludingTax"]}
    )
    assert post_batch(s, sbx, batch).status_code == 204
    # Scheduled only: the line is still there and the invoice still open until the job queue runs.
    assert len(get(s, pay_url(sbx, batch))["value"]) == 1
    assert get(s, f"{sbx.company_url}/salesInvoices({inv['id']})")["status"] == "Open"
    assert admin(sbx, "POST", "jobQueue/run").json() == [
        {"batch": "GENERAL", "status": "posted", "entries": 1}
    ]
    assert get(s, f"{sbx.company_url}/salesInvoices({inv['id']})")["status"] == "Paid"
    # A failure shows only in the job log, not in the API answer.
    s.post(pay_url(sbx, batch), json={"customerNumber": jane(sbx)["number"], "amount": 3})
    assert post_batch(s, sbx, batch).status_code == 204
    (result,) = admin(sbx, "POST", "jobQueue/run").json()
    assert result["status"] == "error" and result["message"].startswith("Amount must be negative")
    assert len(get(s, pay_url(sbx, batch))["value"]) == 1


def test_bill_to_customer_values_must_agree(sbx: BCSandbox, s: requests.Session) -> None:
    other = sbx.bc.add_customer("Other", "other@example.test")
    assert_error(
        s.post(
            f"{sbx.company_url}/salesCreditMemos",
            json={
                "customerNumber": jane(sbx)["number"],
                "billToCustomerId": other["id"],
                "billToCustomerNumber": jane(sbx)["number"],
            },
        ),
        400,
        "Application_DialogException",
        "The bill-to customer values do not match to a specific Customer.",
    )
    r = s.post(
        f"{sbx.company_url}/salesCreditMemos",
        json={"customerNumber": jane(sbx)["number"], "billToCustomerNumber": other["number"]},
    )
    assert r.status_code == 201 and r.json()["billToCustomerId"] == other["id"]
