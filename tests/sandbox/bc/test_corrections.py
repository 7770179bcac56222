"""BC simulator: salesInvoices cancel / cancelAndSend / makeCorrectiveCreditMemo and their refusals
(business-central.md §10.2), remainingAmount and status Open/Paid/Canceled/Corrective, over HTTPS."""

from __future__ import annotations

import requests

from tests.sandbox.bc.helpers import admin, assert_error, get, item, jane, posted_invoice
from wcbc.sandbox.bc.testing import BCSandbox

PAID = "You cannot cancel this posted sales invoice because it is fully or partially paid."


def credit_memos(s: requests.Session, sbx: BCSandbox, flt: str) -> list[dict]:
    return list(get(s, f"{sbx.company_url}/salesCreditMemos", **{"$filter": flt})["value"])


def pay(s: requests.Session, sbx: BCSandbox, inv: dict, amount: float) -> None:
    batch = get(s, f"{sbx.company_url}/customerPaymentJournals")["value"][0]
    r = s.post(
        f"{sbx.company_url}/customerPaymentJournals({batch['id']})/customerPayments",
        json={"appliesToInvoiceId": inv["id"], "amount": -amount},
    )
    assert r.status_code == 201, r.text
    assert s.post(f"{sbx.company_url}/journals({batch['id']})/Microsoft.NAV.post").status_code == 204


def test_actions_need_a_posted_invoice(sbx: BCSandbox, s: requests.Session) -> None:
    draft = s.post(f"{sbx.company_url}/salesInvoices", json={"customerNumber": jane(sbx)["number"]}).json()
    assert draft["remainingAmount"] == 0 and draft["status"] == "Draft"
    for action in ("cancel", "cancelAndSend", "makeCorrectiveCreditMemo"):
        assert_error(
            s.post(f"{sbx.company_url}/salesInvoices({draft['id']})/Microsoft.NAV.{action}"),
            400,
            "Application_DialogException",
            "The action can be applied to a posted invoice only.",
        )
    assert_error(
        s.get(f"{sbx.company_url}/salesInvoices({draft['id']})/Microsoft.NAV.cancel"),
        405,
        "BadRequest_MethodNotAllowed",
    )


def test_cancel_posts_a_corrective_credit_memo(sbx: BCSandbox, s: requests.Session) -> None:
    inv = posted_invoice(s, sbx, "wc-77")
    stock = item(s, sbx, "TSHIRT-001")["inventory"]
    url = f"{sbx.company_url}/salesInvoices({inv['id']})"
    r = s.post(f"{url}/Microsoft.NAV.cancel")
    assert r.status_code == 204 and r.content == b""
    after = get(s, url)
    assert after["status"] == "Canceled" and after["remainingAmount"] == 0
    assert after["@odata.etag"] != inv["@odata.etag"]  # the header is modified (Cancelled)
    (cm,) = credit_memos(s, sbx, f"invoiceNumber eq '{inv['number']}'")
    assert cm["status"] == "Corrective" and cm["number"].startswith("PS-CR")
    assert cm["invoiceId"] == inv["id"] and cm["externalDocumentNumber"] == "WC-77"
    assert cm["totalAmountIncludingTax"] == inv["totalAmountIncludingTax"]
    assert item(s, sbx, "TSHIRT-001")["inventory"] == stock + 2  # Item lines restock
    assert_error(
        s.post(f"{url}/Microsoft.NAV.cancel"),
        400,
        "Application_DialogException",
        "The invoice cannot be canceled because it has already been canceled.",
    )
    assert_error(
        s.post(f"{url}/Microsoft.NAV.makeCorrectiveCreditMemo"),
        400,
        "Application_DialogException",
        "The invoice is closed. The corrective credit memo will not be applied to the invoice.",
    )


def test_a_paid_or_partly_paid_invoice_cannot_be_cancelled(sbx: BCSandbox, s: requests.Session) -> None:
    inv = posted_invoice(s, sbx, "wc-78")
    pay(s, sbx, inv, 10)
    url = f"{sbx.company_url}/salesInvoices({inv['id']})"
    assert get(s, url)["status"] == "Open" and get(s, url)["remainingAmount"] == 43.63
    text = assert_error(
        s.post(f"{url}/Microsoft.NAV.cancel"), 400, "Application_DialogException", starts=PAID
    )
    assert "To reverse a paid sales invoice, you must manually create a sales credit memo." in text
    assert_error(
        s.post(f"{url}/Microsoft.NAV.makeCorrectiveCreditMemo"),
        400,
        "Application_DialogException",
        "The invoice is partially paid or credited. The corrective credit memo may not be fully closed "
        "by the invoice.",
    )
    pay(s, sbx, inv, 43.63)
    assert get(s, url)["status"] == "Paid"
    assert_error(s.post(f"{url}/Microsoft.NAV.cancel"), 400, "Application_DialogException", starts=PAID)
    assert credit_memos(s, sbx, f"invoiceNumber eq '{inv['number']}'") == []


def test_make_corrective_credit_memo_is_a_draft_to_edit_then_post(
    sbx: BCSandbox, s: requests.Session
) -> None:
    inv = posted_invoice(s, sbx, "wc-79")
    r = s.post(f"{sbx.company_url}/salesInvoices({inv['id']})/Microsoft.NAV.makeCorrectiveCreditMemo")
    assert r.status_code == 204 and r.content == b""
    (cm,) = credit_memos(s, sbx, f"invoiceNumber eq '{inv['number']}' and status eq 'Draft'")
    assert cm["invoiceId"] == inv["id"] and cm["totalAmountIncludingTax"] == inv["totalAmountIncludingTax"]
    lines_url = f"{sbx.company_url}/salesCreditMemos({cm['id']})/salesCreditMemoLines"
    lines = get(s, lines_url)["value"]
    assert [(ln["lineObjectNumber"], ln["quantity"]) for ln in lines] == [("TSHIRT-001", 2), ("6610", 1)]
    # A partial refund: one T-shirt, no shipping.
    s.patch(f"{lines_url}({lines[0]['id']})", json={"quantity": 1}, headers={"If-Match": "*"})
    s.delete(f"{lines_url}({lines[1]['id']})", headers={"If-Match": "*"})
    assert s.post(f"{sbx.company_url}/salesCreditMemos({cm['id']})/Microsoft.NAV.post").status_code == 204
    after = get(s, f"{sbx.company_url}/salesInvoices({inv['id']})")
    assert after["remainingAmount"] == 32.18 and after["status"] == "Open"


def test_make_corrective_from_a_partly_invoiced_order_asks_a_confirmation(
    sbx: BCSandbox, s: requests.Session
) -> None:
    order = s.post(
        f"{sbx.company_url}/salesOrders",
        json={
            "customerNumber": jane(sbx)["number"],
            "salesOrderLines": [
                {"lineType": "Item", "lineObjectNumber": "MUG-001", "quantity": 2, "unitPrice": 12}
            ],
        },
    ).json()
    result = sbx.bc.ship_order(order["id"], {"MUG-001": 1}, invoice=True)
    inv = result["invoice"]
    assert inv["orderId"] == order["id"] and not result["orderDeleted"]
    assert_error(
        s.post(f"{sbx.company_url}/salesInvoices({inv['id']})/Microsoft.NAV.makeCorrectiveCreditMemo"),
        400,
        "Application_CallbackNotAllowed",
    )


def test_cancel_refusals_blocked_customer_and_item(sbx: BCSandbox, s: requests.Session) -> None:
    inv = posted_invoice(s, sbx, "wc-80")
    url = f"{sbx.company_url}/salesInvoices({inv['id']})/Microsoft.NAV.cancel"
    sbx.bc.block_item("TSHIRT-001")
    assert_error(
        s.post(url),
        400,
        "Application_DialogException",
        "You cannot cancel this posted sales invoice because item TSHIRT-001 T-Shirt is blocked.",
    )
    sbx.bc.block_item("TSHIRT-001", False)
    sbx.bc.comp().customers.rows[jane(sbx)["id"]]["blocked"] = "All"
    assert_error(
        s.post(url),
        400,
        "Application_DialogException",
        "You cannot cancel this posted sales invoice because customer Jane Doe is blocked.",
    )
    assert get(s, f"{sbx.company_url}/salesInvoices({inv['id']})")["status"] == "Open"


def test_cancel_and_send_checks_the_address_first(sbx: BCSandbox, s: requests.Session) -> None:
    nomail = sbx.bc.add_customer("No Mail")
    inv = posted_invoice(s, sbx, "wc-81", customerNumber=nomail["number"])
    url = f"{sbx.company_url}/salesInvoices({inv['id']})"
    assert_error(
        s.post(f"{url}/Microsoft.NAV.cancelAndSend"),
        400,
        "Application_DialogException",
        starts="The send-to email is empty.",
    )
    assert get(s, url)["status"] == "Open"
    inv2 = posted_invoice(s, sbx, "wc-82")
    assert (
        s.post(f"{sbx.company_url}/salesInvoices({inv2['id']})/Microsoft.NAV.cancelAndSend").status_code
        == 204
    )
    outbox = admin(sbx, "GET", "outbox").json()
    assert outbox == [{"action": "cancelAndSend", "number": inv2["number"], "to": "jane.doe@example.test"}]


def test_a_failing_cancel_leaves_its_draft_credit_memo(sbx: BCSandbox, s: requests.Session) -> None:
    inv = posted_invoice(s, sbx, "wc-83")
    r = admin(sbx, "POST", "postFailures", {"documentId": inv["id"], "action": "cancel", "times": 1})
    assert r.status_code == 201
    text = assert_error(
        s.post(f"{sbx.company_url}/salesInvoices({inv['id']})/Microsoft.NAV.cancel"),
        400,
        "Application_DialogException",
        starts="Canceling the invoice failed because of the following error:",
    )
    assert "Posting Date is not within your range of allowed posting dates." in text
    assert text.endswith("A credit memo is created but not posted.")
    (draft,) = credit_memos(s, sbx, "status eq 'Draft'")
    assert draft["invoiceNumber"] == inv["number"]
    assert get(s, f"{sbx.company_url}/salesInvoices({inv['id']})")["status"] == "Open"


def test_send_and_post_and_send(sbx: BCSandbox, s: requests.Session) -> None:
    nomail = sbx.bc.add_customer("No Mail")
    body = {
        "customerNumber": nomail["number"],
        "salesInvoiceLines": [
            {"lineType": "Item", "lineObjectNumber": "CAP-001", "quantity": 1, "unitPrice": 9}
        ],
    }
    inv = s.post(f"{sbx.company_url}/salesInvoices", json=body).json()
    url = f"{sbx.company_url}/salesInvoices({inv['id']})"
    # postAndSend posts and commits before the e-mail check: the invoice stays posted.
    assert_error(
        s.post(f"{url}/Microsoft.NAV.postAndSend"),
        400,
        "Application_DialogException",
        starts="The send-to email",
    )
    assert get(s, url)["status"] == "Open"
    cm_body = {"customerNumber": jane(sbx)["number"], "salesCreditMemoLines": body["salesInvoiceLines"]}
    cm = s.post(f"{sbx.company_url}/salesCreditMemos", json=cm_body).json()
    cm_url = f"{sbx.company_url}/salesCreditMemos({cm['id']})"
    assert_error(
        s.post(f"{cm_url}/Microsoft.NAV.send"),
        400,
        "Application_DialogException",
        "The action can be applied to a posted credit memo only.",
    )
    assert s.post(f"{cm_url}/Microsoft.NAV.postAndSend").status_code == 204
    assert s.post(f"{cm_url}/Microsoft.NAV.send").status_code == 204
    posted = get(s, cm_url)
    assert [(m["action"], m["number"]) for m in admin(sbx, "GET", "outbox").json()] == [
        ("postAndSend", posted["number"]),
        ("send", posted["number"]),
    ]
