"""BC simulator: webhooks on the order-to-cash entities (business-central.md §10.8): salesCreditMemos and
customerPaymentJournals are subscribable; a cancel fires `created` on salesCreditMemos and `updated` on
salesInvoices (INFERRED in the contract); a payment closing an invoice changes no header, so fires nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.sandbox.bc.helpers import posted_invoice
from tests.sandbox.bc.test_webhooks import Receiver, subscribe
from wcbc.sandbox.bc.testing import BCSandbox, run_bc_sandbox


@pytest.fixture
def rx() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def sbx(tmp_path: Path) -> Iterator[BCSandbox]:
    with run_bc_sandbox(tmp_path, webhook_delay=0.2, retry_scale=0.0005) as sandbox:
        yield sandbox


def changes(rx: Receiver, sbx: BCSandbox) -> list[tuple[str, str]]:
    assert sbx.bc.flush_notifications(5.0)
    return sorted((v["resource"].split("/")[-1].split("(")[0], v["changeType"]) for v in rx.values())


def test_cancel_notifies_credit_memos_and_invoices(sbx: BCSandbox, s: requests.Session, rx: Receiver) -> None:
    inv = posted_invoice(s, sbx, "WC-1")
    subscribe(sbx, s, rx.url, "salesCreditMemos")
    subscribe(sbx, s, rx.url, "salesInvoices")
    subscribe(sbx, s, rx.url, "customerPaymentJournals")
    assert s.post(f"{sbx.company_url}/salesInvoices({inv['id']})/Microsoft.NAV.cancel").status_code == 204
    assert changes(rx, sbx) == [("salesCreditMemos", "created"), ("salesInvoices", "updated")]
    rx.notifications.clear()
    other = posted_invoice(s, sbx, "WC-2")
    assert sbx.bc.flush_notifications(5.0)
    rx.notifications.clear()
    batch = s.get(f"{sbx.company_url}/customerPaymentJournals").json()["value"][0]
    r = s.post(
        f"{sbx.company_url}/customerPaymentJournals({batch['id']})/customerPayments",
        json={"appliesToInvoiceId": other["id"], "amount": -other["totalAmountIncludingTax"]},
    )
    assert r.status_code == 201
    assert s.post(f"{sbx.company_url}/journals({batch['id']})/Microsoft.NAV.post").status_code == 204
    assert s.get(f"{sbx.company_url}/salesInvoices({other['id']})").json()["status"] == "Paid"
    assert changes(rx, sbx) == []
    r = s.post(f"{sbx.company_url}/customerPaymentJournals", json={"code": "WEB"})
    assert r.status_code == 201
    assert changes(rx, sbx) == [("customerPaymentJournals", "created")]
