"""sync-fulfilment killed with SIGKILL (and its state DB lost) at many moments: every shipment reaches its
web order exactly once (one note to the buyer, the status) and every paid order gets exactly one posted
payment applied to its invoice."""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from decimal import Decimal

import pytest

from tests.e2e.conftest import E2E
from tests.reliability.conftest import jane_id, no_notes, run, spawn, state_rows, wait_for

pytestmark = pytest.mark.reliability

ORDERS = 30
KILLS = 12


def notes(env: E2E) -> Counter[str]:
    """Customer notes per shipment number, over every order."""
    found: Counter[str] = Counter()
    for order in env.woo.order_index.values():
        for note in order.notes:
            if note.customer_note and "(shipment " in note.note:
                found[note.note.rsplit("(shipment ", 1)[1].rstrip(")")] += 1
    return found


def progress(env: E2E) -> int:
    return sum(notes(env).values()) + len(env.bc.payment_entries())


def test_sigkill_and_lost_state_during_fulfilment_and_payments(env: E2E) -> None:
    no_notes(env)
    extra = ('\n[payments]\njournals = {stripe = "WEB-STRIPE"}\n[fulfilment]\ntracking_extension = true\n'
             'tracking_url = "api/contoso/shipping/v1.0/companies({company_id})/shipmentTrackings"\n')
    env.config_path.write_text(env.config_path.read_text() + extra)
    env.bc.add_payment_journal("WEB-STRIPE", "Stripe", "10100")
    env.bc.publish_tracking_api()
    env.woo.set_extensions(shipment_tracking=True)
    env.bc.fail_posting(set_name="customerPaymentJournals", times=3)  # three payments fail once
    rng = random.Random(15)
    jane = jane_id(env)
    lines = [{"sku": "MUG-001", "quantity": 2}, {"sku": "CAP-001", "quantity": 1}]
    orders = [env.woo.create_order(customer_id=jane, payment_method="bacs" if i % 10 == 9 else "stripe",
                                   transaction_id=f"ch_{i}", line_items=lines) for i in range(ORDERS)]
    unmapped = {o["id"] for o in orders if o["payment_method"] == "bacs"}
    assert run(env, "sync-orders").returncode == 0
    for order in orders:
        doc = env.bc.documents_by_external_number(f"WC-{order['number']}")[0]
        if order["id"] % 3 == 0:
            env.bc.ship_order(doc["id"], {"MUG-001": 1})  # a partial shipment first
        env.bc.ship_order(doc["id"], None, invoice=True, package_tracking_no=f"1Z{order['id']}",
                          shipping_agent_code="UPS")
    shipments = {s["number"] for s in env.bc.sales_shipments()}
    env.bc.faults.latency = 0.02
    kills = lost = 0
    landed: list[int] = []
    for attempt in range(KILLS):
        before = progress(env)
        child = spawn(env, "sync-fulfilment", log=env.tmp / "children.log")
        target = before + rng.randint(1, 6)
        wait_for(lambda t=target, c=child: progress(env) >= t or c.poll() is not None, 30, 0.005)
        time.sleep(rng.uniform(0.0, 0.04))
        if child.poll() is not None:
            continue
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        kills += 1
        landed.append(progress(env))
        if attempt % 4 == 3:
            env.state_path.unlink(missing_ok=True)  # the state DB is lost too
            lost += 1
    env.bc.faults.latency = 0
    final = run(env, "sync-fulfilment", "--since", "2020-01-01")
    print(f"o2c sigkill: {kills} kills, {lost} lost state DBs, progress at each kill {landed}")
    held = state_rows(env.state_path, "SELECT id, status, last_error FROM records WHERE status != 'done'")
    assert final.returncode == 0, (final.stdout[-1000:], final.stderr[-2000:], held)
    assert kills >= 6 and len(set(landed)) >= 4, "the kills were not spread over the run"
    per_shipment = notes(env)
    assert set(per_shipment) == shipments and set(per_shipment.values()) == {1}  # exactly once each
    assert {env.woo.get_order(o["id"])["status"] for o in orders} == {"completed"}
    entries = Counter(e["documentNumber"] for e in env.bc.payment_entries())
    assert entries == Counter({f"WCP-{o['number']}": 1 for o in orders if o["id"] not in unmapped})
    ctx = env.context()
    try:
        assert [len(ctx.woo.shipment_trackings(o["id"])) for o in orders] == [1] * len(orders)
        skipped = {r["id"] for r in ctx.state.records(status="skipped", kind="payment")}
    finally:
        ctx.close()
    assert skipped == {f"payment:{i}" for i in unmapped}  # reported, never paid
    for order in orders:
        if order["id"] in unmapped:
            continue
        invoice = next(d for d in env.bc.documents_by_external_number(f"WC-{order['number']}")
                       if d.get("@kind") == "salesInvoice")
        assert invoice["status"] == "Paid" and Decimal(str(invoice["remainingAmount"])) == 0
