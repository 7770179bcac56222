"""sync-fulfilment (payments) end to end: a paid web order settles its posted BC invoice over HTTPS."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.e2e.conftest import E2E

PAYMENTS = '\n[payments]\njournals = {stripe = "WEB-STRIPE"}\n'


def setup_journal(e2e: E2E) -> None:
    e2e.bc.add_payment_journal("WEB-STRIPE", "Stripe payouts", "10100")
    e2e.write_config(PAYMENTS)


def invoiced(e2e: E2E, method: str = "stripe", txn: str = "ch_3PayStripe0001") -> tuple[dict, dict]:
    """A web order paid online, booked by sync-orders, then shipped and invoiced in BC."""
    jane = next(c["id"] for c in e2e.woo.customers_list() if c["email"] == "jane.doe@example.test")
    order = e2e.woo.create_order(customer_id=jane, line_items=[{"sku": "MUG-001", "quantity": 2}],
                                 payment_method=method, transaction_id=txn)
    code, _, err = e2e.cli("sync-orders")
    assert code == 0, err
    draft = e2e.bc.documents_by_external_number(f"WC-{order['number']}")[0]
    e2e.bc.ship_order(draft["id"], None, invoice=True)
    invoice = next(d for d in e2e.bc.documents_by_external_number(f"WC-{order['number']}")
                   if d.get("status") == "Open")
    return order, invoice


def payments(e2e: E2E) -> list[dict]:
    return e2e.bc.payment_entries()


def pay(e2e: E2E, *args: str) -> tuple[int, dict]:
    code, out, err = e2e.cli("--json", "sync-fulfilment", "--only", "payments", *args)
    return code, (json.loads(out) if out.strip() else {"err": err})


def test_paid_order_posts_a_payment_applied_to_its_invoice_exactly_once(e2e: E2E) -> None:
    setup_journal(e2e)
    order, invoice = invoiced(e2e)
    code, report = pay(e2e)
    assert code == 0, report
    assert report["counts"] == {"paid": 1}
    found = e2e.bc.documents_by_external_number(f"WC-{order['number']}")
    posted = next(d for d in found if d["number"] == invoice["number"])
    assert posted["status"] == "Paid" and Decimal(str(posted["remainingAmount"])) == 0
    entries = payments(e2e)
    assert len(entries) == 1
    entry = entries[0]
    assert entry["documentNumber"] == f"WCP-{order['number']}"
    assert entry["externalDocumentNumber"] == "CH_3PAYSTRIPE0001"  # the transaction id (Code35, upper)
    assert entry["appliesToInvoiceNumber"] == invoice["number"] and entry["journal"] == "WEB-STRIPE"
    assert Decimal(str(entry["amount"])) == -Decimal(order["total"])
    # Rerun: the invoice is no longer open, nothing is paid twice.
    code, report = pay(e2e)
    assert code == 0 and report["counts"] == {}
    assert len(payments(e2e)) == 1


def test_unmapped_method_is_reported_once_and_pays_nothing(e2e: E2E) -> None:
    setup_journal(e2e)
    invoiced(e2e, method="bacs", txn="")
    code, report = pay(e2e)
    assert code == 0
    assert report["counts"] == {"skipped": 1}
    assert "payment method 'bacs' has no journal" in report["outcomes"][0]["message"]
    code, report = pay(e2e)
    assert report["counts"] == {"unchanged": 1}  # reported once
    assert payments(e2e) == []


def test_payments_are_off_unless_configured(e2e: E2E) -> None:
    invoiced(e2e)
    code, out, err = e2e.cli("--json", "sync-fulfilment", "--only", "payments")
    assert code == 0 and out.strip() == ""
    assert "payments are off" in err
    assert payments(e2e) == []


def test_a_failing_journal_post_fails_that_payment_alone(e2e: E2E) -> None:
    setup_journal(e2e)
    first, _ = invoiced(e2e, txn="ch_first")
    second, _ = invoiced(e2e, txn="ch_second")
    e2e.bc.fail_posting(set_name="customerPaymentJournals", times=1)
    code, report = pay(e2e)
    assert code == 1
    results = {o["record"]: o["result"] for o in report["outcomes"]}
    assert results == {f"payment:{first['id']}": "failed", f"payment:{second['id']}": "paid"}
    assert len(payments(e2e)) == 1
    code, report = pay(e2e)  # the next run pays the first
    assert code == 0 and report["counts"] == {"paid": 1}
    assert sorted(e["documentNumber"] for e in payments(e2e)) == sorted(
        [f"WCP-{first['number']}", f"WCP-{second['number']}"])


def test_dry_run_and_lost_state_db(e2e: E2E) -> None:
    setup_journal(e2e)
    order, invoice = invoiced(e2e)
    code, report = pay(e2e, "--dry-run")
    assert code == 0
    assert [w["action"] for w in report["would"]] == ["create_payment", "post_journal"]
    assert report["would"][0]["key"] == f"WCP-{order['number']}"
    assert payments(e2e) == []
    assert pay(e2e)[0] == 0
    e2e.state_path.unlink()
    code, report = pay(e2e)
    assert code == 0 and report["counts"] == {}
    assert len(payments(e2e)) == 1


def test_failed_payment_replayed_and_audited(e2e: E2E) -> None:
    setup_journal(e2e)
    order, invoice = invoiced(e2e)
    e2e.bc.fail_posting(set_name="customerPaymentJournals")
    code, report = pay(e2e)
    assert code == 1 and report["counts"] == {"failed": 1}
    assert "Posting Date is not within your range" in report["outcomes"][0]["message"]
    assert payments(e2e) == []  # the line was removed again: nothing half-done stays in the journal
    e2e.bc.clear_post_failures()
    code, out, err = e2e.cli("--json", "replay", f"payment:{order['id']}")
    assert code == 0, err
    assert [o["result"] for o in json.loads(out)["outcomes"]] == ["paid"]
    assert len(payments(e2e)) == 1
    code, out, _ = e2e.cli("--json", "audit", f"payment:{order['id']}")
    steps = [r["step"] for r in json.loads(out)["journal"]]
    assert steps.count("result") == 2 and "mapped" in steps
    code, out, _ = e2e.cli("--json", "status")
    assert {"sync-payments"} <= set(json.loads(out)["last_runs"])


def test_reconcile_orders_reports_open_invoices_of_paid_orders_and_unfulfilled_shipments(e2e: E2E) -> None:
    setup_journal(e2e)
    order, invoice = invoiced(e2e)  # paid online, shipped and invoiced in BC; nothing synced back yet
    code, out, _ = e2e.cli("--json", "reconcile", "--orders", "--since", "2020-01-01")
    issues = {(i["kind"], i["order_id"]) for i in json.loads(out)["orders"]["issues"]}
    assert {("paid_invoice_open", order["id"]), ("shipped_not_completed", order["id"])} <= issues
    assert e2e.cli("sync-fulfilment")[0] == 0  # completes the order and pays the invoice
    code, out, _ = e2e.cli("--json", "reconcile", "--orders", "--since", "2020-01-01")
    kinds = {i["kind"] for i in json.loads(out)["orders"]["issues"]}
    assert not kinds & {"paid_invoice_open", "shipped_not_completed"}


def test_post_with_job_queue_settles_on_a_later_run(e2e: E2E) -> None:
    setup_journal(e2e)
    e2e.bc.set_post_with_job_queue(True)
    order, invoice = invoiced(e2e)
    code, report = pay(e2e)
    assert code == 0 and report["counts"] == {"pending": 1}
    code, report = pay(e2e)  # still scheduled: the line is found in the journal, not created again
    assert code == 0 and report["counts"] == {"pending": 1}
    e2e.bc.run_job_queue()
    code, report = pay(e2e)
    assert code == 0 and report["counts"] == {"paid": 1}
    assert len(payments(e2e)) == 1
    assert records_of(e2e) == {f"payment:{order['id']}": "done"}


def records_of(e2e: E2E) -> dict[str, str]:
    ctx = e2e.context()
    try:
        return {r["id"]: r["status"] for r in ctx.state.records(kind="payment")}
    finally:
        ctx.close()


def test_refunds_are_reported_for_a_person_not_booked(e2e: E2E) -> None:
    """API v2.0 cannot book a refund payment applied to a credit memo (README, contract finding)."""
    setup_journal(e2e)
    partly, _ = invoiced(e2e, txn="ch_partly")
    fully, _ = invoiced(e2e, txn="ch_fully")
    e2e.woo.refund_order(partly["id"], amount="5.00", reason="chipped")
    e2e.woo.refund_order(fully["id"], line_items=[{"sku": "MUG-001", "quantity": 2}])
    code, report = pay(e2e)
    assert code == 1, report  # the fully refunded one needs a person: on hold, listed by `wcbc failures`
    by_record = {o["record"]: o for o in report["outcomes"]}
    paid, held = by_record[f"payment:{partly['id']}"], by_record[f"payment:{fully['id']}"]
    assert paid["result"] == "paid"
    assert "refunded 5.00 in the store: book its refund payment" in paid["message"]
    assert held["result"] == "on_hold" and "refunded in full" in held["message"]
    assert [e["documentNumber"] for e in payments(e2e)] == [f"WCP-{partly['number']}"]  # no refund booked
    code, report = pay(e2e)
    assert code == 0 and report["counts"] == {"unchanged": 1}  # the held one is not reported again


def test_a_foreign_line_in_the_batch_is_named_not_removed(e2e: E2E) -> None:
    """A post posts every line of the batch: a broken line wcbc did not write fails the post; wcbc names it
    and leaves it alone (the batch should be wcbc's own, README)."""
    setup_journal(e2e)
    order, _ = invoiced(e2e)
    ctx = e2e.context()
    try:
        jid = ctx.bc.payment_journal("WEB-STRIPE")["id"]
        ctx.bc.create_payment(jid, {"documentNumber": "MANUAL-1", "customerNumber": "C10000", "amount": 5})
        code, report = pay(e2e)
        assert code == 1
        message = report["outcomes"][0]["message"]
        assert "Amount must be negative" in message
        assert "1 line(s) not written by this connector (MANUAL-1)" in message
        assert [ln["documentNumber"] for ln in ctx.bc.journal_payments(jid)] == ["MANUAL-1"]  # ours removed
    finally:
        ctx.close()
    assert payments(e2e) == []


def test_invoices_are_read_back_together_after_the_posts_each_payment_posted_alone(e2e: E2E) -> None:
    from wcbc.sync.payments.sync import PaymentSync

    setup_journal(e2e)
    paid = [invoiced(e2e, txn=f"ch_3PayStripe000{n}") for n in range(3)]
    ctx = e2e.context()
    try:
        before = dict(ctx.bc.calls)
        report = PaymentSync(woo=ctx.woo, bc=ctx.bc, state=ctx.state, config=ctx.config).run()
        calls = {k: v - before.get(k, 0) for k, v in dict(ctx.bc.calls).items()}
    finally:
        ctx.close()
    assert report.counts == {"paid": 3}
    assert calls.get("POST /journals({id})/Microsoft.NAV.post") == 3  # a failing post fails one payment
    assert calls.get("GET /salesInvoices({id})", 0) == 0  # no read-back per payment
    assert calls.get("GET /salesInvoices") == 2  # the open invoices, then the three read back at once
    assert len(payments(e2e)) == 3
    for _, invoice in paid:
        assert e2e.bc.documents_by_external_number(invoice["externalDocumentNumber"])[-1]["status"] == "Paid"
    assert records_of(e2e) == {f"payment:{order['id']}": "done" for order, _ in paid}
